#!/bin/bash
# make fuzz-module [FUZZ_SEED=N] [FUZZ_SECONDS=N] [FUZZ_PROCS=N]
#                  [FUZZ_THREADS=N] [FUZZ_KERNEL=stock|debug]
#
# A long run of the concurrent ioctl fuzzer (selftests/vcore_fuzz.c) against
# the test build of vcore.ko (make module-test) in the VM, loaded with
# test=1 so that the test-only commands are fuzzed too: on Debian's kernel (stock, two NUMA nodes) or on the debug
# kernel (KASAN, lockdep, kmemleak, debug objects, UBSAN, hung-task,
# soft-lockup and workqueue-stall detection).  The run fails on a failed
# check of the fuzzer's, a kernel report in the console log, a kmemleak
# report (debug kernel) or a timeout.  Results in build/fuzz-module/.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=${FUZZ_SEED:-$(date +%s)}
secs=${FUZZ_SECONDS:-600}
procs=${FUZZ_PROCS:-4}
threads=${FUZZ_THREADS:-6}
kernel=${FUZZ_KERNEL:-stock}
out=$(pwd)/build/fuzz-module
rm -rf "$out"
mkdir -p "$out"
args=(build/selftests/vcore_fuzz -s "$seed" -d "$secs" -p "$procs" -t "$threads")
# the run, the end checks (reaping, module reload) and the boot
timeout=$((secs * 2 + 600))

echo "fuzz-module: seed $seed, $secs s, $procs processes x $threads threads, $kernel kernel"
case $kernel in
stock)
	make -s module-test selftests
	ko=build/kmod-test/kmod/vcore.ko
	tools/vm/run --quiet --timeout "$timeout" --out "$out" --numa 2 \
		--insmod "$ko" --insmod-args test=1 \
		-- env VCORE_KO="$(pwd)/$ko" "${args[@]}"
	;;
debug)
	make -s selftests
	ko=$(tools/debug-kernel.sh module)
	tools/debug-kernel.sh vm --quiet --timeout "$((timeout * 3))" --out "$out" \
		--insmod "$ko" --insmod-args test=1 \
		-- env VCORE_KO="$ko" VCORE_TEST_TIME_SCALE=5 "${args[@]}"
	;;
*)
	echo "fuzz-module: FUZZ_KERNEL is stock or debug" >&2
	exit 2
	;;
esac

#!/bin/bash
# make demo: build, boot the VM, load the test build of vcore.ko (make
# module-test; test=1, for the benchmark's floors and kernel producers),
# show events flowing to running vcores (vcore-demo), then run the
# benchmark (vcore-bench) and draw its latency distributions.  Everything
# lands in build/demo/:
#   demo.log            what the guest printed (also on stdout)
#   vcore-bench.csv     the benchmark's table
#   vcore-bench.png     latency distributions (gnuplot, drawn on the host)
#   console.log         the VM's console
# tools/demo.sh --quick runs the benchmark with fewer samples.
set -euo pipefail
cd "$(dirname "$0")/.."
bench_args=()
[ "${1:-}" = "--quick" ] && bench_args=(--quick)
make -s all module-test
out=$(pwd)/build/demo
rm -rf "$out"
mkdir -p "$out"
tools/vm/run --quiet --out "$out" --timeout 900 \
	--insmod build/kmod-test/kmod/vcore.ko --insmod-args "test=1" -- \
	bash -c 'set -e
		echo "== what the module publishes (vcore-info)"
		build/tools/vcore-info | head -12
		echo
		echo "== events to running vcores (vcore-demo)"
		build/tools/vcore-demo
		echo
		echo "== the benchmark (vcore-bench $*)"
		build/tools/vcore-bench --out "$VM_OUT" "$@"' \
	demo "${bench_args[@]}" | tee "$out/demo.log"
if command -v gnuplot >/dev/null; then
	(cd "$out" && gnuplot vcore-bench.gp) && echo "demo: $out/vcore-bench.png"
else
	echo "demo: no gnuplot (make setup installs gnuplot-nox): no PNG"
fi
echo "demo: table in $out/vcore-bench.csv, console log in $out/console.log"

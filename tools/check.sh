#!/bin/bash
# make check: builds everything with warnings as errors, runs the user-space
# tier, then every selftest in one VM boot of Debian's kernel (and the
# installed tree in another: tools/check-install.sh), then again in one
# boot of the debug kernel, and ends with the line
# "N passed, N failed[, N skipped]".  Exits non-zero if anything failed.
#
# tools/check.sh [TIER...]   TIER: user, vm, debug (default: all three).
# Without the user tier, a first step builds the module, libvcore and the
# selftests.  Environment: VM_TIMEOUT (stock VM tier, default 1200 s),
# DEBUG_VM_TIMEOUT (debug tier, default 2400 s), VCORE_SKIP_DEBUG=1 (skip
# the debug tier), VCORE_DEBUG_DEBS (see tools/debug-kernel.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(user vm debug)
for t in "${tiers[@]}"; do
	case $t in
		user|vm|debug) ;;
		*) echo "check.sh: unknown tier '$t' (user, vm, debug)" >&2; exit 2 ;;
	esac
done
want() { [[ " ${tiers[*]} " == *" $1 "* ]]; }

out=build/check
rm -rf "$out"
mkdir -p "$out"
tap=$out/user.tap
: >"$tap"
n=0

# result NAME CMD...: run CMD, log its output, record one TAP line.
result() {
	local name=$1 log
	shift
	n=$((n + 1))
	log=$out/user-$n.log
	if "$@" >"$log" 2>&1; then
		echo "ok $n $name" | tee -a "$tap"
	else
		echo "not ok $n $name" | tee -a "$tap"
		# each failure with the diagnostics before it, then the end
		grep -B 25 -m 5 '^not ok' "$log" | sed 's/^/# /'
		echo "# ..."
		sed 's/^/# /' "$log" | tail -n 20
		return 1
	fi
}

# skip NAME REASON: record one skipped TAP line.
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1: $2" | tee -a "$tap"
}

# took LABEL START: a TAP comment with the seconds since START.
took() { echo "# $1 took $((SECONDS - $2)) s"; }

header_compiles() {
	local lang=$1 src=$out/hdr.$2
	printf '#include <linux/vcore.h>\n#include <linux/vcore_test.h>\n#include "vcore_abi_check.h"\n#include "vcore.h"\nint main(void) { return 0; }\n' >"$src"
	if [ "$lang" = c ]; then
		${CC:-gcc} -std=c11 -pedantic -Wall -Wextra -Werror -Iuapi -Ilibvcore "$src" -o "$out/hdr-c"
	else
		${CXX:-g++} -std=c++11 -Wall -Wextra -Werror -Iuapi -Ilibvcore "$src" -o "$out/hdr-cxx"
	fi
}

exports_only_versioned_api() {
	local syms
	syms=$(nm -D --defined-only build/libvcore.so | awk '$2 == "T" { print $3 }' | sort)
	echo "$syms"
	# no "grep -q" on a pipe: under pipefail, nm's SIGPIPE would fail it
	[ -n "$syms" ] && ! grep -v '^vcore_' <<<"$syms" >/dev/null &&
		[[ $(nm -D --defined-only build/libvcore.so) == *VCORE_1* ]]
}

# Both builds of the module: the default one and the test build the VM
# tiers load (make module-test).
test_ko=build/kmod-test/kmod/vcore.ko
module_w1_clean() {
	make -s module module-test WERROR=1 2>&1 | tee "$out/module-build.log"
	! grep -q 'warning:' "$out/module-build.log" && [ -f kmod/vcore.ko ] &&
		[ -f "$test_ko" ]
}

# vm_tap VMOUT RC TAPFILE [PREFIX]: the selftests' TAP lines from a
# tools/vm/run results dir (names prefixed with PREFIX), plus a "not ok"
# for each binary that did not run or failed without saying so, and for a
# failed run (RC: tools/vm/run's exit status).
vm_tap() {
	local vmout=$1 vmrc=$2 vmtap=$3 prefix=${4:-} t f rc
	local label=${prefix:-vm: }
	: >"$vmtap"
	for t in "${selftests[@]}"; do
		f=$vmout/selftests/$t.tap
		if [ -f "$f" ]; then
			grep -E '^(not )?ok ' "$f" |
				sed -E "s/^((not )?ok [0-9]+ )/\\1$prefix/" >>"$vmtap"
			rc=$(cat "$vmout/selftests/$t.rc" 2>/dev/null || echo missing)
			if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$f"; then
				echo "not ok - $prefix$t exited with status $rc" | tee -a "$vmtap"
			fi
		else
			echo "not ok - $prefix$t did not run" | tee -a "$vmtap"
		fi
	done
	case $vmrc in
	0) ;;
	124) echo "not ok - ${label}timed out (log: $vmout/console.log)" | tee -a "$vmtap" ;;
	125) echo "not ok - ${label}kernel report in the log (log: $vmout/console.log)" | tee -a "$vmtap" ;;
	*) echo "not ok - ${label}runner exited with $vmrc (log: $vmout/console.log)" | tee -a "$vmtap" ;;
	esac
}

# The selftest binaries, in selftests/run.sh's order (its tests=(...) line).
read -r -a selftests < <(sed -n 's/^tests=(\(.*\))$/\1/p' selftests/run.sh)
if [ ${#selftests[@]} -eq 0 ]; then
	echo "check.sh: cannot read the selftest list (tests=(...)) from selftests/run.sh" >&2
	exit 2
fi
# ... and the libvcore and benchmark runs run.sh makes first
# (vcore_uthread_smoke.tap, vcore_storm.tap, vcore_bench_smoke.tap,
# preempt_bench_smoke.tap)
selftests=(vcore_uthread_smoke vcore_storm vcore_bench_smoke preempt_bench_smoke
	"${selftests[@]}")

taps=("$tap")
echo "TAP version 13"

if want user; then
	echo "# user-space tier"
	t0=$SECONDS
	result "module builds warning-free with W=1" module_w1_clean
	result "module compiles warning-free against Linux 6.12" tools/compile-6.12.sh
	result "user code builds with -Wall -Wextra -Werror" make -s lib selftests tools
	result "checkpatch: kmod/ and uapi/ are clean" make -s checkpatch
	result "uapi headers compile as C11 (-pedantic)" header_compiles c c
	result "uapi headers compile as C++11" header_compiles cxx cc
	result "libvcore.so exports only its versioned API" exports_only_versioned_api
	result "every function the installed headers declare is exported at VCORE_1" make -s exports-check
	result "man pages pass mandoc -T lint" make -s man-lint
	result "libvcore unit tests (the core as kernel; ASan+UBSan, TSan)" make -s unit
	result "the VM log scanner finds every kind of kernel report" tools/vm/test-scan-log
	result "core unit tests in user space (ASan+UBSan)" make -s core-unit
	result "core stress: kernel producers x libvcore consumers (TSan, delays)" make -s core-stress
	result "core fuzz: seed corpus, then a bounded libFuzzer run" make -s fuzz-check
	result "core model check (spin): UCQ, CEQ, notification handshake, kick, broken variants" make -s model
	if result "consumer cost per message runs (callgrind; reported, not judged)" \
		make -s consumer-cost; then
		grep '^|' "$out/user-$n.log" | sed 's/^/# /'
	fi
	took "user-space tier" $t0
elif want vm || want debug; then
	echo "# build (no user-space tier)"
	result "module, libvcore, selftests and tools build" make -s module module-test lib selftests tools
fi

if want vm; then
	echo "# VM tier: selftests in one boot (two NUMA nodes)"
	t0=$SECONDS
	vmout=$(pwd)/$out/vm
	mkdir -p "$vmout"
	tools/vm/run --quiet --timeout "${VM_TIMEOUT:-1200}" --out "$vmout" --numa 2 \
		--insmod "$test_ko" --insmod-args test=1 --env VCORE_KO \
		-- env VCORE_KO="$(pwd)/$test_ko" selftests/run.sh "$vmout/selftests"
	vmrc=$?
	vm_tap "$vmout" $vmrc "$out/vm.tap"
	taps+=("$out/vm.tap")
	# the tree as installed: DKMS, make install, an example (one more boot)
	inst=$(pwd)/$out/install
	tools/check-install.sh "$inst"
	result "dkms add + build for the VM's kernel; that vcore.ko loads, makes /dev/vcore, unloads" \
		tools/check-install.sh --verdict "$inst" dkms
	result "make install/uninstall DESTDIR; vcore-hello built by pkg-config runs on what was installed" \
		tools/check-install.sh --verdict "$inst" install
	took "VM tier" $t0
fi

if want debug; then
	echo "# debug kernel tier: selftests in one boot of the debug kernel"
	t0=$SECONDS
	dbgout=$(pwd)/$out/debug
	if [ "${VCORE_SKIP_DEBUG:-0}" = 1 ]; then
		skip "debug kernel tier" "VCORE_SKIP_DEBUG=1"
	elif ! why=$(tools/debug-kernel.sh available); then
		skip "debug kernel tier" "$why"
	else
		if result "debug kernel: unpacked, has KASAN, lockdep, PROVE_RCU, kmemleak, ..." \
				tools/debug-kernel.sh features &&
			result "debug kernel: module builds warning-free with W=1" \
				tools/debug-kernel.sh module; then
			mkdir -p "$dbgout"
			tools/debug-kernel.sh run "$dbgout" --quiet --timeout "${DEBUG_VM_TIMEOUT:-2400}" |
				sed -u -E 's/^((not )?ok [0-9]+ )/\1debug kernel: /'
			dbgrc=${PIPESTATUS[0]}
			vm_tap "$dbgout" "$dbgrc" "$out/debug.tap" "debug kernel: "
			taps+=("$out/debug.tap")
			# Said only by a run that got as far as the scans after COMMAND.
			status=$(head -n1 "$dbgout/kmemleak.status" 2>/dev/null)
			[ -n "$status" ] || status="no scan: the run did not get that far"
			leaks=$(grep -c '^unreferenced object' "$dbgout/kmemleak.txt" 2>/dev/null)
			if [ "$status" != scanned ]; then
				echo "not ok - debug kernel: kmemleak: $status" | tee -a "$out/debug.tap"
			elif [ "${leaks:-0}" != 0 ]; then
				echo "not ok - debug kernel: kmemleak: $leaks suspected leak(s) ($dbgout/kmemleak.txt)" | tee -a "$out/debug.tap"
			else
				echo "ok - debug kernel: kmemleak: no leaks after the run" | tee -a "$out/debug.tap"
			fi
			if [ "$dbgrc" = 0 ]; then
				echo "ok - debug kernel: no KASAN, lockdep, RCU, might_sleep, list or other kernel reports" | tee -a "$out/debug.tap"
			fi
		fi
	fi
	took "debug kernel tier" $t0
fi

tools/tap-summary "${taps[@]}"

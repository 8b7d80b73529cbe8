#!/bin/bash
# make check: builds everything with warnings as errors, runs the user-space
# tier, then every selftest in one VM boot, and ends with the line
# "N passed, N failed[, N skipped]".  Exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

out=build/check
rm -rf "$out"
mkdir -p "$out"
tap=$out/user.tap
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
		sed 's/^/# /' "$log" | tail -n 40
	fi
}

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
	[ -n "$syms" ] && ! echo "$syms" | grep -qv '^vcore_' &&
		nm -D --defined-only build/libvcore.so | grep -q 'VCORE_1'
}

module_w1_clean() {
	make -s module WERROR=1 2>&1 | tee "$out/module-build.log"
	! grep -q 'warning:' "$out/module-build.log" && [ -f kmod/vcore.ko ]
}

echo "TAP version 13"
echo "# user-space tier"
result "module builds warning-free with W=1" module_w1_clean
result "user code builds with -Wall -Wextra -Werror" make -s lib selftests tools
result "checkpatch: kmod/ and uapi/ are clean" make -s checkpatch
result "uapi headers compile as C11 (-pedantic)" header_compiles c c
result "uapi headers compile as C++11" header_compiles cxx cc
result "libvcore.so exports only its versioned API" exports_only_versioned_api
result "libvcore unit tests (simulated kernel; ASan+UBSan, TSan)" make -s unit
result "the VM log scanner finds every kind of kernel report" tools/vm/test-scan-log
result "core unit tests in user space (ASan+UBSan)" make -s core-unit
result "core stress: kernel producers x libvcore consumers (TSan, delays)" make -s core-stress
result "core fuzz: seed corpus, then a bounded libFuzzer run" make -s fuzz-check
result "core model check (spin): UCQ, notification handshake, broken variants" make -s model

echo "# VM tier: selftests in one boot"
vmout=$(pwd)/$out/vm
mkdir -p "$vmout"
tools/vm/run --quiet --timeout "${VM_TIMEOUT:-1200}" --out "$vmout" \
	--insmod kmod/vcore.ko --insmod-args test=1 --env VCORE_KO \
	-- env VCORE_KO="$(pwd)/kmod/vcore.ko" selftests/run.sh "$vmout/selftests"
vmrc=$?

vmtap=$out/vm.tap
: >"$vmtap"
for t in vcore_dev_test vcore_event_test vcore_libvcore_test vcore_vcore_test vcore_module_test; do
	f=$vmout/selftests/$t.tap
	if [ -f "$f" ]; then
		grep -E '^(not )?ok ' "$f" >>"$vmtap"
		rc=$(cat "$vmout/selftests/$t.rc" 2>/dev/null || echo missing)
		if [ "$rc" != 0 ] && ! grep -q '^not ok ' "$f"; then
			echo "not ok - $t exited with status $rc" | tee -a "$vmtap"
		fi
	else
		echo "not ok - $t did not run" | tee -a "$vmtap"
	fi
done
case $vmrc in
0) ;;
124) echo "not ok - vm: timed out (log: $vmout/console.log)" | tee -a "$vmtap" ;;
125) echo "not ok - vm: kernel report in the log (log: $vmout/console.log)" | tee -a "$vmtap" ;;
*) echo "not ok - vm: runner exited with $vmrc (log: $vmout/console.log)" | tee -a "$vmtap" ;;
esac

tools/tap-summary "$tap" "$vmtap"

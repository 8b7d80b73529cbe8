#!/bin/bash
# Runs every vcore selftest binary, in order, with the module loaded.
# Usage: selftests/run.sh OUTDIR [BINDIR]
# Writes OUTDIR/<test>.tap and OUTDIR/<test>.rc for each test binary.
set -u
out=$1
bindir=${2:-build/selftests}
# vcore_module_test unloads and reloads the module: keep it last.
tests=(vcore_dev_test vcore_event_test vcore_libvcore_test vcore_vcore_test vcore_module_test)

mkdir -p "$out"
for t in "${tests[@]}"; do
	echo "# selftest: $t"
	"$bindir/$t" 2>&1 | tee "$out/$t.tap"
	echo "${PIPESTATUS[0]}" > "$out/$t.rc"
done
exit 0

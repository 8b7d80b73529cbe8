#!/bin/bash
# Runs every vcore selftest binary, in order, with the module loaded.
# Usage: selftests/run.sh OUTDIR [BINDIR]
# Writes OUTDIR/<test>.tap and OUTDIR/<test>.rc for each test binary.
set -u
out=$1
bindir=${2:-build/selftests}
# vcore_module_test unloads and reloads the module: keep it last.
tests=(vcore_dev_test vcore_event_test vcore_libvcore_test vcore_vcore_test vcore_numa_test vcore_hostile_test vcore_failnth_test vcore_isolation_test vcore_alarm_test vcore_tap_test vcore_fuzz vcore_blocked_test vcore_redis_test vcore_module_test)

mkdir -p "$out"

# One program that prints "RESULT PASS" (or "RESULT SKIP: why") as one TAP
# line:
# one_line NAME DESCRIPTION COMMAND...
one_line() {
	local name=$1 desc=$2 rc
	shift 2
	[ -x "$1" ] || return 0
	echo "# selftest: $name"
	"$@" >"$out/$name.log" 2>&1
	rc=$?
	sed 's/^/# /' "$out/$name.log"
	if [ $rc = 0 ] && grep -q '^RESULT PASS' "$out/$name.log"; then
		echo "ok 1 $desc"
	elif [ $rc = 0 ] && grep -q '^RESULT SKIP' "$out/$name.log"; then
		echo "ok 1 # SKIP $desc: $(sed -n 's/^RESULT SKIP: //p' "$out/$name.log" | head -n1)"
	else
		echo "not ok 1 $desc"
	fi | tee "$out/$name.tap"
	echo 0 >"$out/$name.rc"
}

# libvcore's vcore context and uthreads on the real module: every register
# across notifications, then preemptions with uthread stealing and
# change_vcore (libvcore/tests/vm_smoke.c).
one_line vcore_uthread_smoke \
	"uthreads on vcores keep every register through notifications and preemptions" \
	"${bindir%/selftests}/tests/vm_smoke" 8 1 preempt

# Every event path (spam, must-run, wakeup, INDIR through the fallback or
# to one vcore, APPRO, round-robin) while the vcores yield and are
# preempted one at a time and all at once, uthreads come and go and
# producers run in the kernel and in user space (libvcore/tests/
# vm_storm.c, needs test=1).
one_line vcore_storm \
	"every event arrives through a preemption storm, every uthread is joined" \
	"${bindir%/selftests}/tests/vm_storm" 10

# Uthread I/O that blocks the uthread and never its vcore: pipes, socket
# pairs and TCP with many uthreads waiting at once, poll, the errnos,
# io_uring file I/O, a thousand connections, then pipes, socket pairs and
# files again under a preemption storm (libvcore/tests/vm_uio.c).
one_line vcore_uio \
	"uthread I/O waits on taps and io_uring, never on the vcore" \
	"${bindir%/selftests}/tests/vm_uio" 1000 preempt

# Time-sliced uthreads on the per-vcore alarms: progress beyond the
# vcores, an exact mutex counter and intact ymm registers through ticks
# and a preemption storm, preemption control, sleeps and timed waits
# (libvcore/tests/vm_preempt.c).
one_line vcore_uthread_preempt \
	"time-sliced uthreads all progress, keep their state, sleep no less than asked" \
	"${bindir%/selftests}/tests/vm_preempt" 1

# The benchmark runs and writes every row (no timing is judged): one TAP
# line.
bench=${bindir%/selftests}/tools/vcore-bench
if [ -x "$bench" ]; then
	echo "# selftest: vcore_bench_smoke"
	mkdir -p "$out/bench"
	"$bench" --smoke --out "$out/bench" >"$out/vcore_bench_smoke.log" 2>&1
	rc=$?
	sed 's/^/# /' "$out/vcore_bench_smoke.log"
	rows=$(($(wc -l <"$out/bench/vcore-bench.csv" 2>/dev/null || echo 1) - 1))
	# without the test commands it leaves out the floors, the kernel
	# producers and the fallback depths
	min_rows=20
	if grep -q 'no test commands' "$out/vcore_bench_smoke.log"; then
		min_rows=1
	fi
	if [ $rc = 0 ] && grep -q '^rows: \([0-9]*\) of \1$' "$out/vcore_bench_smoke.log" &&
		[ "$rows" -ge "$min_rows" ]; then
		echo "ok 1 vcore-bench --smoke writes every row ($rows)"
	else
		echo "not ok 1 vcore-bench --smoke writes every row ($rows rows, status $rc)"
	fi | tee "$out/vcore_bench_smoke.tap"
	echo 0 >"$out/vcore_bench_smoke.rc"
fi

# Time slicing on libvcore's alarm tick and on a signal tick: every part
# of the preemption benchmark runs (no timing is judged): one TAP line.
if [ -x "${bindir%/selftests}/tools/preempt-bench" ]; then
	mkdir -p "$out/pbench"
	one_line preempt_bench_smoke \
		"preempt-bench --smoke: every part runs with both tick sources" \
		"${bindir%/selftests}/tools/preempt-bench" --smoke --out "$out/pbench"
fi

for t in "${tests[@]}"; do
	echo "# selftest: $t"
	"$bindir/$t" 2>&1 | tee "$out/$t.tap"
	echo "${PIPESTATUS[0]}" > "$out/$t.rc"
done
exit 0

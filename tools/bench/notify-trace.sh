#!/bin/bash
# The kernel's share of the notification latency, from the vcore:*
# tracepoints: vcore_ipi (sending CPU: the IPI goes out) to vcore_notify
# (target CPU: the thread is about to return into vcore_entry), paired by
# pid and vcoreid, timestamps from CLOCK_MONOTONIC (perf -k mono), which
# every CPU shares.  As root, with vcore.ko loaded:
#
#   tools/bench/notify-trace.sh COMMAND [ARGS...]   record while COMMAND runs
#   tools/bench/notify-trace.sh -i PERF.DATA        pair a saved recording
#
# e.g. tools/bench/notify-trace.sh build/tools/vcore-bench --quick
# Prints the pairs' count and p50 / p99 / p99.9 / max in ns.  The
# recording is left in ${TRACE_OUT:-/tmp}/vcore-notify.perf.data.
set -euo pipefail

pair() { # PERF.DATA
	perf script -i "$1" --ns -F time,event,trace 2>/dev/null | awk '
	/vcore_ipi:|vcore_notify:/ {
		ts = $1; sub(/:$/, "", ts)
		pid = ""; vc = ""
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^pid=/) pid = $i
			if ($i ~ /^vcoreid=/) vc = $i
		}
		key = pid " " vc
		if ($0 ~ /vcore_ipi:/) {
			if (!(key in sent))
				sent[key] = ts
		} else if (key in sent) {
			printf "%.0f\n", (ts - sent[key]) * 1e9
			delete sent[key]
		}
	}' | sort -n | awk '
	{ d[++n] = $1 }
	END {
		if (!n) { print "no vcore_ipi -> vcore_notify pairs"; exit 1 }
		printf "vcore_ipi -> vcore_notify: %d pairs, p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns, max %.0f ns\n",
			n, d[int(n * 0.5) + 1], d[int(n * 0.99) + 1],
			d[int(n * 0.999) + 1], d[n]
	}'
}

if [ "${1:-}" = "-i" ]; then
	pair "$2"
	exit
fi
[ $# -gt 0 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
out=${TRACE_OUT:-/tmp}/vcore-notify.perf.data
rc=0
perf record -q -a -k mono -e vcore:vcore_ipi -e vcore:vcore_notify \
	-o "$out" -- "$@" || rc=$?
pair "$out"
exit $rc

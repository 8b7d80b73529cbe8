#!/bin/bash
# The kernel's share of the notification latency, from the vcore:*
# tracepoints, timestamps from CLOCK_MONOTONIC (perf -k mono), which every
# CPU shares.  As root, with vcore.ko loaded:
#
#   tools/bench/notify-trace.sh COMMAND [ARGS...]   record while COMMAND runs
#   tools/bench/notify-trace.sh -i PERF.DATA        pair a saved recording
#
# vcore_ipi (sending CPU: the IPI goes out) to vcore_notify (target CPU:
# the thread is about to return into vcore_entry), paired by pid and
# vcoreid; prints the pairs' count and p50 / p99 / p99.9 / max in ns.
#
#   tools/bench/notify-trace.sh --stages COMMAND [ARGS...]
#   tools/bench/notify-trace.sh --stages -i PERF.DATA STAMPS
#
# Every stage of each one-target notify sample of vcore-bench (COMMAND is
# build/tools/vcore-bench and its options), from the send call to the
# receiving vcore's first instruction: the bench writes each sample's
# send call and entry on CLOCK_MONOTONIC to STAMPS (VCORE_BENCH_STAMPS),
# and the sample's kernel events are taken in order from the recording
# (the send call's on the sender's CPU):
#
#   syscall     send call -> raw_syscalls:sys_enter (ioctl, sender's CPU)
#   copy        sys_enter -> the first vcore event (vcore_send; vcore_post
#               for SELF_NOTIFY): copy in, checks, the first translation
#   post        vcore_send -> vcore_post: ev_q read, mbox translated, post
#   check       vcore_post -> vcore_ipi: notif_pending, notif_disabled,
#               mapped, the IPI's bit and references
#   ipi         vcore_ipi -> irq_vectors:call_function_single_entry on the
#               target CPU: the IPI in flight
#   handler     call_function_single_entry -> _exit: vcore_ipi_fn()
#   work        call_function_single_exit -> vcore_notify: IRQ exit, the
#               task work, the registers saved
#   return      vcore_notify -> vcore_entry's first instruction
#
# Prints, per row, the median of each stage and of the whole (the bench's
# TSC figure), in ns, and the share of the whole each median is; a sample
# missing an event is left out (counted).  The user-side stages (syscall,
# return) depend on the TSC-to-CLOCK_MONOTONIC mapping, whose error
# (half the bracket, printed) shifts time between them.  Recordings in
# ${TRACE_OUT:-/tmp}: vcore-notify.perf.data, vcore-stamps.txt.
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

# One line per event, "NS KIND CPU TID", and per sample "NS A ROW" at its
# send call and "NS Z ROW TOTAL WIDTH" at its entry, sorted by time.
stage_events() { # PERF.DATA STAMPS
	{
		perf script -i "$1" --ns -F tid,cpu,time,event 2>/dev/null |
		awk '{
			kind = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^\[[0-9]+\]$/) { cpu = substr($i, 2) + 0 }
				else if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = $i }
				else if ($i ~ /^[a-z_]+:[a-z_]+:$/) { kind = $i }
			}
			if (kind == "") next
			sub(/:$/, "", ts); sub(/:$/, "", kind); sub(/^.*:/, "", kind)
			split(ts, t, ".")
			printf "%d%s %s %d %d\n", t[1], substr(t[2] "000000000", 1, 9), kind, cpu, $1
		}'
		awk -F '\t' '$1 == "S" {
			printf "%s A %s\n%s Z %s %s %s\n", $3, $2, $4, $2, $5, $6
		}' "$2"
	} | sort -n -k1,1 -s
}

stages() { # PERF.DATA STAMPS
	local scpu
	scpu=$(awk '/^# sender_cpu/ { print $3 }' "$2")
	stage_events "$1" "$2" | awk -v scpu="${scpu:-0}" -v stamps="$2" '
	BEGIN {
		FS = "\t"
		while ((getline line < stamps) > 0) {
			split(line, f, "\t")
			if (f[1] == "R") { name[f[2]] = f[3]; rows[++nrows] = f[2] }
		}
		FS = " "
		ns = split("syscall copy post check ipi handler work return", st, " ")
	}
	function done(   i, k, ok, d) {
		if (!row) return
		all[row]++
		ok = t["sys"] && t["first"] && t["post"] && t["ipi"] && t["in"] &&
		     t["out"] && t["notify"] && t["end"]
		if (ok) {
			k = ++n[row]
			d[1] = t["sys"] - t["start"]
			d[2] = t["first"] - t["sys"]
			d[3] = t["send"] ? t["post"] - t["send"] : -1
			d[4] = t["ipi"] - t["post"]
			d[5] = t["in"] - t["ipi"]
			d[6] = t["out"] - t["in"]
			d[7] = t["notify"] - t["out"]
			d[8] = t["end"] - t["notify"]
			for (i = 1; i <= ns; i++)
				v[row, i, k] = d[i]
			v[row, 0, k] = tot
			w[row, k] = width
		}
		row = 0
		delete t
	}
	$2 == "A" { done(); row = $3; t["start"] = $1; next }
	!row { next }
	$2 == "Z" { t["end"] = $1; tot = $4; width = $5; next }
	# the sample ends at its entry, give or take the mapping error
	t["end"] && $1 > t["end"] + width { done(); next }
	$2 == "sys_enter" && $3 == scpu && !t["sys"] { t["sys"] = $1; next }
	!t["sys"] { next }
	$2 == "vcore_send" && $3 == scpu && !t["send"] && !t["post"] {
		t["send"] = $1; if (!t["first"]) t["first"] = $1; next
	}
	$2 == "vcore_post" && $3 == scpu && !t["post"] {
		t["post"] = $1; if (!t["first"]) t["first"] = $1; next
	}
	$2 == "vcore_ipi" && $3 == scpu && t["post"] && !t["ipi"] {
		t["ipi"] = $1; next
	}
	$2 == "call_function_single_entry" && t["ipi"] && $3 != scpu && !t["in"] {
		t["in"] = $1; tcpu = $3; next
	}
	$2 == "call_function_single_exit" && t["in"] && $3 == tcpu && !t["out"] {
		t["out"] = $1; next
	}
	$2 == "vcore_notify" && t["out"] && !t["notify"] { t["notify"] = $1; next }
	function median(r, i,   k, a, m, j, x) {
		m = 0
		for (k = 1; k <= n[r]; k++) if (v[r, i, k] >= 0) a[++m] = v[r, i, k]
		if (!m) return -1
		for (k = 2; k <= m; k++) {	# insertion sort: a few hundred
			x = a[k]
			for (j = k - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]
			a[j + 1] = x
		}
		return a[int((m + 1) / 2)]
	}
	END {
		done()
		printf "%-30s %7s", "median ns (share of total)", "samples"
		for (i = 1; i <= ns; i++) printf " %13s", st[i]
		printf " %9s %9s\n", "total", "bracket"
		for (r = 1; r <= nrows; r++) {
			id = rows[r]
			if (!n[id]) { printf "%-30s %3d/%-3d no complete sample\n", name[id], 0, all[id]; continue }
			total = median(id, 0)
			for (k = 1; k <= n[id]; k++) v[id, 9, k] = w[id, k]
			printf "%-30s %3d/%-3d", name[id], n[id], all[id]
			for (i = 1; i <= ns; i++) {
				m = median(id, i)
				if (m < 0) printf " %13s", "-"
				else printf " %7.0f (%2.0f%%)", m, 100 * m / total
			}
			printf " %9.0f %9.0f\n", total, median(id, 9)
		}
	}'
}

if [ "${1:-}" = "--stages" ]; then
	shift
	if [ "${1:-}" = "-i" ]; then
		stages "$2" "$3"
		exit
	fi
	[ $# -gt 0 ] || { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
	out=${TRACE_OUT:-/tmp}/vcore-notify.perf.data
	st=${TRACE_OUT:-/tmp}/vcore-stamps.txt
	rc=0
	VCORE_BENCH_STAMPS=$st perf record -q -a -k mono \
		-e vcore:vcore_send -e vcore:vcore_post -e vcore:vcore_ipi \
		-e vcore:vcore_notify \
		-e irq_vectors:call_function_single_entry \
		-e irq_vectors:call_function_single_exit \
		-e raw_syscalls:sys_enter --filter 'id == 16' \
		-o "$out" -- "$@" || rc=$?
	stages "$out" "$st"
	exit $rc
fi
if [ "${1:-}" = "-i" ]; then
	pair "$2"
	exit
fi
[ $# -gt 0 ] || { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
out=${TRACE_OUT:-/tmp}/vcore-notify.perf.data
rc=0
perf record -q -a -k mono -e vcore:vcore_ipi -e vcore:vcore_notify \
	-o "$out" -- "$@" || rc=$?
pair "$out"
exit $rc

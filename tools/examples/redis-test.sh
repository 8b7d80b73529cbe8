#!/bin/bash
# SPDX-License-Identifier: MIT
#
# redis-test.sh [--bindir DIR] [--short] [--only vcore|epoll|busy]: the
# Redis-protocol server's tests, as TAP, for both front ends (vcore-redis
# on uthreads, which needs /dev/vcore, and vcore-redis-epoll), with
# redis-cli, redis-benchmark and resp_probe.py (raw protocol):
#   each command and its errors, big values and the bulk limit, pipelined,
#   inline and binary-safe requests, malformed input, clients that go
#   away mid-request, 1000 concurrent connections (kept and reconnecting)
#   with counters checked exactly; for vcore-redis also: a SPIN on its
#   only vcore holds up a GET without a quantum and does not with one,
#   with both of two vcores in back-to-back SPINs, GETs are answered
#   (with a quantum and without) and SIGTERM still ends it (--only busy:
#   just these); and kill -9 under load, after which the module unloads
#   (rmmod; then it is loaded again from $VCORE_KO with its parameters).
# --short (or VCORE_TEST_TIME_SCALE set): fewer requests; VCORE_REDIS_ONLY
# is a default for --only.  A check that has not ended in CHECK_LIMIT s
# (default 600) fails: the server's threads and vcores are printed, and its
# clients are killed.  Run as build/selftests/vcore_redis_test
# (selftests/run.sh), with the module loaded.  Ports 16390-16395 on
# 127.0.0.1.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
bindir=$here/../../build/tools/examples
probe=$here/redis/resp_probe.py
short=0
only=${VCORE_REDIS_ONLY:-}
check_limit=${CHECK_LIMIT:-600}
[ -n "${VCORE_TEST_TIME_SCALE:-}" ] && short=1
while [ $# -gt 0 ]; do
	case $1 in
	--bindir) bindir=$2; shift 2 ;;
	--short) short=1; shift ;;
	--only) only=$2; shift 2 ;;
	*) echo "usage: $0 [--bindir DIR] [--short] [--only vcore|epoll|busy]" >&2; exit 2 ;;
	esac
done

tmp=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
	jobs -p | xargs -r kill -9 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# redis-benchmark -c 1000 needs the fds, and so does the server
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null

if [ $short = 1 ]; then
	nkeep=5000 nreconn=1500 nrand=2000 npipe=300
else
	nkeep=40000 nreconn=6000 nrand=20000 npipe=2000
fi

n=0 failed=0
echo "TAP version 13"
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1: $2"; }
# check DESCRIPTION COMMAND...: one TAP line; the command's output as
# comments when it fails.  The command runs in this shell (it may start
# and stop the server); a check still running after $check_limit s fails:
# the watchdog writes down where the server was, then kills the clients
# and the server, which ends the check.
check() {
	local desc=$1 t0=$SECONDS dog rc
	shift
	rm -f "$tmp/stuck.log"
	watchdog "$check_limit" &
	dog=$!
	"$@" >"$tmp/check.log" 2>&1
	rc=$?
	kill "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
	if [ -s "$tmp/stuck.log" ]; then
		cat "$tmp/stuck.log" >>"$tmp/check.log"
		rc=1
	fi
	if [ $rc = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$tmp/check.log"
	fi
	echo "# $((SECONDS - t0)) s"
}

cli() { redis-cli -p "$port" "$@"; }

# server_state: where the server's threads are (state, kernel wait
# channel, syscall and stack; with gdb, the user stacks too) and its MCP's
# vcores and counters from debugfs
server_state() {
	local t d=/sys/kernel/debug/vcore/$server_pid
	[ -n "$server_pid" ] || return 0
	echo "server $server_pid:"
	for t in /proc/"$server_pid"/task/*; do
		echo "  thread ${t##*/}: $(cut -d' ' -f3 "$t/stat" 2>/dev/null) in $(cat "$t/wchan" 2>/dev/null), syscall $(cat "$t/syscall" 2>/dev/null)"
		sed 's/^/    /' "$t/stack" 2>/dev/null
	done
	grep -E ' r-xp .*(libc|ld-linux|vcore)' /proc/"$server_pid"/maps 2>/dev/null | sed 's/^/  /'
	command -v gdb >/dev/null &&
		timeout 60 gdb -p "$server_pid" -batch -nx -ex 'thread apply all bt 25' 2>&1 |
		grep -E '^(Thread|#)' | sed 's/^/  /'
	[ -r "$d/vcores" ] && sed 's/^/  /' "$d/vcores"
	[ -r "$d/stats" ] && echo "  $(grep -v ' 0$' "$d/stats" | tr '\n' ' ')"
	return 0
}

# watchdog SECS (in the background): after SECS, the server's state goes
# to stuck.log, and every process this script started (clients, server)
# is killed.  The server's pid is read from the file start_server writes:
# the watchdog is a copy of the shell from before the check began.
watchdog() {
	local nap me=$BASHPID
	sleep "$1" &
	nap=$!
	trap 'kill $nap 2>/dev/null; exit 0' TERM
	wait $nap
	server_pid=$(cat "$tmp/server.pid" 2>/dev/null)
	kill -0 "$server_pid" 2>/dev/null || server_pid=
	{
		echo "still running after $1 s: stopped"
		server_state
	} >"$tmp/stuck.log"
	kill -9 $(descendants $$ "$me") 2>/dev/null
	return 0
}

# descendants PID SPARE: the processes under PID, but for SPARE's subtree
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		[ "$c" = "$2" ] && continue
		echo "$c"
		descendants "$c" "$2"
	done
}

# start_server PORT COMMAND...: run it in the background until it answers
start_server() {
	port=$1
	shift
	"$@" >"$tmp/server.log" 2>&1 &
	server_pid=$!
	echo "$server_pid" >"$tmp/server.pid"
	for _ in $(seq 600); do
		[ "$(timeout 10 redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/server.log"
	return 1
}

# stop_server: it must still run, and end with status 0 on SIGTERM
stop_server() {
	local rc
	kill -0 "$server_pid" 2>/dev/null || { echo "the server died"; cat "$tmp/server.log"; server_pid=; return 1; }
	kill -TERM "$server_pid"
	wait "$server_pid"
	rc=$?
	server_pid=
	cat "$tmp/server.log"
	return $rc
}

# expect WANT ARGS...: redis-cli's output for ARGS is WANT
expect() {
	local want=$1 got
	shift
	got=$(cli "$@" 2>&1)
	[ "$got" = "$want" ] && return 0
	echo "redis-cli $*: got '$got', want '$want'"
	return 1
}

commands() {
	local t=cmd:$RANDOM
	expect PONG PING &&
	expect hello PING hello &&
	expect "" GET $t:a &&
	expect OK SET $t:a hello &&
	expect hello GET $t:a &&
	expect OK SET $t:a "value with spaces" &&
	expect "value with spaces" GET $t:a &&
	expect "" SET $t:a other NX &&
	expect OK SET $t:a other XX &&
	expect "" SET $t:b x XX &&
	expect OK SET $t:b x NX &&
	expect 2 EXISTS $t:a $t:b $t:c &&
	expect 3 EXISTS $t:a $t:a $t:b &&
	expect 2 DEL $t:a $t:b $t:c &&
	expect 0 EXISTS $t:a $t:b &&
	expect 1 INCR $t:n &&
	expect 2 INCR $t:n &&
	expect 1 DECR $t:n &&
	expect -9 INCRBY $t:n -10 &&
	expect -9 GET $t:n &&
	expect OK SET $t:n 9223372036854775806 &&
	expect 9223372036854775807 INCR $t:n &&
	expect "ERR increment or decrement would overflow" INCR $t:n &&
	expect 9223372036854775807 GET $t:n &&
	expect OK SET $t:s abc &&
	expect "ERR value is not an integer or out of range" INCR $t:s &&
	expect OK SET $t:s " 1" &&
	expect "ERR value is not an integer or out of range" INCR $t:s &&
	expect OK SPIN 1000 &&
	expect "ERR SPIN takes microseconds from 0 to 10000000" SPIN x &&
	expect "ERR unknown command 'NOPE'" NOPE a b &&
	expect "ERR wrong number of arguments for 'get' command" GET &&
	expect "ERR wrong number of arguments for 'set' command" set k &&
	expect "ERR syntax error" SET $t:a v NX XX &&
	expect "$(printf 'appendonly\nno')" CONFIG GET appendonly &&
	expect OK QUIT
}

# big_value BYTES: SET from stdin, GET back identical
big_value() {
	local f=$tmp/big.$1
	head -c "$1" /dev/urandom | base64 -w0 | head -c "$1" >"$f"
	[ "$(cli -x SET big:$1 <"$f")" = OK ] || { echo "SET of $1 bytes failed"; return 1; }
	cli GET big:$1 | head -c "$1" | cmp - "$f" || return 1
	cli DEL big:$1 >/dev/null
}

# the bulk limit: a 17 MiB argument is a protocol error and the server
# closes the connection (redis-cli, still writing, may see the reset
# before the error), then all is well
over_limit() {
	local got
	got=$(head -c $((17 << 20)) /dev/zero | tr '\0' x | cli -x SET big:over 2>&1)
	case $got in
	*"Protocol error"* | *"reset by peer"*) ;;
	*) echo "17 MiB value: got '${got:0:200}'"; return 1 ;;
	esac
	expect "" GET big:over && expect PONG PING
}

bench() { redis-benchmark -p "$port" -q "$@" </dev/null; }

# 1000 connections at once: kept (-c 1000), then each request on a new
# connection (-k 0); INCR counters end exactly at the requests sent
concurrent() {
	local want=$((nkeep + nreconn)) got sum=0 i
	cli DEL counter:__rand_int__ >/dev/null
	bench -c 1000 -n "$nkeep" -t incr || return 1
	bench -c 1000 -n "$nreconn" -k 0 -t incr || return 1
	got=$(cli GET counter:__rand_int__)
	[ "$got" = "$want" ] || { echo "counter: $got, want $want"; return 1; }
	# -r 10: keys counter:000000000000 .. counter:000000000009
	bench -c 1000 -n "$nrand" -r 10 -t incr || return 1
	for i in $(seq 0 9); do
		got=$(cli GET "$(printf 'counter:%012d' "$i")")
		sum=$((sum + ${got:-0}))
	done
	[ "$sum" = "$nrand" ] || { echo "random counters sum to $sum, want $nrand"; return 1; }
	expect PONG PING
}

# the suite both front ends pass
suite() {
	local name=$1 p=$2
	shift 2
	if ! start_server "$p" "$@"; then
		not_ok "$name: starts and answers PING"
		return 1
	fi
	ok "$name: starts and answers PING"
	check "$name: every command and its errors (redis-cli)" commands
	check "$name: 1 MiB and 8 MiB values round trip" \
		eval 'big_value $((1 << 20)) && big_value $((8 << 20))'
	check "$name: a 17 MiB argument is refused, then all is well" over_limit
	check "$name: $npipe x 5 pipelined requests, replies in order" \
		/usr/bin/python3 "$probe" "$port" pipeline "$npipe"
	check "$name: inline requests mixed with multibulk ones" \
		/usr/bin/python3 "$probe" "$port" inline
	check "$name: keys and values with every byte value" \
		/usr/bin/python3 "$probe" "$port" binary
	check "$name: malformed input gets protocol errors; random garbage; the server lives" \
		/usr/bin/python3 "$probe" "$port" bad
	check "$name: clients gone mid-request leave nothing; others are untouched" \
		/usr/bin/python3 "$probe" "$port" midcmd
	check "$name: 1000 concurrent connections, kept and reconnecting; INCR counters exact" \
		concurrent
	check "$name: still running, exits 0 on SIGTERM" stop_server
}

# spin_vs_get QUANTUM WANT: on one vcore, a GET while another connection
# runs SPIN 10 s, sent once the server has used a second of CPU (so the
# SPIN has begun); WANT "during" or "after": the GET was answered before
# the server had used 9 s of CPU since (the SPIN still running) or after
# (the SPIN had run to its end first).  The SPIN's client cannot tell: it
# may not have taken its reply yet when the GET's comes.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
spin_vs_get() {
	local spin t0 used got hz
	hz=$(getconf CLK_TCK)
	start_server 16392 "$bindir/vcore-redis" --port 16392 --vcores 1 \
		--quantum "$1" || return 1
	cli SET spin:k v >/dev/null
	t0=$(cpu_ticks)
	cli SPIN 10000000 >/dev/null &
	spin=$!
	for _ in $(seq 600); do
		[ $(($(cpu_ticks) - t0)) -ge "$hz" ] && break
		sleep 0.1
	done
	[ "$(cli GET spin:k)" = v ] || { echo "GET failed"; return 1; }
	used=$(($(cpu_ticks) - t0))
	if [ $used -lt $((9 * hz)) ]; then got=during; else got=after; fi
	echo "GET answered $got the SPIN (server CPU since the SPIN: $used ticks of 1/$hz s)"
	wait $spin
	stop_server >/dev/null || return 1
	[ "$got" = "$2" ]
}

# all_busy QUANTUM: both vcores (--vcores 2) run SPIN 20000 back to back
# for two redis-benchmark connections; GETs from ten more connections,
# kept and then new for each request (the accept uthread, new uthreads,
# their buffers: malloc), are all answered, and a redis-cli GET after
# them, and the spinners are still served; then
# SIGTERM, with the load still on, ends the server with status 0.  The
# bounds (timeout) only tell "never" from "answered": nothing is timed.
all_busy() {
	local q=$1 spin t0 hz rc got n0 n1 bad=0
	hz=$(getconf CLK_TCK)
	start_server 16395 "$bindir/vcore-redis" --port 16395 --vcores 2 \
		--quantum "$q" || return 1
	grep -q "up to 2 vcores" "$tmp/server.log" ||
		echo "fewer than 2 vcores: $(head -1 "$tmp/server.log")"
	cli SET busy:k v >/dev/null
	t0=$(cpu_ticks)
	redis-benchmark -p 16395 -c 2 -n 100000000 spin 20000 \
		>/dev/null 2>&1 </dev/null &
	spin=$!
	# both vcores in SPIN: the server has used 2 s of CPU
	for _ in $(seq 600); do
		[ $(($(cpu_ticks) - t0)) -ge $((2 * hz)) ] && break
		sleep 0.1
	done
	# kept connections, then one per request (-k 0: every GET a new
	# connection, a new uthread, buffers allocated and freed)
	for k in 1 0; do
		if ! timeout 120 redis-benchmark -p 16395 -q -c 10 -n 500 -k $k \
			-t get </dev/null >"$tmp/get.log" 2>&1; then
			echo "500 GETs from 10 connections (-k $k): not all answered in 120 s"
			tr '\r' '\n' <"$tmp/get.log" | tail -2
			server_state
			bad=1
			break
		fi
		echo "-k $k: $(tr '\r' '\n' <"$tmp/get.log" | grep GET | tail -1)"
	done
	if [ $bad = 0 ]; then
		got=$(timeout 60 redis-cli -p 16395 GET busy:k)
		[ "$got" = v ] || { echo "GET after the runs: got '$got'"; bad=1; }
	fi
	# the spinners' requests still run: the server's CPU time grows
	n0=$(cpu_ticks)
	sleep 2
	n1=$(cpu_ticks)
	[ "$n1" -gt "$n0" ] || { echo "the server stopped running SPINs"; bad=1; }
	# SIGTERM with the load still on
	kill -TERM "$server_pid"
	for _ in $(seq 600); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$server_pid" 2>/dev/null; then
		echo "the server ignored SIGTERM for 60 s"
		kill -9 "$server_pid"
		bad=1
	fi
	wait "$server_pid"
	rc=$?
	server_pid=
	kill -9 $spin 2>/dev/null
	wait $spin 2>/dev/null
	cat "$tmp/server.log"
	[ $rc = 0 ] || [ $bad = 1 ] || { echo "exit status $rc after SIGTERM"; bad=1; }
	[ $bad = 0 ]
}

# kill -9 under load, then rmmod: the module lets go of everything
kill_then_rmmod() {
	local params=() p v load
	start_server 16393 "$bindir/vcore-redis" --port 16393 || return 1
	redis-benchmark -p 16393 -q -c 200 -n 100000000 -t set,get,incr \
		>/dev/null 2>&1 </dev/null &
	load=$!
	sleep 3
	kill -0 "$server_pid" || { echo "the server died under load"; return 1; }
	kill -9 "$server_pid"
	wait "$server_pid" 2>/dev/null
	server_pid=
	kill $load 2>/dev/null
	wait $load 2>/dev/null
	for p in test cpus; do
		v=$(cat /sys/module/vcore/parameters/$p 2>/dev/null) || continue
		[ "$p" = test ] && { [ "$v" = Y ] && v=1 || v=0; }
		params+=("$p=$v")
	done
	rmmod vcore || { echo "rmmod vcore failed"; return 1; }
	insmod "$VCORE_KO" "${params[@]}" || { echo "insmod ${params[*]} failed"; return 1; }
	start_server 16394 "$bindir/vcore-redis" --port 16394 || return 1
	stop_server
}

busy() {
	check "vcore-redis --quantum 1000, both vcores in SPIN: GETs answered; SIGTERM ends it" \
		all_busy 1000
	check "vcore-redis --quantum 0, both vcores in SPIN: GETs answered between SPINs; SIGTERM ends it" \
		all_busy 0
}

if [ "$only" = busy ]; then
	if [ -c /dev/vcore ]; then busy; else skip "vcore-redis" "no /dev/vcore (load vcore.ko)"; fi
	echo "1..$n"
	[ $failed = 0 ]
	exit
fi
if [ "$only" != vcore ]; then
	suite vcore-redis-epoll 16391 "$bindir/vcore-redis-epoll" --port 16391 --threads 2
fi
if [ "$only" != epoll ]; then
	if [ ! -c /dev/vcore ]; then
		skip "vcore-redis" "no /dev/vcore (load vcore.ko)"
	else
		suite vcore-redis 16390 "$bindir/vcore-redis" --port 16390
		check "vcore-redis --quantum 0: a SPIN on the only vcore holds up a GET" \
			spin_vs_get 0 after
		check "vcore-redis --quantum 1000: a SPIN on the only vcore does not hold up a GET" \
			spin_vs_get 1000 during
		busy
		if [ "$(id -u)" != 0 ] || [ -z "${VCORE_KO:-}" ]; then
			skip "vcore-redis: kill -9 under load, then rmmod vcore" "needs root and VCORE_KO"
		else
			check "vcore-redis: kill -9 under load, then rmmod vcore succeeds and it loads again" \
				kill_then_rmmod
		fi
	fi
fi
echo "1..$n"
[ $failed = 0 ]

#!/bin/sh
# tools/vm/guest.sh OUTDIR: runs inside the tools/vm/run guest, as root,
# chrooted into the host's read-only root.  The initramfs /init has mounted
# /proc /sys /dev, tmpfs on /tmp /run /var/tmp and the writable results share
# on OUTDIR.  Files (written by tools/vm/run):
#   OUTDIR/.vm/insmod   modules to load first, one per line: PATH [ARGS...]
#   OUTDIR/.vm/cmd.sh   bash script: cd, exports, exec COMMAND
# Results:
#   OUTDIR/cmd.log      output of the insmods and of COMMAND
#   OUTDIR/dmesg.txt    the kernel log after COMMAND
#   OUTDIR/kmemleak.txt kmemleak report (only if the kernel has kmemleak)
#   OUTDIR/kmemleak.status  "scanned", or why not (kmemleak kernels only)
#   OUTDIR/.vm/status   "cmd RC" | "insmod RC PATH" | "setup MESSAGE"
OUT=$1
VM=$OUT/.vm
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -f   # no globbing of module arguments

say() { echo "vm-guest: $*"; }

kmemleak=/sys/kernel/debug/kmemleak

uptime_at_least() { # SECONDS: sleep until the guest has been up that long
    up=$(cut -d. -f1 /proc/uptime)
    [ "$up" -ge "$1" ] || sleep $(($1 - up))
}

# kmemleak reports an object only if it is older than 5 s and its contents
# did not change since the previous scan; a scan is the first look at an
# object (checksum 0 before), so a leak of anything but zeroes shows up only
# on the second scan after it happened.  Scan twice.
kmemleak_scan() {
    echo scan >$kmemleak 2>/dev/null && echo scan >$kmemleak 2>/dev/null
}

finish() { # STATUS-LINE
    dmesg >"$OUT/dmesg.txt" 2>&1 || true
    if [ -w $kmemleak ]; then
        sleep 6
        if kmemleak_scan && cat $kmemleak >"$OUT/kmemleak.txt" 2>/dev/null; then
            echo "scanned" >"$OUT/kmemleak.status"
        else
            echo "scan failed (kmemleak disabled?)" >"$OUT/kmemleak.status"
        fi
    fi
    echo "$1" >"$VM/status"
    sync
    exit 0
}

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# Enabling any trace event also hooks sched_switch and sched_wakeup to
# record task names, which live-patches the scheduler's hottest call
# sites; under TCG a CPU can then run a stale int3 there (a stock kernel
# oopses in ttwu_do_wakeup() within seconds of toggling sched_switch under
# load, and the guest has frozen with every CPU spinning on a runqueue
# lock or trapping at __schedule()).  The tests match pids, not names.
echo 0 >/sys/kernel/tracing/options/record-cmd 2>/dev/null
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ip link set lo up 2>/dev/null
hostname vcore-vm 2>/dev/null

# kmemleak kernels: forget boot-time leak suspects; report only new ones.
if [ -w $kmemleak ]; then
    uptime_at_least 8
    kmemleak_scan
    echo clear >$kmemleak 2>/dev/null
fi

: >"$OUT/cmd.log"
# shellcheck disable=SC1091
. "$VM/env"     # VM_CWD (and what /init used)
cd "$VM_CWD" || finish "setup cannot cd to $VM_CWD inside the guest"

if [ -s "$VM/insmod" ]; then
    while read -r ko args; do
        [ -n "$ko" ] || continue
        say "insmod $ko $args"
        # $args is word-split on purpose: "k=v k2=v2".
        # shellcheck disable=SC2086
        if insmod "$ko" $args >>"$OUT/cmd.log" 2>&1; then
            :
        else
            rc=$?
            say "insmod $ko failed with status $rc"
            finish "insmod $rc $ko"
        fi
    done <"$VM/insmod"
fi

say "running command"
env -i /bin/bash --noprofile --norc "$VM/cmd.sh" </dev/null >>"$OUT/cmd.log" 2>&1
rc=$?
say "command exited with status $rc"
finish "cmd $rc"

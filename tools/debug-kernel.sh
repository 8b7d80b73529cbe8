#!/bin/bash
# tools/debug-kernel.sh COMMAND: the debug kernel (KASAN, lockdep,
# PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_LIST, kmemleak, fault injection) that
# make check's debug tier boots.  It comes as two Debian packages, an image
# and its headers, which are unpacked (never installed) into a cache.
#
#   available   exit 0 if the packages are there, else print why not, exit 3
#   unpack      unpack them (once) and print the unpacked root
#   features    check the unpacked kernel's config has every debug option
#               the tier relies on
#   module      build vcore.ko's test build (VCORE_TEST=1, kmod/Kbuild)
#               against the unpacked headers, W=1, warnings
#               fail, in build/debug-kmod/kmod (kmod/vcore.ko is untouched);
#               print the .ko's path
#   vm [VM-OPTION...] -- COMMAND...
#               tools/vm/run with the debug kernel and its boot options
#   run OUT [VM-OPTION...]
#               boot the debug kernel (tools/vm/run), load that vcore.ko with
#               test=1 and run selftests/run.sh OUT/selftests (of the
#               Redis server's tests, vcore-redis's only: the epoll front
#               end uses no vcore code, and the VM tier runs it); exits with
#               tools/vm/run's status (125: kernel report, which includes a
#               kmemleak leak found after the run)
#
# Environment:
#   VCORE_DEBUG_DEBS  directory holding linux-image-*.deb and
#                     linux-headers-*.deb (default: ../shared/kernels next to
#                     this repository)
#   VM_CACHE          cache root (default ~/.cache/vcore-vm); the packages
#                     are unpacked into VM_CACHE/debug-kernel/<checksum>/
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
debs_dir=${VCORE_DEBUG_DEBS:-$repo/../shared/kernels}
cache=${VM_CACHE:-$HOME/.cache/vcore-vm}/debug-kernel
kmod_out=$repo/build/debug-kmod

say() { echo "debug-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

# Kernel command line for every boot of it under QEMU TCG:
#  no5lvl      with QEMU's -cpu max the kernel uses 5-level paging, and an
#              interrupt that arrives while identify_cpu() has cleared the
#              boot CPU's feature bits (LA57 among them) makes KASAN compute
#              its shadow bounds for 4 levels and report a false
#              "wild-memory-access" (seen in 3 of 20 boots here);
#  pci=noacpi  KASAN makes ACPI's interpreter so slow that the _PRT method
#              of QEMU's i440fx hits ACPICA's 30 s loop timeout, twice: a
#              minute of boot, and then no IRQ routing; the PIRQ table works.
#
# and the detectors' thresholds, explicit so that the tier does not depend
# on the config's defaults: hung tasks after 60 s (a sysctl, set through
# sysctl.*: a bare hung_task_timeout_secs= would reach init's environment),
# soft lockups after 20 s (twice watchdog_thresh), workqueue stalls after
# 30 s.  None of them panics; each prints a report that tools/vm/scan-log
# fails the run on.  Debug objects are on by default in this config.
boot_args=(no5lvl pci=noacpi sysctl.kernel.hung_task_timeout_secs=60 hung_task_panic=0
	watchdog_thresh=10 softlockup_panic=0 workqueue.watchdog_thresh=30
	debug_objects)

# Config options the tier's verdict depends on.
required_config=(KASAN PROVE_LOCKING PROVE_RCU DEBUG_ATOMIC_SLEEP DEBUG_LIST
	DEBUG_KMEMLEAK DEBUG_FS FAILSLAB FAIL_PAGE_ALLOC MODULE_UNLOAD
	DETECT_HUNG_TASK SOFTLOCKUP_DETECTOR WQ_WATCHDOG
	DEBUG_OBJECTS DEBUG_OBJECTS_TIMERS DEBUG_OBJECTS_WORK
	DEBUG_OBJECTS_RCU_HEAD UBSAN UBSAN_BOUNDS UBSAN_SHIFT UBSAN_DIV_ZERO
	VIRTIO_PCI NET_9P_VIRTIO 9P_FS)

# find_debs: sets image_deb and headers_deb, or why and returns 3.
find_debs() {
	local d=$debs_dir f
	local -a images=() headers=()
	if [ ! -d "$d" ]; then
		why="no debug kernel packages: $d does not exist (set VCORE_DEBUG_DEBS)"
		return 3
	fi
	for f in "$d"/linux-image-*.deb; do [ -e "$f" ] && images+=("$f"); done
	for f in "$d"/linux-headers-*.deb; do [ -e "$f" ] && headers+=("$f"); done
	if [ ${#images[@]} -ne 1 ] || [ ${#headers[@]} -ne 1 ]; then
		why="need exactly one linux-image-*.deb and one linux-headers-*.deb in $d (found ${#images[@]} and ${#headers[@]})"
		return 3
	fi
	image_deb=$(realpath "${images[0]}")
	headers_deb=$(realpath "${headers[0]}")
}

# unpack: sets root, kver, vmlinuz, kdir (unpacking once per pair of debs).
unpack() {
	local key tmp
	find_debs || die "$why"
	key=$(cat "$image_deb" "$headers_deb" | sha256sum | cut -c1-16)
	root=$cache/$key/root
	mkdir -p "$cache"
	exec 8>"$cache/.lock"
	flock 8
	if [ ! -e "$cache/$key/.ready" ]; then
		# Unpacked trees of other packages are dropped.
		find "$cache" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
		tmp=$cache/$key.tmp
		mkdir -p "$tmp"
		say "unpacking $(basename "$image_deb") and $(basename "$headers_deb") into $cache/$key (once)"
		dpkg-deb -x "$image_deb" "$tmp" || die "dpkg-deb -x $image_deb failed"
		dpkg-deb -x "$headers_deb" "$tmp" || die "dpkg-deb -x $headers_deb failed"
		mkdir -p "$cache/$key"
		mv "$tmp" "$root"
		touch "$cache/$key/.ready"
	fi
	exec 8>&-
	vmlinuz=$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
	[ -n "$vmlinuz" ] || die "$(basename "$image_deb") has no boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	kdir=$root/usr/src/linux-headers-$kver
	[ -f "$kdir/Makefile" ] || die "$(basename "$headers_deb") has no usr/src/linux-headers-$kver"
	[ -f "$root/boot/config-$kver" ] || die "$(basename "$image_deb") has no boot/config-$kver"
}

features() {
	local opt missing=()
	for opt in "${required_config[@]}"; do
		grep -qx "CONFIG_$opt=y" "$root/boot/config-$kver" || missing+=("CONFIG_$opt")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "$kver lacks ${missing[*]} (virtio and 9p must be built in: the VM boots it with --modules-dir none)"
		return 1
	fi
	echo "$kver: ${required_config[*]}"
}

module() {
	local log=$kmod_out/build.log rc=0
	"$repo/tools/kmod-tree" "$kmod_out" >/dev/null
	rm -f "$kmod_out/kmod/vcore.ko"
	make -C "$kdir" M="$kmod_out/kmod" W=1 VCORE_TEST=1 modules >"$log" 2>&1 || rc=$?
	cat "$log" >&2
	[ $rc = 0 ] || die "building vcore.ko against $kdir failed"
	[ -f "$kmod_out/kmod/vcore.ko" ] || die "no $kmod_out/kmod/vcore.ko after the build"
	if grep -Eiq '(warning|error)[: ]' "$log"; then
		die "warnings building vcore.ko against $kver (log: $log)"
	fi
	echo "$kmod_out/kmod/vcore.ko"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
	available)
		find_debs || { echo "$why"; exit 3; } ;;
	unpack)
		unpack
		echo "$root" ;;
	features)
		unpack
		features ;;
	module)
		unpack
		module ;;
	vm)
		unpack
		cd "$repo"
		exec tools/vm/run --kernel "$vmlinuz" --modules-dir none --append "${boot_args[*]}" "$@" ;;
	run)
		[ $# -ge 1 ] || die "usage: tools/debug-kernel.sh run OUT [VM-OPTION...]"
		out=$1
		shift
		unpack
		ko=$kmod_out/kmod/vcore.ko
		[ -f "$ko" ] || die "no $ko: run tools/debug-kernel.sh module first"
		mkdir -p "$out"
		out=$(cd "$out" && pwd -P)
		cd "$repo"
		exec tools/vm/run --kernel "$vmlinuz" --modules-dir none --append "${boot_args[*]}" \
			--out "$out" --insmod "$ko" --insmod-args test=1 --env VCORE_KO \
			--env VCORE_TEST_TIME_SCALE "$@" \
			-- env VCORE_KO="$ko" VCORE_TEST_TIME_SCALE="${VCORE_TEST_TIME_SCALE:-5}" \
			VCORE_REDIS_ONLY=vcore \
			selftests/run.sh "$out/selftests" ;;
	-h|--help|help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" ;;
	*)
		die "unknown command '$cmd' (see tools/debug-kernel.sh --help)" ;;
esac

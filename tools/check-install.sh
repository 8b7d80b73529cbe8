#!/bin/bash
# The tree as a user installs it, checked on the VM's kernel:
#
# tools/check-install.sh OUT
#   dkms     make dkms-src into OUT, then "dkms add" and "dkms build" for the
#            kernel tools/vm/run boots, in a DKMS tree of OUT's own
#            (--dkmstree, --sourcetree, --installtree);
#   install  make install DESTDIR=OUT/root PREFIX=/usr (the file list is
#            checked, and make uninstall must leave no file behind, in a
#            second DESTDIR), then tools/examples/vcore-hello.c built
#            against OUT/root with pkg-config;
#   then one VM boot runs the guest half: insmod the DKMS-built vcore.ko,
#   /dev/vcore appears, rmmod; insmod the installed vcore.ko and run
#   vcore-hello with LD_LIBRARY_PATH into OUT/root.
#   Each step writes OUT/STEP.log and OUT/STEP.status ("ok" when it passed).
# tools/check-install.sh --verdict OUT STEP
#   prints STEP's log; exits 0 if it passed.
# tools/check-install.sh --guest OUT   (in the VM)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if [ "${1:-}" = --verdict ]; then
	cat "$2/$3.log" 2>/dev/null
	[ "$(cat "$2/$3.status" 2>/dev/null)" = ok ]
	exit
fi

if [ "${1:-}" = --guest ]; then
	out=$2			# read-only here: results go to $VM_OUT
	res=${VM_OUT:?}
	kver=$(uname -r)
	{
		ko=$(find "$out/dkms/tree/vcore" -path "*/$kver/*" -name vcore.ko | head -n 1)
		echo "guest: $kver; DKMS module: ${ko:-none}"
		[ -n "$ko" ] && insmod "$ko" && [ -c /dev/vcore ] &&
			grep -q '^vcore ' /proc/modules && rmmod vcore &&
			[ ! -e /dev/vcore ] && echo ok >"$res/dkms.status"
	} >"$res/dkms.log" 2>&1
	{
		ko=$out/root/lib/modules/$kver/updates/vcore.ko
		echo "guest: installed module $ko"
		insmod "$ko" && [ -c /dev/vcore ] &&
			LD_LIBRARY_PATH=$out/root/usr/lib "$out/vcore-hello" &&
			rmmod vcore && echo ok >"$res/install.status"
	} >"$res/install.log" 2>&1
	exit 0
fi

out=${1:?usage: tools/check-install.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "${out:?}"/*
version=$(cat VERSION)
# the kernel tools/vm/run boots by default
kver=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)
kver=${kver#/boot/vmlinuz-}

# dkms: host half
dkms_build() {
	local d=(dkms --dkmstree "$out/dkms/tree" --sourcetree "$out/dkms/src/usr/src"
		 --installtree "$out/dkms/inst")
	[ -n "$kver" ] || { echo "no /boot/vmlinuz-*-amd64"; return 1; }
	mkdir -p "$out/dkms/tree" "$out/dkms/inst/$kver" &&
	make -s dkms-src DESTDIR="$out/dkms/src" &&
	"${d[@]}" add -m vcore -v "$version" &&
	"${d[@]}" build -m vcore -v "$version" -k "$kver" &&
	"${d[@]}" status -m vcore -v "$version" -k "$kver" | grep -q ': built' &&
	modinfo -F vermagic "$(find "$out/dkms/tree/vcore" -path "*/$kver/*" -name vcore.ko | head -n 1)" |
		grep -q "^$kver "
}
dkms_build >"$out/dkms.log" 2>&1 || echo "host half failed" >>"$out/dkms.log"

# make install, the file list, make uninstall, the example: host half
expected_files() {
	local m
	cat <<-LIST
	etc/udev/rules.d/60-vcore.rules
	lib/modules/$mkver/updates/vcore.ko
	usr/include/linux/vcore.h
	usr/include/vcore/akaros.h
	usr/include/vcore/arena.h
	usr/include/vcore/ceq.h
	usr/include/vcore/evbitmap.h
	usr/include/vcore/event.h
	usr/include/vcore/libvcore.h
	usr/include/vcore/ucq.h
	usr/include/vcore/uthread.h
	usr/include/vcore/vcore.h
	usr/include/vcore/vcore_alarm.h
	usr/include/vcore/vcore_atomic.h
	usr/include/vcore/vcore_ctx.h
	usr/include/vcore/vcore_numa.h
	usr/include/vcore/vcore_tap.h
	usr/include/vcore/vcore_uio.h
	usr/lib/libvcore.a
	usr/lib/libvcore.so
	usr/lib/libvcore.so.${version%%.*}
	usr/lib/libvcore.so.$version
	usr/lib/pkgconfig/libvcore.pc
	usr/share/doc/vcore/examples/modprobe.d-vcore.conf
	usr/share/doc/vcore/examples/modules-load.d-vcore.conf
	LIST
	for m in man/*.[0-9]; do
		echo "usr/share/man/man${m##*.}/${m#man/}"
	done
}
do_install() {
	local root=$out/root pc
	mkver=$(modinfo -F vermagic kmod/vcore.ko | cut -d' ' -f1)
	make -s install DESTDIR="$root" PREFIX=/usr || return 1
	diff -u <(expected_files | sort) \
		<(cd "$root" && find . ! -type d | sed 's|^\./||' | sort) || return 1
	[ "$(readlink "$root/usr/lib/libvcore.so.${version%%.*}")" = "libvcore.so.$version" ] &&
	[ "$(readlink "$root/usr/lib/libvcore.so")" = "libvcore.so.${version%%.*}" ] &&
	readelf -d "$root/usr/lib/libvcore.so.$version" |
		grep -q "SONAME.*\[libvcore.so.${version%%.*}\]" || return 1
	grep -qx 'prefix=/usr' "$root/usr/lib/pkgconfig/libvcore.pc" || return 1
	# uninstall removes every file install put in
	make -s install DESTDIR="$out/root2" PREFIX=/usr >/dev/null &&
	make -s uninstall DESTDIR="$out/root2" PREFIX=/usr || return 1
	[ -z "$(find "$out/root2" ! -type d)" ] ||
		{ echo "left behind by uninstall:"; find "$out/root2" ! -type d; return 1; }
	pc=$(PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root \
		pkg-config --cflags --libs libvcore) || return 1
	echo "pkg-config --cflags --libs libvcore: $pc"
	# nothing from the source tree: only what pkg-config names
	${CC:-gcc} -O2 -Wall -Wextra -Werror -o "$out/vcore-hello" \
		tools/examples/vcore-hello.c $pc &&
	readelf -d "$out/vcore-hello" | grep -q 'NEEDED.*\[libvcore.so.1\]'
}
do_install >"$out/install.log" 2>&1 || echo "host half failed" >>"$out/install.log"

# one boot for both guest halves
tools/vm/run --quiet --timeout "${VM_TIMEOUT:-600}" --out "$out/vm" \
	-- tools/check-install.sh --guest "$out" >"$out/vm.log" 2>&1
rc=$?
for s in dkms install; do
	cat "$out/vm/$s.log" >>"$out/$s.log" 2>/dev/null
	if [ $rc != 0 ]; then
		echo "VM run failed ($rc): $out/vm/console.log" >>"$out/$s.log"
	elif ! grep -q 'host half failed' "$out/$s.log"; then
		cp "$out/vm/$s.status" "$out/$s.status" 2>/dev/null
	fi
done
exit 0

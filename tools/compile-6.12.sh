#!/bin/bash
# tools/compile-6.12.sh: build vcore.ko against Linux 6.12 (Debian's
# linux-source-6.12 with Debian's amd64 config from linux-config-6.12) with
# W=1, and fail on any warning.  A portability check only: the module is not
# loaded anywhere.
#
# The source is extracted and prepared for external modules (olddefconfig,
# modules_prepare: ~30 s on 2 cores) once, into
#   ${VM_CACHE:-~/.cache/vcore-vm}/linux-6.12/<checksum of tarball+config>/
# and reused while the packages do not change.  The module is built in
# build/linux-6.12/kmod (a copy of kmod/, see tools/kmod-tree), never in kmod/.
#
# No vmlinux is built, so there is no Module.symvers: modpost cannot tell
# whether the symbols the module uses are exported; its "Module.symvers is
# missing" note and "undefined!" warnings are expected and ignored.  Every
# other warning (compiler, objtool, modpost) fails the build.
#
# Environment: LINUX_SOURCE_612 (default /usr/src/linux-source-6.12.tar.xz),
# LINUX_CONFIG_612 (default /usr/src/linux-config-6.12/config.amd64_none_amd64.xz).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
tarball=${LINUX_SOURCE_612:-/usr/src/linux-source-6.12.tar.xz}
config=${LINUX_CONFIG_612:-/usr/src/linux-config-6.12/config.amd64_none_amd64.xz}
cache=${VM_CACHE:-$HOME/.cache/vcore-vm}/linux-6.12
out=$repo/build/linux-6.12

say() { echo "compile-6.12: $*" >&2; }
die() { say "$*"; exit 1; }

[ -r "$tarball" ] || die "no $tarball: install linux-source-6.12 (make setup)"
[ -r "$config" ] || die "no $config: install linux-config-6.12 (make setup)"
for t in flex bison bc make gcc xz; do
	command -v "$t" >/dev/null || die "$t not found: run make setup"
done

# --- the prepared tree, cached by the checksum of its inputs ---------------
# (this script is one of them: how the tree is prepared lives here)
key=$(cat "$tarball" "$config" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
tree=$cache/$key
src=$tree/src
obj=$tree/obj
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9    # one preparer at a time; the others wait and reuse its tree

if [ ! -e "$tree/.ready" ]; then
	# A tree without .ready is a half-made one (interrupted): start over.
	# Trees for other versions of the packages are dropped (1.7 GB each).
	find "$cache" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
	mkdir -p "$src" "$obj"
	say "extracting $tarball into $src (once)"
	SECONDS=0
	tar -xJf "$tarball" -C "$src" --strip-components=1
	[ -f "$src/Makefile" ] || die "$tarball did not contain linux-source-6.12/Makefile"
	say "preparing for external modules with Debian's config (once)"
	xz -dc "$config" >"$obj/.config"
	if ! make -s -C "$src" O="$obj" olddefconfig >"$tree/prepare.log" 2>&1 ||
		! make -s -C "$src" O="$obj" -j"$(nproc)" modules_prepare >>"$tree/prepare.log" 2>&1; then
		tail -n 40 "$tree/prepare.log" >&2
		die "preparing $obj failed (log: $tree/prepare.log)"
	fi
	touch "$tree/.ready"
	say "prepared in ${SECONDS}s: $obj"
fi
exec 9>&-

# --- the module ------------------------------------------------------------
"$repo/tools/kmod-tree" "$out" >/dev/null
rm -f "$out/kmod/vcore.ko"
log=$out/build.log
rc=0
make -C "$obj" M="$out/kmod" W=1 KBUILD_MODPOST_WARN=1 modules >"$log" 2>&1 || rc=$?
cat "$log"
[ $rc = 0 ] || die "the build failed (make exited with $rc)"
[ -f "$out/kmod/vcore.ko" ] || die "the build produced no vcore.ko"

# Expected without vmlinux (see above); everything else that says warning
# or error fails.
expected='^WARNING: Module\.symvers is missing\.$'
expected+='|^ +(Modules may not have dependencies or modversions\.|You may get many unresolved symbol errors\.|You can set KBUILD_MODPOST_WARN=1 to turn errors into warning|if you want to proceed at your own risk\.)$'
expected+='|^WARNING: modpost: "[A-Za-z0-9_.]+" \[[^]]*/vcore\.ko\] undefined!$'
expected+='|^WARNING: modpost: suppressed [0-9]+ unresolved symbol warnings because there were too many\)?$'
if bad=$(grep -Ei '(warning|error)([: ]|$)' "$log" | grep -Ev "$expected"); then
	say "warnings against Linux 6.12:"
	printf '%s\n' "$bad" >&2
	exit 1
fi
say "ok: $out/kmod/vcore.ko builds warning-free against $(make -s -C "$obj" kernelversion 2>/dev/null || echo 6.12)"

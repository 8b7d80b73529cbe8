#!/bin/bash
# Installs the Debian packages vcore needs to build and test; does nothing
# when they are all present.
set -euo pipefail

packages=(
	build-essential g++ perl xz-utils
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	qemu-system-x86 busybox-static cpio kmod
	liburcu-dev libnuma-dev clang llvm libclang-rt-14-dev lcov spin python3
	# make demo: the benchmark's plot; tools/bench/notify-trace.sh
	gnuplot-nox linux-perf
	# make consumer-cost: instructions per message
	valgrind
	# make install's checks: DKMS, the man pages' lint, libvcore.pc
	dkms mandoc pkg-config
	# uthread I/O through io_uring; the Redis-protocol server's clients
	# and the redis-server it is compared with
	liburing-dev redis-tools redis-server
	# the user stacks of a server a test found stuck (redis-test.sh)
	gdb
	# tools/compile-6.12.sh: Linux 6.12 source and Debian's config for it,
	# and what its modules_prepare needs
	linux-source-6.12 linux-config-6.12 bc bison flex libelf-dev libssl-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

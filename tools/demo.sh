#!/bin/bash
# make demo: build, boot the VM, load vcore.ko and show what it publishes
# to a process that opens /dev/vcore.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s all
out=$(pwd)/build/demo
mkdir -p "$out"
tools/vm/run --quiet --out "$out" --insmod kmod/vcore.ko -- build/tools/vcore-info
echo "demo: console log in $out/console.log"

#!/usr/bin/env bash
# Boot benchmark: carapace vs QEMU microvm on the same test-guest image, same run.
# usage: boot.sh STARTUP_TOOL CARAPACE GUEST_ELF [ITERATIONS]
set -euo pipefail
tool=$1 carapace=$2 guest=$3 iters=${4:-30}
"$tool" "$iters" \
	carapace -- "$carapace" run --kernel "$guest" --cmdline hello --debug-exit --memory 128M --quiet --- \
	qemu-microvm -- qemu-system-x86_64 -M microvm -m 128M -nodefaults -no-user-config -nographic \
		-serial stdio -kernel "$guest" -append hello -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot

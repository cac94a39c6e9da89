#!/usr/bin/env bash
# Real-kernel boot benchmark: the test kernel (scripts/build-test-kernel.sh) from its PVH entry to
# "Run /init as init process", carapace vs QEMU microvm with KVM, alternating, same disk image,
# same hidden CPU features; prints each run and the median ratio carapace/QEMU.
# usage: linux_boot.sh CARAPACE KERNEL_DIR [ITERATIONS]   (CARAPACE_TEST_LINUX overrides KERNEL_DIR)
set -uo pipefail
C=$1 K=${CARAPACE_TEST_LINUX:-$2} iters=${3:-3}
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: /dev/kvm is not usable here"; exit 77; }
[ -f "$K/vmlinux" ] || { echo "SKIP: no test kernel in $K (scripts/build-test-kernel.sh)"; exit 77; }
tmp=$(mktemp -d /tmp/carapace-lb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/dev" && printf '#!/bin/sh\n' >"$tmp/root/init"
mkfs.ext2 -q -F -d "$tmp/root" "$tmp/root.img" 4M
append="console=ttyS0 root=/dev/vda ro panic=-1 init=/init"

# time_to_init CMD...: seconds from start until the serial output shows "Run /init" ("-" if never).
# The VMM is stopped once the line is there: what the kernel does after /init (here a panic and a
# reset, which QEMU microvm, having no i8042, may never complete) is not part of the figure.
time_to_init() {
	local t0 t= out=$tmp/serial pid
	: >"$out"
	t0=$(date +%s.%N)
	"$@" >"$out" 2>/dev/null </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q "Run /init as init process" "$out"; then t=$(date +%s.%N); break; fi
		sleep 0.01
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -z "$t" ] && grep -q "Run /init as init process" "$out" && t=$(date +%s.%N) # ended between two looks
	[ -n "$t" ] && echo "$t - $t0" | bc || echo -
}
cr=() qr=()
for i in $(seq "$iters"); do
	c=$(time_to_init timeout 900 "$C" run --kernel "$K/vmlinux" --memory 256M --cpu host,-xsave,-smap,-popcnt \
		--cmdline "$append" --device "blk,path=$tmp/root.img,readonly=on" --quiet)
	q=$(time_to_init timeout 900 qemu-system-x86_64 -M microvm,acpi=off -accel kvm \
		-cpu host,-arch-capabilities,-xsave,-smap,-popcnt -m 256M -nodefaults -no-user-config -nographic \
		-serial stdio -kernel "$K/vmlinux" -append "$append" -global virtio-mmio.force-legacy=false \
		-drive "file=$tmp/root.img,if=none,id=d0,format=raw,readonly=on" -device virtio-blk-device,drive=d0 -no-reboot)
	echo "run $i: carapace $c s, QEMU microvm (KVM) $q s to \"Run /init\""
	cr+=("$c") qr+=("$q")
done
median() { printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
mc=$(median "${cr[@]}") mq=$(median "${qr[@]}")
[ -n "$mc" ] && [ -n "$mq" ] || { echo "a VMM never reached /init"; exit 1; }
echo "median: carapace $mc s, QEMU $mq s; ratio carapace/QEMU $(echo "scale=2; $mc / $mq" | bc)"

#!/usr/bin/env bash
# The real test kernel (scripts/build-test-kernel.sh) on QEMU microvm under TCG (software
# emulation: no /dev/kvm needed), its disk and entropy served by carapace's jailed helpers through
# vhost-user. Proves the kernel configuration and carapace-blk / carapace-rng against Linux's own
# virtio drivers: vda found, an ext2 root mounted (read-only when the device is read-only, and then
# the image is untouched; read-write otherwise, and then the kernel's superblock update reaches the
# image), the hwrng feeding the kernel's RNG, /init reached. Times are reported, never asserted.
# usage: qemu_tcg.sh DEVICES_BUILD_DIR KERNEL_DIR   (CARAPACE_TEST_LINUX overrides KERNEL_DIR)
set -u
D=$1 K=${CARAPACE_TEST_LINUX:-$2}
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
command -v mkfs.ext2 >/dev/null || { echo "SKIP: mkfs.ext2 (e2fsprogs) is not installed"; exit 77; }
if ! [ -f "$K/vmlinux" ]; then
	echo "SKIP: no test kernel in $K: scripts/build-test-kernel.sh builds it (scripts/setup.sh test does)"
	exit 77
fi
tmp=$(mktemp -d /tmp/carapace-lq.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0 passes=0
ok() { echo "ok   $*"; passes=$((passes + 1)); }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# An ext2 root with an /init (not executable by this kernel: no binfmt; the kernel's own work up to
# running it is what is checked) and a marker file.
mkdir -p "$tmp/root/dev" "$tmp/root/etc"
echo "carapace test root" >"$tmp/root/etc/carapace-marker"
printf '#!/bin/sh\n' >"$tmp/root/init" && chmod 755 "$tmp/root/init"
mkfs.ext2 -q -F -L carapace-root -d "$tmp/root" "$tmp/root.img" 4M || { echo "mkfs.ext2 failed"; exit 1; }
cp "$tmp/root.img" "$tmp/rw.img"

helper() { # name args...: start a jailed helper on $tmp/name.sock
	local name=$1; shift
	"$D/$name" --socket-path "$tmp/$1.sock" "${@:2}" 2>"$tmp/$1.helper.log" & pids+=($!)
}
wait_sockets() {
	for _ in $(seq 200); do
		local all=1
		for s in "$@"; do [ -S "$tmp/$s.sock" ] || all=0; done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
	echo "helpers did not create their sockets: $*"; cat "$tmp"/*.helper.log; return 1
}

# QEMU 7.2's virtio-mmio offers Linux a 1024-entry ring (QueueNumMax) but sizes the vhost-user
# inflight region by vhost-user-blk's queue-size (default 128); carapace-blk refuses a ring that
# does not fit that region ("ring 0 (size 1024) does not fit the inflight region"), so the queue
# size is made to match what Linux will choose. QEMU 7.2's vhost-user-rng passes the driver's
# EVENT_IDX on to the back-end although carapace-rng did not offer it (carapace-rng cuts such a
# front-end off), so it is switched off on the QEMU side.
# boot NAME KERNEL CMDLINE qemu-device-args...: kernel log in $tmp/NAME.log; prints seconds.
boot() {
	local name=$1 kernel=$2 append=$3; shift 3
	local t0 t1 rc
	t0=$(date +%s.%N)
	timeout 600 qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel tcg \
		-object memory-backend-memfd,id=mem,size=256M,share=on -m 256M -nodefaults -no-user-config \
		-nographic -serial "file:$tmp/$name.log" -kernel "$kernel" -append "$append" \
		-global virtio-mmio.force-legacy=false "$@" -no-reboot </dev/null >"$tmp/$name.out" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	tr -d '\r' <"$tmp/$name.log" >"$tmp/$name.txt"
	# time to /init: wall clock for the whole run, the kernel's own timestamp at "Run /init"
	local at
	at=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$tmp/$name.txt" | head -1)
	printf 'time %s: %.1f s wall clock (QEMU TCG) for the whole run; kernel timestamp at "Run /init": %s s\n' \
		"$name" "$(echo "$t1 - $t0" | bc)" "${at:-(not reached)}"
	if [ "$rc" != 0 ]; then
		bad "$name: QEMU exited with status $rc"; sed 's/^/    | /' "$tmp/$name.out" | head -20
		tail -30 "$tmp/$name.txt" | sed 's/^/    | /'
		return 1
	fi
	return 0
}
has() { # name 'fixed string' what
	if grep -qF -- "$2" "$tmp/$1.txt"; then ok "$1: $3"
	else bad "$1: $3: the kernel log lacks '$2'"; tail -40 "$tmp/$1.txt" | sed 's/^/    | /'; fi
}
lacks() {
	if ! grep -qF -- "$2" "$tmp/$1.txt"; then ok "$1: $3"
	else bad "$1: $3: the kernel log has '$2'"; grep -F -- "$2" "$tmp/$1.txt" | head -3 | sed 's/^/    | /'; fi
}

sum_ro=$(sha256sum <"$tmp/root.img")
helper carapace-blk ro --image "$tmp/root.img" --readonly
helper carapace-blk rw --image "$tmp/rw.img"
helper carapace-rng rng
wait_sockets ro rw rng || exit 1

# 1. vmlinux through its PVH entry; the root device is read-only, the command line asks for rw.
if boot pvh-ro-rng "$K/vmlinux" "console=ttyS0 root=/dev/vda rw panic=-1 init=/init" \
	-chardev socket,id=c0,path="$tmp/ro.sock" -device vhost-user-blk,chardev=c0,queue-size=1024 \
	-chardev socket,id=c1,path="$tmp/rng.sock" -device vhost-user-rng,chardev=c1,event_idx=off; then
	has pvh-ro-rng "virtio_blk virtio0: [vda]" "carapace-blk's disk is vda"
	has pvh-ro-rng "VFS: Mounted root (ext2 filesystem) readonly on device 254:0" \
		"the ext2 root on a read-only device is mounted read-only"
	has pvh-ro-rng "random: crng init done" "the kernel's RNG is initialised (virtio-rng through carapace-rng)"
	has pvh-ro-rng "Run /init as init process" "the kernel reaches /init"
	if [ "$(sha256sum <"$tmp/root.img")" = "$sum_ro" ]; then ok "pvh-ro-rng: the read-only image is unchanged"
	else bad "pvh-ro-rng: the read-only image changed"; fi
fi

# 2. A writable root, no entropy device. (vmlinux again: QEMU 7.2 microvm's own bzImage path
# oopses at once under TCG, a fault in QEMU's boot, not in what is tested here; carapace boots the
# bzImage in linux-boot-bzimage.)
mc() { dumpe2fs -h "$1" 2>/dev/null | sed -n 's/^Mount count: *//p'; }
before=$(mc "$tmp/rw.img")
if boot pvh-rw "$K/vmlinux" "console=ttyS0 root=/dev/vda rw panic=-1 init=/init" \
	-chardev socket,id=c0,path="$tmp/rw.sock" -device vhost-user-blk,chardev=c0,queue-size=1024; then
	has pvh-rw "virtio_blk virtio0: [vda]" "carapace-blk's disk is vda"
	has pvh-rw "VFS: Mounted root (ext2 filesystem) on device 254:0" "the ext2 root is mounted read-write"
	has pvh-rw "Run /init as init process" "the kernel reaches /init"
	after=$(mc "$tmp/rw.img")
	if [ -n "$before" ] && [ "$after" = $((before + 1)) ]; then
		ok "pvh-rw: the kernel's superblock write reached the image through carapace-blk (mount count $before -> $after)"
	else bad "pvh-rw: mount count '$before' -> '$after': the kernel's write did not reach the image"; fi
	if grep -qF "random: crng init done" "$tmp/pvh-rw.txt"; then
		echo "note pvh-rw: the RNG initialised without virtio-rng too (interrupt entropy)"
	else echo "note pvh-rw: without virtio-rng the RNG did not initialise before the end (control)"; fi
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]

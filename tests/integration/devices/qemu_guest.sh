#!/usr/bin/env bash
# carapace's back-ends under QEMU as the front-end, driven by a real guest driver: the test guest
# boots on QEMU microvm (memory-backend-memfd, share=on) with vhost-user-blk / vhost-user-rng
# served by the jailed carapace-blk / carapace-rng, and must print the same transcript as with
# QEMU's own devices; the disk image must hold what the guest wrote.
# usage: qemu_guest.sh DEVICES_BUILD_DIR GUEST_ELF EXPECTED_DIR
set -u
D=$1 G=$2 EXP=$3
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
tmp=$(mktemp -d /tmp/carapace-qg.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 passes=0

boot() { # name scenario qemu-device-args...
	local name=$1 scen=$2; shift 2
	timeout 120 qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem \
		-object memory-backend-memfd,id=mem,size=128M,share=on -m 128M -nodefaults -no-user-config \
		-nographic -serial stdio -kernel "$G" -append "$scen" -global virtio-mmio.force-legacy=false \
		"$@" -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	tr -d '\r' <"$tmp/$name.out" | grep -v '^info:' >"$tmp/$name.txt"
	# status 1 is also QEMU's own failure: the guest's debug-exit write comes with no QEMU message
	if [ "$rc" = 1 ] && ! grep -q "qemu-system-x86_64:" "$tmp/$name.err" && diff -u "$EXP/$scen.txt" "$tmp/$name.txt"; then
		echo "ok   $name"; passes=$((passes + 1)); return 0
	fi
	echo "FAIL $name: status $rc"; sed 's/^/    | /' "$tmp/$name.out" "$tmp/$name.err" "$tmp"/*.log 2>/dev/null | head -40
	fails=$((fails + 1)); return 1
}

head -c 1048576 /dev/zero | tr '\0' 'Z' >"$tmp/disk.img"
"$D/carapace-blk" --socket-path "$tmp/blk.sock" --image "$tmp/disk.img" 2>"$tmp/blk.log" & pids+=($!)
"$D/carapace-rng" --socket-path "$tmp/rng.sock" 2>"$tmp/rng.log" & pids+=($!)
for _ in $(seq 100); do [ -S "$tmp/blk.sock" ] && [ -S "$tmp/rng.sock" ] && break; sleep 0.05; done

if boot "virtio-blk through QEMU + jailed carapace-blk" virtio-blk \
	-chardev socket,id=c0,path="$tmp/blk.sock" -device vhost-user-blk,chardev=c0; then
	if dd if="$tmp/disk.img" bs=512 skip=1 count=1 2>/dev/null | grep -q "carapace virtio-blk test sector" &&
	   head -c 512 "$tmp/disk.img" | tr -d Z | cmp -s - /dev/null; then
		echo "ok   the image holds the guest's sector 1, sector 0 untouched"; passes=$((passes + 1))
	else echo "FAIL the disk image does not hold what the guest wrote"; fails=$((fails + 1)); fi
fi
boot "virtio-rng through QEMU + jailed carapace-rng" virtio-rng \
	-chardev socket,id=c1,path="$tmp/rng.sock" -device vhost-user-rng,chardev=c1
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]

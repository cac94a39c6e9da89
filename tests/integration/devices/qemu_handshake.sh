#!/bin/bash
# Interop with QEMU 7.2 as the front-end: QEMU realizes vhost-user-blk and vhost-user-rng on
# -M microvm against jailed carapace-blk / carapace-rng (negotiation, GET_CONFIG, owner), is
# paused (-S, no guest runs), quits over QMP; the helpers must log the requests and exit 0.
# The data path under QEMU needs a guest driver: that is the test guest's job (issue 5).
set -u
BUILD=${CARAPACE_BUILD_ROOT:?}
QEMU=/usr/bin/qemu-system-x86_64
[ -x "$QEMU" ] || { echo "SKIP: $QEMU not installed (qemu-system-x86)"; exit 77; }
tmp=$(mktemp -d /tmp/carapace-qemu.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
truncate -s 8M "$tmp/disk.img"
fail=0
for dev in blk rng; do
	args=()
	qdev="vhost-user-$dev,chardev=c0"
	[ $dev = blk ] && { args=(--image "$tmp/disk.img" --num-queues 2); qdev="vhost-user-blk,chardev=c0,num-queues=2"; }
	"$BUILD/devices/carapace-$dev" --socket-path "$tmp/$dev.sock" "${args[@]}" --verbose 2>"$tmp/$dev.log" &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/$dev.sock" ] && break; sleep 0.05; done
	printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"quit"}' |
		timeout 20 "$QEMU" -M microvm -nodefaults -display none -S -m 64M \
			-object memory-backend-memfd,id=mem,size=64M,share=on -machine memory-backend=mem \
			-chardev socket,id=c0,path="$tmp/$dev.sock" -device "$qdev" -qmp stdio >"$tmp/qemu.$dev.out" 2>&1
	qst=$?
	wait $pid
	hst=$?
	if [ $qst -ne 0 ] || ! grep -q '"return"' "$tmp/qemu.$dev.out"; then
		echo "FAIL: QEMU with vhost-user-$dev (status $qst):"; cat "$tmp/qemu.$dev.out"; fail=1
	fi
	if [ $hst -ne 0 ]; then echo "FAIL: carapace-$dev exit status $hst"; cat "$tmp/$dev.log"; fail=1; fi
	for req in GET_FEATURES GET_PROTOCOL_FEATURES SET_PROTOCOL_FEATURES SET_OWNER; do
		grep -q "debug: $dev: $req " "$tmp/$dev.log" || { echo "FAIL: carapace-$dev never saw $req"; cat "$tmp/$dev.log"; fail=1; }
	done
	if [ $dev = blk ]; then
		grep -q "debug: blk: GET_CONFIG " "$tmp/$dev.log" || { echo "FAIL: QEMU did not read blk's config"; fail=1; }
	fi
	echo "ok: QEMU 7.2 realized vhost-user-$dev against jailed carapace-$dev; requests seen:"
	sed -n 's/.*debug: [a-z]*: \([A-Z_]*\) .*/\1/p' "$tmp/$dev.log" | tr '\n' ' '; echo
done
exit $fail

#!/usr/bin/env bash
# The jailed carapace-vsock under QEMU as the front-end (vhost-user-vsock-device on microvm),
# driven by the test guest's own virtio-vsock driver (tests/guest/vsock.c): the guest connects
# out to a host port and accepts a host-initiated stream, with data both ways and credit updates;
# the host side speaks Firecracker's hybrid vsock (vsock_peer.py). No KVM needed (TCG).
# usage: qemu_vsock.sh DEVICES_BUILD_DIR GUEST_ELF EXPECTED_DIR
set -u
D=$1 G=$2 EXP=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vhost-user-vsock-device"' ||
	{ echo "SKIP: this QEMU has no vhost-user-vsock-device"; exit 77; }
tmp=$(mktemp -d /tmp/carapace-qv.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0 passes=0
verdict() { if [ "$2" = 0 ]; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1: $3"; fails=$((fails + 1)); fi; }

uds=$tmp/v.sock
# Started as root, the jailed helper runs as nobody: it must reach the directory and the host's
# <uds>_<port> listener (as it would a real orchestrator's, docs/devices.md).
chmod 0755 "$tmp"
"$D/carapace-vsock" --socket-path "$tmp/vu.sock" --cid 3 --uds-path "$uds" 2>"$tmp/vsock.log" & pids+=($!)
python3 "$here/vsock_peer.py" "$uds" 1234 5678 256 "$tmp/peer.ready" >"$tmp/peer.out" 2>&1 & peer=$!
for _ in $(seq 200); do [ -S "$tmp/vu.sock" ] && [ -e "$tmp/peer.ready" ] && break; sleep 0.05; done

timeout 240 qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem \
	-object memory-backend-memfd,id=mem,size=128M,share=on -m 128M -nodefaults -no-user-config \
	-nographic -serial stdio -kernel "$G" -append "virtio-vsock port=1234 listen=5678 bytes=256" \
	-global virtio-mmio.force-legacy=false \
	-chardev socket,id=c0,path="$tmp/vu.sock" -device vhost-user-vsock-device,chardev=c0 \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot </dev/null >"$tmp/q.out" 2>"$tmp/q.err"
rc=$?
# A guest that failed never finishes the exchange: the peer's wait would only cost time.
[ "$rc" = 1 ] || kill "$peer" 2>/dev/null
wait "$peer"; prc=$?
tr -d '\r' <"$tmp/q.out" | grep -v '^info:' >"$tmp/q.txt"
if [ "$rc" = 1 ] && ! grep -q "qemu-system-x86_64:" "$tmp/q.err" && diff -u "$EXP/virtio-vsock.txt" "$tmp/q.txt"; then
	verdict "the test guest's virtio-vsock driver through QEMU's vhost-user-vsock-device and the jailed carapace-vsock" 0
else
	verdict "guest transcript" 1 "QEMU status $rc"
	sed 's/^/    | /' "$tmp/q.out" "$tmp/q.err" "$tmp/vsock.log" | head -40
fi
if [ "$prc" = 0 ]; then verdict "the host side of both streams (hybrid vsock: <uds>_1234, CONNECT 5678)" 0
else verdict "host side" 1 "$(cat "$tmp/peer.out")"; fi
sed 's/^/    /' "$tmp/peer.out"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# --device vsock on real /dev/kvm: the test guest's virtio-vsock driver (tests/guest/vsock.c)
# reaches the jailed carapace-vsock that carapace run started, and a host peer speaking hybrid
# vsock (tests/integration/devices/vsock_peer.py) sees both streams: the guest's connection to
# <uds>_1234 and its own "CONNECT 5678". Then the same with 16 devices (15 rng, vsock the last,
# on GSI 23): the most a VM may have.
# usage: vsock.sh CARAPACE GUEST_ELF PEER_PY EXPECTED_TXT
. "$(dirname "$0")/lib.sh"
C=$1; G=$2; PEER=$3; EXP=$4
need_kvm

run_case() { # label device-args...
	local label=$1; shift
	rm -f "$TMP/peer.ready" "$TMP"/v.sock*
	python3 "$PEER" "$TMP/v.sock" 1234 5678 256 "$TMP/peer.ready" >"$TMP/peer.out" 2>&1 &
	local peer=$!
	while ! [ -e "$TMP/peer.ready" ]; do
		kill -0 "$peer" 2>/dev/null || break
		sleep 0.05
	done
	timeout 300 "$C" run --kernel "$G" --cmdline "virtio-vsock port=1234 listen=5678 bytes=256" --memory 64M \
		--debug-exit --timeout 240 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local rc=$?
	[ "$rc" = 1 ] || kill "$peer" 2>/dev/null
	wait "$peer"; local prc=$?
	tr -d '\r' <"$TMP/out" | grep -v '^info:' >"$TMP/txt"
	if [ "$rc" = 1 ] && grep -qF "guest wrote 0x0 to the debug-exit port" "$TMP/err" && diff -u "$EXP" "$TMP/txt" >"$TMP/diff" &&
		[ "$prc" = 0 ]; then
		echo "ok   $label"; passes=$((passes + 1))
	else
		echo "FAIL $label: carapace status $rc, peer status $prc"
		sed 's/^/    | /' "$TMP/diff" "$TMP/out" "$TMP/err" "$TMP/peer.out" | head -60
		fails=$((fails + 1))
	fi
}

chmod 0755 "$TMP" # the jailed helper may run as another user (nobody, when started as root)
run_case "virtio-vsock: the guest's streams both ways through the jailed carapace-vsock" \
	--device "vsock,cid=3,uds=$TMP/v.sock"
rngs=()
for _ in $(seq 15); do rngs+=(--device rng); done
run_case "16 devices, vsock the 16th (GSI 23): the same streams" "${rngs[@]}" --device "vsock,cid=3,uds=$TMP/v.sock"
if grep -q "info: virtio: 0xfeb01e00: magic 0x74726976 version 2 device id 19" "$TMP/out"; then
	echo "ok   the 16th window (0xfeb01e00) is the vsock device"; passes=$((passes + 1))
else echo "FAIL the guest did not find the vsock device in the 16th window"; fails=$((fails + 1)); fi
finish

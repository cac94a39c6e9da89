#!/bin/bash
# Runs the carapace-net tests inside a network namespace this test creates (never the host's):
# the ARP round trip through the front-end, and (hooks builds) SIGSYS after the filter loads.
set -u
test_bin=$1
net_bin=${CARAPACE_BUILD_ROOT:?}/devices/carapace-net
if ! command -v ip >/dev/null; then echo "SKIP: ip (iproute2) not installed"; exit 77; fi
if [ ! -c /dev/net/tun ]; then echo "SKIP: no /dev/net/tun"; exit 77; fi
if [ "$(id -u)" -eq 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
if ! "${ns[@]}" true 2>/dev/null; then echo "SKIP: cannot create a network namespace here"; exit 77; fi
"${ns[@]}" -- "$test_bin" || exit 1
"$net_bin" --test-hook=none --help >/dev/null 2>&1
if [ $? -ne 2 ]; then
	tmp=$(mktemp -d /tmp/carapace-net-sandbox.XXXXXX)
	"${ns[@]}" -- "$net_bin" --socket-path "$tmp/s" --tap cptap1 --test-hook=forbidden-syscall 2>"$tmp/err"
	st=$?
	cat "$tmp/err"
	rm -rf "$tmp"
	if [ $st -ne 159 ]; then echo "FAIL: carapace-net forbidden syscall: status $st, expected 159 (SIGSYS)"; exit 1; fi
	echo "ok: carapace-net killed by SIGSYS on socket(AF_INET) after the filter loaded"
fi

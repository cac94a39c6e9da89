#!/bin/bash
# Runs the carapace-net test inside a network namespace this test creates (never the host's).
set -u
test_bin=$1
if ! command -v ip >/dev/null; then echo "SKIP: ip (iproute2) not installed"; exit 77; fi
if [ ! -c /dev/net/tun ]; then echo "SKIP: no /dev/net/tun"; exit 77; fi
if [ "$(id -u)" -eq 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
if ! "${ns[@]}" true 2>/dev/null; then echo "SKIP: cannot create a network namespace here"; exit 77; fi
exec "${ns[@]}" -- "$test_bin"

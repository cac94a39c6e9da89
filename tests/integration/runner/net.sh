#!/usr/bin/env bash
# --device net with the runner: in a network namespace this test makes (never the host's), a TAP
# interface; carapace starts the jailed carapace-net on it and the guest sees a virtio-net device
# with the MAC the runner asked for. carapace-net's data path is tested in tests/integration/devices.
# usage: net.sh CARAPACE
. "$(dirname "$0")/lib.sh"
C=$1
need_kvm
command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is not installed"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: making a TAP in a test namespace needs root here"; exit 77; }
unshare --net true 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
check net-device 0 "demo: virtio-net device with MAC 52:54:00:ab:cd:ef" -- unshare --net sh -c \
	"ip tuntap add dev cptap0 mode tap && ip link set cptap0 up && \"$C\" run --device net,tap=cptap0,mac=52:54:00:ab:cd:ef"
check net-needs-tap 2 "device net: tap=NAME is required" -- "$C" run --device net
check net-bad-mac 2 "device net: mac=1:2 is not" -- "$C" run --device net,tap=x,mac=1:2
finish

#!/bin/bash
# A plain VM boots the bzImage test guest through the firmware-less direct-boot layout
# (`carapace run --direct-layout`): the guest's 64-bit entry runs and its checker finds
# boot_params, e820, the RSDP -> XSDT -> FADT/MADT with every vCPU; and through the TDX stub
# with every vCPU at the reset vector (`--tdx-stub-test`), APs woken through the MADT mailbox. Needs /dev/kvm (skips, 77,
# without it). usage: direct_layout.sh CARAPACE BZIMAGE_GUEST
. "$(dirname "$0")/lib.sh"
carapace=$1 guest=$2
need_kvm
# Exit status (0 << 1) | 1 = 1: the guest wrote 0 to the debug-exit port.
check direct-layout-1cpu 1 "carapace-test-bzimage: PASS" -- \
	"$carapace" run --kernel "$guest" --direct-layout --debug-exit --memory 128M --timeout 120
check direct-layout-madt 1 "bz: MADT: 2 CPUs, 1 IOAPIC" -- \
	"$carapace" run --kernel "$guest" --direct-layout --debug-exit --memory 128M --vcpus 2 --timeout 120
# TDX stub test mode: every vCPU starts at the reset vector; the stub reaches long mode, says it
# skips the accept (not a TD), parks the APs; the guest wakes each through the MADT mailbox.
check tdx-stub-not-a-td 1 "carapace-tdx-stub: not a TD (CPUID 0x21): page accept skipped" -- \
	"$carapace" run --kernel "$guest" --tdx-stub-test --debug-exit --memory 128M --vcpus 3 --timeout 120
check tdx-stub-ap-wakeup 1 "bz: AP 2 woken through the MADT mailbox and arrived" -- \
	"$carapace" run --kernel "$guest" --tdx-stub-test --debug-exit --memory 128M --vcpus 3 --timeout 120
check tdx-stub-pass 1 "carapace-test-bzimage: PASS" -- \
	"$carapace" run --kernel "$guest" --tdx-stub-test --debug-exit --memory 128M --vcpus 3 --timeout 120
check direct-layout-old-kernel 2 "too old for the 64-bit entry" -- bash -c \
	'f=$(mktemp); cp "$1" "$f"; printf "\x0b" | dd of="$f" bs=1 seek=$((0x206)) conv=notrunc status=none;
	 "$2" run --kernel "$f" --direct-layout --memory 128M; rc=$?; rm -f "$f"; exit $rc' sh "$guest" "$carapace"
finish

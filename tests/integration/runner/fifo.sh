#!/usr/bin/env bash
# Issue 18 item 9: a FIFO (or a device) given as --kernel, --initrd, --config or --policy is
# refused with a message before anything blocks; so is one given as a disk image to the block
# helper, read-only or not, and a FIFO without a reader as the console helper's output. Needs no
# KVM: the inputs are read before /dev/kvm is opened.
# usage: fifo.sh CARAPACE CARAPACE_BLK GUEST_ELF
. "$(dirname "$0")/lib.sh"
C=$1; B=$2; G=$3
mkfifo "$TMP/fifo"
# timeout(1) turns a hang into status 124, which no check expects.
check kernel-fifo  2 "$TMP/fifo: not a regular file" -- timeout 20 "$C" run --kernel "$TMP/fifo"
check initrd-fifo  2 "$TMP/fifo: not a regular file" -- timeout 20 "$C" run --kernel "$G" --initrd "$TMP/fifo"
check config-fifo  2 "$TMP/fifo: not a regular file" -- timeout 20 "$C" run --config "$TMP/fifo"
check policy-fifo  2 "$TMP/fifo: not a regular file" -- timeout 20 "$C" run --kernel "$G" --policy "$TMP/fifo"
check kernel-dev   2 "/dev/zero: not a regular file" -- timeout 20 "$C" run --kernel /dev/zero
check image-fifo-ro 1 "not a regular file or block device" -- timeout 20 "$B" --socket-path "$TMP/s" --image "$TMP/fifo" --readonly --no-jail
check image-fifo-rw 1 "not a regular file or block device" -- timeout 20 "$B" --socket-path "$TMP/s" --image "$TMP/fifo" --no-jail
# The console helper's output: a FIFO nobody reads fails at once instead of blocking the helper.
N=$(dirname "$B")/carapace-console
check output-fifo  1 "No such device or address" -- timeout 20 "$N" --socket-path "$TMP/c" --output "$TMP/fifo" --no-jail
finish

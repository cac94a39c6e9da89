#!/bin/bash
# The microvm cross-boot proof: boots the test guest under QEMU's microvm machine for every line
# of cross-boot.list and fails on any difference in the deterministic transcript or exit status.
# Usage: check-microvm.sh GUEST_ELF LIST EXPECTED_DIR   (exit 77 = skipped, with the reason)
set -u
elf=$1 list=$2 expected=$3
here=$(dirname "$0")
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
[ -r "$elf" ] || { echo "FAIL: guest image $elf is missing"; exit 1; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
failed=0 ran=0

# The pattern virtio-blk writes to sector 1 (virtio.c blk_line, 16 times) and the line
# virtio-console sends: the host side checks that the device really got them.
blk_line='carapace virtio-blk test sector'
console_line='carapace-test-guest: hello through virtio-console'

# Sets the array "extra" for a profile of cross-boot.list; false for an unknown profile.
profile_args() {
	local noacpi=(-M microvm,acpi=off -global virtio-mmio.force-legacy=false)
	case "$1" in
	-) extra=(-M microvm) ;;
	noacpi) extra=("${noacpi[@]}") ;;
	blk)
		# 64 KiB, "BOOT" at the start of sector 0, zero elsewhere.
		truncate -s 64K "$work/disk.img" && printf BOOT | dd of="$work/disk.img" conv=notrunc status=none || return 1
		extra=("${noacpi[@]}" -drive "file=$work/disk.img,format=raw,if=none,id=d0"
			-device virtio-blk-device,drive=d0) ;;
	rng) extra=("${noacpi[@]}" -device virtio-rng-device) ;;
	console)
		: >"$work/console.out"
		extra=("${noacpi[@]}" -device virtio-serial-device
			-chardev "file,id=c0,path=$work/console.out" -device virtconsole,chardev=c0) ;;
	*) return 1 ;;
	esac
}

# What the host sees after a profile's run; prints the problem and fails on a mismatch.
profile_check() {
	case "$1" in
	blk)
		local want got
		want=$(for _ in $(seq 16); do printf '%s\n' "$blk_line"; done | od -An -tx1)
		got=$(dd if="$work/disk.img" bs=512 skip=1 count=1 status=none | od -An -tx1)
		[ "$want" = "$got" ] || { echo "sector 1 of the disk does not hold the pattern"; return 1; }
		[ "$(head -c 4 "$work/disk.img")" = BOOT ] || { echo "sector 0 changed"; return 1; } ;;
	console)
		[ "$(cat "$work/console.out")" = "$console_line" ] ||
			{ echo "the virtio console got '$(cat "$work/console.out")'"; return 1; } ;;
	esac
	return 0
}

while read -r label status vcpus profile cmdline; do
	case "$label" in ''|'#'*) continue ;; esac
	ran=$((ran + 1))
	out=$work/$label.out
	if ! profile_args "$profile"; then
		echo "FAIL: $label: unknown profile '$profile' (or its set-up failed)"
		failed=$((failed + 1))
		continue
	fi
	# TCG (QEMU's default accelerator) on purpose: the proof then depends neither on /dev/kvm
	# nor on the host CPU model. -no-reboot turns a triple fault into an exit with status 0.
	limit=60
	if [ "$status" = hang ]; then
		limit=2 status=124
	fi
	timeout "$limit" "$qemu" "${extra[@]}" -nodefaults -no-user-config -nographic -serial stdio \
		-kernel "$elf" -append "$cmdline" -smp "$vcpus" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot </dev/null >"$out" 2>"$work/$label.err"
	rc=$?
	if [ "$rc" != "$status" ]; then
		echo "FAIL: $label ('$cmdline', $vcpus vCPUs, $profile): exit status $rc, expected $status"
		sed 's/^/  | /' "$out" "$work/$label.err"
		failed=$((failed + 1))
	elif [ $((rc % 2)) = 1 ] && grep -q "qemu-system-x86_64:" "$work/$label.err"; then
		# QEMU also exits 1 on its own errors; an isa-debug-exit status comes with no message
		echo "FAIL: $label: status $rc with a QEMU error, not the guest's debug-exit write"
		sed 's/^/  | /' "$work/$label.err"
		failed=$((failed + 1))
	elif ! bash "$here/check-transcript.sh" "$expected/$label.txt" "$out" >"$work/$label.diff"; then
		echo "FAIL: $label ('$cmdline'): transcript differs from $expected/$label.txt"
		sed 's/^/  | /' "$work/$label.diff"
		failed=$((failed + 1))
	elif ! why=$(profile_check "$profile"); then
		echo "FAIL: $label ('$cmdline'): host-side check: $why"
		failed=$((failed + 1))
	else
		echo "ok: $label ('$cmdline', $vcpus vCPUs, $profile) status $rc, $(wc -l <"$expected/$label.txt") lines"
	fi
done <"$list"

[ "$ran" -gt 0 ] || { echo "FAIL: no scenarios in $list"; exit 1; }
echo "$ran scenarios, $failed failed"
[ "$failed" -eq 0 ]

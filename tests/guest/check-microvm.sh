#!/bin/bash
# The microvm cross-boot proof: boots the test guest under QEMU's microvm machine for every line
# of cross-boot.list and fails on any difference in the deterministic transcript or exit status.
# Usage: check-microvm.sh GUEST_ELF LIST EXPECTED_DIR   (exit 77 = skipped, with the reason)
set -u
elf=$1 list=$2 expected=$3
qemu=$(command -v qemu-system-x86_64) || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
[ -r "$elf" ] || { echo "FAIL: guest image $elf is missing"; exit 1; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
failed=0 ran=0

while read -r label status vcpus cmdline; do
	case "$label" in ''|'#'*) continue ;; esac
	ran=$((ran + 1))
	out=$work/$label.out
	# TCG (QEMU's default accelerator) on purpose: the proof then depends neither on /dev/kvm
	# nor on the host CPU model. -no-reboot turns a triple fault into an exit with status 0.
	timeout 60 "$qemu" -M microvm -nodefaults -no-user-config -nographic -serial stdio \
		-kernel "$elf" -append "$cmdline" -smp "$vcpus" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot </dev/null >"$out" 2>"$work/$label.err"
	rc=$?
	# The compared transcript: VMM-dependent lines ("info: ...") and CRs dropped.
	tr -d '\r' <"$out" | grep -v '^info:' >"$work/$label.txt"
	if [ "$rc" != "$status" ]; then
		echo "FAIL: $label ('$cmdline', $vcpus vCPUs): exit status $rc, expected $status"
		sed 's/^/  | /' "$out" "$work/$label.err"
		failed=$((failed + 1))
	elif ! diff -u "$expected/$label.txt" "$work/$label.txt" >"$work/$label.diff"; then
		echo "FAIL: $label ('$cmdline'): transcript differs from $expected/$label.txt"
		sed 's/^/  | /' "$work/$label.diff"
		failed=$((failed + 1))
	else
		echo "ok: $label ('$cmdline', $vcpus vCPUs) status $rc, $(wc -l <"$work/$label.txt") lines"
	fi
done <"$list"

[ "$ran" -gt 0 ] || { echo "FAIL: no scenarios in $list"; exit 1; }
echo "$ran scenarios, $failed failed"
[ "$failed" -eq 0 ]

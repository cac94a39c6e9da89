#!/bin/bash
# Proves the guest image uses no instruction that KVM's instruction emulator lacks (nested KVM
# runs guests under it here): no SSE/AVX/MMX/x87 registers, XSAVE/XRSTOR, FXSAVE, CMPXCHG16B.
# Usage: check-insns.sh GUEST_ELF   (exit 77 = skipped when objdump is missing)
set -u
elf=$1
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is not installed"; exit 77; }
listing=$(objdump -d "$elf") || { echo "FAIL: objdump cannot disassemble $elf"; exit 1; }
count=$(grep -c $'\t' <<<"$listing")
[ "$count" -gt 100 ] || { echo "FAIL: only $count instructions disassembled from $elf"; exit 1; }
if grep -E '%[xyz]mm|%mm[0-7]|%st\b|%st\(|xsave|xrstor|fxsave|fxrstor|cmpxchg16b|\bf(ld|st|stp|add|mul|div|sub|init|nstcw|ldcw)\b' <<<"$listing"; then
	echo "FAIL: $elf uses instructions the KVM emulator cannot run (listed above)"
	exit 1
fi
echo "ok: $count instructions, none from SSE/AVX/MMX/x87/XSAVE/CMPXCHG16B"

#!/bin/bash
# The TDX stub page as built: exactly 4096 bytes, no relocations (it is position-dependent by
# construction), the reset vector at 0xff0 jumps to the page start, the parameter block magic
# at 0xe00, TDCALL present, and no SSE/AVX/MMX/x87/XSAVE/CMPXCHG16B (KVM's emulator here lacks them,
# and a TD stub has no reason to use them). usage: check-stub.sh STUB_O STUB_BIN
set -eu
obj=$1 bin=$2
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is not installed"; exit 77; }
size=$(stat -c %s "$bin")
[ "$size" -eq 4096 ] || { echo "FAIL: stub is $size bytes, not one page"; exit 1; }
if objdump -r "$obj" | grep -q R_X86; then
	objdump -r "$obj"; echo "FAIL: the stub has relocations"; exit 1
fi
[ "$(xxd -s 0xe00 -l 8 -p "$bin")" = "$(printf CPTDXSTB | xxd -p)" ] || { echo "FAIL: no parameter block magic at 0xe00"; exit 1; }
rv=$(objdump -D -b binary -m i386 --adjust-vma=0xfffff000 --start-address=0xfffffff0 --stop-address=0xfffffff5 "$bin" | grep 'fffffff0:')
grep -q 'jmp *0xfffff000' <<<"$rv" || { echo "FAIL: reset vector: $rv"; exit 1; }
listing=$(objdump -d "$obj")
grep -q tdcall <<<"$listing" || grep -q '66 0f 01 cc' <<<"$listing" || { echo "FAIL: no TDCALL"; exit 1; }
if grep -E '%[xyz]mm|%mm[0-7]|%st\b|%st\(|xsave|xrstor|fxsave|fxrstor|cmpxchg16b|\bf(ld|st|stp|add|mul|div|sub|init|nstcw|ldcw)\b' <<<"$listing"; then
	echo "FAIL: the stub uses SSE/AVX/MMX/x87/XSAVE/CMPXCHG16B (listed above)"; exit 1
fi
echo "ok: one page, no relocations, reset vector -> 0xfffff000, parameter block, TDCALL, no SSE/x87"

#!/bin/bash
# A boot stub page as built: exactly 4096 bytes, no relocations, its parameter block magic at
# 0xe00, the instructions it exists for, and no SSE/AVX/MMX/x87/XSAVE/CMPXCHG16B (KVM's emulator
# here lacks them, and a stub has no reason to use them).
#   tdx: the reset vector at 0xff0 jumps to the page start (it is position-dependent at
#        0xfffff000), TDCALL present;
#   snp: PVALIDATE and VMGEXIT present (it is position-independent: RIP-relative only).
# usage: check-stub.sh tdx|snp STUB_O STUB_BIN
set -eu
kind=$1 obj=$2 bin=$3
command -v objdump >/dev/null || { echo "SKIP: objdump (binutils) is not installed"; exit 77; }
size=$(stat -c %s "$bin")
[ "$size" -eq 4096 ] || { echo "FAIL: stub is $size bytes, not one page"; exit 1; }
if objdump -r "$obj" | grep -q R_X86; then
	objdump -r "$obj"; echo "FAIL: the stub has relocations"; exit 1
fi
listing=$(objdump -d "$obj")
case $kind in
tdx)
	magic=CPTDXSTB
	rv=$(objdump -D -b binary -m i386 --adjust-vma=0xfffff000 --start-address=0xfffffff0 --stop-address=0xfffffff5 "$bin" | grep 'fffffff0:')
	grep -q 'jmp *0xfffff000' <<<"$rv" || { echo "FAIL: reset vector: $rv"; exit 1; }
	grep -q tdcall <<<"$listing" || grep -q '66 0f 01 cc' <<<"$listing" || { echo "FAIL: no TDCALL"; exit 1; }
	what="reset vector -> 0xfffff000, TDCALL";;
snp)
	magic=CPSNPSTB
	grep -q pvalidate <<<"$listing" || grep -q 'f2 0f 01 ff' <<<"$listing" || { echo "FAIL: no PVALIDATE"; exit 1; }
	grep -q vmgexit <<<"$listing" || grep -q 'f3 0f 01 d9' <<<"$listing" || { echo "FAIL: no VMGEXIT"; exit 1; }
	what="PVALIDATE, VMGEXIT";;
*)
	echo "usage: check-stub.sh tdx|snp STUB_O STUB_BIN"; exit 2;;
esac
[ "$(xxd -s 0xe00 -l 8 -p "$bin")" = "$(printf $magic | xxd -p)" ] || { echo "FAIL: no parameter block magic $magic at 0xe00"; exit 1; }
if grep -E '%[xyz]mm|%mm[0-7]|%st\b|%st\(|xsave|xrstor|fxsave|fxrstor|cmpxchg16b|\bf(ld|st|stp|add|mul|div|sub|init|nstcw|ldcw)\b' <<<"$listing"; then
	echo "FAIL: the stub uses SSE/AVX/MMX/x87/XSAVE/CMPXCHG16B (listed above)"; exit 1
fi
echo "ok: $kind stub: one page, no relocations, parameter block, $what, no SSE/x87"

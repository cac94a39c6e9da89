#!/bin/bash
# `carapace measure --layout-out` read back by an independent checker (check_layout.py, hashlib
# only): the SNP launch digest and TDX MRTD recomputed from plan.jsonl + pages.bin equal the
# printed measurement, for the firmware-less direct boot of a synthetic bzImage (and of
# $CARAPACE_TEST_BZIMAGE when present), for Debian's OVMF (--firmware, SNP and TDX), and the
# ACPI tables land in acpi/*.dat (iasl -d reads them when installed); --snp-validate stub has no
# ZERO page and its own digest.
# usage: layout_out.sh MEASURE_EXE CHECK_LAYOUT_PY
set -euo pipefail
measure=$1 check=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A bzImage setup header (boot protocol 2.15, XLF_KERNEL_64, init_size 8 MiB, pref 16 MiB) and
# 60 KiB of payload: enough for the layout, nothing executes it.
python3 - "$tmp/bz" <<'PY'
import struct, sys
img = bytearray(5 * 512 + 60 * 1024)
img[0x1f1] = 4
struct.pack_into("<H", img, 0x1fe, 0xaa55)
img[0x200:0x202] = b"\xeb\x6a"
img[0x202:0x206] = b"HdrS"
struct.pack_into("<H", img, 0x206, 0x020f)
img[0x211] = 1
struct.pack_into("<I", img, 0x22c, 0x7fffffff)
img[0x236] = 3
struct.pack_into("<I", img, 0x238, 2047)
struct.pack_into("<Q", img, 0x258, 0x1000000)
struct.pack_into("<I", img, 0x260, 8 << 20)
for i in range(5 * 512, len(img)):
    img[i] = (i * 7) & 0xff
open(sys.argv[1], "wb").write(img)
PY
head -c 100000 /dev/urandom > "$tmp/initrd"
run() { # name platform args...
	local name=$1 plat=$2 direct=; shift 2
	case " $* " in *" --firmware "*) ;; *) direct=--direct ;; esac
	local d="$tmp/$name" out
	out=$("$measure" --platform "$plat" "$@" --layout-out "$d" | tail -1)
	echo "== $name: $out"
	python3 "$check" "$plat" "$d" "$out" $direct
	if [ -n "$direct" ] && command -v iasl >/dev/null; then
		for t in "$d"/acpi/*.dat; do
			[ "$(basename "$t")" = RSDP.dat ] && continue # iasl 20200925 cannot read a binary RSDP
			(cd "$d/acpi" && iasl -d "$(basename "$t")" >/dev/null 2>&1) || { echo "iasl -d $t failed"; exit 1; }
		done
		echo "iasl -d: every table disassembled"
	fi
}
run snp-direct snp --kernel "$tmp/bz" --initrd "$tmp/initrd" --append "console=ttyS0" --vcpus 3 --memory 256M
run tdx-direct tdx --kernel "$tmp/bz" --initrd "$tmp/initrd" --append "console=ttyS0" --vcpus 4 --memory 5G
run snp-direct-cbit snp --kernel "$tmp/bz" --vcpus 1 --memory 128M --cbit 47
# --virtio-devices N: the measured DSDT describes N virtio-mmio devices (iasl reads it back above);
# another digest than without them, and more than 16 is refused.
run snp-direct-devs snp --kernel "$tmp/bz" --append "console=ttyS0" --vcpus 3 --memory 256M --virtio-devices 16
run tdx-direct-devs tdx --kernel "$tmp/bz" --vcpus 2 --memory 256M --virtio-devices 2
[ "$(grep -ao LNRO0005 "$tmp/snp-direct-devs/acpi/DSDT.dat" | wc -l)" = 16 ] ||
	{ echo "FAIL: --virtio-devices 16 did not put 16 LNRO0005 devices in the DSDT"; exit 1; }
if command -v iasl >/dev/null; then
	grep -q '0xFEB01E00' "$tmp/snp-direct-devs/acpi/DSDT.dsl" ||
		{ echo "FAIL: iasl's DSDT lacks the 16th window 0xFEB01E00"; exit 1; }
fi
d0=$("$measure" --platform snp --kernel "$tmp/bz" --vcpus 1 --memory 128M | tail -1)
d2=$("$measure" --platform snp --kernel "$tmp/bz" --vcpus 1 --memory 128M --virtio-devices 2 | tail -1)
[ "$d0" != "$d2" ] || { echo "FAIL: the devices are not in the digest"; exit 1; }
if "$measure" --platform snp --kernel "$tmp/bz" --vcpus 1 --memory 128M --virtio-devices 17 2>"$tmp/err"; then
	echo "FAIL: --virtio-devices 17 accepted"; exit 1
fi
grep -q "0..16" "$tmp/err" || { cat "$tmp/err"; exit 1; }
# --snp-validate stub: the validation stub's page instead of ZERO RAM pages; another digest.
run snp-direct-stub snp --kernel "$tmp/bz" --append "console=ttyS0" --vcpus 2 --memory 6G --snp-validate stub
grep -q '"type": "zero"' "$tmp/snp-direct-stub/plan.jsonl" && { echo "FAIL: --snp-validate stub still has ZERO pages"; exit 1; }
zero=$("$measure" --platform snp --kernel "$tmp/bz" --append "console=ttyS0" --vcpus 2 --memory 6G --snp-validate zero | tail -1)
stub=$("$measure" --platform snp --kernel "$tmp/bz" --append "console=ttyS0" --vcpus 2 --memory 6G --snp-validate stub | tail -1)
[ "$zero" != "$stub" ] || { echo "FAIL: --snp-validate zero and stub give one digest"; exit 1; }
if "$measure" --platform tdx --kernel "$tmp/bz" --vcpus 1 --memory 128M --snp-validate stub 2>"$tmp/err"; then
	echo "FAIL: --snp-validate accepted for tdx"; exit 1
fi
grep -q "snp only" "$tmp/err" || { cat "$tmp/err"; exit 1; }
if [ -n "${CARAPACE_TEST_BZIMAGE:-}" ] && [ -f "$CARAPACE_TEST_BZIMAGE" ]; then
	run snp-debian-kernel snp --kernel "$CARAPACE_TEST_BZIMAGE" --vcpus 2 --memory 512M --append "console=ttyS0"
else
	echo "note: CARAPACE_TEST_BZIMAGE not set: the real-kernel case is not run"
fi
if [ -f /usr/share/ovmf/OVMF.fd ]; then
	run tdx-ovmf tdx --firmware /usr/share/ovmf/OVMF.fd
	run snp-ovmf snp --firmware /usr/share/ovmf/OVMF.fd --vcpus 2 --vcpu-type EPYC-v4
else
	echo "note: /usr/share/ovmf/OVMF.fd absent: the --firmware cases are not run"
fi
# Bad input gets a clear message.
python3 - "$tmp/bz" "$tmp/old" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[0x206] = 0x0b
open(sys.argv[2], "wb").write(b)
PY
if "$measure" --platform snp --kernel "$tmp/old" --vcpus 1 --memory 256M 2>"$tmp/err"; then
	echo "an old kernel was accepted"; exit 1
fi
grep -q "too old for the 64-bit entry" "$tmp/err" || { cat "$tmp/err"; exit 1; }
if "$measure" --platform snp --kernel "$tmp/bz" --vcpus 5000 --memory 256M 2>"$tmp/err"; then
	echo "5000 vCPUs were accepted"; exit 1
fi
grep -q "vcpus" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo PASS

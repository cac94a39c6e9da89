#!/bin/bash
# The stub page's bytes are in the launch measurement (TDX: MRTD; SNP --snp-validate stub: the
# launch digest), and they come from the assembler: a different gcc/binutils may encode the same
# source differently, and every predicted MRTD/digest and reference value then changes. This test
# pins the SHA-256 of each page as built with the toolchain named in stub/stub-pins.txt.
# usage: check-pin.sh tdx|snp STUB_BIN PINS_FILE
set -eu
kind=$1 bin=$2 pins=$3
line=$(grep -E "^$kind " "$pins") || { echo "FAIL: no pin for the $kind stub in $pins"; exit 1; }
read -r _ want toolchain <<<"$line"
got=$(sha256sum "$bin" | cut -d' ' -f1)
here="gcc $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion), binutils $(as --version | head -1 | awk '{print $NF}')"
if [ "$got" != "$want" ]; then
	cat <<MSG
FAIL: the $kind stub page built here differs from the pinned one.
  built:  sha256 $got ($here)
  pinned: sha256 $want ($toolchain)
Its bytes are measured, so every MRTD / launch digest carapace predicts for this stub changes, and
reference values made with the pinned build no longer match guests launched with this one.
If the source changed on purpose, or this toolchain is the new reference, update the line in
stub/stub-pins.txt (and the reference values you publish); otherwise build with the pinned toolchain.
MSG
	exit 1
fi
echo "ok: $kind stub sha256 $got as pinned ($toolchain; built with $here)"

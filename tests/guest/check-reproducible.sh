#!/bin/bash
# Proves the guest image is deterministic: rebuilds it from the same sources and flags in another
# directory and compares byte for byte; also checks no build-id note or .comment leaked in.
# Usage: check-reproducible.sh BUILT_ELF CC [FLAGS... SOURCES...]
set -u
built=$1 cc=$2
shift 2
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
# A different working directory and output name: neither may reach the image.
(cd "$work" && "$cc" "$@" -o again.elf) || { echo "FAIL: rebuilding the guest failed"; exit 1; }
if ! cmp "$built" "$work/again.elf"; then
	echo "FAIL: rebuilding $built from the same sources gives a different image"
	exit 1
fi
if readelf -S "$built" | grep -E '\.note\.gnu\.build-id|\.comment'; then
	echo "FAIL: $built carries a build id or a .comment section"
	exit 1
fi
echo "ok: $(wc -c <"$built")-byte image rebuilt byte-identical, no build id"

#!/usr/bin/env bash
# The README's first command ends here: boot the built-in demo guest with jailed virtio devices,
# then attest what was launched and verify the evidence. Each step says what it proves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
C=./build/runner/carapace
work=$(mktemp -d /tmp/carapace-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. What this host offers"
"$C" host-info || true

step "2. Boot the built-in demo guest"
echo "   The guest is a few KiB of freestanding C embedded in carapace. Its devices are separate,"
echo "   jailed processes (namespaces, no capabilities, a seccomp allowlist each): carapace-blk"
echo "   serves a read-only disk image, carapace-rng serves entropy. The VM process itself runs"
echo "   each thread under its own seccomp filter, without capabilities."
printf 'This disk image was written by scripts/demo.sh at %s\n' "$(date -u +%FT%TZ)" >"$work/disk.img"
truncate -s 1M "$work/disk.img"
"$C" run --name demo --device "blk,path=$work/disk.img,readonly=on" --device rng "$@"

#!/bin/bash
# The kernel Authenticode digest carapace predicts for TDX RTMR1 vs osslsigncode's own
# computation (an independent implementation): sign a PE with a throwaway key using SHA-384
# and compare with the digest osslsigncode embeds (its verify exits non-zero on the
# self-signed certificate; only the digest lines matter). Skips (77) without osslsigncode/openssl.
set -euo pipefail
mkpe=$1 measure=$2
for t in osslsigncode openssl; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
ovmf=${CARAPACE_OVMF:-/usr/share/ovmf/OVMF.fd}
[ -r "$ovmf" ] || { echo "SKIP: $ovmf missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mkpe" "$tmp/k.efi"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=test -days 1 2>/dev/null
osslsigncode sign -certs "$tmp/cert.pem" -key "$tmp/key.pem" -h sha384 -in "$tmp/k.efi" -out "$tmp/ks.efi" >/dev/null
theirs=$( (osslsigncode verify -in "$tmp/ks.efi" 2>&1 || true) | awk -F': ' '/Current message digest/ {print tolower($2)}' | tr -d ' ')
[ -n "$theirs" ] || { echo "osslsigncode printed no digest"; exit 1; }
for f in k.efi ks.efi; do
	ours=$("$measure" --platform tdx --firmware "$ovmf" --kernel "$tmp/$f" --json | head -1 |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["direct_boot"]["events"][0]["digest"])')
	echo "$f: carapace $ours osslsigncode $theirs"
	[ "$ours" = "$theirs" ] || { echo "MISMATCH"; exit 1; }
done

#!/bin/bash
# The kernel Authenticode digest carapace uses for TDX RTMR1 vs osslsigncode's own computation
# (an independent implementation): sign a PE with a throwaway key using SHA-384 and compare
# with the digest osslsigncode embeds, for the unsigned and the signed file (whose certificate
# table must be excluded). Skips (77) without osslsigncode or openssl.
# usage: authenticode.sh PE_TOOL
set -euo pipefail
tool=$1
for t in osslsigncode openssl; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tool" write "$tmp/k.efi"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=test -days 1 2>/dev/null
osslsigncode sign -certs "$tmp/cert.pem" -key "$tmp/key.pem" -h sha384 -in "$tmp/k.efi" -out "$tmp/ks.efi" >/dev/null
# osslsigncode's verify exits non-zero on the self-signed certificate; only the digest matters.
theirs=$( (osslsigncode verify -in "$tmp/ks.efi" 2>&1 || true) | awk -F': ' '/Current message digest/ {print tolower($2)}' | tr -d ' ')
[ -n "$theirs" ] || { echo "osslsigncode printed no digest"; exit 1; }
for f in k.efi ks.efi; do
	ours=$("$tool" digest "$tmp/$f")
	echo "$f: carapace $ours osslsigncode $theirs"
	[ "$ours" = "$theirs" ] || { echo "MISMATCH"; exit 1; }
done

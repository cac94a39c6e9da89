#!/usr/bin/env bash
# The binding digest a confidential launch with --attest puts into SNP HOST_DATA / TDX MRCONFIGID
# equals what `carapace attest binding` (and so the verifier) computes for the same AK and policy.
# usage: binding.sh CARAPACE BINDING_PROBE POLICY_FILE
set -u
C=$1 P=$2 POL=$3
command -v swtpm >/dev/null || { echo "SKIP: swtpm is not installed"; exit 77; }
t=$(mktemp -d /tmp/carapace-bind.XXXXXX)
trap 'kill $(cat "$t/pid" 2>/dev/null) 2>/dev/null; rm -rf "$t"' EXIT
mkdir "$t/tpm"
swtpm socket --tpmstate dir="$t/tpm" --tpm2 --server type=unixio,path="$t/s" --ctrl type=unixio,path="$t/s.ctrl" \
	--flags not-need-init,startup-clear --daemon --pid file="$t/pid"
export CARAPACE_TCTI="swtpm:path=$t/s"
fails=0
a=$("$P" "$POL") || exit 1
b=$("$C" attest binding --policy-digest "$(sha256sum "$POL" | cut -c1-64)" | tail -1 | grep -o '[0-9a-f]\{64\}')
[ -n "$a" ] && [ "$a" = "$b" ] && echo "ok   with a policy: $a" || { echo "FAIL with a policy: runner $a, attest $b"; fails=$((fails+1)); }
a=$("$P") || exit 1
b=$("$C" attest binding --policy-digest "$(printf '%064d' 0)" | tail -1 | grep -o '[0-9a-f]\{64\}')
[ -n "$a" ] && [ "$a" = "$b" ] && echo "ok   without a policy: $a" || { echo "FAIL without a policy: runner $a, attest $b"; fails=$((fails+1)); }
echo "$((2 - fails)) passed, $fails failed"
[ $fails = 0 ]

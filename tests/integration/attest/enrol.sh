#!/bin/bash
# Integration (issue 14, keys anchored in the TPM's endorsement): two swtpms manufactured by
# swtpm_setup --create-ek-cert with a private swtpm-localca; the host exports its EK certificate
# and AK, the relying party checks the chain and makes a credential, the host's TPM activates it.
# Interop both ways with tpm2_makecredential / tpm2_activatecredential. A wrong CA, a wrong EK, a
# credential for another AK and a wrong response each fail with their reason; the enrolled AK
# then anchors verify evidence (ak_enrolled), a pin is reported as weaker.
# Usage: enrol.sh CARAPACE. Skips (77) when swtpm, swtpm_setup or tpm2-tools are missing.
set -u
C=$1
for p in swtpm swtpm_setup swtpm_localca tpm2_makecredential tpm2_activatecredential tpm2_createek \
	tpm2_startauthsession tpm2_policysecret tpm2_readpublic openssl xxd; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (Debian swtpm-tools, tpm2-tools)"; exit 77; }
done
T=$(mktemp -d /tmp/carapace-enrol-XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }

# A TPM "manufactured" with an EK certificate from a local CA of its own ($1: a, b).
manufacture() {
	mkdir -p "$T/$1/tpm" "$T/$1/ca" "$T/$1/certs"
	printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' "$T/$1/ca" \
		"$T/$1/ca/signkey.pem" "$T/$1/ca/issuercert.pem" "$T/$1/ca/certserial" >"$T/$1/localca.conf"
	printf 'create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\nactive_pcr_banks = sha256\n' \
		"$(command -v swtpm_localca)" "$T/$1/localca.conf" /etc/swtpm-localca.options >"$T/$1/setup.conf"
	swtpm_setup --tpm2 --tpmstate "$T/$1/tpm" --create-ek-cert --config "$T/$1/setup.conf" \
		--write-ek-cert-files "$T/$1/certs" >"$T/$1/setup.log" 2>&1 || fail "swtpm_setup $1: $(tail -3 "$T/$1/setup.log")"
	cat "$T/$1/ca/issuercert.pem" "$T/$1/ca/swtpm-localca-rootca-cert.pem" >"$T/$1/ca.pem"
	swtpm socket --tpmstate dir="$T/$1/tpm" --tpm2 --server type=unixio,path="$T/$1/tpm.sock" \
		--ctrl type=unixio,path="$T/$1/tpm.sock.ctrl" --flags not-need-init,startup-clear >"$T/$1/swtpm.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -S "$T/$1/tpm.sock" ] && break; sleep 0.05; done
	[ -S "$T/$1/tpm.sock" ] || fail "swtpm $1 did not start"
}
on() { export CARAPACE_TCTI="swtpm:path=$T/$1/tpm.sock" TPM2TOOLS_TCTI="swtpm:path=$T/$1/tpm.sock" CARAPACE_STATE_DIR="$T/$1/state"; }
export TSS2_LOG=all+NONE

step "two TPMs with EK certificates from swtpm_setup --create-ek-cert and swtpm-localca"
manufacture a
manufacture b
on a; "$C" attest enrol export -o "$T/a/exp" >/dev/null || fail "export a"
on b; "$C" attest enrol export -o "$T/b/exp" >/dev/null || fail "export b"
cmp -s "$T/a/exp/ek.der" <(openssl x509 -in "$T/a/certs/ek-rsa2048.crt" -outform DER 2>/dev/null || cat "$T/a/certs/ek-rsa2048.crt") \
	|| fail "the exported EK certificate is not the one swtpm_setup wrote"

step "enrolment: chain checked, credential made, the TPM activates it, the secret comes back"
"$C" verify enrol challenge --ek-cert "$T/a/exp/ek.der" --ca "$T/a/ca.pem" --ak-public "$T/a/exp/ak.pub" \
	-o "$T/chal" --secret-out "$T/secret" >"$T/o" || fail "challenge: $(cat "$T/o")"
on a; "$C" attest enrol activate --challenge "$T/chal" -o "$T/resp" 2>"$T/e" || fail "activate: $(cat "$T/e")"
"$C" verify enrol finish --ak-public "$T/a/exp/ak.pub" --secret "$T/secret" --response "$T/resp" >"$T/o" || fail "finish"
NAME=$(grep -o 'name:000b[0-9a-f]*' "$T/o" | head -1)
tpm2_readpublic -c 0x81018001 -n "$T/n.bin" >/dev/null || fail readpublic
[ "$NAME" = "name:$(xxd -p -c 256 "$T/n.bin")" ] || fail "enrolled name $NAME is not the AK's"

step "interop: tpm2_activatecredential answers carapace's challenge"
tpm2_createek -c "$T/ek.ctx" -G rsa -u "$T/ek.pub" >/dev/null || fail createek
tpm2_startauthsession --policy-session -S "$T/s.ctx" && tpm2_policysecret -S "$T/s.ctx" -c e >/dev/null || fail policysecret
tpm2_activatecredential -c 0x81018001 -C "$T/ek.ctx" -i "$T/chal" -o "$T/act" -P "session:$T/s.ctx" >/dev/null \
	|| fail "tpm2_activatecredential refused carapace's credential"
tpm2_flushcontext "$T/s.ctx"; tpm2_flushcontext -t
cmp -s "$T/act" "$T/secret" || fail "tpm2_activatecredential recovered another secret"

step "interop: carapace activates tpm2_makecredential's credential"
head -c 32 /dev/urandom >"$T/s2"
tpm2_makecredential -T none -u "$T/ek.pub" -s "$T/s2" -n "${NAME#name:}" -o "$T/mk" >/dev/null 2>&1 || fail makecredential
"$C" attest enrol activate --challenge "$T/mk" -o "$T/r2" 2>/dev/null || fail "carapace refused tpm2_makecredential's credential"
cmp -s "$T/r2" "$T/s2" || fail "carapace recovered another secret"

step "wrong CA, wrong EK, a credential for another AK, a wrong response: each fails with its reason"
out=$("$C" verify enrol challenge --ek-cert "$T/a/exp/ek.der" --ca "$T/b/ca.pem" --ak-public "$T/a/exp/ak.pub" \
	-o "$T/x" --secret-out "$T/xs" 2>&1) && fail "an EK certificate from another CA was accepted"
grep -q "does not chain to the trusted CA" <<<"$out" || fail "wrong CA: unclear: $out"
"$C" verify enrol challenge --ek-cert "$T/b/exp/ek.der" --ca "$T/b/ca.pem" --ak-public "$T/a/exp/ak.pub" \
	-o "$T/chal-b" --secret-out "$T/sb" >/dev/null || fail "challenge for b's EK"
on a; out=$("$C" attest enrol activate --challenge "$T/chal-b" -o "$T/rb" 2>&1) && fail "TPM a activated a credential for TPM b's EK"
grep -q "not made for this TPM's EK" <<<"$out" || fail "wrong EK: unclear: $out"
"$C" verify enrol challenge --ek-cert "$T/a/exp/ek.der" --ca "$T/a/ca.pem" --ak-public "$T/b/exp/ak.pub" \
	-o "$T/chal-ak" --secret-out "$T/sak" >/dev/null || fail "challenge for b's AK"
on a; out=$("$C" attest enrol activate --challenge "$T/chal-ak" -o "$T/rak" 2>&1) && fail "a credential for another AK was activated"
grep -q "not bound to this AK's name" <<<"$out" || fail "another AK: unclear: $out"
head -c 32 /dev/urandom >"$T/wrong"
out=$("$C" verify enrol finish --ak-public "$T/a/exp/ak.pub" --secret "$T/secret" --response "$T/wrong" 2>&1) && fail "a wrong response enrolled the AK"
grep -q "the AK is NOT enrolled" <<<"$out" || fail "wrong response: unclear: $out"

step "the enrolled AK anchors verify evidence; a pin is accepted but reported weaker"
on a
NONCE=$(openssl rand -hex 16)
"$C" attest launch --vm e1 >/dev/null || fail "launch"
"$C" attest --vm e1 --nonce "$NONCE" -o "$T/ev.json" 2>/dev/null || fail "attest"
printf '{"format":"carapace-evidence-policy","version":1,"ak_enrolled":["%s"]}\n' "${NAME#name:}" >"$T/pol.json"
"$C" verify evidence "$T/ev.json" --nonce "$NONCE" --policy "$T/pol.json" >"$T/o" || fail "verify: $(cat "$T/o")"
grep -q "PASS  ak-trust            AK name matches policy ak_enrolled\[0\]: enrolled by EK credential activation" "$T/o" || fail "$(cat "$T/o")"
"$C" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$NAME" >"$T/o" || fail "verify with pin"
grep -q "weaker than EK enrolment" "$T/o" || fail "pin not reported weaker: $(cat "$T/o")"
on b
"$C" attest launch --vm e1 >/dev/null && "$C" attest --vm e1 --nonce "$NONCE" -o "$T/evb.json" 2>/dev/null || fail "attest b"
"$C" verify evidence "$T/evb.json" --nonce "$NONCE" --policy "$T/pol.json" >"$T/o" && fail "TPM b's evidence passed with TPM a's enrolment"
grep -q "FAIL  ak-trust" "$T/o" || fail "$(cat "$T/o")"
echo "EK enrolment checks passed"

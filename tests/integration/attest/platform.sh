#!/usr/bin/env bash
# verify evidence checks the hardware evidence a bundle carries, with attest/hw's verifiers: a real
# AMD-signed SNP report (vendor vector) with its VCEK/ASK/ARK in an extended-report certificate
# table passes the platform check and fails the binding (it was not launched with this AK); a
# flipped byte in the report fails the platform check.
# usage: platform.sh CARAPACE
set -u
C=$1
V=${CARAPACE_TEST_VECTORS:-}
[ -r "$V/sev-snp/attestation.bin" ] || { echo "SKIP: vendor vectors not found (CARAPACE_TEST_VECTORS=$V)"; exit 77; }
command -v swtpm >/dev/null || { echo "SKIP: swtpm is not installed"; exit 77; }
t=$(mktemp -d /tmp/carapace-plat.XXXXXX)
trap 'kill $(cat "$t/swtpm.pid" 2>/dev/null) 2>/dev/null; rm -rf "$t"' EXIT
mkdir -p "$t/tpm"
swtpm socket --tpmstate dir="$t/tpm" --tpm2 --server type=unixio,path="$t/tpm.sock" --ctrl type=unixio,path="$t/tpm.sock.ctrl" \
	--flags not-need-init,startup-clear --daemon --pid file="$t/swtpm.pid"
export CARAPACE_TCTI="swtpm:path=$t/tpm.sock" CARAPACE_STATE_DIR="$t/state"
"$C" attest ak >"$t/ak.txt" || exit 1
pin=$(tail -1 "$t/ak.txt")
"$C" attest launch --vm p --measurement "$(printf '%096d' 0)" >/dev/null || exit 1
n=$(openssl rand -hex 16)
"$C" attest --vm p --nonce "$n" -o "$t/ev.json" 2>/dev/null || exit 1
# The certificate table: VCEK (DER) and the ASK, ARK of milan.testcer (PEM, in that order).
awk '/BEGIN CERT/{i++} {print > "'"$t"'/c" i ".pem"}' "$V/sev-snp/milan.testcer"
openssl x509 -in "$t/c1.pem" -outform DER -out "$t/ask.der"
openssl x509 -in "$t/c2.pem" -outform DER -out "$t/ark.der"
python3 - "$t" "$V/sev-snp/vcek.testcer" "$V/sev-snp/attestation.bin" <<'PY'
import base64, json, struct, sys, uuid
t, vcek, report = sys.argv[1:]
certs = [("63da758d-e664-4564-adc5-f4b93be8accd", open(vcek, "rb").read()),
         ("4ab7b379-bbac-4fe4-a02f-05aef327c782", open(t + "/ask.der", "rb").read()),
         ("c0b406a4-a803-4952-9743-3fb6014cd0ae", open(t + "/ark.der", "rb").read())]
off = 24 * (len(certs) + 1)
table, blobs = b"", b""
for g, der in certs:
    table += uuid.UUID(g).bytes + struct.pack("<II", off + len(blobs), len(der))
    blobs += der
table += bytes(24) + blobs
rep = open(report, "rb").read()
ev = json.load(open(t + "/ev.json"))
ev["platform"] = {"snp_report": base64.b64encode(rep).decode(), "snp_cert_table": base64.b64encode(table).decode()}
json.dump(ev, open(t + "/good.json", "w"))
bad = bytearray(rep); bad[0x90] ^= 1  # one bit of MEASUREMENT
ev["platform"]["snp_report"] = base64.b64encode(bytes(bad)).decode()
json.dump(ev, open(t + "/bad.json", "w"))
PY
fails=0
V() { "$C" verify evidence "$1" --nonce "$n" --ak-pin "$pin" --at 2024-01-01T00:00:00Z "${@:2}"; }
# Exactly these checks failed (sorted names), with status 1 and a FAIL verdict: a host failure
# also exits 1, but names no failed check.
failed() { # expected-names -> true when $out/$rc say so
	[ "$rc" = 1 ] && grep -q "^verdict: FAIL" <<<"$out" &&
		[ "$(awk '/^FAIL  / { print $2 }' <<<"$out" | sort | tr '\n' ' ')" = "$1 " ]
}
out=$(V "$t/good.json" --allow-debug); rc=$?
if grep -q "^PASS  platform-evidence   SNP report verified" <<<"$out" && failed binding; then
	echo "ok   real SNP report: platform evidence verified, binding to this AK refused"
else echo "FAIL good bundle:"; echo "$out"; fails=$((fails+1)); fi
out=$(V "$t/good.json"); rc=$?
if grep -q "^FAIL  platform-evidence.*'debug'" <<<"$out" && failed "binding platform-evidence"; then echo "ok   the DEBUG report is refused without --allow-debug"
else echo "FAIL debug:"; echo "$out"; fails=$((fails+1)); fi
out=$(V "$t/bad.json" --allow-debug); rc=$?
if grep -q "^FAIL  platform-evidence.*'report-signature'" <<<"$out" && failed "binding platform-evidence"; then echo "ok   a flipped report bit fails the platform check"
else echo "FAIL tampered:"; echo "$out"; fails=$((fails+1)); fi
out=$(V "$t/good.json" --allow-debug --allow-unverified-platform); rc=$?
if grep -q "^PASS  platform-evidence" <<<"$out" && failed binding; then echo "ok   --allow-unverified-platform does not skip a verification that can run"
else echo "FAIL allow:"; echo "$out"; fails=$((fails+1)); fi
echo "$((4 - fails)) passed, $fails failed"
[ $fails = 0 ]

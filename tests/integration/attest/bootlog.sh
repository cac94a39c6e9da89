#!/bin/bash
# Integration (issue 14, the host's boot state): swtpm's PCRs are extended with the events of a
# real firmware boot log (tpm2_pcrextend, digests read by tpm2_eventlog), then carapace attest
# ships that log and quotes PCRs 0..7 with the launch PCR; carapace verify evidence replays it,
# compares the boot PCRs with policy reference values, and fails on a different log, a wrong
# reference value and an extend the log does not hold.
# Usage: bootlog.sh CARAPACE. Skips (77) without swtpm, tpm2-tools, python3 or the test vectors.
set -u
C=$1
LOG=${CARAPACE_TEST_VECTORS:-}/tcg-eventlog/event-arch-linux.bin
OTHER=${CARAPACE_TEST_VECTORS:-}/tcg-eventlog/event-bootorder.bin
for p in swtpm tpm2_eventlog tpm2_pcrextend python3 openssl; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
[ -f "$LOG" ] && [ -f "$OTHER" ] || { echo "SKIP: no boot logs in \$CARAPACE_TEST_VECTORS/tcg-eventlog"; exit 77; }
T=$(mktemp -d /tmp/carapace-bootlog-XXXXXX)
SWTPM_PID=
cleanup() {
	[ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }
mkdir "$T/tpm"
swtpm socket --tpmstate dir="$T/tpm" --tpm2 --server type=unixio,path="$T/tpm.sock" \
	--ctrl type=unixio,path="$T/tpm.sock.ctrl" --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
for _ in $(seq 100); do [ -S "$T/tpm.sock" ] && break; sleep 0.05; done
[ -S "$T/tpm.sock" ] || fail "swtpm did not start"
export CARAPACE_TCTI="swtpm:path=$T/tpm.sock" CARAPACE_STATE_DIR="$T/state"
export TPM2TOOLS_TCTI="$CARAPACE_TCTI" TSS2_LOG=all+NONE
NONCE=$(openssl rand -hex 16)

step "boot swtpm 'through' a real firmware log: extend each event's sha256 digest"
tpm2_eventlog "$LOG" 2>/dev/null | python3 -c '
import re, sys
pcr = typ = None
for line in sys.stdin:
    m = re.match(r"^  PCRIndex: (\d+)", line)
    if m: pcr = m.group(1)
    m = re.match(r"^  EventType: (\S+)", line)
    if m: typ = m.group(1)
    m = re.match(r"^  - AlgorithmId: sha256", line)
    if m: want = True; continue
    m = re.match(r"^    Digest: \"([0-9a-f]{64})\"", line)
    if m and typ != "EV_NO_ACTION" and "want" in dir() and want:
        print(pcr, m.group(1)); want = False
' >"$T/extends"
[ "$(wc -l <"$T/extends")" -gt 10 ] || fail "could not read the log's digests"
while read -r pcr d; do tpm2_pcrextend "$pcr:sha256=$d" || fail "pcrextend"; done <"$T/extends"

step "evidence with the boot log and PCRs 0..7 verifies, and the boot PCRs match reference values"
PIN=$("$C" attest ak | tail -1)
"$C" attest launch --vm b1 >/dev/null || fail "attest launch"
"$C" attest --vm b1 --boot-log "$LOG" --nonce "$NONCE" -o "$T/ev.json" 2>"$T/e" || fail "attest: $(cat "$T/e")"
grep -q "quoted PCR(s) 0 1 2 3 4 5 6 7 13 with" "$T/e" || fail "boot PCRs not quoted: $(cat "$T/e")"
"$C" verify eventlog "$LOG" --json | python3 -c '
import json, sys
p = json.load(sys.stdin)["pcrs"]["sha256"]
ref = {k: v for k, v in p.items() if int(k) < 8}
print(json.dumps({"format": "carapace-evidence-policy", "version": 1, "boot_pcrs": {"sha256": ref}}))' >"$T/pol.json"
"$C" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --policy "$T/pol.json" >"$T/o" || fail "verify: $(cat "$T/o")"
grep -q "PASS  boot-log            crypto-agile boot log, 25 events, replays to the quoted PCRs 0,1,2,3,4,5,6,7" "$T/o" \
	|| fail "boot-log: $(cat "$T/o")"
grep -q "PASS  boot-pcrs           8 quoted boot PCR(s) equal their reference values" "$T/o" || fail "boot-pcrs: $(cat "$T/o")"

step "a wrong reference value, another machine's log, an extend the log does not hold: each fails"
sed 's/"0": "7/"0": "8/' "$T/pol.json" >"$T/bad.json"
"$C" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --policy "$T/bad.json" >"$T/o" && fail "wrong reference accepted"
grep -q "FAIL  boot-pcrs           PCR 0 differs from its reference value" "$T/o" || fail "unclear: $(cat "$T/o")"
"$C" attest --vm b1 --boot-log "$OTHER" --nonce "$NONCE" -o "$T/ev2.json" 2>/dev/null || fail "attest other"
"$C" verify evidence "$T/ev2.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" && fail "another machine's boot log accepted"
grep -q "FAIL  boot-log            replaying the boot log's 104 events does not give the quoted value of PCR 0" "$T/o" \
	|| fail "unclear: $(cat "$T/o")"
tpm2_pcrextend "7:sha256=$(printf 'ab%.0s' $(seq 32))" || fail "pcrextend"
"$C" attest --vm b1 --boot-log "$LOG" --nonce "$NONCE" -o "$T/ev3.json" 2>/dev/null || fail "attest 3"
"$C" verify evidence "$T/ev3.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" && fail "an unlogged extend accepted"
grep -q "FAIL  boot-log.*PCR 7" "$T/o" || fail "unclear: $(cat "$T/o")"
"$C" attest --vm b1 --boot-pcrs none --nonce "$NONCE" -o "$T/ev4.json" 2>"$T/e" || fail "attest --boot-pcrs none"
grep -q "quoted PCR(s) 13 with" "$T/e" || fail "--boot-pcrs none: $(cat "$T/e")"
echo "boot log checks passed"

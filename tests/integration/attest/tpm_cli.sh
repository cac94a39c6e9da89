#!/bin/bash
# Integration: carapace attest / verify evidence through the CLI against swtpm, and interop
# with tpm2-tools both ways (tpm2_checkquote accepts carapace's quote; carapace verifies a
# tpm2_quote). Usage: tpm_cli.sh CARAPACE EVIDENCE-ASSEMBLE
set -u
CARAPACE=$1
ASSEMBLE=$2
for p in swtpm tpm2_checkquote tpm2_quote tpm2_createek tpm2_createak tpm2_nvdefine openssl xxd sha256sum; do
	if ! command -v "$p" >/dev/null; then
		echo "SKIP: $p is not installed (Debian packages swtpm, tpm2-tools, openssl)"
		exit 77
	fi
done

T=$(mktemp -d /tmp/carapace-attest-cli-XXXXXX)
SWTPM_PID=
cleanup() {
	[ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }
# A refused verification is told apart from everything else that exits non-zero: status 1 with a
# FAIL verdict (not 2, a usage error, nor a crash), and the FAIL lines name exactly the checks
# given — a host failure (I/O, no TPM) also exits 1, but with no such lines.
refused() { # "check1 [check2...]" description command...
	local checks=$1 what=$2 rc got
	shift 2
	"$@" >"$T/o" 2>"$T/e"; rc=$?
	[ "$rc" -eq 1 ] || fail "$what: exit status $rc, expected 1 (refused): $(cat "$T/o" "$T/e")"
	grep -q "^verdict: FAIL" "$T/o" || fail "$what: no FAIL verdict: $(cat "$T/o" "$T/e")"
	got=$(awk '/^FAIL  / { print $2 }' "$T/o" | sort | tr '\n' ' ')
	[ "$got" = "$(tr ' ' '\n' <<<"$checks" | sort | tr '\n' ' ')" ] ||
		fail "$what: failed checks '$got', expected exactly '$checks': $(cat "$T/o")"
}

mkdir "$T/tpm"
swtpm socket --tpmstate dir="$T/tpm" --tpm2 --server type=unixio,path="$T/tpm.sock" \
	--ctrl type=unixio,path="$T/tpm.sock.ctrl" --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
for _ in $(seq 100); do [ -S "$T/tpm.sock" ] && break; sleep 0.05; done
[ -S "$T/tpm.sock" ] || fail "swtpm did not start: $(cat "$T/swtpm.log")"
export CARAPACE_TCTI="swtpm:path=$T/tpm.sock" CARAPACE_STATE_DIR="$T/state"
export TPM2TOOLS_TCTI="$CARAPACE_TCTI" TSS2_LOG=all+NONE
NONCE=$(openssl rand -hex 20)
MEAS=$(printf '4d%.0s' $(seq 48))
POLDIG=$(printf '50%.0s' $(seq 32))
echo '{"name":"cli-vm","memory":"64M"}' >"$T/config.json"

step "unreachable TPM gives a clear error"
out=$("$CARAPACE" attest stop --tcti "swtpm:path=$T/none.sock" --vm dead 2>&1); rc=$?
[ $rc -eq 1 ] || fail "attest stop with a dead TCTI: exit status $rc, expected 1 (host failure): $out"
grep -q "no TPM reachable through TCTI" <<<"$out" || fail "unclear error: $out"

step "launch events, AK, evidence"
"$CARAPACE" attest launch --vm cli-vm --measurement "$MEAS" --config "$T/config.json" \
	--policy-digest "$POLDIG" --device "blk=$(printf 'aa%.0s' $(seq 32))" || fail "attest launch"
"$CARAPACE" attest ak -o "$T/ak.pem" >"$T/pin.txt" || fail "attest ak"
PIN=$(cat "$T/pin.txt")
step "the AK pin is its TPM name, as tpm2_readpublic computes it (issue 18 item 7)"
tpm2_readpublic -c 0x81018001 -n "$T/ak.name" >/dev/null || fail "tpm2_readpublic"
[ "$PIN" = "name:$(xxd -p -c 256 "$T/ak.name")" ] || fail "pin $PIN is not tpm2_readpublic's name $(xxd -p -c 256 "$T/ak.name")"
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/ev.json" --export-dir "$T/exp" || fail "attest"
cat >"$T/policy.json" <<JSON
{"format":"carapace-evidence-policy","version":1,
 "launch_measurements":["$MEAS"],"launch_policy_digests":["$POLDIG"]}
JSON

step "verify: pass with pin and policy"
"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --policy "$T/policy.json" || fail "verify"
"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$T/exp/ak.pub" --json >"$T/v.json" || fail "verify --json"
grep -q '"verdict":"pass"' "$T/v.json" || fail "no pass verdict in JSON"
"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --show-log >"$T/o" || fail "verify --show-log"
grep -q "PCR 13  vm-start            cli-vm" "$T/o" || fail "--show-log: no vm-start line: $(cat "$T/o")"
grep -q "device-helper       blk sha256:aaaa" "$T/o" || fail "--show-log: no device-helper line"

step "verify: fail closed"
refused ak-trust "without an AK pin" "$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE"
grep -q "FAIL  ak-trust.*no trust anchor" "$T/o" || fail "no trust-anchor failure line"
refused nonce "replayed nonce" "$CARAPACE" verify evidence "$T/ev.json" --nonce "$(openssl rand -hex 20)" --ak-pin "$PIN"
sed 's/"launch_measurements":\["4d/"launch_measurements":["4e/' "$T/policy.json" >"$T/badpol.json"
refused launch-measurement "wrong measurement in the policy" \
	"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --policy "$T/badpol.json"
"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --measurement "$MEAS" >"$T/o" || fail "--measurement"
grep -q "PASS  launch-measurement" "$T/o" || fail "--measurement not compared"
refused launch-measurement "wrong --measurement" \
	"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$PIN" --measurement "${MEAS%??}00"
sed 's/"value":"[^"]*"/"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="/' "$T/ev.json" >"$T/pcr.json"
# the edited value no longer matches the quote, nor the log's replay, and what is read from the
# rejected log is not checked
refused "pcr-digest event-log vm-lifecycle vm-identity launch-measurement launch-policy" "PCR value edited" "$CARAPACE" verify evidence "$T/pcr.json" --nonce "$NONCE" --ak-pin "$PIN"
"$CARAPACE" verify evidence "$T/ev.json" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing --nonce is not a usage error"
"$CARAPACE" verify evidence "$T/ev.json" --nonce "$NONCE" --ak-pin "$T/ak.pem" >"$T/o" 2>&1; [ $? -eq 2 ] || fail "a PEM pin was accepted"
grep -q "a PEM key cannot be a pin" "$T/o" || fail "PEM pin refusal unclear: $(cat "$T/o")"

step "platform evidence: binding digest, fail closed unless allowed"
B=$("$CARAPACE" attest binding --policy-digest "$POLDIG" | awk '/^snp_host_data/ { print $2 }')
# independent computation of the documented encoding
B2=$({ printf 'carapace.binding.v1\0'; cat "$T/exp/ak.pub"; printf '%s' "$POLDIG" | xxd -r -p; } | sha256sum | cut -c1-64)
[ "$B" = "$B2" ] || fail "binding digest $B differs from the documented encoding $B2"
"$CARAPACE" attest binding --policy-digest "$POLDIG" | grep -q "^tdx_mrconfigid ${B}00000000000000000000000000000000$" || fail "MRCONFIGID form"
VMDIR=$CARAPACE_STATE_DIR/attest/cli-vm
head -c 1184 /dev/zero >"$VMDIR/snp-report.bin"
printf '%s' "$B" | xxd -r -p | dd of="$VMDIR/snp-report.bin" bs=1 seek=$((0xC0)) conv=notrunc status=none
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/ev-snp.json" 2>/dev/null || fail "attest with SNP report"
grep -q '"snp_report"' "$T/ev-snp.json" || fail "SNP report missing from the bundle"
refused platform-evidence "unverified SNP report" "$CARAPACE" verify evidence "$T/ev-snp.json" --nonce "$NONCE" --ak-pin "$PIN"
grep -q "PASS  binding" "$T/o" || fail "binding not checked: $(cat "$T/o")"
"$CARAPACE" verify evidence "$T/ev-snp.json" --nonce "$NONCE" --ak-pin "$PIN" --allow-unverified-platform >"$T/o" \
	|| fail "--allow-unverified-platform did not pass: $(cat "$T/o")"
printf '\x01' | dd of="$VMDIR/snp-report.bin" bs=1 seek=$((0xC0 + 5)) conv=notrunc status=none
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/ev-snp2.json" 2>/dev/null || fail "attest with SNP report"
refused binding "wrong HOST_DATA" \
	"$CARAPACE" verify evidence "$T/ev-snp2.json" --nonce "$NONCE" --ak-pin "$PIN" --allow-unverified-platform
rm "$VMDIR/snp-report.bin"

step "tpm2_checkquote accepts carapace's quote"
tpm2_checkquote -u "$T/exp/ak.pem" -m "$T/exp/quote.bin" -s "$T/exp/sig.bin" -f "$T/exp/pcrs.bin" \
	-g sha256 -q "$NONCE" >"$T/cq.log" 2>&1 || fail "tpm2_checkquote rejected carapace's quote: $(cat "$T/cq.log")"
tpm2_checkquote -u "$T/exp/ak.pem" -m "$T/exp/quote.bin" -s "$T/exp/sig.bin" -f "$T/exp/pcrs.bin" \
	-g sha256 -q "00$NONCE" >/dev/null 2>&1 && fail "tpm2_checkquote accepted a wrong nonce (test is broken)"

step "RSA AK, multi-PCR selection, tpm2_checkquote"
"$CARAPACE" attest --vm cli-vm --ak-alg rsa --pcr 16,23 --nonce "$NONCE" -o "$T/ev-rsa.json" --export-dir "$T/exp-rsa" || fail "attest rsa"
PIN_RSA=$("$CARAPACE" attest ak --ak-alg rsa | tail -1)
"$CARAPACE" verify evidence "$T/ev-rsa.json" --nonce "$NONCE" --ak-pin "$PIN_RSA" || fail "verify rsa"
tpm2_checkquote -u "$T/exp-rsa/ak.pem" -m "$T/exp-rsa/quote.bin" -s "$T/exp-rsa/sig.bin" -f "$T/exp-rsa/pcrs.bin" \
	-g sha256 -q "$NONCE" >/dev/null 2>&1 || fail "tpm2_checkquote rejected carapace's RSA quote"

step "the launch log's PCR: static OS PCRs only, resettable ones only when asked"
"$CARAPACE" attest launch --vm vm16 --pcr 16 --measurement "$MEAS" >"$T/o" 2>&1; [ $? -eq 1 ] || fail "PCR 16 accepted"
grep -q "PCR 16 can be reset after boot" "$T/o" || fail "unclear PCR 16 refusal: $(cat "$T/o")"
"$CARAPACE" attest launch --vm vm0 --pcr 0 --allow-resettable-pcr >"$T/o" 2>&1 && fail "PCR 0 accepted"
"$CARAPACE" attest launch --vm vm16 --pcr 16 --allow-resettable-pcr >"$T/o" 2>&1 && fail "a second PCR for one host log accepted"
grep -q "extends PCR 13, not 16" "$T/o" || fail "unclear one-log refusal: $(cat "$T/o")"

step "three VMs launched concurrently on one TPM: one log, each verifies against its own reference only"
pids=()
for v in 1 2 3; do
	"$CARAPACE" attest launch --vm "cc-$v" --measurement "$(printf "0$v%.0s" $(seq 48))" >"$T/l$v" 2>&1 &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: swtpm is a background job too
for v in 1 2 3; do grep -q "recorded the launch of VM cc-$v" "$T/l$v" || fail "concurrent launch $v: $(cat "$T/l$v")"; done
for v in 1 2 3; do
	"$CARAPACE" attest --vm "cc-$v" --nonce "$NONCE" -o "$T/cc$v.json" 2>/dev/null || fail "attest cc-$v"
	for w in 1 2 3; do
		out=$("$CARAPACE" verify evidence "$T/cc$v.json" --nonce "$NONCE" --ak-pin "$PIN" --measurement "$(printf "0$w%.0s" $(seq 48))")
		rc=$?
		if [ "$v" = "$w" ]; then [ $rc -eq 0 ] || fail "cc-$v against its own measurement: $out"
		else [ $rc -eq 1 ] && grep -q "FAIL  launch-measurement" <<<"$out" || fail "cc-$v passed against cc-$w's measurement"; fi
	done
	grep -q '"name"' "$T/cc$v.json" || fail "no VM name in the bundle"
done
LOG=$CARAPACE_STATE_DIR/attest/.host/launch-log.bin
for v in 1 2 3; do grep -q "cc-$v" "$LOG" && fail "a VM name is in the host launch log in clear"; done

step "a stopped and relaunched VM"
"$CARAPACE" attest stop --vm cc-2 >/dev/null || fail "attest stop"
"$CARAPACE" attest --vm cc-2 --nonce "$NONCE" -o "$T/cc2s.json" 2>/dev/null || fail "attest stopped cc-2"
"$CARAPACE" verify evidence "$T/cc2s.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" || fail "verify stopped cc-2: $(cat "$T/o")"
grep -q "PASS  vm-lifecycle        STOPPED" "$T/o" || fail "the stop is not reported: $(cat "$T/o")"
"$CARAPACE" attest launch --vm cc-2 --measurement "$(printf '02%.0s' $(seq 48))" >/dev/null || fail "relaunch"
"$CARAPACE" attest --vm cc-2 --nonce "$NONCE" -o "$T/cc2r.json" 2>/dev/null || fail "attest relaunched cc-2"
"$CARAPACE" verify evidence "$T/cc2r.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" || fail "verify relaunched cc-2"
grep -q "PASS  vm-lifecycle        running" "$T/o" || fail "the relaunch is not running: $(cat "$T/o")"

step "a forged host log entry fails"
python3 - "$T/cc2r.json" "$T/forged.json" <<'PY'
import base64, json, sys
ev = json.load(open(sys.argv[1]))
log = bytearray(base64.b64decode(ev["launch_log"]))
log[48 + 4] ^= 1  # the first entry's digest: another tenant's launch
ev["launch_log"] = base64.b64encode(bytes(log)).decode()
json.dump(ev, open(sys.argv[2], "w"))
PY
"$CARAPACE" verify evidence "$T/forged.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" && fail "forged entry accepted"
grep -q "FAIL  event-log.*does not give the quoted value" "$T/o" || fail "forged entry: unclear: $(cat "$T/o")"

step "a crash between the log append and the PCR extend is repaired by the next user"
CARAPACE_TEST_HOSTLOG_CRASH=after-append "$CARAPACE" attest launch --vm crash1 >/dev/null 2>&1; rc=$?
[ $rc -eq 99 ] || fail "the crash hook did not fire (exit $rc; built without -Dtest_hooks?)"
"$CARAPACE" attest --vm crash1 --nonce "$NONCE" -o "$T/crash.json" 2>"$T/e" || fail "attest after the crash: $(cat "$T/e")"
grep -q "repaired the host launch log" "$T/e" || fail "no repair reported: $(cat "$T/e")"
"$CARAPACE" verify evidence "$T/crash.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" || fail "verify after the repair: $(cat "$T/o")"

step "usage errors"
for args in "--nonce zz" "--nonce $NONCE --ak-pin sha256:00" "--nonce $NONCE --ak-pin $T/nonexistent.pem" \
	"--nonce $NONCE --policy $T/config.json" "--nonce $NONCE --bogus"; do
	"$CARAPACE" verify evidence "$T/ev.json" $args >/dev/null 2>&1
	[ $? -eq 2 ] || fail "verify evidence $args: not a usage error"
done
"$CARAPACE" attest --nonce "$NONCE" >/dev/null 2>&1; [ $? -eq 2 ] || fail "attest without -o: not a usage error"
"$CARAPACE" attest --nonce "$NONCE" --pcr 24 -o "$T/x" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--pcr 24 accepted"
"$CARAPACE" attest --vm "../x" --nonce "$NONCE" -o "$T/x" >/dev/null 2>&1 && fail "VM name ../x accepted"
"$CARAPACE" attest --vm nosuchvm --nonce "$NONCE" -o "$T/x" 2>&1 | grep -q "no event log for VM nosuchvm" || fail "missing VM not reported"
"$CARAPACE" attest launch --vm .host >/dev/null 2>&1 && fail "a VM named like the host log's directory was accepted"

step "EK certificate from NV is included"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ek.key" -subj "/CN=test EK" \
	-days 2 -outform DER -out "$T/ek.der" 2>/dev/null || fail "openssl req"
tpm2_nvdefine 0x01c0000a -C o -s "$(stat -c %s "$T/ek.der")" -a "ownerread|ownerwrite|authread|authwrite" >/dev/null || fail nvdefine
tpm2_nvwrite 0x01c0000a -C o -i "$T/ek.der" || fail nvwrite
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/ev-ek.json" 2>/dev/null || fail "attest with EK cert"
grep -q '"ek_certificate"' "$T/ev-ek.json" || fail "EK certificate missing from the bundle"
"$CARAPACE" verify evidence "$T/ev-ek.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" || fail "verify with EK cert"
grep -q "EK certificate present" "$T/o" || fail "EK certificate not reported"

for alg in "ecc ecdsa" "rsa rsapss" "rsa rsassa"; do
	set -- $alg
	step "carapace verifies a tpm2_quote ($1/$2 AK from tpm2_createak)"
	d="$T/tools-$2"
	mkdir "$d"
	tpm2_createek -c "$d/ek.ctx" -G "$1" -u "$d/ek.pub" >/dev/null || fail createek
	tpm2_createak -C "$d/ek.ctx" -c "$d/ak.ctx" -G "$1" -g sha256 -s "$2" -u "$d/ak.pub" -f pem >/dev/null || fail createak
	tpm2_flushcontext -t; tpm2_flushcontext -s
	tpm2_readpublic -c "$d/ak.ctx" -f tss -o "$d/ak.tss" >/dev/null || fail readpublic
	tpm2_flushcontext -t
	tpm2_quote -c "$d/ak.ctx" -l sha256:13 -q "$NONCE" -m "$d/quote.bin" -s "$d/sig.bin" -o "$d/pcrs.val" \
		-F values -g sha256 --scheme "$2" >/dev/null || fail "tpm2_quote"
	tpm2_flushcontext -t
	"$ASSEMBLE" "$d/quote.bin" "$d/sig.bin" "$d/ak.tss" "$d/ak.pub" "$CARAPACE_STATE_DIR/attest/cli-vm/eventlog.bin" \
		"$CARAPACE_STATE_DIR/attest/.host/launch-log.bin" "$d/pcrs.val" 13 "$d/ev.json" || fail "assemble"
	"$CARAPACE" verify evidence "$d/ev.json" --nonce "$NONCE" --ak-pin "$d/ak.tss" --policy "$T/policy.json" \
		|| fail "carapace rejected tpm2_quote's $2 quote"
	refused nonce "tpm2_quote's $2 quote, wrong nonce" "$CARAPACE" verify evidence "$d/ev.json" --nonce "${NONCE%??}00" --ak-pin "$d/ak.tss"
done
step "a host reboot (TPM reset): a new launch log starts, the old one is kept, old evidence fails"
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/before.json" 2>/dev/null || fail "attest before the reset"
kill "$SWTPM_PID"; wait "$SWTPM_PID" 2>/dev/null
swtpm socket --tpmstate dir="$T/tpm" --tpm2 --server type=unixio,path="$T/tpm.sock" \
	--ctrl type=unixio,path="$T/tpm.sock.ctrl" --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
for _ in $(seq 100); do [ -S "$T/tpm.sock" ] && break; sleep 0.05; done
"$CARAPACE" attest --vm cli-vm --nonce "$NONCE" -o "$T/stale.json" 2>"$T/e" && fail "attest found a launch log of the previous boot"
grep -q "no host launch log for this TPM boot" "$T/e" || fail "unclear: $(cat "$T/e")"
ls "$CARAPACE_STATE_DIR"/attest/.host/launch-log.*.bin >/dev/null 2>&1 || fail "the previous boot's log was not kept"
"$CARAPACE" attest launch --vm reboot1 >/dev/null || fail "launch after the reset"
"$CARAPACE" attest --vm reboot1 --nonce "$NONCE" -o "$T/after.json" 2>/dev/null || fail "attest after the reset"
"$CARAPACE" verify evidence "$T/after.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" || fail "verify after the reset: $(cat "$T/o")"
grep -q "1 entries replay to PCR 13" "$T/o" || fail "the new log is not fresh: $(cat "$T/o")"
python3 - "$T/before.json" "$T/after.json" "$T/mixed.json" <<'PY'
import json, sys
old, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
new["launch_log"], new["event_log"] = old["launch_log"], old["event_log"]
json.dump(new, open(sys.argv[3], "w"))
PY
"$CARAPACE" verify evidence "$T/mixed.json" --nonce "$NONCE" --ak-pin "$PIN" >"$T/o" && fail "a previous boot's log passed"
grep -q "FAIL  event-log.*belongs to TPM boot" "$T/o" || fail "unclear: $(cat "$T/o")"
echo "all CLI and interop checks passed"

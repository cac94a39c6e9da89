#!/usr/bin/env bash
# The README's first command ends here: boot the built-in demo guest with jailed virtio devices,
# then attest what was launched and verify the evidence. Each step says what it proves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
C=${CARAPACE_BIN:-./build/runner/carapace}
GUEST=${CARAPACE_GUEST:-build/tests/guest/carapace-test-guest.elf}
work=$(mktemp -d /tmp/carapace-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. What this host offers"
"$C" host-info || true

step "2. Boot the built-in demo guest"
echo "   The guest is a few KiB of freestanding C embedded in carapace. Its devices are separate,"
echo "   jailed processes (namespaces, no capabilities, a seccomp allowlist each): carapace-blk"
echo "   serves a read-only disk image, carapace-rng serves entropy, carapace-console takes the"
echo "   guest's virtio console. The VM process itself runs"
echo "   each thread under its own seccomp filter, without capabilities."
printf 'This disk image was written by scripts/demo.sh at %s\n' "$(date -u +%FT%TZ)" >"$work/disk.img"
truncate -s 1M "$work/disk.img"

# A TPM to attest with: the host's when CARAPACE_TCTI says so, otherwise a software TPM (swtpm)
# "manufactured" like a real one: an endorsement key certified by a CA (swtpm_setup
# --create-ek-cert with a local CA of its own, swtpm-localca).
if [ -z "${CARAPACE_TCTI:-}" ]; then
	mkdir -p "$work/tpm" "$work/ca" "$work/ekcerts"
	printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' "$work/ca" \
		"$work/ca/signkey.pem" "$work/ca/issuercert.pem" "$work/ca/certserial" >"$work/localca.conf"
	printf 'create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\nactive_pcr_banks = sha256\n' \
		"$(command -v swtpm_localca)" "$work/localca.conf" /etc/swtpm-localca.options >"$work/swtpm_setup.conf"
	swtpm_setup --tpm2 --tpmstate "$work/tpm" --create-ek-cert --config "$work/swtpm_setup.conf" \
		--write-ek-cert-files "$work/ekcerts" >"$work/swtpm_setup.log" 2>&1
	cat "$work/ca/issuercert.pem" "$work/ca/swtpm-localca-rootca-cert.pem" >"$work/tpm-ca.pem"
	swtpm socket --tpmstate dir="$work/tpm" --tpm2 --server type=unixio,path="$work/tpm.sock" \
		--ctrl type=unixio,path="$work/tpm.sock.ctrl" --flags not-need-init,startup-clear --daemon \
		--pid file="$work/swtpm.pid"
	trap 'kill "$(cat "$work/swtpm.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT
	export CARAPACE_TCTI="swtpm:path=$work/tpm.sock"
	echo "   (no CARAPACE_TCTI given: using a software TPM, swtpm, with an EK certificate from a local CA)"
fi
export CARAPACE_STATE_DIR="$work/state"

step "3. Enrol the TPM's attestation key by its endorsement key (once per host)"
echo "   The host presents its EK certificate (from the TPM's NV) and its AK; the relying party checks"
echo "   the certificate against the TPM vendor's CA it trusts, seals a secret to (EK, AK name), and"
echo "   accepts the AK only if the TPM gives the secret back (TPM2_ActivateCredential)."
"$C" attest enrol export -o "$work/enrol"
CA=${CARAPACE_TPM_CA:-$work/tpm-ca.pem}
"$C" verify enrol challenge --ek-cert "$work/enrol/ek.der" --ca "$CA" --ak-public "$work/enrol/ak.pub" \
	-o "$work/challenge" --secret-out "$work/secret"
"$C" attest enrol activate --challenge "$work/challenge" -o "$work/response"
"$C" verify enrol finish --ak-public "$work/enrol/ak.pub" --secret "$work/secret" --response "$work/response" \
	| tee "$work/enrolled.txt"
ak_name=$(grep -o 'name:000b[0-9a-f]*' "$work/enrolled.txt" | head -1)

"$C" run --name demo --attest --device "blk,path=$work/disk.img,readonly=on" --device rng \
	--device "console,path=$work/virtio-console.txt" "$@" 2>&1 | tee "$work/run.log"
echo "   carapace-console wrote the guest's virtio-console output to a file; it says:"
sed 's/^/   | /' "$work/virtio-console.txt"

step "4. The relying party computes the launch measurement it expects, without trusting the host"
echo "   SHA-384 over 'carapace.plain-launch.v1\\0', SHA-384(kernel), SHA-384(initrd), SHA-384(cmdline)"
cmdline="demo virtio_mmio.device=512@0xfeb00000:5 virtio_mmio.device=512@0xfeb00200:6 virtio_mmio.device=512@0xfeb00400:7"
expected=$( { printf 'carapace.plain-launch.v1\0'
	openssl dgst -sha384 -binary "$GUEST"
	printf '' | openssl dgst -sha384 -binary
	printf '%s' "$cmdline" | openssl dgst -sha384 -binary; } | openssl dgst -sha384 -r | cut -d' ' -f1)
echo "   expected: $expected"
if grep -q "launch measurement $expected" "$work/run.log"; then echo "   the host recorded the same value"
else echo "   the host recorded a different value: verification below must fail"; fi

step "5. Quote: the TPM signs the launch PCR with the relying party's fresh nonce"
nonce=$(openssl rand -hex 16)
"$C" attest --vm demo --nonce "$nonce" -o "$work/evidence.json"

step "6. Verify the evidence offline (OpenSSL only: no KVM, no TPM)"
printf '{"format":"carapace-evidence-policy","version":1,"ak_enrolled":["%s"]}\n' "${ak_name#name:}" >"$work/policy.json"
"$C" verify evidence "$work/evidence.json" --nonce "$nonce" --policy "$work/policy.json" --measurement "$expected"

step "7. The same evidence with a stale nonce is refused"
if "$C" verify evidence "$work/evidence.json" --nonce "$(openssl rand -hex 16)" --policy "$work/policy.json" \
	--measurement "$expected" | tail -1; then
	echo "demo: a replayed nonce was accepted: this is a bug" >&2; exit 1
fi
echo
echo "Done: the demo guest ran with jailed devices, its launch was recorded in the TPM, and a verifier"
echo "that trusts only the TPM vendor's CA (through EK enrolment) and its own reference value checked the evidence."

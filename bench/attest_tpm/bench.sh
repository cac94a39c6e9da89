#!/bin/bash
# Benchmark attest/tpm against tpm2-tools in the same run, on the same swtpm, key and quote:
#  1. verification: carapace verify evidence vs tpm2_checkquote (whole process each), plus
#     carapace's in-process time per bundle;
#  2. production: carapace attest (AK check, PCR reads, quote, bundle) vs tpm2_quote with the
#     same persistent AK.
# Usage: bench.sh CARAPACE BENCH-VERIFY [RUNS]
set -eu
CARAPACE=$1
BENCH_VERIFY=$2
RUNS=${3:-200}
for p in swtpm tpm2_checkquote tpm2_quote hyperfine openssl; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
T=$(mktemp -d /tmp/carapace-bench-attest-XXXXXX)
SWTPM_PID=
cleanup() {
	[ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkdir "$T/tpm"
swtpm socket --tpmstate dir="$T/tpm" --tpm2 --server type=unixio,path="$T/tpm.sock" \
	--ctrl type=unixio,path="$T/tpm.sock.ctrl" --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
for _ in $(seq 100); do [ -S "$T/tpm.sock" ] && break; sleep 0.05; done
export CARAPACE_TCTI="swtpm:path=$T/tpm.sock" CARAPACE_STATE_DIR="$T/state"
export TPM2TOOLS_TCTI="$CARAPACE_TCTI" TSS2_LOG=all+NONE
NONCE=$(openssl rand -hex 20)
"$CARAPACE" attest launch --vm bench --measurement "$(printf '4d%.0s' $(seq 48))" \
	--policy-digest "$(printf '50%.0s' $(seq 32))" >/dev/null
PIN=$("$CARAPACE" attest ak | tail -1)
"$CARAPACE" attest --vm bench --nonce "$NONCE" -o "$T/ev.json" --export-dir "$T/exp" 2>/dev/null
E=$T/exp

# Medians (robust on a shared, loaded machine) and their ratio, from hyperfine's JSON.
medians() {
	grep -o '"median": *[0-9.e-]*' "$1" | awk -F: '{ m[NR] = $2 * 1000 }
		END { printf "median: %.2f ms vs %.2f ms, ratio %.2f\n", m[1], m[2], m[2] / m[1] }'
}

echo "### verification (same quote, same run)"
hyperfine -N --warmup 20 --runs "$RUNS" --export-markdown "$T/verify.md" --export-json "$T/verify.json" \
	-n "carapace verify evidence" "$CARAPACE verify evidence $T/ev.json --nonce $NONCE --ak-pin $PIN" \
	-n "tpm2_checkquote" "tpm2_checkquote -u $E/ak.pem -m $E/quote.bin -s $E/sig.bin -f $E/pcrs.bin -g sha256 -q $NONCE"
cat "$T/verify.md"
medians "$T/verify.json"
"$BENCH_VERIFY" "$T/ev.json" "$NONCE" "${PIN#name:000b}" 2000

echo "### production with swtpm (same AK, same PCR)"
hyperfine -N --warmup 5 --runs $((RUNS / 4)) --export-markdown "$T/produce.md" --export-json "$T/produce.json" \
	-n "carapace attest" "$CARAPACE attest --vm bench --nonce $NONCE -o $T/ev2.json" \
	-n "tpm2_quote" "tpm2_quote -c 0x81018001 -l sha256:13 -q $NONCE -m $T/q.bin -s $T/s.bin -o $T/p.bin -g sha256"
cat "$T/produce.md"
medians "$T/produce.json"

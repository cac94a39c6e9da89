#!/bin/bash
# Benchmark (issue 14): carapace verify evidence on the same VM's evidence when the host launch
# log holds 1 entry (its own launch) and 1,000 entries (999 other tenants launched after it),
# same swtpm, AK and nonce. Whole process (hyperfine) and in process (bench-verify).
# Usage: bench_hostlog.sh CARAPACE BENCH-VERIFY BENCH-FILL [RUNS]
set -eu
CARAPACE=$1
BENCH_VERIFY=$2
FILL=$3
RUNS=${4:-100}
for p in swtpm hyperfine openssl; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
T=$(mktemp -d /tmp/carapace-bench-hostlog-XXXXXX)
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
export CARAPACE_TCTI="swtpm:path=$T/tpm.sock" CARAPACE_STATE_DIR="$T/state" TSS2_LOG=all+NONE
NONCE=$(openssl rand -hex 20)
"$CARAPACE" attest launch --vm bench --measurement "$(printf '4d%.0s' $(seq 48))" >/dev/null
PIN=$("$CARAPACE" attest ak | tail -1)
"$CARAPACE" attest --vm bench --nonce "$NONCE" -o "$T/ev1.json" 2>/dev/null
start=$(date +%s.%N)
"$FILL" "$T/state" 999
end=$(date +%s.%N)
echo "999 launches recorded through the API (record, host log append, PCR extend on swtpm): $(echo "$end - $start" | bc) s"
"$CARAPACE" attest --vm bench --nonce "$NONCE" -o "$T/ev1000.json" 2>/dev/null
for f in ev1 ev1000; do
	"$CARAPACE" verify evidence "$T/$f.json" --nonce "$NONCE" --ak-pin "$PIN" | grep "event-log"
done
ls -l "$T/ev1.json" "$T/ev1000.json" | awk '{ print $5, $9 }'
hyperfine -N --warmup 10 --runs "$RUNS" --export-markdown "$T/v.md" --export-json "$T/v.json" \
	-n "verify evidence, 1-entry log" "$CARAPACE verify evidence $T/ev1.json --nonce $NONCE --ak-pin $PIN" \
	-n "verify evidence, 1000-entry log" "$CARAPACE verify evidence $T/ev1000.json --nonce $NONCE --ak-pin $PIN"
cat "$T/v.md"
grep -o '"median": *[0-9.e-]*' "$T/v.json" | awk -F: '{ m[NR] = $2 * 1000 }
	END { printf "median: %.2f ms (1 entry) vs %.2f ms (1000 entries), ratio %.2f\n", m[1], m[2], m[2] / m[1] }'
"$BENCH_VERIFY" "$T/ev1.json" "$NONCE" "${PIN#name:000b}" 1000
"$BENCH_VERIFY" "$T/ev1000.json" "$NONCE" "${PIN#name:000b}" 1000

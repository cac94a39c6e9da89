#!/bin/bash
# memenc benchmark: launch-measurement time vs OpenSSL's SHA-384 ceiling, in one run.
# usage: run.sh BENCH_CORE MEASURE_CLI   (meson benchmark passes both; see docs/perf/memenc.md)
# Optional: SEV_SNP_MEASURE=/path/to/sev-snp-measure.py (virtee's tool from a source tree).
set -euo pipefail
core=$1 cli=$2
ovmf=${CARAPACE_OVMF:-/usr/share/ovmf/OVMF.fd}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -r "$ovmf" ] || { echo "SKIP: $ovmf missing"; exit 77; }
# 64 MiB synthetic firmware: random bytes followed by the real OVMF (so its footer table,
# ASEV and TDVF metadata are at the end, as in a real flash image).
fwsize=$(stat -c %s "$ovmf")
head -c $((64 * 1024 * 1024 - fwsize)) /dev/urandom > "$tmp/synth.fd"
cat "$ovmf" >> "$tmp/synth.fd"

# The machine is shared: measure the ceiling right before each case.
ceiling() {
	openssl speed -evp "$1" -bytes 8192 -seconds 2 2>/dev/null |
		awk -v a="$1" 'tolower($1) == a {v=$NF} END {sub(/k$/,"",v); print v*1000}'
}

echo "== core (plan build + walk, file in memory) vs openssl speed -evp sha384|sha256 -bytes 8192"
for fw in "$ovmf" "$tmp/synth.fd"; do
	for p in snp tdx sev; do
		alg=sha384; [ "$p" = sev ] && alg=sha256
		c=$(ceiling $alg)
		line=$("$core" "$fw" "$p" 5)
		mbs=$(echo "$line" | awk '{print $(NF-1)}')
		echo "$line | $alg ceiling $(awk -v c="$c" 'BEGIN{printf "%.1f", c/1e6}') MB/s | ratio $(awk -v m="$mbs" -v c="$c" 'BEGIN{printf "%.2f", m*1e6/c}')"
	done
done

echo "== CLI wall time (process start, file read, measure, print)"
cmds=("$cli --platform snp --vcpus 4 --vcpu-type EPYC-v4 --firmware $ovmf"
      "$cli --platform snp --vcpus 4 --vcpu-type EPYC-v4 --firmware $tmp/synth.fd"
      "$cli --platform tdx --firmware $ovmf")
if [ -n "${SEV_SNP_MEASURE:-}" ] && [ -r "$SEV_SNP_MEASURE" ]; then
	cmds+=("python3 $SEV_SNP_MEASURE --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf $ovmf"
	       "python3 $SEV_SNP_MEASURE --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf $tmp/synth.fd")
	a=$($cli --platform snp --vcpus 4 --vcpu-type EPYC-v4 --firmware "$tmp/synth.fd" | tail -1)
	b=$(python3 "$SEV_SNP_MEASURE" --mode snp --vcpus 4 --vcpu-type EPYC-v4 --ovmf "$tmp/synth.fd")
	[ "$a" = "$b" ] && echo "synthetic 64 MiB: carapace and sev-snp-measure agree ($a)" || { echo "MISMATCH $a $b"; exit 1; }
else
	echo "(sev-snp-measure not available: set SEV_SNP_MEASURE to its sev-snp-measure.py to compare)"
fi
if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 2 --runs 10 "${cmds[@]}" 2>/dev/null | grep -E "Benchmark|Time \(mean"
else
	for c in "${cmds[@]}"; do /usr/bin/time -f "%e s  $c" $c >/dev/null; done
fi

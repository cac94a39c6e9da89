#!/bin/bash
# Process-level comparison, same run: `carapace verify snp` (one process, every check) against
# the OpenSSL command-line tools doing only the two cryptographic steps (`openssl verify` of the
# chain, then `openssl dgst -verify` of the report signature). Needs hyperfine.
set -euo pipefail
carapace=${1:?usage: bench_cli.sh CARAPACE BENCH_BINARY}
bench=${2:?}
V=${CARAPACE_TEST_VECTORS:?}
command -v hyperfine >/dev/null || { echo "SKIP: hyperfine not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bench" --export "$tmp"
hyperfine -N --warmup 5 --runs 100 --export-markdown "$tmp/snp.md" \
  -n "carapace verify snp" \
  "$carapace verify snp --report $V/sev-snp/attestation.bin --vcek $V/sev-snp/vcek.testcer --chain $V/sev-snp/milan.testcer --allow-debug --at 2025-06-01T00:00:00Z" \
  -n "openssl verify (chain)" \
  "openssl verify -attime 1748736000 -CAfile $tmp/ark.pem -untrusted $tmp/ask.pem $tmp/vcek.pem" \
  -n "openssl dgst -verify (report signature)" \
  "openssl dgst -sha384 -verify $tmp/vcek.pub.pem -signature $tmp/report.sig.der $tmp/report.signed"
cat "$tmp/snp.md"
hyperfine -N --warmup 5 --runs 100 --export-markdown "$tmp/tdx.md" \
  -n "carapace verify tdx" \
  "$carapace verify tdx --quote $V/tdx/tdx_prod_quote_SPR_E4.dat --at 2023-06-20T00:00:00Z --pck-crl $V/tdx/pckcrl --root-crl $V/tdx/rootcrl.der"
cat "$tmp/tdx.md"

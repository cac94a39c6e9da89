#!/usr/bin/env bash
# carapace-verify is the relying party's verifier as its own program: its ELF dependencies are
# OpenSSL's libcrypto and json-c (plus libc and, in sanitizer builds, their runtimes) — never the
# TPM stack, libseccomp, libselinux or libcap-ng, not even indirectly; the runner carries none of
# the verification code; and `carapace verify ...` still works for users by running it.
# usage: verify_program.sh CARAPACE CARAPACE_VERIFY
set -u
C=$1; CV=$2
for p in readelf ldd nm; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (binutils, libc-bin)"; exit 77; }
done
fails=0; passes=0
ok() { echo "ok   $1"; passes=$((passes + 1)); }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# 1. direct dependencies: an allowlist
needed=$(readelf -d "$CV" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || bad "readelf found no NEEDED entries in $CV"
extra=$(grep -Ev '^(libcrypto\.so\.[0-9]+|libjson-c\.so\.[0-9]+|libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|libasan\.so\.[0-9]+|libubsan\.so\.[0-9]+)$' <<<"$needed")
if [ -z "$extra" ] && grep -q '^libcrypto' <<<"$needed" && grep -q '^libjson-c' <<<"$needed"; then
	ok "carapace-verify links only: $(tr '\n' ' ' <<<"$needed")"
else
	bad "carapace-verify's NEEDED: $(tr '\n' ' ' <<<"$needed") (not allowed: $(tr '\n' ' ' <<<"$extra"))"
fi
# 2. nor indirectly
loaded=$(ldd "$CV")
if grep -Eq 'libtss2|libseccomp|libselinux|libcap-ng' <<<"$loaded"; then
	bad "carapace-verify loads a runner library: $(grep -E 'libtss2|libseccomp|libselinux|libcap-ng' <<<"$loaded" | tr '\n' ' ')"
else
	ok "ldd: no libtss2, libseccomp, libselinux or libcap-ng"
fi
# 3. the runner has none of the verifiers (they live in carapace-verify only)
in_runner=$(nm "$C" 2>/dev/null | grep -E ' [Tt] (attest_verify|attest_hw_snp_verify|attest_hw_tdx_verify|attest_tpm_cli_verify_evidence|attest_hw_cli_verify_snp|attest_hw_cli_verify_tdx)$')
if [ -z "$(nm "$C" 2>/dev/null | head -1)" ]; then
	echo "skip the runner's symbols: $C is stripped"
elif [ -z "$in_runner" ]; then
	ok "carapace carries no verifier code"
else
	bad "carapace carries verifier functions: $(tr '\n' ' ' <<<"$in_runner")"
fi

# 4. `carapace verify` is the same program for users: same output, same statuses
a=$("$C" verify --help 2>&1); ra=$?
b=$("$CV" --help 2>&1); rb=$?
if [ "$ra" = 0 ] && [ "$rb" = 0 ] && [ "$a" = "$b" ] && grep -q "evidence" <<<"$a"; then ok "carapace verify --help runs carapace-verify"
else bad "carapace verify --help: status $ra/$rb, output differs: $a // $b"; fi
"$C" verify no-such-kind >/dev/null 2>&1; ra=$?
"$CV" no-such-kind >/dev/null 2>&1; rb=$?
if [ "$ra" = 2 ] && [ "$rb" = 2 ]; then ok "an unknown kind is a usage error (2) both ways"; else bad "unknown kind: status $ra/$rb"; fi
out=$(CARAPACE_VERIFY=/nonexistent/carapace-verify "$C" verify --help 2>&1); ra=$?
if [ "$ra" = 1 ] && grep -q "carapace-verify not found" <<<"$out"; then ok "a missing carapace-verify is a loud failure (1)"
else bad "missing carapace-verify: status $ra: $out"; fi

# 5. a real verification through both names (vendor vectors)
V=${CARAPACE_TEST_VECTORS:-}
if [ -r "$V/sev-snp/attestation.bin" ]; then
	args=(snp --report "$V/sev-snp/attestation.bin" --vcek "$V/sev-snp/vcek.testcer" --chain "$V/sev-snp/milan.testcer"
		--allow-debug --at 2025-06-01T00:00:00Z)
	a=$("$C" verify "${args[@]}" 2>&1); ra=$?
	b=$("$CV" "${args[@]}" 2>&1); rb=$?
	if [ "$ra" = 0 ] && [ "$a" = "$b" ] && grep -q "^verdict: PASS (snp)" <<<"$a"; then ok "carapace verify snp == carapace-verify snp: PASS"
	else bad "verify snp: status $ra/$rb: $a"; fi
else
	echo "skip a real SNP verification: vendor vectors not found (CARAPACE_TEST_VECTORS=$V)"
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]

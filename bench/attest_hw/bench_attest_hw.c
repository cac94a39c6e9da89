/* Benchmark: in-process verification time per SEV-SNP report and per TDX quote (the full list of
 * checks), next to the bare OpenSSL work the same evidence needs (the floor): the signature
 * verifications and the X.509 chain verification alone. `--export DIR` writes the SNP material in
 * the form `openssl dgst -verify` / `openssl verify` take, for the process-level comparison in
 * bench_cli.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "attest/hw/crypto.h"
#include "attest/hw/snp_report.h"
#include "attest/hw/tdx_quote.h"
#include "attest/hw/verify.h"
#include "common/util.h"

static const char *dir;

static uint8_t *rd(const char *rel, size_t *len)
{
	char path[4096];
	struct cp_err err = { 0 };
	uint8_t *d = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (cp_file_read(path, 1u << 20, &d, len, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		exit(77);
	}
	return d;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wr(const char *outdir, const char *name, const void *d, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(d, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 && strcmp(argv[1], "--export") ? atoi(argv[1]) : 300;
	size_t rl, vl, cl, ql;
	uint8_t *report, *vcek, *chain, *quote;
	struct attest_hw_result *res = malloc(sizeof(*res));
	STACK_OF(X509) *certs = sk_X509_new_null(), *untrusted = sk_X509_new_null();
	struct attest_hw_tdx_quote q;
	char why[512];
	double t0, snp_full, snp_floor, tdx_full, tdx_floor;

	dir = getenv("CARAPACE_TEST_VECTORS");
	if (!dir) {
		printf("SKIP: CARAPACE_TEST_VECTORS not set\n");
		return 77;
	}
	report = rd("sev-snp/attestation.bin", &rl);
	vcek = rd("sev-snp/vcek.testcer", &vl);
	chain = rd("sev-snp/milan.testcer", &cl);
	quote = rd("tdx/tdx_prod_quote_SPR_E4.dat", &ql);
	attest_hw_certs_load(vcek, vl, certs, NULL);
	attest_hw_certs_load(chain, cl, certs, NULL);
	X509 *vc = sk_X509_value(certs, 0), *ask = sk_X509_value(certs, 1), *ark = sk_X509_value(certs, 2);
	sk_X509_push(untrusted, ask);

	if (argc > 2 && !strcmp(argv[1], "--export")) {
		/* The report's signature as DER (r, s from 72-byte little-endian fields). */
		ECDSA_SIG *s = ECDSA_SIG_new();
		unsigned char *der = NULL;
		FILE *f;
		char path[4096];
		ECDSA_SIG_set0(s, BN_lebin2bn(report + 0x2A0, 72, NULL), BN_lebin2bn(report + 0x2E8, 72, NULL));
		int dl = i2d_ECDSA_SIG(s, &der);
		wr(argv[2], "report.sig.der", der, (size_t)dl);
		wr(argv[2], "report.signed", report, ATTEST_HW_SNP_SIGNED_LEN);
		snprintf(path, sizeof(path), "%s/vcek.pub.pem", argv[2]);
		f = fopen(path, "w");
		PEM_write_PUBKEY(f, X509_get0_pubkey(vc));
		fclose(f);
		snprintf(path, sizeof(path), "%s/vcek.pem", argv[2]);
		f = fopen(path, "w");
		PEM_write_X509(f, vc);
		fclose(f);
		snprintf(path, sizeof(path), "%s/ask.pem", argv[2]);
		f = fopen(path, "w");
		PEM_write_X509(f, ask);
		fclose(f);
		snprintf(path, sizeof(path), "%s/ark.pem", argv[2]);
		f = fopen(path, "w");
		PEM_write_X509(f, ark);
		fclose(f);
		OPENSSL_free(der);
		ECDSA_SIG_free(s);
		return 0;
	}

	struct attest_hw_snp_input si = { .report = { report, rl }, .signer_cert = { vcek, vl },
					   .chain = { { chain, cl } }, .nchain = 1, .at = 1748736000, .allow_debug = true };
	attest_hw_snp_verify(&si, res);
	if (!attest_hw_result_ok(res)) {
		fprintf(stderr, "SNP vector does not verify\n");
		return 1;
	}
	t0 = now();
	for (int i = 0; i < n; i++)
		attest_hw_snp_verify(&si, res);
	snp_full = (now() - t0) / n;
	t0 = now();
	for (int i = 0; i < n; i++) {
		attest_hw_chain_verify(vc, untrusted, ark, 1748736000, why, sizeof(why));
		attest_hw_ecdsa_verify(X509_get0_pubkey(vc), EVP_sha384(), report + 0x2A0, report + 0x2E8, 72, true, report,
				       ATTEST_HW_SNP_SIGNED_LEN);
	}
	snp_floor = (now() - t0) / n;
	/* Decoding the three certificates (PEM and DER), which the floor above does not repeat. */
	t0 = now();
	for (int i = 0; i < n; i++) {
		STACK_OF(X509) *tmp = sk_X509_new_null();
		attest_hw_certs_load(vcek, vl, tmp, NULL);
		attest_hw_certs_load(chain, cl, tmp, NULL);
		sk_X509_pop_free(tmp, X509_free);
	}
	double snp_parse = (now() - t0) / n;

	struct attest_hw_tdx_input ti = { .quote = { quote, ql }, .at = 1687219200 };
	attest_hw_tdx_verify(&ti, res);
	if (!attest_hw_result_ok(res)) {
		fprintf(stderr, "TDX vector does not verify\n");
		return 1;
	}
	t0 = now();
	for (int i = 0; i < n; i++)
		attest_hw_tdx_verify(&ti, res);
	tdx_full = (now() - t0) / n;
	attest_hw_tdx_quote_parse(quote, ql, &q, NULL);
	STACK_OF(X509) *pck = sk_X509_new_null(), *pu = sk_X509_new_null();
	attest_hw_certs_load(q.pck_chain, q.pck_chain_len, pck, NULL);
	sk_X509_push(pu, sk_X509_value(pck, 1));
	EVP_PKEY *att = attest_hw_p256_from_raw(q.att_key);
	t0 = now();
	for (int i = 0; i < n; i++) {
		attest_hw_chain_verify(sk_X509_value(pck, 0), pu, sk_X509_value(pck, 2), 1687219200, why, sizeof(why));
		attest_hw_ecdsa_verify(X509_get0_pubkey(sk_X509_value(pck, 0)), EVP_sha256(), q.qe_report_sig,
				       q.qe_report_sig + 32, 32, false, q.qe_report, 384);
		attest_hw_ecdsa_verify(att, EVP_sha256(), q.signature, q.signature + 32, 32, false, q.signed_data, q.signed_len);
	}
	tdx_floor = (now() - t0) / n;

	printf("iterations: %d\n", n);
	printf("snp  carapace verify (all checks): %8.1f us/report   OpenSSL floor (chain + ECDSA P-384): %8.1f us   ratio %.2f\n",
	       snp_full * 1e6, snp_floor * 1e6, snp_full / snp_floor);
	printf("snp  certificate decoding alone (VCEK DER + ASK/ARK PEM; inside the carapace figure, not the floor): %8.1f us\n", snp_parse * 1e6);
	printf("tdx  carapace verify (all checks): %8.1f us/quote    OpenSSL floor (chain + 2x ECDSA P-256): %6.1f us   ratio %.2f\n",
	       tdx_full * 1e6, tdx_floor * 1e6, tdx_full / tdx_floor);
	EVP_PKEY_free(att);
	sk_X509_free(pu);
	sk_X509_pop_free(pck, X509_free);
	sk_X509_free(untrusted);
	sk_X509_pop_free(certs, X509_free);
	free(res);
	free(report);
	free(vcek);
	free(chain);
	free(quote);
	return 0;
}

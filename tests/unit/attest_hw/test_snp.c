/* Unit tests for the SEV-SNP verifier against AMD-signed material (go-sev-guest's Milan report,
 * VCEK and chains): it verifies, DEBUG is refused by default, tampering anywhere signed fails,
 * wrong or look-alike roots fail, dates are judged at --at, malformed inputs get precise errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "attest/hw/crypto.h"
#include "attest/hw/verify_policy.h"
#include "attest/hw/snp_report.h"
#include "attest/hw/verify.h"
#include "vectors.h"

#define AT_2025 ((time_t)1748736000) /* 2025-06-01T00:00:00Z: inside every certificate's validity */

static uint8_t *report, *vcek, *chain, *genoa, *turin, *milan_vlek;
static size_t report_len, vcek_len, chain_len, genoa_len, turin_len, milan_vlek_len;

static struct attest_hw_snp_input base_input(void)
{
	struct attest_hw_snp_input in = {
		.report = { report, report_len },
		.signer_cert = { vcek, vcek_len },
		.chain = { { chain, chain_len } },
		.nchain = 1,
		.at = AT_2025,
		.allow_debug = true,
	};
	return in;
}

static void test_vector_verifies(void **state)
{
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	if (!attest_hw_result_ok(&r))
		dump(&r);
	assert_true(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "report-signature"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "tcb-match"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "chip-id"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "reserved-zero"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "debug"), ATTEST_HW_PASS);
	assert_non_null(strstr(detail_of(&r, "debug"), "--allow-debug"));
}

/* The vector's guest policy (0xB0000) allows DEBUG: refused by default, and only for that. */
static void test_debug_refused_by_default(void **state)
{
	static const char *const expect[] = { "debug", NULL };
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_snp_report rep;
	struct attest_hw_result r;

	assert_int_equal(attest_hw_snp_report_parse(report, report_len, &rep, NULL), 0);
	assert_true(rep.policy & ATTEST_HW_SNP_POLICY_DEBUG);
	in.allow_debug = false;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_false(attest_hw_result_ok(&r));
	assert_true(only_failures(&r, expect));
}

/* Clearing DEBUG in the report cannot make it acceptable: the signature no longer verifies.
 * And the debug check itself, judged on a report whose only change is the policy, passes. */
static void test_debug_cleared_breaks_signature(void **state)
{
	static const char *const expect[] = { "report-signature", NULL };
	uint8_t *copy = malloc(report_len);
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	memcpy(copy, report, report_len);
	copy[0x08 + 2] &= (uint8_t)~(ATTEST_HW_SNP_POLICY_DEBUG >> 16);
	in.report.data = copy;
	in.allow_debug = false;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_false(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "debug"), ATTEST_HW_PASS);
	assert_true(only_failures(&r, expect));
	free(copy);
}

/* The check a flipped bit must fail, not only the verdict: in the report, the signature over
 * bytes 0x000-0x29F and its R and S (0x2A0-0x32F), except SIGNATURE_ALGO (0x034), which the
 * reader refuses first, and the zero bytes after S (0x330-0x49F), which no signature covers
 * (SEV-SNP firmware ABI, ATTESTATION_REPORT); in the VCEK, the chain's signature over it (or the
 * certificate no longer parses); in the ASK/ARK chain, the chain. */
static const char *flip_expected_check(size_t off, int which, const char **alt)
{
	*alt = NULL;
	if (which == 1) {
		*alt = "signer-cert";
		return "cert-chain";
	}
	if (which == 2)
		return "cert-chain";
	if (off >= 0x034 && off < 0x038)
		return "report-format";
	return off >= 0x330 ? "reserved-zero" : "report-signature";
}

static void flip_and_expect_failure(const uint8_t *orig, size_t len, size_t off, int which)
{
	uint8_t *copy = malloc(len);
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;
	const char *alt, *want = flip_expected_check(off, which, &alt);
	const struct attest_hw_check *c, *c2;

	memcpy(copy, orig, len);
	copy[off] ^= 0x01;
	if (which == 0)
		in.report.data = copy;
	else if (which == 1)
		in.signer_cert.data = copy;
	else
		in.chain[0].data = copy;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	c = attest_hw_result_find(&r, want);
	c2 = alt ? attest_hw_result_find(&r, alt) : NULL;
	if (attest_hw_result_ok(&r) || !((c && c->verdict == ATTEST_HW_FAIL) || (c2 && c2->verdict == ATTEST_HW_FAIL))) {
		fprintf(stderr, "flip of byte 0x%zx in input %d: %s, expected check %s%s%s to fail\n", off, which,
			attest_hw_result_ok(&r) ? "accepted" : "refused by other checks", want, alt ? " or " : "",
			alt ? alt : "");
		dump(&r);
		fail();
	}
	free(copy);
}

static void test_tamper_report(void **state)
{
	/* Every field start, then every 37th byte, across the signed region and the signature. */
	static const size_t fields[] = { 0x000, 0x004, 0x008, 0x010, 0x020, 0x030, 0x034, 0x038, 0x040, 0x048, 0x04C,
					 0x050, 0x090, 0x0C0, 0x0E0, 0x110, 0x140, 0x160, 0x180, 0x188, 0x1A0, 0x1E0,
					 0x1E8, 0x1EC, 0x1F0, 0x1F8, 0x200, 0x208, 0x29F, 0x2A0, 0x2CF, 0x2D0, 0x2E8,
					 0x317, 0x318, 0x330, 0x49F };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++, n++)
		flip_and_expect_failure(report, report_len, fields[i], 0);
	for (size_t off = 0; off < report_len; off += 37, n++)
		flip_and_expect_failure(report, report_len, off, 0);
	assert_true(n > 60);
}

static void test_tamper_vcek_and_chain(void **state)
{
	for (size_t off = 0; off < vcek_len; off += 37)
		flip_and_expect_failure(vcek, vcek_len, off, 1);
	for (size_t off = 0; off < chain_len; off += 37)
		flip_and_expect_failure(chain, chain_len, off, 2);
}

static void test_wrong_root(void **state)
{
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	in.chain[0] = (struct attest_hw_blob){ genoa, genoa_len };
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "ARK-Milan"));
	in.chain[0] = (struct attest_hw_blob){ turin, turin_len };
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	/* Right ARK, wrong intermediate (the VLEK chain's ASVK) for a VCEK. */
	in.chain[0] = (struct attest_hw_blob){ milan_vlek, milan_vlek_len };
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "SEV-VLEK-Milan"));
	assert_false(attest_hw_result_ok(&r));
}

/* signer_info decides which certificate must have signed; a VCEK offered for a report that says
 * VLEK (or "no key") is refused, and a masked chip ID must really be zero. */
static void test_signer_info(void **state)
{
	uint8_t *copy = malloc(report_len);
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	memcpy(copy, report, report_len);
	in.report.data = copy;
	cp_put_le32(copy + 0x48, 1u << 2); /* SIGNING_KEY = VLEK */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "signer-cert"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "signer-cert"), "SEV-VLEK"));
	assert_int_equal(verdict_of(&r, "report-signature"), ATTEST_HW_FAIL);
	cp_put_le32(copy + 0x48, 7u << 2); /* SIGNING_KEY = none */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "signer-cert"), ATTEST_HW_FAIL);
	assert_false(attest_hw_result_ok(&r));
	cp_put_le32(copy + 0x48, 1u << 1); /* MASK_CHIP_KEY with the chip ID still present */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "chip-id"), ATTEST_HW_FAIL);
	cp_put_le32(copy + 0x48, 1u << 5); /* a reserved bit */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "signer-info"), ATTEST_HW_FAIL);
	free(copy);
}

static void test_dates(void **state)
{
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	in.at = (time_t)1893456000; /* 2030-01-01: the VCEK expired in 2029 */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "expired"));
	in.at = (time_t)1577836800; /* 2020-01-01: before the VCEK existed */
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "not yet valid"));
}

static void test_sizes_and_versions(void **state)
{
	uint8_t big[ATTEST_HW_SNP_REPORT_SIZE + 1] = { 0 };
	struct attest_hw_snp_report rep;
	struct cp_err err = { 0 };
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	assert_int_equal(attest_hw_snp_report_parse(report, report_len - 1, &rep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "size 1183"));
	cp_err_clear(&err);
	memcpy(big, report, report_len);
	assert_int_equal(attest_hw_snp_report_parse(big, sizeof(big), &rep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "size 1185"));
	in.report.len = report_len - 1;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "report-format"), ATTEST_HW_FAIL);
	assert_false(attest_hw_result_ok(&r));

	memcpy(big, report, report_len);
	cp_put_le32(big, 1);
	cp_err_clear(&err);
	assert_int_equal(attest_hw_snp_report_parse(big, report_len, &rep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version 1 at offset 0x000"));
	cp_put_le32(big, 2);
	cp_put_le32(big + 0x34, 2);
	cp_err_clear(&err);
	assert_int_equal(attest_hw_snp_report_parse(big, report_len, &rep, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "signature_algo 2 at offset 0x034"));
}

static void test_reserved_precise(void **state)
{
	uint8_t copy[ATTEST_HW_SNP_REPORT_SIZE];
	struct cp_err err = { 0 };
	static const struct {
		size_t off;
		const char *msg;
	} cases[] = {
		{ 0x04C, "byte 0x04C" }, { 0x190, "byte 0x190" }, { 0x1EB, "byte 0x1EB" }, { 0x250, "byte 0x250" },
		{ 0x2A0 + 50, "high bytes of signature R" }, { 0x2E8 + 60, "high bytes of signature S" },
		{ 0x400, "byte 0x400" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(copy, report, sizeof(copy));
		copy[cases[i].off] = 0x5A;
		cp_err_clear(&err);
		assert_int_equal(attest_hw_snp_report_check_reserved(copy, sizeof(copy), &err), -EINVAL);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("offset 0x%zx: '%s'", cases[i].off, err.msg);
	}
	/* Version 3 uses 0x188-0x18A for CPUID: not reserved there. */
	memcpy(copy, report, sizeof(copy));
	cp_put_le32(copy, 3);
	copy[0x188] = 0x19;
	assert_int_equal(attest_hw_snp_report_check_reserved(copy, sizeof(copy), NULL), 0);
	cp_put_le32(copy, 2);
	assert_int_equal(attest_hw_snp_report_check_reserved(copy, sizeof(copy), NULL), -EINVAL);
}

static void test_tcb_layouts(void **state)
{
	struct attest_hw_snp_tcb t;
	struct cp_err err = { 0 };

	/* Milan/Genoa [bl, tee, 0, 0, 0, 0, snp, ucode]; Turin [fmc, bl, tee, snp, 0, 0, 0, ucode]. */
	assert_int_equal(attest_hw_snp_tcb_decode(0x4405000000000002ULL, ATTEST_HW_SNP_PRODUCT_MILAN, &t, &err), 0);
	assert_int_equal(t.bl, 2);
	assert_int_equal(t.snp, 5);
	assert_int_equal(t.ucode, 0x44);
	assert_int_equal(attest_hw_snp_tcb_decode(0x4800000003020104ULL, ATTEST_HW_SNP_PRODUCT_TURIN, &t, &err), 0);
	assert_int_equal(t.fmc, 4);
	assert_int_equal(t.bl, 1);
	assert_int_equal(t.tee, 2);
	assert_int_equal(t.snp, 3);
	assert_int_equal(t.ucode, 0x48);
	assert_int_equal(attest_hw_snp_tcb_decode(0x4800000003020104ULL, ATTEST_HW_SNP_PRODUCT_MILAN, &t, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "reserved bytes 2-5"));
	assert_int_equal(attest_hw_snp_product_from_name("Milan-B0"), ATTEST_HW_SNP_PRODUCT_MILAN);
	assert_int_equal(attest_hw_snp_product_from_name("Genoa"), ATTEST_HW_SNP_PRODUCT_GENOA);
	assert_int_equal(attest_hw_snp_product_from_name("Milano"), ATTEST_HW_SNP_PRODUCT_UNKNOWN);
	assert_int_equal(attest_hw_snp_product_from_cpuid(0x1A, 0x02), ATTEST_HW_SNP_PRODUCT_TURIN);
	assert_int_equal(attest_hw_snp_product_from_cpuid(0x19, 0x11), ATTEST_HW_SNP_PRODUCT_GENOA);
}

/* Look-alike chain: fresh keys, but every name and extension copied from AMD's certificates.
 * It is internally consistent (the report is re-signed with the fake VCEK), so only the pinned
 * fingerprint stands between it and acceptance. */
static EVP_PKEY *gen(const char *kind)
{
	return !strcmp(kind, "RSA") ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
				    : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
}

static void add_ext(X509 *x, const char *oid, const uint8_t *der, int len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(o);
	assert_int_equal(ASN1_OCTET_STRING_set(os, der, len), 1);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(o);
}

static void sign_pss(X509 *x, EVP_PKEY *signer)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, signer), 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
	EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
	assert_true(X509_sign_ctx(x, md) > 0);
	EVP_MD_CTX_free(md);
}

/* A certificate with the model's names; its extensions are copied unless `copy_ext` is false. */
static X509 *forge_unsigned(X509 *model, X509 *issuer_model, EVP_PKEY *pub, bool copy_ext)
{
	X509 *x = X509_new();

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_subject_name(x, X509_get_subject_name(model));
	X509_set_issuer_name(x, X509_get_subject_name(issuer_model));
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, pub);
	for (int i = 0; copy_ext && i < X509_get_ext_count(model); i++)
		X509_add_ext(x, X509_get_ext(model, i), -1);
	return x;
}

static X509 *forge(X509 *model, X509 *issuer_model, EVP_PKEY *pub, EVP_PKEY *signer)
{
	X509 *x = forge_unsigned(model, issuer_model, pub, true);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, signer), 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
	EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
	assert_true(X509_sign_ctx(x, md) > 0);
	EVP_MD_CTX_free(md);
	return x;
}

static size_t der_of(X509 *x, uint8_t **out)
{
	int n = i2d_X509(x, out);
	assert_true(n > 0);
	return (size_t)n;
}

/* Sign bytes 0x000-0x29F with `key` and store R and S as 72-byte little-endian fields. */
static void resign(uint8_t *rep, EVP_PKEY *key)
{
	unsigned char sig[256];
	size_t siglen = sizeof(sig);
	const unsigned char *sp = sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *es;

	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, rep, ATTEST_HW_SNP_SIGNED_LEN), 1);
	es = d2i_ECDSA_SIG(NULL, &sp, (long)siglen);
	assert_non_null(es);
	memset(rep + 0x2A0, 0, 144);
	BN_bn2lebinpad(ECDSA_SIG_get0_r(es), rep + 0x2A0, 72);
	BN_bn2lebinpad(ECDSA_SIG_get0_s(es), rep + 0x2E8, 72);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
}

static void test_lookalike_root_fails(void **state)
{
	STACK_OF(X509) *real = sk_X509_new_null();
	X509 *real_vcek, *ask, *ark, *f_ark, *f_ask, *f_vcek;
	EVP_PKEY *k_ark = gen("RSA"), *k_ask = gen("RSA"), *k_vcek = gen("EC");
	uint8_t *copy = malloc(report_len), *d_vcek = NULL, *d_ask = NULL, *d_ark = NULL, *sigder = NULL;
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;
	static const char *const expect[] = { "cert-chain", NULL };

	(void)sigder;
	assert_int_equal(attest_hw_certs_load(vcek, vcek_len, real, NULL), 0);
	assert_int_equal(attest_hw_certs_load(chain, chain_len, real, NULL), 0);
	real_vcek = sk_X509_value(real, 0);
	ask = sk_X509_value(real, 1);
	ark = sk_X509_value(real, 2);
	f_ark = forge(ark, ark, k_ark, k_ark);
	f_ask = forge(ask, ark, k_ask, k_ark);
	f_vcek = forge(real_vcek, ask, k_vcek, k_ask);

	memcpy(copy, report, report_len);
	resign(copy, k_vcek);

	in.report = (struct attest_hw_blob){ copy, report_len };
	in.signer_cert.len = der_of(f_vcek, &d_vcek);
	in.signer_cert.data = d_vcek;
	in.chain[0].len = der_of(f_ask, &d_ask);
	in.chain[0].data = d_ask;
	in.chain[1].len = der_of(f_ark, &d_ark);
	in.chain[1].data = d_ark;
	in.nchain = 2;
	in.at = time(NULL);
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_false(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "report-signature"), ATTEST_HW_PASS); /* consistent forgery */
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "pinned ARK-Milan"));
	assert_true(only_failures(&r, expect));

	/* The real ARK next to a forged ASK: the pinned root is there, but it signed nothing here. */
	OPENSSL_free(d_ark);
	d_ark = NULL;
	in.chain[1].len = der_of(ark, &d_ark);
	in.chain[1].data = d_ark;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_int_equal(verdict_of(&r, "cert-chain"), ATTEST_HW_FAIL);
	assert_true(only_failures(&r, expect));

	OPENSSL_free(d_vcek);
	OPENSSL_free(d_ask);
	OPENSSL_free(d_ark);
	X509_free(f_ark);
	X509_free(f_ask);
	X509_free(f_vcek);
	EVP_PKEY_free(k_ark);
	EVP_PKEY_free(k_ask);
	EVP_PKEY_free(k_vcek);
	sk_X509_pop_free(real, X509_free);
	free(copy);
}

/* Turin: an 8-byte hwID, an fmcSPL and the [fmc, bl, tee, snp, 0, 0, 0, ucode] TCB layout, with a
 * version-3 report whose CPUID says family 1Ah. No Turin report exists among the vectors, so the
 * VCEK is forged under AMD's real Turin ASK/ARK names: everything about the report and the
 * certificate's contents checks out, and only the chain (not signed by AMD's ASK) fails. */
static void test_turin_layout(void **state)
{
	static const uint8_t name[] = { 0x16, 0x05, 'T', 'u', 'r', 'i', 'n' };
	static const uint8_t hwid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const struct {
		const char *oid;
		uint8_t v;
	} spl[] = { { "1.3.6.1.4.1.3704.1.3.1", 1 }, { "1.3.6.1.4.1.3704.1.3.2", 2 }, { "1.3.6.1.4.1.3704.1.3.3", 3 },
		    { "1.3.6.1.4.1.3704.1.3.8", 0x48 }, { "1.3.6.1.4.1.3704.1.3.9", 4 } };
	const uint64_t tcb = 0x4800000003020104ULL; /* fmc 4, bl 1, tee 2, snp 3, ucode 0x48 */
	STACK_OF(X509) *real = sk_X509_new_null();
	EVP_PKEY *k_vcek = gen("EC"), *k_other = gen("RSA");
	uint8_t *rep = malloc(report_len), *d_vcek = NULL;
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;
	static const char *const expect[] = { "cert-chain", NULL };
	static const char *const expect_tcb[] = { "cert-chain", "tcb-match", NULL };
	X509 *v;

	assert_int_equal(attest_hw_certs_load(vcek, vcek_len, real, NULL), 0);
	assert_int_equal(attest_hw_certs_load(turin, turin_len, real, NULL), 0);
	v = forge_unsigned(sk_X509_value(real, 0), sk_X509_value(real, 1), k_vcek, false);
	add_ext(v, "1.3.6.1.4.1.3704.1.2", name, sizeof(name));
	for (size_t i = 0; i < sizeof(spl) / sizeof(spl[0]); i++) {
		uint8_t der[3] = { 0x02, 0x01, spl[i].v };
		add_ext(v, spl[i].oid, der, 3);
	}
	add_ext(v, "1.3.6.1.4.1.3704.1.4", hwid, 8);
	sign_pss(v, k_other);

	memcpy(rep, report, report_len);
	cp_put_le32(rep, 3);
	rep[0x188] = 0x1A; /* family */
	rep[0x189] = 0x02; /* model */
	rep[0x18A] = 0x01; /* stepping */
	cp_put_le64(rep + 0x38, tcb);
	cp_put_le64(rep + 0x180, tcb);
	cp_put_le64(rep + 0x1E0, tcb);
	cp_put_le64(rep + 0x1F0, tcb);
	memset(rep + 0x1A0, 0, 64);
	memcpy(rep + 0x1A0, hwid, 8);
	resign(rep, k_vcek);

	in.report = (struct attest_hw_blob){ rep, report_len };
	in.signer_cert.len = der_of(v, &d_vcek);
	in.signer_cert.data = d_vcek;
	in.chain[0] = (struct attest_hw_blob){ turin, turin_len };
	in.at = time(NULL);
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	if (!only_failures(&r, expect))
		dump(&r);
	assert_true(only_failures(&r, expect));
	assert_int_equal(verdict_of(&r, "product-cpuid"), ATTEST_HW_PASS);
	assert_non_null(strstr(detail_of(&r, "tcb-match"), "fmc=4 bl=1 tee=2 snp=3 ucode=72"));
	assert_non_null(strstr(detail_of(&r, "chip-id"), "8 bytes"));
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "ARK-Turin"));

	/* The Milan layout read as Turin: a reserved byte is set, tcb-match fails. */
	cp_put_le64(rep + 0x180, 0x4405000000000002ULL);
	resign(rep, k_vcek);
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_tcb));
	assert_non_null(strstr(detail_of(&r, "tcb-match"), "reserved bytes 4-6"));
	/* And a Milan chain for a Turin VCEK: wrong product line. */
	in.chain[0] = (struct attest_hw_blob){ chain, chain_len };
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_non_null(strstr(detail_of(&r, "cert-chain"), "pinned ARK-Turin"));

	OPENSSL_free(d_vcek);
	X509_free(v);
	EVP_PKEY_free(k_vcek);
	EVP_PKEY_free(k_other);
	sk_X509_pop_free(real, X509_free);
	free(rep);
}

/* An extended-report certificate table carrying the same three certificates. */
static uint8_t *build_table(size_t *len, const uint8_t *const ders[3], const size_t lens[3], const uint8_t guids[3][16])
{
	size_t hdr = 4 * 24, total = hdr;
	uint8_t *t;

	for (int i = 0; i < 3; i++)
		total += lens[i];
	t = calloc(1, total);
	size_t off = hdr;
	for (int i = 0; i < 3; i++) {
		memcpy(t + 24 * i, guids[i], 16);
		cp_put_le32(t + 24 * i + 16, (uint32_t)off);
		cp_put_le32(t + 24 * i + 20, (uint32_t)lens[i]);
		memcpy(t + off, ders[i], lens[i]);
		off += lens[i];
	}
	*len = total;
	return t;
}

static void test_cert_table(void **state)
{
	static const uint8_t guids[3][16] = {
		{ 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd },
		{ 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 },
		{ 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae },
	};
	STACK_OF(X509) *cc = sk_X509_new_null();
	uint8_t *ask = NULL, *ark = NULL, *t;
	size_t tlen, lens[3];
	struct attest_hw_snp_certs certs;
	struct cp_err err = { 0 };
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;

	assert_int_equal(attest_hw_certs_load(chain, chain_len, cc, NULL), 0);
	lens[0] = vcek_len;
	lens[1] = der_of(sk_X509_value(cc, 0), &ask);
	lens[2] = der_of(sk_X509_value(cc, 1), &ark);
	const uint8_t *ders[3] = { vcek, ask, ark };
	t = build_table(&tlen, ders, lens, guids);
	assert_int_equal(attest_hw_snp_certtable_parse(t, tlen, &certs, &err), 0);
	assert_int_equal(certs.vcek.len, vcek_len);
	in.signer_cert = (struct attest_hw_blob){ certs.vcek.der, certs.vcek.len };
	in.chain[0] = (struct attest_hw_blob){ certs.ask.der, certs.ask.len };
	in.chain[1] = (struct attest_hw_blob){ certs.ark.der, certs.ark.len };
	in.nchain = 2;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_true(attest_hw_result_ok(&r));

	/* Malformed tables: precise errors. */
	assert_int_equal(attest_hw_snp_certtable_parse(t, 3 * 24 + 10, &certs, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no all-zero terminator"));
	cp_err_clear(&err);
	cp_put_le32(t + 20, (uint32_t)tlen); /* VCEK length runs past the end */
	assert_int_equal(attest_hw_snp_certtable_parse(t, tlen, &certs, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "entry 0 (VCEK)"));
	cp_err_clear(&err);
	cp_put_le32(t + 20, (uint32_t)vcek_len);
	memcpy(t + 24, guids[0], 16); /* a second VCEK */
	assert_int_equal(attest_hw_snp_certtable_parse(t, tlen, &certs, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "duplicate VCEK"));
	free(t);
	OPENSSL_free(ask);
	OPENSSL_free(ark);
	sk_X509_pop_free(cc, X509_free);
}

static void test_policy(void **state)
{
	static const char good[] =
		"{\"snp\": {\"measurement\": \"b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01\","
		" \"report_data\": \"0102030405000000000000000000000000000000000000000000000000000000"
		"0000000000000000000000000000000000000000000000000000000000000000\","
		" \"host_data\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		" \"vmpl\": 0, \"min_tcb\": {\"bl\": 2, \"snp\": 5, \"ucode\": 68}}}";
	struct cp_refvals pol;
	struct cp_err err = { 0 };
	struct attest_hw_snp_input in = base_input();
	struct attest_hw_result r;
	static const char *const expect_meas[] = { "policy-measurement", NULL };
	static const char *const expect_tcb[] = { "policy-min-tcb", NULL };
	static const char *const expect_smt[] = { "smt", "vmpl", NULL };

	assert_int_equal(attest_hw_policy_parse(good, strlen(good), &pol, &err), 0);
	in.policy = &pol.snp;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	if (!attest_hw_result_ok(&r))
		dump(&r);
	assert_true(attest_hw_result_ok(&r));
	assert_int_equal(verdict_of(&r, "policy-measurement"), ATTEST_HW_PASS);
	assert_int_equal(verdict_of(&r, "policy-report-data"), ATTEST_HW_PASS);

	pol.snp.measurements.d[0][47] ^= 1;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_meas));
	pol.snp.measurements.d[0][47] ^= 1;
	pol.snp.min_tcb.snp = 6;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_tcb));
	pol.snp.min_tcb.snp = 5;
	pol.snp.allow_smt = false;
	pol.snp.vmpl = 1;
	assert_int_equal(attest_hw_snp_verify(&in, &r), 0);
	assert_true(only_failures(&r, expect_smt));

	static const char *const bad[] = {
		"{\"snp\": {\"measurement\": \"00\"}}",
		"{\"snp\": {\"colour\": 1}}",
		"{\"sev\": {}}",
		"{\"snp\": {\"vmpl\": -1}}",
		"{\"snp\": {\"min_tcb\": {\"bl\": 300}}}",
		"{\"snp\": {\"allow_smt\": 1}}",
		"{\"snp\": {}} {}",
		"[1]",
		"{\"snp\": ",
		"{\"snp\": {\"vmpl\": 0, \"vmpl\": 3}}",
	};
	static const char *const why[] = { "snp.measurement", "unknown key 'colour'", "unknown top-level key 'sev'",
					   "snp.vmpl", "snp.min_tcb.bl", "snp.allow_smt", "JSON error", "top level",
					   "JSON error", "duplicate key \"vmpl\"" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cp_err_clear(&err);
		assert_int_equal(attest_hw_policy_parse(bad[i], strlen(bad[i]), &pol, &err), -EINVAL);
		if (!strstr(err.msg, why[i]))
			fail_msg("policy %zu: '%s' lacks '%s'", i, err.msg, why[i]);
	}
}

static void test_time_parse(void **state)
{
	time_t t;
	struct cp_err err = { 0 };

	assert_int_equal(attest_hw_time_parse("2025-06-01T00:00:00Z", &t, &err), 0);
	assert_int_equal(t, AT_2025);
	assert_int_equal(attest_hw_time_parse("2025-06-01T02:00:00.5+02:00", &t, &err), 0);
	assert_int_equal(t, AT_2025);
	assert_int_equal(attest_hw_time_parse("2025-06-01", &t, &err), -EINVAL);
	assert_int_equal(attest_hw_time_parse("2025-02-29T00:00:00Z", &t, &err), -EINVAL);
	assert_int_equal(attest_hw_time_parse("2025-06-01T00:00:00", &t, &err), -EINVAL);
	assert_int_equal(attest_hw_time_parse("2025-06-01T00:00:00Zjunk", &t, &err), -EINVAL);
	assert_int_equal(attest_hw_time_parse("2025-13-01T00:00:00Z", &t, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_verifies),
		cmocka_unit_test(test_debug_refused_by_default),
		cmocka_unit_test(test_debug_cleared_breaks_signature),
		cmocka_unit_test(test_tamper_report),
		cmocka_unit_test(test_tamper_vcek_and_chain),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_signer_info),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_sizes_and_versions),
		cmocka_unit_test(test_reserved_precise),
		cmocka_unit_test(test_tcb_layouts),
		cmocka_unit_test(test_lookalike_root_fails),
		cmocka_unit_test(test_turin_layout),
		cmocka_unit_test(test_cert_table),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_time_parse),
	};
	int rc;

	vec_require("sev-snp/attestation.bin");
	report = vec_read("sev-snp/attestation.bin", &report_len);
	vcek = vec_read("sev-snp/vcek.testcer", &vcek_len);
	chain = vec_read("sev-snp/milan.testcer", &chain_len);
	genoa = vec_read("sev-snp/amd-roots/ask_ark_genoa.pem", &genoa_len);
	turin = vec_read("sev-snp/amd-roots/ask_ark_turin_vcek.pem", &turin_len);
	milan_vlek = vec_read("sev-snp/milanvlek.testcer", &milan_vlek_len);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(report);
	free(vcek);
	free(chain);
	free(genoa);
	free(turin);
	free(milan_vlek);
	return rc;
}

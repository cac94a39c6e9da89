/* Unit tests for the TPMS_ATTEST, TPMT_SIGNATURE and TPM2B_PUBLIC readers: valid structures
 * written by tpm2-tss's marshaller parse; every error path gives its precise message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <tss2/tss2_mu.h>

#include "attest/tpm/wire.h"
#include "common/util.h"
#include "fixture.h"

static size_t good_quote(uint8_t *buf, size_t max)
{
	TPMS_ATTEST a = { 0 };
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.qualifiedSigner.size = 34;
	a.qualifiedSigner.name[1] = 0x0B;
	a.extraData.size = 8;
	memset(a.extraData.buffer, 0xEE, 8);
	a.clockInfo.clock = 77;
	a.clockInfo.safe = 1;
	a.firmwareVersion = 0x1122334455667788ull;
	a.attested.quote.pcrSelect.count = 1;
	a.attested.quote.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
	a.attested.quote.pcrSelect.pcrSelections[0].sizeofSelect = 3;
	a.attested.quote.pcrSelect.pcrSelections[0].pcrSelect[2] = 0x80;
	a.attested.quote.pcrDigest.size = 32;
	memset(a.attested.quote.pcrDigest.buffer, 0xDD, 32);
	return fx_marshal_attest(&a, buf, max);
}

/* Offsets in good_quote's layout. */
enum { Q_NAME = 6, Q_EXTRA = 6 + 2 + 34, Q_CLOCK = Q_EXTRA + 2 + 8, Q_SAFE = Q_CLOCK + 16, Q_FW = Q_SAFE + 1,
       Q_SEL = Q_FW + 8, Q_DIGEST = Q_SEL + 4 + 2 + 1 + 3 };

static void expect_quote_err(const uint8_t *buf, size_t len, const char *msg)
{
	struct attest_tpm_quote q;
	struct cp_err err = { 0 };
	assert_int_equal(attest_tpm_quote_parse(buf, len, &q, &err), -EBADMSG);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
}

static void test_quote_valid(void **state)
{
	uint8_t buf[512];
	size_t len = good_quote(buf, sizeof(buf));
	struct attest_tpm_quote q;
	struct cp_err err = { 0 };

	assert_int_equal(len, Q_DIGEST + 2 + 32);
	assert_int_equal(attest_tpm_quote_parse(buf, len, &q, &err), 0);
	assert_int_equal(q.type, 0x8018);
	assert_int_equal(q.extra_len, 8);
	assert_int_equal(q.clock, 77);
	assert_true(q.firmware_version == 0x1122334455667788ull);
	assert_int_equal(q.bank_count, 1);
	assert_true(attest_tpm_bank_has(&q.banks[0], 23));
	assert_false(attest_tpm_bank_has(&q.banks[0], 22));
	assert_int_equal(q.pcr_digest_len, 32);
}

static void test_quote_truncated_everywhere(void **state)
{
	uint8_t buf[512];
	size_t len = good_quote(buf, sizeof(buf));
	for (size_t l = 0; l < len; l++)
		expect_quote_err(buf, l, "truncated");
}

static void test_quote_field_errors(void **state)
{
	uint8_t buf[512], t[512];
	size_t len = good_quote(buf, sizeof(buf));

#define MUTATE(code, msg)                   \
	do {                                \
		memcpy(t, buf, len);        \
		code;                       \
		expect_quote_err(t, len, msg); \
	} while (0)
	MUTATE(t[0] = 0xFE, "magic at offset 0");
	MUTATE(cp_put_be16(t + 4, 0x8017), "type at offset 4 is 0x8017");
	MUTATE(cp_put_be16(t + Q_NAME, 33), "is not a valid name");
	MUTATE(cp_put_be16(t + Q_NAME, 67), "qualifiedSigner at offset 6 has size 67");
	MUTATE(cp_put_be16(t + Q_NAME + 2, 0x0004), "is not a valid name"); /* sha1 name with 32 bytes */
	MUTATE(cp_put_be16(t + Q_EXTRA, 65), "extraData at offset 42 has size 65");
	MUTATE(t[Q_SAFE] = 2, "clockInfo.safe");
	MUTATE(cp_put_be32(t + Q_SEL, 0), "pcrSelect.count");
	MUTATE(cp_put_be32(t + Q_SEL, 17), "pcrSelect.count");
	MUTATE(cp_put_be16(t + Q_SEL + 4, 0x0004), "not an accepted bank");
	MUTATE(t[Q_SEL + 6] = 2, "sizeofSelect");
	MUTATE(t[Q_SEL + 6] = 5, "sizeofSelect");
	MUTATE(cp_put_be16(t + Q_DIGEST, 64), "truncated");
#undef MUTATE
	/* a digest of a size no bank has */
	memcpy(t, buf, len);
	cp_put_be16(t + Q_DIGEST, 20);
	expect_quote_err(t, Q_DIGEST + 2 + 20, "not a digest size");
	/* trailing bytes */
	memcpy(t, buf, len);
	t[len] = 0;
	expect_quote_err(t, len + 1, "1 trailing bytes");
}

static void test_quote_repeated_bank(void **state)
{
	TPMS_ATTEST a = { 0 };
	uint8_t buf[512];
	size_t len;
	a.magic = TPM2_GENERATED_VALUE;
	a.type = TPM2_ST_ATTEST_QUOTE;
	a.attested.quote.pcrSelect.count = 2;
	for (int i = 0; i < 2; i++) {
		a.attested.quote.pcrSelect.pcrSelections[i].hash = TPM2_ALG_SHA256;
		a.attested.quote.pcrSelect.pcrSelections[i].sizeofSelect = 3;
	}
	a.attested.quote.pcrDigest.size = 32;
	len = fx_marshal_attest(&a, buf, sizeof(buf));
	expect_quote_err(buf, len, "repeats bank sha256");
}

static size_t marshal_sig(const TPMT_SIGNATURE *s, uint8_t *buf, size_t max)
{
	size_t off = 0;
	assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(s, buf, max, &off), TSS2_RC_SUCCESS);
	return off;
}

static void expect_sig_err(const uint8_t *buf, size_t len, const char *msg)
{
	struct attest_tpm_signature s;
	struct cp_err err = { 0 };
	assert_int_equal(attest_tpm_signature_parse(buf, len, &s, &err), -EBADMSG);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
}

static void test_signature(void **state)
{
	TPMT_SIGNATURE s = { .sigAlg = TPM2_ALG_ECDSA };
	struct attest_tpm_signature out;
	struct cp_err err = { 0 };
	uint8_t buf[1024], t[1024];
	size_t len;

	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	s.signature.ecdsa.signatureS.buffer[0] = 7;
	len = marshal_sig(&s, buf, sizeof(buf));
	assert_int_equal(attest_tpm_signature_parse(buf, len, &out, &err), 0);
	assert_int_equal(out.sig_alg, ATTEST_TPM_ALG_ECDSA);
	assert_int_equal(out.a_len, 32);
	assert_int_equal(out.b[0], 7);
	for (size_t l = 0; l < len; l++)
		expect_sig_err(buf, l, "truncated");
	memcpy(t, buf, len);
	cp_put_be16(t, 0x0019); /* SM2 */
	expect_sig_err(t, len, "sigAlg at offset 0 is 0x0019");
	memcpy(t, buf, len);
	cp_put_be16(t + 2, TPM2_ALG_SHA1);
	expect_sig_err(t, len, "hash at offset 2 is 0x0004 (sha1)");
	memcpy(t, buf, len);
	cp_put_be16(t + 4, 0);
	expect_sig_err(t, len, "signatureR at offset 4 has size 0");
	memcpy(t, buf, len);
	cp_put_be16(t + 4, 67);
	expect_sig_err(t, len, "signatureR at offset 4 has size 67");
	memcpy(t, buf, len);
	t[len] = 1;
	expect_sig_err(t, len + 1, "trailing");

	memset(&s, 0, sizeof(s));
	s.sigAlg = TPM2_ALG_RSASSA;
	s.signature.rsassa.hash = TPM2_ALG_SHA256;
	s.signature.rsassa.sig.size = 256;
	len = marshal_sig(&s, buf, sizeof(buf));
	assert_int_equal(attest_tpm_signature_parse(buf, len, &out, &err), 0);
	assert_int_equal(out.a_len, 256);
	cp_put_be16(buf + 4, 64);
	expect_sig_err(buf, 6 + 64, "sig at offset 4 has size 64");
}

static TPM2B_PUBLIC ecc_public(void)
{
	TPM2B_PUBLIC p = { 0 };
	p.publicArea.type = TPM2_ALG_ECC;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = 0x00050072;
	p.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p.publicArea.unique.ecc.x.size = p.publicArea.unique.ecc.y.size = 32;
	return p;
}

static void expect_pub_err(const uint8_t *buf, size_t len, const char *msg)
{
	struct attest_tpm_public p;
	struct cp_err err = { 0 };
	assert_int_equal(attest_tpm_public_parse(buf, len, &p, &err), -EBADMSG);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
}

static void test_public_ecc(void **state)
{
	TPM2B_PUBLIC p = ecc_public();
	struct attest_tpm_public out;
	struct cp_err err = { 0 };
	uint8_t buf[1024], t[1024];
	size_t len = fx_marshal_public(&p, buf, sizeof(buf));

	assert_int_equal(attest_tpm_public_parse(buf, len, &out, &err), 0);
	assert_int_equal(out.type, ATTEST_TPM_ALG_ECC);
	assert_int_equal(out.curve, ATTEST_TPM_ECC_NIST_P256);
	assert_int_equal(out.scheme, ATTEST_TPM_ALG_ECDSA);
	assert_int_equal(out.tpmt_len, len - 2);
	expect_pub_err(buf, len - 1, "size field");
	for (size_t l = 2; l < len; l++) {
		memcpy(t, buf, l);
		cp_put_be16(t, (uint16_t)(l - 2));
		expect_pub_err(t, l, "truncated");
	}
	memcpy(t, buf, len);
	cp_put_be16(t + 2, 0x0008); /* keyedhash */
	expect_pub_err(t, len, "type at offset 2 is 0x0008");
	memcpy(t, buf, len);
	cp_put_be16(t + 4, TPM2_ALG_SHA1);
	expect_pub_err(t, len, "nameAlg at offset 4");
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P521;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	expect_pub_err(buf, len, "curveID");
	p = ecc_public();
	p.publicArea.unique.ecc.x.size = 31;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	expect_pub_err(buf, len, "unique.ecc.x");
	p = ecc_public();
	p.publicArea.unique.ecc.y.size = 48;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	expect_pub_err(buf, len, "unique.ecc.y");
	/* extra bytes inside a consistent size field */
	p = ecc_public();
	len = fx_marshal_public(&p, buf, sizeof(buf));
	buf[len] = 0;
	cp_put_be16(buf, (uint16_t)(len - 1));
	expect_pub_err(buf, len + 1, "trailing");
}

static void test_public_rsa(void **state)
{
	TPM2B_PUBLIC p = { 0 };
	struct attest_tpm_public out;
	struct cp_err err = { 0 };
	uint8_t buf[1024];
	size_t len;

	p.publicArea.type = TPM2_ALG_RSA;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	p.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
	p.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	p.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	p.publicArea.parameters.rsaDetail.keyBits = 2048;
	p.publicArea.unique.rsa.size = 256;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	assert_int_equal(attest_tpm_public_parse(buf, len, &out, &err), 0);
	assert_int_equal(out.rsa_bits, 2048);
	assert_int_equal(out.symmetric, TPM2_ALG_AES);
	p.publicArea.unique.rsa.size = 255;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	expect_pub_err(buf, len, "keyBits says 256");
	p.publicArea.parameters.rsaDetail.keyBits = 1024;
	p.publicArea.unique.rsa.size = 128;
	len = fx_marshal_public(&p, buf, sizeof(buf));
	expect_pub_err(buf, len, "RSA keyBits 1024");
}

static void test_alg_names(void **state)
{
	assert_string_equal(attest_tpm_alg_name(0x000B), "sha256");
	assert_string_equal(attest_tpm_alg_name(0x7777), "unknown");
	assert_int_equal(attest_tpm_hash_size(ATTEST_TPM_ALG_SHA1), 0);
	assert_int_equal(attest_tpm_hash_size(ATTEST_TPM_ALG_SHA384), 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_valid),
		cmocka_unit_test(test_quote_truncated_everywhere),
		cmocka_unit_test(test_quote_field_errors),
		cmocka_unit_test(test_quote_repeated_bank),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_public_ecc),
		cmocka_unit_test(test_public_rsa),
		cmocka_unit_test(test_alg_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the relying party's half of EK enrolment: the credential file's layout (as
 * tpm2-tools writes it), its reader's refusals, and the EK certificate check's refusals. The
 * cryptography itself is tested against a real TPM both ways in attest-enrol-ek. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "attest/tpm/credential.h"
#include "common/util.h"

static EVP_PKEY *rsa2048(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	assert_non_null(k);
	return k;
}

static void test_layout_and_reader(void **state)
{
	EVP_PKEY *ek = rsa2048();
	uint8_t name[34] = { 0x00, 0x0B }, secret[32], *blob = NULL;
	const uint8_t *id, *enc;
	size_t len, id_len, enc_len;
	struct cp_err err = { 0 };

	memset(name + 2, 0xAB, 32);
	memset(secret, 0x5E, sizeof(secret));
	assert_int_equal(attest_credential_make(ek, name, sizeof(name), secret, sizeof(secret), &blob, &len, &err), 0);
	/* 0xBADCC0DE, version 1, TPM2B_ID_OBJECT (HMAC TPM2B + encrypted TPM2B_DIGEST), TPM2B seed */
	assert_int_equal(cp_be32(blob), 0xBADCC0DE);
	assert_int_equal(cp_be32(blob + 4), 1);
	assert_int_equal(cp_be16(blob + 8), 2 + 32 + 2 + 32);
	assert_int_equal(cp_be16(blob + 10), 32);
	assert_int_equal(cp_be16(blob + 8 + 2 + 68), 256);
	assert_int_equal(len, 8 + 2 + 68 + 2 + 256);
	/* the secret does not appear in the clear */
	assert_null(memmem(blob, len, secret, 8));
	assert_int_equal(attest_credential_parse(blob, len, &id, &id_len, &enc, &enc_len, &err), 0);
	assert_ptr_equal(id, blob + 10);
	assert_int_equal(id_len, 68);
	assert_int_equal(enc_len, 256);
	/* two credentials for the same inputs differ (fresh seed) */
	{
		uint8_t *b2 = NULL;
		size_t l2;
		assert_int_equal(attest_credential_make(ek, name, sizeof(name), secret, sizeof(secret), &b2, &l2, &err), 0);
		assert_int_equal(l2, len);
		assert_memory_not_equal(b2 + 10, blob + 10, 68);
		free(b2);
	}
	/* the reader's refusals: magic, version, sizes that do not fill the file exactly */
	for (size_t cut = 0; cut < len; cut += 7)
		assert_int_equal(attest_credential_parse(blob, cut, &id, &id_len, &enc, &enc_len, NULL), -EBADMSG);
	blob[0] ^= 1;
	assert_int_equal(attest_credential_parse(blob, len, &id, &id_len, &enc, &enc_len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "0xBADCC0DE"));
	blob[0] ^= 1;
	blob[7] = 2;
	assert_int_equal(attest_credential_parse(blob, len, &id, &id_len, &enc, &enc_len, NULL), -EBADMSG);
	blob[7] = 1;
	blob[9]++;
	assert_int_equal(attest_credential_parse(blob, len, &id, &id_len, &enc, &enc_len, NULL), -EBADMSG);
	blob[9]--;
	/* bad arguments */
	assert_int_equal(attest_credential_make(ek, name, 1, secret, 32, &blob, &len, NULL), -EINVAL);
	assert_int_equal(attest_credential_make(ek, name, sizeof(name), secret, 65, &blob, &len, NULL), -EINVAL);
	free(blob);
	EVP_PKEY_free(ek);
}

static void test_ek_cert_refusals(void **state)
{
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	static const char no_pem[] = "not a certificate";
	EVP_PKEY *k = (EVP_PKEY *)1;
	struct cp_err err = { 0 };

	assert_true(attest_ek_cert_check(junk, sizeof(junk), (const uint8_t *)no_pem, sizeof(no_pem), 0, &k, &err) < 0);
	assert_non_null(strstr(err.msg, "not exactly one DER X.509 certificate"));
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_and_reader),
		cmocka_unit_test(test_ek_cert_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

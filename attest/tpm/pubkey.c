/* Conversion of TPM key material to OpenSSL keys; the TPM wire structure stays the source of
 * truth, PEM is derived from it. */
#include "attest/tpm/pubkey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include "attest/tpm/b64.h"
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/param_build.h>

static int build_key(const char *type, OSSL_PARAM *params, EVP_PKEY **out, struct cp_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
		 EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) > 0;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return cp_err_set(err, EBADMSG, "AK public key: OpenSSL rejects the %s key", type);
	return 0;
}

int attest_pubkey_from_tpm(const struct attest_tpm_public *pub, EVP_PKEY **out, struct cp_err *err)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * ATTEST_TPM_MAX_ECC_BYTES];
	int ret = -ENOMEM;

	*out = NULL;
	if (!bld)
		return cp_err_set(err, ENOMEM, "out of memory");
	if (pub->type == ATTEST_TPM_ALG_RSA) {
		n = BN_bin2bn(pub->unique_a, (int)pub->unique_a_len, NULL);
		e = BN_new();
		if (!n || !e || !BN_set_word(e, pub->rsa_exponent ? pub->rsa_exponent : 65537) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = OSSL_PARAM_BLD_to_param(bld)))
			goto oom;
		ret = build_key("RSA", params, out, err);
	} else {
		const char *group = pub->curve == ATTEST_TPM_ECC_NIST_P256 ? "prime256v1" : "secp384r1";
		size_t plen = 1 + pub->unique_a_len + pub->unique_b_len;
		point[0] = 0x04; /* uncompressed point */
		memcpy(point + 1, pub->unique_a, pub->unique_a_len);
		memcpy(point + 1 + pub->unique_a_len, pub->unique_b, pub->unique_b_len);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen) ||
		    !(params = OSSL_PARAM_BLD_to_param(bld)))
			goto oom;
		/* fromdata checks the point is on the curve. */
		ret = build_key("EC", params, out, err);
	}
	goto done;
oom:
	ret = cp_err_set(err, ENOMEM, "out of memory");
done:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return ret;
}

int attest_pubkey_to_pem(EVP_PKEY *pkey, char **out, struct cp_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (!bio || !PEM_write_bio_PUBKEY(bio, pkey)) {
		BIO_free(bio);
		return cp_err_set(err, EIO, "cannot encode the public key as PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	*out = malloc((size_t)n + 1);
	if (!*out) {
		BIO_free(bio);
		return cp_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	BIO_free(bio);
	return 0;
}

int attest_pubkey_sha256(EVP_PKEY *pkey, uint8_t out[32], struct cp_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return cp_err_set(err, EIO, "cannot encode the public key as DER");
	SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

int attest_tpm_public_name(const struct attest_tpm_public *pub, uint8_t out[66], size_t *out_len,
			   struct cp_err *err)
{
	const EVP_MD *md = pub->name_alg == ATTEST_TPM_ALG_SHA256   ? EVP_sha256()
			   : pub->name_alg == ATTEST_TPM_ALG_SHA384 ? EVP_sha384()
			   : pub->name_alg == ATTEST_TPM_ALG_SHA512 ? EVP_sha512()
								    : NULL;
	unsigned n = 0;

	if (!md || !pub->tpmt)
		return cp_err_set(err, EINVAL, "TPM object name: nameAlg 0x%04x is not SHA-256/384/512", pub->name_alg);
	out[0] = (uint8_t)(pub->name_alg >> 8);
	out[1] = (uint8_t)pub->name_alg;
	if (!EVP_Digest(pub->tpmt, pub->tpmt_len, out + 2, &n, md, NULL))
		return cp_err_set(err, EIO, "TPM object name: hashing failed");
	*out_len = 2 + n;
	return 0;
}

int attest_pubkey_from_pem(const char *pem, size_t len, EVP_PKEY **out, struct cp_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k;

	if (!bio)
		return cp_err_set(err, ENOMEM, "out of memory");
	k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!k)
		return cp_err_set(err, EBADMSG, "not a PEM public key");
	*out = k;
	return 0;
}

#define PEM_BEGIN "-----BEGIN PUBLIC KEY-----"
#define PEM_END "-----END PUBLIC KEY-----"

int attest_pubkey_der(EVP_PKEY *pkey, uint8_t **der, size_t *der_len, struct cp_err *err)
{
	unsigned char *out = NULL;
	int n = i2d_PUBKEY(pkey, &out);
	if (n <= 0)
		return cp_err_set(err, EIO, "cannot encode the public key as DER");
	*der = out;
	*der_len = (size_t)n;
	return 0;
}

int attest_pubkey_pem_matches_der(const uint8_t *want, size_t want_len, const char *pem, struct cp_err *err)
{
	size_t n = strlen(pem), j = 0, der_len;
	const char *p, *end;
	uint8_t *der = NULL;
	char *b64;
	int ret;

	if (strncmp(pem, PEM_BEGIN, strlen(PEM_BEGIN)))
		return cp_err_set(err, EBADMSG, "does not start with \"" PEM_BEGIN "\"");
	p = pem + strlen(PEM_BEGIN);
	end = strstr(p, PEM_END);
	if (!end)
		return cp_err_set(err, EBADMSG, "no \"" PEM_END "\" line");
	for (const char *q = end + strlen(PEM_END); *q; q++)
		if (*q != '\n' && *q != '\r')
			return cp_err_set(err, EBADMSG, "data after \"" PEM_END "\"");
	b64 = malloc(n + 1);
	if (!b64)
		return cp_err_set(err, ENOMEM, "out of memory");
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			b64[j++] = *p;
	b64[j] = '\0';
	ret = attest_b64_decode(b64, 8192, &der, &der_len, "PEM body", err);
	free(b64);
	if (ret < 0)
		return ret;
	if (want_len != der_len || memcmp(want, der, der_len))
		ret = cp_err_set(err, EBADMSG, "is not the key in tpm.ak.public");
	free(der);
	return ret;
}

int attest_pubkey_der_from_tpm(const struct attest_tpm_public *pub, EVP_PKEY *pkey, uint8_t **der, size_t *der_len,
			       struct cp_err *err)
{
	/* SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING (0 unused bits) 04||X||Y } */
	static const uint8_t p256[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
					0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };
	static const uint8_t p384[] = { 0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
					0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00 };
	const uint8_t *prefix;
	size_t plen, coord;
	uint8_t *out;

	if (pub->type != ATTEST_TPM_ALG_ECC)
		return attest_pubkey_der(pkey, der, der_len, err);
	if (pub->curve == ATTEST_TPM_ECC_NIST_P256) {
		prefix = p256, plen = sizeof(p256), coord = 32;
	} else if (pub->curve == ATTEST_TPM_ECC_NIST_P384) {
		prefix = p384, plen = sizeof(p384), coord = 48;
	} else {
		return cp_err_set(err, EINVAL, "unsupported curve 0x%04x", pub->curve);
	}
	if (pub->unique_a_len != coord || pub->unique_b_len != coord)
		return cp_err_set(err, EINVAL, "ECC coordinates are not %zu bytes", coord);
	out = OPENSSL_malloc(plen + 1 + 2 * coord);
	if (!out)
		return cp_err_set(err, ENOMEM, "out of memory");
	memcpy(out, prefix, plen);
	out[plen] = 0x04;
	memcpy(out + plen + 1, pub->unique_a, coord);
	memcpy(out + plen + 1 + coord, pub->unique_b, coord);
	*der = out;
	*der_len = plen + 1 + 2 * coord;
	return 0;
}

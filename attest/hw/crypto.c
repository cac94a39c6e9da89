/* Certificate loading, pinned-root matching, chain verification at a given time and raw ECDSA
 * verification for the hardware-evidence verifiers (OpenSSL 3). */
#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

#include "attest/hw/crypto.h"

#define PEM_MARK "-----BEGIN "

int attest_hw_certs_load(const uint8_t *buf, size_t len, STACK_OF(X509) *out, struct cp_err *err)
{
	size_t before = (size_t)sk_X509_num(out);

	if (!buf || len == 0)
		return cp_err_set(err, EINVAL, "certificate: empty input");
	if (len > INT32_MAX)
		return cp_err_set(err, EINVAL, "certificate: input too large");
	if (len >= strlen(PEM_MARK) && memmem(buf, len, PEM_MARK, strlen(PEM_MARK))) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		X509 *x;
		if (!bio)
			return cp_err_set(err, ENOMEM, "certificate: out of memory");
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (!sk_X509_push(out, x)) {
				X509_free(x);
				BIO_free(bio);
				return cp_err_set(err, ENOMEM, "certificate: out of memory");
			}
		}
		/* End of input is the only acceptable way to stop: a damaged block is an error. */
		unsigned long e = ERR_peek_last_error();
		ERR_clear_error();
		BIO_free(bio);
		if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			return cp_err_set(err, EINVAL, "certificate: PEM block %zu does not decode",
					  (size_t)sk_X509_num(out) - before + 1);
		if ((size_t)sk_X509_num(out) == before)
			return cp_err_set(err, EINVAL, "certificate: no PEM CERTIFICATE block");
		return 0;
	}
	const unsigned char *p = buf;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	if (!x)
		return cp_err_set(err, EINVAL, "certificate: neither PEM nor a DER certificate");
	if ((size_t)(p - buf) != len) {
		X509_free(x);
		return cp_err_set(err, EINVAL, "certificate: %zu bytes after the DER certificate (ends at %zu)",
				  len - (size_t)(p - buf), (size_t)(p - buf));
	}
	if (!sk_X509_push(out, x)) {
		X509_free(x);
		return cp_err_set(err, ENOMEM, "certificate: out of memory");
	}
	return 0;
}

void attest_hw_cert_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);

	memset(out, 0, 32);
	if (n > 0)
		SHA256(der, (size_t)n, out);
	OPENSSL_free(der);
}

bool attest_hw_root_matches(X509 *cert, enum attest_hw_root_id id)
{
	const struct attest_hw_root *root = attest_hw_root_get(id);
	uint8_t fp[32];

	if (!root || !cert)
		return false;
	attest_hw_cert_sha256(cert, fp);
	return !memcmp(fp, root->sha256, sizeof(fp));
}

int attest_hw_cert_cn(X509 *cert, char *buf, size_t len)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	ASN1_STRING *s;

	if (len)
		buf[0] = '\0';
	if (idx < 0 || len == 0)
		return -ENOENT;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	if (!s || (size_t)ASN1_STRING_length(s) >= len || memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s)))
		return -EINVAL;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	buf[ASN1_STRING_length(s)] = '\0';
	return 0;
}

int attest_hw_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root, time_t at, char *detail,
			   size_t detail_len)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -EINVAL;

	if (!store || !ctx || !X509_STORE_add_cert(store, root) || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
		snprintf(detail, detail_len, "out of memory setting up chain verification");
		rc = -ENOMEM;
		goto out;
	}
	/* The trust anchor's own signature is checked too (a pinned root is also self-consistent),
	 * and every date is judged at `at`: there is no way to skip date checks. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_CHECK_SS_SIGNATURE);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at);
	if (X509_verify_cert(ctx) == 1) {
		rc = 0;
	} else {
		int e = X509_STORE_CTX_get_error(ctx);
		snprintf(detail, detail_len, "%s (depth %d)", X509_verify_cert_error_string(e),
			 X509_STORE_CTX_get_error_depth(ctx));
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int attest_hw_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *r, const uint8_t *s, size_t n,
			   bool little_endian, const uint8_t *msg, size_t msg_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = little_endian ? BN_lebin2bn(r, (int)n, NULL) : BN_bin2bn(r, (int)n, NULL);
	BIGNUM *bs = little_endian ? BN_lebin2bn(s, (int)n, NULL) : BN_bin2bn(s, (int)n, NULL);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen, rc = -EBADMSG;

	if (!sig || !br || !bs || !mctx) {
		rc = -ENOMEM;
		goto out;
	}
	if (!ECDSA_SIG_set0(sig, br, bs)) {
		rc = -ENOMEM;
		goto out;
	}
	br = bs = NULL;
	derlen = i2d_ECDSA_SIG(sig, &der);
	if (derlen <= 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestVerify(mctx, der, (size_t)derlen, msg, msg_len) == 1)
		rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return rc;
}

EVP_PKEY *attest_hw_p256_from_raw(const uint8_t xy[64])
{
	uint8_t pub[65];
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	pub[0] = 0x04; /* uncompressed point */
	memcpy(pub + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return key;
}

bool attest_hw_key_is_ec(EVP_PKEY *key, const char *curve)
{
	char name[64];
	size_t n = 0;

	if (!key || !EVP_PKEY_is_a(key, "EC"))
		return false;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &n) != 1)
		return false;
	return !strcmp(name, curve);
}

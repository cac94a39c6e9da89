/* EK certificate check and software TPM2_MakeCredential (the relying party's side of EK
 * enrolment); reader of the credential file. */
#include "attest/tpm/credential.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "attest/hw/crypto.h"
#include "common/util.h"

int attest_ek_cert_check(const uint8_t *ek_der, size_t ek_len, const uint8_t *ca_pem, size_t ca_len, time_t at,
			 EVP_PKEY **ek_pub, struct cp_err *err)
{
	const unsigned char *p = ek_der;
	STACK_OF(X509) *cas = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *ek = d2i_X509(NULL, &p, (long)ek_len);
	EVP_PKEY *k = NULL;
	int ret;

	*ek_pub = NULL;
	if (!cas || !store || !ctx) {
		ret = cp_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (!ek || p != ek_der + ek_len) {
		ret = cp_err_set(err, EBADMSG, "EK certificate: not exactly one DER X.509 certificate");
		goto out;
	}
	if ((ret = attest_hw_certs_load(ca_pem, ca_len, cas, err)) < 0) {
		cp_err_prefix(err, "CA: ");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(cas, i));
	/* Every CA certificate given is an anchor the relying party chose (an intermediate too). */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	if (!X509_STORE_CTX_init(ctx, store, ek, NULL)) {
		ret = cp_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (at)
		X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) != 1) {
		ret = cp_err_set(err, EPERM, "EK certificate does not chain to the trusted CA: %s",
				 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	k = X509_get_pubkey(ek);
	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) != 2048) {
		ret = cp_err_set(err, EINVAL, "EK certificate: the key is not RSA-2048 (the TCG default EK, template L-1)");
		goto out;
	}
	*ek_pub = k;
	k = NULL;
	ret = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(ek);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(cas, X509_free);
	return ret;
}

/* KDFa (TPM 2.0 Part 1, 11.4.10.2) with SHA-256, counter mode, one or more HMAC blocks:
 * K(i) = HMAC(key, [i]32 || label || 0x00 || contextU || contextV || [bits]32). */
static int kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u, size_t u_len,
		uint8_t *out, size_t bits)
{
	size_t bytes = bits / 8, done = 0;
	uint32_t i = 1;

	if (!u)
		u_len = 0;

	while (done < bytes) {
		uint8_t msg[4 + 32 + 1 + 66 + 4], block[32];
		size_t llen = strlen(label) + 1, n = 0, take;
		unsigned int hl = 0;
		if (llen > 32 || u_len > 66)
			return -EINVAL;
		cp_put_be32(msg, i++);
		memcpy(msg + 4, label, llen);
		if (u_len)
			memcpy(msg + 4 + llen, u, u_len);
		n = 4 + llen + u_len;
		cp_put_be32(msg + n, (uint32_t)bits);
		n += 4;
		if (!HMAC(EVP_sha256(), key, (int)key_len, msg, n, block, &hl) || hl != 32)
			return -EIO;
		take = bytes - done < 32 ? bytes - done : 32;
		memcpy(out + done, block, take);
		done += take;
	}
	return 0;
}

static int oaep_encrypt(EVP_PKEY *ek, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ek, NULL);
	unsigned char *label = OPENSSL_memdup("IDENTITY", 9); /* with its NUL (Part 1, B.10.4) */
	int ok = c && label && EVP_PKEY_encrypt_init(c) > 0 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
		 EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) > 0 &&
		 EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) > 0;
	if (ok)
		label = NULL; /* owned by the context now */
	ok = ok && EVP_PKEY_encrypt(c, out, out_len, in, in_len) > 0;
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -EIO;
}

int attest_credential_make(EVP_PKEY *ek_pub, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *secret,
			   size_t secret_len, uint8_t **out, size_t *out_len, struct cp_err *err)
{
	uint8_t seed[32], sym[16], hmac_key[32], plain[2 + 64], enc[2 + 64], integrity[32], rsa[512];
	size_t rsa_len = sizeof(rsa), plain_len = 2 + secret_len, id_len, off = 0;
	unsigned int hlen = 0;
	EVP_CIPHER_CTX *c = NULL;
	uint8_t *buf;
	int outl = 0, tail = 0, ok;

	if (!secret_len || secret_len > 64 || ak_name_len < 2 || ak_name_len > 66)
		return cp_err_set(err, EINVAL, "credential: a secret of 1..64 bytes and an AK name are needed");
	if (RAND_bytes(seed, sizeof(seed)) != 1 || oaep_encrypt(ek_pub, seed, sizeof(seed), rsa, &rsa_len) < 0 ||
	    kdfa(seed, sizeof(seed), "STORAGE", ak_name, ak_name_len, sym, 128) < 0 ||
	    kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, hmac_key, 256) < 0)
		return cp_err_set(err, EIO, "credential: sealing the seed to the EK failed");
	/* encIdentity = AES-128-CFB(symKey, IV 0, TPM2B_DIGEST(secret)) */
	cp_put_be16(plain, (uint16_t)secret_len);
	memcpy(plain + 2, secret, secret_len);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_cfb128(), NULL, sym, (const uint8_t[16]){ 0 }) &&
	     EVP_EncryptUpdate(c, enc, &outl, plain, (int)plain_len) && EVP_EncryptFinal_ex(c, enc + outl, &tail) &&
	     (size_t)(outl + tail) == plain_len;
	EVP_CIPHER_CTX_free(c);
	/* outerHMAC = HMAC-SHA256(HMACkey, encIdentity || name) */
	{
		uint8_t msg[66 + 66];
		memcpy(msg, enc, plain_len);
		memcpy(msg + plain_len, ak_name, ak_name_len);
		ok = ok && HMAC(EVP_sha256(), hmac_key, 32, msg, plain_len + ak_name_len, integrity, &hlen) && hlen == 32;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
	if (!ok)
		return cp_err_set(err, EIO, "credential: encryption failed");
	id_len = 2 + 32 + plain_len;
	*out_len = 8 + 2 + id_len + 2 + rsa_len;
	if (!(buf = malloc(*out_len)))
		return cp_err_set(err, ENOMEM, "out of memory");
	cp_put_be32(buf, ATTEST_CREDENTIAL_MAGIC);
	cp_put_be32(buf + 4, 1);
	off = 8;
	cp_put_be16(buf + off, (uint16_t)id_len);
	cp_put_be16(buf + off + 2, 32);
	memcpy(buf + off + 4, integrity, 32);
	memcpy(buf + off + 36, enc, plain_len);
	off += 2 + id_len;
	cp_put_be16(buf + off, (uint16_t)rsa_len);
	memcpy(buf + off + 2, rsa, rsa_len);
	*out = buf;
	return 0;
}

int attest_credential_parse(const uint8_t *buf, size_t len, const uint8_t **id_object, size_t *id_len,
			    const uint8_t **enc_secret, size_t *enc_len, struct cp_err *err)
{
	size_t a, b;

	if (len < 12 || cp_be32(buf) != ATTEST_CREDENTIAL_MAGIC || cp_be32(buf + 4) != 1)
		return cp_err_set(err, EBADMSG, "credential: not a tpm2-tools credential file (magic 0xBADCC0DE, version 1)");
	a = cp_be16(buf + 8);
	if (a < 2 + 32 + 2 || a > len - 10 - 2)
		return cp_err_set(err, EBADMSG, "credential: TPM2B_ID_OBJECT of %zu bytes does not fit", a);
	b = cp_be16(buf + 10 + a);
	if (b == 0 || b != len - 12 - a)
		return cp_err_set(err, EBADMSG, "credential: TPM2B_ENCRYPTED_SECRET of %zu bytes, %zu remain", b,
				  len - 12 - a);
	*id_object = buf + 10;
	*id_len = a;
	*enc_secret = buf + 12 + a;
	*enc_len = b;
	return 0;
}

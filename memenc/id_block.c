/* ID block (96 bytes) and ID auth block (4 KiB) layouts from the SEV-SNP firmware ABI:
 * block = {launch digest 48, family id 16, image id 16, version u32 = 1, guest svn u32, policy u64};
 * auth = {id key algo u32 @0, author key algo u32 @4, id block signature @0x40 (0x200),
 * id public key @0x240 (0x404), id key signature by the author @0x680, author key @0x880}.
 * Signatures are ECDSA P-384/SHA-384 with R and S as 72-byte little-endian fields. */
#include "memenc/id_block.h"

#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "common/util.h"
#include "memenc/hash.h"

#define ALGO_ECDSA_P384_SHA384 1
#define CURVE_P384 2
#define SIG_LEN 0x200
#define OFF_BLOCK_SIG 0x40
#define OFF_ID_KEY 0x240
#define OFF_ID_KEY_SIG 0x680
#define OFF_AUTHOR_KEY 0x880

int memenc_id_key_load(const uint8_t *pem, size_t len, EVP_PKEY **key, struct cp_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char group[64] = "";
	EVP_PKEY *k;

	if (!bio || len > 1 << 20)
		return cp_err_set(err, EINVAL, "ID key: cannot read %zu bytes of PEM", len);
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!k)
		return cp_err_set(err, EINVAL, "ID key: not a PEM private key (unencrypted PEM expected)");
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "secp384r1") != 0) {
		EVP_PKEY_free(k);
		return cp_err_set(err, EINVAL, "ID key: SEV-SNP accepts only ECDSA P-384 keys (got %s)",
				  group[0] ? group : "a non-EC key");
	}
	*key = k;
	return 0;
}

int memenc_snp_pubkey_marshal(EVP_PKEY *key, uint8_t out[MEMENC_SNP_PUBKEY_LEN], struct cp_err *err)
{
	BIGNUM *x = NULL, *y = NULL;
	int r = 0;

	memset(out, 0, MEMENC_SNP_PUBKEY_LEN);
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2lebinpad(x, out + 4, 72) != 72 || BN_bn2lebinpad(y, out + 4 + 72, 72) != 72)
		r = cp_err_set(err, EINVAL, "ID key: cannot read the public point");
	else
		cp_put_le32(out, CURVE_P384);
	BN_free(x);
	BN_free(y);
	return r;
}

int memenc_snp_key_digest(EVP_PKEY *key, uint8_t out[48], struct cp_err *err)
{
	uint8_t pub[MEMENC_SNP_PUBKEY_LEN];
	int r = memenc_snp_pubkey_marshal(key, pub, err);

	return r < 0 ? r : memenc_sha384(pub, sizeof(pub), out, err);
}

/* ECDSA-SHA384 over msg, written in the firmware's signature format (R, S little-endian). */
static int snp_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t out[SIG_LEN], struct cp_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[160];
	size_t der_len = sizeof(der);
	const unsigned char *pp = der;
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	int ret = 0;

	memset(out, 0, SIG_LEN);
	if (!ctx || EVP_DigestSignInit(ctx, NULL, memenc_md_sha384(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, msg, len) != 1 || !(sig = d2i_ECDSA_SIG(NULL, &pp, (long)der_len))) {
		ret = cp_err_set(err, EIO, "ID key: ECDSA signing failed");
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2lebinpad(r, out, 72) != 72 || BN_bn2lebinpad(s, out + 72, 72) != 72)
		ret = cp_err_set(err, EIO, "ID key: signature does not fit the 72-byte fields");
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return ret;
}

int memenc_id_block_build(const struct memenc_id_block_params *p, EVP_PKEY *id_key, EVP_PKEY *author_key,
			  uint8_t block[MEMENC_ID_BLOCK_LEN], uint8_t auth[MEMENC_ID_AUTH_LEN],
			  uint8_t id_digest[48], uint8_t author_digest[48], struct cp_err *err)
{
	int r;

	memset(block, 0, MEMENC_ID_BLOCK_LEN);
	memset(auth, 0, MEMENC_ID_AUTH_LEN);
	memset(author_digest, 0, 48);
	memcpy(block, p->launch_digest, 48);
	memcpy(block + 48, p->family_id, 16);
	memcpy(block + 64, p->image_id, 16);
	cp_put_le32(block + 80, 1); /* ID block version */
	cp_put_le32(block + 84, p->guest_svn);
	cp_put_le64(block + 88, p->policy);

	cp_put_le32(auth, ALGO_ECDSA_P384_SHA384);
	r = snp_sign(id_key, block, MEMENC_ID_BLOCK_LEN, auth + OFF_BLOCK_SIG, err);
	if (r == 0)
		r = memenc_snp_pubkey_marshal(id_key, auth + OFF_ID_KEY, err);
	if (r == 0)
		r = memenc_sha384(auth + OFF_ID_KEY, MEMENC_SNP_PUBKEY_LEN, id_digest, err);
	if (r == 0 && author_key) {
		cp_put_le32(auth + 4, ALGO_ECDSA_P384_SHA384);
		r = snp_sign(author_key, auth + OFF_ID_KEY, MEMENC_SNP_PUBKEY_LEN, auth + OFF_ID_KEY_SIG, err);
		if (r == 0)
			r = memenc_snp_pubkey_marshal(author_key, auth + OFF_AUTHOR_KEY, err);
		if (r == 0)
			r = memenc_sha384(auth + OFF_AUTHOR_KEY, MEMENC_SNP_PUBKEY_LEN, author_digest, err);
	}
	return r;
}

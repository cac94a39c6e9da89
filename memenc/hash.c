/* SHA helpers: fetch each algorithm once (explicit fetch is faster than the implicit one per call). */
#include "memenc/hash.h"

#include <errno.h>
#include <pthread.h>

static const EVP_MD *md384, *md256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *memenc_md_sha384(void)
{
	pthread_once(&md_once, md_fetch);
	return md384 ? md384 : EVP_sha384();
}

const EVP_MD *memenc_md_sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return md256 ? md256 : EVP_sha256();
}

int memenc_digest_ctx(EVP_MD_CTX *ctx, const EVP_MD *md, const void *data, size_t len, uint8_t *out,
		      struct cp_err *err)
{
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		return cp_err_set(err, EIO, "OpenSSL digest failed");
	return 0;
}

static int oneshot(const EVP_MD *md, const void *data, size_t len, uint8_t *out, struct cp_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r;

	if (!ctx)
		return cp_err_set(err, ENOMEM, "out of memory for a digest context");
	r = memenc_digest_ctx(ctx, md, data, len, out, err);
	EVP_MD_CTX_free(ctx);
	return r;
}

int memenc_sha384(const void *data, size_t len, uint8_t out[48], struct cp_err *err)
{
	return oneshot(memenc_md_sha384(), data, len, out, err);
}

int memenc_sha256(const void *data, size_t len, uint8_t out[32], struct cp_err *err)
{
	return oneshot(memenc_md_sha256(), data, len, out, err);
}

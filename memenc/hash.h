/* Thin SHA-256/384 helpers over OpenSSL EVP for memenc's pure code (no state kept between calls
 * except the fetched algorithm objects). */
#ifndef CARAPACE_MEMENC_HASH_H
#define CARAPACE_MEMENC_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/err.h"

const EVP_MD *memenc_md_sha384(void);
const EVP_MD *memenc_md_sha256(void);
/* One-shot digests; return 0 or -EIO with a message. */
int memenc_sha384(const void *data, size_t len, uint8_t out[48], struct cp_err *err);
int memenc_sha256(const void *data, size_t len, uint8_t out[32], struct cp_err *err);
/* Digest with a caller-held context (avoids an allocation per page in hot loops). */
int memenc_digest_ctx(EVP_MD_CTX *ctx, const EVP_MD *md, const void *data, size_t len, uint8_t *out,
		      struct cp_err *err);

#endif

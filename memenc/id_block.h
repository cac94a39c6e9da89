/* SEV-SNP ID block and ID authentication block (SNP_LAUNCH_FINISH inputs), signed with an
 * ECDSA P-384 ID key and optionally endorsed by an author key. Pure apart from OpenSSL. */
#ifndef CARAPACE_MEMENC_ID_BLOCK_H
#define CARAPACE_MEMENC_ID_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/err.h"

#define MEMENC_ID_BLOCK_LEN 96
#define MEMENC_ID_AUTH_LEN 4096
#define MEMENC_SNP_PUBKEY_LEN 0x404
#define MEMENC_SNP_POLICY_DEFAULT 0x30000ull /* SMT allowed, reserved bit 17 (QEMU's default) */

struct memenc_id_block_params {
	uint8_t launch_digest[48];
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t guest_svn;
	uint64_t policy;
};

/* Parse a PEM private key from memory; it must be ECDSA P-384. */
int memenc_id_key_load(const uint8_t *pem, size_t len, EVP_PKEY **key, struct cp_err *err);
/* The firmware's public key structure: u32 curve (2 = P-384), Qx and Qy as 72-byte
 * little-endian fields, zero padded to 0x404 bytes. */
int memenc_snp_pubkey_marshal(EVP_PKEY *key, uint8_t out[MEMENC_SNP_PUBKEY_LEN], struct cp_err *err);
/* SHA-384 of that structure: the id_key_digest / author_key_digest attestation reports carry. */
int memenc_snp_key_digest(EVP_PKEY *key, uint8_t out[48], struct cp_err *err);

/* Build and sign. author_key may be NULL (then AUTHOR_KEY_EN must stay 0 at launch and
 * author_digest is zeroed). */
int memenc_id_block_build(const struct memenc_id_block_params *p, EVP_PKEY *id_key, EVP_PKEY *author_key,
			  uint8_t block[MEMENC_ID_BLOCK_LEN], uint8_t auth[MEMENC_ID_AUTH_LEN],
			  uint8_t id_digest[48], uint8_t author_digest[48], struct cp_err *err);

#endif

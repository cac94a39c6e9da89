/* TPM public keys as OpenSSL keys: TPM2B_PUBLIC -> EVP_PKEY, PEM, SHA-256 pin. Pure + OpenSSL. */
#ifndef CARAPACE_ATTEST_TPM_PUBKEY_H
#define CARAPACE_ATTEST_TPM_PUBKEY_H

#include <openssl/evp.h>

#include "attest/tpm/wire.h"
#include "common/err.h"

int attest_pubkey_from_tpm(const struct attest_tpm_public *pub, EVP_PKEY **out, struct cp_err *err);
/* malloc'd PEM "PUBLIC KEY" (SubjectPublicKeyInfo). */
int attest_pubkey_to_pem(EVP_PKEY *pkey, char **out, struct cp_err *err);
/* SHA-256 over the DER SubjectPublicKeyInfo: the AK pin a relying party records. */
int attest_pubkey_sha256(EVP_PKEY *pkey, uint8_t out[32], struct cp_err *err);
/* Does `pem` hold exactly this DER SubjectPublicKeyInfo (any line wrapping)? Compares bytes
 * instead of decoding the PEM into a second key: stricter, and it keeps OpenSSL's decoder
 * machinery off the verifier's hot path. */
int attest_pubkey_pem_matches_der(const uint8_t *der, size_t der_len, const char *pem, struct cp_err *err);
/* DER SubjectPublicKeyInfo, malloc'd (free with OPENSSL_free). */
int attest_pubkey_der(EVP_PKEY *pkey, uint8_t **der, size_t *der_len, struct cp_err *err);
/* DER SubjectPublicKeyInfo straight from the TPM key material: fixed RFC 5480 prefixes for
 * NIST P-256/P-384 (no OpenSSL encoder), OpenSSL's encoder for RSA. OPENSSL_free it. */
int attest_pubkey_der_from_tpm(const struct attest_tpm_public *pub, EVP_PKEY *pkey, uint8_t **der, size_t *der_len,
			       struct cp_err *err);
/* The TPM object's Name: nameAlg (u16 big-endian) || H_nameAlg(TPMT_PUBLIC), as the TPM itself
 * computes it (TPM 2.0 Part 1, 16 "Names"). It covers every attribute, the policy and the key,
 * so it is what a pin or a credential binds to. out holds up to 2 + 64 bytes. */
int attest_tpm_public_name(const struct attest_tpm_public *pub, uint8_t out[66], size_t *out_len,
			   struct cp_err *err);
/* Parse a PEM public key (exactly one). */
int attest_pubkey_from_pem(const char *pem, size_t len, EVP_PKEY **out, struct cp_err *err);

#endif

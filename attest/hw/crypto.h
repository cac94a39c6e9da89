/* OpenSSL helpers shared by the SNP and TDX verifiers: certificate loading, pinned roots,
 * chain verification as of a given time, raw ECDSA signatures. Pure (no files, no logging). */
#ifndef CARAPACE_ATTEST_HW_CRYPTO_H
#define CARAPACE_ATTEST_HW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/err.h"

enum attest_hw_root_id {
	ATTEST_HW_ROOT_AMD_ARK_MILAN,
	ATTEST_HW_ROOT_AMD_ARK_GENOA,
	ATTEST_HW_ROOT_AMD_ARK_TURIN,
	ATTEST_HW_ROOT_INTEL_SGX,
	ATTEST_HW_ROOT_COUNT,
};

struct attest_hw_root {
	enum attest_hw_root_id id;
	const char *subject_cn; /* expected CN of the pinned certificate */
	uint8_t sha256[32];     /* SHA-256 of the certificate's DER encoding */
};

const struct attest_hw_root *attest_hw_root_get(enum attest_hw_root_id id);

/* Load one DER certificate, or every certificate of a PEM text, appending to `out`. Exact: a DER
 * certificate must span the whole buffer; in PEM text every CERTIFICATE block must decode
 * (blocks of other types are passed over, never used). */
int attest_hw_certs_load(const uint8_t *buf, size_t len, STACK_OF(X509) *out, struct cp_err *err);
void attest_hw_cert_sha256(X509 *cert, uint8_t out[32]);
/* True when `cert` is byte-identical (by SHA-256 of DER) to the pinned root. */
bool attest_hw_root_matches(X509 *cert, enum attest_hw_root_id id);
/* Common name of a subject, into buf; -ENOENT when absent. */
int attest_hw_cert_cn(X509 *cert, char *buf, size_t len);

/* Verify leaf → untrusted… → root, with `root` the only trust anchor (its self-signature is
 * checked too), at time `at`. On failure `detail` holds OpenSSL's reason and the depth. */
int attest_hw_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, X509 *root, time_t at, char *detail,
			   size_t detail_len);

/* ECDSA over msg with digest md; r and s as raw unsigned integers, big- or little-endian. */
int attest_hw_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *r, const uint8_t *s, size_t n,
			   bool little_endian, const uint8_t *msg, size_t msg_len);
/* A P-256 public key from its raw X||Y (64 bytes); NULL when the point is not on the curve. */
EVP_PKEY *attest_hw_p256_from_raw(const uint8_t xy[64]);
/* "EC" key on the named curve ("secp384r1", "prime256v1")? */
bool attest_hw_key_is_ec(EVP_PKEY *key, const char *curve);

#endif

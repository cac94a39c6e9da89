/* Validating readers for the TPM 2.0 structures a relying party receives: TPMS_ATTEST (quote),
 * TPMT_SIGNATURE and TPM2B_PUBLIC. Pure: big-endian wire bytes in, plain structs out. */
#ifndef CARAPACE_ATTEST_TPM_WIRE_H
#define CARAPACE_ATTEST_TPM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Constants from the TPM 2.0 Library specification, part 2 (facts, not code). */
#define ATTEST_TPM_GENERATED_VALUE 0xFF544347u
#define ATTEST_TPM_ST_ATTEST_QUOTE 0x8018u
#define ATTEST_TPM_ALG_RSA 0x0001u
#define ATTEST_TPM_ALG_SHA1 0x0004u
#define ATTEST_TPM_ALG_SHA256 0x000Bu
#define ATTEST_TPM_ALG_SHA384 0x000Cu
#define ATTEST_TPM_ALG_SHA512 0x000Du
#define ATTEST_TPM_ALG_NULL 0x0010u
#define ATTEST_TPM_ALG_RSASSA 0x0014u
#define ATTEST_TPM_ALG_RSAPSS 0x0016u
#define ATTEST_TPM_ALG_ECDSA 0x0018u
#define ATTEST_TPM_ALG_ECC 0x0023u
#define ATTEST_TPM_ECC_NIST_P256 0x0003u
#define ATTEST_TPM_ECC_NIST_P384 0x0004u

#define ATTEST_TPMA_FIXEDTPM 0x00000002u
#define ATTEST_TPMA_FIXEDPARENT 0x00000010u
#define ATTEST_TPMA_SENSITIVEDATAORIGIN 0x00000020u
#define ATTEST_TPMA_RESTRICTED 0x00010000u
#define ATTEST_TPMA_DECRYPT 0x00020000u
#define ATTEST_TPMA_SIGN 0x00040000u

#define ATTEST_TPM_MAX_DIGEST 64    /* SHA-512 */
#define ATTEST_TPM_MAX_NAME 66      /* u16 alg + SHA-512 digest */
#define ATTEST_TPM_MAX_BANKS 16     /* HASH_COUNT bound used by tpm2-tss */
#define ATTEST_TPM_MAX_SELECT 4     /* 32 PCRs */
#define ATTEST_TPM_MAX_RSA_BYTES 512 /* RSA-4096 */
#define ATTEST_TPM_MAX_ECC_BYTES 66  /* P-521 */
#define ATTEST_TPM_MAX_PUBLIC 1024

struct attest_tpm_pcr_bank {
	uint16_t hash;
	uint8_t size_of_select;
	uint8_t select[ATTEST_TPM_MAX_SELECT];
};

/* A parsed TPMS_ATTEST whose type is TPM_ST_ATTEST_QUOTE. */
struct attest_tpm_quote {
	uint32_t magic;
	uint16_t type;
	uint8_t signer[ATTEST_TPM_MAX_NAME];
	size_t signer_len;
	uint8_t extra[ATTEST_TPM_MAX_DIGEST];
	size_t extra_len;
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
	uint8_t safe;
	uint64_t firmware_version;
	uint32_t bank_count;
	struct attest_tpm_pcr_bank banks[ATTEST_TPM_MAX_BANKS];
	uint8_t pcr_digest[ATTEST_TPM_MAX_DIGEST];
	size_t pcr_digest_len;
};

/* A parsed TPMT_SIGNATURE: RSASSA/RSAPSS keep the signature in a; ECDSA keeps r in a, s in b. */
struct attest_tpm_signature {
	uint16_t sig_alg;
	uint16_t hash;
	uint8_t a[ATTEST_TPM_MAX_RSA_BYTES];
	size_t a_len;
	uint8_t b[ATTEST_TPM_MAX_ECC_BYTES];
	size_t b_len;
};

/* A parsed TPM2B_PUBLIC for an RSA or ECC key. tpmt/tpmt_len point into the caller's buffer
 * (the marshalled TPMT_PUBLIC, which the object's Name is computed over). */
struct attest_tpm_public {
	uint16_t type;
	uint16_t name_alg;
	uint32_t attributes;
	uint16_t symmetric;
	uint16_t scheme;
	uint16_t scheme_hash;
	uint16_t rsa_bits;
	uint32_t rsa_exponent;     /* 0 on the wire means 65537; stored as read */
	uint16_t curve;
	uint8_t unique_a[ATTEST_TPM_MAX_RSA_BYTES]; /* RSA modulus, or ECC x */
	size_t unique_a_len;
	uint8_t unique_b[ATTEST_TPM_MAX_ECC_BYTES]; /* ECC y */
	size_t unique_b_len;
	const uint8_t *tpmt;
	size_t tpmt_len;
};

/* Size of a digest for a TPM hash algorithm; 0 for unknown or refused (SHA-1). */
size_t attest_tpm_hash_size(uint16_t alg);
const char *attest_tpm_alg_name(uint16_t alg);

int attest_tpm_quote_parse(const uint8_t *buf, size_t len, struct attest_tpm_quote *q, struct cp_err *err);
int attest_tpm_signature_parse(const uint8_t *buf, size_t len, struct attest_tpm_signature *s,
			       struct cp_err *err);
/* buf holds a TPM2B_PUBLIC (u16 size + TPMT_PUBLIC) and nothing else. */
int attest_tpm_public_parse(const uint8_t *buf, size_t len, struct attest_tpm_public *p, struct cp_err *err);

/* Is PCR `index` selected in `bank`? */
static inline int attest_tpm_bank_has(const struct attest_tpm_pcr_bank *bank, unsigned index)
{
	return index / 8 < bank->size_of_select && (bank->select[index / 8] >> (index % 8)) & 1;
}

#endif

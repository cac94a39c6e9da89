/* AMD SEV-SNP ATTESTATION_REPORT (ABI spec, 0x4A0 bytes, little-endian) and the extended-report
 * certificate table: validating readers. Pure: buffers in, structs and precise errors out. */
#ifndef CARAPACE_ATTEST_HW_SNP_REPORT_H
#define CARAPACE_ATTEST_HW_SNP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_HW_SNP_REPORT_SIZE 0x4A0
#define ATTEST_HW_SNP_SIGNED_LEN 0x2A0 /* bytes 0x000-0x29F are signed */
#define ATTEST_HW_SNP_SIG_COMPONENT 72 /* R and S: 72-byte little-endian fields, P-384 uses 48 */

/* Guest policy bits (SNP ABI "GUEST_POLICY"). */
#define ATTEST_HW_SNP_POLICY_SMT (1ULL << 16)
#define ATTEST_HW_SNP_POLICY_RESERVED1 (1ULL << 17) /* must be 1 */
#define ATTEST_HW_SNP_POLICY_MIGRATE_MA (1ULL << 18)
#define ATTEST_HW_SNP_POLICY_DEBUG (1ULL << 19)
#define ATTEST_HW_SNP_POLICY_SINGLE_SOCKET (1ULL << 20)
#define ATTEST_HW_SNP_POLICY_CXL_ALLOW (1ULL << 21)
#define ATTEST_HW_SNP_POLICY_MEM_AES_256_XTS (1ULL << 22)
#define ATTEST_HW_SNP_POLICY_RAPL_DIS (1ULL << 23)
#define ATTEST_HW_SNP_POLICY_CIPHERTEXT_HIDING (1ULL << 24)
#define ATTEST_HW_SNP_POLICY_PAGE_SWAP_DISABLE (1ULL << 25)
#define ATTEST_HW_SNP_POLICY_KNOWN_MASK ((1ULL << 26) - 1) /* bits 26-63 must be zero */

/* PLATFORM_INFO bits known today: 0 SMT_EN, 1 TSME_EN, 2 ECC_EN, 3 RAPL_DIS,
 * 4 CIPHERTEXT_HIDING_EN, 5 ALIAS_CHECK_COMPLETE, 7 SEV-TIO. */
#define ATTEST_HW_SNP_PLATFORM_KNOWN_MASK 0xBFULL

/* SIGNER_INFO fields. */
#define ATTEST_HW_SNP_SIGNER_AUTHOR_KEY_EN (1U << 0)
#define ATTEST_HW_SNP_SIGNER_MASK_CHIP_KEY (1U << 1)
#define ATTEST_HW_SNP_SIGNER_KEY_SHIFT 2
#define ATTEST_HW_SNP_SIGNER_KEY_MASK 0x7U
#define ATTEST_HW_SNP_SIGNER_RESERVED_MASK (~0x1FU)
enum attest_hw_snp_signing_key {
	ATTEST_HW_SNP_KEY_VCEK = 0,
	ATTEST_HW_SNP_KEY_VLEK = 1,
	ATTEST_HW_SNP_KEY_NONE = 7,
};

enum attest_hw_snp_product {
	ATTEST_HW_SNP_PRODUCT_UNKNOWN = 0,
	ATTEST_HW_SNP_PRODUCT_MILAN,
	ATTEST_HW_SNP_PRODUCT_GENOA,
	ATTEST_HW_SNP_PRODUCT_TURIN,
};

/* TCB_VERSION decoded: Milan/Genoa bytes [bl, tee, 0, 0, 0, 0, snp, ucode];
 * Turin [fmc, bl, tee, snp, 0, 0, 0, ucode]. */
struct attest_hw_snp_tcb {
	uint8_t fmc, bl, tee, snp, ucode;
};

struct attest_hw_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	uint32_t signer_info;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* version >= 3, else 0 */
	uint8_t chip_id[64];
	uint64_t committed_tcb;
	uint8_t current_build, current_minor, current_major;
	uint8_t committed_build, committed_minor, committed_major;
	uint64_t launch_tcb;
	uint64_t launch_mit_vector, current_mit_vector; /* version >= 5, else 0 */
	uint8_t sig_r[ATTEST_HW_SNP_SIG_COMPONENT];
	uint8_t sig_s[ATTEST_HW_SNP_SIG_COMPONENT];
};

/* Exact size 0x4A0, known version (2, 3, 4, 5), signature algorithm 1 (ECDSA P-384 SHA-384). */
int attest_hw_snp_report_parse(const uint8_t *buf, size_t len, struct attest_hw_snp_report *out,
			       struct cp_err *err);
/* Every reserved byte range of the report (per its version) is zero, including the unused high
 * bytes of R and S and the signature block's tail; the error names the first offset that is not. */
int attest_hw_snp_report_check_reserved(const uint8_t *buf, size_t len, struct cp_err *err);

/* Decode a TCB_VERSION for a product line; reserved bytes must be zero. */
int attest_hw_snp_tcb_decode(uint64_t raw, enum attest_hw_snp_product product, struct attest_hw_snp_tcb *out,
			     struct cp_err *err);
/* Product line from a VCEK/VLEK productName ("Milan-B0", "Genoa", "Turin-…"). */
enum attest_hw_snp_product attest_hw_snp_product_from_name(const char *name);
const char *attest_hw_snp_product_name(enum attest_hw_snp_product p);
/* Product line implied by the report's CPUID family/model (version >= 3), UNKNOWN when not known. */
enum attest_hw_snp_product attest_hw_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* Extended-report certificate table: 24-byte entries {GUID (RFC 4122 byte order), u32 offset,
 * u32 length}, terminated by an all-zero entry; offsets are relative to the table start. */
struct attest_hw_snp_cert_slice {
	const uint8_t *der;
	size_t len;
};
struct attest_hw_snp_certs {
	struct attest_hw_snp_cert_slice vcek, vlek, ask, ark; /* ask holds the ASVK in a VLEK table */
};
int attest_hw_snp_certtable_parse(const uint8_t *buf, size_t len, struct attest_hw_snp_certs *out,
				  struct cp_err *err);

#endif

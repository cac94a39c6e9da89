/* Intel TDX quote (DCAP, versions 4 and 5; TDX 1.0 and 1.5 bodies) with ECDSA-P256 signature data:
 * validating reader. Pure; the parsed struct points into the caller's buffer. */
#ifndef CARAPACE_ATTEST_HW_TDX_QUOTE_H
#define CARAPACE_ATTEST_HW_TDX_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_HW_TDX_HEADER_SIZE 48
#define ATTEST_HW_TDX_BODY10_SIZE 584
#define ATTEST_HW_TDX_BODY15_SIZE 648
#define ATTEST_HW_TDX_QE_REPORT_SIZE 384
#define ATTEST_HW_TDX_TEE_TYPE 0x81
#define ATTEST_HW_TDX_KEY_ECDSA_P256 2
#define ATTEST_HW_TDX_CERT_PCK_CHAIN 5   /* PEM chain: PCK leaf, intermediate CA, root */
#define ATTEST_HW_TDX_CERT_QE_REPORT 6   /* QE report certification data */
#define ATTEST_HW_TDX_TDATTR_DEBUG (1ULL << 0)
#define ATTEST_HW_TDX_MAX_QUOTE (1U << 20)

struct attest_hw_tdx_body {
	bool is_tdx15;
	uint8_t tee_tcb_svn[16];
	uint8_t mrseam[48];
	uint8_t mrsignerseam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mrtd[48];
	uint8_t mrconfigid[48];
	uint8_t mrowner[48];
	uint8_t mrownerconfig[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	uint8_t tee_tcb_svn2[16]; /* TDX 1.5 only */
	uint8_t mrservicetd[48];  /* TDX 1.5 only */
};

struct attest_hw_tdx_qe_report {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t attributes[16];
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid, isvsvn;
	uint8_t report_data[64];
};

struct attest_hw_tdx_quote {
	uint16_t version;
	uint16_t att_key_type;
	uint32_t tee_type;
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
	uint16_t body_type; /* v5: 2 = TDX 1.0, 3 = TDX 1.5; v4: 2 */
	uint32_t body_size;
	struct attest_hw_tdx_body body;

	const uint8_t *signed_data; /* header (+ v5 type and size) + body */
	size_t signed_len;
	const uint8_t *signature;   /* r||s, 64 bytes big-endian */
	const uint8_t *att_key;     /* X||Y, 64 bytes */
	const uint8_t *qe_report;   /* 384 bytes, signed by the PCK key */
	struct attest_hw_tdx_qe_report qe;
	const uint8_t *qe_report_sig; /* r||s, 64 bytes */
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	const uint8_t *pck_chain; /* PEM text: PEM certificate blocks only, without the terminator */
	size_t pck_chain_len;
	bool pck_chain_nul;       /* the chain ended with the NUL Intel's quoting library writes */
	size_t trailing;          /* bytes after the signature data (never signed, never used) */
	bool trailing_zero;       /* they were all zero */
};

int attest_hw_tdx_quote_parse(const uint8_t *buf, size_t len, struct attest_hw_tdx_quote *out, struct cp_err *err);

#endif

/* Intel PCS collateral for TDX (TCB info v3, QE identity v2) and the SGX extensions of a PCK
 * certificate: readers and the pure evaluation against a parsed quote. Signatures are checked
 * by the caller (tdx_verify.c) before any of this is trusted. */
#ifndef CARAPACE_ATTEST_HW_TDX_COLLATERAL_H
#define CARAPACE_ATTEST_HW_TDX_COLLATERAL_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "attest/hw/tdx_quote.h"
#include "common/err.h"

struct attest_hw_pck_info {
	uint8_t comp_svn[16];
	uint16_t pcesvn;
	uint8_t cpusvn[16];
	uint8_t pceid[2];
	uint8_t fmspc[6];
};

/* Read the Intel SGX extension (1.2.840.113741.1.13.1) of a PCK certificate. */
int attest_hw_pck_info_read(X509 *pck, struct attest_hw_pck_info *out, struct cp_err *err);

/* Split a PCS response {"<key>": {...}, "signature": "hex"} into the exact signed text of the
 * inner object (as json-c re-serialises it, compact) and the 64-byte r||s signature. *signed_text
 * is malloc'd. */
int attest_hw_collateral_split(const uint8_t *buf, size_t len, const char *key, char **signed_text,
			       uint8_t sig[64], struct cp_err *err);

/* Evaluate a (signature-checked) TCB info body against the quote and PCK; on success *status
 * points to the matching level's tcbStatus (static storage of the call is not used: copied). */
int attest_hw_tcbinfo_eval(const char *tcbinfo_json, const struct attest_hw_tdx_quote *q,
			   const struct attest_hw_pck_info *pck, time_t at, char *status, size_t status_len,
			   struct cp_err *err);
/* Evaluate a (signature-checked) QE identity body against the QE report. */
int attest_hw_qeid_eval(const char *qeid_json, const struct attest_hw_tdx_quote *q, time_t at, char *status,
			size_t status_len, struct cp_err *err);

#endif

/* Hardware-evidence verifiers: an SEV-SNP report with its AMD chain, a TDX quote with its PCK
 * chain and collateral. Buffers in, a list of checks out; no files, no logging. */
#ifndef CARAPACE_ATTEST_HW_VERIFY_H
#define CARAPACE_ATTEST_HW_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "attest/hw/verify_policy.h"
#include "attest/hw/result.h"

struct attest_hw_blob {
	const uint8_t *data;
	size_t len;
};

#define ATTEST_HW_CHAIN_MAX 4

struct attest_hw_snp_input {
	struct attest_hw_blob report;      /* 0x4A0-byte ATTESTATION_REPORT */
	struct attest_hw_blob signer_cert; /* VCEK or VLEK, DER or PEM */
	struct attest_hw_blob chain[ATTEST_HW_CHAIN_MAX]; /* ASK (or ASVK) and ARK: DER or PEM each */
	size_t nchain;
	time_t at;                                /* validity is judged at this time */
	bool allow_debug;                         /* accept a guest policy with DEBUG set (so does policy->allow_debug) */
	const struct cp_refvals_snp *policy;     /* NULL: no relying-party expectations */
};

struct attest_hw_tdx_input {
	struct attest_hw_blob quote;
	struct attest_hw_blob pck_crl, root_crl;       /* optional, DER or PEM */
	struct attest_hw_blob tcb_info, qe_identity;  /* optional PCS JSON responses */
	struct attest_hw_blob tcb_chain;              /* optional TCB signing chain (PEM) for both */
	time_t at;
	bool allow_debug;
	const struct cp_refvals_tdx *policy;
};

/* Both return 0 after recording every check (the verdict is attest_hw_result_ok()), or a negative
 * errno when the verifier itself could not run (out of memory); a failed check is never an error. */
int attest_hw_snp_verify(const struct attest_hw_snp_input *in, struct attest_hw_result *res);
int attest_hw_tdx_verify(const struct attest_hw_tdx_input *in, struct attest_hw_result *res);

#endif

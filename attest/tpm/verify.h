/* The evidence verifier: every check on a parsed bundle, each with its own verdict. Pure +
 * OpenSSL (no TPM, no files). */
#ifndef CARAPACE_ATTEST_TPM_VERIFY_H
#define CARAPACE_ATTEST_TPM_VERIFY_H

#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/tpm/evidence.h"
#include "common/err.h"

enum attest_check_status { ATTEST_CHECK_PASS, ATTEST_CHECK_FAIL, ATTEST_CHECK_SKIP };

/* The checks, in the order they run and are printed. */
enum attest_check_id {
	ATTEST_CHECK_EVIDENCE_FORMAT,
	ATTEST_CHECK_AK_PUBLIC,
	ATTEST_CHECK_QUOTE_STRUCTURE,
	ATTEST_CHECK_SIGNATURE,
	ATTEST_CHECK_NONCE,
	ATTEST_CHECK_PCR_DIGEST,
	ATTEST_CHECK_BOOT_LOG,
	ATTEST_CHECK_EVENT_LOG,
	ATTEST_CHECK_VM_LIFECYCLE,
	ATTEST_CHECK_VM_IDENTITY,
	ATTEST_CHECK_LAUNCH_MEASUREMENT,
	ATTEST_CHECK_LAUNCH_POLICY,
	ATTEST_CHECK_BOOT_PCRS,
	ATTEST_CHECK_AK_TRUST,
	ATTEST_CHECK_EK_CERTIFICATE,
	ATTEST_CHECK_PLATFORM_EVIDENCE,
	ATTEST_CHECK_BINDING,
	ATTEST_CHECK_COUNT,
};

struct attest_check {
	enum attest_check_status status;
	char detail[320];
};

struct attest_verify_result {
	struct attest_check checks[ATTEST_CHECK_COUNT];
	bool passed; /* no check failed */
};

struct attest_verify_opts {
	const uint8_t *nonce;
	size_t nonce_len;
	const struct attest_evidence_policy *policy; /* NULL: no reference values */
	const uint8_t (*ak_pins)[32];                /* AK Names 0x000B || SHA-256(TPMT_PUBLIC): the digest part */
	size_t n_ak_pins;
	bool allow_unverified_platform;
	/* Hardware evidence (attest/hw): judged as of this time (0: now); DEBUG guests refused unless allowed. */
	time_t platform_at;
	bool platform_allow_debug;
};

const char *attest_check_name(enum attest_check_id id);
const char *attest_check_status_name(enum attest_check_status st);

/* Run every check. Returns 0 when the verifier ran (look at res->passed), or a negative errno
 * for a programming error (bad arguments). A bundle that does not parse is reported through
 * attest_verify_json() -> ATTEST_CHECK_EVIDENCE_FORMAT. */
int attest_verify_evidence(const struct attest_evidence *ev, const struct attest_verify_opts *opts,
			   struct attest_verify_result *res);
/* Parse the JSON bundle, then verify. */
int attest_verify_json(const char *json, size_t len, const struct attest_verify_opts *opts,
		       struct attest_verify_result *res);

/* Read the field a confidential VM's hardware report uses for the binding digest:
 * SNP HOST_DATA (0xC0, 32 bytes) or TDX MRCONFIGID (48 bytes; v4 at 0xE8, v5 after the body
 * descriptor). Structural reads only: signatures are attest/hw's job. */
int attest_snp_host_data(const uint8_t *report, size_t len, uint8_t out[32], struct cp_err *err);
int attest_tdx_mrconfigid(const uint8_t *quote, size_t len, uint8_t out[48], struct cp_err *err);

#endif

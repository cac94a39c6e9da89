/* The evidence bundle carapace attest writes and carapace verify evidence reads (JSON, binary
 * fields in base64), and the reference-value policy for the verifier. Pure; schema in
 * docs/evidence.md. */
#ifndef CARAPACE_ATTEST_TPM_EVIDENCE_H
#define CARAPACE_ATTEST_TPM_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/tpm/eventlog.h"
#include "common/err.h"
#include "common/refvals.h"

#define ATTEST_EVIDENCE_FORMAT "carapace-evidence"
#define ATTEST_EVIDENCE_VERSION 2 /* 2: host launch log (issue 14); 1 (per-VM resettable PCR) is refused */
#define ATTEST_EVIDENCE_POLICY_VERSION 1
#define ATTEST_EVIDENCE_MAX_BYTES (8u << 20)
#define ATTEST_EVIDENCE_MAX_PCRS 24

struct attest_blob {
	uint8_t *data;
	size_t len; /* data == NULL: absent */
};

struct attest_pcr_value {
	uint32_t index;
	uint8_t value[32];
};

struct attest_evidence {
	struct attest_blob quote;     /* TPMS_ATTEST */
	struct attest_blob signature; /* TPMT_SIGNATURE */
	uint32_t pcr_count;           /* sha256 bank, ascending, unique */
	struct attest_pcr_value pcrs[ATTEST_EVIDENCE_MAX_PCRS];
	struct attest_blob event_log; /* this VM's launch record: binary CPEL log */
	struct attest_blob launch_log; /* the host launch log: binary CPHL, digests only */
	struct attest_blob boot_log;   /* optional: the host's TCG boot event log (attest/tpm/tcglog.h) */
	char *ak_pem;
	struct attest_blob ak_public; /* TPM2B_PUBLIC */
	struct attest_blob ek_cert;   /* DER, optional */
	struct attest_blob snp_report;      /* optional */
	struct attest_blob snp_cert_table;  /* optional */
	struct attest_blob tdx_quote;       /* optional */
	char *vm_name;                /* optional */
	struct attest_blob vm_config; /* optional */
};

void attest_evidence_free(struct attest_evidence *ev); /* NULL-tolerant */
/* Pretty JSON, malloc'd. */
int attest_evidence_to_json(const struct attest_evidence *ev, char **out, struct cp_err *err);
/* Validating reader: strict keys, types, sizes; on error ev is left empty. */
int attest_evidence_parse(const char *json, size_t len, struct attest_evidence *ev, struct cp_err *err);

/* Reference values a relying party gives the verifier (--policy FILE). */
#define ATTEST_POLICY_MAX_VALUES 16
struct attest_evidence_policy {
	size_t n_measurements;
	uint8_t measurements[ATTEST_POLICY_MAX_VALUES][48];
	size_t measurement_len[ATTEST_POLICY_MAX_VALUES];
	size_t n_policy_digests;
	uint8_t policy_digests[ATTEST_POLICY_MAX_VALUES][32];
	size_t n_ak_pins; /* "ak_names": SHA-256 TPM Names; the 32-byte digest after 0x000B is kept */
	uint8_t ak_pins[ATTEST_POLICY_MAX_VALUES][32];
	/* "ak_enrolled": names of AKs the relying party enrolled by EK credential activation
	 * (carapace verify enrol finish): the stronger anchor. */
	size_t n_ak_enrolled;
	uint8_t ak_enrolled[ATTEST_POLICY_MAX_VALUES][32];
	/* "boot_pcrs": {"sha256": {"0": HEX, ...}}: the host's expected boot PCR values (0..7). */
	uint32_t boot_pcr_mask;
	uint8_t boot_pcrs[8][32];
	/* "platform": {"snp": {...}, "tdx": {...}}: the reference values (common/refvals.h,
	 * docs/refvals.md) the platform evidence is verified against. */
	struct cp_refvals platform;
};
int attest_evidence_policy_parse(const char *json, size_t len, struct attest_evidence_policy *pol,
				 struct cp_err *err);

/* The digest that ties a TPM attestation key and a launch policy to a confidential VM's
 * hardware report: SHA-256("carapace.binding.v1\0" || TPM2B_PUBLIC of the AK ||
 * policy_digest[32]). It goes into SNP HOST_DATA (32 bytes) and the first 32 bytes of TDX
 * MRCONFIGID (the remaining 16 are zero). */
int attest_binding_digest(const uint8_t *ak_public, size_t ak_public_len, const uint8_t policy_digest[32],
			  uint8_t out[32]);

#endif

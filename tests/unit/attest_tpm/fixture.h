/* Test fixture: a complete, valid evidence bundle made without a TPM: a software key stands in
 * for the AK, tpm2-tss's marshaller (an independent implementation) writes the TPM structures. */
#ifndef CARAPACE_TEST_ATTEST_TPM_FIXTURE_H
#define CARAPACE_TEST_ATTEST_TPM_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest/tpm/evidence.h"

enum fx_alg { FX_ECDSA, FX_RSASSA, FX_RSAPSS };

struct fx {
	enum fx_alg alg;
	EVP_PKEY *key;
	TPM2B_PUBLIC pub;
	TPMS_ATTEST attest;
	struct attest_evidence ev;
	uint8_t nonce[16];
	uint8_t measurement[48];
	uint8_t policy_digest[32];
	uint8_t launch_id[16];
	uint8_t ak_name[32]; /* the AK pin: SHA-256 of TPMT_PUBLIC (its TPM name is 0x000B || this) */
};

/* attrs 0: the attributes of a real AK. */
void fx_make(struct fx *f, enum fx_alg alg, uint32_t attrs);
/* Re-marshal f->attest into ev.quote and sign it. */
void fx_requote(struct fx *f);
#define FX_PCR 13 /* the host launch log's PCR in the fixture */
/* Replace the VM's launch record with log; rebuild the host launch log around it (another
 * tenant's launch, this launch, another tenant's stop) and requote PCR 13 with its replay. */
void fx_set_log(struct fx *f, const struct attest_eventlog *log);
void fx_set_raw_record(struct fx *f, const uint8_t *rec, size_t len);
void fx_free(struct fx *f);

/* Marshal helpers for parser tests. */
size_t fx_marshal_attest(const TPMS_ATTEST *a, uint8_t *buf, size_t max);
size_t fx_marshal_public(const TPM2B_PUBLIC *p, uint8_t *buf, size_t max);

#endif

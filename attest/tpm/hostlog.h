/* The host-wide launch log ("CPHL"): one append-only log per host and TPM boot, extended into
 * one PCR that cannot be reset after boot. Each entry is a type and a SHA-256 digest only: a
 * VM's launch entry is the digest of its launch record (attest/tpm/eventlog.h, which carries a
 * random launch id), its stop entry the digest of that launch id, so other tenants appear as
 * digests and nothing else. Pure (OpenSSL for SHA-256). Format: docs/evidence.md. */
#ifndef CARAPACE_ATTEST_TPM_HOSTLOG_H
#define CARAPACE_ATTEST_TPM_HOSTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_HOSTLOG_MAGIC "CPHL"
#define ATTEST_HOSTLOG_VERSION 1
#define ATTEST_HOSTLOG_HEADER_LEN 48 /* magic 4, version 2, hash alg 2, pcr 4, reset count 4, base 32 */
#define ATTEST_HOSTLOG_ENTRY_LEN 36  /* type 2, reserved 2, digest 32 */
#define ATTEST_HOSTLOG_MAX_BYTES (4u << 20)
#define ATTEST_HOSTLOG_PCR_DEFAULT 13
#define ATTEST_LAUNCH_ID_LEN 16

enum attest_hostlog_type {
	ATTEST_HOSTLOG_LAUNCH = 1, /* digest: SHA-256("carapace.hostlog.launch.v1\0" || launch record) */
	ATTEST_HOSTLOG_STOP = 2,   /* digest: SHA-256("carapace.hostlog.stop.v1\0" || launch id) */
};

struct attest_hostlog_entry {
	uint16_t type;
	uint8_t digest[32];
};

struct attest_hostlog {
	uint32_t pcr;          /* the PCR every entry extends */
	uint32_t reset_count;  /* the TPM's resetCount when the log started: one log per TPM boot */
	uint8_t base[32];      /* the PCR's value when the log started (zero, or what the boot log put there) */
	size_t count;
	struct attest_hostlog_entry *entries;
};

void attest_hostlog_free(struct attest_hostlog *log); /* NULL-tolerant */

/* Which PCRs may hold the log. 8..15 are the static OS PCRs: a TPM resets them only with
 * itself (TPM Reset at host boot), never on command. 16 and 23 are resettable from locality 0
 * and 17..22 by a dynamic launch, so a compromised host could rewrite history: refused unless
 * allow_resettable. 0..7 belong to the firmware's boot log: always refused. */
int attest_hostlog_pcr_check(uint32_t pcr, bool allow_resettable, struct cp_err *err);

/* Validating reader. *torn (when non-NULL) receives the length of an incomplete last entry
 * (a write a crash cut short), which is then ignored; with torn == NULL it is an error. */
int attest_hostlog_parse(const uint8_t *buf, size_t len, struct attest_hostlog *log, size_t *torn,
			 struct cp_err *err);
void attest_hostlog_header(uint32_t pcr, uint32_t reset_count, const uint8_t base[32],
			   uint8_t out[ATTEST_HOSTLOG_HEADER_LEN]);
void attest_hostlog_entry_bytes(uint16_t type, const uint8_t digest[32], uint8_t out[ATTEST_HOSTLOG_ENTRY_LEN]);

/* The PCR value after the first n entries, starting from base. */
void attest_hostlog_replay(const struct attest_hostlog *log, size_t n, uint8_t out[32]);

int attest_hostlog_launch_digest(const uint8_t *record, size_t len, uint8_t out[32]);
int attest_hostlog_stop_digest(const uint8_t launch_id[ATTEST_LAUNCH_ID_LEN], uint8_t out[32]);

#endif

/* The host's TCG PC Client boot event log (/sys/kernel/security/tpm0/binary_bios_measurements):
 * a validating reader for both formats (crypto-agile TCG_PCR_EVENT2 after a "Spec ID Event03"
 * header, and the older SHA-1 TCG_PCClientPCREvent list) that replays every bank it carries.
 * Pure (OpenSSL for the hashes). Format facts: TCG PC Client Platform Firmware Profile 1.05,
 * sections 10.2 (event structures) and 10.4.5 (StartupLocality), and tpm2-tools 5.4
 * lib/tpm2_eventlog.c (parse_eventlog, foreach_event2: the replay rules its tpm2_eventlog uses). */
#ifndef CARAPACE_ATTEST_TPM_TCGLOG_H
#define CARAPACE_ATTEST_TPM_TCGLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_TCGLOG_MAX_BYTES (4u << 20)
#define ATTEST_TCGLOG_MAX_EVENTS 65536
#define ATTEST_TCGLOG_MAX_EVENT_DATA (1u << 20)
#define ATTEST_TCGLOG_PCRS 24
#define ATTEST_TCGLOG_MAX_BANKS 4 /* sha1, sha256, sha384, sha512 */

#define ATTEST_TCG_EV_NO_ACTION 0x00000003u
#define ATTEST_TCG_EV_EFI_HCRTM_EVENT 0x80000010u

struct attest_tcglog_bank {
	uint16_t alg;        /* TPM_ALG_SHA1/SHA256/SHA384/SHA512 */
	size_t size;         /* digest size */
	uint32_t used;       /* bit n: some event named PCR n in this bank */
	uint8_t pcr[ATTEST_TCGLOG_PCRS][64];
};

struct attest_tcglog {
	bool crypto_agile;   /* false: the SHA-1 format */
	uint32_t events;     /* every event in the file, the Spec ID header included */
	unsigned n_banks;    /* in the order the Spec ID header lists them (SHA-1 format: one) */
	struct attest_tcglog_bank banks[ATTEST_TCGLOG_MAX_BANKS];
};

/* Parse and replay. Every PCR starts at zero, except PCR 0 after a StartupLocality event (its
 * last byte is the locality) or an H-CRTM event (last byte 4, then extended); EV_NO_ACTION
 * events are never extended. Refuses: a truncated or over-long event, trailing bytes, a PCR
 * beyond 23, a digest list that is not exactly the header's banks, an algorithm other than
 * SHA-1/256/384/512, a Spec ID header that is not exactly its declared size, a locality event
 * after PCR 0 was extended. On error out is zeroed and err says which event, at which offset. */
int attest_tcglog_replay(const uint8_t *buf, size_t len, struct attest_tcglog *out, struct cp_err *err);

const struct attest_tcglog_bank *attest_tcglog_bank(const struct attest_tcglog *log, uint16_t alg);
const char *attest_tcglog_alg_name(uint16_t alg); /* "sha256", ...; NULL when unknown */

/* The one JSON form `carapace verify eventlog --json` prints:
 * {"pcrs": {"sha256": {"0": "HEX", ...}, "sha1": {...}}, "events": N} with banks in the order
 * sha256, sha1, sha384, sha512 (only those the log carries), PCRs ascending, only PCRs some
 * event named, lowercase hex. malloc'd. */
char *attest_tcglog_json(const struct attest_tcglog *log);

#endif

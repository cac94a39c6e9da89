/* Validating reader for a TCG2 crypto-agile event log as TDX firmware writes it (the CCEL
 * log area), and its replay into RTMR0-3. Pure. */
#ifndef CARAPACE_MEMENC_CCEL_H
#define CARAPACE_MEMENC_CCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MEMENC_EV_NO_ACTION 0x3u
#define MEMENC_TPM_ALG_SHA384 0x000cu
#define MEMENC_CCEL_MAX_ALGS 8

struct memenc_ccel_event {
	size_t index;           /* 0 = the Spec ID event */
	size_t offset;          /* where the event starts in the log */
	uint32_t mr_index;      /* CC MR index: 0 MRTD, 1..4 = RTMR0..3 */
	uint32_t type;
	const uint8_t *sha384;  /* the SHA-384 digest of this event, NULL when it carries none */
	const uint8_t *data;
	uint32_t data_len;
};

enum memenc_ccel_state { MEMENC_CCEL_START, MEMENC_CCEL_EVENTS, MEMENC_CCEL_END };

struct memenc_ccel_reader {
	const uint8_t *log;
	size_t len, pos, index;
	enum memenc_ccel_state state;
	unsigned nalgs;
	uint16_t alg[MEMENC_CCEL_MAX_ALGS], alg_size[MEMENC_CCEL_MAX_ALGS];
};

void memenc_ccel_reader_init(struct memenc_ccel_reader *r, const uint8_t *log, size_t len);
/* Next event: 1 and *ev filled, 0 at the end of the log (0xff/0x00 fill or the buffer end),
 * -errno with the offending offset and field named. The first event returned is the Spec ID
 * event (which declares the digest sizes); it must list SHA-384. */
int memenc_ccel_next(struct memenc_ccel_reader *r, struct memenc_ccel_event *ev, struct cp_err *err);

/* RTMR[i] = SHA-384(RTMR[i] || digest). */
int memenc_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48], struct cp_err *err);

/* Replay every measured event (EV_NO_ACTION skipped) into rtmr[0..3], starting from zero.
 * *events (may be NULL) gets the number of events extended. */
int memenc_ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[4][48], size_t *events,
		       struct cp_err *err);

#endif

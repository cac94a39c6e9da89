/* carapace's launch event log: what the runner extended into a TPM PCR, in order, so that a
 * verifier can replay it. Pure (OpenSSL for SHA-256). Wire format: docs/evidence.md. */
#ifndef CARAPACE_ATTEST_TPM_EVENTLOG_H
#define CARAPACE_ATTEST_TPM_EVENTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define ATTEST_EVENTLOG_MAGIC "CPEL"
#define ATTEST_EVENTLOG_VERSION 1
#define ATTEST_EVENTLOG_MAX_EVENTS 1024
#define ATTEST_EVENTLOG_MAX_DATA 4096
#define ATTEST_EVENTLOG_MAX_BYTES (1u << 20)
#define ATTEST_EVENT_DIGEST_LEN 32 /* SHA-256 bank */
#define ATTEST_PCR_DEFAULT 23
#define ATTEST_PCR_MAX 23          /* PCRs 0..23 exist on every PC-client TPM */
#define ATTEST_VM_NAME_MAX 64

/* Event types; values are on the wire, never reuse one. */
enum attest_event_type {
	ATTEST_EVENT_VM_START = 1,           /* data: VM name */
	ATTEST_EVENT_LAUNCH_MEASUREMENT = 2, /* data: launch digest (32 or 48 bytes) */
	ATTEST_EVENT_VM_CONFIG = 3,          /* data: SHA-256 of the VM configuration */
	ATTEST_EVENT_LAUNCH_POLICY = 4,      /* data: SHA-256 of the launch policy */
	ATTEST_EVENT_DEVICE_HELPER = 5,      /* data: SHA-256 of the helper binary, then its name */
	ATTEST_EVENT_LAUNCH_ID = 6,          /* data: 16 random bytes, unique to this launch */
};

struct attest_event {
	uint32_t pcr;
	uint16_t type;
	uint8_t digest[ATTEST_EVENT_DIGEST_LEN];
	uint8_t *data;
	uint32_t data_len;
};

struct attest_eventlog {
	size_t count;
	size_t cap;
	struct attest_event *events;
};

void attest_eventlog_init(struct attest_eventlog *log);
void attest_eventlog_free(struct attest_eventlog *log); /* NULL-tolerant; leaves an empty log */

const char *attest_event_type_name(uint16_t type);    /* NULL when unknown */
int attest_event_type_from_name(const char *name);    /* -EINVAL when unknown */

/* Check that data is well formed for the event type (sizes, name characters). */
int attest_event_data_check(uint16_t type, const uint8_t *data, size_t len, struct cp_err *err);
/* The value extended into the PCR: SHA-256("carapace.event.v1\0" || u16be type ||
 * u32be len || data). Binding the type stops one event being replayed as another. */
int attest_event_digest(uint16_t type, const uint8_t *data, size_t len, uint8_t out[ATTEST_EVENT_DIGEST_LEN]);

/* Append a validated event; the digest is computed here, never taken from a caller. */
int attest_eventlog_append(struct attest_eventlog *log, uint32_t pcr, uint16_t type, const uint8_t *data,
			   size_t len, struct cp_err *err);
/* Remove the last event (the runner undoes an append whose PCR extend failed). */
void attest_eventlog_drop_last(struct attest_eventlog *log);

int attest_eventlog_serialize(const struct attest_eventlog *log, uint8_t **out, size_t *out_len,
			      struct cp_err *err);
/* Validating reader: on error the log is left empty. */
int attest_eventlog_parse(const uint8_t *buf, size_t len, struct attest_eventlog *log, struct cp_err *err);

/* Replay every event for `pcr` starting from 32 zero bytes (a reset PCR). Returns the number
 * of events replayed. */
size_t attest_eventlog_replay(const struct attest_eventlog *log, uint32_t pcr, uint8_t out[ATTEST_EVENT_DIGEST_LEN]);
/* PCR extend: out = SHA-256(out || digest). */
void attest_pcr_extend_sha256(uint8_t pcr[32], const uint8_t digest[32]);

#endif

/* The launch event log: append (digest computed here), binary reader/writer, replay. */
#include "attest/tpm/eventlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/util.h"

#define EVENT_DOMAIN "carapace.event.v1"
#define HEADER_LEN 12 /* magic 4, version 2, hash 2, count 4 */
#define EVENT_FIXED_LEN 44 /* pcr 4, type 2, reserved 2, digest 32, data_len 4 */

static const char *const type_names[] = {
	[ATTEST_EVENT_VM_START] = "vm-start",
	[ATTEST_EVENT_LAUNCH_MEASUREMENT] = "launch-measurement",
	[ATTEST_EVENT_VM_CONFIG] = "vm-config",
	[ATTEST_EVENT_LAUNCH_POLICY] = "launch-policy",
	[ATTEST_EVENT_DEVICE_HELPER] = "device-helper",
	[ATTEST_EVENT_LAUNCH_ID] = "launch-id",
};

void attest_eventlog_init(struct attest_eventlog *log)
{
	memset(log, 0, sizeof(*log));
}

void attest_eventlog_free(struct attest_eventlog *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++)
		free(log->events[i].data);
	free(log->events);
	attest_eventlog_init(log);
}

const char *attest_event_type_name(uint16_t type)
{
	return type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type] : NULL;
}

int attest_event_type_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i] && !strcmp(type_names[i], name))
			return (int)i;
	return -EINVAL;
}

/* VM and helper names end up in file names and in relying parties' logs: keep them plain. */
static int name_check(const uint8_t *s, size_t len, const char *what, struct cp_err *err)
{
	if (len == 0 || len > ATTEST_VM_NAME_MAX)
		return cp_err_set(err, EINVAL, "%s is %zu bytes, allowed 1..%d", what, len, ATTEST_VM_NAME_MAX);
	if (s[0] == '.' || s[0] == '-')
		return cp_err_set(err, EINVAL, "%s must not start with '%c'", what, s[0]);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return cp_err_set(err, EINVAL, "%s: byte %zu (0x%02x) is not one of [A-Za-z0-9._-]", what, i, c);
	}
	return 0;
}

int attest_event_data_check(uint16_t type, const uint8_t *data, size_t len, struct cp_err *err)
{
	const char *name = attest_event_type_name(type);

	if (!name)
		return cp_err_set(err, EINVAL, "event type %u is unknown", type);
	switch ((enum attest_event_type)type) {
	case ATTEST_EVENT_VM_START:
		return name_check(data, len, "vm-start: VM name", err);
	case ATTEST_EVENT_LAUNCH_MEASUREMENT:
		if (len != 32 && len != 48)
			return cp_err_set(err, EINVAL, "launch-measurement: %zu bytes, expected 32 or 48", len);
		return 0;
	case ATTEST_EVENT_VM_CONFIG:
	case ATTEST_EVENT_LAUNCH_POLICY:
		if (len != 32)
			return cp_err_set(err, EINVAL, "%s: %zu bytes, expected a 32-byte SHA-256 digest", name, len);
		return 0;
	case ATTEST_EVENT_LAUNCH_ID:
		if (len != 16)
			return cp_err_set(err, EINVAL, "launch-id: %zu bytes, expected 16", len);
		return 0;
	case ATTEST_EVENT_DEVICE_HELPER:
		if (len <= 32)
			return cp_err_set(err, EINVAL, "device-helper: %zu bytes, expected a SHA-256 digest and a name",
					  len);
		return name_check(data + 32, len - 32, "device-helper: name", err);
	}
	return cp_err_set(err, EINVAL, "event type %u is unknown", type);
}

int attest_event_digest(uint16_t type, const uint8_t *data, size_t len, uint8_t out[ATTEST_EVENT_DIGEST_LEN])
{
	uint8_t hdr[6];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	cp_put_be16(hdr, type);
	cp_put_be32(hdr + 2, (uint32_t)len);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, EVENT_DOMAIN, sizeof(EVENT_DOMAIN)) && /* with its NUL */
	     EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) && EVP_DigestUpdate(ctx, data, len) &&
	     EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

void attest_pcr_extend_sha256(uint8_t pcr[32], const uint8_t digest[32])
{
	uint8_t buf[64];
	memcpy(buf, pcr, 32);
	memcpy(buf + 32, digest, 32);
	SHA256(buf, sizeof(buf), pcr);
}

static int push(struct attest_eventlog *log, uint32_t pcr, uint16_t type, const uint8_t *digest,
		const uint8_t *data, size_t len, struct cp_err *err)
{
	struct attest_event *ev;

	if (log->count >= ATTEST_EVENTLOG_MAX_EVENTS)
		return cp_err_set(err, E2BIG, "event log is full (%d events)", ATTEST_EVENTLOG_MAX_EVENTS);
	if (log->count == log->cap) {
		size_t ncap = log->cap ? log->cap * 2 : 8;
		struct attest_event *n = realloc(log->events, ncap * sizeof(*n));
		if (!n)
			return cp_err_set(err, ENOMEM, "event log: out of memory");
		log->events = n;
		log->cap = ncap;
	}
	ev = &log->events[log->count];
	ev->data = malloc(len ? len : 1);
	if (!ev->data)
		return cp_err_set(err, ENOMEM, "event log: out of memory");
	memcpy(ev->data, data, len);
	ev->data_len = (uint32_t)len;
	ev->pcr = pcr;
	ev->type = type;
	memcpy(ev->digest, digest, ATTEST_EVENT_DIGEST_LEN);
	log->count++;
	return 0;
}

int attest_eventlog_append(struct attest_eventlog *log, uint32_t pcr, uint16_t type, const uint8_t *data,
			   size_t len, struct cp_err *err)
{
	uint8_t digest[ATTEST_EVENT_DIGEST_LEN];
	int ret;

	if (pcr > ATTEST_PCR_MAX)
		return cp_err_set(err, EINVAL, "PCR %u out of range 0..%d", pcr, ATTEST_PCR_MAX);
	if (len > ATTEST_EVENTLOG_MAX_DATA)
		return cp_err_set(err, EINVAL, "event data is %zu bytes, at most %d", len, ATTEST_EVENTLOG_MAX_DATA);
	if ((ret = attest_event_data_check(type, data, len, err)) < 0)
		return ret;
	if ((ret = attest_event_digest(type, data, len, digest)) < 0)
		return cp_err_set(err, -ret, "event digest: SHA-256 failed");
	return push(log, pcr, type, digest, data, len, err);
}

void attest_eventlog_drop_last(struct attest_eventlog *log)
{
	if (log->count) {
		log->count--;
		free(log->events[log->count].data);
		log->events[log->count].data = NULL;
	}
}

int attest_eventlog_serialize(const struct attest_eventlog *log, uint8_t **out, size_t *out_len,
			      struct cp_err *err)
{
	size_t total = HEADER_LEN, off;
	uint8_t *buf;

	for (size_t i = 0; i < log->count; i++)
		total += EVENT_FIXED_LEN + log->events[i].data_len;
	if (total > ATTEST_EVENTLOG_MAX_BYTES)
		return cp_err_set(err, E2BIG, "event log: %zu bytes exceeds %u", total, ATTEST_EVENTLOG_MAX_BYTES);
	buf = malloc(total);
	if (!buf)
		return cp_err_set(err, ENOMEM, "event log: out of memory");
	memcpy(buf, ATTEST_EVENTLOG_MAGIC, 4);
	cp_put_be16(buf + 4, ATTEST_EVENTLOG_VERSION);
	cp_put_be16(buf + 6, 0x000B); /* TPM_ALG_SHA256: the bank the digests belong to */
	cp_put_be32(buf + 8, (uint32_t)log->count);
	off = HEADER_LEN;
	for (size_t i = 0; i < log->count; i++) {
		const struct attest_event *ev = &log->events[i];
		cp_put_be32(buf + off, ev->pcr);
		cp_put_be16(buf + off + 4, ev->type);
		cp_put_be16(buf + off + 6, 0);
		memcpy(buf + off + 8, ev->digest, ATTEST_EVENT_DIGEST_LEN);
		cp_put_be32(buf + off + 40, ev->data_len);
		memcpy(buf + off + EVENT_FIXED_LEN, ev->data, ev->data_len);
		off += EVENT_FIXED_LEN + ev->data_len;
	}
	*out = buf;
	*out_len = total;
	return 0;
}

static int parse_events(const uint8_t *buf, size_t len, struct attest_eventlog *log, struct cp_err *err)
{
	uint32_t count;
	size_t off = HEADER_LEN;

	if (len < HEADER_LEN)
		return cp_err_set(err, EBADMSG, "event log: %zu bytes is shorter than the %d-byte header", len, HEADER_LEN);
	if (len > ATTEST_EVENTLOG_MAX_BYTES)
		return cp_err_set(err, EBADMSG, "event log: %zu bytes exceeds %u", len, ATTEST_EVENTLOG_MAX_BYTES);
	if (memcmp(buf, ATTEST_EVENTLOG_MAGIC, 4))
		return cp_err_set(err, EBADMSG, "event log: bad magic at offset 0 (expected \"CPEL\")");
	if (cp_be16(buf + 4) != ATTEST_EVENTLOG_VERSION)
		return cp_err_set(err, EBADMSG, "event log: version %u at offset 4, expected %d", cp_be16(buf + 4),
				  ATTEST_EVENTLOG_VERSION);
	if (cp_be16(buf + 6) != 0x000B)
		return cp_err_set(err, EBADMSG, "event log: hash algorithm 0x%04x at offset 6, expected 0x000b (sha256)",
				  cp_be16(buf + 6));
	count = cp_be32(buf + 8);
	if (count > ATTEST_EVENTLOG_MAX_EVENTS)
		return cp_err_set(err, EBADMSG, "event log: count %u at offset 8 exceeds %d", count,
				  ATTEST_EVENTLOG_MAX_EVENTS);
	for (uint32_t i = 0; i < count; i++) {
		uint8_t want[ATTEST_EVENT_DIGEST_LEN];
		uint32_t pcr, dlen;
		uint16_t type;
		int ret;

		if (len - off < EVENT_FIXED_LEN)
			return cp_err_set(err, EBADMSG, "event log: event %u at offset %zu is truncated", i, off);
		pcr = cp_be32(buf + off);
		type = cp_be16(buf + off + 4);
		dlen = cp_be32(buf + off + 40);
		if (pcr > ATTEST_PCR_MAX)
			return cp_err_set(err, EBADMSG, "event log: event %u at offset %zu: PCR %u out of range 0..%d", i,
					  off, pcr, ATTEST_PCR_MAX);
		if (!attest_event_type_name(type))
			return cp_err_set(err, EBADMSG, "event log: event %u at offset %zu: unknown type %u", i,
					  off + 4, type);
		if (cp_be16(buf + off + 6))
			return cp_err_set(err, EBADMSG, "event log: event %u at offset %zu: reserved field is not zero", i,
					  off + 6);
		if (dlen > ATTEST_EVENTLOG_MAX_DATA || dlen > len - off - EVENT_FIXED_LEN)
			return cp_err_set(err, EBADMSG, "event log: event %u at offset %zu: data length %u exceeds %s", i,
					  off + 40, dlen, dlen > ATTEST_EVENTLOG_MAX_DATA ? "the limit" : "the log");
		if ((ret = attest_event_data_check(type, buf + off + EVENT_FIXED_LEN, dlen, err)) < 0) {
			cp_err_prefix(err, "event log: event %u at offset %zu: ", i, off);
			return -EBADMSG;
		}
		if (attest_event_digest(type, buf + off + EVENT_FIXED_LEN, dlen, want) < 0)
			return cp_err_set(err, EIO, "event log: SHA-256 failed");
		/* The digest is what was extended; it must be the digest of the data shown. */
		if (memcmp(want, buf + off + 8, ATTEST_EVENT_DIGEST_LEN))
			return cp_err_set(err, EBADMSG,
					  "event log: event %u (%s) at offset %zu: digest does not match its data", i,
					  attest_event_type_name(type), off + 8);
		if ((ret = push(log, pcr, type, want, buf + off + EVENT_FIXED_LEN, dlen, err)) < 0)
			return ret;
		off += EVENT_FIXED_LEN + dlen;
	}
	if (off != len)
		return cp_err_set(err, EBADMSG, "event log: %zu trailing bytes at offset %zu", len - off, off);
	return 0;
}

int attest_eventlog_parse(const uint8_t *buf, size_t len, struct attest_eventlog *log, struct cp_err *err)
{
	int ret;

	attest_eventlog_init(log);
	ret = parse_events(buf, len, log, err);
	if (ret < 0)
		attest_eventlog_free(log);
	return ret;
}

size_t attest_eventlog_replay(const struct attest_eventlog *log, uint32_t pcr, uint8_t out[ATTEST_EVENT_DIGEST_LEN])
{
	size_t n = 0;

	memset(out, 0, ATTEST_EVENT_DIGEST_LEN);
	for (size_t i = 0; i < log->count; i++)
		if (log->events[i].pcr == pcr) {
			attest_pcr_extend_sha256(out, log->events[i].digest);
			n++;
		}
	return n;
}

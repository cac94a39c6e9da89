/* TCG PC Client boot event log: validating reader and replay (both formats), JSON form. */
#include "attest/tpm/tcglog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/tpm/wire.h"
#include "common/cleanup.h"
#include "common/util.h"

#define SHA1_EVENT_FIXED 32    /* pcrIndex 4, eventType 4, digest 20, eventDataSize 4 */
#define SPECID_SIG "Spec ID Event03" /* 16 bytes with its NUL */
#define LOCALITY_SIG "StartupLocality" /* 16 bytes with its NUL, then u8 locality */

static const struct {
	uint16_t alg;
	size_t size;
	const char *name;
} algs[] = {
	{ ATTEST_TPM_ALG_SHA256, 32, "sha256" },
	{ ATTEST_TPM_ALG_SHA1, 20, "sha1" },
	{ ATTEST_TPM_ALG_SHA384, 48, "sha384" },
	{ ATTEST_TPM_ALG_SHA512, 64, "sha512" },
};

static const EVP_MD *md_of(uint16_t alg)
{
	switch (alg) {
	case ATTEST_TPM_ALG_SHA1:
		return EVP_sha1();
	case ATTEST_TPM_ALG_SHA256:
		return EVP_sha256();
	case ATTEST_TPM_ALG_SHA384:
		return EVP_sha384();
	case ATTEST_TPM_ALG_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

const char *attest_tcglog_alg_name(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

static size_t alg_size(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].size;
	return 0;
}

const struct attest_tcglog_bank *attest_tcglog_bank(const struct attest_tcglog *log, uint16_t alg)
{
	for (unsigned i = 0; i < log->n_banks; i++)
		if (log->banks[i].alg == alg)
			return &log->banks[i];
	return NULL;
}

static int extend(struct attest_tcglog_bank *b, uint32_t pcr, const uint8_t *digest)
{
	uint8_t buf[128];
	unsigned n = 0;

	memcpy(buf, b->pcr[pcr], b->size);
	memcpy(buf + b->size, digest, b->size);
	if (!EVP_Digest(buf, 2 * b->size, b->pcr[pcr], &n, md_of(b->alg), NULL) || n != b->size)
		return -EIO;
	b->used |= 1u << pcr;
	return 0;
}

/* Replay state kept beside the banks: PCR 0's start may be set once, before it is extended. */
struct rstate {
	struct attest_tcglog *log;
	uint32_t pcr0_touched; /* bank bitmask: PCR 0 extended or its locality set */
	uint32_t index;        /* event number, for messages */
	size_t off;            /* event offset, for messages */
};

/* An error naming the event and its offset. */
__attribute__((format(printf, 4, 5))) static int efail(const struct rstate *st, struct cp_err *err, int code,
							const char *fmt, ...)
{
	char msg[CP_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cp_err_set(err, code, "boot event log: event %u at offset %zu: %s", st->index, st->off, msg);
}

static int set_start(struct rstate *st, unsigned bank, uint8_t last, const char *why, struct cp_err *err)
{
	struct attest_tcglog_bank *b = &st->log->banks[bank];

	if (st->pcr0_touched & (1u << bank))
		return efail(st, err, EBADMSG, "%s after PCR 0 was already extended or set", why);
	b->pcr[0][b->size - 1] = last;
	b->used |= 1u;
	st->pcr0_touched |= 1u << bank;
	return 0;
}

static int parse_specid(const uint8_t *d, uint32_t dlen, struct attest_tcglog *log, struct rstate *st,
			struct cp_err *err)
{
	uint32_t n;
	size_t need;

	if (dlen < 29 || memcmp(d, SPECID_SIG, 16))
		return efail(st, err, EBADMSG, "not a \"Spec ID Event03\" header");
	if (d[21] != 2 || (d[23] != 1 && d[23] != 2))
		return efail(st, err, EBADMSG, "Spec ID: version %u.%u, uintnSize %u (expected 2.x and 1 or 2)", d[21], d[20],
			    d[23]);
	n = cp_le32(d + 24);
	if (n == 0 || n > ATTEST_TCGLOG_MAX_BANKS)
		return efail(st, err, EBADMSG, "Spec ID: %u algorithms, expected 1..%d", n, ATTEST_TCGLOG_MAX_BANKS);
	need = 28 + 4 * (size_t)n + 1;
	if (dlen < need || dlen != need + d[need - 1])
		return efail(st, err, EBADMSG, "Spec ID: %u bytes of data, the header with %u algorithms and its vendor data "
			    "takes %zu", dlen, n, dlen < need ? need : need + d[need - 1]);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t alg = cp_le16(d + 28 + 4 * i), size = cp_le16(d + 30 + 4 * i);
		if (!alg_size(alg))
			return efail(st, err, EBADMSG, "Spec ID: algorithm 0x%04x is not SHA-1/256/384/512", alg);
		if (size != alg_size(alg))
			return efail(st, err, EBADMSG, "Spec ID: %s digest size %u, expected %zu", attest_tcglog_alg_name(alg),
				    size, alg_size(alg));
		for (uint32_t k = 0; k < i; k++)
			if (log->banks[k].alg == alg)
				return efail(st, err, EBADMSG, "Spec ID: %s listed twice", attest_tcglog_alg_name(alg));
		log->banks[i].alg = alg;
		log->banks[i].size = size;
	}
	log->n_banks = n;
	return 0;
}

/* One TCG_PCR_EVENT2 at buf[off..]; *next is where the following event starts. */
static int parse_event2(const uint8_t *buf, size_t len, struct rstate *st, size_t *next, struct cp_err *err)
{
	struct attest_tcglog *log = st->log;
	const uint8_t *digests[ATTEST_TCGLOG_MAX_BANKS] = { 0 };
	size_t off = st->off, rem = len - off;
	uint32_t pcr, type, count, dlen;

	if (rem < 12)
		return efail(st, err, EBADMSG, "truncated event header (%zu bytes left)", rem);
	pcr = cp_le32(buf + off);
	type = cp_le32(buf + off + 4);
	count = cp_le32(buf + off + 8);
	off += 12;
	if (pcr >= ATTEST_TCGLOG_PCRS)
		return efail(st, err, EBADMSG, "PCR %u out of range 0..23", pcr);
	/* Firmware may log fewer banks than the header lists (tpm2-tools' fixtures do); a bank an
	 * event leaves out is not extended by it, so its replay will not match a quote. */
	if (count == 0 || count > log->n_banks)
		return efail(st, err, EBADMSG, "%u digests, the header declares %u banks", count, log->n_banks);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg;
		unsigned b;
		if (len - off < 2)
			return efail(st, err, EBADMSG, "truncated digest %u", i);
		alg = cp_le16(buf + off);
		for (b = 0; b < log->n_banks && log->banks[b].alg != alg; b++)
			;
		if (b == log->n_banks)
			return efail(st, err, EBADMSG, "digest %u: algorithm 0x%04x is not a bank of the header", i, alg);
		if (digests[b])
			return efail(st, err, EBADMSG, "digest %u: a second %s digest", i, attest_tcglog_alg_name(alg));
		if (len - off - 2 < log->banks[b].size)
			return efail(st, err, EBADMSG, "truncated %s digest", attest_tcglog_alg_name(alg));
		digests[b] = buf + off + 2;
		off += 2 + log->banks[b].size;
	}
	if (len - off < 4)
		return efail(st, err, EBADMSG, "truncated event size");
	dlen = cp_le32(buf + off);
	off += 4;
	if (dlen > ATTEST_TCGLOG_MAX_EVENT_DATA || dlen > len - off)
		return efail(st, err, EBADMSG, "event data of %u bytes exceeds %s", dlen,
			    dlen > ATTEST_TCGLOG_MAX_EVENT_DATA ? "the 1 MiB limit" : "the log");
	for (unsigned b = 0; b < log->n_banks; b++) {
		int ret;
		if (!digests[b])
			continue;
		if (type == ATTEST_TCG_EV_NO_ACTION) {
			/* Not extended; a StartupLocality event sets PCR 0's start (PFP 10.4.5.3). */
			if (pcr == 0 && dlen == 17 && !memcmp(buf + off, LOCALITY_SIG, 16)) {
				if (buf[off + 16] > 4)
					return efail(st, err, EBADMSG, "StartupLocality %u out of range 0..4", buf[off + 16]);
				if ((ret = set_start(st, b, buf[off + 16], "StartupLocality", err)) < 0)
					return ret;
			}
			continue;
		}
		/* H-CRTM: PCR 0 starts at locality 4 and is then extended (TPM 2.0 Part 1, 34.3). */
		if (type == ATTEST_TCG_EV_EFI_HCRTM_EVENT && pcr == 0 &&
		    (ret = set_start(st, b, 4, "an H-CRTM event", err)) < 0)
			return ret;
		if (extend(&log->banks[b], pcr, digests[b]) < 0)
			return efail(st, err, EIO, "hashing failed");
		if (pcr == 0)
			st->pcr0_touched |= 1u << b;
	}
	*next = off + dlen;
	return 0;
}

static int replay(const uint8_t *buf, size_t len, struct attest_tcglog *log, struct cp_err *err)
{
	struct rstate st = { .log = log };
	uint32_t dlen;

	if (len > ATTEST_TCGLOG_MAX_BYTES)
		return cp_err_set(err, EFBIG, "boot event log: %zu bytes exceeds %u", len, ATTEST_TCGLOG_MAX_BYTES);
	if (len < SHA1_EVENT_FIXED)
		return cp_err_set(err, EBADMSG, "boot event log: %zu bytes is shorter than one event (32)", len);
	/* The first event decides the format: a Spec ID Event03 header means crypto-agile. */
	dlen = cp_le32(buf + 28);
	if (cp_le32(buf + 4) == ATTEST_TCG_EV_NO_ACTION && dlen >= 16 && dlen <= len - SHA1_EVENT_FIXED &&
	    !memcmp(buf + SHA1_EVENT_FIXED, SPECID_SIG, 16)) {
		int ret;
		log->crypto_agile = true;
		if (cp_le32(buf) != 0)
			return efail(&st, err, EBADMSG, "the Spec ID header names PCR %u, expected 0", cp_le32(buf));
		for (int i = 8; i < 28; i++)
			if (buf[i])
				return efail(&st, err, EBADMSG, "the Spec ID header's digest is not zero");
		if ((ret = parse_specid(buf + SHA1_EVENT_FIXED, dlen, log, &st, err)) < 0)
			return ret;
		log->events = 1;
		st.off = SHA1_EVENT_FIXED + dlen;
		while (st.off < len) {
			size_t next = len;
			if (log->events >= ATTEST_TCGLOG_MAX_EVENTS)
				return cp_err_set(err, E2BIG, "boot event log: more than %d events", ATTEST_TCGLOG_MAX_EVENTS);
			st.index = log->events;
			if ((ret = parse_event2(buf, len, &st, &next, err)) < 0)
				return ret;
			log->events++;
			st.off = next;
		}
		return 0;
	}
	log->n_banks = 1;
	log->banks[0].alg = ATTEST_TPM_ALG_SHA1;
	log->banks[0].size = 20;
	while (st.off < len) {
		uint32_t pcr, type;
		st.index = log->events;
		if (log->events >= ATTEST_TCGLOG_MAX_EVENTS)
			return cp_err_set(err, E2BIG, "boot event log: more than %d events", ATTEST_TCGLOG_MAX_EVENTS);
		if (len - st.off < SHA1_EVENT_FIXED)
			return efail(&st, err, EBADMSG, "truncated SHA-1 event (%zu bytes left)", len - st.off);
		pcr = cp_le32(buf + st.off);
		type = cp_le32(buf + st.off + 4);
		dlen = cp_le32(buf + st.off + 28);
		if (pcr >= ATTEST_TCGLOG_PCRS)
			return efail(&st, err, EBADMSG, "PCR %u out of range 0..23", pcr);
		if (dlen > ATTEST_TCGLOG_MAX_EVENT_DATA || dlen > len - st.off - SHA1_EVENT_FIXED)
			return efail(&st, err, EBADMSG, "event data of %u bytes exceeds %s", dlen,
				    dlen > ATTEST_TCGLOG_MAX_EVENT_DATA ? "the 1 MiB limit" : "the log");
		if (type != ATTEST_TCG_EV_NO_ACTION && extend(&log->banks[0], pcr, buf + st.off + 8) < 0)
			return efail(&st, err, EIO, "hashing failed");
		log->events++;
		st.off += SHA1_EVENT_FIXED + dlen;
	}
	return 0;
}

int attest_tcglog_replay(const uint8_t *buf, size_t len, struct attest_tcglog *out, struct cp_err *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return cp_err_set(err, EINVAL, "boot event log: no data");
	ret = replay(buf, len, out, err);
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	return ret;
}

char *attest_tcglog_json(const struct attest_tcglog *log)
{
	size_t cap = 64 + ATTEST_TCGLOG_MAX_BANKS * (16 + ATTEST_TCGLOG_PCRS * (8 + 130)), pos = 0;
	char *s = malloc(cap);
	bool first_bank = true;

	if (!s)
		return NULL;
	pos += (size_t)snprintf(s + pos, cap - pos, "{\"pcrs\": {");
	for (size_t a = 0; a < ARRAY_SIZE(algs); a++) {
		const struct attest_tcglog_bank *b = attest_tcglog_bank(log, algs[a].alg);
		bool first = true;
		if (!b)
			continue;
		pos += (size_t)snprintf(s + pos, cap - pos, "%s\"%s\": {", first_bank ? "" : ", ", algs[a].name);
		first_bank = false;
		for (uint32_t p = 0; p < ATTEST_TCGLOG_PCRS; p++) {
			char hex[129];
			if (!(b->used & (1u << p)))
				continue;
			cp_hex_encode(b->pcr[p], b->size, hex);
			pos += (size_t)snprintf(s + pos, cap - pos, "%s\"%u\": \"%s\"", first ? "" : ", ", p, hex);
			first = false;
		}
		pos += (size_t)snprintf(s + pos, cap - pos, "}");
	}
	snprintf(s + pos, cap - pos, "}, \"events\": %u}", log->events);
	return s;
}

/* TCG2 / CC event log reader. Layouts (TCG PC Client Platform Firmware Profile):
 * Spec ID event (SHA-1 format): u32 index, u32 type = EV_NO_ACTION, 20-byte zero digest,
 *   u32 size, "Spec ID Event03\0", u32 platform class, u8 minor, major, errata, uintn size,
 *   u32 algorithm count, {u16 alg, u16 digest size}..., u8 vendor info size, vendor info.
 * Other events: u32 index, u32 type, u32 digest count, {u16 alg, digest}..., u32 size, data. */
#include "memenc/ccel.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "memenc/hash.h"

#define EVENT_DATA_MAX (16u << 20)

void memenc_ccel_reader_init(struct memenc_ccel_reader *r, const uint8_t *log, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->log = log;
	r->len = len;
	r->state = MEMENC_CCEL_START;
}

static bool need(const struct memenc_ccel_reader *r, size_t at, size_t n)
{
	return at <= r->len && r->len - at >= n;
}

static int parse_spec_id(struct memenc_ccel_reader *r, struct memenc_ccel_event *ev, struct cp_err *err)
{
	const uint8_t *p = r->log;
	size_t size, d, vsz;
	uint32_t nalgs;
	bool sha384 = false;

	if (!need(r, 0, 32))
		return cp_err_set(err, EINVAL, "event log: %zu bytes is too short for the Spec ID event header", r->len);
	if (cp_le32(p + 4) != MEMENC_EV_NO_ACTION)
		return cp_err_set(err, EINVAL, "event log: offset 0x4: first event type 0x%x, expected EV_NO_ACTION "
				  "(a crypto-agile log starts with the Spec ID event)", cp_le32(p + 4));
	size = cp_le32(p + 28);
	if (size < 24 + 4 + 1 || !need(r, 32, size))
		return cp_err_set(err, EINVAL, "event log: offset 0x1c: Spec ID event size %zu is out of range", size);
	d = 32;
	if (memcmp(p + d, "Spec ID Event03\0", 16) != 0)
		return cp_err_set(err, EINVAL, "event log: offset 0x20: signature is not \"Spec ID Event03\"");
	nalgs = cp_le32(p + d + 24);
	if (nalgs == 0 || nalgs > MEMENC_CCEL_MAX_ALGS)
		return cp_err_set(err, EINVAL, "event log: offset 0x%zx: %u digest algorithms, expected 1..%d",
				  d + 24, nalgs, MEMENC_CCEL_MAX_ALGS);
	if (28 + 4 * (size_t)nalgs + 1 > size)
		return cp_err_set(err, EINVAL, "event log: offset 0x%zx: %u algorithms do not fit the %zu-byte "
				  "Spec ID event", d + 24, nalgs, size);
	for (uint32_t i = 0; i < nalgs; i++) {
		size_t a = d + 28 + 4 * (size_t)i;
		r->alg[i] = cp_le16(p + a);
		r->alg_size[i] = cp_le16(p + a + 2);
		if (r->alg_size[i] == 0 || r->alg_size[i] > 64)
			return cp_err_set(err, EINVAL, "event log: offset 0x%zx: algorithm 0x%x digest size %u",
					  a, r->alg[i], r->alg_size[i]);
		for (uint32_t j = 0; j < i; j++)
			if (r->alg[j] == r->alg[i])
				return cp_err_set(err, EINVAL, "event log: offset 0x%zx: algorithm 0x%x listed twice",
						  a, r->alg[i]);
		if (r->alg[i] == MEMENC_TPM_ALG_SHA384) {
			if (r->alg_size[i] != 48)
				return cp_err_set(err, EINVAL, "event log: offset 0x%zx: SHA-384 with digest size %u",
						  a, r->alg_size[i]);
			sha384 = true;
		}
	}
	if (!sha384)
		return cp_err_set(err, EINVAL, "event log: the Spec ID event does not list SHA-384 (0x000c)");
	vsz = p[d + 28 + 4 * (size_t)nalgs];
	if (28 + 4 * (size_t)nalgs + 1 + vsz != size)
		return cp_err_set(err, EINVAL, "event log: offset 0x%zx: vendor info size %zu does not end the "
				  "%zu-byte Spec ID event", d + 28 + 4 * (size_t)nalgs, vsz, size);
	r->nalgs = nalgs;
	ev->index = 0;
	ev->offset = 0;
	ev->mr_index = cp_le32(p);
	ev->type = MEMENC_EV_NO_ACTION;
	ev->sha384 = NULL;
	ev->data = p + 32;
	ev->data_len = (uint32_t)size;
	r->pos = 32 + size;
	r->index = 1;
	r->state = MEMENC_CCEL_EVENTS;
	return 1;
}

/* The unused part of the log area is 0xff (or 0x00) fill. */
static bool at_end(const struct memenc_ccel_reader *r)
{
	uint32_t idx, type;

	if (!need(r, r->pos, 8))
		return true;
	idx = cp_le32(r->log + r->pos);
	type = cp_le32(r->log + r->pos + 4);
	return (idx == 0xffffffffu && type == 0xffffffffu) || (idx == 0 && type == 0);
}

int memenc_ccel_next(struct memenc_ccel_reader *r, struct memenc_ccel_event *ev, struct cp_err *err)
{
	size_t at, start;
	uint32_t count, size;

	memset(ev, 0, sizeof(*ev));
	switch (r->state) {
	case MEMENC_CCEL_START:
		return parse_spec_id(r, ev, err);
	case MEMENC_CCEL_END:
		return 0;
	case MEMENC_CCEL_EVENTS:
		break;
	}
	if (at_end(r)) {
		r->state = MEMENC_CCEL_END;
		return 0;
	}
	start = at = r->pos;
	if (!need(r, at, 12))
		return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: header truncated", r->index, at);
	ev->index = r->index;
	ev->offset = at;
	ev->mr_index = cp_le32(r->log + at);
	ev->type = cp_le32(r->log + at + 4);
	count = cp_le32(r->log + at + 8);
	at += 12;
	if (count == 0 || count > r->nalgs)
		return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: digest count %u, expected 1..%u",
				  r->index, start + 8, count, r->nalgs);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg;
		unsigned k;

		if (!need(r, at, 2))
			return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: digest %u truncated",
					  r->index, at, i);
		alg = cp_le16(r->log + at);
		for (k = 0; k < r->nalgs && r->alg[k] != alg; k++)
			;
		if (k == r->nalgs)
			return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: algorithm 0x%x not declared "
					  "in the Spec ID event", r->index, at, alg);
		if (!need(r, at + 2, r->alg_size[k]))
			return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: digest %u truncated",
					  r->index, at, i);
		if (alg == MEMENC_TPM_ALG_SHA384) {
			if (ev->sha384)
				return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: two SHA-384 digests",
						  r->index, at);
			ev->sha384 = r->log + at + 2;
		}
		at += 2 + r->alg_size[k];
	}
	if (!need(r, at, 4))
		return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: event size truncated", r->index, at);
	size = cp_le32(r->log + at);
	at += 4;
	if (size > EVENT_DATA_MAX || !need(r, at, size))
		return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: event data size %u runs past the "
				  "log end", r->index, at - 4, size);
	ev->data = r->log + at;
	ev->data_len = size;
	r->pos = at + size;
	r->index++;
	return 1;
}

int memenc_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48], struct cp_err *err)
{
	uint8_t buf[96];

	memcpy(buf, rtmr, 48);
	memcpy(buf + 48, digest, 48);
	return memenc_sha384(buf, sizeof(buf), rtmr, err);
}

int memenc_ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[4][48], size_t *events,
		       struct cp_err *err)
{
	struct memenc_ccel_reader r;
	struct memenc_ccel_event ev;
	size_t n = 0;
	int ret;

	memset(rtmr, 0, 4 * 48);
	memenc_ccel_reader_init(&r, log, len);
	while ((ret = memenc_ccel_next(&r, &ev, err)) > 0) {
		if (ev.type == MEMENC_EV_NO_ACTION)
			continue;
		if (ev.mr_index < 1 || ev.mr_index > 4)
			return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: MR index %u, only 1..4 "
					  "(RTMR0..3) can be extended", ev.index, ev.offset, ev.mr_index);
		if (!ev.sha384)
			return cp_err_set(err, EINVAL, "event log: event %zu at offset 0x%zx: no SHA-384 digest",
					  ev.index, ev.offset);
		ret = memenc_rtmr_extend(rtmr[ev.mr_index - 1], ev.sha384, err);
		if (ret < 0)
			return ret;
		n++;
	}
	if (ret < 0)
		return ret;
	if (events)
		*events = n;
	return 0;
}

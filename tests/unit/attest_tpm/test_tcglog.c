/* Unit tests for the TCG PC Client boot event log reader: logs built here byte by byte, their
 * replay recomputed independently with OpenSSL's one-shot hashes; StartupLocality and H-CRTM
 * starts; every truncation; each structural refusal; the exact JSON form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "attest/tpm/tcglog.h"
#include "common/util.h"

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void u32(struct buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->b[b->n++] = (uint8_t)(v >> (8 * i));
}
static void u16(struct buf *b, uint16_t v)
{
	b->b[b->n++] = (uint8_t)v;
	b->b[b->n++] = (uint8_t)(v >> 8);
}
static void bytes(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* SHA-1 format header event carrying a Spec ID Event03 for sha1 + sha256. */
static void specid(struct buf *b, uint8_t vendor_len)
{
	static const uint8_t zero[20];
	u32(b, 0);
	u32(b, 3); /* EV_NO_ACTION */
	bytes(b, zero, 20);
	u32(b, 28 + 8 + 1 + vendor_len);
	bytes(b, "Spec ID Event03", 16);
	u32(b, 0);               /* platformClass */
	bytes(b, "\0\2\0\2", 4); /* minor 0, major 2, errata 0, uintnSize 2 */
	u32(b, 2);
	u16(b, 0x0004);
	u16(b, 20);
	u16(b, 0x000B);
	u16(b, 32);
	b->b[b->n++] = vendor_len;
	for (uint8_t i = 0; i < vendor_len; i++)
		b->b[b->n++] = 0xEE;
}

static void event2(struct buf *b, uint32_t pcr, uint32_t type, uint8_t fill, const void *data, uint32_t len)
{
	uint8_t d[32];
	memset(d, fill, sizeof(d));
	u32(b, pcr);
	u32(b, type);
	u32(b, 2);
	u16(b, 0x0004);
	bytes(b, d, 20);
	u16(b, 0x000B);
	bytes(b, d, 32);
	u32(b, len);
	bytes(b, data, len);
}

static void ext256(uint8_t pcr[32], uint8_t fill)
{
	uint8_t in[64];
	memcpy(in, pcr, 32);
	memset(in + 32, fill, 32);
	SHA256(in, 64, pcr);
}

static void expect_err(const struct buf *b, size_t len, const char *msg)
{
	struct attest_tcglog log;
	struct cp_err err = { 0 };
	int r = attest_tcglog_replay(b->b, len, &log, &err);
	if (r == 0 || !strstr(err.msg, msg))
		fail_msg("len %zu: expected an error with \"%s\", got %d \"%s\"", len, msg, r, err.msg);
	assert_int_equal(log.events, 0);
}

static void test_replay_and_locality(void **state)
{
	struct buf b = { 0 };
	struct attest_tcglog log;
	struct cp_err err = { 0 };
	uint8_t p0[32] = { 0 }, p7[32] = { 0 };
	char *json, want[1024], h0[65], h7[65];

	specid(&b, 3);
	event2(&b, 0, 3, 0, "StartupLocality\0\3", 17);
	event2(&b, 0, 8, 0x11, "x", 1);
	event2(&b, 7, 0x80000001, 0x22, "", 0);
	event2(&b, 7, 3, 0x33, "not extended", 12); /* EV_NO_ACTION */
	event2(&b, 7, 4, 0x44, "sep", 3);
	assert_int_equal(attest_tcglog_replay(b.b, b.n, &log, &err), 0);
	assert_true(log.crypto_agile);
	assert_int_equal(log.events, 6);
	p0[31] = 3; /* locality 3 start */
	ext256(p0, 0x11);
	ext256(p7, 0x22);
	ext256(p7, 0x44);
	assert_memory_equal(attest_tcglog_bank(&log, 0x000B)->pcr[0], p0, 32);
	assert_memory_equal(attest_tcglog_bank(&log, 0x000B)->pcr[7], p7, 32);
	assert_int_equal(attest_tcglog_bank(&log, 0x000B)->used, 0x81);
	cp_hex_encode(p0, 32, h0);
	cp_hex_encode(p7, 32, h7);
	json = attest_tcglog_json(&log);
	snprintf(want, sizeof(want), "{\"pcrs\": {\"sha256\": {\"0\": \"%s\", \"7\": \"%s\"}, \"sha1\": {", h0, h7);
	if (strncmp(json, want, strlen(want)))
		fail_msg("JSON\n%s\ndoes not start with\n%s", json, want);
	assert_non_null(strstr(json, "}}, \"events\": 6}"));
	free(json);

	/* A locality event after PCR 0 was extended cannot move its start: refused. */
	event2(&b, 0, 3, 0, "StartupLocality\0\3", 17);
	expect_err(&b, b.n, "StartupLocality after PCR 0 was already extended");
}

static void test_hcrtm(void **state)
{
	struct buf b = { 0 };
	struct attest_tcglog log;
	uint8_t p0[32] = { 0 };

	specid(&b, 0);
	event2(&b, 0, 0x80000010, 0x55, "HCRTM", 5);
	assert_int_equal(attest_tcglog_replay(b.b, b.n, &log, NULL), 0);
	p0[31] = 4;
	ext256(p0, 0x55);
	assert_memory_equal(attest_tcglog_bank(&log, 0x000B)->pcr[0], p0, 32);
}

static void test_sha1_format(void **state)
{
	struct buf b = { 0 };
	struct attest_tcglog log;
	uint8_t d[20], p[20] = { 0 }, in[40];

	memset(d, 0x66, sizeof(d));
	u32(&b, 4);
	u32(&b, 5);
	bytes(&b, d, 20);
	u32(&b, 2);
	bytes(&b, "ab", 2);
	assert_int_equal(attest_tcglog_replay(b.b, b.n, &log, NULL), 0);
	assert_false(log.crypto_agile);
	assert_int_equal(log.n_banks, 1);
	memcpy(in, p, 20);
	memcpy(in + 20, d, 20);
	SHA1(in, 40, p);
	assert_memory_equal(log.banks[0].pcr[4], p, 20);
	assert_non_null(attest_tcglog_bank(&log, 0x0004));
	assert_null(attest_tcglog_bank(&log, 0x000B));
}

static void test_refusals(void **state)
{
	struct buf good = { 0 }, b;
	size_t spec_len;

	specid(&good, 2);
	spec_len = good.n;
	event2(&good, 1, 8, 0x11, "abc", 3);
	/* Every truncation inside an event is an error naming the event. */
	for (size_t len = spec_len + 1; len < good.n; len++)
		expect_err(&good, len, "event 1 at offset");
	for (size_t len = 1; len < spec_len; len++) {
		struct attest_tcglog log;
		assert_int_not_equal(attest_tcglog_replay(good.b, len, &log, NULL), 0);
	}
	/* Trailing garbage is an event that does not parse. */
	b = good;
	bytes(&b, "\1\2\3", 3);
	expect_err(&b, b.n, "truncated event header");
	/* PCR 24. */
	b = good;
	b.b[spec_len] = 24;
	expect_err(&b, b.n, "PCR 24 out of range");
	/* The Spec ID's size must hold exactly its contents (vendor data included). */
	b = good;
	b.b[28]--; /* eventDataSize of the header */
	expect_err(&b, b.n, "Spec ID: 38 bytes of data");
	/* An unknown or duplicated algorithm. */
	b = good;
	b.b[32 + 28 + 4] = 0x12; /* second alg: SM3 */
	expect_err(&b, b.n, "algorithm 0x0012 is not SHA-1/256/384/512");
	b = good;
	b.b[spec_len + 12 + 2 + 20] = 0x04; /* the event's sha256 digest labelled sha1 */
	b.b[spec_len + 12 + 2 + 20 + 1] = 0x00;
	expect_err(&b, b.n, "a second sha1 digest");
	/* More digests than banks. */
	b = good;
	b.b[spec_len + 8] = 3;
	expect_err(&b, b.n, "3 digests, the header declares 2 banks");
	/* An event larger than the log. */
	b = good;
	b.b[b.n - 4 - 3] = 0xFF;
	expect_err(&b, b.n, "exceeds the log");
	/* A locality beyond 4. */
	b = good;
	event2(&b, 0, 3, 0, "StartupLocality\0\7", 17);
	expect_err(&b, b.n, "StartupLocality 7 out of range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_and_locality),
		cmocka_unit_test(test_hcrtm),
		cmocka_unit_test(test_sha1_format),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

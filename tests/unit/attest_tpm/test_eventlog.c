/* Unit tests for the launch event log: digests (independently recomputed), replay, the
 * binary reader's every error, and base64. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "attest/tpm/b64.h"
#include "attest/tpm/eventlog.h"
#include "common/util.h"

static void make_log(struct attest_eventlog *log)
{
	uint8_t m[48], d[32 + 3];
	memset(m, 0x11, sizeof(m));
	memset(d, 0x22, 32);
	memcpy(d + 32, "blk", 3);
	attest_eventlog_init(log);
	assert_int_equal(attest_eventlog_append(log, 23, ATTEST_EVENT_VM_START, (const uint8_t *)"vm-1", 4, NULL), 0);
	assert_int_equal(attest_eventlog_append(log, 23, ATTEST_EVENT_LAUNCH_MEASUREMENT, m, 48, NULL), 0);
	assert_int_equal(attest_eventlog_append(log, 16, ATTEST_EVENT_DEVICE_HELPER, d, sizeof(d), NULL), 0);
}

static void test_digest_known_answer(void **state)
{
	/* SHA-256("carapace.event.v1\0" || be16 type || be32 len || data), computed here by hand */
	uint8_t msg[18 + 6 + 4], want[32], got[32];
	memcpy(msg, "carapace.event.v1", 18);
	cp_put_be16(msg + 18, ATTEST_EVENT_VM_START);
	cp_put_be32(msg + 20, 4);
	memcpy(msg + 24, "vm-1", 4);
	SHA256(msg, sizeof(msg), want);
	assert_int_equal(attest_event_digest(ATTEST_EVENT_VM_START, (const uint8_t *)"vm-1", 4, got), 0);
	assert_memory_equal(want, got, 32);
	/* the type is bound: same data, other type, other digest */
	assert_int_equal(attest_event_digest(ATTEST_EVENT_DEVICE_HELPER, (const uint8_t *)"vm-1", 4, got), 0);
	assert_memory_not_equal(want, got, 32);
}

static void test_roundtrip_and_replay(void **state)
{
	struct attest_eventlog log, back;
	uint8_t *buf, pcr[32], manual[32] = { 0 }, cat[64];
	size_t len;

	make_log(&log);
	assert_int_equal(attest_eventlog_serialize(&log, &buf, &len, NULL), 0);
	assert_int_equal(len, 12 + 3 * 44 + 4 + 48 + 35);
	assert_int_equal(attest_eventlog_parse(buf, len, &back, NULL), 0);
	assert_int_equal(back.count, 3);
	assert_int_equal(back.events[2].pcr, 16);
	assert_memory_equal(back.events[1].data, log.events[1].data, 48);
	/* replay of PCR 23 = extend(extend(0, d0), d1) */
	for (int i = 0; i < 2; i++) {
		memcpy(cat, manual, 32);
		memcpy(cat + 32, log.events[i].digest, 32);
		SHA256(cat, 64, manual);
	}
	assert_int_equal(attest_eventlog_replay(&back, 23, pcr), 2);
	assert_memory_equal(pcr, manual, 32);
	assert_int_equal(attest_eventlog_replay(&back, 0, pcr), 0);
	attest_eventlog_drop_last(&back);
	assert_int_equal(back.count, 2);
	free(buf);
	attest_eventlog_free(&log);
	attest_eventlog_free(&back);
	attest_eventlog_free(NULL);
}

static void test_append_errors(void **state)
{
	struct attest_eventlog log;
	struct cp_err err = { 0 };
	uint8_t d[40] = { 0 };

	attest_eventlog_init(&log);
	assert_int_equal(attest_eventlog_append(&log, 24, ATTEST_EVENT_VM_START, (const uint8_t *)"a", 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "PCR 24"));
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, 99, d, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "type 99"));
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_VM_START, (const uint8_t *)"a/b", 3, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "byte 1 (0x2f)"));
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_VM_START, (const uint8_t *)".x", 2, &err), -EINVAL);
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_VM_START, d, 0, &err), -EINVAL);
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_LAUNCH_MEASUREMENT, d, 40, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expected 32 or 48"));
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_VM_CONFIG, d, 31, &err), -EINVAL);
	cp_err_clear(&err);
	assert_int_equal(attest_eventlog_append(&log, 23, ATTEST_EVENT_DEVICE_HELPER, d, 32, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "device-helper"));
	assert_int_equal(log.count, 0);
	assert_string_equal(attest_event_type_name(ATTEST_EVENT_LAUNCH_POLICY), "launch-policy");
	assert_null(attest_event_type_name(0));
	assert_int_equal(attest_event_type_from_name("vm-config"), ATTEST_EVENT_VM_CONFIG);
	assert_int_equal(attest_event_type_from_name("nope"), -EINVAL);
}

static void expect_parse_err(const uint8_t *buf, size_t len, const char *msg)
{
	struct attest_eventlog log;
	struct cp_err err = { 0 };
	assert_int_equal(attest_eventlog_parse(buf, len, &log, &err), -EBADMSG);
	if (!strstr(err.msg, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
	assert_int_equal(log.count, 0);
}

static void test_parse_errors(void **state)
{
	struct attest_eventlog log;
	uint8_t *buf, t[1024];
	size_t len;
	const size_t e1 = 12 + 44 + 4; /* second event */

	make_log(&log);
	assert_int_equal(attest_eventlog_serialize(&log, &buf, &len, NULL), 0);
	attest_eventlog_free(&log);
	expect_parse_err(buf, 11, "shorter than the 12-byte header");
#define MUTATE(code, msg)                       \
	do {                                    \
		memcpy(t, buf, len);            \
		code;                           \
		expect_parse_err(t, len, msg);  \
	} while (0)
	MUTATE(t[0] = 'X', "bad magic");
	MUTATE(cp_put_be16(t + 4, 2), "version 2");
	MUTATE(cp_put_be16(t + 6, 0x0004), "hash algorithm 0x0004");
	MUTATE(cp_put_be32(t + 8, 5000), "count 5000");
	MUTATE(cp_put_be32(t + 8, 4), "event 3 at offset");
	MUTATE(cp_put_be32(t + 8, 2), "trailing bytes");
	MUTATE(cp_put_be32(t + e1, 24), "event 1 at offset 60: PCR 24");
	MUTATE(cp_put_be16(t + e1 + 4, 77), "unknown type 77");
	MUTATE(t[e1 + 7] = 1, "reserved field");
	MUTATE(cp_put_be32(t + e1 + 40, 5000), "exceeds the limit");
	MUTATE(cp_put_be32(t + e1 + 40, 4000), "exceeds the log");
	MUTATE(t[e1 + 8] ^= 1, "digest does not match its data");
	MUTATE(t[e1 + 44] ^= 1, "digest does not match its data");
	MUTATE(cp_put_be16(t + e1 + 4, ATTEST_EVENT_VM_CONFIG), "expected a 32-byte SHA-256 digest");
	MUTATE(t[12 + 44] = '/', "not one of");
#undef MUTATE
	/* every truncation fails */
	for (size_t l = 0; l < len; l++) {
		struct attest_eventlog x;
		assert_int_equal(attest_eventlog_parse(buf, l, &x, NULL), -EBADMSG);
	}
	free(buf);
}

static void test_b64(void **state)
{
	static const struct {
		const char *plain, *enc;
	} v[] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foobar", "Zm9vYmFy" } };
	struct cp_err err = { 0 };
	uint8_t *out;
	size_t len;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *e = attest_b64_encode((const uint8_t *)v[i].plain, strlen(v[i].plain));
		assert_string_equal(e, v[i].enc);
		free(e);
		assert_int_equal(attest_b64_decode(v[i].enc, 100, &out, &len, "x", &err), 0);
		assert_int_equal(len, strlen(v[i].plain));
		assert_memory_equal(out, v[i].plain, len);
		free(out);
	}
	assert_int_equal(attest_b64_decode("Zm9", 100, &out, &len, "f", &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "multiple of 4"));
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("Zm 9", 100, &out, &len, "f", &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "position 2"));
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("Zh==", 100, &out, &len, "f", &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "non-canonical"));
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("Zm9=", 100, &out, &len, "f", &err), -EBADMSG);
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("=m9v", 100, &out, &len, "f", &err), -EBADMSG);
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("Zg==Zg==", 100, &out, &len, "f", &err), -EBADMSG);
	cp_err_clear(&err);
	assert_int_equal(attest_b64_decode("Zm9vYmFy", 5, &out, &len, "f", &err), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_known_answer),
		cmocka_unit_test(test_roundtrip_and_replay),
		cmocka_unit_test(test_append_errors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_b64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

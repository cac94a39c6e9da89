/* Unit tests for common/refvals.c, the one reference-values schema (docs/refvals.md): both
 * spellings read to the same values, a field named twice is refused, wrong types and lengths
 * name the path, the writer's canonical form reads back, and the matcher's answers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/jread.h"
#include "common/refvals.h"

#define H48(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define H32(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static int read_doc(const char *text, struct cp_refvals *rv, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "refvals" };
	struct json_object *o = NULL;
	int ret;

	cp_err_clear(err);
	cp_refvals_init(rv);
	ret = cp_jread_parse_doc(&r, text, strlen(text), &o);
	if (ret == 0)
		ret = cp_refvals_read(&r, o, rv);
	json_object_put(o);
	return ret;
}

static void expect_error(const char *text, const char *why)
{
	struct cp_refvals rv, defaults;
	struct cp_err err = { 0 };

	cp_refvals_init(&defaults);
	assert_int_equal(read_doc(text, &rv, &err), -EINVAL);
	if (!strstr(err.msg, why))
		fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, why);
	assert_memory_equal(&rv, &defaults, sizeof(rv)); /* nothing half-applied */
}

/* The launch policy's spelling and carapace-verify's older one give the same values. */
static void test_spellings_agree(void **state)
{
	static const char launch[] = "{\"snp\": {\"measurements\": [\"" H48("a") "\"],"
				     " \"min_tcb\": {\"bootloader\": 3, \"tee\": 1, \"snp\": 8, \"microcode\": 115}},"
				     " \"tdx\": {\"mrtd\": [\"" H48("b") "\"], \"rtmr\": [null, \"" H48("c") "\"]}}";
	static const char verify[] = "{\"snp\": {\"measurement\": \"0x" H48("a") "\","
				     " \"min_tcb\": {\"bl\": 3, \"tee\": 1, \"snp\": 8, \"ucode\": 115}},"
				     " \"tdx\": {\"mrtd\": \"" H48("b") "\", \"rtmr1\": \"" H48("c") "\"}}";
	struct cp_refvals a, b;
	struct cp_err err = { 0 };

	(void)state;
	assert_int_equal(read_doc(launch, &a, &err), 0);
	assert_int_equal(read_doc(verify, &b, &err), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(a.has_snp && a.has_tdx);
	assert_int_equal(a.snp.measurements.n, 1);
	assert_int_equal(a.snp.measurements.d[0][47], 0xaa);
	assert_true(a.snp.has_min_tcb);
	assert_int_equal(a.snp.min_tcb.microcode, 115);
	assert_false(a.tdx.rtmr[0].set);
	assert_true(a.tdx.rtmr[1].set);
	assert_int_equal(a.tdx.rtmr[1].v[0], 0xcc);
	assert_true(a.snp.allow_smt); /* the default */
}

static void test_refusals(void **state)
{
	(void)state;
	expect_error("{\"snp\": {\"measurement\": \"" H48("a") "\", \"measurements\": []}}",
		     "refvals: snp.measurement: given as both \"measurements\" and \"measurement\"");
	expect_error("{\"snp\": {\"min_tcb\": {\"bl\": 1, \"bootloader\": 1}}}", "snp.min_tcb.bl: given as both");
	expect_error("{\"tdx\": {\"rtmr\": [\"" H48("c") "\"], \"rtmr0\": \"" H48("c") "\"}}",
		     "tdx.rtmr0: this RTMR is also given in \"rtmr\"");
	expect_error("{\"snp\": {\"colour\": 1}}", "snp.colour: unknown key 'colour'");
	expect_error("{\"sev\": {}}", "refvals: sev: unknown key 'sev'");
	expect_error("{\"snp\": {\"host_data\": \"" H48("a") "\"}}", "snp.host_data: expected 32 bytes as 64 hex digits");
	expect_error("{\"snp\": {\"measurements\": [\"" H32("a") "\"]}}", "snp.measurements[0]: expected 48 bytes");
	expect_error("{\"snp\": {\"measurements\": 7}}", "snp.measurements: expected a digest");
	expect_error("{\"snp\": {\"min_tcb\": {\"fmc\": 256}}}", "snp.min_tcb.fmc: expected an integer in 0..255");
	expect_error("{\"snp\": {\"vmpl\": -1}}", "snp.vmpl: expected an integer");
	expect_error("{\"snp\": {\"allow_smt\": 1}}", "snp.allow_smt: expected true or false");
	expect_error("{\"snp\": {\"host_data\": null}}", "snp.host_data: null is not allowed");
	expect_error("{\"tdx\": {\"rtmr\": []}}", "tdx.rtmr: expected 1 to 4 entries, got 0");
	expect_error("{\"tdx\": {\"xfam\": \"" H32("0") "\"}}", "tdx.xfam: expected 8 bytes as 16 hex digits");
	expect_error("{\"tdx\": {\"mrtd\": \"" H48("b") "\\u0000\"}}", "tdx.mrtd: expected 48 bytes");
	expect_error("[]", "refvals: (document): expected an object, got an array");
	expect_error("{\"snp\": {\"vmpl\": 1, \"vmpl\": 2}}", "duplicate key \"vmpl\"");
}

/* The canonical form reads back to the same values. */
static void test_round_trip(void **state)
{
	static const char doc[] = "{\"snp\": {\"measurement\": \"" H48("1") "\", \"host_data\": \"" H32("2") "\","
				  " \"min_tcb\": {\"ucode\": 9, \"fmc\": 2}, \"vmpl\": 0, \"allow_smt\": false,"
				  " \"allow_debug\": true, \"chip_id\": \"" H32("3") H32("4") "\"},"
				  " \"tdx\": {\"rtmr3\": \"" H48("5") "\", \"td_attributes\": \"0000001000000000\"}}";
	struct cp_refvals a, b;
	struct cp_err err = { 0 };
	struct json_object *w;

	(void)state;
	if (read_doc(doc, &a, &err))
		fail_msg("%s", err.msg);
	w = cp_refvals_to_json(&a, true, true);
	if (read_doc(json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN), &b, &err))
		fail_msg("%s: %s", json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN), err.msg);
	json_object_put(w);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(b.snp.has_vmpl && b.snp.vmpl == 0);
	assert_false(b.snp.allow_smt);
	assert_true(b.snp.allow_debug);
	assert_int_equal(b.snp.min_tcb.fmc, 2);
}

static void test_matcher(void **state)
{
	struct cp_refvals_digests d = { 0 };
	struct cp_refvals_bytes b = { 0 };
	struct cp_refvals_tcb min = { 1, 2, 3, 4, 0 }, have = { 1, 2, 3, 4, 0 };
	uint8_t x[48] = { 0 }, y[48] = { 0 };

	(void)state;
	y[47] = 1;
	assert_true(cp_refvals_digest_listed(&d, x)); /* no list: not constrained */
	d.n = 2;
	memcpy(d.d[1], y, 48);
	assert_false(cp_refvals_digest_listed(&d, (uint8_t[48]){ [0] = 7 }));
	assert_true(cp_refvals_digest_listed(&d, y));
	assert_true(cp_refvals_digest_listed(&d, x)); /* d.d[0] is all zero */
	assert_true(cp_refvals_bytes_match(&b, x, 32));
	b = (struct cp_refvals_bytes){ .set = true, .len = 32 };
	assert_true(cp_refvals_bytes_match(&b, x, 32));
	assert_false(cp_refvals_bytes_match(&b, x, 48)); /* a length that differs never matches */
	assert_false(cp_refvals_bytes_match(&b, (uint8_t[32]){ [31] = 1 }, 32));
	assert_true(cp_refvals_tcb_meets(&min, &have));
	have.tee = 1; /* each component on its own */
	assert_false(cp_refvals_tcb_meets(&min, &have));
	have.tee = 9;
	min.fmc = 1;
	assert_false(cp_refvals_tcb_meets(&min, &have));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings_agree),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_matcher),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

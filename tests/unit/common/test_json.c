/* Unit tests for common/json.c, the strict JSON reader of config, policy and launch requests:
 * repeated keys (however they are spelled), depth, NUL bytes, truncation, trailing data, and
 * what stays accepted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/json.h"

static enum cp_json_fault parse(const char *text, int depth, struct cp_json_error *e)
{
	struct json_object *o = NULL;
	int r = cp_json_parse(text, strlen(text), depth, &o, e);

	if (r == 0) {
		assert_non_null(o);
		json_object_put(o);
		return CP_JSON_OK;
	}
	assert_null(o);
	assert_int_equal(r, -EINVAL);
	assert_true(e->fault != CP_JSON_OK);
	return e->fault;
}

static void test_accepts(void **state)
{
	static const char *const ok[] = {
		"{}", "[]", "\"x\"", " {\"a\":1,\"b\":[1,2,{\"a\":2}]}\n",
		"{\"a\":{\"a\":{\"a\":null}}}",             /* the same key in different objects */
		"{\"a\":1,\"A\":2,\"a \":3,\"\\u00e9\":4,\"\\u00e8\":5}", /* different keys */
		"{\"k\":\"\\ud83d\\ude00 \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}",
		"[-0.5e+3, 1E-2, 12345678901234567890]",
	};
	struct cp_json_error e;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (parse(ok[i], 16, &e) != CP_JSON_OK)
			fail_msg("refused %s: %s at %zu (%s)", ok[i], cp_json_fault_name(e.fault), e.offset, e.detail);
}

static void test_duplicate_keys(void **state)
{
	struct cp_json_error e;

	assert_int_equal(parse("{\"memory\":1,\"vcpus\":2,\"memory\":3}", 16, &e), CP_JSON_DUPLICATE_KEY);
	assert_string_equal(e.detail, "memory");
	assert_int_equal(e.offset, 22); /* the second one */
	/* the same key spelled with escapes is the same key */
	assert_int_equal(parse("{\"a\":1,\"\\u0061\":2}", 16, &e), CP_JSON_DUPLICATE_KEY);
	assert_string_equal(e.detail, "a");
	assert_int_equal(parse("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 16, &e), CP_JSON_DUPLICATE_KEY);
	assert_int_equal(parse("{\"a/b\":1,\"a\\/b\":2}", 16, &e), CP_JSON_DUPLICATE_KEY);
	/* deep inside, and in an object inside an array */
	assert_int_equal(parse("{\"x\":{\"y\":[{\"z\":1,\"z\":1}]}}", 16, &e), CP_JSON_DUPLICATE_KEY);
	assert_string_equal(e.detail, "z");
	assert_int_equal(parse("{\"\":1,\"\":2}", 16, &e), CP_JSON_DUPLICATE_KEY);
}

static void test_many_keys(void **state)
{
	/* 20000 distinct keys, then the same with one repeated at the end */
	size_t n = 20000, cap = n * 16 + 32, at = 0;
	char *t = malloc(cap);
	struct cp_json_error e;

	at += (size_t)snprintf(t + at, cap - at, "{");
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(t + at, cap - at, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	snprintf(t + at, cap - at, "}");
	assert_int_equal(parse(t, 16, &e), CP_JSON_OK);
	snprintf(t + at, cap - at, ",\"k777\":0}");
	assert_int_equal(parse(t, 16, &e), CP_JSON_DUPLICATE_KEY);
	assert_string_equal(e.detail, "k777");
	free(t);
}

static void test_depth(void **state)
{
	struct cp_json_error e;
	char deep[64];

	memset(deep, '[', 40);
	memset(deep + 40, ']', 20);
	deep[60] = '\0';
	assert_int_equal(parse("[[[]]]", 16, &e), CP_JSON_OK);
	assert_int_equal(parse(deep, 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", 16, &e), CP_JSON_INVALID);
	/* the limit is the caller's */
	assert_int_equal(parse("[[[[[[1]]]]]]", 4, &e), CP_JSON_INVALID);
	assert_int_equal(parse("{\"device\":[\"rng\"]}", 4, &e), CP_JSON_OK);
}

static void test_refusals(void **state)
{
	struct cp_json_error e;
	struct json_object *o = (struct json_object *)1;

	assert_int_equal(cp_json_parse("", 0, 16, &o, &e), -EINVAL);
	assert_null(o);
	assert_int_equal(e.fault, CP_JSON_EMPTY);
	assert_int_equal(cp_json_parse("{\"a\":1}\0{}", 10, 16, &o, &e), -EINVAL);
	assert_int_equal(e.fault, CP_JSON_NUL);
	assert_int_equal(e.offset, 7);
	assert_int_equal(parse("{\"a\":", 16, &e), CP_JSON_TRUNCATED);
	/* a second value after the first: json-c's strict mode stops there */
	assert_int_equal(parse("{} {}", 16, &e), CP_JSON_INVALID);
	assert_int_equal(e.offset, 3);
	assert_int_equal(parse("{} \n\t ", 16, &e), CP_JSON_OK);
	/* json-c's lenient forms are not JSON */
	assert_int_equal(parse("{'a':1}", 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("{\"a\":1,}", 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("{a:1}", 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("/* c */ {}", 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("[NaN]", 16, &e), CP_JSON_INVALID);
	assert_int_equal(parse("{\"a\":01}", 16, &e), CP_JSON_INVALID);
	/* json-c's strict mode lets these through; the key pass does not */
	assert_int_equal(parse("{\"a\":\"x\ty\"}", 16, &e), CP_JSON_INVALID);
	assert_string_equal(e.detail, "control character in a string");
	assert_int_equal(parse("{\"a\":'x'}", 16, &e), CP_JSON_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* run options and the JSON config: 1:1 with the flags, precise errors, nothing half-applied. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "runner/config.h"

#define HOST (8ull << 30)

static void expect_json_error(const char *json, const char *needle)
{
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	assert_true(run_opts_from_json(&o, json, strlen(json), &err) < 0);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
	run_opts_free(&o);
}

static void test_json_ok(void **state)
{
	const char *j = "{\"kernel\": \"/k\", \"memory\": \"1G\", \"vcpus\": 4, \"timeout\": 2.5, "
			"\"cmdline\": \"a b\", \"debug-exit\": true, \"console\": \"none\", \"name\": \"vm1\"}\n";
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	assert_int_equal(run_opts_from_json(&o, j, strlen(j), &err), 0);
	assert_string_equal(o.kernel, "/k");
	assert_true(o.memory == 1ull << 30);
	assert_int_equal(o.vcpus, 4);
	assert_true(o.timeout_ms == 2500);
	assert_string_equal(o.cmdline, "a b");
	assert_true(o.debug_exit);
	assert_string_equal(o.name, "vm1");
	assert_int_equal(run_opts_validate(&o, HOST, &err), 0);
	run_opts_free(&o);
}

static void test_json_memory_integer_is_mib(void **state)
{
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	assert_int_equal(run_opts_from_json(&o, "{\"memory\": 256}", 15, &err), 0);
	assert_true(o.memory == 256ull << 20);
	run_opts_free(&o);
}

static void test_json_errors(void **state)
{
	expect_json_error("{\"kernal\": \"/k\"}", "unknown key 'kernal'");
	expect_json_error("{\"vcpus\": \"two\"}", "key 'vcpus' must be a non-negative integer, not a string");
	expect_json_error("{\"vcpus\": -1}", "negative");
	expect_json_error("{\"memory\": true}", "key 'memory' must be a size");
	expect_json_error("{\"memory\": \"lots\"}", "memory: 'lots' is not a size");
	expect_json_error("{\"debug-exit\": 1}", "must be true or false");
	expect_json_error("{\"timeout\": \"soon\"}", "number of seconds");
	expect_json_error("{\"timeout\": -3}", "timeout");
	expect_json_error("{\"kernel\": 5}", "must be a string");
	expect_json_error("[1, 2]", "must be a JSON object");
	expect_json_error("{\"kernel\": ", "not valid JSON");
	expect_json_error("{} {}", "not valid JSON");
	/* common/json.c: one value per key, strict JSON, bounded depth */
	expect_json_error("{\"vcpus\": 1, \"memory\": 64, \"vcpus\": 4}", "key 'vcpus' appears twice");
	expect_json_error("{\"kernel\": \"/a\", \"\\u006bernel\": \"/b\"}", "key 'kernel' appears twice");
	expect_json_error("{\"vcpus\": 1,}", "not valid JSON");
	expect_json_error("{\"device\": [[[[\"rng\"]]]]}", "not valid JSON");
}

static void test_json_atomic(void **state)
{
	/* A bad key after a good one leaves the options exactly as they were. */
	const char *j = "{\"vcpus\": 3, \"kernel\": \"/new\", \"bogus\": 1}";
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	assert_int_equal(run_opts_set(&o, "kernel", "/old", &err), 0);
	assert_true(run_opts_from_json(&o, j, strlen(j), &err) < 0);
	assert_int_equal(o.vcpus, 1);
	assert_string_equal(o.kernel, "/old");
	run_opts_free(&o);
}

static void test_validate(void **state)
{
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	o.memory = 1 << 20;
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too small"));
	cp_err_clear(&err);
	o.memory = 16ull << 30;
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "more than this host can give"));
	cp_err_clear(&err);
	o.memory = 64ull << 20;
	o.vcpus = 0;
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vcpus: 0 is out of range"));
	cp_err_clear(&err);
	o.vcpus = 255;
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	cp_err_clear(&err);
	o.vcpus = 2;
	assert_int_equal(run_opts_set(&o, "initrd", "/i", &err), 0);
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "without a kernel"));
	run_opts_free(&o);
}

static void test_cpu_option(void **state)
{
	const char *j = "{\"cpu\": \"host,-xsave,-smap,-popcnt\"}";
	struct run_opts o;
	struct cp_err err = { 0 };
	(void)state;
	run_opts_init(&o);
	assert_int_equal(run_opts_from_json(&o, j, strlen(j), &err), 0);
	assert_string_equal(o.cpu, "host,-xsave,-smap,-popcnt");
	assert_int_equal(run_opts_validate(&o, HOST, &err), 0);
	/* the command line's value wins, and a bad model is refused before any VM exists */
	assert_int_equal(run_opts_set(&o, "cpu", "host,-sse9", &err), 0);
	assert_int_equal(run_opts_validate(&o, HOST, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cpu: unknown feature 'sse9'"));
	run_opts_free(&o);
}

/* --snp-cpuid-fixup: a flag on the command line and a boolean in the config file (issue 12:
 * the corrected CPUID page is accepted only when the operator says so). */
static void test_snp_cpuid_fixup_option(void **state)
{
	const char *j = "{\"snp-cpuid-fixup\": true}";
	struct run_opts o;
	struct cp_err err = { 0 };
	(void)state;
	run_opts_init(&o);
	assert_false(o.snp_cpuid_fixup);
	assert_int_equal(run_opts_from_json(&o, j, strlen(j), &err), 0);
	assert_true(o.snp_cpuid_fixup);
	run_opts_free(&o);
	run_opts_init(&o);
	assert_int_equal(run_opts_set(&o, "snp-cpuid-fixup", NULL, &err), 0);
	assert_true(o.snp_cpuid_fixup);
	assert_true(run_opts_from_json(&o, "{\"snp-cpuid-fixup\": 1}", 22, &err) < 0);
	assert_non_null(strstr(err.msg, "snp-cpuid-fixup"));
	run_opts_free(&o);
}

/* --snp-validate zero|stub: the option and the config key, validated by the one parser. */
static void test_snp_validate_option(void **state)
{
	const char *j = "{\"snp-validate\": \"zero\"}";
	struct run_opts o;
	struct cp_err err = { 0 };
	(void)state;
	run_opts_init(&o);
	assert_null(o.snp_validate);
	assert_int_equal(run_opts_from_json(&o, j, strlen(j), &err), 0);
	assert_string_equal(o.snp_validate, "zero");
	assert_int_equal(run_opts_validate(&o, 1ull << 34, &err), 0);
	assert_int_equal(run_opts_set(&o, "snp-validate", "pvalidate", &err), 0);
	assert_true(run_opts_validate(&o, 1ull << 34, &err) < 0);
	assert_non_null(strstr(err.msg, "not zero or stub"));
	run_opts_free(&o);
}

static void test_flags(void **state)
{
	struct run_opts o;
	struct cp_err err = { 0 };
	run_opts_init(&o);
	assert_int_equal(run_opts_set(&o, "memory", "512", &err), 0);
	assert_true(o.memory == 512ull << 20);
	assert_int_equal(run_opts_set(&o, "memory", "2G", &err), 0);
	assert_true(o.memory == 2ull << 30);
	assert_int_equal(run_opts_set(&o, "console-limit", "1000", &err), 0);
	assert_true(o.console_limit == 1000); /* bytes, unlike --memory's bare MiB */
	assert_int_equal(run_opts_set(&o, "console-limit", "4K", &err), 0);
	assert_true(o.console_limit == 4096);
	assert_true(run_opts_set(&o, "memory", "2Q", &err) < 0);
	cp_err_clear(&err);
	assert_true(run_opts_set(&o, "vcpus", "1.5", &err) < 0);
	cp_err_clear(&err);
	assert_true(run_opts_set(&o, "nope", "x", &err) < 0);
	assert_non_null(strstr(err.msg, "unknown option 'nope'"));
	run_opts_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_ok), cmocka_unit_test(test_json_memory_integer_is_mib),
		cmocka_unit_test(test_json_errors), cmocka_unit_test(test_json_atomic),
		cmocka_unit_test(test_validate), cmocka_unit_test(test_cpu_option), cmocka_unit_test(test_snp_cpuid_fixup_option),
		cmocka_unit_test(test_snp_validate_option),
		cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* run options and the JSON config: 1:1 with the flags, precise errors, nothing half-applied. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/cli_run.h"
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


/* ---- the option table: every option, both ways in ---- */

/* A value of the row's kind as the command line gives it and as the config file does. */
static void sample(const struct run_opt_def *d, char *cli, size_t cli_len, char *json, size_t json_len)
{
	switch (d->type) {
	case OPT_STRING:
		snprintf(cli, cli_len, "v-%s", d->name);
		snprintf(json, json_len, "\"v-%s\"", d->name);
		return;
	case OPT_SIZE: /* a bare number is MiB both ways */
		snprintf(cli, cli_len, "3");
		snprintf(json, json_len, "3");
		return;
	case OPT_BYTES:
		snprintf(cli, cli_len, "4096");
		snprintf(json, json_len, "\"4K\"");
		return;
	case OPT_UINT:
		snprintf(cli, cli_len, "7");
		snprintf(json, json_len, "7");
		return;
	case OPT_SECONDS:
		snprintf(cli, cli_len, "1.5");
		snprintf(json, json_len, "1.5");
		return;
	case OPT_FLAG:
		cli[0] = '\0';
		snprintf(json, json_len, "true");
		return;
	case OPT_LIST:
		snprintf(cli, cli_len, "rng");
		snprintf(json, json_len, "[\"rng\"]");
		return;
	case OPT_FD:
		snprintf(cli, cli_len, "5");
		snprintf(json, json_len, "5");
		return;
	}
	fail_msg("option '%s' has a type this test does not know", d->name);
}

/* Every field of two run_opts, strings by content: the table's string and list fields are
 * compared and masked, then the rest byte for byte, so a field outside the table counts too. */
static bool opts_equal(const struct run_opts *a, const struct run_opts *b)
{
	struct run_opts x = *a, y = *b;

	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		if (d->scope != RUN_OPT_VM || d->type != OPT_STRING)
			continue;
		char **fx = (char **)((uint8_t *)&x + d->offset), **fy = (char **)((uint8_t *)&y + d->offset);
		if (!*fx != !*fy || (*fx && strcmp(*fx, *fy)))
			return false;
		*fx = *fy = NULL;
	}
	if (x.ndevices != y.ndevices)
		return false;
	for (unsigned i = 0; i < x.ndevices; i++) {
		if (strcmp(x.devices[i], y.devices[i]))
			return false;
		x.devices[i] = y.devices[i] = NULL;
	}
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* Parse argv as `carapace run` does and apply its VM options to *o; *cli gets the rest. */
static int parse_cli(int argc, char **argv, struct run_opts *o, struct run_cli *cli, struct cp_err *err)
{
	struct run_arg args[8];
	unsigned n = 0;
	int r;

	assert_true(argc <= 8);
	r = run_args_parse(argc, argv, cli, args, &n, err);
	return r < 0 ? r : run_opts_apply_args(o, args, n, err);
}

/* Each row of the table, through getopt (tables generated from it) and through the config file:
 * a VM option gives the same run_opts both ways (and differs from the defaults, so the option
 * does something); a command-line-only option reaches struct run_cli and is refused by the
 * config reader with the row's reason. */
static void test_every_option_both_ways(void **state)
{
	unsigned vm = 0, only = 0;
	(void)state;

	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		char flag[64], cli_val[64], json_val[64], doc[192];
		char *argv[4] = { "run", flag, cli_val, NULL };
		struct run_opts from_cli, from_json, defaults;
		struct run_cli cli, fresh;
		struct cp_err err = { 0 };

		assert_ptr_equal(run_opt_find(d->name), d); /* one row per name */
		snprintf(flag, sizeof(flag), "--%s", d->name);
		sample(d, cli_val, sizeof(cli_val), json_val, sizeof(json_val));
		snprintf(doc, sizeof(doc), "{\"%s\": %s}", d->name, json_val);
		run_opts_init(&from_cli);
		run_opts_init(&from_json);
		run_opts_init(&defaults);
		run_cli_init(&cli);
		run_cli_init(&fresh);
		if (parse_cli(d->type == OPT_FLAG ? 2 : 3, argv, &from_cli, &cli, &err) < 0)
			fail_msg("--%s %s: %s", d->name, cli_val, err.msg);
		cp_err_clear(&err);
		if (d->scope == RUN_OPT_VM) {
			vm++;
			if (run_opts_from_json(&from_json, doc, strlen(doc), &err) < 0)
				fail_msg("config %s: %s", doc, err.msg);
			if (!opts_equal(&from_cli, &from_json))
				fail_msg("--%s and config key '%s' give different options", d->name, d->name);
			if (opts_equal(&from_cli, &defaults))
				fail_msg("--%s %s changed nothing", d->name, cli_val);
			assert_null(cli.config);
			assert_false(cli.firecracker);
			assert_non_null(strstr(run_opts_known(), d->name));
		} else {
			only++;
			assert_true(opts_equal(&from_cli, &defaults)); /* the VM's options are untouched */
			assert_true(memcmp(&cli, &fresh, sizeof(cli)) != 0);
			assert_int_equal(cli.firecracker, d->scope == RUN_OPT_FIRECRACKER);
			assert_non_null(run_opt_scope_why(d->scope));
			assert_true(run_opts_from_json(&from_json, doc, strlen(doc), &err) < 0);
			if (!strstr(err.msg, "is for the command line only") || !strstr(err.msg, d->name) ||
			    !strstr(err.msg, run_opt_scope_why(d->scope)))
				fail_msg("config key '%s' refused unclearly: %s", d->name, err.msg);
			assert_true(opts_equal(&from_json, &defaults)); /* nothing applied */
			cp_err_clear(&err);
			assert_true(run_opts_set(&from_json, d->name, cli_val, &err) < 0);
			assert_non_null(strstr(err.msg, "not part of a VM's configuration"));
		}
		run_opts_free(&from_cli);
		run_opts_free(&from_json);
		run_cli_free(&cli);
	}
	/* the options the review found outside the table are in it, on the side it chose */
	static const char *const vm_keys[] = { "quiet", "attest", "tcti", "pcr", "allow-resettable-pcr", "state-dir" };
	static const char *const cli_only[] = { "print-launch-request", "print-seccomp-policy", "config", "api-sock",
						"config-file", "id", "level", "log-path", "no-seccomp", "api-control-fd",
						"help" };
	for (size_t i = 0; i < sizeof(vm_keys) / sizeof(vm_keys[0]); i++)
		assert_int_equal(run_opt_find(vm_keys[i])->scope, RUN_OPT_VM);
	for (size_t i = 0; i < sizeof(cli_only) / sizeof(cli_only[0]); i++)
		assert_int_not_equal(run_opt_find(cli_only[i])->scope, RUN_OPT_VM);
	assert_true(vm >= 34 && only >= 11);
	assert_null(run_opt_scope_why(RUN_OPT_VM));
}

/* Short options come from the table too; getopt's errors are usage errors with the argument. */
static void test_args_parse(void **state)
{
	char *quiet[] = { "run", "-q", "--memory", "64", "--config", "/c.json", NULL };
	char *help[] = { "run", "-h", "--bogus", NULL };
	char *bad[] = { "run", "--bogus", NULL };
	char *missing[] = { "run", "--kernel", NULL };
	char *stray[] = { "run", "stray", NULL };
	char *fd[] = { "run", "--api-control-fd", "2", NULL };
	struct run_arg args[8];
	struct run_cli cli;
	struct cp_err err = { 0 };
	unsigned n;
	(void)state;

	run_cli_init(&cli);
	assert_int_equal(run_args_parse(6, quiet, &cli, args, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(args[0].name, "quiet");
	assert_null(args[0].value);
	assert_string_equal(args[1].name, "memory");
	assert_string_equal(args[1].value, "64");
	assert_string_equal(cli.config, "/c.json");
	run_cli_free(&cli);
	/* --help ends parsing, as it always did: what follows is not judged */
	assert_int_equal(run_args_parse(3, help, &cli, args, &n, &err), 0);
	assert_true(cli.help);
	run_cli_free(&cli);
	assert_true(run_args_parse(2, bad, &cli, args, &n, &err) < 0);
	assert_string_equal(err.msg, "unknown option '--bogus' (see carapace run --help)");
	cp_err_clear(&err);
	assert_true(run_args_parse(2, missing, &cli, args, &n, &err) < 0);
	assert_string_equal(err.msg, "option '--kernel' needs a value");
	cp_err_clear(&err);
	assert_true(run_args_parse(2, stray, &cli, args, &n, &err) < 0);
	assert_string_equal(err.msg, "unexpected argument 'stray' (see carapace run --help)");
	cp_err_clear(&err);
	assert_true(run_args_parse(3, fd, &cli, args, &n, &err) < 0);
	assert_non_null(strstr(err.msg, "--api-control-fd: '2' is not a descriptor number"));
	run_cli_free(&cli);
}

/* --help names every option of the table (the internal ones aside). */
static void test_usage_lists_every_option(void **state)
{
	char *text = NULL, needle[80];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	(void)state;

	assert_non_null(f);
	cli_run_usage(f);
	fclose(f);
	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		if (!strcmp(d->name, "api-control-fd") || !strcmp(d->name, "test-hook"))
			continue;
		snprintf(needle, sizeof(needle), "--%s ", d->name);
		if (!strstr(text, needle))
			fail_msg("carapace run --help does not list --%s", d->name);
		snprintf(needle, sizeof(needle), "-%c, --%s", d->short_name, d->name);
		if (d->short_name && !strstr(text, needle))
			fail_msg("carapace run --help does not list %s", needle);
	}
	free(text);
}

/* The man page documents every option of the table (argv[1]: docs/man/carapace-run.1). */
static const char *man_path;
static void test_man_page_lists_every_option(void **state)
{
	char *text, needle[96];
	FILE *f;
	long len;
	(void)state;

	if (!man_path)
		skip();
	f = fopen(man_path, "re");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (size_t i = 0; i < run_opt_count; i++) {
		size_t n = 0;
		if (!strcmp(run_opt_defs[i].name, "api-control-fd") || !strcmp(run_opt_defs[i].name, "test-hook"))
			continue; /* internal: the API's controller and the test suites */
		n += (size_t)snprintf(needle, sizeof(needle), "\\-\\-");
		for (const char *c = run_opt_defs[i].name; *c && n + 3 < sizeof(needle); c++)
			n += (size_t)snprintf(needle + n, sizeof(needle) - n, *c == '-' ? "\\-" : "%c", *c);
		if (!strstr(text, needle))
			fail_msg("docs/man/carapace-run.1 does not document %s", needle);
	}
	free(text);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_ok), cmocka_unit_test(test_json_memory_integer_is_mib),
		cmocka_unit_test(test_json_errors), cmocka_unit_test(test_json_atomic),
		cmocka_unit_test(test_validate), cmocka_unit_test(test_cpu_option), cmocka_unit_test(test_snp_cpuid_fixup_option),
		cmocka_unit_test(test_snp_validate_option),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_every_option_both_ways), cmocka_unit_test(test_args_parse),
		cmocka_unit_test(test_usage_lists_every_option), cmocka_unit_test(test_man_page_lists_every_option),
	};
	man_path = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

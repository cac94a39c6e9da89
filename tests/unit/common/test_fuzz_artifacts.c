/* Unit tests for tests/fuzz/fuzz_artifacts.c: a fuzz target started without -artifact_prefix=
 * writes its reproducers beside its executable, not into the current directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fuzz/fuzz_artifacts.h"

static void test_default_prefix_added(void **state)
{
	char *argv[] = { "fuzz-x", "-max_total_time=5", "corpus", NULL };
	char *out[5], buf[128];

	assert_int_equal(fuzz_artifact_argv(3, argv, "/b/tests/fuzz/fuzz-x", out, buf, sizeof(buf)), 4);
	assert_string_equal(out[3], "-artifact_prefix=/b/tests/fuzz/fuzz-x-");
	assert_ptr_equal(out[0], argv[0]);
	assert_ptr_equal(out[1], argv[1]);
	assert_ptr_equal(out[2], argv[2]);
	assert_null(out[4]);
}

static void test_caller_prefix_kept(void **state)
{
	char *a1[] = { "fuzz-x", "-artifact_prefix=/tmp/", NULL };
	char *a2[] = { "fuzz-x", "-exact_artifact_path=/tmp/c", "in", NULL };
	char *out[5], buf[128] = "";

	assert_int_equal(fuzz_artifact_argv(2, a1, "/b/fuzz-x", out, buf, sizeof(buf)), 2);
	assert_null(out[2]);
	assert_int_equal(fuzz_artifact_argv(3, a2, "/b/fuzz-x", out, buf, sizeof(buf)), 3);
	assert_null(out[3]);
	assert_string_equal(buf, "");
}

static void test_program_name_is_not_a_flag(void **state)
{
	/* argv[0] is never read as a flag, even if it looks like one */
	char *argv[] = { "-artifact_prefix=./", NULL };
	char *out[3], buf[64];

	assert_int_equal(fuzz_artifact_argv(1, argv, "/b/f", out, buf, sizeof(buf)), 2);
	assert_string_equal(out[1], "-artifact_prefix=/b/f-");
}

static void test_refusals(void **state)
{
	char *argv[] = { "f", NULL };
	char *out[3], buf[20];

	assert_int_equal(fuzz_artifact_argv(1, argv, "", out, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(fuzz_artifact_argv(1, argv, NULL, out, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(fuzz_artifact_argv(1, argv, "/a/long/build/dir/f", out, buf, sizeof(buf)),
			 -ENAMETOOLONG);
	assert_null(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_prefix_added),
		cmocka_unit_test(test_caller_prefix_kept),
		cmocka_unit_test(test_program_name_is_not_a_flag),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* runner-vdev: --device specs and the helper command lines come from the table of device kinds
 * (devices/devkinds.c), and a kind outside that table (or one the runner does not start) is
 * refused everywhere instead of being taken for another kind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "runner/vdev.h"
#include "runner/vm.h"

static void expect_args(const struct vdev_spec *s, const char *const *want)
{
	const char *args[12];
	char fdbuf[16];
	struct cp_err err = { 0 };
	int n = vdev_helper_args(s, args, ARRAY_SIZE(args), fdbuf, sizeof(fdbuf), &err);
	int i;

	assert_true(n >= 0);
	for (i = 0; want[i]; i++) {
		assert_true(i < n);
		assert_string_equal(args[i], want[i]);
	}
	assert_int_equal(i, n);
	assert_null(args[n]);
}

static void test_args_from_table(void **state)
{
	struct vdev_spec s;
	struct cp_err err = { 0 };

	(void)state;
	assert_int_equal(vdev_spec_parse("blk,path=/img,readonly=on", &s, &err), 0);
	assert_int_equal(s.kind, DEVKIND_BLK);
	expect_args(&s, (const char *const[]){ "--image", "/img", "--readonly", NULL });
	s.image_fd = 7; /* opened by the runner: the helper gets the fd, never the name */
	expect_args(&s, (const char *const[]){ "--image-fd", "7", "--readonly", NULL });
	assert_int_equal(vdev_spec_parse("net,tap=tap0,mac=02:00:00:00:00:01", &s, &err), 0);
	/* what carapace-net parses (not --tap-fd, which only a caller holding the TAP uses) */
	expect_args(&s, (const char *const[]){ "--tap", "tap0", "--mac", "02:00:00:00:00:01", NULL });
	assert_int_equal(vdev_spec_parse("console,path=/out", &s, &err), 0);
	expect_args(&s, (const char *const[]){ "--output", "/out", NULL });
	assert_int_equal(vdev_spec_parse("rng", &s, &err), 0);
	expect_args(&s, (const char *const[]){ NULL });
}

static void test_spec_refusals(void **state)
{
	struct vdev_spec s;
	struct cp_err err = { 0 };

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("floppy", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown kind 'floppy'"));
	/* In the table, but not started by carapace run (no launch-policy class to judge it). */
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("vsock", &s, &err), -EINVAL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("rng,path=/x", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option 'path'"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("blk", &s, &err), -EINVAL);
	assert_string_equal(err.msg, "device blk: path=FILE is required");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("net,tap=0123456789abcdef", &s, &err), -EINVAL);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("net,tap=t,mac=02:00", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not xx:xx:xx:xx:xx:xx"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("blk,path=/i,readonly=maybe", &s, &err), -EINVAL);
}

/* Before the fix an unknown kind was wired up as a console; now nothing is started for it. */
static void test_unknown_kind_fails_closed(void **state)
{
	static struct vm vm;
	static struct vdev d;
	struct vdev_spec s;
	const char *args[12];
	char fdbuf[16];
	struct cp_err err = { 0 };

	(void)state;
	memset(&s, 0, sizeof(s));
	s.image_fd = -1;
	s.kind = (enum devkind_id)DEVKIND__COUNT;
	assert_int_equal(vdev_helper_args(&s, args, ARRAY_SIZE(args), fdbuf, sizeof(fdbuf), &err), -EINVAL);
	s.kind = DEVKIND_VSOCK;
	assert_int_equal(vdev_helper_args(&s, args, ARRAY_SIZE(args), fdbuf, sizeof(fdbuf), &err), -EINVAL);
	assert_string_equal(vdev_kind_name((enum devkind_id)42), "?");

	s.kind = (enum devkind_id)42;
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_create(&vm, &d, 0, &s, &err), -EINVAL);
	assert_int_equal(d.pid, -1); /* no helper was started */
	assert_non_null(strstr(err.msg, "not one carapace starts"));
	vdev_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_from_table),
		cmocka_unit_test(test_spec_refusals),
		cmocka_unit_test(test_unknown_kind_fails_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

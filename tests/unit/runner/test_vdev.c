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
	/* numbers reach the helper in plain decimal */
	assert_int_equal(vdev_spec_parse("vsock,uds=/run/vm/kata.hvsock,cid=0x10", &s, &err), 0);
	assert_int_equal(s.kind, DEVKIND_VSOCK);
	expect_args(&s, (const char *const[]){ "--cid", "16", "--uds-path", "/run/vm/kata.hvsock", NULL });
	assert_int_equal(vdev_spec_parse("vsock,cid=4294967294,uds=/v", &s, &err), 0);
	expect_args(&s, (const char *const[]){ "--cid", "4294967294", "--uds-path", "/v", NULL });
}

/* The numeric and absolute-path options (DEVOPT_UINT, DEVOPT_ABSPATH), through vsock's row. */
static void test_number_and_path_options(void **state)
{
	static const char *const bad[][2] = {
		{ "vsock,cid=2,uds=/v", "device vsock: cid=2: expected a number from 3 to 4294967294" },
		{ "vsock,cid=4294967295,uds=/v", "cid=4294967295: expected a number from 3 to 4294967294" },
		{ "vsock,cid=-3,uds=/v", "expected a number" },
		{ "vsock,cid= 3,uds=/v", "expected a number" },
		{ "vsock,cid=3x,uds=/v", "expected a number" },
		{ "vsock,cid=,uds=/v", "expected a number" },
		{ "vsock,cid=3,uds=v.sock", "uds=v.sock: expected an absolute path of 2 to 107 bytes" },
		{ "vsock,cid=3,uds=/", "expected an absolute path" },
		{ "vsock,cid=3", "device vsock: uds=PATH is required" },
		{ "vsock,uds=/v", "device vsock: cid=N is required" },
		{ "vsock,cid=3,uds=/v,path=/x", "device vsock: unknown option 'path'" },
		{ "blk,path=/i,cid=3", "device blk: unknown option 'cid'" },
	};
	char long_uds[160];
	struct vdev_spec s;
	struct cp_err err;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(vdev_spec_parse(bad[i][0], &s, &err), -EINVAL);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i][0], err.msg, bad[i][1]);
	}
	/* 107 bytes fit sockaddr_un.sun_path with its NUL; 108 do not. */
	memset(long_uds, 'a', sizeof(long_uds));
	memcpy(long_uds, "vsock,cid=3,uds=/", 17);
	long_uds[16 + 107] = '\0';
	assert_int_equal(vdev_spec_parse(long_uds, &s, &err), 0);
	assert_int_equal(strlen(s.uds), 107);
	long_uds[16 + 107] = 'a';
	long_uds[16 + 108] = '\0';
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse(long_uds, &s, &err), -EINVAL);
	assert_string_equal(s.uds, "");
}

/* vdev_spec_resolve names the socket's directory canonically (what the policy judges and the
 * helper gets) and refuses a directory that does not exist. */
static void test_resolve(void **state)
{
	struct vdev_spec s;
	struct cp_err err = { 0 };

	(void)state;
	assert_int_equal(vdev_spec_parse("vsock,cid=3,uds=/tmp/../tmp/./v.sock", &s, &err), 0);
	assert_int_equal(vdev_spec_resolve(&s, &err), 0);
	assert_string_equal(s.uds, "/tmp/v.sock");
	assert_int_equal(vdev_spec_parse("vsock,cid=3,uds=/v.sock", &s, &err), 0);
	assert_int_equal(vdev_spec_resolve(&s, &err), 0);
	assert_string_equal(s.uds, "/v.sock");
	assert_int_equal(vdev_spec_parse("vsock,cid=3,uds=/nonexistent-carapace/v.sock", &s, &err), 0);
	assert_int_equal(vdev_spec_resolve(&s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "device vsock: uds=/nonexistent-carapace/v.sock: directory: "));
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("vsock,cid=3,uds=/tmp/..", &s, &err), 0);
	assert_int_equal(vdev_spec_resolve(&s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "does not name a file"));
	/* kinds without such an option are left alone */
	assert_int_equal(vdev_spec_parse("console,path=rel/out", &s, &err), 0);
	assert_int_equal(vdev_spec_resolve(&s, &err), 0);
	assert_string_equal(s.path, "rel/out");
}

static void test_spec_refusals(void **state)
{
	struct vdev_spec s;
	struct cp_err err = { 0 };

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(vdev_spec_parse("floppy", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown kind 'floppy'"));
	assert_non_null(strstr(err.msg, "(blk, rng, console, net, vsock)")); /* the table's kinds */
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
	assert_int_equal(vdev_spec_resolve(&s, &err), -EINVAL);
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
		cmocka_unit_test(test_number_and_path_options),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_unknown_kind_fails_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The device helpers' one command-line reader (devices/helper_cli.c): every helper's options as
 * the runner (runner/vdev.c, devices/spawn.c) and the tests pass them, and hostile argv: bad
 * descriptor numbers, junk, overflow, duplicates, unknown and abbreviated options, options that
 * exclude each other, missing ones. Also: every flag devices/devkinds.c makes the runner pass
 * is a row of the helper's table, with the same bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/helper_cli.h"

#define ARGV(...) ((char *const[]){ "helper", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *const[]){ "helper", __VA_ARGS__ }) / sizeof(char *)))
/* parse(kind, args...): the reader's verdict on "helper args..." */
#define PARSE(kind, cli, why, ...) \
	dev_cli_parse(&dev_cli_specs[kind], ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, why, sizeof(why))

static char why[256];

/* A refusal, with the reason naming what was wrong. */
#define REFUSED(needle, kind, ...)                                                          \
	do {                                                                                \
		struct dev_cli c_;                                                          \
		int r_ = PARSE(kind, &c_, why, __VA_ARGS__);                                \
		if (r_ != -EINVAL || !strstr(why, needle))                                  \
			fail_msg("%s: returned %d (%s), wanted -EINVAL naming '%s'", #__VA_ARGS__, r_, why, \
				 needle);                                                    \
	} while (0)

static void test_fd_number(void **state)
{
	int fd = -1;

	assert_int_equal(dev_cli_fd("3", &fd), 0);
	assert_int_equal(fd, 3);
	assert_int_equal(dev_cli_fd("2147483647", &fd), 0);
	assert_int_equal(fd, 2147483647);
	fd = 42;
	for (const char *const *s = (const char *const[]){ "0", "1", "2", "2147483648", "4294967299",
							   NULL }; *s; s++) {
		assert_int_equal(dev_cli_fd(*s, &fd), -ERANGE);
		assert_int_equal(fd, 42); /* untouched on a refusal */
	}
	for (const char *const *s = (const char *const[]){ "", "-1", "-3", "+3", " 3", "3 ", "3\n", "0x3", "03", "3x",
							   "1e3", "99999999999999999999999", "18446744073709551619",
							   "١", NULL }; *s; s++)
		assert_int_equal(dev_cli_fd(*s, &fd), -EINVAL);
	assert_int_equal(dev_cli_fd(NULL, &fd), -EINVAL);
	assert_int_equal(fd, 42);
}

/* What the runner starts each helper with: `--fd N` first (devices/spawn.c), then the kind's
 * flags (runner/vdev.c vdev_helper_args), for blk also --swap-fd. */
static void test_runner_argv(void **state)
{
	struct dev_cli c;

	assert_int_equal(PARSE(DEVKIND_BLK, &c, why, "--fd", "5", "--image-fd", "7", "--readonly", "--swap-fd", "9"), 0);
	assert_int_equal(c.common.fd, 5);
	assert_null(c.common.socket_path);
	assert_true(c.set[BLK_CLI_IMAGE_FD]);
	assert_int_equal(c.num[BLK_CLI_IMAGE_FD], 7);
	assert_false(c.set[BLK_CLI_IMAGE]);
	assert_true(c.set[BLK_CLI_READONLY]);
	assert_int_equal(c.num[BLK_CLI_SWAP_FD], 9);
	assert_false(c.set[BLK_CLI_NUM_QUEUES]);

	assert_int_equal(PARSE(DEVKIND_RNG, &c, why, "--fd", "12"), 0);
	assert_int_equal(c.common.fd, 12);
	assert_false(c.common.no_jail);

	assert_int_equal(PARSE(DEVKIND_CONSOLE, &c, why, "--fd", "6", "--output", "/run/vm/console.log"), 0);
	assert_string_equal(c.str[CONSOLE_CLI_OUTPUT], "/run/vm/console.log");
	assert_false(c.set[CONSOLE_CLI_PTY]);

	assert_int_equal(PARSE(DEVKIND_NET, &c, why, "--fd", "6", "--tap", "tap0", "--mac", "02:00:00:00:00:01"), 0);
	assert_string_equal(c.str[NET_CLI_TAP], "tap0");
	assert_string_equal(c.str[NET_CLI_MAC], "02:00:00:00:00:01");
	assert_false(c.set[NET_CLI_TAP_FD]);

	assert_int_equal(PARSE(DEVKIND_VSOCK, &c, why, "--fd", "6", "--cid", "4294967294", "--uds-path", "/run/vm/kata.hvsock"), 0);
	assert_int_equal(c.num[VSOCK_CLI_CID], 4294967294u);
	assert_string_equal(c.str[VSOCK_CLI_UDS_PATH], "/run/vm/kata.hvsock");
	assert_int_equal(c.common.fd, 6);
}

/* What people and the integration tests type: --socket-path, --name=value, every option. */
static void test_by_hand(void **state)
{
	struct dev_cli c;

	assert_int_equal(PARSE(DEVKIND_BLK, &c, why, "--socket-path", "/tmp/b.sock", "--image", "/img", "--num-queues", "16",
			       "--serial", "12345678901234567890", "--no-jail", "--verbose"), 0);
	assert_string_equal(c.common.socket_path, "/tmp/b.sock");
	assert_int_equal(c.common.fd, -1);
	assert_true(c.common.no_jail);
	assert_true(c.common.verbose);
	assert_string_equal(c.str[BLK_CLI_IMAGE], "/img");
	assert_int_equal(c.num[BLK_CLI_NUM_QUEUES], 16);
	assert_string_equal(c.str[BLK_CLI_SERIAL], "12345678901234567890");
	assert_false(c.set[BLK_CLI_SWAP_FD]);

	assert_int_equal(PARSE(DEVKIND_CONSOLE, &c, why, "--socket-path=/tmp/c.sock", "--pty"), 0);
	assert_string_equal(c.common.socket_path, "/tmp/c.sock");
	assert_true(c.set[CONSOLE_CLI_PTY]);
	assert_int_equal(PARSE(DEVKIND_CONSOLE, &c, why, "--unix=/tmp/peer", "--fd=4"), 0);
	assert_string_equal(c.str[CONSOLE_CLI_UNIX], "/tmp/peer");
	assert_int_equal(c.common.fd, 4);
	assert_int_equal(PARSE(DEVKIND_NET, &c, why, "--fd", "4", "--tap-fd", "3"), 0);
	assert_int_equal(c.num[NET_CLI_TAP_FD], 3);
	assert_int_equal(PARSE(DEVKIND_VSOCK, &c, why, "--uds-path=/v", "--cid=3", "--socket-path", "/s"), 0);
	assert_int_equal(c.num[VSOCK_CLI_CID], 3);
	/* A value is the next argument, whatever it looks like (as getopt did). */
	assert_int_equal(PARSE(DEVKIND_BLK, &c, why, "--fd", "5", "--image", "--readonly"), 0);
	assert_string_equal(c.str[BLK_CLI_IMAGE], "--readonly");
	assert_false(c.set[BLK_CLI_READONLY]);
	/* An empty --name= is a value of 0 bytes, judged as such. */
	REFUSED("--image: FILE of 0 bytes; expected 1 to 4095", DEVKIND_BLK, "--fd", "5", "--image=");
#ifdef CARAPACE_TEST_HOOKS
	assert_int_equal(PARSE(DEVKIND_RNG, &c, why, "--socket-path", "/s", "--test-hook=probe"), 0);
	assert_string_equal(c.common.test_hook, "probe");
#else
	REFUSED("unknown option --test-hook", DEVKIND_RNG, "--socket-path", "/s", "--test-hook=probe");
#endif
}

static void test_help(void **state)
{
	struct dev_cli c;

	assert_int_equal(PARSE(DEVKIND_BLK, &c, why, "--help"), DEV_CLI_HELP);
	assert_int_equal(PARSE(DEVKIND_NET, &c, why, "-h"), DEV_CLI_HELP);
	/* as getopt did: read in order, so help ends the reading, and an earlier error wins */
	assert_int_equal(PARSE(DEVKIND_RNG, &c, why, "--no-jail", "--help", "--bogus"), DEV_CLI_HELP);
	REFUSED("unknown option --bogus", DEVKIND_RNG, "--bogus", "--help");
	REFUSED("--help takes no value", DEVKIND_RNG, "--help=1");
}

static void test_hostile(void **state)
{
	/* descriptors */
	REFUSED("--fd 0: 0, 1 and 2 are the standard streams", DEVKIND_RNG, "--fd", "0");
	REFUSED("--fd 1: 0, 1 and 2", DEVKIND_RNG, "--fd", "1");
	REFUSED("--fd 2: 0, 1 and 2", DEVKIND_RNG, "--fd=2");
	REFUSED("--fd -3: expected a descriptor number from 3 to 2147483647", DEVKIND_RNG, "--fd", "-3");
	REFUSED("--fd 7x: expected a descriptor number", DEVKIND_RNG, "--fd", "7x");
	REFUSED("--fd 0x7: expected a descriptor number", DEVKIND_RNG, "--fd", "0x7");
	REFUSED("--fd 2147483648: expected", DEVKIND_RNG, "--fd", "2147483648");
	REFUSED("--fd 184467440737095516160", DEVKIND_RNG, "--fd", "18446744073709551616000");
	REFUSED("--image-fd 1: 0, 1 and 2", DEVKIND_BLK, "--fd", "5", "--image-fd", "1");
	REFUSED("--swap-fd +9: expected", DEVKIND_BLK, "--fd", "5", "--image", "/i", "--swap-fd", "+9");
	REFUSED("--tap-fd  3: expected", DEVKIND_NET, "--fd", "5", "--tap-fd", " 3");
	/* numbers */
	REFUSED("--num-queues 0: expected a decimal number from 1 to 16", DEVKIND_BLK, "--fd", "5", "--image", "/i",
		"--num-queues", "0");
	REFUSED("--num-queues 17: expected", DEVKIND_BLK, "--fd", "5", "--image", "/i", "--num-queues", "17");
	REFUSED("--num-queues 010: expected", DEVKIND_BLK, "--fd", "5", "--image", "/i", "--num-queues", "010");
	REFUSED("--cid 2: expected a decimal number from 3 to 4294967294", DEVKIND_VSOCK, "--fd", "5", "--cid", "2",
		"--uds-path", "/v");
	REFUSED("--cid 4294967295: expected", DEVKIND_VSOCK, "--fd", "5", "--cid", "4294967295", "--uds-path", "/v");
	REFUSED("--cid 0x10: expected", DEVKIND_VSOCK, "--fd", "5", "--cid", "0x10", "--uds-path", "/v");
	REFUSED("--cid 18446744073709551617: expected", DEVKIND_VSOCK, "--fd", "5", "--cid", "18446744073709551617",
		"--uds-path", "/v");
	/* lengths: a name that would be cut short names something else */
	REFUSED("--tap: NAME of 16 bytes; expected 1 to 15", DEVKIND_NET, "--fd", "5", "--tap", "abcdefghijklmnop");
	REFUSED("--serial: ID of 21 bytes; expected 1 to 20", DEVKIND_BLK, "--fd", "5", "--image", "/i", "--serial",
		"123456789012345678901");
	REFUSED("--mac: MAC of 16 bytes; expected 17 to 17", DEVKIND_NET, "--fd", "5", "--tap", "t", "--mac",
		"2:00:00:00:00:01");
	REFUSED("--socket-path: PATH of 103 bytes; expected 1 to 102", DEVKIND_RNG, "--socket-path",
		"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	REFUSED("--uds-path: PATH of 108 bytes; expected 1 to 107", DEVKIND_VSOCK, "--fd", "5", "--cid", "3", "--uds-path",
		"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	{
		struct dev_cli c;
		assert_int_equal(PARSE(DEVKIND_RNG, &c, why, "--socket-path", "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
	}
	/* duplicates: the second would silently win */
	REFUSED("--fd is given twice", DEVKIND_RNG, "--fd", "5", "--fd", "6");
	REFUSED("--image is given twice", DEVKIND_BLK, "--fd", "5", "--image", "/a", "--image=/b");
	REFUSED("--readonly is given twice", DEVKIND_BLK, "--fd", "5", "--image", "/a", "--readonly", "--readonly");
	REFUSED("--no-jail is given twice", DEVKIND_RNG, "--fd", "5", "--no-jail", "--no-jail");
	/* unknown, abbreviated, another helper's, malformed */
	REFUSED("unknown option --sock", DEVKIND_RNG, "--sock", "/s");
	REFUSED("unknown option --socket-pat", DEVKIND_RNG, "--socket-pat=/s");
	REFUSED("unknown option --image", DEVKIND_RNG, "--fd", "5", "--image", "/i");
	REFUSED("unknown option --tap", DEVKIND_CONSOLE, "--fd", "5", "--tap", "t");
	REFUSED("unknown option --", DEVKIND_RNG, "--fd", "5", "---fd");
	REFUSED("unexpected argument 'extra'", DEVKIND_RNG, "--fd", "5", "extra");
	REFUSED("unexpected argument '--'", DEVKIND_RNG, "--fd", "5", "--");
	REFUSED("unexpected argument '-f'", DEVKIND_RNG, "-f", "5");
	REFUSED("unexpected argument '-'", DEVKIND_RNG, "--fd", "5", "-");
	REFUSED("unexpected argument ''", DEVKIND_RNG, "--fd", "5", "");
	/* values */
	REFUSED("--fd needs a value (N)", DEVKIND_RNG, "--fd");
	REFUSED("--uds-path needs a value (PATH)", DEVKIND_VSOCK, "--fd", "5", "--cid", "3", "--uds-path");
	REFUSED("--no-jail takes no value", DEVKIND_RNG, "--fd", "5", "--no-jail=yes");
	REFUSED("--pty takes no value", DEVKIND_CONSOLE, "--fd", "5", "--pty=");
	/* groups and required options */
	REFUSED("one of --socket-path or --fd is needed", DEVKIND_RNG, "--no-jail");
	REFUSED("--socket-path and --fd exclude each other", DEVKIND_RNG, "--fd", "5", "--socket-path", "/s");
	REFUSED("one of --image or --image-fd is needed", DEVKIND_BLK, "--fd", "5", "--readonly");
	REFUSED("--image and --image-fd exclude each other", DEVKIND_BLK, "--fd", "5", "--image", "/i", "--image-fd", "7");
	REFUSED("one of --output or --pty or --unix is needed", DEVKIND_CONSOLE, "--fd", "5");
	REFUSED("--output and --pty and --unix exclude each other", DEVKIND_CONSOLE, "--fd", "5", "--pty", "--unix", "/u");
	REFUSED("--tap and --tap-fd exclude each other", DEVKIND_NET, "--fd", "5", "--tap", "t", "--tap-fd", "3");
	REFUSED("--cid N is needed", DEVKIND_VSOCK, "--fd", "5", "--uds-path", "/v");
	REFUSED("--uds-path PATH is needed", DEVKIND_VSOCK, "--fd", "5", "--cid", "3");
}

static void test_no_table(void **state)
{
	struct dev_cli c;
	struct dev_cli_spec bad = { DEVKIND__COUNT, NULL, 0 };

	assert_int_equal(dev_cli_parse(NULL, 1, ARGV("--fd"), &c, why, sizeof(why)), -EINVAL);
	assert_int_equal(dev_cli_parse(&bad, 1, ARGV("--fd"), &c, why, sizeof(why)), -EINVAL);
	bad = (struct dev_cli_spec){ DEVKIND_BLK, NULL, 3 };
	assert_int_equal(dev_cli_parse(&bad, 1, ARGV("--fd"), &c, why, sizeof(why)), -EINVAL);
	/* argv shorter than argc says (a NULL inside): refused, not read past */
	assert_int_equal(dev_cli_parse(&dev_cli_specs[DEVKIND_RNG], 4, (char *const[]){ "h", "--fd", "5", NULL, NULL },
				       &c, why, sizeof(why)), -EINVAL);
	assert_int_equal(dev_cli_parse(&dev_cli_specs[DEVKIND_RNG], 2, (char *const[]){ "h", "--fd", NULL }, &c, why,
				       sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "needs a value"));
}

/* Every flag the runner passes (devices/devkinds.c args[], their fd_flag, the --fd of
 * devices/spawn.c and the --swap-fd of runner/vdev.c) is a row of that helper's table, and the
 * table takes every value the runner's own check (devkind_arg_check) lets through. */
static const struct dev_cli_opt *row(enum devkind_id k, const char *flag)
{
	const struct dev_cli_spec *s = &dev_cli_specs[k];

	assert_true(flag[0] == '-' && flag[1] == '-');
	for (unsigned i = 0; i < s->nopts; i++)
		if (!strcmp(s->opts[i].name, flag + 2))
			return &s->opts[i];
	for (size_t i = 0; i < dev_cli_ncommon; i++)
		if (dev_cli_common[i].name && !strcmp(dev_cli_common[i].name, flag + 2))
			return &dev_cli_common[i];
	return NULL;
}

static void test_matches_devkinds(void **state)
{
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		const struct devkind *d = &devkinds[k];

		assert_int_equal(dev_cli_specs[k].kind, k);
		assert_true(dev_cli_specs[k].nopts <= DEV_CLI_MAX);
		assert_non_null(row(k, "--fd"));
		assert_non_null(row(k, "--socket-path"));
		for (const struct devkind_arg *a = d->args; a->key; a++) {
			const struct dev_cli_opt *o = row(k, a->flag);

			if (!o)
				fail_msg("%s: the runner passes %s, which the helper's table lacks", d->name, a->flag);
			switch (a->type) {
			case DEVOPT_BOOL:
				assert_int_equal(o->type, DEV_CLI_FLAG);
				break;
			case DEVOPT_UINT:
				assert_int_equal(o->type, DEV_CLI_UINT);
				assert_int_equal(o->min, a->min_val);
				assert_int_equal(o->max, a->max_val);
				break;
			default:
				assert_int_equal(o->type, DEV_CLI_STR);
				if (o->min > a->min_len || o->max < a->max_len)
					fail_msg("%s %s: the runner allows %zu..%zu bytes, the helper %llu..%llu", d->name,
						 a->flag, a->min_len, a->max_len, (unsigned long long)o->min,
						 (unsigned long long)o->max);
			}
			if (a->required)
				assert_true(o->required);
			if (a->fd_flag) {
				const struct dev_cli_opt *f = row(k, a->fd_flag);
				assert_non_null(f);
				assert_int_equal(f->type, DEV_CLI_FD);
				/* the name or the runner's fd: one of them, never both */
				assert_true(f->group && f->group == o->group);
			}
		}
	}
	assert_non_null(row(DEVKIND_BLK, "--swap-fd"));
	assert_int_equal(row(DEVKIND_BLK, "--swap-fd")->type, DEV_CLI_FD);
}

static void test_usage(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	dev_cli_usage(&dev_cli_specs[DEVKIND_BLK], f);
	dev_cli_usage(&dev_cli_specs[DEVKIND_VSOCK], f);
	fclose(f);
	assert_string_equal(buf, "usage: carapace-blk (--socket-path PATH | --fd N) (--image FILE | --image-fd N) [--readonly] "
				 "[--num-queues N] [--serial ID] [--swap-fd N] [--no-jail] [--verbose] [--stats-fd N]\n"
				 "usage: carapace-vsock (--socket-path PATH | --fd N) --cid N --uds-path PATH [--no-jail] "
				 "[--verbose] [--stats-fd N]\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_number),
		cmocka_unit_test(test_runner_argv),
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_matches_devkinds),
		cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

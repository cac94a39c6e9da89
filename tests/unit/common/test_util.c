/* Unit tests for common/: hex, sizes, integers, bounded file reads, errors. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/util.h"

static void test_hex_roundtrip(void **state)
{
	uint8_t in[4] = { 0x00, 0xab, 0x7f, 0xff }, out[4];
	char hex[9];
	struct cp_err err = { 0 };

	cp_hex_encode(in, 4, hex);
	assert_string_equal(hex, "00ab7fff");
	assert_int_equal(cp_hex_decode("0x00AB7fff", out, 4, &err), 0);
	assert_memory_equal(in, out, 4);
}

static void test_hex_errors(void **state)
{
	uint8_t out[4];
	struct cp_err err = { 0 };

	assert_int_equal(cp_hex_decode("abc", out, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "odd"));
	cp_err_clear(&err);
	assert_int_equal(cp_hex_decode("zz000000", out, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "position 0"));
	cp_err_clear(&err);
	assert_int_equal(cp_hex_decode("0000", out, 4, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly 4"));
}

static void test_parse_size(void **state)
{
	uint64_t v;
	assert_int_equal(cp_parse_size("256", 1 << 20, &v), 0);
	assert_true(v == 256ull << 20);
	assert_int_equal(cp_parse_size("2G", 1 << 20, &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(cp_parse_size("512MiB", 1 << 20, &v), 0);
	assert_true(v == 512ull << 20);
	assert_int_equal(cp_parse_size("64k", 1 << 20, &v), 0);
	assert_true(v == 64ull << 10);
	assert_int_equal(cp_parse_size("-1", 1 << 20, &v), -EINVAL);
	assert_int_equal(cp_parse_size("12X", 1 << 20, &v), -EINVAL);
	assert_int_equal(cp_parse_size("", 1 << 20, &v), -EINVAL);
	assert_int_equal(cp_parse_size("99999999999999T", 1 << 20, &v), -ERANGE);
}

static void test_parse_u64(void **state)
{
	uint64_t v;
	assert_int_equal(cp_parse_u64("0x10", &v), 0);
	assert_true(v == 16);
	assert_int_equal(cp_parse_u64("10 ", &v), -EINVAL);
	assert_int_equal(cp_parse_u64("-3", &v), -EINVAL);
}

static void test_file_read(void **state)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct cp_err err = { 0 };
	char path[] = "/tmp/carapace-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);

	assert_int_equal(cp_file_read(path, 16, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "hello", 5);
	free(data);

	assert_int_equal(cp_file_read(path, 4, &data, &len, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "limit"));
	cp_err_clear(&err);
	unlink(path);
	assert_int_equal(cp_file_read(path, 16, &data, &len, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot open"));
	cp_err_clear(&err);
	/* Issue 18 item 9: a FIFO (whose open() blocks for ever), a device or a socket is refused
	 * without blocking; the alarm turns a hang into a failure. */
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(30);
	assert_int_equal(cp_file_read(path, 16, &data, &len, &err), -EINVAL);
	alarm(0);
	assert_non_null(strstr(err.msg, "not a regular file"));
	cp_err_clear(&err);
	unlink(path);
	assert_int_equal(cp_file_read("/dev/zero", 16, &data, &len, &err), -EINVAL);
	cp_err_clear(&err);
	/* /dev/null stays the usual empty input. */
	assert_int_equal(cp_file_read("/dev/null", 16, &data, &len, &err), 0);
	assert_int_equal(len, 0);
	free(data);
}

/* Issue 18 item 10: what was opened is named, not what the name points at later. A link is
 * swapped to another file after the open: the name returned is still the first file's, and the
 * bytes read (or the fd kept) are the first file's. */
static void test_opened_file_is_named(void **state)
{
	char dir[] = "/tmp/carapace-real-XXXXXX", a[64], b[64], link[64], real[4096];
	struct cp_err err = { 0 };
	uint8_t *data = NULL;
	char *name = NULL, got = 0;
	size_t len = 0;
	int fd = -1;

	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	FILE *f = fopen(a, "w");
	fputs("A", f);
	fclose(f);
	f = fopen(b, "w");
	fputs("B", f);
	fclose(f);
	assert_int_equal(symlink(a, link), 0);

	assert_int_equal(cp_file_open_checked(link, O_RDONLY, true, &fd, real, sizeof(real), &err), 0);
	unlink(link);
	assert_int_equal(symlink(b, link), 0); /* the swap */
	assert_string_equal(real, a);
	assert_int_equal(pread(fd, &got, 1, 0), 1);
	assert_int_equal(got, 'A');
	close(fd);

	assert_int_equal(cp_file_read_real(link, 16, &data, &len, &name, &err), 0);
	assert_string_equal(name, b); /* now the link names b, and b is what was read */
	assert_int_equal(data[0], 'B');
	free(data);
	free(name);

	/* A FIFO is refused by the checked open without blocking. */
	unlink(link);
	assert_int_equal(mkfifo(link, 0600), 0);
	alarm(30);
	assert_int_equal(cp_file_open_checked(link, O_RDONLY, true, &fd, real, sizeof(real), &err), -EINVAL);
	alarm(0);
	unlink(link);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

static void test_err_first_wins(void **state)
{
	struct cp_err err = { 0 };
	assert_int_equal(cp_err_set(&err, EINVAL, "inner %d", 1), -EINVAL);
	assert_int_equal(cp_err_set(&err, EIO, "outer"), -EIO);
	assert_string_equal(err.msg, "inner 1");
	cp_err_prefix(&err, "config: ");
	assert_string_equal(err.msg, "config: inner 1");
	assert_int_equal(err.code, EINVAL);
}

/* cp_fd_read_all: the whole regular file from offset 0, the fd's offset untouched; too large, not
 * regular: refused with the caller's name for it. */
static void test_fd_read_all(void **state)
{
	char path[] = "/tmp/carapace-fdread-XXXXXX";
	struct cp_err err = { 0 };
	uint8_t *d = NULL;
	size_t n = 1;
	int fd = mkstemp(path), p[2];

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(cp_fd_read_all(fd, 16, "thing", &d, &n, &err), 0); /* empty */
	assert_int_equal(n, 0);
	free(d);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(cp_fd_read_all(fd, 10, "thing", &d, &n, &err), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(d, "0123456789", 10);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 10); /* pread: the offset stays */
	free(d);
	assert_int_equal(cp_fd_read_all(fd, 9, "thing", &d, &n, &err), -EFBIG);
	assert_null(d);
	assert_non_null(strstr(err.msg, "thing: 10 bytes"));
	close(fd);
	assert_int_equal(pipe(p), 0);
	cp_err_clear(&err);
	assert_int_equal(cp_fd_read_all(p[0], 9, "pipe", &d, &n, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "regular file"));
	close(p[0]);
	close(p[1]);
}

/* cp_close_fds_except: every fd from 3 up closed but the kept ones, whatever their order; an
 * entry below 3 is ignored (stdio always stays). In a child, which owns its fd table. */
static void test_close_fds_except(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[6], keep[3];

		for (int i = 0; i < 6; i++)
			if ((fds[i] = open("/dev/null", O_RDONLY)) < 0)
				_exit(2);
		keep[0] = fds[4];
		keep[1] = 1;
		keep[2] = fds[1];
		if (cp_close_fds_except(keep, 3) < 0)
			_exit(3);
		for (int i = 0; i < 6; i++) {
			bool open_now = fcntl(fds[i], F_GETFD) >= 0;
			if (open_now != (i == 1 || i == 4))
				_exit(10 + i);
		}
		if (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0 || fcntl(2, F_GETFD) < 0)
			_exit(4);
		if (cp_close_fds_except(NULL, 0) < 0 || fcntl(fds[1], F_GETFD) >= 0 || fcntl(fds[4], F_GETFD) >= 0)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_roundtrip), cmocka_unit_test(test_hex_errors),
		cmocka_unit_test(test_parse_size), cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_file_read), cmocka_unit_test(test_err_first_wins),
		cmocka_unit_test(test_fd_read_all), cmocka_unit_test(test_close_fds_except),
		cmocka_unit_test(test_opened_file_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

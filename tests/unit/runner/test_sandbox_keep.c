/* The VM process's empty root keeps exactly one host path when asked: the TDX quote service's
 * UNIX socket, bind-mounted at SANDBOX_KEPT_SOCKET. A child isolates itself, then finds the
 * host's files gone and the service reachable. Skips (77) where user namespaces are refused. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runner/sandbox.h"

static void test_kept_socket_is_the_only_path(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/carapace-keep-XXXXXX";
	int ls, st;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qgs.sock", dir);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char why[256];
		struct sockaddr_un in = { .sun_family = AF_UNIX };
		struct stat s;
		int c;
		if (sandbox_process_isolate(sa.sun_path, why, sizeof(why)) < 0) {
			fprintf(stderr, "isolate: %s\n", why);
			_exit(errno == EPERM || errno == EINVAL || errno == ENOSPC ? 77 : 1);
		}
		if (stat("/etc/passwd", &s) == 0 || stat(sa.sun_path, &s) == 0)
			_exit(2); /* the host's files must be out of reach */
		strcpy(in.sun_path, SANDBOX_KEPT_SOCKET);
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&in, sizeof(in)) < 0 || write(c, "hi", 2) != 2)
			_exit(3);
		_exit(0);
	}
	{
		struct pollfd p = { .fd = ls, .events = POLLIN };
		char buf[2] = { 0 };
		if (poll(&p, 1, 10000) == 1) {
			int c = accept(ls, NULL, NULL);
			assert_true(c >= 0);
			assert_int_equal(read(c, buf, 2), 2);
			assert_memory_equal(buf, "hi", 2);
			close(c);
		}
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(ls);
	unlink(sa.sun_path);
	rmdir(dir);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		print_message("SKIP: user namespaces are not available here\n");
		skip();
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_kept_socket_is_the_only_path) };
	return cmocka_run_group_tests_name("runner-sandbox-keep", tests, NULL, NULL);
}

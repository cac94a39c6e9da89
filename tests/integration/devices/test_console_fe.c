/* Integration: carapace-console (jailed) through the front-end: guest output lands in a file;
 * over a UNIX socket or a pty, output reaches the peer and the peer's input reaches the guest. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "fe_util.h"

static char dir[256], sock[300], out[300], peer[300], bin[512];

static int setup(void **state)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");

	snprintf(bin, sizeof(bin), "%s/devices/carapace-console", build ? build : ".");
	strcpy(dir, "/tmp/carapace-console.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(peer, sizeof(peer), "%s/peer.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock);
	unlink(out);
	unlink(peer);
	rmdir(dir);
	return 0;
}

static void tx(struct fe_env *e, const char *text)
{
	uint64_t g = fe_alloc(e, strlen(text));
	struct vu_drv_buf b = { g, (uint32_t)strlen(text), false };
	uint16_t h;
	uint32_t l;

	memcpy(fe_host(e, g), text, strlen(text));
	assert_true(vu_drvq_add(&e->q[1], &b, 1) >= 0);
	vu_drvq_kick(&e->q[1]);
	for (int i = 0; i < 200 && vu_drvq_get_used(&e->q[1], &h, &l) == 0; i++)
		vu_drvq_wait(&e->q[1], 10);
}

static void test_console_file(void **state)
{
	char *argv[] = { bin, "--socket-path", sock, "--output", out, NULL };
	struct fe_env e;
	char buf[64] = "";
	pid_t pid = fe_spawn(argv, sock);

	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 1u << 20, 2, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s", e.err.msg);
	tx(&e, "hello from the guest\n");
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	int fd = open(out, O_RDONLY | O_CLOEXEC);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "hello from the guest\n");
}

static void test_console_unix(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *argv[] = { bin, "--socket-path", sock, "--unix", peer, NULL };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), cfd;
	struct fe_env e;
	char buf[64] = "";
	uint16_t h;
	uint32_t l = 0;

	strcpy(sa.sun_path, peer);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid_t pid = fe_spawn(argv, sock);
	assert_true(pid > 0);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(cfd >= 0);
	if (fe_env_open(&e, sock, 1u << 20, 2, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s", e.err.msg);
	tx(&e, "ping");
	struct pollfd p = { cfd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	/* Input: the guest offers a receive buffer, the peer writes. */
	struct vu_drv_buf b = { fe_alloc(&e, 64), 64, true };
	assert_true(vu_drvq_add(&e.q[0], &b, 1) >= 0);
	vu_drvq_kick(&e.q[0]);
	assert_int_equal(write(cfd, "pong", 4), 4);
	for (int i = 0; i < 200 && vu_drvq_get_used(&e.q[0], &h, &l) == 0; i++)
		vu_drvq_wait(&e.q[0], 10);
	assert_int_equal(l, 4);
	assert_memory_equal(fe_host(&e, b.gpa), "pong", 4);
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	close(cfd);
	close(lfd);
}

/* --pty: the helper prints the pty's name; output reaches the terminal side, typed input the guest. */
static void test_console_pty(void **state)
{
	int so[2];
	char line[128] = "", buf[64] = "";
	struct fe_env e;
	uint16_t h;
	uint32_t l = 0;

	assert_int_equal(pipe2(so, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(so[1], 1);
		execl(bin, bin, "--socket-path", sock, "--pty", (char *)NULL);
		_exit(127);
	}
	close(so[1]);
	FILE *f = fdopen(so[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	char *name = strstr(line, "pty ");
	assert_non_null(name);
	name += 4;
	name[strcspn(name, "\n")] = '\0';
	int tty = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(tty >= 0);
	struct termios t;
	assert_int_equal(tcgetattr(tty, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(tty, TCSANOW, &t), 0);
	if (fe_env_open(&e, sock, 1u << 20, 2, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s", e.err.msg);
	tx(&e, "hi");
	struct pollfd p = { tty, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(tty, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	struct vu_drv_buf b = { fe_alloc(&e, 64), 64, true };
	assert_true(vu_drvq_add(&e.q[0], &b, 1) >= 0);
	vu_drvq_kick(&e.q[0]);
	assert_int_equal(write(tty, "yo", 2), 2);
	for (int i = 0; i < 200 && vu_drvq_get_used(&e.q[0], &h, &l) == 0; i++)
		vu_drvq_wait(&e.q[0], 10);
	assert_int_equal(l, 2);
	assert_memory_equal(fe_host(&e, b.gpa), "yo", 2);
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	close(tty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_file),
		cmocka_unit_test(test_console_unix),
		cmocka_unit_test(test_console_pty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

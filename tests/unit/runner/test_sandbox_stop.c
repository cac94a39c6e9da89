/* Issue 18 item 1: every VM-process filter survives a stop and a continue (Ctrl-Z then fg, a
 * cgroup freezer, a debugger). After a stop, the kernel resumes an interrupted wait with a
 * timeout (poll, futex with a timeout, nanosleep) through restart_syscall, which each thread's
 * allowlist must hold. A child loads one real filter, waits in the way its thread waits, is
 * stopped and continued by the parent, then is woken; it must exit 0, never by SIGSYS. Runs
 * without KVM: the filters are the runner's own (runner/sandbox.c). */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/vhost/io.h"
#include "runner/sandbox.h"

enum wait_kind { WAIT_FUTEX, WAIT_POLL };

/* The state letter of /proc/PID/stat ('S' sleeping, 'T' stopped), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Wait (polling /proc, no deadline asserted) until pid is in `want`. */
static void await_state(pid_t pid, char want)
{
	struct timespec ts = { 0, 1000 * 1000 };

	for (unsigned i = 0; i < 20000; i++) {
		char s = proc_state(pid);

		if (s == want || s == 'Z' || s == 0)
			return; /* or it died: waitpid tells how */
		nanosleep(&ts, NULL);
	}
}

static void child_wait(enum sandbox_thread which, enum wait_kind how, volatile uint32_t *word, int rfd)
{
	struct cp_err err = { 0 };
	struct timespec limit = { 60, 0 };
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };

	if (sandbox_thread_apply(which, SANDBOX_ENFORCE, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		syscall(SYS_exit, 3);
	}
	if (how == WAIT_FUTEX) {
		while (*word == 0)
			syscall(SYS_futex, word, FUTEX_WAIT, 0, &limit, NULL, 0);
	} else {
		while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			;
	}
	/* exit, not exit_group: the only one the vCPU list has (single-threaded: the process ends). */
	syscall(SYS_exit, 0);
}

static void stop_and_continue(enum sandbox_thread which, enum wait_kind how)
{
	volatile uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int p[2], status = 0;
	pid_t pid;

	assert_true(word != MAP_FAILED);
	assert_int_equal(pipe(p), 0);
	*word = 0;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		child_wait(which, how, word, p[0]);
	}
	close(p[0]);
	await_state(pid, 'S');
	kill(pid, SIGSTOP);
	await_state(pid, 'T');
	kill(pid, SIGCONT);
	/* Resumed: it is back in its wait (or, without restart_syscall, already dead). */
	await_state(pid, 'S');
	*word = 1;
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
	(void)!write(p[1], "x", 1); /* EPIPE when it died: SIGPIPE is ignored */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(p[1]);
	munmap((void *)word, 4096);
	if (WIFSIGNALED(status))
		fail_msg("filter %d, wait %d: killed by signal %d%s", which, how, WTERMSIG(status),
			 WTERMSIG(status) == SIGSYS ? " (SIGSYS: restart_syscall is not allowed)" : "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_vcpu(void **state) { stop_and_continue(SANDBOX_VCPU, WAIT_FUTEX); }
static void test_vcpu_cc_futex(void **state) { stop_and_continue(SANDBOX_VCPU_CC, WAIT_FUTEX); }
/* The TDX quote thread is the one that polls (the vCPU threads of a TD no longer wait on the
 * quote service): a timed poll interrupted by a stop resumes through restart_syscall. */
static void test_quote_poll(void **state) { stop_and_continue(SANDBOX_QUOTE, WAIT_POLL); }
static void test_quote_futex(void **state) { stop_and_continue(SANDBOX_QUOTE, WAIT_FUTEX); }
/* The management API's thread waits in poll/epoll_wait with libmicrohttpd's time-outs. */
static void test_api_poll(void **state) { stop_and_continue(SANDBOX_API, WAIT_POLL); }
static void test_api_futex(void **state) { stop_and_continue(SANDBOX_API, WAIT_FUTEX); }
static void test_main_futex(void **state) { stop_and_continue(SANDBOX_MAIN, WAIT_FUTEX); }
static void test_main_poll(void **state) { stop_and_continue(SANDBOX_MAIN, WAIT_POLL); }

/* Issue 18 item 5: a compromised helper attaches an fd to a reply. The vCPU thread that reads the
 * reply has no close() in its list: the fd must never reach it (the kernel drops it), and the
 * reply is refused with an error, not a SIGSYS. */
static void test_vcpu_reply_with_fd(void **state)
{
	int sv[2], status = 0;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cp_err err = { 0 };
		struct vu_msg *m = calloc(1, sizeof(*m));
		int r;

		/* The vCPU filter lets recvmsg/recvfrom reach the helpers' sockets only: this is one. */
		const struct sandbox_targets t = { .helper_socks = &sv[0], .nsocks = 1 };

		close(sv[1]);
		if (!m || sandbox_thread_apply_targets(SANDBOX_VCPU, SANDBOX_ENFORCE, &t, &err) < 0)
			syscall(SYS_exit, 3);
		r = vu_sock_recv_reply(sv[0], VU_REQ_GET_FEATURES, 8, 0, 0, m, &err);
		syscall(SYS_exit, r == -EPROTO ? 0 : 4);
	}
	close(sv[0]);
	{
		struct cp_err err = { 0 };
		uint64_t v = 0;
		int fd = dup(1);

		assert_int_equal(vu_sock_send(sv[1], VU_REQ_GET_FEATURES, VU_FLAG_VERSION | VU_FLAG_REPLY, &v, 8, &fd, 1,
					      &err), 0);
		close(fd);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(sv[1]);
	if (WIFSIGNALED(status))
		fail_msg("the vCPU thread was killed by signal %d%s", WTERMSIG(status),
			 WTERMSIG(status) == SIGSYS ? " (SIGSYS: it closed the fd a reply carried)" : "");
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu),
		cmocka_unit_test(test_vcpu_cc_futex),
		cmocka_unit_test(test_quote_poll),
		cmocka_unit_test(test_quote_futex),
		cmocka_unit_test(test_api_poll),
		cmocka_unit_test(test_api_futex),
		cmocka_unit_test(test_main_futex),
		cmocka_unit_test(test_main_poll),
		cmocka_unit_test(test_vcpu_reply_with_fd),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Issue 18 item 1: a jailed helper and its reaper survive SIGSTOP + SIGCONT (Ctrl-Z then fg, a
 * cgroup freezer, a debugger) while serving, while idle and during teardown. The kernel resumes
 * poll and nanosleep through restart_syscall: without it in the allowlists the helper died by
 * SIGSYS on the continue. Each helper (blk with its worker threads, rng, console) is stopped
 * and continued in its poll, then must still answer, and must exit 0 when the front-end leaves
 * even when stopped and continued again while it exits. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/blk/blk.h"
#include "fe_util.h"

static struct fe_scratch scratch;

static int setup(void **state)
{
	assert_int_equal(fe_scratch_open(&scratch, "stopcont"), 0);
	return 0;
}

static int teardown(void **state)
{
	fe_scratch_close(&scratch);
	return 0;
}

static void log_dump(void)
{
	char buf[4096] = "";
	int fd = open(scratch.log, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	fprintf(stderr, "helper log:\n%s\n", buf);
}

/* One request the helper must answer: a blk read, 64 random bytes, or console output. */
static void one_request(const char *kind, struct fe_env *e)
{
	struct vu_drv_buf b;
	uint16_t h;
	uint32_t l = 0;
	int r = 0;

	if (!strcmp(kind, "blk")) {
		uint8_t st = 0xff;
		uint64_t buf = fe_alloc(e, 512);

		assert_int_equal(fe_blk_rw(e, 0, VIRTIO_BLK_T_IN, 0, buf, 512, &st, NULL), 0);
		assert_int_equal(st, VIRTIO_BLK_S_OK);
		return;
	}
	/* rng: the device writes; console (queue 1, transmit): the device reads. */
	unsigned q = !strcmp(kind, "rng") ? 0 : 1;
	b = (struct vu_drv_buf){ fe_alloc(e, 64), 64, q == 0 };
	memset(fe_host(e, b.gpa), 'x', 64);
	assert_true(vu_drvq_add(&e->q[q], &b, 1) >= 0);
	vu_drvq_kick(&e->q[q]);
	for (int i = 0; i < 500 && (r = vu_drvq_get_used(&e->q[q], &h, &l)) == 0; i++)
		vu_drvq_wait(&e->q[q], 10);
	assert_int_equal(r, 1);
}

static void stop_continue_helper(const char *kind)
{
	enum devkind_id k;
	struct fe_env e;
	pid_t pid, jailed;
	int status;

	assert_int_equal(devkind_by_name(kind, &k), 0);
	pid = fe_spawn_kind(devkind_get(k), &scratch);
	assert_true(pid > 0);
	if (fe_env_open(&e, scratch.sock, 1u << 20, devkind_get(k)->queues, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s: %s", kind, e.err.msg);
	jailed = fe_jailed_pid(pid);
	assert_true(jailed > 0);
	one_request(kind, &e);
	/* Idle in poll: stop, continue, and it must still serve. */
	for (int i = 0; i < 3; i++) {
		fe_stop_continue(jailed);
		fe_stop_continue(pid); /* the reaper, in wait4 */
		if (fe_proc_state(jailed) == 'Z' || fe_proc_state(jailed) == 0) {
			log_dump();
			fail_msg("%s: the helper died after a stop and a continue", kind);
		}
		one_request(kind, &e);
	}
	/* Teardown: the front-end leaves; stop and continue both while they exit. */
	fe_env_close(&e);
	for (int i = 0; i < 20 && waitpid(pid, &status, WNOHANG) == 0; i++) {
		kill(jailed, SIGSTOP);
		kill(pid, SIGSTOP);
		kill(jailed, SIGCONT);
		kill(pid, SIGCONT);
	}
	status = fe_wait(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_dump();
		fail_msg("%s: status 0x%x after stop/continue%s", kind, status,
			 WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? " (SIGSYS: restart_syscall refused)" : "");
	}
}

static void test_blk(void **state) { stop_continue_helper("blk"); }
static void test_rng(void **state) { stop_continue_helper("rng"); }
static void test_console(void **state) { stop_continue_helper("console"); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_console),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

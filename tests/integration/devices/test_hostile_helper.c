/* A stalled and a compromised helper, as the runner's front-end meets them (issue 18 items 4, 5).
 * The real carapace-rng, made to misbehave by a test hook when a ring is started:
 *  - stall-ring-start: it never answers. The waiting thread is kicked by a signal every 5 ms (as
 *    stop_vcpus() kicks a vCPU); the wait still ends at its deadline, or at once on cancel.
 *  - fd-in-reply: it attaches an fd to its ack. The reply is refused (-EPROTO) and the fd never
 *    lands in this process (the runner's vCPU thread could not even close it). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fe_util.h"

static char dir[256], sock[300], logpath[300], rng_bin[512];

static int setup(void **state)
{
	const char *b = getenv("CARAPACE_BUILD_ROOT");

	snprintf(rng_bin, sizeof(rng_bin), "%s/devices/carapace-rng", b ? b : ".");
	strcpy(dir, "/tmp/carapace-hhelper.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/rng.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/helper.log", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock);
	unlink(logpath);
	rmdir(dir);
	return 0;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

struct starter {
	struct fe_env *e;
	int kick, call;
	atomic_bool done;
	int ret;
	struct cp_err err;
};

static void on_kick(int sig) { (void)sig; }

static void *start_ring(void *arg)
{
	struct starter *s = arg;
	struct vu_drvq *q = &s->e->q[0];

	s->ret = vu_fe_vring_start(&s->e->fe, 0, 64, (uintptr_t)q->desc, (uintptr_t)q->avail, (uintptr_t)q->used, 0,
				   s->kick, s->call, &s->err);
	atomic_store(&s->done, true);
	return NULL;
}

/* Open a session with no ring, lay out ring 0 (not started). */
static pid_t session(const char *hook, struct fe_env *e)
{
	char *argv[] = { rng_bin, "--socket-path", sock, "--test-hook", (char *)hook, NULL };
	pid_t pid;

	unlink(sock);
	pid = fe_spawn_log(argv, sock, logpath);
	assert_true(pid > 0);
	if (fe_env_open(e, sock, 1u << 20, 0, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s", e->err.msg);
	e->bump = (e->bump + 4095) & ~4095ull;
	vu_drvq_init(&e->q[0], 64, fe_host(e, fe_alloc(e, vu_drvq_bytes(64))));
	return pid;
}

static void stalled(bool by_cancel)
{
	struct sigaction sa = { .sa_handler = on_kick };
	atomic_bool cancel = false;
	struct fe_env e;
	struct starter s = { .e = &e };
	pthread_t t;
	pid_t pid = session("stall-ring-start", &e);

	sigaction(SIGUSR1, &sa, NULL);
	e.fe.reply_timeout_ms = by_cancel ? 0 : 300;
	e.fe.cancel = by_cancel ? &cancel : NULL;
	s.kick = eventfd(0, EFD_CLOEXEC);
	s.call = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(pthread_create(&t, NULL, start_ring, &s), 0);
	for (unsigned i = 0; !atomic_load(&s.done); i++) {
		usleep(5000);
		if (by_cancel && i == 20)
			atomic_store(&cancel, true); /* the VM is ending */
		pthread_kill(t, SIGUSR1);
	}
	pthread_join(t, NULL);
	assert_int_equal(s.ret, by_cancel ? -ECANCELED : -ETIMEDOUT);
	fprintf(stderr, "ok: %s\n", s.err.msg);
	close(s.kick);
	close(s.call);
	fe_env_close(&e);
	kill(pid, SIGTERM); /* the reaper kills the stalled helper */
	fe_wait(pid);
}

static void test_stalled_helper_deadline(void **state) { stalled(false); }
static void test_stalled_helper_cancel(void **state) { stalled(true); }

static void test_compromised_helper_fd_in_reply(void **state)
{
	struct fe_env e;
	struct starter s = { .e = &e };
	pid_t pid = session("fd-in-reply", &e);
	unsigned before;

	s.kick = eventfd(0, EFD_CLOEXEC);
	s.call = eventfd(0, EFD_CLOEXEC);
	before = count_fds();
	start_ring(&s);
	assert_int_equal(s.ret, -EPROTO);
	assert_int_equal(count_fds(), before); /* the attached fd never arrived */
	fprintf(stderr, "ok: %s\n", s.err.msg);
	close(s.kick);
	close(s.call);
	fe_env_close(&e);
	fe_wait(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_helper_deadline),
		cmocka_unit_test(test_stalled_helper_cancel),
		cmocka_unit_test(test_compromised_helper_fd_in_reply),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

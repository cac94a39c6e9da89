/* Issue 18 item 4: a back-end that never answers. The waiting thread is interrupted by a signal
 * every few milliseconds, as stop_vcpus() kicks a vCPU every 50 ms. The wait must end at its
 * absolute deadline (-ETIMEDOUT) and at once when the cancel flag is set (-ECANCELED); before,
 * each interruption restarted the socket's receive timeout and the wait never ended. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/vhost/io.h"

struct waiter {
	int sock;
	struct vu_wait w;
	atomic_bool done;
	int ret;
	struct cp_err err;
};

static void on_kick(int sig) { (void)sig; }

static void *wait_reply(void *arg)
{
	struct waiter *x = arg;
	struct vu_msg *m = calloc(1, sizeof(*m));

	x->ret = vu_sock_recv_reply_wait(x->sock, VU_REQ_GET_FEATURES, 8, 0, 0, &x->w, m, &x->err);
	free(m);
	atomic_store(&x->done, true);
	return NULL;
}

/* Kick the waiter every 5 ms until it returns; with `cancel`, set it after 20 kicks. */
static void run(struct waiter *x, atomic_bool *cancel)
{
	struct sigaction sa = { .sa_handler = on_kick }; /* no SA_RESTART, like the runner's kick */
	struct timeval tv = { .tv_sec = 10 };            /* as runner/vdev.c sets it */
	int sv[2];
	pthread_t t;

	sigaction(SIGUSR1, &sa, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	x->sock = sv[0];
	assert_int_equal(pthread_create(&t, NULL, wait_reply, x), 0);
	for (unsigned i = 0; !atomic_load(&x->done); i++) {
		usleep(5000);
		if (cancel && i == 20)
			atomic_store(cancel, true);
		pthread_kill(t, SIGUSR1);
	}
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
}

static void test_deadline_is_absolute(void **state)
{
	struct waiter x = { .w = { .deadline_ns = vu_deadline_after_ms(300) } };

	run(&x, NULL);
	assert_int_equal(x.ret, -ETIMEDOUT);
	assert_non_null(strstr(x.err.msg, "did not answer in time"));
}

static void test_cancel_ends_the_wait(void **state)
{
	atomic_bool cancel = false;
	struct waiter x = { .w = { .cancel = &cancel } };

	run(&x, &cancel);
	assert_int_equal(x.ret, -ECANCELED);
	assert_non_null(strstr(x.err.msg, "the VM is ending"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_is_absolute),
		cmocka_unit_test(test_cancel_ends_the_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

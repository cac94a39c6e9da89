/* Each helper offers what its row of devices/devkinds.c says (the runner sizes the virtio-mmio
 * device and the launch policy judges from that row): its queue count (GET_QUEUE_NUM) and a
 * config space (VHOST_USER_PROTOCOL_F_CONFIG) exactly when the row gives it one. Real helpers,
 * jailed, over their vhost-user socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "devices/devkinds.h"
#include "fe_util.h"

static struct fe_scratch scratch;

static int setup(void **state)
{
	assert_int_equal(fe_scratch_open(&scratch, "kinds"), 0);
	return 0;
}

static int teardown(void **state)
{
	fe_scratch_close(&scratch);
	return 0;
}

/* Start the kind's helper as the runner would (its one required option), ask, stop it. */
static void check_kind(enum devkind_id k)
{
	const struct devkind *dk = devkind_get(k);
	struct fe_env e;
	uint64_t n = 0;
	pid_t pid;

	assert_non_null(dk);
	pid = fe_spawn_kind(dk, &scratch);
	assert_true(pid > 0);
	if (fe_env_open(&e, scratch.sock, 1u << 20, 0, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s: %s", dk->name, e.err.msg);
	assert_int_equal(vu_fe_get_u64(&e.fe, VU_REQ_GET_QUEUE_NUM, &n, &e.err), 0);
	if (n != dk->queues)
		fail_msg("%s offers %llu queues, its row says %u", dk->binary, (unsigned long long)n, dk->queues);
	if (!!(e.fe.protocol & (1ull << VU_PF_CONFIG)) != (dk->config_size > 0))
		fail_msg("%s %s a config space; its row says %u bytes", dk->binary,
			 e.fe.protocol & (1ull << VU_PF_CONFIG) ? "offers" : "does not offer", dk->config_size);
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
}

static void test_rng(void **state)
{
	check_kind(DEVKIND_RNG);
}

static void test_blk(void **state)
{
	check_kind(DEVKIND_BLK);
}

static void test_console(void **state)
{
	check_kind(DEVKIND_CONSOLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rng, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Each helper offers what its row of devices/devkinds.c says (the runner sizes the virtio-mmio
 * device and the launch policy judges from that row): its queue count (GET_QUEUE_NUM) and a
 * config space (VHOST_USER_PROTOCOL_F_CONFIG) exactly when the row gives it one. Real helpers,
 * jailed, over their vhost-user socket. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/devkinds.h"
#include "fe_util.h"

static char dir[256], sock[300], img[300], out[300], logpath[300];

static int setup(void **state)
{
	int fd;

	strcpy(dir, "/tmp/carapace-kinds.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/dev.sock", dir);
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(out, sizeof(out), "%s/console.out", dir);
	snprintf(logpath, sizeof(logpath), "%s/helper.log", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock);
	unlink(img);
	unlink(out);
	unlink(logpath);
	rmdir(dir);
	return 0;
}

/* Start the kind's helper as the runner would (its one required option), ask, stop it. */
static void check_kind(enum devkind_id k, const char *opt, const char *val)
{
	const struct devkind *dk = devkind_get(k);
	const char *build = getenv("CARAPACE_BUILD_ROOT");
	char bin[512];
	char *argv[] = { bin, "--socket-path", sock, (char *)opt, (char *)val, NULL };
	struct fe_env e;
	uint64_t n = 0;
	pid_t pid;

	assert_non_null(dk);
	snprintf(bin, sizeof(bin), "%s/devices/%s", build ? build : ".", dk->binary);
	unlink(sock);
	pid = fe_spawn_log(argv, sock, logpath);
	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 1u << 20, 0, 64, ~0ull, ~0ull) < 0)
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
	check_kind(DEVKIND_RNG, NULL, NULL);
}

static void test_blk(void **state)
{
	check_kind(DEVKIND_BLK, "--image", img);
}

static void test_console(void **state)
{
	check_kind(DEVKIND_CONSOLE, "--output", out);
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

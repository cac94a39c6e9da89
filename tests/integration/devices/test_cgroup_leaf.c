/* Issue 18 item 11: a helper's cgroup leaf is removed when the helper ends, also when the runner
 * stops it (it used to SIGKILL the reaper, which then never removed carapace-<name>.<pid>), and
 * leaves whose owner died are removed when the next helper starts. Skips (77) where this user
 * cannot create cgroup v2 directories (then the jail makes no leaf either). */
#include <errno.h>
#include <limits.h>
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

#include "devices/devkinds.h"
#include "devices/jail/jail.h"
#include "devices/spawn.h"
#include "fe_util.h"

static char parent[PATH_MAX];

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Started the way the runner starts it (--fd), stopped the way the runner stops it. */
static void test_leaf_removed_when_runner_stops_helper(void **state)
{
	const char *b = getenv("CARAPACE_BUILD_ROOT");
	char bin[PATH_MAX], leaf[PATH_MAX + 64];
	struct cp_err err = { 0 };
	struct fe_env e;
	int sock, status;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/devices/carapace-rng", b ? b : ".");
	assert_int_equal(carapace_helper_spawn(&devkinds[DEVKIND_RNG], bin, NULL, NULL, 0, &sock, &pid, &err), 0);
	e.fe.sock = sock;
	/* Its first reply means it is jailed, so its leaf exists by now. */
	if (fe_env_open(&e, NULL, 1u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("%s", e.err.msg);
	snprintf(leaf, sizeof(leaf), "%s/carapace-rng.%d", parent, (int)pid);
	assert_true(exists(leaf));
	/* Item 10: a root-started reaper keeps CAP_KILL and CAP_DAC_OVERRIDE only. */
	if (geteuid() == 0) {
		char path[64], line[256];
		unsigned long long eff = ~0ull, bnd = ~0ull;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		/* The reaper drops them right after releasing the helper: wait until it has. */
		for (int i = 0; i < 2000 && eff != ((1ull << 5) | (1ull << 1)); i++) {
			f = fopen(path, "re");
			assert_non_null(f);
			while (fgets(line, sizeof(line), f)) {
				sscanf(line, "CapEff: %llx", &eff);
				sscanf(line, "CapBnd: %llx", &bnd);
			}
			fclose(f);
			usleep(1000);
		}
		assert_int_equal(eff, (1ull << 5) | (1ull << 1)); /* CAP_KILL, CAP_DAC_OVERRIDE */
		assert_int_equal(bnd, (1ull << 5) | (1ull << 1));
	}
	status = carapace_helper_stop(pid, 2000);
	fe_env_close(&e);
	assert_true(status >= 0);
	if (exists(leaf))
		fail_msg("%s is left behind after the helper was stopped (status 0x%x)", leaf, status);
}

/* A leaf named after a process that is gone goes; one whose owner lives stays. */
static void test_stale_leaves_cleaned(void **state)
{
	char stale[PATH_MAX + 64], live[PATH_MAX + 64];
	pid_t dead = fork();

	assert_true(dead >= 0);
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	snprintf(stale, sizeof(stale), "%s/carapace-rng.%d", parent, (int)dead);
	snprintf(live, sizeof(live), "%s/carapace-test.%d", parent, (int)getpid());
	assert_int_equal(mkdir(stale, 0755), 0);
	assert_int_equal(mkdir(live, 0755), 0);
	assert_true(jail_cgroup_clean_stale(parent) >= 1);
	assert_false(exists(stale));
	assert_true(exists(live));
	rmdir(live);
}

int main(void)
{
	char probe[PATH_MAX + 64];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_removed_when_runner_stops_helper),
		cmocka_unit_test(test_stale_leaves_cleaned),
	};

	if (jail_cgroup_parent(parent, sizeof(parent)) < 0) {
		printf("SKIP: no cgroup v2 hierarchy here\n");
		return 77;
	}
	snprintf(probe, sizeof(probe), "%s/carapace-probe.%d", parent, (int)getpid());
	if (mkdir(probe, 0755) < 0) {
		printf("SKIP: cannot create cgroup v2 directories under %s (%s)\n", parent, strerror(errno));
		return 77;
	}
	rmdir(probe);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

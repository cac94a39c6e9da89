/* devices-kinds: the table of device kinds (devices/devkinds.c) is consistent with itself and
 * with what reads it: unique names, binaries, virtio IDs and SELinux types; every helper built;
 * every SELinux domain in the policy module; the launch policy's classes in the same order;
 * anything outside the table refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "devices/devkinds.h"
#include "devices/vhost/proto.h"
#include "label/label.h"
#include "policy/policy.h"

static void test_unique(void **state)
{
	(void)state;
	for (unsigned a = 0; a < DEVKIND__COUNT; a++) {
		const struct devkind *x = &devkinds[a];
		assert_non_null(x->name);
		assert_non_null(x->binary);
		assert_non_null(x->seccomp);
		assert_non_null(x->selinux_type);
		assert_non_null(x->selinux_exec_type);
		assert_non_null(x->inherited_fds);
		assert_true(x->virtio_id > 0);
		assert_true(x->queues > 0);
		for (unsigned b = a + 1; b < DEVKIND__COUNT; b++) {
			const struct devkind *y = &devkinds[b];
			assert_string_not_equal(x->name, y->name);
			assert_string_not_equal(x->binary, y->binary);
			assert_string_not_equal(x->selinux_type, y->selinux_type);
			assert_string_not_equal(x->selinux_exec_type, y->selinux_exec_type);
			assert_int_not_equal(x->virtio_id, y->virtio_id);
			assert_ptr_not_equal(x->seccomp, y->seccomp);
		}
	}
}

/* Names follow one pattern, so a row cannot name another kind's helper, domain or allowlist. */
static void test_names_agree(void **state)
{
	char buf[64];

	(void)state;
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		const struct devkind *d = &devkinds[k];
		snprintf(buf, sizeof(buf), "carapace-%s", d->name);
		assert_string_equal(d->binary, buf);
		snprintf(buf, sizeof(buf), "carapace_%s_t", d->name);
		assert_string_equal(d->selinux_type, buf);
		snprintf(buf, sizeof(buf), "carapace_%s_exec_t", d->name);
		assert_string_equal(d->selinux_exec_type, buf);
		assert_string_equal(d->seccomp->name, d->name);
		/* The kind's option keys are unique and become long options of its helper. */
		for (const struct devkind_arg *a = d->args; a->key; a++) {
			assert_true(a - d->args < DEVKIND_MAX_OPTS);
			assert_int_equal(strncmp(a->flag, "--", 2), 0);
			assert_ptr_equal(devkind_arg_find(d, a->key), a);
			assert_true(a->type != DEVOPT_VALUE || (a->min_len >= 1 && a->max_len >= a->min_len));
		}
	}
	/* Only net keeps the caller's network namespace (its TAP). */
	for (unsigned k = 0; k < DEVKIND__COUNT; k++)
		assert_int_equal(devkinds[k].new_netns, k != DEVKIND_NET);
}

/* Virtio device IDs and config sizes from the virtio 1.2 specification (section 5). */
static void test_virtio_facts(void **state)
{
	(void)state;
	assert_int_equal(devkinds[DEVKIND_NET].virtio_id, 1);
	assert_int_equal(devkinds[DEVKIND_BLK].virtio_id, 2);
	assert_int_equal(devkinds[DEVKIND_CONSOLE].virtio_id, 3);
	assert_int_equal(devkinds[DEVKIND_RNG].virtio_id, 4);
	assert_int_equal(devkinds[DEVKIND_VSOCK].virtio_id, 19);
	assert_int_equal(devkinds[DEVKIND_RNG].config_size, 0);
	assert_int_equal(devkinds[DEVKIND_VSOCK].config_size, 8); /* le64 guest_cid */
	assert_int_equal(devkinds[DEVKIND_BLK].config_size, 60);
	/* rx + tx (+ event for vsock) */
	assert_int_equal(devkinds[DEVKIND_NET].queues, 2);
	assert_int_equal(devkinds[DEVKIND_CONSOLE].queues, 2);
	assert_int_equal(devkinds[DEVKIND_VSOCK].queues, 3);
	/* Each queue's size: what virtio-mmio offers as QueueNumMax and the policy judges. A power
	 * of two the front-end can follow (devices/vhost/proto.h), 256 for every kind today. */
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		unsigned q = devkinds[k].queue_size;
		assert_int_equal(q, 256);
		assert_true(q && !(q & (q - 1)) && q <= VU_QUEUE_SIZE_MAX);
	}
}

/* Every helper the table names is built next to the others (the runner finds it there). */
static void test_helpers_built(void **state)
{
	const char *root = getenv("CARAPACE_BUILD_ROOT");
	char path[4096];
	struct stat st;

	(void)state;
	if (!root)
		skip();
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		snprintf(path, sizeof(path), "%s/devices/%s", root, devkinds[k].binary);
		if (stat(path, &st) != 0 || !(st.st_mode & S_IXUSR))
			fail_msg("%s: helper %s is not built (%s)", devkinds[k].name, devkinds[k].binary, path);
	}
}

/* Every domain the table names is declared by the policy module. */
static void test_selinux_module(void **state)
{
	const char *src = getenv("CARAPACE_SOURCE_ROOT");
	char path[4096], want[64];
	uint8_t *te = NULL;
	size_t len = 0;
	struct cp_err err = { 0 };

	(void)state;
	if (!src)
		skip();
	snprintf(path, sizeof(path), "%s/selinux/carapace.te", src);
	assert_int_equal(cp_file_read(path, 1 << 20, &te, &len, &err), 0);
	te = realloc(te, len + 1);
	assert_non_null(te);
	te[len] = '\0';
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		snprintf(want, sizeof(want), "\ncarapace_helper_template(%s)\n", devkinds[k].name);
		if (!strstr((char *)te, want))
			fail_msg("selinux/carapace.te does not declare %s's domain (%s)", devkinds[k].name, want + 1);
	}
	free(te);
}

/* The launch policy's classes are the first kinds of the table, in its order; labels read the
 * table's types. */
static void test_policy_and_labels(void **state)
{
	char buf[64];

	(void)state;
	for (unsigned k = 0; k < DEVKIND__COUNT; k++) {
		if (k < POLICY_DEV__COUNT) {
			assert_non_null(devkinds[k].policy_class);
			snprintf(buf, sizeof(buf), "devices.%s", devkinds[k].name);
			assert_string_equal(devkinds[k].policy_class, buf);
			assert_string_equal(policy_dev_kind_name((enum policy_dev_kind)k), devkinds[k].name);
			assert_true(devkinds[k].runner_starts);
		} else {
			/* No policy class: the runner must not start it, or it would go unjudged. */
			assert_null(devkinds[k].policy_class);
			assert_false(devkinds[k].runner_starts);
		}
		assert_string_equal(label_helper_type((enum label_helper)k), devkinds[k].selinux_type);
		assert_string_equal(label_helper_exec_type((enum label_helper)k), devkinds[k].selinux_exec_type);
	}
	assert_null(label_helper_type(LABEL_HELPER__COUNT));
}

/* The one check of an option's value, per option type (--device and PUT /vsock use it). */
static void test_arg_check(void **state)
{
	const struct devkind_arg *cid = devkind_arg_find(&devkinds[DEVKIND_VSOCK], "cid");
	const struct devkind_arg *uds = devkind_arg_find(&devkinds[DEVKIND_VSOCK], "uds");
	const struct devkind_arg *ro = devkind_arg_find(&devkinds[DEVKIND_BLK], "readonly");
	const struct devkind_arg *tap = devkind_arg_find(&devkinds[DEVKIND_NET], "tap");
	char out[128], why[256], long_path[120];

	(void)state;
	assert_non_null(cid);
	assert_non_null(uds);
	assert_int_equal(cid->type, DEVOPT_UINT);
	assert_int_equal(uds->type, DEVOPT_ABSPATH);
	/* the guest CID: 3 .. 2^32-2, written back in plain decimal */
	assert_int_equal(devkind_arg_check(cid, "3", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "3");
	assert_int_equal(devkind_arg_check(cid, "0x20", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "32");
	assert_int_equal(devkind_arg_check(cid, "4294967294", out, sizeof(out), why, sizeof(why)), 0);
	for (unsigned i = 0; i < 6; i++) {
		static const char *const bad[] = { "2", "4294967295", "18446744073709551616", "+3", "3 ", "" };
		assert_int_equal(devkind_arg_check(cid, bad[i], out, sizeof(out), why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "expected a number from 3 to 4294967294"));
	}
	/* a canonical form that does not fit is refused, not cut */
	assert_int_equal(devkind_arg_check(cid, "4294967294", out, 10, why, sizeof(why)), -EINVAL);
	/* the socket path: absolute, 2..107 bytes */
	assert_int_equal(devkind_arg_check(uds, "/run/v.sock", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "/run/v.sock");
	assert_int_equal(devkind_arg_check(uds, "run/v.sock", out, sizeof(out), why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "expected an absolute path of 2 to 107 bytes"));
	assert_int_equal(devkind_arg_check(uds, "/", out, sizeof(out), why, sizeof(why)), -EINVAL);
	memset(long_path, 'a', 108);
	long_path[0] = '/';
	long_path[108] = '\0'; /* 108 bytes: no room for sun_path's NUL */
	assert_int_equal(devkind_arg_check(uds, long_path, out, sizeof(out), why, sizeof(why)), -EINVAL);
	long_path[107] = '\0';
	assert_int_equal(devkind_arg_check(uds, long_path, out, sizeof(out), why, sizeof(why)), 0);
	/* on/off */
	assert_int_equal(devkind_arg_check(ro, "true", out, sizeof(out), why, sizeof(why)), 0);
	assert_string_equal(out, "on");
	assert_int_equal(devkind_arg_check(ro, "maybe", out, sizeof(out), why, sizeof(why)), -EINVAL);
	/* a plain value: length only */
	assert_int_equal(devkind_arg_check(tap, "0123456789abcdef", out, sizeof(out), why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "tap=NAME must be 1 to 15 characters");
}

static void test_fails_closed(void **state)
{
	enum devkind_id k = DEVKIND__COUNT;

	(void)state;
	assert_null(devkind_get(DEVKIND__COUNT));
	assert_null(devkind_get((enum devkind_id)-1));
	assert_ptr_equal(devkind_get(DEVKIND_VSOCK), &devkinds[DEVKIND_VSOCK]);
	assert_int_equal(devkind_by_name("floppy", &k), -ENOENT);
	assert_int_equal(devkind_by_name("", &k), -ENOENT);
	assert_int_equal(k, DEVKIND__COUNT); /* untouched */
	assert_int_equal(devkind_by_name("vsock", &k), 0);
	assert_int_equal(k, DEVKIND_VSOCK);
	assert_null(devkind_arg_find(&devkinds[DEVKIND_RNG], "path"));
	assert_null(devkind_arg_find(&devkinds[DEVKIND_BLK], "tap"));
}

/* The trust table has a row per VM-process thread, the reaper, and each kind. */
static void test_trust_table(void **state)
{
	struct trust_row rows[32];
	size_t n = trust_table_rows(rows, 32), helpers = 0;
	bool main_seen = false, reaper_seen = false;

	(void)state;
	assert_true(n > DEVKIND__COUNT);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(rows[i].process);
		assert_non_null(rows[i].seccomp);
		for (unsigned k = 0; k < DEVKIND__COUNT; k++)
			if (!strcmp(rows[i].binary, devkinds[k].binary)) {
				assert_string_equal(rows[i].seccomp, devkinds[k].seccomp->name);
				helpers++;
			}
		main_seen |= !strcmp(rows[i].seccomp, "base + main");
		reaper_seen |= !strcmp(rows[i].seccomp, jail_policy_reaper.name);
	}
	assert_int_equal(helpers, DEVKIND__COUNT);
	assert_true(main_seen);
	assert_true(reaper_seen);
	assert_int_equal(trust_table_rows(rows, 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_names_agree),
		cmocka_unit_test(test_virtio_facts),
		cmocka_unit_test(test_helpers_built),
		cmocka_unit_test(test_selinux_module),
		cmocka_unit_test(test_policy_and_labels),
		cmocka_unit_test(test_arg_check),
		cmocka_unit_test(test_fails_closed),
		cmocka_unit_test(test_trust_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

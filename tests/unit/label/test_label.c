/* Unit tests for label/label*.c: MCS pair allocation, contexts, and the libselinux layer's
 * decisions, driven through a fake ops table (SELinux is not enabled on the build machines,
 * so label_ops_libselinux itself is not exercised here). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "label/label.h"

static void test_alloc_deterministic_and_exhaustion(void **state)
{
	static const struct label_mcs_pair want[] = { { 0, 1 }, { 0, 2 }, { 0, 3 },
						      { 1, 2 }, { 1, 3 }, { 2, 3 } };
	struct label_mcs_alloc a;
	struct label_mcs_pair p;
	struct cp_err err = { 0 };

	assert_int_equal(label_mcs_init(&a, 0, 3, &err), 0);
	assert_int_equal(a.npairs, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(label_mcs_acquire(&a, 0, NULL, NULL, &p, &err), 0);
		assert_int_equal(p.c1, want[i].c1);
		assert_int_equal(p.c2, want[i].c2);
	}
	assert_int_equal(label_mcs_acquire(&a, 0, NULL, NULL, &p, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "all 6 MCS category pairs of c0..c3 are in use"));

	/* A released pair is the one handed out next; a double release is refused. */
	cp_err_clear(&err);
	assert_int_equal(label_mcs_release(&a, &want[3], &err), 0);
	assert_int_equal(label_mcs_release(&a, &want[3], &err), -ENOENT);
	assert_non_null(strstr(err.msg, "c1,c2 released but not in use"));
	cp_err_clear(&err);
	assert_int_equal(label_mcs_acquire(&a, 5, NULL, NULL, &p, &err), 0);
	assert_int_equal(p.c1, 1);
	assert_int_equal(p.c2, 2);
	assert_int_equal(a.nused, 6);
	label_mcs_fini(&a);
}

static void test_alloc_hint_wraps(void **state)
{
	struct label_mcs_alloc a;
	struct label_mcs_pair p;
	struct cp_err err = { 0 };

	assert_int_equal(label_mcs_init(&a, 10, 13, &err), 0);
	assert_int_equal(label_mcs_acquire(&a, 5, NULL, NULL, &p, &err), 0); /* last pair */
	assert_int_equal(p.c1, 12);
	assert_int_equal(p.c2, 13);
	assert_int_equal(label_mcs_acquire(&a, 5 + 6 * 1000, NULL, NULL, &p, &err), 0); /* wraps */
	assert_int_equal(p.c1, 10);
	assert_int_equal(p.c2, 11);
	label_mcs_fini(&a);
}

static void test_alloc_unique_while_in_use(void **state)
{
	struct label_mcs_alloc a;
	struct label_mcs_pair p;
	struct cp_err err = { 0 };
	static uint8_t seen[32][32];
	uint32_t x = 12345;

	memset(seen, 0, sizeof(seen));
	assert_int_equal(label_mcs_init(&a, 0, 31, &err), 0);
	for (uint32_t i = 0; i < a.npairs; i++) {
		x = x * 1103515245u + 12345u; /* fixed LCG: deterministic "random" hints */
		assert_int_equal(label_mcs_acquire(&a, x >> 8, NULL, NULL, &p, &err), 0);
		assert_true(p.c1 < p.c2 && p.c2 <= 31);
		assert_int_equal(seen[p.c1][p.c2], 0);
		seen[p.c1][p.c2] = 1;
	}
	assert_int_equal(label_mcs_acquire(&a, 0, NULL, NULL, &p, &err), -ENOSPC);
	label_mcs_fini(&a);
}

static void test_alloc_index_roundtrip_full_range(void **state)
{
	struct label_mcs_alloc a;
	struct label_mcs_pair p;
	struct cp_err err = { 0 };
	uint32_t idx;

	assert_int_equal(label_mcs_init(&a, 0, LABEL_MCS_CATS - 1, &err), 0);
	assert_int_equal(a.npairs, 1024u * 1023u / 2u);
	for (uint32_t i = 0; i < a.npairs; i += 997) {
		label_mcs_pair_at(&a, i, &p);
		assert_int_equal(label_mcs_pair_index(&a, &p, &idx), 0);
		assert_int_equal(idx, i);
	}
	label_mcs_pair_at(&a, a.npairs - 1, &p);
	assert_int_equal(p.c1, 1022);
	assert_int_equal(p.c2, 1023);
	label_mcs_fini(&a);
	assert_int_equal(label_mcs_init(&a, 5, 5, &err), -EINVAL);
	assert_int_equal(label_mcs_init(&a, 0, 1024, &err), -EINVAL);
}

static int claim_calls;
static int claim_fake(void *ctx, const struct label_mcs_pair *p)
{
	claim_calls++;
	if (p->c1 == 0 && p->c2 <= 2)
		return -EEXIST; /* held by another runner */
	if (p->c1 == 1 && p->c2 == 3)
		return -EACCES;
	return 0;
}

static void test_alloc_claim(void **state)
{
	struct label_mcs_alloc a;
	struct label_mcs_pair p, r = { 0, 3 };
	struct cp_err err = { 0 };

	assert_int_equal(label_mcs_init(&a, 0, 3, &err), 0);
	assert_int_equal(label_mcs_acquire(&a, 0, claim_fake, NULL, &p, &err), 0);
	assert_int_equal(p.c1, 0);
	assert_int_equal(p.c2, 3);
	assert_int_equal(claim_calls, 3);
	assert_int_equal(label_mcs_reserve(&a, &r, &err), -EEXIST);
	cp_err_clear(&err);
	assert_int_equal(label_mcs_acquire(&a, 0, claim_fake, NULL, &p, &err), 0);
	assert_int_equal(p.c1, 1);
	assert_int_equal(p.c2, 2);
	assert_int_equal(label_mcs_acquire(&a, 0, claim_fake, NULL, &p, &err), -EACCES);
	assert_non_null(strstr(err.msg, "claiming categories c1,c3 failed"));
	label_mcs_fini(&a);
}

static void test_contexts(void **state)
{
	struct label_mcs_pair p = { 12, 345 }, bad = { 7, 7 };
	struct cp_err err = { 0 };
	char buf[LABEL_CONTEXT_MAX];

	assert_int_equal(label_helper_context(LABEL_HELPER_BLK, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:system_r:carapace_blk_t:s0:c12,c345");
	assert_int_equal(label_helper_context(LABEL_HELPER_NET, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:system_r:carapace_net_t:s0:c12,c345");
	assert_int_equal(label_helper_context(LABEL_HELPER_RNG, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:system_r:carapace_rng_t:s0:c12,c345");
	assert_int_equal(label_helper_context(LABEL_HELPER_CONSOLE, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:system_r:carapace_console_t:s0:c12,c345");
	assert_int_equal(label_object_context(LABEL_OBJ_IMAGE, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:object_r:carapace_image_t:s0:c12,c345");
	assert_int_equal(label_object_context(LABEL_OBJ_SOCKET, &p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:object_r:carapace_sock_t:s0:c12,c345");
	assert_int_equal(label_object_context(LABEL_OBJ_IMAGE_RO, NULL, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "system_u:object_r:carapace_image_ro_t:s0");

	assert_int_equal(label_helper_context(LABEL_HELPER_BLK, &bad, buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(label_object_context(LABEL_OBJ_IMAGE, NULL, buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(label_helper_context(LABEL_HELPER__COUNT, &p, buf, sizeof(buf), &err), -EINVAL);
	assert_int_equal(label_helper_context(LABEL_HELPER_BLK, &p, buf, 20, &err), -ENOSPC);
	/* Helper order follows the device kinds, so the runner can index by policy_dev_kind. */
	assert_string_equal(label_helper_type((enum label_helper)POLICY_DEV_NET), "carapace_net_t");
	assert_string_equal(label_helper_exec_type(LABEL_HELPER_BLK), "carapace_blk_exec_t");
}

static void test_pair_parse(void **state)
{
	static const char *const bad[] = { "s0:c3,c3", "s0:c4,c3", "s0:c1", "s0:c1,c1024",
					   "s1:c1,c2", "s0:c01,c2", "s0:c1,c2,c3", "s0:c1,c2 ", "" };
	struct label_mcs_pair p;
	struct cp_err err = { 0 };

	assert_int_equal(label_mcs_pair_parse("s0:c12,c345", &p, &err), 0);
	assert_int_equal(p.c1, 12);
	assert_int_equal(p.c2, 345);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(label_mcs_pair_parse(bad[i], &p, &err), -EINVAL);
}

/* ---- the fake libselinux ---- */

struct fake {
	int enabled, enforcing;
	int fail_exec, fail_get, fail_set; /* -errno to return */
	int notices, exec_calls, set_calls;
	char exec_con[LABEL_CONTEXT_MAX];
	char sock_con[LABEL_CONTEXT_MAX];
	int fail_sock, sock_calls;
	char file_con[LABEL_CONTEXT_MAX]; /* one file is enough */
	char last_notice[512];
};

static int f_enabled(void *c) { return ((struct fake *)c)->enabled; }
static int f_enforcing(void *c) { return ((struct fake *)c)->enforcing; }
static int f_set_exec(void *c, const char *con)
{
	struct fake *f = c;

	f->exec_calls++;
	if (f->fail_exec)
		return f->fail_exec;
	snprintf(f->exec_con, sizeof(f->exec_con), "%s", con);
	return 0;
}
static int f_set_sockcreate(void *c, const char *con)
{
	struct fake *f = c;

	f->sock_calls++;
	if (f->fail_sock)
		return f->fail_sock;
	snprintf(f->sock_con, sizeof(f->sock_con), "%s", con ? con : "(default)");
	return 0;
}
static int f_get_file(void *c, const char *path, char **con)
{
	struct fake *f = c;

	if (f->fail_get)
		return f->fail_get;
	*con = strdup(f->file_con);
	return *con ? 0 : -ENOMEM;
}
static int f_set_file(void *c, const char *path, const char *con)
{
	struct fake *f = c;

	f->set_calls++;
	if (f->fail_set)
		return f->fail_set;
	snprintf(f->file_con, sizeof(f->file_con), "%s", con);
	return 0;
}
static void f_notice(void *c, const char *msg)
{
	struct fake *f = c;

	f->notices++;
	snprintf(f->last_notice, sizeof(f->last_notice), "%s", msg);
}

static const struct label_ops fake_ops = {
	f_enabled, f_enforcing, f_set_exec, f_set_sockcreate, f_get_file, f_set_file, f_notice,
};

static const struct label_mcs_pair vm = { 12, 345 };

static void test_session_disabled_says_once(void **state)
{
	struct fake f = { .enabled = 0 };
	struct label_session s;
	struct label_saved sv;
	struct cp_err err = { 0 };

	assert_int_equal(label_session_open(&s, &fake_ops, &f, &err), 0);
	assert_int_equal(s.mode, LABEL_MODE_DISABLED);
	assert_non_null(strstr(f.last_notice, "SELinux is disabled"));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(label_session_exec_helper(&s, LABEL_HELPER_BLK, &vm, &err), 0);
		assert_int_equal(label_session_socket_for_helper(&s, LABEL_HELPER_BLK, &vm, &err), 0);
		assert_int_equal(label_session_socket_reset(&s, &err), 0);
		assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_IMAGE, &vm, &sv, &err), 0);
		assert_int_equal(label_session_file_restore(&s, &sv, &err), 0);
	}
	assert_int_equal(f.notices, 1);
	assert_int_equal(f.exec_calls + f.set_calls + f.sock_calls, 0);
}

static void test_session_enforcing(void **state)
{
	struct fake f = { .enabled = 1, .enforcing = 1 };
	struct label_session s;
	struct label_saved sv;
	struct cp_err err = { 0 };

	snprintf(f.file_con, sizeof(f.file_con), "system_u:object_r:var_lib_t:s0");
	assert_int_equal(label_session_open(&s, &fake_ops, &f, &err), 0);
	assert_int_equal(s.mode, LABEL_MODE_ENFORCING);
	assert_int_equal(label_session_exec_helper(&s, LABEL_HELPER_RNG, &vm, &err), 0);
	assert_string_equal(f.exec_con, "system_u:system_r:carapace_rng_t:s0:c12,c345");
	assert_int_equal(label_session_socket_for_helper(&s, LABEL_HELPER_NET, &vm, &err), 0);
	assert_string_equal(f.sock_con, "system_u:system_r:carapace_net_t:s0:c12,c345");
	assert_int_equal(label_session_socket_reset(&s, &err), 0);
	assert_string_equal(f.sock_con, "(default)");
	f.fail_sock = -EINVAL;
	assert_int_equal(label_session_socket_for_helper(&s, LABEL_HELPER_NET, &vm, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "setsockcreatecon system_u:system_r:carapace_net_t:s0:c12,c345 failed"));
	cp_err_clear(&err);
	f.fail_sock = 0;

	/* Label an image, then put the old label back on exit. */
	assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_IMAGE, &vm, &sv, &err), 0);
	assert_string_equal(f.file_con, "system_u:object_r:carapace_image_t:s0:c12,c345");
	assert_int_equal(label_session_file_restore(&s, &sv, &err), 0);
	assert_string_equal(f.file_con, "system_u:object_r:var_lib_t:s0");
	assert_null(sv.path);

	/* Every failure stops the launch, with a message naming the step. */
	f.fail_exec = -EACCES;
	assert_int_equal(label_session_exec_helper(&s, LABEL_HELPER_BLK, &vm, &err), -EACCES);
	assert_non_null(strstr(err.msg, "setexeccon system_u:system_r:carapace_blk_t:s0:c12,c345 failed"));
	assert_non_null(strstr(err.msg, "enforcing"));
	cp_err_clear(&err);
	f.fail_set = -EPERM;
	assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_SOCKET, &vm, &sv, &err), -EPERM);
	assert_non_null(strstr(err.msg, "labelling /img system_u:object_r:carapace_sock_t:s0:c12,c345 failed"));
	assert_null(sv.path);
	cp_err_clear(&err);
	f.fail_set = 0;
	f.fail_get = -ENODATA;
	assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_IMAGE, &vm, &sv, &err), -ENODATA);
	cp_err_clear(&err);
	f.fail_get = 0;
	assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_IMAGE, &vm, &sv, &err), 0);
	f.fail_set = -EROFS;
	assert_int_equal(label_session_file_restore(&s, &sv, &err), -EROFS);
	assert_non_null(strstr(err.msg, "restoring /img"));
	assert_null(sv.path);
	assert_int_equal(f.notices, 0);
}

static void test_session_permissive_goes_on(void **state)
{
	struct fake f = { .enabled = 1, .enforcing = 0, .fail_exec = -EACCES, .fail_set = -EPERM };
	struct label_session s;
	struct label_saved sv;
	struct cp_err err = { 0 };

	assert_int_equal(label_session_open(&s, &fake_ops, &f, &err), 0);
	assert_int_equal(s.mode, LABEL_MODE_PERMISSIVE);
	assert_int_equal(label_session_exec_helper(&s, LABEL_HELPER_NET, &vm, &err), 0);
	assert_non_null(strstr(f.last_notice, "permissive"));
	assert_int_equal(label_session_file_apply(&s, "/img", LABEL_OBJ_IMAGE, &vm, &sv, &err), 0);
	assert_int_equal(f.notices, 2);
	assert_int_equal(err.code, 0);
	/* An invalid pair is a caller bug: refused even in permissive mode. */
	assert_int_equal(label_session_exec_helper(&s, LABEL_HELPER_NET, &(struct label_mcs_pair){ 3, 1 }, &err), -EINVAL);
}

static void test_session_unknown_mode_is_enforcing(void **state)
{
	struct fake f = { .enabled = 1, .enforcing = -EIO };
	struct label_session s;
	struct cp_err err = { 0 };

	assert_int_equal(label_session_open(&s, &fake_ops, &f, &err), 0);
	assert_int_equal(s.mode, LABEL_MODE_ENFORCING);
}

/* Two runners (two claim sets on one directory) never get the same pair; a pair comes back
 * when its runner releases it or dies (its descriptors closed). Real files in a temporary
 * directory: flock needs no privilege and no SELinux. */
static void test_claims_across_runners(void **state)
{
	char dir[] = "/tmp/carapace-claims-XXXXXX";
	struct label_mcs_claims r1, r2;
	struct label_mcs_alloc a1, a2;
	struct label_mcs_pair p1, p2, p3;
	struct cp_err err = { 0 };

	assert_non_null(mkdtemp(dir));
	assert_int_equal(label_claims_open(&r1, dir, &err), 0);
	assert_int_equal(label_claims_open(&r2, dir, &err), 0);
	assert_int_equal(label_mcs_init(&a1, 0, 2, &err), 0); /* 3 pairs */
	assert_int_equal(label_mcs_init(&a2, 0, 2, &err), 0);
	assert_int_equal(label_mcs_acquire(&a1, 0, label_claims_claim, &r1, &p1, &err), 0);
	assert_int_equal(label_mcs_acquire(&a2, 0, label_claims_claim, &r2, &p2, &err), 0);
	assert_false(p1.c1 == p2.c1 && p1.c2 == p2.c2);
	assert_int_equal(label_mcs_acquire(&a1, 0, label_claims_claim, &r1, &p3, &err), 0);
	/* Runner 2 sees every pair taken: two by runner 1, one by itself. */
	assert_int_equal(label_mcs_acquire(&a2, 0, label_claims_claim, &r2, &p3, &err), -ENOSPC);
	cp_err_clear(&err);

	/* Runner 1 "dies": its locks go, and runner 2 gets a pair back. */
	label_claims_close(&r1);
	assert_int_equal(label_mcs_acquire(&a2, 0, label_claims_claim, &r2, &p3, &err), 0);
	assert_int_equal(label_claims_release(&r2, &p3, &err), 0);
	assert_int_equal(label_claims_release(&r2, &p3, &err), -ENOENT);
	label_claims_close(&r2);
	label_mcs_fini(&a1);
	label_mcs_fini(&a2);
	assert_int_equal(rmdir(dir), 0); /* every lock file was removed on release */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_deterministic_and_exhaustion),
		cmocka_unit_test(test_alloc_hint_wraps),
		cmocka_unit_test(test_alloc_unique_while_in_use),
		cmocka_unit_test(test_alloc_index_roundtrip_full_range),
		cmocka_unit_test(test_alloc_claim),
		cmocka_unit_test(test_claims_across_runners),
		cmocka_unit_test(test_contexts),
		cmocka_unit_test(test_pair_parse),
		cmocka_unit_test(test_session_disabled_says_once),
		cmocka_unit_test(test_session_enforcing),
		cmocka_unit_test(test_session_permissive_goes_on),
		cmocka_unit_test(test_session_unknown_mode_is_enforcing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

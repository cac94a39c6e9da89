/* The label monitor: its typed reader (exact sizes, the table's types, slots in range), its
 * state machine (each request in its state, once), and the forked process with a fake
 * label_ops recording into shared memory: files labelled when asked by slot, restored at
 * RESTORE, on a protocol violation (the VM process is cut off) and when the VM process
 * vanishes; the category claim released; the monitor collected with its exit status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "label/label_monitor.h"

/* ---- the pure core ---- */

struct counts {
	unsigned apply[LMON_MAX_SLOTS], restore;
	int apply_ret;
};

static int count_apply(void *ctx, unsigned slot, struct cp_err *err)
{
	struct counts *c = ctx;
	c->apply[slot]++;
	return c->apply_ret ? cp_err_set(err, -c->apply_ret, "apply failed") : 0;
}

static int count_restore(void *ctx, struct cp_err *err)
{
	((struct counts *)ctx)->restore++;
	return 0;
}

static const struct lmon_actions count_actions = { count_apply, count_restore };

static int req(struct lmon_core *c, uint32_t type, uint32_t slot, int *status)
{
	struct lmon_req r = { type, slot }, out;
	struct cp_err err = { 0 };
	int ret = lmon_req_read(&r, sizeof(r), c->nslots, &out, &err);
	return ret < 0 ? ret : lmon_core_dispatch(c, &out, status, &err);
}

static void test_reader_exact(void **state)
{
	uint8_t buf[16] = { 0 };
	struct lmon_req r = { LMON_REQ_APPLY, 1 }, out;
	struct cp_err err = { 0 };

	memcpy(buf, &r, sizeof(r));
	assert_int_equal(lmon_req_read(buf, sizeof(r), 2, &out, &err), 0);
	assert_int_equal(out.type, LMON_REQ_APPLY);
	assert_int_equal(out.slot, 1);
	for (size_t len = 0; len < sizeof(buf); len++) {
		if (len == sizeof(r))
			continue;
		cp_err_clear(&err);
		assert_int_equal(lmon_req_read(buf, len, 2, &out, &err), -EPROTO);
		assert_non_null(strstr(err.msg, "exactly 8 expected"));
	}
	/* Outside the table: 0 (the empty slot), one past the end, a huge one. */
	const uint32_t bad_types[] = { 0, LMON_REQ__COUNT, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		r = (struct lmon_req){ bad_types[i], 0 };
		cp_err_clear(&err);
		assert_int_equal(lmon_req_read(&r, sizeof(r), 2, &out, &err), -EPROTO);
		assert_non_null(strstr(err.msg, "is not in the table"));
	}
	r = (struct lmon_req){ LMON_REQ_APPLY, 2 };
	cp_err_clear(&err);
	assert_int_equal(lmon_req_read(&r, sizeof(r), 2, &out, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "slot 2 of 2"));
	r = (struct lmon_req){ LMON_REQ_SEAL, 1 };
	cp_err_clear(&err);
	assert_int_equal(lmon_req_read(&r, sizeof(r), 2, &out, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "seal carries slot 1"));
}

static void test_state_machine(void **state)
{
	struct counts n = { 0 };
	struct lmon_core c;
	struct cp_err err = { 0 };
	int st;

	lmon_core_init(&c, 3, &count_actions, &n);
	assert_int_equal(c.state, LMON_ST_SETUP);
	assert_int_equal(req(&c, LMON_REQ_APPLY, 0, &st), 0);
	assert_int_equal(st, 0);
	assert_int_equal(req(&c, LMON_REQ_APPLY, 2, &st), 0);
	/* Each slot once. */
	assert_int_equal(req(&c, LMON_REQ_APPLY, 0, &st), -EPROTO);
	assert_int_equal(n.apply[0], 1);
	assert_int_equal(req(&c, LMON_REQ_SEAL, 0, &st), 0);
	assert_int_equal(c.state, LMON_ST_SEALED);
	/* Sealed: no more labelling, no second seal. */
	{
		struct lmon_req r = { LMON_REQ_APPLY, 1 };
		assert_int_equal(lmon_core_dispatch(&c, &r, &st, &err), -EPROTO);
		assert_non_null(strstr(err.msg, "apply is not allowed in state sealed"));
	}
	assert_int_equal(n.apply[1], 0);
	assert_int_equal(req(&c, LMON_REQ_SEAL, 0, &st), -EPROTO);
	assert_int_equal(req(&c, LMON_REQ_RESTORE, 0, &st), 0);
	assert_int_equal(c.state, LMON_ST_DONE);
	assert_int_equal(n.restore, 1);
	/* Done: nothing more, and a cut after the restore does not restore again. */
	assert_int_equal(req(&c, LMON_REQ_RESTORE, 0, &st), -EPROTO);
	lmon_core_cut(&c);
	assert_int_equal(n.restore, 1);
	assert_int_equal(c.state, LMON_ST_CUT);
	assert_int_equal(req(&c, LMON_REQ_APPLY, 1, &st), -EPROTO);
}

static void test_state_machine_cut_restores_once(void **state)
{
	struct counts n = { .apply_ret = -EACCES };
	struct lmon_core c;
	int st;

	lmon_core_init(&c, 1, &count_actions, &n);
	/* A failed action is an answer (the launch decides), not a protocol violation. */
	assert_int_equal(req(&c, LMON_REQ_APPLY, 0, &st), 0);
	assert_int_equal(st, -EACCES);
	lmon_core_cut(&c);
	lmon_core_cut(&c);
	assert_int_equal(n.restore, 1);
	assert_int_equal(req(&c, LMON_REQ_RESTORE, 0, &st), -EPROTO);
	assert_int_equal(n.restore, 1);
}

/* ---- the process, with a fake label_ops in memory shared with the forked monitor ---- */

struct fake {
	unsigned set_file, get_file;
	char last_path[256], last_con[128];
	char restored_con[128];
};

static int f_enabled(void *ctx) { return 1; }
static int f_enforcing(void *ctx) { return 1; }
static int f_set(void *ctx, const char *con) { return 0; }
static int f_get_file(void *ctx, const char *path, char **con)
{
	((struct fake *)ctx)->get_file++;
	*con = strdup("system_u:object_r:user_home_t:s0");
	return *con ? 0 : -ENOMEM;
}
static int f_set_file(void *ctx, const char *path, const char *con)
{
	struct fake *f = ctx;
	f->set_file++;
	snprintf(f->last_path, sizeof(f->last_path), "%s", path);
	snprintf(f->last_con, sizeof(f->last_con), "%s", con);
	if (strstr(con, "user_home_t"))
		snprintf(f->restored_con, sizeof(f->restored_con), "%s", con);
	return 0;
}
static void f_notice(void *ctx, const char *msg) { }

static const struct label_ops fake_ops = { f_enabled, f_enforcing, f_set, f_set, f_get_file, f_set_file, f_notice };

struct proc_fixture {
	struct fake *f;
	struct label_session s;
	struct label_mcs_claims claims;
	struct label_mcs_pair pair;
	char dir[64];
	struct label_monitor m;
};

static const struct label_monitor_slot slots[] = {
	{ "/images/vm1.img", LABEL_OBJ_IMAGE },
	{ NULL, LABEL_OBJ_IMAGE }, /* an rng: nothing to label */
};

static void proc_start(struct proc_fixture *p)
{
	struct cp_err err = { 0 };

	p->f = mmap(NULL, sizeof(*p->f), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p->f != MAP_FAILED);
	memset(p->f, 0, sizeof(*p->f));
	assert_int_equal(label_session_open(&p->s, &fake_ops, p->f, &err), 0);
	snprintf(p->dir, sizeof(p->dir), "/tmp/carapace-lmon-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	assert_int_equal(label_claims_open(&p->claims, p->dir, &err), 0);
	p->pair = (struct label_mcs_pair){ 12, 345 };
	assert_int_equal(label_claims_claim(&p->claims, &p->pair), 0);
	assert_int_equal(label_monitor_start(&p->m, &p->s, &p->claims, &p->pair, slots, 2, &err), 0);
	assert_true(p->m.pid > 0);
	/* The claim is the monitor's: this process holds no copy of it any more. */
	assert_int_equal(p->claims.n, 0);
	assert_int_equal(p->claims.dirfd, -1);
}

static bool claim_file_exists(struct proc_fixture *p)
{
	char path[96];
	struct stat st;

	snprintf(path, sizeof(path), "%s/c12,c345", p->dir);
	return stat(path, &st) == 0;
}

static void proc_end(struct proc_fixture *p)
{
	assert_false(claim_file_exists(p)); /* released by the monitor */
	rmdir(p->dir);
	munmap(p->f, sizeof(*p->f));
}

static void test_process_apply_seal_restore(void **state)
{
	struct proc_fixture p;
	struct cp_err err = { 0 };

	proc_start(&p);
	assert_true(claim_file_exists(&p));
	assert_int_equal(label_monitor_apply(&p.m, 0, &err), 0);
	assert_int_equal(p.f->set_file, 1);
	assert_string_equal(p.f->last_path, "/images/vm1.img");
	assert_string_equal(p.f->last_con, "system_u:object_r:carapace_image_t:s0:c12,c345");
	/* A slot with nothing to label is an answered error, not a cut-off. */
	assert_int_equal(label_monitor_apply(&p.m, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "slot 1 has no file"));
	cp_err_clear(&err);
	assert_int_equal(label_monitor_seal(&p.m, &err), 0);
	assert_int_equal(label_monitor_finish(&p.m, &err), 0);
	assert_int_equal(p.m.pid, -1);
	assert_int_equal(p.m.exit_status, 0);
	assert_int_equal(p.f->set_file, 2);
	assert_string_equal(p.f->restored_con, "system_u:object_r:user_home_t:s0");
	proc_end(&p);
}

static void test_process_out_of_state_cuts_off(void **state)
{
	struct proc_fixture p;
	struct cp_err err = { 0 };

	proc_start(&p);
	assert_int_equal(label_monitor_apply(&p.m, 0, &err), 0);
	assert_int_equal(label_monitor_seal(&p.m, &err), 0);
	/* After the seal, a (compromised) VM process asks again: no answer, labels back. */
	assert_int_equal(label_monitor_apply(&p.m, 0, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "cut this process off"));
	cp_err_clear(&err);
	assert_int_equal(label_monitor_finish(&p.m, &err), -EPIPE);
	assert_int_equal(p.m.exit_status, 2);
	assert_int_equal(p.f->set_file, 2);
	assert_string_equal(p.f->restored_con, "system_u:object_r:user_home_t:s0");
	proc_end(&p);
}

static void test_process_malformed_cuts_off(void **state)
{
	struct proc_fixture p;
	struct cp_err err = { 0 };
	uint8_t junk[12] = { 1 };
	char b;

	proc_start(&p);
	assert_int_equal(label_monitor_apply(&p.m, 0, &err), 0);
	assert_int_equal(send(p.m.sock, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t)sizeof(junk));
	assert_int_equal(read(p.m.sock, &b, 1), 0); /* hung up, no answer */
	assert_int_equal(label_monitor_finish(&p.m, &err), -EPIPE);
	assert_int_equal(p.m.exit_status, 2);
	assert_string_equal(p.f->restored_con, "system_u:object_r:user_home_t:s0");
	proc_end(&p);
}

static void test_process_vm_gone_restores(void **state)
{
	struct proc_fixture p;
	struct cp_err err = { 0 };
	int st;

	proc_start(&p);
	assert_int_equal(label_monitor_apply(&p.m, 0, &err), 0);
	/* The VM process dies (its end of the socket closes) without a RESTORE. */
	close(p.m.sock);
	p.m.sock = -1;
	assert_int_equal(waitpid(p.m.pid, &st, 0), p.m.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	p.m.pid = -1;
	assert_int_equal(p.f->set_file, 2);
	assert_string_equal(p.f->restored_con, "system_u:object_r:user_home_t:s0");
	assert_int_equal(label_monitor_finish(&p.m, &err), 0); /* nothing left: a no-op */
	proc_end(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_exact),
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_state_machine_cut_restores_once),
		cmocka_unit_test(test_process_apply_seal_restore),
		cmocka_unit_test(test_process_out_of_state_cuts_off),
		cmocka_unit_test(test_process_malformed_cuts_off),
		cmocka_unit_test(test_process_vm_gone_restores),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

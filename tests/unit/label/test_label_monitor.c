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
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/devkinds.h"
#include "label/label_monitor.h"

/* The monitor processes run filtered as carapace starts them: killing on a forbidden call, except
 * in sanitizer builds, where the sanitizer's own exit-time work (LeakSanitizer's thread and ptrace)
 * is not on the monitor's list and the filter logs instead (sandbox_mode_default's rule). The
 * filter's kill itself is tested by the confined children below, which end by exit_group. */
#if defined(__SANITIZE_ADDRESS__) || defined(CARAPACE_SANITIZED)
#define MONITOR_MODE LMON_FILTER_LOG
#else
#define MONITOR_MODE LMON_FILTER_KILL
#endif

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
	/* Every process test runs the monitor under its real filter, kill on anything else. */
	assert_int_equal(label_monitor_start(&p->m, &p->s, &p->claims, &p->pair, slots, 2, MONITOR_MODE, &err), 0);
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

/* ---- the monitor's seccomp filter (label/label_monitor_filter.c) ---- */

/* What a confined child does; it returns normally (then leaves with exit_group 0) or dies. */
struct confined {
	int sock, dirfd;   /* the fds it is bound to */
	int other_sock;    /* a socket it was not forked with */
	const char *file;  /* a file to label */
	int act;
};

enum { C_SERVE, C_LIBSELINUX, C_RELEASE, C_OPEN, C_SOCKET, C_RECV_OTHER, C_SEND_FLAGS, C_WRITE_STDOUT,
       C_SETXATTR_CREATE, C_RMDIR_AT, C_KILL, C_EXEC, C_WAIT };

static void confined_act(const struct confined *c)
{
	char buf[16] = "x", *con = NULL;
	int st;

	switch (c->act) {
	case C_SERVE: /* a request in, an answer out, a message on stderr */
		if (recv(c->sock, buf, sizeof(buf), MSG_TRUNC) != 1 || send(c->sock, "y", 1, MSG_NOSIGNAL) != 1 ||
		    write(2, "confined: stderr\n", 17) != 17)
			_exit(5);
		break;
	case C_LIBSELINUX: /* the real label_ops, as the monitor calls them: the calls pass the filter;
			    * their results (SELinux is off here, or the caller may not set the
			    * attribute) do not matter */
		(void)label_ops_libselinux.set_file(NULL, c->file, "system_u:object_r:carapace_image_t:s0:c1,c2");
		(void)label_ops_libselinux.get_file(NULL, c->file, &con);
		free(con);
		(void)label_ops_libselinux.set_file(NULL, "/nonexistent/carapace", "system_u:object_r:carapace_image_t:s0");
		break;
	case C_RELEASE: /* the claim's release: unlink the lock file, close the fds */
		if (unlinkat(c->dirfd, "c1,c2", 0) < 0 || close(c->dirfd) < 0 || close(c->sock) < 0)
			_exit(5);
		break;
	case C_OPEN: (void)open("/etc/passwd", O_RDONLY); break;
	case C_SOCKET: (void)socket(AF_UNIX, SOCK_STREAM, 0); break;
	case C_RECV_OTHER: (void)recv(c->other_sock, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT); break;
	case C_SEND_FLAGS: (void)send(c->sock, "y", 1, 0); break;
	case C_WRITE_STDOUT: (void)!write(1, "x", 1); break;
	case C_SETXATTR_CREATE: (void)lsetxattr(c->file, "security.selinux", "x", 2, XATTR_CREATE); break;
	case C_RMDIR_AT: (void)unlinkat(c->dirfd, "c1,c2", AT_REMOVEDIR); break;
	case C_KILL: (void)kill(getppid(), 0); break;
	case C_EXEC: execl("/bin/true", "true", (char *)NULL); break;
	case C_WAIT: (void)waitpid(-1, &st, WNOHANG); break;
	}
}

static int run_confined(struct confined *c, int act)
{
	int st = 0;
	pid_t pid;

	c->act = act;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cp_err err = { 0 };
		const int fds[] = { c->sock, c->dirfd };
		if (label_monitor_confine(fds, 2, LMON_FILTER_KILL, &err) < 0) {
			fprintf(stderr, "confine: %s\n", err.msg);
			syscall(SYS_exit_group, 3);
		}
		confined_act(c);
		syscall(SYS_exit_group, 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_filter(void **state)
{
	static const struct { int act; const char *what; } allowed[] = {
		{ C_SERVE, "recv/send on its socket, write to stderr" },
		{ C_LIBSELINUX, "lgetfilecon_raw/lsetfilecon_raw through the real label_ops" },
		{ C_RELEASE, "unlinkat on the claims directory, close" },
	}, killed[] = {
		{ C_OPEN, "open(/etc/passwd)" },
		{ C_SOCKET, "socket()" },
		{ C_RECV_OTHER, "recv on a socket it was not forked with" },
		{ C_SEND_FLAGS, "send without MSG_NOSIGNAL" },
		{ C_WRITE_STDOUT, "write to stdout" },
		{ C_SETXATTR_CREATE, "lsetxattr with XATTR_CREATE" },
		{ C_RMDIR_AT, "unlinkat(AT_REMOVEDIR)" },
		{ C_KILL, "kill()" },
		{ C_EXEC, "execve()" },
		{ C_WAIT, "wait4()" },
	};
	char dir[64] = "/tmp/carapace-lmon-filter-XXXXXX", file[96], lock[96];
	int sv[2], other[2];
	struct confined c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/image", dir);
	snprintf(lock, sizeof(lock), "%s/c1,c2", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, other), 0);
	c = (struct confined){ .sock = sv[1], .other_sock = other[1], .file = file };
	c.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(c.dirfd >= 0);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int st, fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		char b;

		assert_true(fd >= 0);
		close(fd);
		fd = open(lock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(send(sv[0], "r", 1, 0), 1);
		st = run_confined(&c, allowed[i].act);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("%s: %s %d", allowed[i].what, WIFSIGNALED(st) ? "killed by signal" : "exit status",
				 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		while (recv(sv[0], &b, 1, MSG_DONTWAIT) > 0)
			;
		while (recv(sv[1], &b, 1, MSG_DONTWAIT) > 0)
			;
	}
	assert_int_equal(access(lock, F_OK), -1); /* the release really unlinked it */
	for (size_t i = 0; i < sizeof(killed) / sizeof(killed[0]); i++) {
		int st = run_confined(&c, killed[i].act);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
			fail_msg("%s: not killed by SIGSYS (%s %d)", killed[i].what, WIFSIGNALED(st) ? "signal" : "exit status",
				 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	/* Off: no filter at all (--seccomp off), the same forbidden call goes through. */
	{
		pid_t pid = fork();
		int st;
		assert_true(pid >= 0);
		if (pid == 0) {
			struct cp_err err = { 0 };
			if (label_monitor_confine(&sv[1], 1, LMON_FILTER_OFF, &err) < 0 || socket(AF_UNIX, SOCK_STREAM, 0) < 0)
				_exit(5);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	unlink(file);
	unlink(lock);
	rmdir(dir);
	close(c.dirfd);
	close(sv[0]);
	close(sv[1]);
	close(other[0]);
	close(other[1]);
}

/* The trust table (devices/devkinds.c) names the filter this file loads. */
static void test_trust_row(void **state)
{
	struct trust_row rows[32];
	size_t n = trust_table_rows(rows, 32);
	char want[64];
	bool seen = false;

	(void)state;
	snprintf(want, sizeof(want), "base + %s", lmon_seccomp_list.name);
	for (size_t i = 0; i < n; i++)
		seen |= !strcmp(rows[i].seccomp, want) && !strncmp(rows[i].process, "label monitor", 13);
	assert_true(seen);
}

/* The monitor runs under its filter (and no_new_privs) before it answers its first request. */
static void test_process_is_confined(void **state)
{
	struct proc_fixture p;
	struct cp_err err = { 0 };
	char path[64];

	(void)state;
	proc_start(&p);
	/* Its filter is in place before the first request: /proc says so. */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p.m.pid);
	{
		FILE *f = fopen(path, "re");
		char line[128];
		bool filtered = false, nnp = false;
		assert_non_null(f);
		/* The fork returned before the child loaded its filter: one request makes sure it has. */
		assert_int_equal(label_monitor_apply(&p.m, 0, &err), 0);
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			filtered |= !strncmp(line, "Seccomp:\t2", 10);
			nnp |= !strncmp(line, "NoNewPrivs:\t1", 13);
		}
		fclose(f);
		assert_true(filtered);
		assert_true(nnp);
	}
	assert_int_equal(label_monitor_finish(&p.m, &err), 0);
	assert_int_equal(p.m.exit_status, 0);
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
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_process_is_confined),
		cmocka_unit_test(test_trust_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

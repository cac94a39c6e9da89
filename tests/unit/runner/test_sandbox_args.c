/* runner-sandbox_args: the argument filters of the one seccomp engine (common/seccomp_engine.c)
 * hold as written. For each restricted call of the VM process's threads (runner/sandbox.c) a
 * child loads the real filter, then makes the allowed form (it must go on) or a forbidden form
 * (it must die of SIGSYS): tgkill only the kick to its own thread group, kill only the helpers'
 * pids with SIGTERM/SIGCONT/SIGKILL, fallocate only to punch, vhost-user socket calls of vCPU
 * threads only on the helpers' sockets with the front-end's flags, the main thread's only on its
 * channels (block hot-plug), its sendto only there and on the label monitor's socket, with
 * MSG_NOSIGNAL; carapace-blk's fcntl only F_GETFL and lseek only SEEK_END; ioctl requests compared on
 * their low 32 bits (what the kernel reads) by both the VM process's and the helpers' filters.
 * Runs without KVM: the ioctls fail with EBADF/ENOTTY once allowed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/jail/seccomp.h"
#include "runner/sandbox.h"

/* What a child does after its filter: returns normally (exit 0) or dies. */
struct probe {
	enum sandbox_thread thread;
	bool helper_filter;      /* a helper's filter (devices/jail) instead of a VM thread's */
	const struct sce_list *helper_policy; /* which helper's: NULL for rng */
	bool reaper_filter;      /* the jail reaper's, bound to a child the probe starts first */
	const struct sandbox_targets *targets;
	void (*act)(const void *ctx);
	const void *ctx;
};

/* The reaper probe's own child (what the reaper's filter is bound to), and another child of the
 * probe that is not it (a zombie). */
static pid_t reaper_child, reaper_other;
static volatile sig_atomic_t trapped;
static void on_trap(int sig) { (void)sig; trapped = 1; }

/* A child of the calling process that waits to be killed, and dies with it (the probe may be
 * killed by its filter before it could collect it). */
static pid_t pausing_child(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	return pid;
}

static volatile sig_atomic_t kicked;
static void on_kick(int sig) { (void)sig; kicked = 1; }

/* Fork, load the filter, act, leave with the one exit call every list has. Returns the status. */
static int run_probe(const struct probe *p)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct cp_err err = { 0 };
		int r;

		signal(SANDBOX_KICK_SIGNAL, on_kick);
		if (p->reaper_filter) {
			/* The reaper re-raises a fatal signal on itself; a handler lets the probe see
			 * that the call passed the filter, and go on. */
			signal(SIGTRAP, on_trap);
			signal(SIGUSR2, on_trap);
			reaper_child = pausing_child();
			/* Another child, already ended: a wait4 for it that the filter wrongly lets
			 * through returns at once instead of hanging the test. */
			if ((reaper_other = fork()) == 0)
				_exit(0);
			if (reaper_child < 0 || reaper_other < 0)
				syscall(SYS_exit_group, 4);
			r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : jail_seccomp_load_reaper(reaper_child, &err);
		} else if (p->helper_filter) {
			r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : jail_seccomp_load(p->helper_policy ? p->helper_policy : &jail_policy_rng, &err);
		} else {
			r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
				    ? -errno
				    : sandbox_thread_apply_targets(p->thread, SANDBOX_ENFORCE, p->targets, &err);
		}
		if (r < 0) {
			fprintf(stderr, "filter: %s\n", err.msg);
			syscall(SYS_exit_group, 3);
		}
		p->act(p->ctx);
		/* exit for the VM threads' lists (single-threaded: the process ends), exit_group for
		 * the helper's */
		syscall(p->helper_filter || p->reaper_filter ? SYS_exit_group : SYS_exit, 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_allowed(const struct probe *p, const char *what)
{
	int st = run_probe(p);

	if (WIFSIGNALED(st))
		fail_msg("%s: killed by signal %d%s", what, WTERMSIG(st), WTERMSIG(st) == SIGSYS ? " (SIGSYS)" : "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: exit status %d", what, WEXITSTATUS(st));
}

static void expect_killed(const struct probe *p, const char *what)
{
	int st = run_probe(p);

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: not killed by SIGSYS (%s %d)", what, WIFSIGNALED(st) ? "signal" : "exit status",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* A process that only waits to be signalled: a stand-in helper, or a bystander. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* Dies with the test, even when a failed assertion skips its reap(). */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		signal(SIGUSR1, SIG_IGN);
		signal(SIGUSR2, SIG_IGN);
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* ---- tgkill ---- */

struct tg { pid_t tgid, tid; int sig; };

static void do_tgkill(const void *ctx)
{
	const struct tg *t = ctx;
	/* 0: this process (single-threaded: its pid is its one thread's id); getpid is allowed */
	pid_t tgid = t->tgid ? t->tgid : getpid(), tid = t->tid ? t->tid : tgid;

	kicked = 0;
	if (syscall(SYS_tgkill, tgid, tid, t->sig) < 0 || (t->sig == SANDBOX_KICK_SIGNAL && !kicked))
		syscall(SYS_exit, 5);
}

static void test_tgkill(void **state)
{
	pid_t other = sleeper();
	struct tg t = { 0, 0, SANDBOX_KICK_SIGNAL };
	struct probe p = { .thread = SANDBOX_MAIN, .act = do_tgkill, .ctx = &t };

	(void)state;
	expect_allowed(&p, "tgkill(self, kick)");
	t.sig = SIGUSR2;
	expect_killed(&p, "tgkill(self, SIGUSR2)");
	t.sig = SIGKILL;
	expect_killed(&p, "tgkill(self, SIGKILL)");
	t = (struct tg){ other, other, SANDBOX_KICK_SIGNAL };
	expect_killed(&p, "tgkill(another process, kick)");
	reap(other);
}

/* ---- kill ---- */

struct kl { pid_t pid; int sig; };

static void do_kill(const void *ctx)
{
	const struct kl *k = ctx;

	if (kill(k->pid, k->sig) < 0)
		syscall(SYS_exit, 5);
}

static void test_kill(void **state)
{
	pid_t helper = sleeper(), other = sleeper();
	const struct sandbox_targets t = { .helper_pids = &helper, .npids = 1 };
	struct kl k = { helper, SIGCONT };
	struct probe p = { .thread = SANDBOX_MAIN, .targets = &t, .act = do_kill, .ctx = &k };

	(void)state;
	expect_allowed(&p, "kill helper SIGCONT");
	k.sig = SIGUSR1;
	expect_killed(&p, "kill helper SIGUSR1");
	k = (struct kl){ other, SIGTERM };
	expect_killed(&p, "kill SIGTERM to a pid that is no helper");
	k = (struct kl){ -1, SIGKILL };
	expect_killed(&p, "kill(-1, SIGKILL)");
	k = (struct kl){ 0, SIGTERM };
	expect_killed(&p, "kill(0, SIGTERM): the process group");
	/* With no helper known, no kill at all. */
	k = (struct kl){ helper, SIGTERM };
	expect_killed(&(struct probe){ .thread = SANDBOX_MAIN, .act = do_kill, .ctx = &k }, "kill with no helpers");
	/* The real thing last: SIGTERM, then SIGKILL, each reaching the helper. */
	expect_allowed(&p, "kill helper SIGTERM");
	{
		int st;
		assert_int_equal(waitpid(helper, &st, 0), helper);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	}
	k = (struct kl){ other, SIGKILL };
	{
		const struct sandbox_targets t2 = { .helper_pids = &other, .npids = 1 };
		expect_allowed(&(struct probe){ .thread = SANDBOX_MAIN, .targets = &t2, .act = do_kill, .ctx = &k },
			       "kill helper SIGKILL");
	}
	{
		int st;
		assert_int_equal(waitpid(other, &st, 0), other);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
}

/* ---- wait4 (main thread): only the helpers and the label monitor ---- */

struct wt { pid_t pid; int options; bool rusage; };

static void do_wait4(const void *ctx)
{
	const struct wt *w = ctx;
	struct rusage ru;
	int st;

	/* A waitable child that has not ended: WNOHANG returns 0, a blocking wait is not tried. */
	if (syscall(SYS_wait4, w->pid, &st, w->options, w->rusage ? &ru : NULL) < 0 && errno != ECHILD)
		syscall(SYS_exit, 5);
}

static void test_main_wait4(void **state)
{
	pid_t helper = sleeper(), monitor = sleeper(), other = sleeper();
	const pid_t children[] = { helper, monitor };
	const struct sandbox_targets t = { .helper_pids = &helper, .npids = 1, .children = children, .nchildren = 2 };
	struct wt w = { helper, WNOHANG, false };
	struct probe p = { .thread = SANDBOX_MAIN, .targets = &t, .act = do_wait4, .ctx = &w };

	(void)state;
	/* The probe is not these processes' parent: the kernel answers ECHILD once the filter
	 * let the call through, which is all this checks. */
	expect_allowed(&p, "wait4(helper, WNOHANG)");
	w = (struct wt){ monitor, WNOHANG, false };
	expect_allowed(&p, "wait4(label monitor, WNOHANG)");
	w = (struct wt){ monitor, 0, false };
	expect_allowed(&p, "wait4(label monitor, 0)");
	w = (struct wt){ other, WNOHANG, false };
	expect_killed(&p, "wait4 for a pid that is neither a helper nor the monitor");
	w = (struct wt){ -1, WNOHANG, false };
	expect_killed(&p, "wait4(-1): any child");
	w = (struct wt){ 0, WNOHANG, false };
	expect_killed(&p, "wait4(0): the process group");
	w = (struct wt){ -helper, WNOHANG, false };
	expect_killed(&p, "wait4(-pgid)");
	w = (struct wt){ helper, WNOHANG | __WALL, false };
	expect_killed(&p, "wait4(helper, WNOHANG|__WALL)");
	w = (struct wt){ helper, WNOHANG, true };
	expect_killed(&p, "wait4(helper) with a rusage");
	w = (struct wt){ helper, WNOHANG, false };
	expect_killed(&(struct probe){ .thread = SANDBOX_MAIN, .act = do_wait4, .ctx = &w }, "wait4 with no children known");
	/* kill stays bound to the helpers: the monitor is collected, never signalled. */
	{
		struct kl k = { monitor, SIGTERM };
		expect_killed(&(struct probe){ .thread = SANDBOX_MAIN, .targets = &t, .act = do_kill, .ctx = &k },
			      "kill(label monitor, SIGTERM)");
	}
	reap(helper);
	reap(monitor);
	reap(other);
}

/* ---- the jail reaper: wait4, kill and tgkill bound to its helper and itself ---- */

enum reaper_act { R_WAIT_CHILD, R_WAIT_CHILD_NOHANG, R_WAIT_OTHER, R_WAIT_ANY, R_KILL_CHILD, R_KILL_CHILD_TERM,
		  R_KILL_OTHER, R_KILL_GROUP, R_TGKILL_SELF_TRAP, R_TGKILL_SELF_USR2, R_TGKILL_OTHER };

static void do_reaper(const void *ctx)
{
	enum reaper_act a = *(const enum reaper_act *)ctx;
	pid_t self = getpid();
	int st = 0;
	long r = 0;

	switch (a) {
	case R_WAIT_CHILD: /* what jail_reap does once the helper is gone */
		kill(reaper_child, SIGKILL);
		r = waitpid(reaper_child, &st, 0) == reaper_child && WIFSIGNALED(st) ? 0 : -1;
		break;
	case R_WAIT_CHILD_NOHANG: r = waitpid(reaper_child, &st, WNOHANG); break;
	case R_WAIT_OTHER: r = waitpid(reaper_other, &st, 0); break;
	case R_WAIT_ANY: r = waitpid(-1, &st, 0); break;
	case R_KILL_CHILD: r = kill(reaper_child, SIGKILL); break;
	case R_KILL_CHILD_TERM: r = kill(reaper_child, SIGTERM); break;
	case R_KILL_OTHER: r = kill(reaper_other, SIGKILL); break;
	case R_KILL_GROUP: r = kill(0, SIGKILL); break;
	case R_TGKILL_SELF_TRAP: trapped = 0; r = syscall(SYS_tgkill, self, self, SIGTRAP); r = r == 0 && trapped ? 0 : -1; break;
	case R_TGKILL_SELF_USR2: r = syscall(SYS_tgkill, self, self, SIGUSR2); break;
	case R_TGKILL_OTHER: r = syscall(SYS_tgkill, reaper_other, reaper_other, SIGKILL); break;
	}
	if (r < 0)
		syscall(SYS_exit_group, 5);
	/* Both children die with the probe (PR_SET_PDEATHSIG). */
}

static void reaper_expect(enum reaper_act a, bool allowed, const char *what)
{
	struct probe p = { .reaper_filter = true, .act = do_reaper, .ctx = &a };

	if (allowed)
		expect_allowed(&p, what);
	else
		expect_killed(&p, what);
}

static void test_reaper(void **state)
{
	(void)state;
	reaper_expect(R_WAIT_CHILD, true, "reaper: kill(helper, SIGKILL) and wait4(helper, 0)");
	reaper_expect(R_KILL_CHILD, true, "reaper: kill(helper, SIGKILL)");
	reaper_expect(R_TGKILL_SELF_TRAP, true, "reaper: tgkill(itself, SIGTRAP) (a re-raised fatal signal)");
	reaper_expect(R_WAIT_CHILD_NOHANG, false, "reaper: wait4(helper, WNOHANG)");
	reaper_expect(R_WAIT_OTHER, false, "reaper: wait4 for another child");
	reaper_expect(R_WAIT_ANY, false, "reaper: wait4(-1)");
	reaper_expect(R_KILL_CHILD_TERM, false, "reaper: kill(helper, SIGTERM)");
	reaper_expect(R_KILL_OTHER, false, "reaper: kill(another process, SIGKILL)");
	reaper_expect(R_KILL_GROUP, false, "reaper: kill(0, SIGKILL): its process group");
	reaper_expect(R_TGKILL_SELF_USR2, false, "reaper: tgkill(itself, SIGUSR2): no helper ends of it");
	reaper_expect(R_TGKILL_OTHER, false, "reaper: tgkill(another process)");
	/* What jail_reap re-raises and what the filter lets through are one list. */
	assert_true(jail_reaper_may_raise(SIGSYS));
	assert_true(jail_reaper_may_raise(SIGKILL));
	assert_false(jail_reaper_may_raise(SIGUSR2));
	assert_false(jail_reaper_may_raise(SIGTERM));
}

/* ---- fallocate ---- */

struct fa { int fd; int mode; };

static void do_fallocate(const void *ctx)
{
	const struct fa *f = ctx;

	if (fallocate(f->fd, f->mode, 0, 4096) < 0)
		syscall(SYS_exit, 5);
}

static void check_fallocate(enum sandbox_thread th, const char *name)
{
	int fd = memfd_create("carapace-sandbox-args", MFD_CLOEXEC);
	struct fa f = { fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE };
	struct probe p = { .thread = th, .act = do_fallocate, .ctx = &f };
	char what[96];

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	snprintf(what, sizeof(what), "%s: punch hole", name);
	expect_allowed(&p, what);
	f.mode = 0;
	snprintf(what, sizeof(what), "%s: fallocate mode 0 (allocate)", name);
	expect_killed(&p, what);
	f.mode = FALLOC_FL_ZERO_RANGE;
	snprintf(what, sizeof(what), "%s: fallocate ZERO_RANGE", name);
	expect_killed(&p, what);
	f.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	close(fd);
}

static void test_fallocate(void **state)
{
	(void)state;
	check_fallocate(SANDBOX_MAIN, "main");
	check_fallocate(SANDBOX_VCPU_CC, "confidential vCPU");
}

/* ---- vCPU threads' vhost-user calls ---- */

struct sm { int fd; int flags; bool recv; bool msg; };

static void do_sock(const void *ctx)
{
	const struct sm *s = ctx;
	char byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r;

	if (s->msg)
		r = s->recv ? recvmsg(s->fd, &mh, s->flags) : sendmsg(s->fd, &mh, s->flags);
	else
		r = s->recv ? recv(s->fd, &byte, 1, s->flags) : send(s->fd, &byte, 1, s->flags);
	/* EAGAIN: nothing to read under MSG_DONTWAIT, still allowed */
	if (r < 0 && errno != EAGAIN)
		syscall(SYS_exit, 5);
}

static void test_vcpu_sockets(void **state)
{
	int helper[2], other[2];
	struct sm s;
	const struct sandbox_targets t = { .helper_socks = &helper[0], .nsocks = 1 };
	struct probe p = { .thread = SANDBOX_VCPU, .targets = &t, .act = do_sock, .ctx = &s };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, helper), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other), 0);
	s = (struct sm){ helper[0], MSG_NOSIGNAL, false, true };
	expect_allowed(&p, "vCPU sendmsg(helper socket, MSG_NOSIGNAL)");
	s = (struct sm){ helper[0], MSG_NOSIGNAL, false, false };
	expect_allowed(&p, "vCPU send(helper socket, MSG_NOSIGNAL)");
	s = (struct sm){ helper[0], MSG_CMSG_CLOEXEC | MSG_DONTWAIT, true, true };
	expect_allowed(&p, "vCPU recvmsg(helper socket, MSG_CMSG_CLOEXEC|MSG_DONTWAIT)");
	s = (struct sm){ helper[0], MSG_DONTWAIT, true, false };
	expect_allowed(&p, "vCPU recv(helper socket, MSG_DONTWAIT)");

	s = (struct sm){ other[0], MSG_NOSIGNAL, false, true };
	expect_killed(&p, "vCPU sendmsg on a socket that is no helper's");
	s = (struct sm){ other[0], MSG_DONTWAIT, true, false };
	expect_killed(&p, "vCPU recv on a socket that is no helper's");
	s = (struct sm){ helper[0], 0, false, true };
	expect_killed(&p, "vCPU sendmsg without MSG_NOSIGNAL");
	s = (struct sm){ helper[0], MSG_DONTWAIT, true, true };
	expect_killed(&p, "vCPU recvmsg without MSG_CMSG_CLOEXEC");
	s = (struct sm){ helper[0], MSG_NOSIGNAL, false, true };
	expect_killed(&(struct probe){ .thread = SANDBOX_VCPU, .act = do_sock, .ctx = &s },
		      "vCPU sendmsg with no helper socket known");
	close(helper[0]);
	close(helper[1]);
	close(other[0]);
	close(other[1]);
}

/* ---- the main thread's channels (block hot-plug): control socket, swap and back-end channels ---- */

static void test_main_channels(void **state)
{
	int chan[2], other[2];
	struct sm s;
	const struct sandbox_targets t = { .helper_socks = &chan[0], .nsocks = 1 };
	struct probe p = { .thread = SANDBOX_MAIN, .targets = &t, .act = do_sock, .ctx = &s };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other), 0);
	assert_int_equal(write(chan[1], "abcd", 4), 4); /* something to read without blocking */
	s = (struct sm){ chan[0], MSG_CMSG_CLOEXEC, true, true };
	expect_allowed(&p, "main recvmsg(channel, MSG_CMSG_CLOEXEC): a control request with its fd");
	s = (struct sm){ chan[0], MSG_CMSG_CLOEXEC | MSG_DONTWAIT, true, true };
	expect_allowed(&p, "main recvmsg(channel, MSG_CMSG_CLOEXEC|MSG_DONTWAIT): a back-end request");
	s = (struct sm){ chan[0], MSG_DONTWAIT, true, false };
	expect_allowed(&p, "main recv(channel, MSG_DONTWAIT): the swap answer");
	s = (struct sm){ chan[0], MSG_NOSIGNAL, false, true };
	expect_allowed(&p, "main sendmsg(channel, MSG_NOSIGNAL): a file to the blk helper");

	s = (struct sm){ other[0], MSG_CMSG_CLOEXEC | MSG_DONTWAIT, true, true };
	expect_killed(&p, "main recvmsg on a socket that is no channel");
	s = (struct sm){ other[0], MSG_NOSIGNAL, false, true };
	expect_killed(&p, "main sendmsg on a socket that is no channel");
	s = (struct sm){ chan[0], MSG_DONTWAIT, true, true };
	expect_killed(&p, "main recvmsg without MSG_CMSG_CLOEXEC");
	s = (struct sm){ chan[0], 0, false, true };
	expect_killed(&p, "main sendmsg without MSG_NOSIGNAL");
	close(chan[0]);
	close(chan[1]);
	close(other[0]);
	close(other[1]);
}

/* ---- the main thread's sendto: the label monitor's socket and its channels, MSG_NOSIGNAL ---- */

static void test_main_sendto(void **state)
{
	int mon[2], chan[2], other[2];
	struct sm s;
	const struct sandbox_targets t = { .helper_socks = &chan[0], .nsocks = 1, .monitor_socks = &mon[0],
					   .nmonitor_socks = 1 };
	struct probe p = { .thread = SANDBOX_MAIN, .targets = &t, .act = do_sock, .ctx = &s };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mon), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other), 0);
	s = (struct sm){ mon[0], MSG_NOSIGNAL, false, false };
	expect_allowed(&p, "main send(label monitor socket, MSG_NOSIGNAL): RESTORE");
	s = (struct sm){ chan[0], MSG_NOSIGNAL, false, false };
	expect_allowed(&p, "main send(channel, MSG_NOSIGNAL): the rest of a short sendmsg");

	s = (struct sm){ other[0], MSG_NOSIGNAL, false, false };
	expect_killed(&p, "main send on a socket that is neither the monitor's nor a channel");
	s = (struct sm){ mon[0], 0, false, false };
	expect_killed(&p, "main send to the label monitor without MSG_NOSIGNAL");
	s = (struct sm){ mon[0], MSG_NOSIGNAL | MSG_DONTWAIT, false, false };
	expect_killed(&p, "main send to the label monitor with other flags");
	s = (struct sm){ chan[0], 0, false, false };
	expect_killed(&p, "main send on a channel without MSG_NOSIGNAL");
	s = (struct sm){ mon[0], MSG_NOSIGNAL, false, true };
	expect_killed(&p, "main sendmsg to the label monitor (sendto only)");
	s = (struct sm){ mon[0], MSG_NOSIGNAL, false, false };
	expect_killed(&(struct probe){ .thread = SANDBOX_MAIN, .targets = &(const struct sandbox_targets){ 0 },
				       .act = do_sock, .ctx = &s },
		      "main send with no monitor socket known");
	close(mon[0]);
	close(mon[1]);
	close(chan[0]);
	close(chan[1]);
	close(other[0]);
	close(other[1]);
}

/* carapace-blk's additions for a handed-over file: fcntl only F_GETFL, lseek only SEEK_END. */
struct fl { int cmd; int whence; bool seek; };

static void do_fcntl_lseek(const void *ctx)
{
	const struct fl *f = ctx;
	int fd = 2; /* stderr: open in every probe; dup is not in the list */

	if (f->seek ? syscall(SYS_lseek, fd, 0, f->whence) < 0 && errno != ESPIPE
		    : syscall(SYS_fcntl, fd, f->cmd, 0) < 0)
		syscall(SYS_exit_group, 5);
}

static void test_blk_swap_calls(void **state)
{
	struct fl f;
	struct probe blk = { .helper_filter = true, .helper_policy = &jail_policy_blk, .act = do_fcntl_lseek, .ctx = &f };

	(void)state;
	f = (struct fl){ .cmd = F_GETFL };
	expect_allowed(&blk, "blk fcntl(F_GETFL)");
	f = (struct fl){ .cmd = F_SETFL };
	expect_killed(&blk, "blk fcntl(F_SETFL)");
	f = (struct fl){ .cmd = F_DUPFD };
	expect_killed(&blk, "blk fcntl(F_DUPFD)");
	f = (struct fl){ .seek = true, .whence = SEEK_END };
	expect_allowed(&blk, "blk lseek(SEEK_END)");
	f = (struct fl){ .seek = true, .whence = SEEK_SET };
	expect_killed(&blk, "blk lseek(SEEK_SET)");
}

/* ---- ioctl: the low 32 bits, in both kinds of filter ---- */

struct io { unsigned long req; };

static void do_ioctl(const void *ctx)
{
	const struct io *i = ctx;
	int fd = -1;

	/* An unopened fd: the call is refused by the kernel (EBADF), not by the filter. */
	if (syscall(SYS_ioctl, fd, i->req, 0) == 0)
		syscall(SYS_exit, 5);
}

static void test_ioctl_low_32_bits(void **state)
{
	struct io i;
	struct probe vcpu = { .thread = SANDBOX_VCPU, .act = do_ioctl, .ctx = &i };
	struct probe helper = { .helper_filter = true, .act = do_ioctl, .ctx = &i };

	(void)state;
	i.req = KVM_RUN;
	expect_allowed(&vcpu, "vCPU ioctl(KVM_RUN)");
	/* The kernel takes an unsigned int: the upper half is not part of the request. */
	i.req = (unsigned long)KVM_RUN | (1ul << 32);
	expect_allowed(&vcpu, "vCPU ioctl(KVM_RUN with the upper 32 bits set)");
	i.req = KVM_RUN + 1;
	expect_killed(&vcpu, "vCPU ioctl(KVM_RUN + 1)");
	i.req = KVM_CREATE_VCPU;
	expect_killed(&vcpu, "vCPU ioctl(KVM_CREATE_VCPU)");

	i.req = FIONBIO;
	expect_allowed(&helper, "helper ioctl(FIONBIO)");
	i.req = (unsigned long)FIONBIO | (1ul << 32);
	expect_allowed(&helper, "helper ioctl(FIONBIO with the upper 32 bits set)");
	i.req = FIOCLEX;
	expect_killed(&helper, "helper ioctl(FIOCLEX)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tgkill),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_main_wait4),
		cmocka_unit_test(test_reaper),
		cmocka_unit_test(test_fallocate),
		cmocka_unit_test(test_vcpu_sockets),
		cmocka_unit_test(test_main_channels),
		cmocka_unit_test(test_main_sendto),
		cmocka_unit_test(test_blk_swap_calls),
		cmocka_unit_test(test_ioctl_low_32_bits),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("runner-sandbox-args", tests, NULL, NULL);
}

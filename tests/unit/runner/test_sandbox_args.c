/* runner-sandbox_args: the argument filters of the one seccomp engine (common/seccomp_engine.c)
 * hold as written. For each restricted call of the VM process's threads (runner/sandbox.c) a
 * child loads the real filter, then makes the allowed form (it must go on) or a forbidden form
 * (it must die of SIGSYS): tgkill only the kick to its own thread group, kill only the helpers'
 * pids with SIGTERM/SIGCONT/SIGKILL, fallocate only to punch, vhost-user socket calls of vCPU
 * threads only on the helpers' sockets with the front-end's flags, the main thread's only on its
 * channels (block hot-plug); carapace-blk's fcntl only F_GETFL and lseek only SEEK_END; ioctl requests compared on
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
	const struct sandbox_targets *targets;
	void (*act)(const void *ctx);
	const void *ctx;
};

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
		if (p->helper_filter) {
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
		syscall(p->helper_filter ? SYS_exit_group : SYS_exit, 0);
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
		cmocka_unit_test(test_fallocate),
		cmocka_unit_test(test_vcpu_sockets),
		cmocka_unit_test(test_main_channels),
		cmocka_unit_test(test_blk_swap_calls),
		cmocka_unit_test(test_ioctl_low_32_bits),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("runner-sandbox-args", tests, NULL, NULL);
}

/* Per-thread seccomp allowlists for the VM process. One commented line per system call, with
 * argument filters where a call is dangerous: ioctl only with the listed request numbers, mmap
 * and mprotect never with PROT_EXEC. Default action: kill the process. */
#include "runner/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runner/kvm_cc_uapi.h"

enum arg_rule { ARG_ANY, ARG_IOCTL_REQ, ARG_NO_PROT_EXEC, ARG_ARG0_EQ, ARG_ARG1_EQ };

struct sc_rule {
	const char *name;     /* system call */
	enum arg_rule arg;
	unsigned long ioctl;  /* ARG_IOCTL_REQ: the request number */
	const char *ioctl_name;
	const char *why;
};

#define ANY(n, w) { n, ARG_ANY, 0, NULL, w }
#define IOCTL(req, w) { "ioctl", ARG_IOCTL_REQ, req, #req, w }
#define NOEXEC(n, w) { n, ARG_NO_PROT_EXEC, 0, NULL, w }
#define ARG0(n, v, w) { n, ARG_ARG0_EQ, v, #v, w }
#define ARG1(n, v, w) { n, ARG_ARG1_EQ, v, #v, w }

/* vCPU threads: run the guest and handle its exits (runner/vm.c vcpu_thread, runner/exits.c). */
static const struct sc_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "enter the guest"),
	IOCTL(KVM_GET_REGS, "read RIP for the message that ends a VM"),
	IOCTL(KVM_IRQ_LINE, "raise or lower the UART interrupt after a port access"),
	ANY("write", "console output; the 'VM ended' eventfd"),
	ANY("futex", "the UART lock; glibc thread exit"),
	ANY("rt_sigreturn", "return from the kick signal's handler"),
	ANY("rt_sigprocmask", "glibc blocks signals while a thread exits"),
	ANY("madvise", "glibc releases the thread stack's pages at thread exit"),
	ANY("exit", "thread exit"),
	ANY("sendmsg", "vhost-user requests when the guest sets a device up (runner/vdev.c)"),
	ANY("recvmsg", "vhost-user replies (runner/vdev.c)"),
	ANY("recvfrom", "vhost-user reply payloads (recv)"),
	ANY("sendto", "vhost-user request payloads (send)"),
	NOEXEC("mmap", "malloc() in a thread arena for vhost-user messages (never executable)"),
	NOEXEC("mprotect", "thread arena growth (never executable)"),
	ANY("munmap", "free()"),
	ANY("brk", "malloc() when glibc's arena limit (8 per core) makes a thread share the main arena"),
	ANY("restart_syscall", "resume a wait with a timeout (futex) after SIGSTOP/SIGCONT (Ctrl-Z, freezer, debugger)"),
	ANY("clock_gettime", "the absolute deadline of a vhost-user reply when the vDSO is unavailable"),
	ANY("poll", "wait for a vhost-user reply until its deadline (runner/vdev.c)"),
	ANY("ppoll", "the same (glibc may use ppoll)"),
};

/* vCPU threads of a confidential VM: the above, plus what runner/cc/runtime.c does on their exits. */
static const struct sc_rule vcpu_cc_rules[] = {
	IOCTL(CP_KVM_SET_MEMORY_ATTRIBUTES, "private<->shared conversion (MAP_GPA_RANGE hypercall, memory faults)"),
	ANY("fallocate", "punch the shared copy of pages that became private"),
	IOCTL(KVM_SET_GSI_ROUTING, "TDX: the guest programmed the user-space IOAPIC (pins become MSI routes)"),
	IOCTL(KVM_SIGNAL_MSI, "TDX: the UART's interrupt, and level pins still high at EOI, through the IOAPIC"),
	ARG1("fcntl", F_OFD_SETLK, "SNP certificate table: shared lock while a request is served, then unlock"),
	ANY("fstat", "SNP certificate table: its size, re-read per request"),
	ANY("newfstatat", "the same (glibc's fstat)"),
	ANY("pread64", "SNP certificate table: read it"),
};

/* The TDX quote thread (runner/cc/runtime.c quote_thread): asks the quote generation service for
 * the guests' quotes, so that no vCPU thread waits on (or may even connect to) a socket. */
static const struct sc_rule quote_rules[] = {
	ARG0("socket", AF_UNIX, "a connection to the quote generation service (UNIX sockets only)"),
	ANY("connect", "to the service's socket, bind-mounted into the empty root"),
	ANY("sendto", "the GET_QUOTE request (send)"),
	ANY("recvfrom", "the service's reply (recv)"),
	ANY("poll", "the reply with a time limit, or the VM's end (its stop eventfd)"),
	ANY("ppoll", "the same (glibc may use ppoll)"),
	ANY("restart_syscall", "resume that timed poll after SIGSTOP/SIGCONT (Ctrl-Z, freezer, debugger)"),
	ANY("close", "the connection, once answered"),
	IOCTL(KVM_SIGNAL_MSI, "the guest's event-notify interrupt when its quote is in the buffer"),
	ANY("write", "a failed request's reason on stderr"),
	ANY("futex", "the request queue's lock and condition variable"),
	NOEXEC("mmap", "malloc() of the request and the quote (never executable)"),
	NOEXEC("mprotect", "thread arena growth (never executable)"),
	ANY("munmap", "free()"),
	ANY("brk", "malloc() in the main arena"),
	ANY("madvise", "glibc releases the thread stack's pages at thread exit"),
	ANY("rt_sigprocmask", "glibc blocks signals while a thread exits"),
	ANY("exit", "thread exit"),
};

/* The main thread once the vCPUs run: the event loop (runner/vm.c vm_run) and teardown
 * (stop_vcpus, vm_destroy, vm_scrub_ram). */
static const struct sc_rule main_rules[] = {
	ANY("poll", "the event loop"),
	ANY("ppoll", "the event loop (glibc may use ppoll)"),
	ANY("read", "signalfd, timerfd, eventfd and console input"),
	ANY("write", "console and messages on stderr"),
	IOCTL(KVM_IRQ_LINE, "console input raises the UART interrupt"),
	IOCTL(KVM_SIGNAL_MSI, "the same for a TD, whose IOAPIC is in user space (split irqchip)"),
	ANY("tgkill", "kick a vCPU thread out of KVM_RUN"),
	ANY("getpid", "pthread_kill() names the thread group for tgkill"),
	ANY("rt_sigprocmask", "restore the signal mask after the loop"),
	ANY("rt_sigreturn", "return from a signal handler"),
	ANY("futex", "join vCPU threads; the UART lock"),
	ANY("clock_gettime", "the join deadline when the vDSO is unavailable"),
	ANY("close", "release the VM's file descriptors at teardown"),
	ANY("munmap", "unmap kvm_run areas and guest RAM at teardown; free()"),
	NOEXEC("mmap", "malloc() of the scrubber's residency vector (never executable)"),
	NOEXEC("mprotect", "malloc() arena growth (never executable)"),
	ANY("brk", "malloc()"),
	ANY("madvise", "free()"),
	ANY("mincore", "find the resident guest pages to wipe"),
	ANY("fallocate", "punch the wiped guest RAM out of its memfd"),
	ANY("wait4", "collect a device helper that died, to report why; collect the label monitor at teardown"),
	ANY("timerfd_settime", "arm the grace timer when a helper hangs up before its process ends (no sleeping)"),
	ANY("sendto", "the label monitor's RESTORE at teardown (send with MSG_NOSIGNAL; its answer is a read)"),
	ANY("nanosleep", "teardown: a stopped helper's grace period before SIGKILL (carapace_helper_stop)"),
	ANY("clock_nanosleep", "the same (glibc's nanosleep)"),
	ANY("kill", "stop device helpers at teardown"),
	ANY("exit_group", "the end of carapace"),
	ANY("exit", "the end of a thread"),
	ANY("restart_syscall", "resume poll, a timed futex or nanosleep after SIGSTOP/SIGCONT (Ctrl-Z, freezer, debugger)"),
};

/* The management API's thread (runner/api/api_main.c api_thread): libmicrohttpd on the API's
 * UNIX socket. It opens no file and starts nothing: every such step is the controller's. */
static const struct sc_rule api_rules[] = {
	ANY("poll", "wait for the epoll set or the stop eventfd"),
	ANY("ppoll", "the same (glibc may use ppoll)"),
	ANY("epoll_wait", "libmicrohttpd's event set (MHD_USE_EPOLL)"),
	ANY("epoll_pwait", "the same (glibc may use epoll_pwait)"),
	ANY("epoll_ctl", "add and drop client connections in the event set"),
	ANY("accept4", "take a client connection on the API socket"),
	ANY("accept", "the same (older libmicrohttpd paths)"),
	ANY("recvfrom", "read a request (recv)"),
	ANY("read", "read a request; the eventfds"),
	ANY("sendto", "write a reply (send)"),
	ANY("sendmsg", "write a reply with its headers (sendmsg in libmicrohttpd)"),
	ANY("writev", "write a reply's header and body"),
	ANY("write", "the log line of a request; wake the controller (eventfd)"),
	ANY("shutdown", "end a client connection"),
	ANY("close", "release a client connection"),
	ARG1("fcntl", F_GETFL, "read a new connection's flags"),
	ARG1("fcntl", F_SETFL, "make a new connection non-blocking"),
	ARG1("fcntl", F_GETFD, "check a new connection's close-on-exec flag"),
	ARG1("fcntl", F_SETFD, "set close-on-exec on a new connection"),
	ANY("setsockopt", "libmicrohttpd's socket options on a connection (fails harmlessly on a UNIX socket)"),
	ANY("getsockopt", "libmicrohttpd reads a connection's socket options"),
	ANY("getsockname", "libmicrohttpd asks for a connection's address family"),
	ANY("futex", "the API state's lock; waiting for the controller"),
	ANY("clock_gettime", "connection time-outs and log time stamps (when the vDSO is unavailable)"),
	NOEXEC("mmap", "malloc() for request bodies and replies (never executable)"),
	NOEXEC("mprotect", "thread arena growth (never executable)"),
	ANY("munmap", "free()"),
	ANY("brk", "malloc()"),
	ANY("madvise", "free(); glibc releases the thread stack at exit"),
	ANY("rt_sigprocmask", "glibc blocks signals while the thread exits"),
	ANY("getrandom", "libmicrohttpd seeds per-connection values"),
	ANY("restart_syscall", "resume a timed epoll_wait or poll after SIGSTOP/SIGCONT (Ctrl-Z, freezer, debugger)"),
	ANY("exit", "thread exit"),
};

int sandbox_mode_parse(const char *s, enum sandbox_mode *m)
{
	if (!strcmp(s, "on") || !strcmp(s, "enforce"))
		*m = SANDBOX_ENFORCE;
	else if (!strcmp(s, "log"))
		*m = SANDBOX_LOG;
	else if (!strcmp(s, "off"))
		*m = SANDBOX_OFF;
	else
		return -EINVAL;
	return 0;
}

const char *sandbox_mode_name(enum sandbox_mode m)
{
	return m == SANDBOX_ENFORCE ? "enforce" : m == SANDBOX_LOG ? "log" : "off";
}

enum sandbox_mode sandbox_mode_default(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(CARAPACE_SANITIZED)
	return SANDBOX_LOG;
#else
	return SANDBOX_ENFORCE;
#endif
}

int sandbox_process_lockdown(struct cp_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	/* Drop every capability, bounding and ambient sets included. As an unprivileged user this
	 * is a no-op; started as root, the VM process keeps none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return cp_err_set(err, errno, "clearing ambient capabilities: %s", strerror(errno));
	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes next. */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return cp_err_set(err, errno, "dropping capability %d from the bounding set: %s", c, strerror(errno));
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return cp_err_set(err, EPERM, "dropping the effective, permitted and inheritable capabilities failed");
	/* Not dumpable: no core dumps, and other processes of the same user cannot ptrace it or read
	 * its memory through /proc. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "PR_SET_DUMPABLE: %s", strerror(errno));
	return 0;
}

static int highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int max = 2;
	if (!d)
		return 1024;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) > max)
			max = atoi(e->d_name);
	closedir(d);
	return max;
}

int sandbox_process_isolate(const char *keep_socket, char *why, size_t why_len)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	struct rlimit core = { 0, 0 }, files;
	int r;

	why[0] = '\0';
	/* rlimits first: they hold whether or not the namespaces can be made. */
	setrlimit(RLIMIT_CORE, &core);
	files.rlim_cur = files.rlim_max = (rlim_t)highest_fd() + 32;
	setrlimit(RLIMIT_NOFILE, &files);

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		snprintf(why, why_len, "unshare(user, mount namespaces): %s", strerror(errno));
		return -errno;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if ((r = cp_file_write_str("/proc/self/setgroups", "deny")) < 0 && r != -ENOENT) {
		snprintf(why, why_len, "setgroups deny: %s", strerror(-r));
		return r;
	}
	if ((r = cp_file_write_str("/proc/self/uid_map", map)) < 0) {
		snprintf(why, why_len, "uid_map: %s", strerror(-r));
		return r;
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if ((r = cp_file_write_str("/proc/self/gid_map", map)) < 0) {
		snprintf(why, why_len, "gid_map: %s", strerror(-r));
		return r;
	}
	/* An empty tmpfs becomes the root (pivot_root onto itself, the old root detached), then
	 * read-only: nothing of the host's file system is reachable by path any more. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("carapace-vm", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0755") < 0) {
		snprintf(why, why_len, "empty root: %s", strerror(errno));
		return -errno;
	}
	/* The one host path a VM may still reach: a service socket, bind-mounted into the new root. */
	if (keep_socket) {
		int fd = open("/proc" SANDBOX_KEPT_SOCKET, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0 || close(fd) < 0 || mount(keep_socket, "/proc" SANDBOX_KEPT_SOCKET, NULL, MS_BIND, NULL) < 0) {
			snprintf(why, why_len, "bind-mounting %s into the empty root: %s", keep_socket, strerror(errno));
			return -errno;
		}
	}
	if (chdir("/proc") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0 ||
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		snprintf(why, why_len, "empty root: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct sc_rule *r, struct cp_err *err)
{
	int nr = seccomp_syscall_resolve_name(r->name), rc;

	if (nr == __NR_SCMP_ERROR)
		return cp_err_set(err, EINVAL, "seccomp: unknown system call '%s'", r->name);
	switch (r->arg) {
	case ARG_ANY:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case ARG_IOCTL_REQ: /* the request is argument 1 */
	case ARG_ARG0_EQ:
	case ARG_ARG1_EQ:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				      (struct scmp_arg_cmp){ .arg = r->arg == ARG_ARG0_EQ ? 0 : 1, .op = SCMP_CMP_EQ,
							     .datum_a = r->ioctl, .datum_b = 0 });
		break;
	case ARG_NO_PROT_EXEC:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				      (struct scmp_arg_cmp){ .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 });
		break;
	default:
		rc = -EINVAL;
	}
	if (rc < 0)
		return cp_err_set(err, -rc, "seccomp: adding '%s': %s", r->name, strerror(-rc));
	return 0;
}

static void table(enum sandbox_thread which, const struct sc_rule **rules, size_t *n)
{
	if (which == SANDBOX_QUOTE) {
		*rules = quote_rules;
		*n = ARRAY_SIZE(quote_rules);
	} else if (which == SANDBOX_VCPU || which == SANDBOX_VCPU_CC) {
		*rules = vcpu_rules;
		*n = ARRAY_SIZE(vcpu_rules);
	} else if (which == SANDBOX_API) {
		*rules = api_rules;
		*n = ARRAY_SIZE(api_rules);
	} else {
		*rules = main_rules;
		*n = ARRAY_SIZE(main_rules);
	}
}

int sandbox_thread_apply(enum sandbox_thread which, enum sandbox_mode mode, struct cp_err *err)
{
	const struct sc_rule *rules;
	scmp_filter_ctx ctx;
	size_t n;
	int rc;

	if (mode == SANDBOX_OFF)
		return 0;
	table(which, &rules, &n);
	ctx = seccomp_init(mode == SANDBOX_ENFORCE ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_LOG);
	if (!ctx)
		return cp_err_set(err, ENOMEM, "seccomp_init failed");
	for (size_t i = 0; i < n; i++)
		if ((rc = add_rule(ctx, &rules[i], err)) < 0) {
			seccomp_release(ctx);
			return rc;
		}
	for (size_t i = 0; which == SANDBOX_VCPU_CC && i < ARRAY_SIZE(vcpu_cc_rules); i++)
		if ((rc = add_rule(ctx, &vcpu_cc_rules[i], err)) < 0) {
			seccomp_release(ctx);
			return rc;
		}
	/* The hot path of a vCPU is ioctl(KVM_RUN) then write(): test those first. */
	(void)seccomp_syscall_priority(ctx, SCMP_SYS(ioctl), 255);
	(void)seccomp_syscall_priority(ctx, SCMP_SYS(write), 254);
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return cp_err_set(err, -rc, "loading the %s seccomp filter: %s",
				  which == SANDBOX_MAIN ? "main-thread" : which == SANDBOX_QUOTE ? "quote-thread" : which == SANDBOX_API ? "API-thread" : "vCPU",
				  strerror(-rc));
	return 0;
}

static void print_table(FILE *out, const char *title, const struct sc_rule *r, size_t n)
{
	fprintf(out, "### %s\n\n| system call | argument filter | why |\n|---|---|---|\n", title);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "| `%s` | %s%s%s | %s |\n", r[i].name,
			r[i].arg == ARG_IOCTL_REQ ? "request = `" : r[i].arg == ARG_ARG0_EQ ? "argument 0 = `"
			: r[i].arg == ARG_ARG1_EQ ? "argument 1 = `" : r[i].arg == ARG_NO_PROT_EXEC ? "no `PROT_EXEC`" : "—",
			r[i].arg != ARG_ANY && r[i].arg != ARG_NO_PROT_EXEC ? r[i].ioctl_name : "",
			r[i].arg != ARG_ANY && r[i].arg != ARG_NO_PROT_EXEC ? "`" : "", r[i].why);
	fprintf(out, "\n");
}

void sandbox_print_policy(FILE *out)
{
	print_table(out, "vCPU threads (`vcpu<N>`)", vcpu_rules, ARRAY_SIZE(vcpu_rules));
	print_table(out, "vCPU threads of a confidential VM: in addition", vcpu_cc_rules, ARRAY_SIZE(vcpu_cc_rules));
	print_table(out, "main thread (event loop and teardown)", main_rules, ARRAY_SIZE(main_rules));
	print_table(out, "TDX quote thread (`cc-quote`, only with a quote service)", quote_rules, ARRAY_SIZE(quote_rules));
	print_table(out, "management API thread (`fc_api`, `carapace run --api-sock`)", api_rules, ARRAY_SIZE(api_rules));
}

/* Per-thread seccomp allowlists for the VM process, loaded through the one engine
 * (common/seccomp_engine.c) on top of its base. One commented line per system call, with
 * argument filters where a call is dangerous: ioctl only with the listed request numbers, mmap
 * and mprotect never with PROT_EXEC, tgkill only the kick to this process, kill only to the
 * helpers, wait4 only for the helpers and the label monitor, fallocate only to punch, vhost-user calls only on the helpers' sockets,
 * the main thread's sendto only on those and the label monitor's socket. Default
 * action: kill the process. */
#include "runner/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/kvm.h>
#include <linux/falloc.h>
#include <signal.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/seccomp_engine.h"
#include "common/util.h"
#include "label/label_monitor.h"
#include "runner/kvm_cc_uapi.h"

/* ioctl only with the listed request (its low 32 bits, as the kernel reads an unsigned int). */
#define IOCTL(req, w) { "ioctl", SCE_F_IOCTL_AS(req, #req), w }
#define ANY(n, w) { n, SCE_F_ANY, w }
#define ARG1(n, v, w) { n, SCE_F_ARG32(1, "argument 1 = `" #v "`", v), w }
#define ARG0(n, v, w) { n, SCE_F_ARG32(0, "argument 0 = `" #v "`", v), w }
/* A call on one of the helpers' vhost-user sockets only (the fds known when the filter loads),
 * with exactly the flags runner/vdev.c's front-end passes (devices/vhost/io.c). */
#define ON_HELPER_SOCKET(n, flags_arg, text, w, ...)                                               \
	{ n, "fd: a helper's vhost-user socket; flags " text,                                      \
	  { { 0, SCE_TARGET_FDS, { 0 }, 0 },                                                       \
	    { flags_arg, SCE_EQ32, { __VA_ARGS__ }, sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t) } }, \
	  w }

/* The main thread's channels: the helpers' vhost-user sockets, blk's swap channels, the
 * back-end channels and the API's control socket (the fds known when the filter loads). */
#define ON_CHANNEL(n, flags_arg, text, w, ...)                                                      \
	{ n, "fd: a helper's vhost-user socket, swap or back-end channel, or the API's control socket; flags " text, \
	  { { 0, SCE_TARGET_FDS, { 0 }, 0 },                                                       \
	    { flags_arg, SCE_EQ32, { __VA_ARGS__ }, sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t) } }, \
	  w }

/* vCPU threads: run the guest and handle its exits (runner/vm.c vcpu_thread, runner/exits.c). */
static const struct sce_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "enter the guest"),
	IOCTL(KVM_GET_REGS, "read RIP for the message that ends a VM"),
	IOCTL(KVM_IRQ_LINE, "raise or lower the UART interrupt after a port access"),
	ANY("write", "console output; the 'VM ended' eventfd"),
	ANY("futex", "the UART lock; glibc thread exit"),
	ANY("rt_sigreturn", "return from the kick signal's handler"),
	ANY("rt_sigprocmask", "glibc blocks signals while a thread exits"),
	ANY("madvise", "glibc releases the thread stack's pages at thread exit"),
	ANY("exit", "thread exit"),
	/* The guest sets a device up from a vCPU (feature and ring registers), so these threads
	 * speak vhost-user to the helpers; they may not reach any other socket, nor wait without
	 * the reply deadline's MSG_DONTWAIT. */
	ON_HELPER_SOCKET("sendmsg", 2, "`MSG_NOSIGNAL`", "vhost-user requests when the guest sets a device up (runner/vdev.c)",
			 MSG_NOSIGNAL),
	ON_HELPER_SOCKET("recvmsg", 2, "`MSG_CMSG_CLOEXEC\\|MSG_DONTWAIT` or `MSG_CMSG_CLOEXEC\\|MSG_WAITALL`",
			 "vhost-user replies (runner/vdev.c)", MSG_CMSG_CLOEXEC | MSG_DONTWAIT,
			 MSG_CMSG_CLOEXEC | MSG_WAITALL),
	ON_HELPER_SOCKET("recvfrom", 3, "`MSG_DONTWAIT` or `MSG_WAITALL`", "vhost-user reply payloads (recv)", MSG_DONTWAIT,
			 MSG_WAITALL),
	ON_HELPER_SOCKET("sendto", 3, "`MSG_NOSIGNAL`", "vhost-user request payloads (send)", MSG_NOSIGNAL),
	ANY("clock_gettime", "the absolute deadline of a vhost-user reply when the vDSO is unavailable"),
	ANY("poll", "wait for a vhost-user reply until its deadline (runner/vdev.c)"),
	ANY("ppoll", "the same (glibc may use ppoll)"),
};

/* fallocate only to punch pages out of a memfd / guest_memfd, keeping its size. */
#define PUNCH(w) { "fallocate", SCE_F_ARG32(1, "mode `PUNCH_HOLE\\|KEEP_SIZE` only", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), w }

/* vCPU threads of a confidential VM: the above, plus what runner/cc/runtime.c does on their exits. */
static const struct sce_rule vcpu_cc_rules[] = {
	IOCTL(CP_KVM_SET_MEMORY_ATTRIBUTES, "private<->shared conversion (MAP_GPA_RANGE hypercall, memory faults)"),
	PUNCH("punch the shared copy of pages that became private"),
	IOCTL(KVM_SET_GSI_ROUTING, "TDX: the guest programmed the user-space IOAPIC (pins become MSI routes)"),
	IOCTL(KVM_SIGNAL_MSI, "TDX: the UART's interrupt, and level pins still high at EOI, through the IOAPIC"),
	ARG1("fcntl", F_OFD_SETLK, "SNP certificate table: shared lock while a request is served, then unlock"),
	ANY("fstat", "SNP certificate table: its size, re-read per request"),
	ANY("newfstatat", "the same (glibc's fstat)"),
	ANY("pread64", "SNP certificate table: read it"),
};

/* The TDX quote thread (runner/cc/runtime.c quote_thread): asks the quote generation service for
 * the guests' quotes, so that no vCPU thread waits on (or may even connect to) a socket. */
static const struct sce_rule quote_rules[] = {
	ARG0("socket", AF_UNIX, "a connection to the quote generation service (UNIX sockets only)"),
	ANY("connect", "to the service's socket, bind-mounted into the empty root"),
	ANY("sendto", "the GET_QUOTE request (send)"),
	ANY("recvfrom", "the service's reply (recv)"),
	ANY("poll", "the reply with a time limit, or the VM's end (its stop eventfd)"),
	ANY("ppoll", "the same (glibc may use ppoll)"),
	ANY("close", "the connection, once answered"),
	IOCTL(KVM_SIGNAL_MSI, "the guest's event-notify interrupt when its quote is in the buffer"),
	ANY("write", "a failed request's reason on stderr"),
	ANY("futex", "the request queue's lock and condition variable"),
	ANY("madvise", "glibc releases the thread stack's pages at thread exit"),
	ANY("rt_sigprocmask", "glibc blocks signals while a thread exits"),
	ANY("exit", "thread exit"),
};

/* The main thread once the vCPUs run: the event loop (runner/vm.c vm_run) and teardown
 * (stop_vcpus, vm_destroy, vm_scrub_ram). */
static const struct sce_rule main_rules[] = {
	ANY("poll", "the event loop"),
	ANY("ppoll", "the event loop (glibc may use ppoll)"),
	ANY("read", "signalfd, timerfd, eventfd and console input"),
	ANY("write", "console and messages on stderr"),
	IOCTL(KVM_IRQ_LINE, "console input raises the UART interrupt"),
	IOCTL(KVM_SIGNAL_MSI, "the same for a TD, whose IOAPIC is in user space (split irqchip)"),
	{ "tgkill", "thread group: this process; signal `SIGUSR1` (the kick) only",
	  { { 0, SCE_SELF_TGID, { 0 }, 0 }, { 2, SCE_EQ32, { SANDBOX_KICK_SIGNAL }, 1 } },
	  "kick a vCPU thread out of KVM_RUN (pthread_kill); no other thread or process, no other signal" },
	ANY("getpid", "pthread_kill() names the thread group for tgkill"),
	ANY("rt_sigprocmask", "restore the signal mask after the loop"),
	ANY("rt_sigreturn", "return from a signal handler"),
	ANY("futex", "join vCPU threads; the UART lock"),
	ANY("clock_gettime", "the join deadline when the vDSO is unavailable"),
	ANY("close", "release the VM's file descriptors at teardown"),
	ANY("madvise", "free()"),
	ANY("mincore", "find the resident guest pages to wipe"),
	PUNCH("punch the wiped guest RAM out of its memfd"),
	{ "wait4",
	  "pid: a device helper's or the label monitor's (known when the filter loads); options 0 or `WNOHANG`; no rusage",
	  { { 0, SCE_TARGET_CHILDREN, { 0 }, 0 }, { 2, SCE_EQ32, { 0, WNOHANG }, 2 }, { 3, SCE_EQ, { 0 }, 1 } },
	  "collect a device helper that died, to report why; collect the label monitor at teardown; never any other child (-1, 0, a group)" },
	ANY("timerfd_settime", "arm the grace timer when a helper hangs up before its process ends (no sleeping)"),
	{ "sendto", "fd: the label monitor's socket (known when the filter loads); flags `MSG_NOSIGNAL`",
	  { { 0, SCE_TARGET_MONITOR_FDS, { 0 }, 0 }, { 3, SCE_EQ32, { MSG_NOSIGNAL }, 1 } },
	  "the label monitor's RESTORE at teardown (send; its answer is a read); no other socket" },
	/* Block hot-plug (PATCH /drives/{id}, runner/vdev_hotplug.c): the controller's fd arrives on
	 * the control socket, goes to the blk helper's swap channel, and the helper's configuration
	 * change is read from the back-end channel and answered by GET_CONFIG on its vhost-user socket. */
	ON_CHANNEL("recvmsg", 2, "`MSG_CMSG_CLOEXEC`, `MSG_CMSG_CLOEXEC\\|MSG_DONTWAIT` or `MSG_CMSG_CLOEXEC\\|MSG_WAITALL`",
		   "a control request with its fd; a back-end request; the GET_CONFIG reply", MSG_CMSG_CLOEXEC,
		   MSG_CMSG_CLOEXEC | MSG_DONTWAIT, MSG_CMSG_CLOEXEC | MSG_WAITALL),
	ON_CHANNEL("sendmsg", 2, "`MSG_NOSIGNAL`", "a new backing file to the blk helper (SCM_RIGHTS); GET_CONFIG; a back-end request's ack",
		   MSG_NOSIGNAL),
	ON_CHANNEL("recvfrom", 3, "`MSG_DONTWAIT` or `MSG_WAITALL`", "the swap answer; the GET_CONFIG reply's payload (recv)",
		   MSG_DONTWAIT, MSG_WAITALL),
	ON_CHANNEL("sendto", 3, "`MSG_NOSIGNAL`", "the rest of a message whose sendmsg was cut short (send, devices/vhost/io.c); "
		   "the vCPU metrics record to the API's controller (send, runner/vm.c)",
		   MSG_NOSIGNAL),
	ANY("nanosleep", "teardown: a stopped helper's grace period before SIGKILL (carapace_helper_stop)"),
	ANY("clock_nanosleep", "the same (glibc's nanosleep)"),
	{ "kill", "pid: a device helper's (known when the filter loads); signal `SIGTERM`, `SIGCONT` or `SIGKILL`",
	  { { 0, SCE_TARGET_PIDS, { 0 }, 0 }, { 1, SCE_EQ32, { SIGTERM, SIGCONT, SIGKILL }, 3 } },
	  "stop device helpers at teardown: SIGTERM to the reaper (SIGCONT first wakes a stopped one), SIGKILL after the grace time" },
	ANY("exit_group", "the end of carapace"),
	ANY("exit", "the end of a thread"),
};

/* The management API's thread (runner/api/api_main.c api_thread): libmicrohttpd on the API's
 * UNIX socket. It opens no file and starts nothing: every such step is the controller's. */
static const struct sce_rule api_rules[] = {
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
	ANY("madvise", "free(); glibc releases the thread stack at exit"),
	ANY("rt_sigprocmask", "glibc blocks signals while the thread exits"),
	ANY("getrandom", "libmicrohttpd seeds per-connection values"),
	ANY("exit", "thread exit"),
};

static const struct sce_list vcpu_list = { "vcpu", vcpu_rules, ARRAY_SIZE(vcpu_rules) };
static const struct sce_list vcpu_cc_list = { "vcpu-cc", vcpu_cc_rules, ARRAY_SIZE(vcpu_cc_rules) };
static const struct sce_list quote_list = { "quote", quote_rules, ARRAY_SIZE(quote_rules) };
static const struct sce_list main_list = { "main", main_rules, ARRAY_SIZE(main_rules) };
static const struct sce_list api_list = { "api", api_rules, ARRAY_SIZE(api_rules) };

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

int sandbox_thread_apply_targets(enum sandbox_thread which, enum sandbox_mode mode, const struct sandbox_targets *t,
				 struct cp_err *err)
{
	/* The hot path of a vCPU is ioctl(KVM_RUN) then write(): tested first. */
	static const char *const hot[] = { "ioctl", "write", NULL };
	const struct sce_list *lists[3] = { &sce_list_base };
	struct sce_targets st = { 0 };
	struct sce_load_opts o = { .dflt = mode == SANDBOX_ENFORCE ? SCE_DEFAULT_KILL : SCE_DEFAULT_LOG,
				   .tsync = false, .targets = &st, .hot = hot };
	unsigned n = 1;
	int rc;

	if (mode == SANDBOX_OFF)
		return 0;
	if (t) {
		st.pids = t->helper_pids;
		st.npids = t->npids;
		st.fds = t->helper_socks;
		st.nfds = t->nsocks;
		st.children = t->children;
		st.nchildren = t->nchildren;
		st.monitor_fds = t->monitor_socks;
		st.nmonitor_fds = t->nmonitor_socks;
	}
	switch (which) {
	case SANDBOX_VCPU: lists[n++] = &vcpu_list; break;
	case SANDBOX_VCPU_CC: lists[n++] = &vcpu_list; lists[n++] = &vcpu_cc_list; break;
	case SANDBOX_MAIN: lists[n++] = &main_list; break;
	case SANDBOX_QUOTE: lists[n++] = &quote_list; break;
	case SANDBOX_API: lists[n++] = &api_list; break;
	default: return cp_err_set(err, EINVAL, "seccomp: no allowlist for thread kind %d", (int)which);
	}
	rc = sce_load(lists, n, &o, err);
	if (rc < 0)
		return cp_err_prefix(err, "loading the %s seccomp filter: ", lists[n - 1]->name);
	return 0;
}

int sandbox_thread_apply(enum sandbox_thread which, enum sandbox_mode mode, struct cp_err *err)
{
	return sandbox_thread_apply_targets(which, mode, NULL, err);
}

static void print_table(FILE *out, const char *title, const struct sce_list *l)
{
	fprintf(out, "### %s\n\n", title);
	sce_print_list(out, l);
	fprintf(out, "\n");
}

void sandbox_print_policy(FILE *out)
{
	print_table(out, "every thread: the engine's base (`common/seccomp_engine.c`, shared with the device helpers)",
		    &sce_list_base);
	print_table(out, "vCPU threads (`vcpu<N>`)", &vcpu_list);
	print_table(out, "vCPU threads of a confidential VM: in addition", &vcpu_cc_list);
	print_table(out, "main thread (event loop and teardown)", &main_list);
	print_table(out, "TDX quote thread (`cc-quote`, only with a quote service)", &quote_list);
	print_table(out, "management API thread (`fc_api`, `carapace run --api-sock`)", &api_list);
	print_table(out,
		    "label monitor (a process of its own, `label/label_monitor_filter.c`): the engine's base and this, "
		    "fd arguments bound to the fds it was forked with",
		    &lmon_seccomp_list);
}

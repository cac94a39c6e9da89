/* Jail set-up: clone into new user/pid/mount/ipc/uts(/net) namespaces, map ids, pivot_root into
 * an empty tmpfs, drop every capability, rlimits, cgroup leaf, no_new_privs, then seccomp. */
#include "devices/jail/jail.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

static int jail_write_file(const char *path, const char *text, struct cp_err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return cp_err_set(err, errno, "open %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		return cp_err_set(err, errno, "write \"%s\" to %s: %s", text, path, strerror(errno));
	return 0;
}

/* ---- cgroup v2 leaf (outer process) ---- */

int jail_cgroup_root(char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - cgroup2 ");
		char mnt[512];

		if (!sep)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 && strlen(mnt) < len) {
			strcpy(out, mnt);
			return 0;
		}
	}
	return -ENOENT;
}

int jail_cgroup_self(char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line + 3) >= len)
				return -ENAMETOOLONG;
			strcpy(out, line + 3);
			return 0;
		}
	}
	return -ENOENT;
}

int jail_cgroup_parent(char *out, size_t len)
{
	char root[512], self[512];
	int r;

	if ((r = jail_cgroup_root(root, sizeof(root))) < 0 || (r = jail_cgroup_self(self, sizeof(self))) < 0)
		return r;
	r = snprintf(out, len, "%s%s", root, strcmp(self, "/") ? self : "");
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int jail_cgroup_clean_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');
		char path[PATH_MAX];
		char *end;
		long pid;

		if (strncmp(e->d_name, "carapace-", 9) || !dot || dot[1] == '\0')
			continue;
		errno = 0;
		pid = strtol(dot + 1, &end, 10);
		if (*end || errno || pid <= 0 || pid > INT_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its owner lives (or is not ours to ask about) */
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (rmdir(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Create the leaf and set limits where the controllers exist. Returns 1 with leaf filled,
 * 0 when cgroup v2 is not usable (message logged: the jail goes on without it). */
static int jail_cgroup_prepare(const struct jail_config *cfg, char *leaf, size_t len)
{
	char root[512], self[512], path[PATH_MAX], ctrl[256] = "";
	struct cp_err e = { 0 };
	int r;

	if ((r = jail_cgroup_root(root, sizeof(root))) < 0) {
		cp_warn("jail: no cgroup v2 mount found (%s): no memory/pids limits for %s", strerror(-r), cfg->name);
		return 0;
	}
	if ((r = jail_cgroup_self(self, sizeof(self))) < 0) {
		cp_warn("jail: own cgroup v2 path unknown (%s): no memory/pids limits", strerror(-r));
		return 0;
	}
	snprintf(leaf, len, "%s%s", root, strcmp(self, "/") ? self : "");
	/* Leaves whose owner died without removing them (issue 18 item 11). */
	(void)jail_cgroup_clean_stale(leaf);
	snprintf(leaf, len, "%s%s/carapace-%s.%d", root, strcmp(self, "/") ? self : "", cfg->name, (int)getpid());
	if (mkdir(leaf, 0755) < 0) {
		cp_warn("jail: cannot create cgroup v2 leaf %s (%s): cgroup v2 is not writable here; no memory/pids limits",
			leaf, strerror(errno));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", leaf);
	{
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		if (f && !fgets(ctrl, sizeof(ctrl), f))
			ctrl[0] = '\0';
	}
	ctrl[strcspn(ctrl, "\n")] = '\0';
	if (strstr(ctrl, "memory")) {
		char v[32];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->memory_max);
		snprintf(path, sizeof(path), "%s/memory.max", leaf);
		if (jail_write_file(path, v, &e) < 0)
			cp_warn("jail: %s", e.msg);
	}
	if (strstr(ctrl, "pids")) {
		char v[32];
		cp_err_clear(&e);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->pids_max);
		snprintf(path, sizeof(path), "%s/pids.max", leaf);
		if (jail_write_file(path, v, &e) < 0)
			cp_warn("jail: %s", e.msg);
	}
	/* One line for what is missing (a hybrid cgroup v1/v2 host lacks both). */
	if (!strstr(ctrl, "memory") || !strstr(ctrl, "pids"))
		cp_warn("jail: cgroup v2 leaf %s lacks the %s controller%s (available: \"%s\"): %s", leaf,
			!strstr(ctrl, "memory") && !strstr(ctrl, "pids") ? "memory and pids" : !strstr(ctrl, "memory") ? "memory" : "pids",
			!strstr(ctrl, "memory") && !strstr(ctrl, "pids") ? "s" : "", ctrl,
			!strstr(ctrl, "memory") && !strstr(ctrl, "pids") ? "memory not limited, processes limited by RLIMIT_NPROC only"
			: !strstr(ctrl, "memory") ? "memory not limited" : "processes limited by RLIMIT_NPROC only");
	return 1;
}

/* ---- outer process: map ids, release the child, reap it ---- */

static volatile pid_t jail_child_pid;

/* The helper is pid 1 of its namespace, and such an init ignores signals it has no handler
 * for; it has nothing to flush (writes are synchronous, FLUSH is the guest's), so stop = kill. */
static void jail_forward_signal(int sig)
{
	if (jail_child_pid > 0)
		kill(jail_child_pid, SIGKILL);
}

static int jail_map_ids(pid_t child, struct cp_err *err)
{
	char path[64], map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int r;

	/* As root, the jailed helper is "nobody" outside; otherwise it stays the caller. */
	if (uid == 0) {
		uid = 65534;
		gid = 65534;
	} else {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)child);
		if ((r = jail_write_file(path, "deny", err)) < 0)
			return r;
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if ((r = jail_write_file(path, map, err)) < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)child);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	return jail_write_file(path, map, err);
}

void jail_exit_now(int code)
{
#if defined(__x86_64__)
	/* Inline, because a sanitizer runtime may wrap even syscall(3) with its own calls. */
	for (;;)
		__asm__ volatile("syscall" : : "a"((long)SYS_exit_group), "D"((long)code) : "rcx", "r11", "memory");
#else
	for (;;)
		syscall(SYS_exit_group, code);
#endif
}

static void jail_reap(pid_t child, const char *leaf, const char *cleanup)
{
	struct sigaction sa = { .sa_handler = jail_forward_signal };
	int status = 0;

	struct cp_err err = { 0 };

	jail_child_pid = child;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* The reaper is outside every namespace: give it only what reaping takes. Started as root
	 * it keeps CAP_KILL (the helper runs as "nobody" outside, and a stop is forwarded to it) and
	 * CAP_DAC_OVERRIDE (the leaf and the socket may sit in directories root does not own), and
	 * nothing else, bounding set included (issue 18 item 10). */
	if (geteuid() == 0) {
		capng_clear(CAPNG_SELECT_BOTH);
		capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, CAP_KILL, CAP_DAC_OVERRIDE, -1);
		if (capng_apply(CAPNG_SELECT_BOTH) < 0)
			cp_warn("jail: the reaper could not drop its capabilities");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || jail_seccomp_load_reaper(child, &err) < 0)
		cp_warn("jail: reaper allowlist not loaded: %s", err.msg[0] ? err.msg : strerror(errno));
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* The leaf stays "populated" for a moment after the helper is reaped: retry briefly. */
	for (int i = 0; leaf && leaf[0] && i < 100; i++) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		if (rmdir(leaf) == 0 || errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	if (cleanup)
		unlink(cleanup);
	if (WIFEXITED(status))
		jail_exit_now(WEXITSTATUS(status));
	if (WIFSIGNALED(status) && !jail_reaper_may_raise(WTERMSIG(status)))
		jail_exit_now(128 + WTERMSIG(status)); /* not a way a jailed helper can end: never seen */
	if (WIFSIGNALED(status)) {
		struct rlimit no_core = { 0, 0 };
		int sig = WTERMSIG(status);

		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	jail_exit_now(1);
}

/* ---- jailed process ---- */

static int jail_root(const char *name, struct cp_err *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cp_err_set(err, errno, "jail: make mounts private: %s", strerror(errno));
	/* Any existing directory serves as the mount point to stack the new root on; in this
	 * private mount namespace the host's directory is not touched. */
	static const char *const stack_on[] = { "/tmp", "/run", "/mnt", "/dev" };
	const char *base = NULL;
	char procdir[32];

	for (size_t i = 0; i < ARRAY_SIZE(stack_on) && !base; i++)
		if (mount("tmpfs", stack_on[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=16k,nr_inodes=8,mode=0755") == 0)
			base = stack_on[i];
	if (!base)
		return cp_err_set(err, errno, "jail: mount tmpfs for the new root (tried /tmp, /run, /mnt, /dev): %s",
				  strerror(errno));
	snprintf(procdir, sizeof(procdir), "%s/proc", base);
	if (mkdir(procdir, 0555) < 0)
		return cp_err_set(err, errno, "jail: mkdir proc: %s", strerror(errno));
	/* Our own pid namespace's proc, pid entries only: the helper sees itself and nothing else. */
	if (mount("proc", procdir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
		  "subset=pid,hidepid=invisible") < 0) {
		cp_warn("jail: proc without subset=pid (kernel older than 5.8?): /proc/sys and friends stay readable");
		if (mount("proc", procdir, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
			return cp_err_set(err, errno, "jail: mount proc: %s", strerror(errno));
	}
	if (chdir(base) < 0)
		return cp_err_set(err, errno, "jail: chdir new root: %s", strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cp_err_set(err, errno, "jail: pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return cp_err_set(err, errno, "jail: detach the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		return cp_err_set(err, errno, "jail: chdir /: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return cp_err_set(err, errno, "jail: remount the new root read-only: %s", strerror(errno));
	if (sethostname(name, strlen(name)) < 0)
		return cp_err_set(err, errno, "jail: sethostname: %s", strerror(errno));
	return 0;
}

static int jail_close_fds(const struct jail_config *cfg, struct cp_err *err)
{
	int keep[64];
	int r;

	if (cfg->nkeep > ARRAY_SIZE(keep))
		return cp_err_set(err, E2BIG, "jail: %u fds to keep, at most %zu", cfg->nkeep, ARRAY_SIZE(keep));
	memcpy(keep, cfg->keep_fds, cfg->nkeep * sizeof(keep[0]));
	if ((r = cp_close_fds_except(keep, cfg->nkeep)) < 0)
		return cp_err_set(err, -r, "jail: close_range: %s", strerror(-r));
	return 0;
}

static int jail_limits(const struct jail_config *cfg, struct cp_err *err)
{
	const struct {
		int res;
		rlim_t v;
		const char *name;
	} lim[] = {
		{ RLIMIT_CORE, 0, "RLIMIT_CORE" },
		{ RLIMIT_NOFILE, cfg->max_files ? cfg->max_files : 128, "RLIMIT_NOFILE" },
		{ RLIMIT_NPROC, cfg->max_threads ? cfg->max_threads : 1, "RLIMIT_NPROC" },
		{ RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
		struct rlimit rl = { lim[i].v, lim[i].v };

		if (setrlimit(lim[i].res, &rl) < 0)
			return cp_err_set(err, errno, "jail: %s: %s", lim[i].name, strerror(errno));
	}
	return 0;
}

static int jail_privileges(struct cp_err *err)
{
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL) < 0)
		return cp_err_set(err, EPERM, "jail: dropping capabilities (effective, permitted, inheritable, bounding, ambient) failed");
	if (capng_get_caps_process() < 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		return cp_err_set(err, EPERM, "jail: capabilities remain after dropping them");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "jail: PR_SET_DUMPABLE: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "jail: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}

static int jail_finish(const struct jail_config *cfg, struct cp_err *err)
{
	int r;

	if ((r = jail_close_fds(cfg, err)) < 0 || (r = jail_limits(cfg, err)) < 0)
		return r;
	if (!cfg->no_jail) {
		if ((r = jail_privileges(err)) < 0)
			return r;
	} else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		return cp_err_set(err, errno, "jail: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	}
	if (cfg->before_seccomp)
		cfg->before_seccomp();
	if (cfg->prepare && (r = cfg->prepare(cfg->prepare_arg, err)) < 0)
		return r;
	return jail_seccomp_load(cfg->policy, err);
}

int jail_enter(const struct jail_config *cfg, struct cp_err *err)
{
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	char leaf[PATH_MAX] = "";
	int go[2], r;
	pid_t child;
	char byte;

	if (cfg->no_jail) {
		cp_warn("*** --no-jail: %s runs WITHOUT namespaces, private root or cgroup; seccomp and rlimits only. "
			"This mode exists for tests on hosts without user namespaces. ***", cfg->name);
		return jail_finish(cfg, err);
	}
	if (!cfg->keep_network)
		flags |= CLONE_NEWNET;
	if (jail_cgroup_prepare(cfg, leaf, sizeof(leaf)) == 0)
		leaf[0] = '\0';
	if (pipe2(go, O_CLOEXEC) < 0)
		return cp_err_set(err, errno, "jail: pipe: %s", strerror(errno));
	fflush(NULL);
	child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0) {
		r = errno;
		close(go[0]);
		close(go[1]);
		if (leaf[0])
			rmdir(leaf);
		if (r == EPERM || r == EINVAL || r == ENOSPC || r == EUSERS)
			return cp_err_set(err, r, "jail: cannot create user/pid/mount namespaces (%s): unprivileged user namespaces "
					  "are unavailable here; refusing to run unjailed (tests may pass --no-jail)", strerror(r));
		return cp_err_set(err, r, "jail: clone into new namespaces: %s", strerror(r));
	}
	if (child > 0) {
		struct cp_err e = { 0 };

		close(go[0]);
		if (jail_map_ids(child, &e) == 0 && leaf[0]) {
			char path[PATH_MAX + 16], pid[16];

			snprintf(path, sizeof(path), "%s/cgroup.procs", leaf);
			snprintf(pid, sizeof(pid), "%d", (int)child);
			if (jail_write_file(path, pid, &e) < 0) {
				cp_warn("jail: %s; the helper runs outside its cgroup leaf", e.msg);
				cp_err_clear(&e);
			}
		}
		if (e.code) {
			cp_err("%s", e.msg);
			kill(child, SIGKILL);
		} else if (write(go[1], "g", 1) != 1) {
			kill(child, SIGKILL);
		}
		close(go[1]);
		/* The reaper keeps nothing of the helper's: no socket, no image, no guest memory. */
		close_range(3, UINT_MAX, 0);
		jail_reap(child, leaf, cfg->cleanup_path);
		return -EINVAL; /* not reached: jail_reap leaves */
	}

	/* Jailed process: wait for the id maps, then build the jail from the inside. */
	close(go[1]);
	if (read(go[0], &byte, 1) != 1)
		_exit(1); /* the outer process failed or died: never run unjailed */
	close(go[0]);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return cp_err_set(err, errno, "jail: become the namespace's root: %s", strerror(errno));
	(void)setgroups(0, NULL); /* refused when "deny" was written: then no groups were mapped anyway */
	/* After the id change: the kernel clears the parent-death signal when credentials change
	 * (commit_creds), so set earlier it would be lost and a killed reaper would leave the helper
	 * running with guest memory mapped. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "jail: PR_SET_PDEATHSIG: %s", strerror(errno));
	if (unshare(CLONE_NEWCGROUP) < 0)
		return cp_err_set(err, errno, "jail: cgroup namespace: %s", strerror(errno));
	if ((r = jail_root(cfg->name, err)) < 0)
		return r;
	return jail_finish(cfg, err);
}

/* The jail every device helper (and, later, other runner children) puts itself in before it
 * reads untrusted input: namespaces, an empty read-only root, no privileges, rlimits, a cgroup
 * leaf and a seccomp allowlist. OS shell only; what it enforces is listed in docs/devices.md. */
#ifndef CARAPACE_DEVICES_JAIL_JAIL_H
#define CARAPACE_DEVICES_JAIL_JAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/jail/seccomp.h"

struct jail_config {
	const char *name;                 /* "blk": hostname, cgroup leaf, messages */
	const struct sce_list *policy;    /* added to the bases (common/seccomp_engine.c, seccomp_base.c) */
	bool keep_network;                /* true only for carapace-net: no new network namespace */
	bool no_jail;                     /* tests only, loud: skip namespaces/root/cgroup */
	const int *keep_fds;              /* fds that survive (stdin/stdout/stderr always do) */
	unsigned nkeep;
	unsigned max_files;               /* RLIMIT_NOFILE */
	unsigned max_threads;             /* RLIMIT_NPROC counts threads: 1 + worker threads */
	uint64_t memory_max;              /* cgroup memory.max, bytes */
	uint64_t pids_max;                /* cgroup pids.max */
	const char *cleanup_path;         /* unlinked by the outer process when the helper ends */
	void (*before_seccomp)(void);     /* test hook (only set in CARAPACE_TEST_HOOKS builds) */
	/* Runs in the jailed process just before the filter loads: start threads here, since
	 * the filter forbids creating any (it is applied to all threads at once, TSYNC). */
	int (*prepare)(void *arg, struct cp_err *err);
	void *prepare_arg;
};

/* Enter the jail. On success returns 0 in the jailed process (pid 1 of a new pid namespace);
 * the original process stays outside as a reaper and never returns: it exits with the
 * jailed process's status (or re-raises its fatal signal). Returns -errno with a message when
 * a step fails; the caller must then exit without reading any input. */
int jail_enter(const struct jail_config *cfg, struct cp_err *err);

/* Leave now with exit_group itself: no atexit handler or sanitizer hook runs (they would make
 * calls a filter refuses). Not declared noreturn on purpose: ASan instruments calls to
 * noreturn functions with __asan_handle_no_return, which calls sigaltstack. */
void jail_exit_now(int code);

/* Where cgroup v2 (the unified hierarchy) is mounted, and this process's path in it ("/" at the
 * top); 0 or -errno. Shared with the runner's per-VM cgroup (runner/cgroup.c). */
int jail_cgroup_root(char *out, size_t len);
int jail_cgroup_self(char *out, size_t len);

/* Remove the leaves "carapace-<name>.<pid>" under dir whose process no longer exists (a crash
 * of carapace, or a reaper killed before it could remove its own). Only empty cgroups can be
 * removed, so a leaf still in use is never touched. Returns how many were removed. */
int jail_cgroup_clean_stale(const char *dir);
/* The directory leaves are made in: the cgroup v2 mount plus this process's cgroup. */
int jail_cgroup_parent(char *out, size_t len);

#endif

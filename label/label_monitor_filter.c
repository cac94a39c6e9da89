/* The label monitor's own seccomp allowlist, through the one engine (common/seccomp_engine.c):
 * what serving its request table takes once it is forked, one line per call with why. Its fd
 * arguments are bound to the fds it was forked with (its socket, the claims' directory and lock
 * files); file labels are read and written with the *_raw libselinux calls, which make exactly
 * one system call each (lgetxattr / lsetxattr: no context translation, so no mcstrans socket). */
#include "label/label_monitor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "common/cleanup.h"

#define ON_OWN_FD(n, w) { n, "fd: one it was forked with (socket, claims directory, lock files)", { { 0, SCE_TARGET_FDS, { 0 }, 0 } }, w }

static const struct sce_rule lmon_rules[] = {
	{ "recvfrom", "fd: one it was forked with; flags `MSG_TRUNC` only",
	  { { 0, SCE_TARGET_FDS, { 0 }, 0 }, { 3, SCE_EQ32, { MSG_TRUNC }, 1 } },
	  "read a request (recv, MSG_TRUNC: a longer datagram shows as too long)" },
	{ "sendto", "fd: one it was forked with; flags `MSG_NOSIGNAL` only",
	  { { 0, SCE_TARGET_FDS, { 0 }, 0 }, { 3, SCE_EQ32, { MSG_NOSIGNAL }, 1 } },
	  "answer a request (send; a VM process gone is an error, not a SIGPIPE)" },
	{ "lgetxattr", SCE_F_ANY, "read a file's label before labelling it (lgetfilecon_raw; never follows a symlink)" },
	{ "lsetxattr", SCE_F_ARG32(4, "flags 0 only", 0), "label a file, and restore its label (lsetfilecon_raw)" },
	{ "unlinkat", "dirfd: one it was forked with; flags 0",
	  { { 0, SCE_TARGET_FDS, { 0 }, 0 }, { 2, SCE_EQ32, { 0 }, 1 } },
	  "release the category pair: remove its lock file while holding the lock (label_claims_release)" },
	ON_OWN_FD("close", "drop the lock file's fd and the claims directory after the release"),
	{ "write", SCE_F_ARG32(0, "fd 2 (stderr) only", 2), "why the VM process was cut off, a failed restore in permissive mode" },
	{ "exit_group", SCE_F_ANY, "leave (_exit) once restored or cut off" },
};

const struct sce_list lmon_seccomp_list = { "label-monitor", lmon_rules, ARRAY_SIZE(lmon_rules) };

int label_monitor_confine(const int *fds, unsigned nfds, enum lmon_filter f, struct cp_err *err)
{
	const struct sce_list *set[] = { &sce_list_base, &lmon_seccomp_list };
	const struct sce_targets t = { .fds = fds, .nfds = nfds };
	const struct sce_load_opts o = { .dflt = f == LMON_FILTER_LOG ? SCE_DEFAULT_LOG : SCE_DEFAULT_KILL,
					 .targets = &t };

	if (f == LMON_FILTER_OFF)
		return 0;
	/* No exec follows, but the engine needs it without CAP_SYS_ADMIN, and nothing gained. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cp_err_set(err, errno, "label monitor: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (sce_load(set, ARRAY_SIZE(set), &o, err) < 0)
		return cp_err_prefix(err, "label monitor: ");
	return 0;
}

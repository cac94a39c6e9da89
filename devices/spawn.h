/* Starting a device helper the way the runner does: a socketpair, fork, exec with --fd and
 * only the fds the helper needs (every other fd is marked close-on-exec in the child first). */
#ifndef CARAPACE_DEVICES_SPAWN_H
#define CARAPACE_DEVICES_SPAWN_H

#include <sys/types.h>

#include "common/err.h"
#include "devices/devkinds.h"

/* Exec `path` (the helper's binary, e.g. bindir/desc->binary) with `--fd N` followed by args
 * (NULL-terminated), passing the helper's socket end and pass_fds[0..npass) across exec.
 * Returns 0 with *sock (our end, O_CLOEXEC) and *pid, or -errno. The helper jails itself
 * before reading: its first reply means it is jailed and ready. */
int carapace_helper_spawn(const struct devkind *desc, const char *path,
			  const char *const *args, const int *pass_fds, unsigned npass, int *sock,
			  pid_t *pid, struct cp_err *err);

/* The same, with a hook the child runs right before execve (the runner sets the helper's SELinux
 * exec context there); a hook that fails makes the child exit 126 without exec'ing. */
int carapace_helper_spawn_hook(const struct devkind *desc, const char *path,
			       const char *const *args, const int *pass_fds, unsigned npass,
			       int (*before_exec)(void *ctx), void *ctx, int *sock, pid_t *pid,
			       struct cp_err *err);

/* Stop a helper started above and collect it: SIGTERM to the reaper (which kills the jailed
 * process, removes its cgroup leaf and socket, and leaves), SIGKILL only if it has not gone
 * after grace_ms. Returns the wait status, or -errno. A SIGKILL straight away would leave the
 * reaper no chance to remove the leaf (issue 18 item 11). */
int carapace_helper_stop(pid_t pid, unsigned grace_ms);

#endif

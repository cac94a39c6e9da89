/* Seccomp allowlists of the device helpers as data: each helper keeps its own list
 * (devices/<helper>/seccomp.c), one line per system call with the reason, on top of the helper
 * base (seccomp_base.c) and the engine's base that every carapace filter shares
 * (common/seccomp_engine.c). The same lists are loaded into the kernel and rendered into
 * docs/devices.md, so they cannot drift. */
#ifndef CARAPACE_DEVICES_JAIL_SECCOMP_H
#define CARAPACE_DEVICES_JAIL_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/seccomp_engine.h"

extern const struct sce_list jail_policy_base; /* every helper: vhost-user socket, eventfds, exit */
extern const struct sce_list jail_policy_blk;
extern const struct sce_list jail_policy_rng;
extern const struct sce_list jail_policy_console;
extern const struct sce_list jail_policy_net;
extern const struct sce_list jail_policy_vsock;
extern const struct sce_list jail_policy_reaper; /* the outer process (no base of either kind) */

/* Build the engine's base + the helper base + `policy` into a filter with default action
 * KILL_PROCESS for every thread (TSYNC) and load it (needs PR_SET_NO_NEW_PRIVS first). Unknown
 * syscall names fail closed. */
int jail_seccomp_load(const struct sce_list *policy, struct cp_err *err);
/* Load the reaper's list alone, its wait4 and kill bound to `child` (the jailed helper), its
 * tgkill to itself. */
int jail_seccomp_load_reaper(pid_t child, struct cp_err *err);
/* Whether the reaper's filter lets it re-raise `sig` (what can end a jailed helper); for any
 * other signal the reaper exits with 128 + sig instead. */
bool jail_reaper_may_raise(int sig);

/* Markdown tables of the bases + every helper's rules + the reaper's (docs/devices.md is
 * checked against it). */
void jail_seccomp_doc(FILE *out);

#endif

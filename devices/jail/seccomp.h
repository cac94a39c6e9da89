/* Seccomp allowlists as data: each helper keeps its own table (devices/<helper>/seccomp.c), one
 * line per system call with the reason, on top of the shared base (seccomp_base.c). The same
 * tables are loaded into the kernel and rendered into docs/devices.md, so they cannot drift. */
#ifndef CARAPACE_DEVICES_JAIL_SECCOMP_H
#define CARAPACE_DEVICES_JAIL_SECCOMP_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/* Argument filters. Anything not matching the filter is a KILL like an unlisted call. */
enum jail_arg {
	JAIL_ARG_ANY = 0,
	JAIL_ARG_PROT_NO_EXEC,    /* mmap/mprotect: arg 2 (prot) without PROT_EXEC */
	JAIL_ARG_IOCTL_FIONBIO,   /* ioctl: arg 1 == FIONBIO only */
	JAIL_ARG_MADV_DONTNEED,   /* madvise: arg 2 == MADV_DONTNEED only */
	JAIL_ARG_MEMFD_CLOEXEC,   /* memfd_create: arg 1 == MFD_CLOEXEC */
	JAIL_ARG_FALLOC_BLK,      /* fallocate: arg 1 is PUNCH_HOLE|KEEP_SIZE or ZERO_RANGE(|KEEP_SIZE) */
	JAIL_ARG_GETRANDOM_FLAGS, /* getrandom: arg 2 == 0 (blocking, urandom pool) */
	JAIL_ARG_ACCEPT4_CLOEXEC, /* accept4: arg 3 == SOCK_CLOEXEC */
	JAIL_ARG_FSTAT_FD,        /* newfstatat: arg 3 == AT_EMPTY_PATH (an fd, never a path) */
	JAIL_ARG_SOCKET_UNIX_STREAM, /* socket: AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0 */
	JAIL_ARG_MAX
};

struct jail_rule {
	const char *syscall; /* kernel name, resolved by libseccomp */
	enum jail_arg arg;
	const char *why;
};

struct jail_policy {
	const char *name;    /* "blk" */
	const struct jail_rule *rules;
	size_t n;
};

extern const struct jail_policy jail_policy_base;
extern const struct jail_policy jail_policy_blk;
extern const struct jail_policy jail_policy_rng;
extern const struct jail_policy jail_policy_console;
extern const struct jail_policy jail_policy_net;
extern const struct jail_policy jail_policy_vsock;
extern const struct jail_policy jail_policy_reaper; /* the outer process (not combined with base) */

/* Text of an argument filter for docs ("prot without PROT_EXEC"), "" for JAIL_ARG_ANY. */
const char *jail_arg_describe(enum jail_arg a);

/* Build base + `policy` into a filter with default action KILL_PROCESS and load it (needs
 * PR_SET_NO_NEW_PRIVS first). Unknown syscall names fail closed. */
int jail_seccomp_load(const struct jail_policy *policy, struct cp_err *err);
/* Load `policy` alone (the reaper's: no base). */
int jail_seccomp_load_only(const struct jail_policy *policy, struct cp_err *err);

/* Markdown table of base + every helper's rules (docs/devices.md is checked against it). */
void jail_seccomp_doc(FILE *out);

#endif

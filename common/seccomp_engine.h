/* The one seccomp engine (libseccomp) of carapace: allowlists as data, one commented line per
 * system call with its argument filter, turned into a filter whose default kills (or logs), and
 * into the markdown tables the docs embed. The VM process's threads (runner/sandbox.c) and the
 * device helpers and their reaper (devices/jail/) build on it and share its base list. */
#ifndef CARAPACE_COMMON_SECCOMP_ENGINE_H
#define CARAPACE_COMMON_SECCOMP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"

enum sce_op {
	SCE_NONE = 0,  /* ends the comparisons of a rule */
	SCE_EQ,        /* arg == one of v[] (all 64 bits: pointers, sizes, 64-bit values) */
	SCE_EQ32,      /* arg's low 32 bits == one of v[]: an int or unsigned int parameter (an ioctl
			* request, flags, a signal, a pid): the kernel reads only those bits */
	SCE_CLEAR,     /* (arg & v[0]) == 0: none of these bits (PROT_EXEC) */
	SCE_SELF_TGID, /* low 32 bits == the caller's thread-group id, given when the filter is loaded */
	SCE_TARGET_PIDS, /* low 32 bits == one of the pids given when the filter is loaded */
	SCE_TARGET_FDS,  /* low 32 bits == one of the fds given when the filter is loaded */
	SCE_TARGET_CHILDREN, /* low 32 bits == one of the child pids the caller may wait for, given
			      * when the filter is loaded (a set apart from SCE_TARGET_PIDS: a thread
			      * may collect a process it may not signal) */
	SCE_TARGET_MONITOR_FDS, /* low 32 bits == one of the sockets to a monitor process, given when
				 * the filter is loaded (a set apart from SCE_TARGET_FDS: the calls
				 * that may reach a monitor are fewer than those reaching helpers) */
};

#define SCE_MAX_CMP 3
#define SCE_MAX_VALUES 8

struct sce_cmp {
	unsigned arg;            /* 0..5 */
	enum sce_op op;
	uint64_t v[SCE_MAX_VALUES];
	unsigned nv;             /* SCE_EQ/SCE_EQ32: how many of v[] (at least 1) */
};

/* One allowed system call: every comparison must hold (one of them may name several values,
 * each becoming a rule of its own). */
struct sce_rule {
	const char *syscall;     /* kernel name, resolved by libseccomp; unknown names fail closed */
	const char *filter;      /* the argument filter in words, for the docs ("" when none) */
	struct sce_cmp cmp[SCE_MAX_CMP];
	const char *why;
};

struct sce_list {
	const char *name;        /* "blk", "vcpu" */
	const struct sce_rule *rules;
	size_t n;
};

/* What the SCE_SELF_TGID and SCE_TARGET_* comparisons match, known when the filter is loaded.
 * A rule that needs a set that is empty is left out: nothing matches it. */
struct sce_targets {
	pid_t tgid;              /* 0: the caller's (getpid()) */
	const pid_t *pids;       /* SCE_TARGET_PIDS: whom it may signal */
	unsigned npids;
	const int *fds;          /* SCE_TARGET_FDS */
	unsigned nfds;
	const pid_t *children;   /* SCE_TARGET_CHILDREN: whom it may wait for */
	unsigned nchildren;
	const int *monitor_fds;  /* SCE_TARGET_MONITOR_FDS */
	unsigned nmonitor_fds;
};

enum sce_default { SCE_DEFAULT_KILL, SCE_DEFAULT_LOG };

struct sce_load_opts {
	enum sce_default dflt;
	bool tsync;              /* every thread of the process at once (helpers); else this thread only */
	const struct sce_targets *targets; /* may be NULL */
	const char *const *hot;  /* system calls tested first (NULL-terminated; may be NULL) */
};

/* Shorthands for the rule tables: { "name", SCE_F_..., "why" }. */
#define SCE_F_ANY "", { { 0 } }
#define SCE_F_PROT_NO_EXEC "prot without PROT_EXEC", { { 2, SCE_CLEAR, { 0x4 /* PROT_EXEC */ }, 1 } }
#define SCE_F_ARG32(argn, text, ...) text, { { argn, SCE_EQ32, { __VA_ARGS__ }, sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t) } }
#define SCE_F_IOCTL(req) SCE_F_IOCTL_AS(req, #req)
/* For wrappers, whose argument is expanded before it could be named. */
#define SCE_F_IOCTL_AS(req, name) "request = `" name "`", { { 1, SCE_EQ32, { req }, 1 } }

/* The base every filter of carapace starts from (VM-process threads and device helpers; the
 * jail's reaper keeps its own short list): memory for malloc, never executable, and resuming
 * an interrupted wait after SIGSTOP/SIGCONT. */
extern const struct sce_list sce_list_base;

/* Build the lists into one filter and load it. PR_SET_NO_NEW_PRIVS must be set first (or
 * CAP_SYS_ADMIN held). 0 or -errno with a message naming the list and call that failed. */
int sce_load(const struct sce_list *const *lists, unsigned n, const struct sce_load_opts *o,
	     struct cp_err *err);

/* One markdown table: "| system call | argument filter | why |". */
void sce_print_list(FILE *out, const struct sce_list *l);

#endif

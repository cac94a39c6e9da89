/* The outer (reaper) process's allowlist: it holds no fds and reads no input; it only waits for
 * the jailed helper, forwards a stop, cleans up and leaves with the helper's status. Its calls
 * that reach another process are bound to the one helper it started (its pid, known when the
 * filter loads) and to the signals it really sends. */
#include "devices/jail/seccomp.h"

#include <signal.h>

#include "common/cleanup.h"

/* What can end a jailed helper, and so what the reaper re-raises on itself: the helper is the
 * init of its own pid namespace, which the kernel lets die only of SIGKILL, a seccomp kill
 * (SIGSYS) or a fault it forces (force_sig_info_to_task clears SIGNAL_UNKILLABLE): SEGV, BUS, ILL,
 * FPE, TRAP. Any other signal it ignores (kernel/signal.c sig_task_ignored). */
#define REAPER_SIGNALS SIGKILL, SIGSYS, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP

static const struct sce_rule reaper_rules[] = {
	{ "wait4", "pid: the jailed helper (known when the filter loads); options 0; no rusage",
	  { { 0, SCE_TARGET_CHILDREN, { 0 }, 0 }, { 2, SCE_EQ32, { 0 }, 1 }, { 3, SCE_EQ, { 0 }, 1 } },
	  "wait for the jailed helper" },
	{ "kill", "pid: the jailed helper (known when the filter loads); signal `SIGKILL` only",
	  { { 0, SCE_TARGET_PIDS, { 0 }, 0 }, { 1, SCE_EQ32, { SIGKILL }, 1 } },
	  "forward a stop signal to the helper as SIGKILL (an init ignores what it has no handler for)" },
	{ "rt_sigreturn", SCE_F_ANY, "return from the forwarding handler" },
	{ "rmdir", SCE_F_ANY, "remove the helper's cgroup leaf" },
	{ "clock_nanosleep", SCE_F_ANY, "wait a moment while the leaf is still busy after the helper died" },
	{ "nanosleep", SCE_F_ANY, "the same, as older glibc implements it" },
	{ "unlink", SCE_F_ANY, "remove the --socket-path socket" },
	{ "prlimit64", SCE_F_ANY, "RLIMIT_CORE 0 before re-raising the helper's fatal signal" },
	{ "rt_sigaction", SCE_F_ANY, "default action for that signal" },
	{ "rt_sigprocmask", SCE_F_ANY, "unblock it" },
	{ "getpid", SCE_F_ANY, "raise(): whom to signal" },
	{ "gettid", SCE_F_ANY, "raise(): whom to signal" },
	{ "tgkill",
	  "thread group and thread: the reaper itself; signal `SIGKILL`, `SIGSYS`, `SIGSEGV`, `SIGBUS`, `SIGILL`, "
	  "`SIGFPE` or `SIGTRAP` (what can end a helper)",
	  { { 0, SCE_SELF_TGID, { 0 }, 0 }, { 1, SCE_SELF_TGID, { 0 }, 0 },
	    { 2, SCE_EQ32, { REAPER_SIGNALS }, sizeof((uint64_t[]){ REAPER_SIGNALS }) / sizeof(uint64_t) } },
	  "raise(): re-raise the helper's fatal signal on ourselves, so the runner sees how it ended" },
	{ "write", SCE_F_ANY, "a message on stderr" },
	{ "munmap", SCE_F_ANY, "libseccomp frees the filter it just loaded" },
	{ "brk", SCE_F_ANY, "libseccomp frees the filter it just loaded" },
	{ "exit_group", SCE_F_ANY, "leave with the helper's status" },
	{ "restart_syscall", SCE_F_ANY, "resume nanosleep after SIGSTOP/SIGCONT (Ctrl-Z, cgroup freezer, debugger)" },
};

const struct sce_list jail_policy_reaper = { "reaper", reaper_rules, ARRAY_SIZE(reaper_rules) };

bool jail_reaper_may_raise(int sig)
{
	static const int sigs[] = { REAPER_SIGNALS };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (sigs[i] == sig)
			return true;
	return false;
}

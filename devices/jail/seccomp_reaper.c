/* The outer (reaper) process's allowlist: it holds no fds and reads no input; it only waits for
 * the jailed helper, forwards a stop, cleans up and leaves with the helper's status. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule reaper_rules[] = {
	{ "wait4", JAIL_ARG_ANY, "wait for the jailed helper" },
	{ "kill", JAIL_ARG_ANY, "forward a stop signal to the helper as SIGKILL" },
	{ "rt_sigreturn", JAIL_ARG_ANY, "return from the forwarding handler" },
	{ "rmdir", JAIL_ARG_ANY, "remove the helper's cgroup leaf" },
	{ "clock_nanosleep", JAIL_ARG_ANY, "wait a moment while the leaf is still busy after the helper died" },
	{ "nanosleep", JAIL_ARG_ANY, "the same, as older glibc implements it" },
	{ "unlink", JAIL_ARG_ANY, "remove the --socket-path socket" },
	{ "prlimit64", JAIL_ARG_ANY, "RLIMIT_CORE 0 before re-raising the helper's fatal signal" },
	{ "rt_sigaction", JAIL_ARG_ANY, "default action for that signal" },
	{ "rt_sigprocmask", JAIL_ARG_ANY, "unblock it" },
	{ "getpid", JAIL_ARG_ANY, "raise(): whom to signal" },
	{ "gettid", JAIL_ARG_ANY, "raise(): whom to signal" },
	{ "tgkill", JAIL_ARG_ANY, "raise(): re-raise the helper's signal on ourselves" },
	{ "write", JAIL_ARG_ANY, "a message on stderr" },
	{ "munmap", JAIL_ARG_ANY, "libseccomp frees the filter it just loaded" },
	{ "brk", JAIL_ARG_ANY, "libseccomp frees the filter it just loaded" },
	{ "exit_group", JAIL_ARG_ANY, "leave with the helper's status" },
	{ "restart_syscall", JAIL_ARG_ANY, "resume nanosleep after SIGSTOP/SIGCONT (Ctrl-Z, cgroup freezer, debugger)" },
};

const struct jail_policy jail_policy_reaper = { "reaper", reaper_rules, ARRAY_SIZE(reaper_rules) };

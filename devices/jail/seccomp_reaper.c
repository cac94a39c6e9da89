/* The outer (reaper) process's allowlist: it holds no fds and reads no input; it only waits for
 * the jailed helper, forwards a stop, cleans up and leaves with the helper's status. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct sce_rule reaper_rules[] = {
	{ "wait4", SCE_F_ANY, "wait for the jailed helper" },
	{ "kill", SCE_F_ANY, "forward a stop signal to the helper as SIGKILL" },
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
	{ "tgkill", SCE_F_ANY, "raise(): re-raise the helper's signal on ourselves" },
	{ "write", SCE_F_ANY, "a message on stderr" },
	{ "munmap", SCE_F_ANY, "libseccomp frees the filter it just loaded" },
	{ "brk", SCE_F_ANY, "libseccomp frees the filter it just loaded" },
	{ "exit_group", SCE_F_ANY, "leave with the helper's status" },
	{ "restart_syscall", SCE_F_ANY, "resume nanosleep after SIGSTOP/SIGCONT (Ctrl-Z, cgroup freezer, debugger)" },
};

const struct sce_list jail_policy_reaper = { "reaper", reaper_rules, ARRAY_SIZE(reaper_rules) };

/* The system calls every jailed helper needs once its filter is loaded: the vhost-user socket,
 * eventfds, guest-memory mapping, logging to stderr and leaving. One line each, with why. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule base_rules[] = {
	{ "read", JAIL_ARG_ANY, "drain kick eventfds (and device input fds)" },
	{ "write", JAIL_ARG_ANY, "signal call/err eventfds; error messages on stderr" },
	{ "recvmsg", JAIL_ARG_ANY, "vhost-user messages with their SCM_RIGHTS fds" },
	{ "recvfrom", JAIL_ARG_ANY, "vhost-user payload bytes (recv)" },
	{ "sendmsg", JAIL_ARG_ANY, "vhost-user replies (GET_INFLIGHT_FD carries an fd)" },
	{ "sendto", JAIL_ARG_ANY, "rest of a short reply (send)" },
	{ "poll", JAIL_ARG_ANY, "wait for the socket, kick eventfds and the device fd" },
	{ "close", JAIL_ARG_ANY, "drop replaced eventfds and memory-region fds" },
	{ "ioctl", JAIL_ARG_IOCTL_FIONBIO, "make received kick eventfds non-blocking" },
	{ "newfstatat", JAIL_ARG_FSTAT_FD, "fstat() of a memory-region / in-flight fd (glibc 2.33+ form)" },
	{ "mmap", JAIL_ARG_PROT_NO_EXEC, "map guest memory regions and the in-flight region; malloc" },
	{ "munmap", JAIL_ARG_ANY, "unmap regions on SET_MEM_TABLE / REM_MEM_REG; free" },
	{ "mprotect", JAIL_ARG_PROT_NO_EXEC, "malloc arena growth (never executable)" },
	{ "madvise", JAIL_ARG_MADV_DONTNEED, "free() returning memory" },
	{ "brk", JAIL_ARG_ANY, "malloc" },
	{ "memfd_create", JAIL_ARG_MEMFD_CLOEXEC, "GET_INFLIGHT_FD: the shared in-flight tracking region" },
	{ "ftruncate", JAIL_ARG_ANY, "size the in-flight region" },
	{ "accept4", JAIL_ARG_ACCEPT4_CLOEXEC, "--socket-path: accept the one front-end connection" },
	{ "exit_group", JAIL_ARG_ANY, "leave (the only way out: single-threaded, no signal handlers)" },
	{ "restart_syscall", JAIL_ARG_ANY, "resume poll after SIGSTOP/SIGCONT (Ctrl-Z, cgroup freezer, debugger)" },
};

const struct jail_policy jail_policy_base = { "base", base_rules, ARRAY_SIZE(base_rules) };

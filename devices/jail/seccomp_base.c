/* The system calls every jailed helper needs once its filter is loaded, on top of the engine's
 * base (common/seccomp_engine.c: memory, never executable; restart_syscall): the vhost-user
 * socket, eventfds, logging to stderr and leaving. One line each, with why. */
#include "devices/jail/seccomp.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/cleanup.h"

static const struct sce_rule base_rules[] = {
	{ "read", SCE_F_ANY, "drain kick eventfds (and device input fds)" },
	{ "write", SCE_F_ANY, "signal call/err eventfds; error messages on stderr" },
	{ "recvmsg", SCE_F_ANY, "vhost-user messages with their SCM_RIGHTS fds" },
	{ "recvfrom", SCE_F_ANY, "vhost-user payload bytes (recv)" },
	{ "sendmsg", SCE_F_ANY, "vhost-user replies (GET_INFLIGHT_FD carries an fd)" },
	{ "sendto", SCE_F_ANY, "rest of a short reply (send)" },
	{ "poll", SCE_F_ANY, "wait for the socket, kick eventfds and the device fd" },
	{ "close", SCE_F_ANY, "drop replaced eventfds and memory-region fds" },
	{ "ioctl", SCE_F_IOCTL(FIONBIO), "make received kick eventfds non-blocking" },
	{ "newfstatat", SCE_F_ARG32(3, "flags `AT_EMPTY_PATH` only (an fd, never a path)", AT_EMPTY_PATH), "fstat() of a memory-region / in-flight fd (glibc 2.33+ form)" },
	{ "madvise", SCE_F_ARG32(2, "advice `MADV_DONTNEED` only", MADV_DONTNEED), "free() returning memory" },
	{ "memfd_create", SCE_F_ARG32(1, "flags `MFD_CLOEXEC` only", MFD_CLOEXEC), "GET_INFLIGHT_FD: the shared in-flight tracking region" },
	{ "ftruncate", SCE_F_ANY, "size the in-flight region" },
	{ "accept4", SCE_F_ARG32(3, "flags `SOCK_CLOEXEC` only", SOCK_CLOEXEC), "--socket-path: accept the one front-end connection" },
	{ "exit_group", SCE_F_ANY, "leave (the only way out: single-threaded, no signal handlers)" },
};

const struct sce_list jail_policy_base = { "helper-base", base_rules, ARRAY_SIZE(base_rules) };

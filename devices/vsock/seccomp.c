/* carapace-vsock's system calls beyond the base (devices/jail/seccomp_base.c). Stream bytes use
 * recv/send (recvfrom/sendto in the base); accepted host sockets are made non-blocking with the
 * base's ioctl(FIONBIO); the listening socket and the epoll set exist before the jail. */
#include "devices/jail/seccomp.h"

#include <sys/socket.h>

#include "common/cleanup.h"

static const struct sce_rule vsock_rules[] = {
	{ "socket", "`AF_UNIX`, `SOCK_STREAM\\|SOCK_CLOEXEC\\|SOCK_NONBLOCK`, protocol 0 only",
	  { { 0, SCE_EQ32, { AF_UNIX }, 1 }, { 1, SCE_EQ32, { SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK }, 1 }, { 2, SCE_EQ32, { 0 }, 1 } }, "a guest connects to host port P: a UNIX socket for <uds_path>_P" },
	{ "connect", SCE_F_ANY, "reach <uds_path>_P through /proc/self/fd/<dir fd opened before the jail>" },
	{ "epoll_ctl", SCE_F_ANY, "watch the listener and each stream's socket in the one epoll set" },
	{ "epoll_wait", SCE_F_ANY, "collect ready streams (timeout 0: the event loop's poll already waited)" },
	{ "shutdown", SCE_F_ANY, "the guest's SHUTDOWN(SEND) becomes the host socket's end of stream" },
};

const struct sce_list jail_policy_vsock = { "vsock", vsock_rules, ARRAY_SIZE(vsock_rules) };

/* carapace-vsock's system calls beyond the base (devices/jail/seccomp_base.c). Stream bytes use
 * recv/send (recvfrom/sendto in the base); accepted host sockets are made non-blocking with the
 * base's ioctl(FIONBIO); the listening socket and the epoll set exist before the jail. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule vsock_rules[] = {
	{ "socket", JAIL_ARG_SOCKET_UNIX_STREAM, "a guest connects to host port P: a UNIX socket for <uds_path>_P" },
	{ "connect", JAIL_ARG_ANY, "reach <uds_path>_P through /proc/self/fd/<dir fd opened before the jail>" },
	{ "epoll_ctl", JAIL_ARG_ANY, "watch the listener and each stream's socket in the one epoll set" },
	{ "epoll_wait", JAIL_ARG_ANY, "collect ready streams (timeout 0: the event loop's poll already waited)" },
	{ "shutdown", JAIL_ARG_ANY, "the guest's SHUTDOWN(SEND) becomes the host socket's end of stream" },
};

const struct jail_policy jail_policy_vsock = { "vsock", vsock_rules, ARRAY_SIZE(vsock_rules) };

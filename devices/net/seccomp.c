/* carapace-net's system calls beyond the base (devices/jail/seccomp_base.c): frames move
 * between guest buffers and the TAP fd handed over before jailing. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule net_rules[] = {
	{ "writev", JAIL_ARG_ANY, "transmit: a guest frame to the TAP device" },
	{ "readv", JAIL_ARG_ANY, "receive: a frame from the TAP device into guest buffers" },
};

const struct jail_policy jail_policy_net = { "net", net_rules, ARRAY_SIZE(net_rules) };

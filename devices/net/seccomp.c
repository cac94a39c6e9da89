/* carapace-net's system calls beyond the base (devices/jail/seccomp_base.c): frames move
 * between guest buffers and the TAP fd handed over before jailing; receive uses read() from the base. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct sce_rule net_rules[] = {
	{ "writev", SCE_F_ANY, "transmit: a guest frame (with its virtio-net header) to the TAP device" },
};

const struct sce_list jail_policy_net = { "net", net_rules, ARRAY_SIZE(net_rules) };

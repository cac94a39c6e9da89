/* carapace-console's system calls beyond the base (devices/jail/seccomp_base.c). Output and
 * input use read/write from the base on the fd opened before jailing. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct sce_rule console_rules[] = {
	{ "writev", SCE_F_ANY, "guest output straight from its transmit buffers" },
	{ "readv", SCE_F_ANY, "host input straight into receive buffers" },
};

const struct sce_list jail_policy_console = { "console", console_rules, ARRAY_SIZE(console_rules) };

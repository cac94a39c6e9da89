/* carapace-rng's system calls beyond the base (devices/jail/seccomp_base.c). */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct sce_rule rng_rules[] = {
	{ "getrandom", SCE_F_ARG32(2, "flags 0 only", 0), "the entropy the device hands to the guest" },
};

const struct sce_list jail_policy_rng = { "rng", rng_rules, ARRAY_SIZE(rng_rules) };

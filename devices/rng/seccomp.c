/* carapace-rng's system calls beyond the base (devices/jail/seccomp_base.c). */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule rng_rules[] = {
	{ "getrandom", JAIL_ARG_GETRANDOM_FLAGS, "the entropy the device hands to the guest" },
};

const struct jail_policy jail_policy_rng = { "rng", rng_rules, ARRAY_SIZE(rng_rules) };

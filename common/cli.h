/* Exit statuses every carapace program shares. The subcommands' entry points are declared by
 * their own modules (runner/cli.h, memenc/cli.h, policy/cli.h, attest/cli.h, attest/tpm/cli.h,
 * attest/hw/cli.h): common/ names nothing above it (tests/unit/common/check_layers.py). */
#ifndef CARAPACE_COMMON_CLI_H
#define CARAPACE_COMMON_CLI_H

/* Exit statuses shared by every subcommand (documented in carapace(1)). */
enum {
	CP_EXIT_OK = 0,        /* success; for `run`: the guest asked to reset or power off */
	CP_EXIT_FAILURE = 1,   /* carapace could not do what was asked (host, I/O, verification) */
	CP_EXIT_USAGE = 2,     /* bad command line or configuration */
	CP_EXIT_GUEST = 3,     /* `run`: the guest crashed (triple fault, unhandled exit, bad MMIO) */
	CP_EXIT_TIMEOUT = 4,   /* `run`: --timeout expired */
	CP_EXIT_POLICY = 5,    /* `run`: refused by the launch policy */
};

#endif

/* Entry points of carapace's subcommands; runner/main.c dispatches to them through one table.
 * Each returns the process exit status. */
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

int runner_cli_run(int argc, char **argv);       /* runner/cli_run.c */
int runner_cli_host_info(int argc, char **argv); /* runner/cli_host_info.c */
int memenc_cli_measure(int argc, char **argv);   /* memenc/cli_measure.c */
int attest_cli_attest(int argc, char **argv);    /* attest/tpm/cli_attest.c */
int attest_cli_verify(int argc, char **argv);    /* attest/cli_verify.c */
int policy_cli(int argc, char **argv);           /* policy/cli_policy.c */

#endif

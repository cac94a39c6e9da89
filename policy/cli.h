/* Entry point of `carapace policy`; returns the process exit status (common/cli.h). */
#ifndef CARAPACE_POLICY_CLI_H
#define CARAPACE_POLICY_CLI_H
int policy_cli(int argc, char **argv); /* policy/cli_policy.c */
#endif

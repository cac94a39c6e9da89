/* Entry point of `carapace verify`, which runs carapace-verify (attest/verify_main.c dispatches
 * to attest/hw/cli.h and attest/tpm/cli.h). Returns the process exit status (common/cli.h). */
#ifndef CARAPACE_ATTEST_CLI_H
#define CARAPACE_ATTEST_CLI_H
int attest_cli_verify(int argc, char **argv); /* attest/cli_verify.c */
#endif

/* Entry points of carapace-verify snp|tdx (hardware evidence); each returns the process exit
 * status (common/cli.h). */
#ifndef CARAPACE_ATTEST_HW_CLI_H
#define CARAPACE_ATTEST_HW_CLI_H
int attest_hw_cli_verify_snp(int argc, char **argv); /* attest/hw/cli_verify_hw.c */
int attest_hw_cli_verify_tdx(int argc, char **argv); /* attest/hw/cli_verify_hw.c */
#endif

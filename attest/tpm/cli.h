/* Entry points of the TPM subcommands: `carapace attest` and carapace-verify
 * evidence|eventlog|enrol; each returns the process exit status (common/cli.h). */
#ifndef CARAPACE_ATTEST_TPM_CLI_H
#define CARAPACE_ATTEST_TPM_CLI_H
int attest_cli_attest(int argc, char **argv);              /* attest/tpm/cli_attest.c */
int attest_tpm_cli_verify_evidence(int argc, char **argv); /* attest/tpm/cli_evidence.c */
int attest_tpm_cli_verify_eventlog(int argc, char **argv); /* attest/tpm/cli_eventlog.c */
int attest_tpm_cli_verify_enrol(int argc, char **argv);    /* attest/tpm/cli_enrol.c */
#endif

/* Entry points of the attestation subcommands (attest/hw: hardware evidence, attest/tpm: TPM). */
#ifndef CARAPACE_ATTEST_CLI_H
#define CARAPACE_ATTEST_CLI_H
int attest_hw_cli_verify_snp(int argc, char **argv);       /* attest/hw/cli_verify_hw.c */
int attest_hw_cli_verify_tdx(int argc, char **argv);       /* attest/hw/cli_verify_hw.c */
int attest_tpm_cli_verify_evidence(int argc, char **argv); /* attest/tpm/cli_evidence.c */
int attest_tpm_cli_verify_eventlog(int argc, char **argv); /* attest/tpm/cli_eventlog.c */
int attest_tpm_cli_verify_enrol(int argc, char **argv);    /* attest/tpm/cli_enrol.c */
#endif

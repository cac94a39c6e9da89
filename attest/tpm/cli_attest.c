/* carapace attest / verify evidence: placeholder until the TPM evidence path lands (issue 4). */
#include "attest/cli.h"
#include "common/notyet.h"
int attest_cli_attest(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace attest'", 4); }
int attest_tpm_cli_verify_evidence(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace verify evidence'", 4); }

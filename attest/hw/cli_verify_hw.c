/* carapace verify snp|tdx: placeholder until the hardware-evidence verifiers land (issue 4). */
#include "attest/cli.h"
#include "common/notyet.h"
int attest_hw_cli_verify_snp(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace verify snp'", 4); }
int attest_hw_cli_verify_tdx(int argc, char **argv) { (void)argc; (void)argv; CP_NOT_YET("'carapace verify tdx'", 4); }

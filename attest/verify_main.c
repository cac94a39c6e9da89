/* carapace-verify: the relying party's verifier, its own program. It links OpenSSL and json-c
 * only (no TPM stack, no seccomp or SELinux library, nothing of the runner): it reads evidence
 * files and prints a verdict. `carapace verify ...` runs this program (attest/cli_verify.c). */
#include <stdio.h>
#include <string.h>

#include "attest/hw/cli.h"
#include "attest/tpm/cli.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"

struct verify_kind {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct verify_kind kinds[] = {
	{ "evidence", attest_tpm_cli_verify_evidence, "a carapace evidence bundle (TPM quote, event log, platform evidence)" },
	{ "eventlog", attest_tpm_cli_verify_eventlog, "a TCG PC Client boot event log: replayed to PCR values" },
	{ "enrol", attest_tpm_cli_verify_enrol, "enrol a host's AK by its EK certificate and credential activation" },
	{ "snp", attest_hw_cli_verify_snp, "an AMD SEV-SNP attestation report and its certificate chain" },
	{ "tdx", attest_hw_cli_verify_tdx, "an Intel TDX quote (v4/v5) and its PCK chain" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: carapace-verify KIND [OPTIONS]   (also: carapace verify KIND [OPTIONS])\n\n"
		     "Verify attestation evidence offline. Kinds:\n");
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		fprintf(out, "  %-9s %s\n", kinds[i].name, kinds[i].summary);
	fprintf(out, "\nRun 'carapace-verify KIND --help' for a kind's options. See carapace-verify(1).\n");
}

int main(int argc, char **argv)
{
	cp_log_set_prog("carapace verify");
	if (argc < 2) {
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return CP_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("carapace-verify %s\n", CARAPACE_VERSION);
		return CP_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(argv[1], kinds[i].name))
			return kinds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "carapace verify: unknown kind '%s'\n", argv[1]);
	usage(stderr);
	return CP_EXIT_USAGE;
}

/* carapace: the one command-line entry point; dispatches subcommands through a const table. */
#include <stdio.h>
#include <string.h>

#include "attest/cli.h"
#include "attest/tpm/cli.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "memenc/cli.h"
#include "policy/cli.h"
#include "runner/cli.h"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "run", runner_cli_run, "boot a virtual machine (the built-in demo guest by default)" },
	{ "measure", memenc_cli_measure, "precompute a confidential launch measurement (SNP, SEV-ES, SEV, TDX)" },
	{ "attest", attest_cli_attest, "produce TPM-signed evidence for a launched VM" },
	{ "verify", attest_cli_verify, "verify evidence, an SEV-SNP report or a TDX quote" },
	{ "host-info", runner_cli_host_info, "report what this host offers for (confidential) VMs" },
	{ "policy", policy_cli, "check or show a launch policy" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: carapace COMMAND [OPTIONS]\n\n"
		     "A hardened, confidential virtual machine runner.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nRun 'carapace COMMAND --help' for a command's options. See carapace(1).\n");
}

int main(int argc, char **argv)
{
	cp_log_set_prog("carapace");
	if (argc < 2) {
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CP_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("carapace %s\n", CARAPACE_VERSION);
		return CP_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "carapace: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return CP_EXIT_USAGE;
}

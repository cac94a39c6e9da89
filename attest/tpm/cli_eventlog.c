/* carapace verify eventlog: read a TCG PC Client boot event log, replay it, print the PCR
 * values it produces (text or the one JSON form). OS shell over attest/tpm/tcglog.h. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/tcglog.h"
#include "common/cleanup.h"
#include "common/cli.h"
#include "attest/tpm/cli.h"
#include "common/util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: carapace verify eventlog FILE [--json]\n"
		   "Parse a TCG PC Client boot event log (crypto-agile or SHA-1 format, as in\n"
		   "/sys/kernel/security/tpm0/binary_bios_measurements), replay it and print the PCR values.\n"
		   "Exit status 0 when the log is well formed, 1 when it is not. See carapace-verify(1).\n");
}

int attest_tpm_cli_verify_eventlog(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_free_ struct attest_tcglog *log = NULL;
	struct cp_err err = { 0 };
	bool json = false;
	size_t len;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return CP_EXIT_OK;
		default:
			usage(stderr);
			return CP_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (!(log = malloc(sizeof(*log)))) {
		fprintf(stderr, "carapace verify eventlog: out of memory\n");
		return CP_EXIT_FAILURE;
	}
	if (cp_file_read(argv[optind], ATTEST_TCGLOG_MAX_BYTES, &data, &len, &err) < 0 ||
	    attest_tcglog_replay(data, len, log, &err) < 0) {
		fprintf(stderr, "carapace verify eventlog: %s: %s\n", argv[optind], err.msg);
		return CP_EXIT_FAILURE;
	}
	if (json) {
		_cleanup_free_ char *s = attest_tcglog_json(log);
		if (!s) {
			fprintf(stderr, "carapace verify eventlog: out of memory\n");
			return CP_EXIT_FAILURE;
		}
		printf("%s\n", s);
		return CP_EXIT_OK;
	}
	printf("%s log, %u events, banks:", log->crypto_agile ? "crypto-agile" : "SHA-1 format", log->events);
	for (unsigned b = 0; b < log->n_banks; b++)
		printf(" %s", attest_tcglog_alg_name(log->banks[b].alg));
	printf("\n");
	for (unsigned b = 0; b < log->n_banks; b++)
		for (uint32_t p = 0; p < ATTEST_TCGLOG_PCRS; p++) {
			char hex[129];
			if (!(log->banks[b].used & (1u << p)))
				continue;
			cp_hex_encode(log->banks[b].pcr[p], log->banks[b].size, hex);
			printf("%-6s PCR %2u  %s\n", attest_tcglog_alg_name(log->banks[b].alg), p, hex);
		}
	return CP_EXIT_OK;
}

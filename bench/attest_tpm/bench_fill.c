/* Benchmark helper: append N VM launches (records and host launch log entries, PCR extended
 * each time) through the runner's API, as N launches of other tenants would.
 * Usage: bench-hostlog-fill STATE-DIR N (TPM from $CARAPACE_TCTI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/launch.h"
#include "attest/tpm/tpm.h"
#include "common/util.h"

int main(int argc, char **argv)
{
	struct attest_tpm *tpm = NULL;
	struct cp_err err = { 0 };
	uint8_t meas[48];
	uint64_t n;

	if (argc != 3 || cp_parse_u64(argv[2], &n) < 0) {
		fprintf(stderr, "usage: bench-hostlog-fill STATE-DIR N\n");
		return 2;
	}
	if (attest_tpm_open(NULL, &tpm, &err) < 0) {
		fprintf(stderr, "bench-hostlog-fill: %s\n", err.msg);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		struct attest_launch l;
		char name[32];
		snprintf(name, sizeof(name), "tenant-%llu", (unsigned long long)i);
		memset(meas, (int)(i & 0xFF), sizeof(meas));
		if (attest_launch_begin(&l, tpm, argv[1], name, ATTEST_HOSTLOG_PCR_DEFAULT, false, &err) < 0 ||
		    attest_launch_record(&l, ATTEST_EVENT_LAUNCH_MEASUREMENT, meas, 48, &err) < 0 ||
		    attest_launch_commit(&l, NULL, &err) < 0) {
			fprintf(stderr, "bench-hostlog-fill: launch %llu: %s\n", (unsigned long long)i, err.msg);
			attest_launch_end(&l);
			attest_tpm_close(tpm);
			return 1;
		}
		attest_launch_end(&l);
	}
	attest_tpm_close(tpm);
	return 0;
}

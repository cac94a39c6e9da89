/* libFuzzer target: the binary event-log reader never crashes; an accepted log re-serialises
 * to the same bytes (one encoding per log). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_eventlog log;
	struct cp_err err = { 0 };
	uint8_t *out, pcr[32];
	size_t len;

	if (attest_eventlog_parse(data, size, &log, &err) < 0)
		return 0;
	attest_eventlog_replay(&log, 23, pcr);
	if (attest_eventlog_serialize(&log, &out, &len, &err) < 0 || len != size || memcmp(out, data, size))
		abort();
	free(out);
	attest_eventlog_free(&log);
	return 0;
}

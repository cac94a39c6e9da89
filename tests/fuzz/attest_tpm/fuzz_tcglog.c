/* libFuzzer target: the TCG boot event log reader never crashes or reads out of bounds; an
 * accepted log has a replay whose JSON form is produced, and a log is accepted or refused the
 * same way twice (no hidden state). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/tcglog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct attest_tcglog a, b;
	int ra = attest_tcglog_replay(data, size, &a, NULL);
	int rb = attest_tcglog_replay(data, size, &b, NULL);
	char *json;

	if (ra != rb || memcmp(&a, &b, sizeof(a)))
		abort();
	if (ra < 0)
		return 0;
	if (a.n_banks == 0 || a.n_banks > ATTEST_TCGLOG_MAX_BANKS || a.events == 0)
		abort();
	json = attest_tcglog_json(&a);
	if (!json || strncmp(json, "{\"pcrs\": {", 10))
		abort();
	free(json);
	return 0;
}

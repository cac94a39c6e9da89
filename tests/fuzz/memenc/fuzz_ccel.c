/* libFuzzer target: the CCEL / TCG2 event-log reader and replay on any input. */
#include <stdint.h>
#include <stdlib.h>

#include "memenc/ccel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t rtmr[4][48];
	size_t n;

	(void)memenc_ccel_replay(data, size, rtmr, &n, NULL);
	return 0;
}

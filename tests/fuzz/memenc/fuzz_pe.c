/* libFuzzer target: the PE/COFF Authenticode reader on any input. */
#include <stdint.h>
#include <stdlib.h>

#include "memenc/hash.h"
#include "memenc/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[48];

	(void)memenc_pe_authenticode(data, size, memenc_md_sha384(), out, NULL);
	return 0;
}

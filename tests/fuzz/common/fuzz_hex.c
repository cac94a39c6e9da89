/* libFuzzer target: cp_hex_decode_var must never crash or overrun on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint8_t out[64];
	size_t n;
	struct cp_err err = { 0 };

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)cp_hex_decode_var(s, out, sizeof(out), &n, &err);
	free(s);
	return 0;
}

/* libFuzzer target: strict base64 (attest/tpm/b64.c) on any text. Decoding accepts exactly the
 * canonical encodings: whatever it accepts re-encodes to the same text, never more than the
 * limit is returned, and an encoding of any bytes decodes back to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_err err = { 0 };
	char *text = malloc(size + 1), *again;
	uint8_t *out = NULL;
	size_t out_len = 0, max = size ? data[0] : 0;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* as text: the limit is the first byte, so both sides of it are reached */
	r = attest_b64_decode(text, max, &out, &out_len, "fuzz", &err);
	if (r > 0 || (r < 0 && !err.msg[0]))
		abort();
	if (r == 0) {
		if (out_len > max)
			abort();
		again = attest_b64_encode(out, out_len);
		if (!again || strcmp(again, text))
			abort(); /* a second spelling of the same bytes was accepted */
		free(again);
		free(out);
	}
	/* as bytes: encode then decode is the identity */
	again = attest_b64_encode(data, size);
	if (!again)
		abort();
	out = NULL;
	if (attest_b64_decode(again, size, &out, &out_len, "fuzz", &err) < 0 || out_len != size ||
	    (size && memcmp(out, data, size)))
		abort();
	free(out);
	free(again);
	free(text);
	return 0;
}

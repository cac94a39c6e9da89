/* libFuzzer target: the TPMT_SIGNATURE reader never crashes or overruns. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/tpm/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_tpm_signature s;
	struct cp_err err = { 0 };
	if (attest_tpm_signature_parse(data, size, &s, &err) == 0 && (s.a_len == 0 || s.a_len > sizeof(s.a)))
		abort();
	return 0;
}

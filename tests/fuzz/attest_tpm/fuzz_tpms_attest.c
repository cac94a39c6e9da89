/* libFuzzer target: the TPMS_ATTEST reader never crashes; what it accepts is a quote. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/tpm/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_tpm_quote q;
	struct cp_err err = { 0 };
	if (attest_tpm_quote_parse(data, size, &q, &err) == 0 &&
	    (q.magic != ATTEST_TPM_GENERATED_VALUE || q.type != ATTEST_TPM_ST_ATTEST_QUOTE || q.bank_count == 0))
		abort();
	return 0;
}

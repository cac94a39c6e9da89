/* libFuzzer target: the reference-value policy reader never crashes or overruns. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/tpm/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_evidence_policy pol;
	struct cp_err err = { 0 };
	if (attest_evidence_policy_parse((const char *)data, size, &pol, &err) == 0 &&
	    (pol.n_measurements > ATTEST_POLICY_MAX_VALUES || pol.n_ak_pins > ATTEST_POLICY_MAX_VALUES))
		abort();
	return 0;
}

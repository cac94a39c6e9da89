/* libFuzzer target: the hardware-evidence policy reader (JSON via json-c). */
#include <stdint.h>
#include <stdlib.h>

#include "attest/hw/verify_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_refvals p;
	struct cp_err err = { 0 };

	(void)attest_hw_policy_parse((const char *)data, size, &p, &err);
	return 0;
}

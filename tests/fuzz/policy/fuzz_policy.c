/* libFuzzer target: policy_parse must never crash on any input, and whatever it accepts must
 * survive show -> parse -> show unchanged (the effective policy means what it says). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_err err = { 0 };
	struct policy p, p2;
	char *a, *b;

	if (policy_parse((const char *)data, size, &p, &err))
		return 0;
	a = policy_to_json(&p);
	if (!a)
		abort();
	if (policy_parse(a, strlen(a), &p2, &err))
		abort();
	b = policy_to_json(&p2);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	policy_free(&p2);
	policy_free(&p);
	return 0;
}

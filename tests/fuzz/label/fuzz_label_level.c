/* libFuzzer target: label_mcs_pair_parse (levels read back from files and processes) must
 * never crash, and whatever it accepts must format into contexts that parse back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label/label.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct label_mcs_pair p, q;
	struct cp_err err = { 0 };
	char ctx[LABEL_CONTEXT_MAX], *s, *level;

	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (label_mcs_pair_parse(s, &p, &err) == 0) {
		if (label_helper_context(LABEL_HELPER_BLK, &p, ctx, sizeof(ctx), &err))
			abort();
		level = strstr(ctx, ":s0:");
		if (!level || label_mcs_pair_parse(level + 1, &q, &err) || p.c1 != q.c1 || p.c2 != q.c2)
			abort();
	}
	free(s);
	return 0;
}

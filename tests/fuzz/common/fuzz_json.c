/* libFuzzer target: the strict JSON reader (common/json.c) on any bytes, depth limit from the
 * first byte. A refusal names a fault and an offset inside the text; an accepted document is
 * what json-c's strict mode accepts, and json-c's own rendering of it (each key once, escapes
 * re-spelled) is accepted again: the key pass and json-c agree on strings and structure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *again = NULL;
	struct cp_json_error e;
	int depth, r;

	if (size < 1)
		return 0;
	depth = 1 + data[0] % 20;
	r = cp_json_parse((const char *)data + 1, size - 1, depth, &o, &e);
	if (r < 0) {
		if (o || e.fault == CP_JSON_OK || e.offset > size - 1 || !memchr(e.detail, '\0', sizeof(e.detail)))
			abort();
		return 0;
	}
	if (r != 0 || !o)
		abort();
	/* (a bare scalar is rendered without a terminator, which json-c then reads as truncated:
	 * documents are objects, so the round trip is checked for containers) */
	if (json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array)) {
		const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (!text || cp_json_parse(text, strlen(text), depth, &again, &e) != 0)
			abort();
	}
	json_object_put(again);
	json_object_put(o);
	return 0;
}

/* The one strict JSON reader for the documents carapace reads (run config, launch policy and
 * request): RFC 8259 text only (json-c's strict mode), nesting depth bounded, no NUL bytes, nothing
 * after the value but white space, and no object with the same key twice (json-c alone keeps the
 * last one silently, so a reviewer and carapace could read different values). Pure. */
#ifndef CARAPACE_COMMON_JSON_H
#define CARAPACE_COMMON_JSON_H

#include <stddef.h>

#include <json-c/json.h>

enum cp_json_fault {
	CP_JSON_OK,
	CP_JSON_EMPTY,         /* no text at all */
	CP_JSON_NUL,           /* a NUL byte at offset */
	CP_JSON_TOO_LARGE,     /* more than INT32_MAX bytes (json-c's limit) */
	CP_JSON_INVALID,       /* not JSON at offset (json-c's description in detail), or too deep */
	CP_JSON_TRUNCATED,     /* the text ends inside the value */
	CP_JSON_TRAILING,      /* something other than white space after the value, at offset */
	CP_JSON_DUPLICATE_KEY, /* an object repeats a key (detail: the key), second one at offset */
	CP_JSON_NOMEM,
};

struct cp_json_error {
	enum cp_json_fault fault;
	size_t offset;
	char detail[96];
};

/* Parse text[0..len) as one JSON value nested at most depth_max deep (json-c's count: the
 * outermost container is 1). 0 and *out (the caller puts it), or -EINVAL / -ENOMEM with *e set;
 * callers word the message. */
int cp_json_parse(const char *text, size_t len, int depth_max, struct json_object **out,
		  struct cp_json_error *e);

/* "empty document", "NUL byte", ...: a short English name of a fault. */
const char *cp_json_fault_name(enum cp_json_fault f);

#endif

/* Typed, path-tracking readers over json-c values: every error names the JSON path of the
 * offending field and what was expected. Shared by the policy and launch-request parsers. */
#ifndef CARAPACE_POLICY_JREAD_H
#define CARAPACE_POLICY_JREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/err.h"

#define POLICY_JREAD_PATH_MAX 192
#define POLICY_JREAD_DEPTH_MAX 16

struct policy_jread {
	struct cp_err *err;
	const char *what;          /* "policy" or "request": the first word of every message */
	char path[POLICY_JREAD_PATH_MAX]; /* "devices.blk.images[2]"; "" at the document root */
	size_t len;
};

/* Parse a whole buffer as one JSON value: nothing may follow it, no NUL bytes, depth bounded. */
/* "a string", "an integer", ...: a JSON value's type for error messages (also runner/config.c). */
const char *policy_jread_type_name(struct json_object *v);

int policy_jread_parse_doc(struct policy_jread *r, const char *text, size_t len, struct json_object **out);

/* Path handling: push returns the previous length for pop. */
size_t policy_jread_push_key(struct policy_jread *r, const char *key);
size_t policy_jread_push_index(struct policy_jread *r, size_t i);
void policy_jread_pop(struct policy_jread *r, size_t saved);

/* An error at the current path: "<what>: <path>: <message>". */
int policy_jread_fail(struct policy_jread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Refuse any key of the object at the current path not in allowed[] (NULL-terminated). */
int policy_jread_object(struct policy_jread *r, struct json_object *o, const char *const allowed[]);

/* Fetch member key of object o (NULL when absent). */
struct json_object *policy_jread_member(struct json_object *o, const char *key);

/* Typed readers for the value at the current path (callers push the key first). */
int policy_jread_bool(struct policy_jread *r, struct json_object *v, bool *out);
int policy_jread_uint(struct policy_jread *r, struct json_object *v, uint64_t min, uint64_t max, uint64_t *out);
/* An unsigned 64-bit value written as a JSON integer or as a "0x..." string. */
int policy_jread_u64(struct policy_jread *r, struct json_object *v, uint64_t *out);
int policy_jread_string(struct policy_jread *r, struct json_object *v, size_t max, const char **out);
int policy_jread_enum(struct policy_jread *r, struct json_object *v, const char *const names[], size_t n,
	       int *out);
int policy_jread_hex(struct policy_jread *r, struct json_object *v, uint8_t *out, size_t len);
int policy_jread_array(struct policy_jread *r, struct json_object *v, size_t min, size_t max, size_t *n);

/* Convenience: read member key of o if present (returns 0 and leaves *out alone if absent). */
int policy_jread_opt_bool(struct policy_jread *r, struct json_object *o, const char *key, bool *out);
int policy_jread_opt_uint(struct policy_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out);
/* Same, but absent is an error ("required"). */
int policy_jread_req_uint(struct policy_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out);
int policy_jread_required(struct policy_jread *r, struct json_object *o, const char *key,
		   struct json_object **out);

#endif

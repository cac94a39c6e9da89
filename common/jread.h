/* Typed, path-tracking readers over json-c values: every error names the JSON path of the
 * offending field and what was expected. The one field reader over common/json.c for every JSON
 * document carapace reads (config, launch policy and request, evidence, hardware policy, refvals). */
#ifndef CARAPACE_COMMON_JREAD_H
#define CARAPACE_COMMON_JREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/err.h"

#define CP_JREAD_PATH_MAX 192
#define CP_JREAD_DEPTH_MAX 16

struct cp_jread {
	struct cp_err *err;
	const char *what;          /* "policy" or "request": the first word of every message */
	char path[CP_JREAD_PATH_MAX]; /* "devices.blk.images[2]"; "" at the document root */
	size_t len;
};

/* "a string", "an integer", ...: a JSON value's type for error messages (also runner/config.c). */
const char *cp_jread_type_name(struct json_object *v);

/* Parse a whole buffer as one JSON value through common/json.c (strict, no NUL byte, nothing
 * after it, no key twice, nested at most CP_JREAD_DEPTH_MAX or depth_max deep); errors are
 * "<what>: (document): ...". */
int cp_jread_parse_doc(struct cp_jread *r, const char *text, size_t len, struct json_object **out);
int cp_jread_parse_doc_depth(struct cp_jread *r, const char *text, size_t len, int depth_max,
			     struct json_object **out);

/* Path handling: push returns the previous length for pop. */
size_t cp_jread_push_key(struct cp_jread *r, const char *key);
size_t cp_jread_push_index(struct cp_jread *r, size_t i);
void cp_jread_pop(struct cp_jread *r, size_t saved);

/* An error at the current path: "<what>: <path>: <message>". */
int cp_jread_fail(struct cp_jread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Refuse any key of the object at the current path not in allowed[] (NULL-terminated). */
int cp_jread_object(struct cp_jread *r, struct json_object *o, const char *const allowed[]);

/* Fetch member key of object o (NULL when absent). */
struct json_object *cp_jread_member(struct json_object *o, const char *key);

/* Typed readers for the value at the current path (callers push the key first). */
int cp_jread_bool(struct cp_jread *r, struct json_object *v, bool *out);
int cp_jread_uint(struct cp_jread *r, struct json_object *v, uint64_t min, uint64_t max, uint64_t *out);
/* An unsigned 64-bit value written as a JSON integer or as a "0x..." string. */
int cp_jread_u64(struct cp_jread *r, struct json_object *v, uint64_t *out);
int cp_jread_string(struct cp_jread *r, struct json_object *v, size_t max, const char **out);
int cp_jread_enum(struct cp_jread *r, struct json_object *v, const char *const names[], size_t n,
	       int *out);
int cp_jread_hex(struct cp_jread *r, struct json_object *v, uint8_t *out, size_t len);
int cp_jread_array(struct cp_jread *r, struct json_object *v, size_t min, size_t max, size_t *n);

/* Convenience: read member key of o if present (returns 0 and leaves *out alone if absent). */
int cp_jread_opt_bool(struct cp_jread *r, struct json_object *o, const char *key, bool *out);
int cp_jread_opt_uint(struct cp_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out);
/* Same, but absent is an error ("required"). */
int cp_jread_req_uint(struct cp_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out);
int cp_jread_required(struct cp_jread *r, struct json_object *o, const char *key,
		   struct json_object **out);

#endif

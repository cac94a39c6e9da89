/* Typed, path-tracking readers over json-c values (pure: buffers in, values or cp_err out). */
#include "common/jread.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

int cp_jread_fail(struct cp_jread *r, const char *fmt, ...)
{
	char msg[CP_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cp_err_set(r->err, EINVAL, "%s: %s: %s", r->what, r->len ? r->path : "(document)",
			  msg);
}

size_t cp_jread_push_key(struct cp_jread *r, const char *key)
{
	size_t saved = r->len;
	int n = snprintf(r->path + r->len, sizeof(r->path) - r->len, "%s%s", r->len ? "." : "",
			 key);

	if (n > 0)
		r->len = strnlen(r->path, sizeof(r->path) - 1);
	return saved;
}

size_t cp_jread_push_index(struct cp_jread *r, size_t i)
{
	size_t saved = r->len;
	int n = snprintf(r->path + r->len, sizeof(r->path) - r->len, "[%zu]", i);

	if (n > 0)
		r->len = strnlen(r->path, sizeof(r->path) - 1);
	return saved;
}

void cp_jread_pop(struct cp_jread *r, size_t saved)
{
	r->len = saved;
	r->path[saved] = '\0';
}

const char *cp_jread_type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "an unknown value";
}

int cp_jread_parse_doc(struct cp_jread *r, const char *text, size_t len, struct json_object **out)
{
	return cp_jread_parse_doc_depth(r, text, len, CP_JREAD_DEPTH_MAX, out);
}

int cp_jread_parse_doc_depth(struct cp_jread *r, const char *text, size_t len, int depth_max,
			     struct json_object **out)
{
	struct cp_json_error e;

	/* The rules are common/json.c's (strict, depth, NUL, trailing data, repeated keys); the
	 * wording is this reader's. */
	if (cp_json_parse(text, len, depth_max, out, &e) == 0)
		return 0;
	switch (e.fault) {
	case CP_JSON_EMPTY:
		return cp_jread_fail(r, "empty document, expected a JSON object");
	case CP_JSON_NUL:
		return cp_jread_fail(r, "NUL byte at offset %zu, expected JSON text", e.offset);
	case CP_JSON_TOO_LARGE:
		return cp_jread_fail(r, "document too large");
	case CP_JSON_TRUNCATED:
		return cp_jread_fail(r, "truncated JSON at offset %zu", e.offset);
	case CP_JSON_TRAILING:
		return cp_jread_fail(r, "trailing data at offset %zu after the JSON value", e.offset);
	case CP_JSON_DUPLICATE_KEY:
		return cp_jread_fail(r, "duplicate key \"%s\" at offset %zu (each key at most once per object)",
					 e.detail, e.offset);
	case CP_JSON_NOMEM:
		return cp_err_set(r->err, ENOMEM, "%s: out of memory", r->what);
	case CP_JSON_INVALID:
	case CP_JSON_OK:
		break;
	}
	return cp_jread_fail(r, "invalid JSON at offset %zu: %s", e.offset, e.detail);
}

struct json_object *cp_jread_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int cp_jread_object(struct cp_jread *r, struct json_object *o, const char *const allowed[])
{
	if (!json_object_is_type(o, json_type_object))
		return cp_jread_fail(r, "expected an object, got %s", cp_jread_type_name(o));
	json_object_object_foreach(o, key, val) {
		bool known = false;

		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				known = true;
		if (!known) {
			char list[256] = "";
			size_t saved, used = 0;

			for (size_t i = 0; allowed[i] && used < sizeof(list); i++) {
				int n = snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", allowed[i]);
				if (n < 0)
					break;
				used += (size_t)n;
			}
			saved = cp_jread_push_key(r, key);
			cp_jread_fail(r, "unknown key (expected one of: %s)", list);
			cp_jread_pop(r, saved);
			return -EINVAL;
		}
		/* json-c hands out JSON null as a NULL member, which would read as "absent". */
		if (!val) {
			size_t saved = cp_jread_push_key(r, key);

			cp_jread_fail(r, "null is not allowed (omit the key to get its default)");
			cp_jread_pop(r, saved);
			return -EINVAL;
		}
	}
	return 0;
}

int cp_jread_bool(struct cp_jread *r, struct json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return cp_jread_fail(r, "expected true or false, got %s", cp_jread_type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

int cp_jread_uint(struct cp_jread *r, struct json_object *v, uint64_t min, uint64_t max, uint64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return cp_jread_fail(r, "expected an integer in %" PRIu64 "..%" PRIu64 ", got %s", min,
				  max, cp_jread_type_name(v));
	errno = 0;
	x = json_object_get_int64(v);
	/* json-c clamps out-of-range integers to INT64_MIN/MAX; every limit here is far below. */
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max || x == INT64_MAX)
		return cp_jread_fail(r, "expected an integer in %" PRIu64 "..%" PRIu64 ", got %" PRId64,
				  min, max, x);
	*out = (uint64_t)x;
	return 0;
}

int cp_jread_u64(struct cp_jread *r, struct json_object *v, uint64_t *out)
{
	if (json_object_is_type(v, json_type_int))
		return cp_jread_uint(r, v, 0, INT64_MAX - 1, out);
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (strncmp(s, "0x", 2) || strlen(s) < 3 || strlen(s) > 18 || cp_parse_u64(s, out))
			return cp_jread_fail(r, "expected a 64-bit value as \"0x\" + 1 to 16 hex digits, got \"%.40s\"", s);
		return 0;
	}
	return cp_jread_fail(r, "expected an integer or a \"0x...\" string, got %s", cp_jread_type_name(v));
}

int cp_jread_string(struct cp_jread *r, struct json_object *v, size_t max, const char **out)
{
	const char *s;
	int n;

	if (!json_object_is_type(v, json_type_string))
		return cp_jread_fail(r, "expected a string, got %s", cp_jread_type_name(v));
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n < 0 || strlen(s) != (size_t)n)
		return cp_jread_fail(r, "string contains a NUL character");
	if ((size_t)n > max)
		return cp_jread_fail(r, "string of %d bytes, at most %zu allowed", n, max);
	*out = s;
	return 0;
}

int cp_jread_enum(struct cp_jread *r, struct json_object *v, const char *const names[], size_t n,
	       int *out)
{
	char list[200] = "";
	size_t used = 0;
	const char *s;

	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(s, names[i]) && strlen(s) == (size_t)json_object_get_string_len(v)) {
				*out = (int)i;
				return 0;
			}
	}
	for (size_t i = 0; i < n && used < sizeof(list); i++) {
		int k = snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "", names[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (json_object_is_type(v, json_type_string))
		return cp_jread_fail(r, "expected one of %s, got \"%.40s\"", list, json_object_get_string(v));
	return cp_jread_fail(r, "expected one of %s, got %s", list, cp_jread_type_name(v));
}

int cp_jread_hex(struct cp_jread *r, struct json_object *v, uint8_t *out, size_t len)
{
	const char *s;
	struct cp_err e = { 0 };

	if (!json_object_is_type(v, json_type_string))
		return cp_jread_fail(r, "expected %zu bytes as %zu hex digits, got %s", len, 2 * len,
				  cp_jread_type_name(v));
	s = json_object_get_string(v);
	if (strlen(s) != 2 * len || cp_hex_decode(s, out, len, &e))
		return cp_jread_fail(r, "expected %zu bytes as %zu hex digits, got \"%.20s%s\" (%zu characters)",
				  len, 2 * len, s, strlen(s) > 20 ? "..." : "", strlen(s));
	return 0;
}

int cp_jread_array(struct cp_jread *r, struct json_object *v, size_t min, size_t max, size_t *n)
{
	size_t k;

	if (!json_object_is_type(v, json_type_array))
		return cp_jread_fail(r, "expected an array, got %s", cp_jread_type_name(v));
	k = json_object_array_length(v);
	if (k < min || k > max)
		return cp_jread_fail(r, "expected %zu to %zu entries, got %zu", min, max, k);
	*n = k;
	return 0;
}

int cp_jread_opt_bool(struct cp_jread *r, struct json_object *o, const char *key, bool *out)
{
	struct json_object *v = cp_jread_member(o, key);
	size_t saved;
	int ret;

	if (!v)
		return 0;
	saved = cp_jread_push_key(r, key);
	ret = cp_jread_bool(r, v, out);
	cp_jread_pop(r, saved);
	return ret;
}

int cp_jread_opt_uint(struct cp_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	struct json_object *v = cp_jread_member(o, key);
	size_t saved;
	int ret;

	if (!v)
		return 0;
	saved = cp_jread_push_key(r, key);
	ret = cp_jread_uint(r, v, min, max, out);
	cp_jread_pop(r, saved);
	return ret;
}

int cp_jread_required(struct cp_jread *r, struct json_object *o, const char *key,
		   struct json_object **out)
{
	struct json_object *v = cp_jread_member(o, key);

	if (!v) {
		size_t saved = cp_jread_push_key(r, key);
		int ret = cp_jread_fail(r, "required key is missing");

		cp_jread_pop(r, saved);
		return ret;
	}
	*out = v;
	return 0;
}

int cp_jread_req_uint(struct cp_jread *r, struct json_object *o, const char *key, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	struct json_object *v;
	int ret = cp_jread_required(r, o, key, &v);

	if (ret)
		return ret;
	return cp_jread_opt_uint(r, o, key, min, max, out);
}

/* The strict JSON reader: json-c (strict mode, bounded depth) builds the tree; a second pass over
 * the accepted text refuses repeated keys, which json-c merges. The second pass is a small
 * recursive-descent reader of its own (depth bounded by the same limit), so it never trusts the
 * first to have been strict. */
#include "common/json.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cp_json_fault_name(enum cp_json_fault f)
{
	switch (f) {
	case CP_JSON_OK: return "no error";
	case CP_JSON_EMPTY: return "empty document";
	case CP_JSON_NUL: return "NUL byte";
	case CP_JSON_TOO_LARGE: return "document too large";
	case CP_JSON_INVALID: return "invalid JSON";
	case CP_JSON_TRUNCATED: return "truncated JSON";
	case CP_JSON_TRAILING: return "text after the document";
	case CP_JSON_DUPLICATE_KEY: return "duplicate key";
	case CP_JSON_NOMEM: return "out of memory";
	}
	return "unknown fault";
}

static int fault(struct cp_json_error *e, enum cp_json_fault f, size_t offset, const char *detail)
{
	e->fault = f;
	e->offset = offset;
	snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : cp_json_fault_name(f));
	return f == CP_JSON_NOMEM ? -ENOMEM : -EINVAL;
}

/* ---- the key pass ---- */

struct key {
	char *s;      /* decoded, NUL-free comparison is by length too */
	size_t len;
	size_t offset; /* of the key's opening quote */
};

struct scan {
	const char *t;
	size_t len, at;
	int depth, depth_max;
	struct cp_json_error *e;
};

static void skip_ws(struct scan *s)
{
	while (s->at < s->len && (s->t[s->at] == ' ' || s->t[s->at] == '\t' || s->t[s->at] == '\n' ||
				  s->t[s->at] == '\r'))
		s->at++;
}

static int bad(struct scan *s, const char *what)
{
	return fault(s->e, s->at >= s->len ? CP_JSON_TRUNCATED : CP_JSON_INVALID, s->at, what);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int read_hex4(struct scan *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = s->at < s->len ? hexval(s->t[s->at]) : -1;
		if (h < 0)
			return bad(s, "bad \\u escape");
		*v = *v << 4 | (uint32_t)h;
		s->at++;
	}
	return 0;
}

/* A string at s->at (its opening quote). With out, its decoded bytes (malloc'd) for comparison:
 * "a" and "\u0061" are the same key. */
static int scan_string(struct scan *s, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t n = 0;
	int r;

	s->at++; /* the quote */
	if (out) {
		/* decoding never makes a string longer than its escaped text */
		size_t end = s->at;
		while (end < s->len && s->t[end] != '"')
			end += s->t[end] == '\\' ? 2 : 1;
		buf = malloc(end - s->at + 4);
		if (!buf)
			return fault(s->e, CP_JSON_NOMEM, s->at, NULL);
	}
	for (;;) {
		unsigned char c;
		if (s->at >= s->len) {
			r = bad(s, "unterminated string");
			goto fail;
		}
		c = (unsigned char)s->t[s->at];
		if (c == '"')
			break;
		if (c < 0x20) {
			r = bad(s, "control character in a string");
			goto fail;
		}
		if (c != '\\') {
			if (buf)
				buf[n++] = (char)c;
			s->at++;
			continue;
		}
		s->at++;
		if (s->at >= s->len) {
			r = bad(s, "unterminated escape");
			goto fail;
		}
		c = (unsigned char)s->t[s->at++];
		if (c == 'u') {
			uint32_t cp, lo;
			if ((r = read_hex4(s, &cp)) < 0)
				goto fail;
			/* a high surrogate followed by \uDC00-\uDFFF is one code point */
			if (cp >= 0xd800 && cp < 0xdc00 && s->at + 1 < s->len && s->t[s->at] == '\\' && s->t[s->at + 1] == 'u') {
				size_t save = s->at;
				s->at += 2;
				if ((r = read_hex4(s, &lo)) < 0)
					goto fail;
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					s->at = save;
			}
			if (buf)
				n += put_utf8(buf + n, cp);
			continue;
		}
		static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
		const char *p = c ? strchr(esc_in, c) : NULL;
		if (!p) {
			s->at--;
			r = bad(s, "bad escape");
			goto fail;
		}
		if (buf)
			buf[n++] = esc_out[p - esc_in];
	}
	s->at++; /* the closing quote */
	if (out) {
		*out = buf;
		*out_len = n;
	}
	return 0;
fail:
	free(buf);
	return r;
}

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal keys: the later one (by offset) is the repeat */
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int scan_value(struct scan *s);

static int scan_object(struct scan *s)
{
	struct key *keys = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	s->at++; /* { */
	skip_ws(s);
	if (s->at < s->len && s->t[s->at] == '}') {
		s->at++;
		return 0;
	}
	for (;;) {
		skip_ws(s);
		if (s->at >= s->len || s->t[s->at] != '"') {
			r = bad(s, "expected a key");
			goto out;
		}
		if (n == cap) {
			struct key *k = realloc(keys, (cap ? cap * 2 : 8) * sizeof(*keys));
			if (!k) {
				r = fault(s->e, CP_JSON_NOMEM, s->at, NULL);
				goto out;
			}
			keys = k;
			cap = cap ? cap * 2 : 8;
		}
		keys[n].offset = s->at;
		if ((r = scan_string(s, &keys[n].s, &keys[n].len)) < 0)
			goto out;
		n++;
		skip_ws(s);
		if (s->at >= s->len || s->t[s->at] != ':') {
			r = bad(s, "expected ':'");
			goto out;
		}
		s->at++;
		if ((r = scan_value(s)) < 0)
			goto out;
		skip_ws(s);
		if (s->at < s->len && s->t[s->at] == ',') {
			s->at++;
			continue;
		}
		if (s->at < s->len && s->t[s->at] == '}') {
			s->at++;
			break;
		}
		r = bad(s, "expected ',' or '}'");
		goto out;
	}
	/* sorted, equal keys are neighbours and the first of a pair is the earlier */
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < n; i++)
		if (keys[i].len == keys[i - 1].len && !memcmp(keys[i].s, keys[i - 1].s, keys[i].len)) {
			char shown[64];
			size_t k = 0;
			for (size_t j = 0; j < keys[i].len && k + 1 < sizeof(shown); j++)
				shown[k++] = (unsigned char)keys[i].s[j] < 0x20 ? '?' : keys[i].s[j];
			shown[k] = '\0';
			r = fault(s->e, CP_JSON_DUPLICATE_KEY, keys[i].offset, shown);
			goto out;
		}
out:
	for (size_t i = 0; i < n; i++)
		free(keys[i].s);
	free(keys);
	return r;
}

static int scan_array(struct scan *s)
{
	int r;

	s->at++; /* [ */
	skip_ws(s);
	if (s->at < s->len && s->t[s->at] == ']') {
		s->at++;
		return 0;
	}
	for (;;) {
		if ((r = scan_value(s)) < 0)
			return r;
		skip_ws(s);
		if (s->at < s->len && s->t[s->at] == ',') {
			s->at++;
			continue;
		}
		if (s->at < s->len && s->t[s->at] == ']') {
			s->at++;
			return 0;
		}
		return bad(s, "expected ',' or ']'");
	}
}

static int scan_number(struct scan *s)
{
	size_t start = s->at;

	if (s->t[s->at] == '-')
		s->at++;
	if (s->at >= s->len || s->t[s->at] < '0' || s->t[s->at] > '9')
		return bad(s, "bad number");
	if (s->t[s->at] == '0')
		s->at++;
	else
		while (s->at < s->len && s->t[s->at] >= '0' && s->t[s->at] <= '9')
			s->at++;
	if (s->at < s->len && s->t[s->at] == '.') {
		s->at++;
		if (s->at >= s->len || s->t[s->at] < '0' || s->t[s->at] > '9')
			return bad(s, "bad number");
		while (s->at < s->len && s->t[s->at] >= '0' && s->t[s->at] <= '9')
			s->at++;
	}
	if (s->at < s->len && (s->t[s->at] == 'e' || s->t[s->at] == 'E')) {
		s->at++;
		if (s->at < s->len && (s->t[s->at] == '+' || s->t[s->at] == '-'))
			s->at++;
		if (s->at >= s->len || s->t[s->at] < '0' || s->t[s->at] > '9')
			return bad(s, "bad number");
		while (s->at < s->len && s->t[s->at] >= '0' && s->t[s->at] <= '9')
			s->at++;
	}
	return s->at > start ? 0 : bad(s, "bad number");
}

static int scan_value(struct scan *s)
{
	static const char *const literals[] = { "true", "false", "null" };
	int r;

	skip_ws(s);
	if (s->at >= s->len)
		return bad(s, "expected a value");
	switch (s->t[s->at]) {
	case '{':
	case '[':
		if (++s->depth > s->depth_max)
			return fault(s->e, CP_JSON_INVALID, s->at, "nesting too deep");
		r = s->t[s->at] == '{' ? scan_object(s) : scan_array(s);
		s->depth--;
		return r;
	case '"':
		return scan_string(s, NULL, NULL);
	case '-':
	case '0' ... '9':
		return scan_number(s);
	default:
		for (size_t i = 0; i < 3; i++) {
			size_t l = strlen(literals[i]);
			if (s->len - s->at >= l && !memcmp(s->t + s->at, literals[i], l)) {
				s->at += l;
				return 0;
			}
		}
		return bad(s, "unexpected character");
	}
}

/* ---- the reader ---- */

int cp_json_parse(const char *text, size_t len, int depth_max, struct json_object **out,
		  struct cp_json_error *e)
{
	struct json_tokener *tok;
	struct json_object *o;
	struct scan s;
	const char *nul;
	size_t used;
	int r;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (len == 0)
		return fault(e, CP_JSON_EMPTY, 0, NULL);
	nul = memchr(text, '\0', len);
	if (nul)
		return fault(e, CP_JSON_NUL, (size_t)(nul - text), NULL);
	if (len > INT32_MAX)
		return fault(e, CP_JSON_TOO_LARGE, 0, NULL);
	tok = json_tokener_new_ex(depth_max);
	if (!tok)
		return fault(e, CP_JSON_NOMEM, 0, NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o) {
		enum json_tokener_error je = json_tokener_get_error(tok);
		size_t off = json_tokener_get_parse_end(tok);

		json_tokener_free(tok);
		if (je == json_tokener_continue)
			return fault(e, CP_JSON_TRUNCATED, len, NULL);
		return fault(e, CP_JSON_INVALID, off, json_tokener_error_desc(je));
	}
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (used < len && strchr(" \t\r\n", text[used]))
		used++;
	if (used != len) {
		json_object_put(o);
		return fault(e, CP_JSON_TRAILING, used, NULL);
	}
	s = (struct scan){ .t = text, .len = len, .depth_max = depth_max, .e = e };
	r = scan_value(&s);
	if (r == 0) {
		skip_ws(&s);
		if (s.at != len)
			r = fault(e, CP_JSON_TRAILING, s.at, NULL);
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

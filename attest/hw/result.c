/* Check lists for hardware-evidence verification and the --at time parser. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attest/hw/result.h"

void attest_hw_result_init(struct attest_hw_result *r)
{
	memset(r, 0, sizeof(*r));
}

void attest_hw_result_add(struct attest_hw_result *r, const char *name, enum attest_hw_verdict v,
			  const char *fmt, ...)
{
	struct attest_hw_check *c;
	va_list ap;

	if (r->n >= ATTEST_HW_CHECKS_MAX) {
		r->overflow = true;
		return;
	}
	c = &r->checks[r->n++];
	c->name = name;
	c->verdict = v;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

bool attest_hw_result_ok(const struct attest_hw_result *r)
{
	bool any_pass = false;

	if (r->overflow)
		return false;
	for (size_t i = 0; i < r->n; i++) {
		if (r->checks[i].verdict == ATTEST_HW_FAIL)
			return false;
		if (r->checks[i].verdict == ATTEST_HW_PASS)
			any_pass = true;
	}
	return any_pass;
}

const struct attest_hw_check *attest_hw_result_find(const struct attest_hw_result *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->checks[i].name, name))
			return &r->checks[i];
	return NULL;
}

const char *attest_hw_verdict_name(enum attest_hw_verdict v)
{
	switch (v) {
	case ATTEST_HW_PASS:
		return "pass";
	case ATTEST_HW_SKIP:
		return "skip";
	case ATTEST_HW_FAIL:
		break;
	}
	return "fail";
}

struct json_object *attest_hw_result_to_json(const struct attest_hw_result *r, const char *kind)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();

	if (!root || !arr) {
		json_object_put(root);
		json_object_put(arr);
		return NULL;
	}
	json_object_object_add(root, "kind", json_object_new_string(kind));
	for (size_t i = 0; i < r->n; i++) {
		struct json_object *c = json_object_new_object();
		if (!c)
			goto fail;
		json_object_object_add(c, "name", json_object_new_string(r->checks[i].name));
		json_object_object_add(c, "verdict", json_object_new_string(attest_hw_verdict_name(r->checks[i].verdict)));
		json_object_object_add(c, "detail", json_object_new_string(r->checks[i].detail));
		json_object_array_add(arr, c);
	}
	json_object_object_add(root, "checks", arr);
	arr = NULL;
	json_object_object_add(root, "verdict", json_object_new_string(attest_hw_result_ok(r) ? "pass" : "fail"));
	return root;
fail:
	json_object_put(root);
	json_object_put(arr);
	return NULL;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int attest_hw_time_parse(const char *s, time_t *out, struct cp_err *err)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm = { 0 };
	const char *p;
	time_t t;

	if (!s || strlen(s) < 20)
		return cp_err_set(err, EINVAL, "time '%s': expected RFC 3339, e.g. 2025-06-01T00:00:00Z", s ? s : "");
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return cp_err_set(err, EINVAL, "time '%s': expected RFC 3339, e.g. 2025-06-01T00:00:00Z", s);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return cp_err_set(err, EINVAL, "time '%s': field out of range", s);
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return cp_err_set(err, EINVAL, "time '%s': %d is not a leap year", s, y);
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return cp_err_set(err, EINVAL, "time '%s': empty fraction", s);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return cp_err_set(err, EINVAL, "time '%s': bad UTC offset", s);
		p += 6;
	} else {
		return cp_err_set(err, EINVAL, "time '%s': missing 'Z' or UTC offset", s);
	}
	if (*p)
		return cp_err_set(err, EINVAL, "time '%s': trailing characters", s);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return cp_err_set(err, ERANGE, "time '%s': not representable", s);
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
}

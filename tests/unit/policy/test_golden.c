/* Golden launch-policy files: tests/golden/policy/{pass,fail}. Every pass/X.json must parse,
 * survive a show → parse round trip, and allow its pass/X.request.json; every fail case must be
 * refused with its expected message; every rule of policy_eval must be hit by a fail case. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "policy/policy.h"

static char golden[4096];

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[8192];
	uint8_t *buf = NULL;
	struct cp_err err = { 0 };
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (cp_file_read(path, POLICY_DOC_MAX + 1, &buf, &n, &err))
		return NULL;
	if (len)
		*len = n;
	return (char *)buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Names in dir ending in suffix, sorted so the run order (and output) is deterministic. */
static int list(const char *dir, const char *suffix, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, suffix))
			continue;
		v = realloc(v, sizeof(*v) * (size_t)(n + 1));
		assert_non_null(v);
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(v[i], v[j]) > 0) {
				char *t = v[i];
				v[i] = v[j];
				v[j] = t;
			}
	*out = v;
	return n;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int load_policy(const char *dir, const char *name, struct policy *p, struct cp_err *err)
{
	size_t len;
	_cleanup_free_ char *text = slurp(dir, name, &len);

	if (!text)
		return cp_err_set(err, ENOENT, "cannot read %s/%s", dir, name);
	return policy_parse(text, len, p, err);
}

static int eval_files(const char *pdir, const char *pname, const char *rdir, const char *rname,
		      struct policy_violation *v, struct cp_err *err)
{
	struct policy_request_store *st = NULL;
	struct policy_launch_request q;
	struct policy p;
	size_t len;
	_cleanup_free_ char *text = NULL;
	int ret;

	if ((ret = load_policy(pdir, pname, &p, err)))
		return ret;
	text = slurp(rdir, rname, &len);
	if (!text) {
		policy_free(&p);
		return cp_err_set(err, ENOENT, "cannot read %s", rname);
	}
	ret = policy_request_parse(text, len, &q, &st, err);
	if (!ret) {
		ret = policy_eval(&p, &q, v);
		if (ret)
			cp_err_set(err, -ret, "%s", v->msg);
	}
	policy_request_free(st);
	policy_free(&p);
	return ret;
}

static void test_pass(void **state)
{
	char dir[8192], **names;
	int n = 0, failures = 0, cases = 0;

	snprintf(dir, sizeof(dir), "%s/pass", golden);
	n = list(dir, ".json", &names);
	for (int i = 0; i < n; i++) {
		struct cp_err err = { 0 };
		struct policy p, p2;
		char reqname[512];
		char *json, *json2;

		if (ends_with(names[i], ".request.json"))
			continue;
		cases++;
		if (load_policy(dir, names[i], &p, &err)) {
			printf("FAIL pass/%s: %s\n", names[i], err.msg);
			failures++;
			continue;
		}
		/* The effective policy must itself be a valid policy with the same meaning. */
		json = policy_to_json(&p);
		assert_non_null(json);
		/* Where pinned (pass/NAME.show), it must be exactly what `policy show` printed. */
		{
			char showname[512];
			size_t slen;
			_cleanup_free_ char *want = NULL;

			snprintf(showname, sizeof(showname), "%.*s.show", (int)(strlen(names[i]) - 5), names[i]);
			want = slurp(dir, showname, &slen);
			if (want && (slen != strlen(json) + 1 || strncmp(want, json, strlen(json)))) {
				printf("FAIL pass/%s: effective policy differs from pass/%s\n", names[i], showname);
				failures++;
			}
		}
		if (policy_parse(json, strlen(json), &p2, &err)) {
			printf("FAIL pass/%s: show output does not re-parse: %s\n", names[i], err.msg);
			failures++;
		} else {
			json2 = policy_to_json(&p2);
			if (strcmp(json, json2)) {
				printf("FAIL pass/%s: show -> parse -> show differs\n", names[i]);
				failures++;
			}
			free(json2);
			policy_free(&p2);
		}
		free(json);
		policy_free(&p);

		snprintf(reqname, sizeof(reqname), "%.*s.request.json",
			 (int)(strlen(names[i]) - 5), names[i]);
		{
			struct policy_violation v;
			_cleanup_free_ char *rq = slurp(dir, reqname, NULL);

			if (rq && eval_files(dir, names[i], dir, reqname, &v, &err)) {
				printf("FAIL pass/%s: launch refused: %s\n", reqname, err.msg);
				failures++;
			}
		}
		printf("ok   pass/%s\n", names[i]);
	}
	free_list(names, n);
	assert_true(cases >= 4);
	assert_int_equal(failures, 0);
}

struct expect {
	char policy[256];
	char rule[128];
	char text[512];
};

static int read_expect(const char *dir, const char *name, struct expect *e)
{
	_cleanup_free_ char *t = slurp(dir, name, NULL);
	char *line, *save = NULL;

	memset(e, 0, sizeof(*e));
	if (!t)
		return -1;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "policy ", 7))
			snprintf(e->policy, sizeof(e->policy), "%s", line + 7);
		else if (!strncmp(line, "rule ", 5))
			snprintf(e->rule, sizeof(e->rule), "%s", line + 5);
		else if (!strncmp(line, "expect ", 7))
			snprintf(e->text, sizeof(e->text), "%s", line + 7);
		else if (line[0] != '#')
			return -1;
	}
	return e->text[0] ? 0 : -1;
}

/* policy_rule_name's whole list, in a new array. */
static size_t rule_names(char (**out)[POLICY_RULE_MAX])
{
	char buf[POLICY_RULE_MAX];
	size_t n = 0;

	while (policy_rule_name(n, buf, sizeof(buf)) == 0)
		n++;
	*out = calloc(n, sizeof(**out));
	assert_non_null(*out);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(policy_rule_name(i, (*out)[i], sizeof((*out)[i])), 0);
	return n;
}

static void test_fail(void **state)
{
	char dir[8192], **names, (*policy_rules)[POLICY_RULE_MAX];
	size_t nrules = rule_names(&policy_rules);
	bool *hit;
	int n, failures = 0, parse_cases = 0, eval_cases = 0;

	hit = calloc(nrules, sizeof(*hit));
	assert_non_null(hit);
	snprintf(dir, sizeof(dir), "%s/fail", golden);
	n = list(dir, ".expect", &names);
	for (int i = 0; i < n; i++) {
		char base[512], file[600];
		struct cp_err err = { 0 };
		struct policy_violation v = { 0 };
		struct expect e;
		_cleanup_free_ char *req = NULL;
		int ret;

		snprintf(base, sizeof(base), "%.*s", (int)(strlen(names[i]) - 7), names[i]);
		if (read_expect(dir, names[i], &e)) {
			printf("FAIL fail/%s: malformed .expect (lines: policy P / rule R / expect TEXT)\n", names[i]);
			failures++;
			continue;
		}
		snprintf(file, sizeof(file), "%s.request.json", base);
		req = slurp(dir, file, NULL);
		if (req) {
			/* An evaluation case: the policy must be valid, the launch denied. */
			eval_cases++;
			ret = eval_files(golden, e.policy, dir, file, &v, &err);
			if (ret == 0) {
				printf("FAIL fail/%s: launch allowed, expected \"%s\"\n", file, e.text);
				failures++;
				continue;
			}
			if (e.rule[0] && (!v.rule || strcmp(v.rule, e.rule))) {
				printf("FAIL fail/%s: rule %s, expected rule %s (%s)\n", file,
				       v.rule ? v.rule : "(none: request/policy did not parse)", e.rule, err.msg);
				failures++;
				continue;
			}
			for (size_t r = 0; r < nrules; r++)
				if (v.rule && !strcmp(v.rule, policy_rules[r]))
					hit[r] = true;
		} else {
			struct policy p;

			parse_cases++;
			snprintf(file, sizeof(file), "%s.json", base);
			ret = load_policy(dir, file, &p, &err);
			if (ret == 0) {
				policy_free(&p);
				printf("FAIL fail/%s: accepted, expected \"%s\"\n", file, e.text);
				failures++;
				continue;
			}
		}
		if (!strstr(err.msg, e.text)) {
			printf("FAIL fail/%s:\n  got      %s\n  expected %s\n", file, err.msg, e.text);
			failures++;
			continue;
		}
		printf("ok   fail/%s: %s\n", file, err.msg);
	}
	for (size_t r = 0; r < nrules; r++)
		if (!hit[r]) {
			printf("FAIL rule %s has no failing golden example\n", policy_rules[r]);
			failures++;
		}
	printf("%d parse cases, %d evaluation cases, %zu rules\n", parse_cases, eval_cases, nrules);
	free(hit);
	free(policy_rules);
	free_list(names, n);
	assert_true(parse_cases >= 50 && eval_cases >= (int)nrules);
	assert_int_equal(failures, 0);
}

/* Every rule the evaluator can name is explained in docs/policy.md's rule table. */
static void test_rules_documented(void **state)
{
	char dir[8192], r[POLICY_RULE_MAX];
	_cleanup_free_ char *doc = NULL;
	int missing = 0;

	snprintf(dir, sizeof(dir), "%s/../../../docs", golden);
	doc = slurp(dir, "policy.md", NULL);
	assert_non_null(doc);
	for (size_t i = 0; policy_rule_name(i, r, sizeof(r)) == 0; i++) {
		char needle[160];
		const char *dot = strchr(r, '.') ? strchr(strchr(r, '.') + 1, '.') : NULL;

		snprintf(needle, sizeof(needle), "`%s`", r);
		/* Per-class device rules are documented once as devices.<class>.*. */
		if (!strncmp(r, "devices.", 8) && dot &&
		    strcmp(r, "devices.blk.read_only") && strcmp(r, "devices.blk.images") &&
		    strcmp(r, "devices.vsock.uds_paths"))
			snprintf(needle, sizeof(needle), "`devices.<class>%s`", dot);
		if (!strstr(doc, needle)) {
			printf("FAIL rule %s is not in docs/policy.md (looked for %s)\n", r, needle);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_rules_documented),
	};
	const char *root = getenv("CARAPACE_SOURCE_ROOT");

	if (argc > 1)
		snprintf(golden, sizeof(golden), "%s", argv[1]);
	else if (root)
		snprintf(golden, sizeof(golden), "%s/tests/golden/policy", root);
	else {
		fprintf(stderr, "need CARAPACE_SOURCE_ROOT or the golden directory as argument\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Shared helpers for the attest_hw tests: read vendor vectors from $CARAPACE_TEST_VECTORS (never
 * copied into the repository) and skip visibly (exit 77) when they are absent. */
#ifndef CARAPACE_TEST_ATTEST_HW_VECTORS_H
#define CARAPACE_TEST_ATTEST_HW_VECTORS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/hw/result.h"
#include "common/util.h"

static const char *vec_dir;

static inline void vec_require(const char *probe)
{
	char path[4096];
	struct stat st;

	vec_dir = getenv("CARAPACE_TEST_VECTORS");
	snprintf(path, sizeof(path), "%s/%s", vec_dir ? vec_dir : "", probe);
	if (!vec_dir || stat(path, &st) < 0) {
		printf("SKIP: vendor test vectors not found (CARAPACE_TEST_VECTORS=%s, need %s)\n", vec_dir ? vec_dir : "(unset)",
		       probe);
		exit(77);
	}
}

static inline const char *vec_path(const char *rel)
{
	static char path[64][4096]; /* a ring: argument vectors hold several at once */
	static int next;
	char *p = path[next++ % 64];

	snprintf(p, 4096, "%s/%s", vec_dir, rel);
	return p;
}

/* Read a vector file; aborts the test on failure (the vector set is known present). */
static inline uint8_t *vec_read(const char *rel, size_t *len)
{
	struct cp_err err = { 0 };
	uint8_t *data = NULL;

	if (cp_file_read(vec_path(rel), 1u << 20, &data, len, &err) < 0) {
		fprintf(stderr, "cannot read vector %s: %s\n", rel, err.msg);
		abort();
	}
	return data;
}

static inline enum attest_hw_verdict verdict_of(const struct attest_hw_result *r, const char *name)
{
	const struct attest_hw_check *c = attest_hw_result_find(r, name);
	if (!c) {
		fprintf(stderr, "check '%s' missing from the result\n", name);
		abort();
	}
	return c->verdict;
}

static inline const char *detail_of(const struct attest_hw_result *r, const char *name)
{
	const struct attest_hw_check *c = attest_hw_result_find(r, name);
	return c ? c->detail : "";
}

/* Every check other than those named passed (or was skipped). */
static inline int only_failures(const struct attest_hw_result *r, const char *const *names)
{
	for (size_t i = 0; i < r->n; i++) {
		int expected = 0;
		for (size_t k = 0; names && names[k]; k++)
			if (!strcmp(names[k], r->checks[i].name))
				expected = 1;
		if ((r->checks[i].verdict == ATTEST_HW_FAIL) != expected) {
			fprintf(stderr, "check %s: verdict %s (%s)\n", r->checks[i].name,
				attest_hw_verdict_name(r->checks[i].verdict), r->checks[i].detail);
			return 0;
		}
	}
	return 1;
}

static inline void dump(const struct attest_hw_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, "  %s %s: %s\n", attest_hw_verdict_name(r->checks[i].verdict), r->checks[i].name,
			r->checks[i].detail);
}

#endif

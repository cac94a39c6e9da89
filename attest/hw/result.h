/* Verification results for hardware evidence: an ordered list of named checks with verdicts,
 * and the RFC 3339 time parser behind --at. Pure: no I/O. */
#ifndef CARAPACE_ATTEST_HW_RESULT_H
#define CARAPACE_ATTEST_HW_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "common/err.h"

enum attest_hw_verdict {
	ATTEST_HW_PASS,
	ATTEST_HW_FAIL,
	ATTEST_HW_SKIP, /* not applicable or not asked for (e.g. no policy field); never "could not check" */
};

#define ATTEST_HW_CHECKS_MAX 64
#define ATTEST_HW_DETAIL_MAX 640

struct attest_hw_check {
	const char *name; /* static string: stable identifiers, documented in docs/attest-hw.md */
	enum attest_hw_verdict verdict;
	char detail[ATTEST_HW_DETAIL_MAX];
};

struct attest_hw_result {
	size_t n;
	bool overflow; /* more checks than slots: the result can no longer pass */
	struct attest_hw_check checks[ATTEST_HW_CHECKS_MAX];
};

void attest_hw_result_init(struct attest_hw_result *r);
void attest_hw_result_add(struct attest_hw_result *r, const char *name, enum attest_hw_verdict v,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* True only when at least one check passed, none failed and nothing overflowed. */
bool attest_hw_result_ok(const struct attest_hw_result *r);
const struct attest_hw_check *attest_hw_result_find(const struct attest_hw_result *r, const char *name);
const char *attest_hw_verdict_name(enum attest_hw_verdict v);
/* {"kind":..., "checks":[{name, verdict, detail}...], "verdict":"pass"|"fail"}; NULL on ENOMEM. */
struct json_object *attest_hw_result_to_json(const struct attest_hw_result *r, const char *kind);

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM). */
int attest_hw_time_parse(const char *s, time_t *out, struct cp_err *err);

#endif

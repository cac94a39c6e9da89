/* carapace-verify's policy document: the strict reader's verdict worded as this verifier always
 * has, the top level checked here, every field read by common/refvals.c. */
#include "attest/hw/verify_policy.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "common/json.h"
#include "common/jread.h"

#define POLICY_DEPTH_MAX 8

int attest_hw_policy_parse(const char *text, size_t len, struct cp_refvals *out, struct cp_err *err)
{
	struct cp_jread r = { .err = err, .what = "policy" };
	struct json_object *root = NULL;
	struct cp_json_error e;
	int rc;

	cp_refvals_init(out);
	if (!text)
		return cp_err_set(err, EINVAL, "policy: empty document");
	/* common/json.c's rules (strict, depth, no NUL, nothing after the value, no key twice). */
	if ((rc = cp_json_parse(text, len, POLICY_DEPTH_MAX, &root, &e)) < 0) {
		if (e.fault == CP_JSON_DUPLICATE_KEY)
			return cp_err_set(err, EINVAL, "policy: JSON error at offset %zu: duplicate key \"%s\"", e.offset, e.detail);
		return cp_err_set(err, -rc, "policy: JSON error at offset %zu: %s", e.offset,
				  e.fault == CP_JSON_INVALID ? e.detail : cp_json_fault_name(e.fault));
	}
	if (!json_object_is_type(root, json_type_object)) {
		rc = cp_err_set(err, EINVAL, "policy: top level must be an object with 'snp' and/or 'tdx'");
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		(void)val;
		if (strcmp(key, "snp") && strcmp(key, "tdx")) {
			rc = cp_err_set(err, EINVAL, "policy: unknown top-level key '%s' (expected 'snp' or 'tdx')", key);
			goto out;
		}
	}
	rc = cp_refvals_read(&r, root, out);
out:
	json_object_put(root);
	if (rc < 0)
		cp_refvals_init(out);
	return rc;
}

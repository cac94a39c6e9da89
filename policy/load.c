/* The one place the policy library touches the file system: read a policy document from a
 * path (bounded) and hand it to the pure parser. */
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "policy/policy.h"

int policy_load_file(const char *path, struct policy *p, struct cp_err *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int ret;

	if ((ret = cp_file_read(path, POLICY_DOC_MAX, &buf, &len, err)))
		return ret;
	if ((ret = policy_parse((const char *)buf, len, p, err)))
		cp_err_prefix(err, "%s: ", path);
	return ret;
}

/* libFuzzer target: the launch-request reader and the evaluator must never crash; every
 * request that parses is decided against a fixed policy (allow, deny with a rule, or invalid). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static const char policy_text[] =
	"{\"schema\":1,\"name\":\"fuzz\",\"isolation\":{\"type\":\"any-confidential\",\"confidential\":\"preferred\"},"
	"\"devices\":{\"blk\":{\"max\":2,\"images\":[\"/img/*.img\"]},\"rng\":{},\"net\":{\"max_queues\":2}},"
	"\"resources\":{\"memory_max_mib\":512,\"vcpus_max\":2,\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":600}},"
	"\"boot\":{\"firmware\":[\"/fw/*.fd\"],\"kernel\":[\"/k/*\"]},"
	"\"reference\":{\"snp\":{\"measurements\":[\"" "000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000" "\"]}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy p;
	static int loaded;
	struct policy_request_store *st = NULL;
	struct policy_launch_request q;
	struct policy_violation v;
	struct cp_err err = { 0 };
	int ret;

	if (!loaded) {
		if (policy_parse(policy_text, strlen(policy_text), &p, &err))
			abort();
		loaded = 1;
	}
	if (policy_request_parse((const char *)data, size, &q, &st, &err))
		return 0;
	ret = policy_eval(&p, &q, &v);
	if (ret != 0 && (ret != -EPERM && ret != -EINVAL))
		abort();
	if (ret != 0 && (!v.rule || !v.msg[0]))
		abort();
	policy_request_free(st);
	return 0;
}

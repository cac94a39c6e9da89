/* Unit tests for the policy API as the runner uses it: defaults after parsing, the derived
 * SNP guest policy, and policy_eval on requests built in C (not through JSON). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/devkinds.h"
#include "policy/policy.h"

static const char minimal[] =
	"{\"schema\":1,\"name\":\"m\",\"isolation\":{\"type\":\"snp\"},"
	"\"resources\":{\"memory_max_mib\":128,\"vcpus_max\":2,"
	"\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":256}}}";

static void parse_ok(const char *text, struct policy *p)
{
	struct cp_err err = { 0 };

	if (policy_parse(text, strlen(text), p, &err)) {
		printf("unexpected parse error: %s\n", err.msg);
		fail();
	}
}

static void test_defaults(void **state)
{
	struct policy p;

	parse_ok(minimal, &p);
	assert_string_equal(p.name, "m");
	assert_int_equal(p.iso_type, POLICY_ISOTYPE_SNP);
	assert_int_equal(p.confidential, POLICY_CONF_REQUIRED);
	/* The default SNP guest policy is QEMU's: SMT allowed + reserved bit 17, ABI 0.0. */
	assert_int_equal(policy_snp_guest_policy(&p), 0x30000);
	assert_int_equal(p.memory_min_mib, 1);
	assert_int_equal(p.cg_cpu_period_us, 100000);
	assert_int_equal(p.cg_pids_max, 64);
	assert_int_equal(p.pcr, 15);
	assert_false(p.tpm_required);
	assert_false(p.allow_cmdline);
	assert_int_equal(p.on_device_failure, POLICY_ON_FAILURE_STOP);
	for (int k = 0; k < POLICY_DEV__COUNT; k++)
		assert_false(p.dev[k].allowed);
	policy_free(&p);
	policy_free(&p); /* safe on a released policy */
}

static void test_parse_failure_leaves_nothing(void **state)
{
	static const char bad[] =
		"{\"schema\":1,\"name\":\"m\",\"isolation\":{\"type\":\"snp\"},"
		"\"devices\":{\"blk\":{\"images\":[\"/a\",\"/b\",\"relative\"]}},"
		"\"resources\":{\"memory_max_mib\":128,\"vcpus_max\":2,"
		"\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":256}}}";
	struct cp_err err = { 0 };
	struct policy p;

	/* Two patterns were copied before the third failed: they must be freed (ASan checks). */
	assert_int_equal(policy_parse(bad, strlen(bad), &p, &err), -EINVAL);
	assert_string_equal(err.msg, "policy: devices.blk.images[2]: expected an absolute path or pattern (starting with '/'), got \"relative\"");
	assert_int_equal(p.dev[POLICY_DEV_BLK].images.n, 0);
	assert_int_equal(policy_parse(bad, 0, &p, &err), -EINVAL);
}

static void test_rules_unique(void **state)
{
	char a[POLICY_RULE_MAX], b[POLICY_RULE_MAX];
	size_t n = 0;

	for (size_t i = 0; policy_rule_name(i, a, sizeof(a)) == 0; i++, n++)
		for (size_t j = i + 1; policy_rule_name(j, b, sizeof(b)) == 0; j++)
			assert_string_not_equal(a, b);
	/* each class's four rules, blk's and vsock's own, and the fixed ones */
	assert_true(n > 4 * POLICY_DEV__COUNT + 3);
	assert_int_equal(policy_rule_name(n, a, sizeof(a)), -ENOENT);
	assert_int_equal(policy_rule_name(SIZE_MAX, a, sizeof(a)), -ENOENT);
}

static void test_tdx_bit63_roundtrip(void **state)
{
	static const char text[] =
		"{\"schema\":1,\"name\":\"t\",\"isolation\":{\"type\":\"tdx\"},"
		"\"tdx\":{\"perfmon\":true,\"attributes\":\"0x8000000010000000\"},"
		"\"resources\":{\"memory_max_mib\":128,\"vcpus_max\":2,"
		"\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":256}}}";
	struct policy p, q;
	char *json;

	parse_ok(text, &p);
	assert_true(p.tdx_attributes == (POLICY_TDX_PERFMON | POLICY_TDX_SEPT_VE_DISABLE));
	json = policy_to_json(&p);
	assert_non_null(strstr(json, "\"attributes\": \"0x8000000010000000\""));
	parse_ok(json, &q);
	assert_true(q.tdx_attributes == p.tdx_attributes);
	free(json);
	policy_free(&p);
	policy_free(&q);
}

/* A request the "any-preferred"-style policy below allows, to vary one field at a time. */
static const char any_preferred[] =
	"{\"schema\":1,\"name\":\"a\",\"isolation\":{\"type\":\"any-confidential\",\"confidential\":\"preferred\"},"
	"\"devices\":{\"rng\":{}},"
	"\"resources\":{\"memory_max_mib\":128,\"vcpus_max\":2,"
	"\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":256}}}";

static struct policy_launch_request base_request(void)
{
	static const struct policy_device_request rng = { .kind = POLICY_DEV_RNG, .queues = 1, .queue_size = 64 };

	return (struct policy_launch_request){
		.requested = POLICY_ISO_SNP, .obtained = POLICY_ISO_SNP,
		.host_caps = 1u << POLICY_ISO_SNP,
		.snp_guest_policy = 0x30000, .tdx_attributes = POLICY_TDX_SEPT_VE_DISABLE,
		.memory_mib = 64, .vcpus = 1,
		.cg_cpu_quota_us = 50000, .cg_cpu_period_us = 100000,
		.cg_memory_max_mib = 128, .cg_pids_max = 10,
		.devices = &rng, .n_devices = 1,
	};
}

static const char *decide(const struct policy *p, const struct policy_launch_request *q)
{
	static struct policy_violation v;
	int ret = policy_eval(p, q, &v);

	if (ret == 0)
		return "allow";
	assert_true(ret == -EPERM || ret == -EINVAL);
	assert_non_null(v.rule);
	/* The message always starts with the rule it names. */
	assert_memory_equal(v.msg, v.rule, strlen(v.rule));
	return v.rule;
}

static void test_isolation_matrix(void **state)
{
	struct policy p;
	struct policy_launch_request q;

	parse_ok(any_preferred, &p);
	q = base_request();
	assert_string_equal(decide(&p, &q), "allow");
	q.requested = q.obtained = POLICY_ISO_TDX;
	q.host_caps = 1u << POLICY_ISO_TDX;
	assert_string_equal(decide(&p, &q), "allow");
	/* Plain on a host without SNP/TDX: fine under "preferred". */
	q.requested = q.obtained = POLICY_ISO_NONE;
	q.host_caps = 0;
	assert_string_equal(decide(&p, &q), "allow");
	/* Plain on a host that could do SNP: a downgrade. */
	q.host_caps = 1u << POLICY_ISO_SNP;
	assert_string_equal(decide(&p, &q), "isolation.confidential");
	/* Asked for SNP, would get TDX. */
	q = base_request();
	q.obtained = POLICY_ISO_TDX;
	assert_string_equal(decide(&p, &q), "isolation.confidential");
	policy_free(&p);

	parse_ok(minimal, &p); /* snp, required */
	q = base_request();
	q.n_devices = 0; /* this policy allows no devices */
	assert_string_equal(decide(&p, &q), "allow");
	q.obtained = POLICY_ISO_NONE;
	assert_string_equal(decide(&p, &q), "isolation.confidential");
	q.requested = POLICY_ISO_NONE;
	assert_string_equal(decide(&p, &q), "isolation.type");
	q = base_request();
	q.n_devices = 0; /* this policy allows no devices */
	q.requested = q.obtained = POLICY_ISO_TDX;
	assert_string_equal(decide(&p, &q), "isolation.type");
	policy_free(&p);
}

static void test_malformed_and_extreme_requests(void **state)
{
	struct policy_device_request bad = { .kind = (enum policy_dev_kind)7, .queues = 1, .queue_size = 1 };
	struct policy_device_request blk = { .kind = POLICY_DEV_BLK, .image = NULL, .queues = 1, .queue_size = 1 };
	struct policy_launch_request q;
	struct policy p;

	parse_ok(any_preferred, &p);
	q = base_request();
	q.devices = &bad;
	assert_string_equal(decide(&p, &q), "request");
	q.devices = &blk;
	assert_string_equal(decide(&p, &q), "request");
	q.devices = NULL;
	assert_string_equal(decide(&p, &q), "request");
	q = base_request();
	q.requested = (enum policy_isolation)9;
	assert_string_equal(decide(&p, &q), "request");
	q = base_request();
	q.host_caps = 0x80;
	assert_string_equal(decide(&p, &q), "request");
	q = base_request();
	q.memory_mib = UINT64_MAX;
	assert_string_equal(decide(&p, &q), "resources.memory_max_mib");
	q = base_request();
	q.cg_cpu_quota_us = UINT64_MAX; /* no overflow in the ratio comparison */
	assert_string_equal(decide(&p, &q), "resources.cgroup.cpu_quota_us");
	q = base_request();
	q.cg_cpu_quota_us = 100000;
	q.cg_cpu_period_us = 99999; /* slightly more bandwidth than 100000/100000 */
	assert_string_equal(decide(&p, &q), "resources.cgroup.cpu_quota_us");
	q.cg_cpu_quota_us = 200;
	q.cg_cpu_period_us = 200; /* same ratio: allowed */
	assert_string_equal(decide(&p, &q), "allow");
	q = base_request();
	q.firmware = "/usr/share/ovmf/OVMF.fd/";
	assert_string_equal(decide(&p, &q), "request");
	q.firmware = "/usr/share/ovmf/OVMF.fd"; /* canonical, but no pattern allows firmware */
	assert_string_equal(decide(&p, &q), "boot.firmware");
	q = base_request();
	q.cmdline = ""; /* empty command line = none */
	assert_string_equal(decide(&p, &q), "allow");
	policy_free(&p);
}

/* A disk swapped in after the launch (PATCH /drives/{id}) meets the rules a boot-time disk meets,
 * with the same messages: the pattern, read-only, a class the policy allows, a canonical name. */
static void test_blk_image_alone(void **state)
{
	static const char text[] =
		"{\"schema\":1,\"name\":\"d\",\"isolation\":{\"type\":\"none\"},"
		"\"resources\":{\"memory_max_mib\":128,\"vcpus_max\":2,\"cgroup\":{\"cpu_quota_us\":100000,\"memory_max_mib\":256}},"
		"\"devices\":{\"blk\":{\"max\":2,\"read_only\":true,\"images\":[\"/srv/img/*.img\"]}}}";
	struct policy p;
	struct policy_violation v;

	parse_ok(text, &p);
	assert_int_equal(policy_eval_blk_image(&p, 1, "/srv/img/a.img", true, &v), 0);
	assert_int_equal(policy_eval_blk_image(&p, 1, "/srv/other/a.img", true, &v), -EPERM);
	assert_string_equal(v.rule, "devices.blk.images");
	assert_string_equal(v.msg, "devices.blk.images: device 1: image \"/srv/other/a.img\" matches no allowed pattern");
	assert_int_equal(policy_eval_blk_image(&p, 0, "/srv/img/a.img", false, &v), -EPERM);
	assert_string_equal(v.rule, "devices.blk.read_only");
	assert_int_equal(policy_eval_blk_image(&p, 0, "/srv/img/../img/a.img", true, &v), -EINVAL);
	assert_int_equal(policy_eval_blk_image(&p, 0, NULL, true, &v), -EINVAL);
	policy_free(&p);
	parse_ok(minimal, &p); /* no devices section: no disk at all */
	assert_int_equal(policy_eval_blk_image(&p, 0, "/srv/img/a.img", true, &v), -EPERM);
	assert_string_equal(v.rule, "devices.blk");
	policy_free(&p);
}

/* A request's device without queues or queue_size asks for what carapace run would: its kind's
 * row of devices/devkinds.c (issue 13: the queue size is a fact of the kind). */
static void test_request_device_defaults_are_the_kinds_row(void **state)
{
	static const char text[] = "{\"requested\": \"none\", \"obtained\": \"none\", \"memory_mib\": 64, "
				   "\"vcpus\": 1, \"devices\": [{\"kind\": \"blk\", \"image\": \"/i\"}, "
				   "{\"kind\": \"rng\"}, {\"kind\": \"console\"}, {\"kind\": \"net\"}, "
				   "{\"kind\": \"vsock\", \"uds_path\": \"/run/v\"}, "
				   "{\"kind\": \"rng\", \"queues\": 2, \"queue_size\": 64}]}";
	struct policy_request_store *st = NULL;
	struct policy_launch_request q;
	struct cp_err err = { 0 };

	(void)state;
	if (policy_request_parse(text, sizeof(text) - 1, &q, &st, &err) < 0)
		fail_msg("request: %s", err.msg);
	assert_int_equal(q.n_devices, 6);
	for (unsigned i = 0; i < 5; i++) {
		const struct devkind *dk = devkind_get((enum devkind_id)q.devices[i].kind);
		assert_non_null(dk);
		assert_int_equal(q.devices[i].queues, dk->queues);
		assert_int_equal(q.devices[i].queue_size, dk->queue_size);
	}
	assert_int_equal(q.devices[5].queues, 2); /* given: kept */
	assert_int_equal(q.devices[5].queue_size, 64);
	policy_request_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_failure_leaves_nothing),
		cmocka_unit_test(test_rules_unique),
		cmocka_unit_test(test_tdx_bit63_roundtrip),
		cmocka_unit_test(test_isolation_matrix),
		cmocka_unit_test(test_malformed_and_extreme_requests),
		cmocka_unit_test(test_blk_image_alone),
		cmocka_unit_test(test_request_device_defaults_are_the_kinds_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

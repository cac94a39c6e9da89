/* The launch plan (runner/launch_plan.c): options + host facts + policy -> what to launch and
 * what to create. Pure, so every case runs here with made-up host facts: no KVM, no cgroup file
 * system, no TPM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/cli.h"
#include "devices/devkinds.h"
#include "runner/launch_plan.h"

#define POLICY(extra)                                                                                           \
	"{\"schema\": 1, \"name\": \"t\", \"isolation\": {\"type\": \"none\"}, "                              \
	"\"devices\": {\"blk\": {\"max\": 1, \"read_only\": true, \"images\": [\"/img/*.img\"]}, "           \
	"\"rng\": {\"max\": 1}}, "                                                                            \
	"\"resources\": {\"memory_max_mib\": 256, \"vcpus_max\": 2, "                                         \
	"\"cgroup\": {\"cpu_quota_us\": 50000, \"memory_max_mib\": 512, \"pids_max\": 64}}, "                 \
	"\"boot\": {\"kernel\": [\"/k/*\"], \"allow_cmdline\": true}" extra "}"

struct fixture {
	struct run_opts o;
	struct host_assessment host;
	struct policy pol;
	bool have_pol;
	struct vdev_spec specs[RUN_MAX_DEVICES];
	struct launch_plan_in in;
	struct launch_plan plan;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	run_opts_init(&f.o);
	f.o.memory = 128ull << 20;
	strcpy(f.host.snp.reason, "no SEV-SNP firmware here");
	strcpy(f.host.tdx.reason, "no TDX module here");
	f.in = (struct launch_plan_in){ .o = &f.o, .host = &f.host, .specs = f.specs, .cgroup_why = "no cgroup here" };
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	run_opts_free(&f->o);
	if (f->have_pol)
		policy_free(&f->pol);
	return 0;
}

static void set(struct fixture *f, const char *name, const char *value)
{
	struct cp_err err = { 0 };

	if (run_opts_set(&f->o, name, value, &err) < 0)
		fail_msg("--%s: %s", name, err.msg);
}

static void add_device(struct fixture *f, const char *spec)
{
	struct cp_err err = { 0 };

	set(f, "device", spec);
	if (vdev_spec_parse(spec, &f->specs[f->o.ndevices - 1], &err) < 0)
		fail_msg("%s: %s", spec, err.msg);
}

static void use_policy(struct fixture *f, const char *text)
{
	struct cp_err err = { 0 };

	if (policy_parse(text, strlen(text), &f->pol, &err) < 0)
		fail_msg("policy: %s", err.msg);
	f->have_pol = true;
	f->in.policy = &f->pol;
	f->o.policy = strdup("/p.json");
}

static const char *make(struct fixture *f)
{
	assert_int_equal(launch_plan_make(&f->in, &f->plan), 0);
	return f->plan.why;
}

static bool has_note(const struct launch_plan *p, const char *needle)
{
	for (unsigned i = 0; i < p->nnotes; i++)
		if (strstr(p->notes[i], needle))
			return true;
	return false;
}

static void test_plain(void **state)
{
	struct fixture *f = *state;

	add_device(f, "rng");
	set(f, "on-device-failure", "continue");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_OK);
	assert_int_equal(f->plan.obtained, POLICY_ISO_NONE);
	assert_false(f->plan.cgroup); /* a cgroup comes with a policy only */
	assert_false(f->plan.judged);
	assert_true(f->plan.device_failure_continue);
	assert_int_equal(f->plan.nnotes, 0);
}

static void test_confidential_required_without_platform(void **state)
{
	struct fixture *f = *state;

	set(f, "confidential", "required");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_FAILURE);
	assert_non_null(strstr(f->plan.why, "--confidential required: no confidential platform on this host: "
					    "no SEV-SNP firmware here; no TDX module here"));
	assert_int_equal(f->plan.requested, POLICY_ISO_SNP);
	assert_int_equal(f->plan.obtained, POLICY_ISO_NONE);
}

static void test_preferred_falls_back_loudly(void **state)
{
	struct fixture *f = *state;

	set(f, "confidential", "preferred");
	set(f, "platform", "tdx");
	set(f, "quote-service", "/qgs.sock");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_OK);
	assert_int_equal(f->plan.requested, POLICY_ISO_TDX);
	assert_int_equal(f->plan.obtained, POLICY_ISO_NONE);
	assert_true(has_note(&f->plan, "WARNING: --confidential preferred, but this host offers none (no TDX module here)"));
	assert_true(has_note(&f->plan, "running a PLAIN VM"));
	assert_true(has_note(&f->plan, "WARNING: --quote-service is unused: this VM fell back to plain KVM"));
}

static void test_confidential_only_option_needs_confidential(void **state)
{
	struct fixture *f = *state;

	set(f, "snp-certs", "/certs");
	assert_string_equal(make(f), "--snp-certs needs --confidential (it is for confidential guests)");
	assert_int_equal(f->plan.status, CP_EXIT_USAGE);
}

/* Every option the table marks confidential-only is refused on a plain VM, by name; and the
 * column says what the review listed. */
static void test_every_confidential_only_option(void **state)
{
	struct fixture *f = *state;
	unsigned n = 0;
	char want[128];

	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		if (d->cc == RUN_CC_NO)
			continue;
		assert_int_equal(d->scope, RUN_OPT_VM);
		n++;
		run_opts_free(&f->o);
		run_opts_init(&f->o);
		set(f, d->name, d->type == OPT_FLAG ? NULL : d->type == OPT_UINT ? "100000" : "x");
		make(f);
		snprintf(want, sizeof(want), "--%s needs --confidential (it is for confidential guests)", d->name);
		assert_string_equal(f->plan.why, want);
		assert_int_equal(f->plan.status, CP_EXIT_USAGE);
	}
	assert_int_equal(n, 8);
	assert_int_equal(run_opt_find("snp-certs")->cc, RUN_CC_SNP);
	assert_int_equal(run_opt_find("quote-service")->cc, RUN_CC_TDX);
	assert_int_equal(run_opt_find("firmware")->cc, RUN_CC_EITHER);
	assert_int_equal(run_opt_find("memory")->cc, RUN_CC_NO);
}

static void test_option_for_the_other_platform(void **state)
{
	struct fixture *f = *state;

	f->host.snp.available = true;
	set(f, "confidential", "required");
	set(f, "quote-service", "/qgs.sock");
	assert_string_equal(make(f), "--quote-service is for TDX guests; this launch is SEV-SNP");
	assert_int_equal(f->plan.status, CP_EXIT_USAGE);
	assert_int_equal(f->plan.obtained, POLICY_ISO_SNP);
}

/* With a policy and a host that can make the leaf: the plan says which leaf, with the policy's
 * ceilings, and the request the policy judged carries exactly those. */
static void test_policy_plans_the_cgroup(void **state)
{
	struct fixture *f = *state;

	use_policy(f, POLICY(", \"on_device_failure\": \"continue\""));
	f->in.cgroup_usable = true;
	f->in.kernel_real = "/k/vmlinux";
	f->in.tpm_present = true;
	add_device(f, "rng");
	add_device(f, "blk,path=/img/a.img,readonly=on");
	strcpy(f->specs[1].image_real, "/img/a.img");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_OK);
	assert_true(f->plan.judged);
	assert_true(f->plan.cgroup);
	assert_true(f->plan.cg_cpu_quota_us == 50000 && f->plan.cg_memory_max_mib == 512 && f->plan.cg_pids_max == 64);
	assert_true(f->plan.cg_cpu_period_us == f->pol.cg_cpu_period_us && f->plan.cg_cpu_period_us != 0);
	assert_true(f->plan.req.cg_cpu_quota_us == 50000 && f->plan.req.cg_memory_max_mib == 512 &&
		    f->plan.req.cg_pids_max == 64 && f->plan.req.cg_cpu_period_us == f->plan.cg_cpu_period_us);
	assert_string_equal(f->plan.req.kernel, "/k/vmlinux");
	assert_true(f->plan.req.tpm_present);
	assert_int_equal(f->plan.req.n_devices, 2);
	assert_ptr_equal(f->plan.req.devices, f->plan.devs);
	assert_int_equal(f->plan.devs[0].kind, POLICY_DEV_RNG);
	assert_int_equal(f->plan.devs[1].kind, POLICY_DEV_BLK);
	assert_string_equal(f->plan.devs[1].image, "/img/a.img");
	assert_true(f->plan.devs[1].read_only);
	assert_true(f->plan.device_failure_continue); /* the policy's, no option given */
	assert_int_equal(f->plan.nnotes, 0);
}

/* Every kind's queue count and queue size come from its row of devices/devkinds.c: one fact, one
 * place (issue 13). A policy that takes every kind; each device judged with its kind's row. */
static void test_devices_take_their_kinds_row(void **state)
{
	struct fixture *f = *state;
	static const char policy[] =
		"{\"schema\": 1, \"name\": \"t\", \"isolation\": {\"type\": \"none\"}, "
		"\"devices\": {\"blk\": {\"max\": 1, \"read_only\": true, \"images\": [\"/img/*.img\"]}, "
		"\"rng\": {\"max\": 1}, \"console\": {\"max\": 1}, \"net\": {\"max\": 1}, "
		"\"vsock\": {\"max\": 1, \"uds_paths\": [\"/tmp/*\"]}}, "
		"\"resources\": {\"memory_max_mib\": 256, \"vcpus_max\": 2, "
		"\"cgroup\": {\"cpu_quota_us\": 50000, \"memory_max_mib\": 512, \"pids_max\": 64}}, "
		"\"boot\": {\"kernel\": [\"/k/*\"], \"allow_cmdline\": true}}";

	use_policy(f, policy);
	f->in.cgroup_usable = true;
	f->in.kernel_real = "/k/vmlinux";
	add_device(f, "rng");
	add_device(f, "blk,path=/img/a.img,readonly=on");
	strcpy(f->specs[1].image_real, "/img/a.img");
	add_device(f, "console,path=/tmp/out");
	add_device(f, "net,tap=tap0");
	add_device(f, "vsock,cid=3,uds=/tmp/v.sock");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_OK);
	assert_true(f->plan.judged);
	assert_int_equal(f->plan.req.n_devices, 5);
	for (unsigned i = 0; i < 5; i++) {
		const struct devkind *dk = devkind_get(f->specs[i].kind);
		assert_non_null(dk);
		assert_int_equal(f->plan.devs[i].kind, (enum policy_dev_kind)f->specs[i].kind);
		assert_int_equal(f->plan.devs[i].queues, dk->queues);
		assert_int_equal(f->plan.devs[i].queue_size, dk->queue_size);
	}
}

/* A host that cannot make the leaf: nothing is planned, the request says no limits, and the
 * policy refuses (fail closed) after the note that says why. */
static void test_policy_without_cgroup_refuses(void **state)
{
	struct fixture *f = *state;

	use_policy(f, POLICY(""));
	f->in.cgroup_usable = false;
	make(f);
	assert_false(f->plan.cgroup);
	assert_true(f->plan.judged);
	assert_true(f->plan.req.cg_memory_max_mib == 0 && f->plan.req.cg_pids_max == 0);
	assert_true(has_note(&f->plan, "cgroup limits cannot be applied: no cgroup here"));
	assert_int_equal(f->plan.status, CP_EXIT_POLICY);
	assert_non_null(strstr(f->plan.why, "refused by launch policy 't': "));
	assert_non_null(strstr(f->plan.why, "resources.cgroup"));
}

static void test_policy_refusal_names_the_rule(void **state)
{
	struct fixture *f = *state;

	use_policy(f, POLICY(""));
	f->in.cgroup_usable = true;
	set(f, "vcpus", "4");
	set(f, "on-device-failure", "stop");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_POLICY);
	assert_non_null(strstr(f->plan.why, "resources.vcpus_max"));
	assert_true(f->plan.judged); /* --print-launch-request still shows what was judged */
	assert_int_equal(f->plan.req.vcpus, 4);
}

/* The option wins over the policy's on_device_failure. */
static void test_option_overrides_policy_failure_mode(void **state)
{
	struct fixture *f = *state;

	use_policy(f, POLICY(", \"on_device_failure\": \"continue\""));
	f->in.cgroup_usable = true;
	set(f, "on-device-failure", "stop");
	make(f);
	assert_int_equal(f->plan.status, CP_EXIT_OK);
	assert_false(f->plan.device_failure_continue);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confidential_required_without_platform, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preferred_falls_back_loudly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confidential_only_option_needs_confidential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_confidential_only_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_for_the_other_platform, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_plans_the_cgroup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_take_their_kinds_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_without_cgroup_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_refusal_names_the_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_overrides_policy_failure_mode, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Tested here for real: on this host (no SEV-SNP, no TDX) cc_launch with the real kernel ops
 * fails before creating anything, with an error naming what is missing. On a host that has the
 * feature the test skips visibly (the launch itself needs the hardware test in docs/CONFIDENTIAL.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/host_info.h"

static struct host_assessment host;

static void expect_not_available(enum cc_platform p, const struct host_verdict *v, const char *prefix)
{
	/* Any image will do: the capability check comes before the firmware is read. */
	static uint8_t fw[4096];
	struct cc_launch_cfg cfg = cfg_for(p, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	int r;

	cfg.firmware = fw;
	cfg.firmware_len = sizeof(fw);
	if (v->available) {
		print_message("SKIP: this host offers %s (%s); the refusal path cannot be tested here\n", prefix, v->reason);
		skip();
	}
	r = cc_launch(&kvm_ops_sys, NULL, &cfg, &vm, &err);
	print_message("%s\n", err.msg);
	assert_int_equal(r, -ENOTSUP);
	assert_int_equal(err.code, ENOTSUP);
	assert_non_null(strstr(err.msg, prefix));
	assert_non_null(strstr(err.msg, "is not available on this host: "));
	/* The reason is host-info's, word for word: one assessment, one message. */
	assert_non_null(strstr(err.msg, v->reason));
	assert_int_equal(vm.vm_fd, -1);
	assert_int_equal(vm.shared_fd, -1);
}

static void test_snp_not_available(void **state) { expect_not_available(CC_SNP, &host.snp, "SEV-SNP launch"); }
static void test_tdx_not_available(void **state) { expect_not_available(CC_TDX, &host.tdx, "TDX launch"); }

/* The probe reads what the double's kernel reports: the TDX CPUID bits a VMM may configure and
 * the SNP certificate-exit attribute, and the assessment names them. */
static void test_probe_on_the_double(void **state)
{
	struct kvm_double *kd = double_new();
	struct host_facts f;
	struct host_assessment a;

	host_info_probe(&kd_ops, kd, &f);
	assert_int_equal(f.tdx_caps_errno, 0);
	assert_true(f.tdx_cpuid_n > 0);
	assert_int_equal(f.tdx_cpuid[0].function, 1); /* the double lists leaf 1 first */
	assert_int_equal(f.snp_req_certs, 1);
	f.vendor[0] = 0;
	strcpy(f.vendor, "GenuineIntel");
	host_info_assess(&f, &a);
	assert_true(a.tdx.available);
	{
		char want[64];
		snprintf(want, sizeof(want), "%u CPUID leaves configurable", f.tdx_cpuid_n);
		assert_non_null(strstr(a.tdx.reason, want));
	}
	kd_free(kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_not_available),
		cmocka_unit_test(test_tdx_not_available),
		cmocka_unit_test(test_probe_on_the_double),
	};
	struct host_facts facts;

	host_info_probe(&kvm_ops_sys, NULL, &facts);
	host_info_assess(&facts, &host);
	if (host.snp.available && host.tdx.available) {
		printf("SKIP: this host offers both SEV-SNP and TDX\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

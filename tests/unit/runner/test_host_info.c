/* host-info assessment (pure): each missing piece is named with the reason and the fix. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "runner/host_info.h"

static struct host_facts base(const char *vendor)
{
	struct host_facts f;
	memset(&f, 0, sizeof(f));
	strcpy(f.vendor, vendor);
	f.api_version = 12;
	f.vm_types = 1;
	f.cap_guest_memfd = f.cap_user_memory2 = 1;
	f.max_vcpus = 1024;
	f.param_sev = f.param_sev_es = f.param_sev_snp = f.param_tdx = TRI_UNKNOWN;
	f.sev_open_errno = ENOENT;
	f.snp_status_errno = ENOTSUP;
	f.tdx_caps_errno = ENOTSUP;
	return f;
}

#define HAS(v, s) do { if (!strstr((v).reason, s)) fail_msg("'%s' lacks '%s'", (v).reason, s); } while (0)

static void test_this_kind_of_host(void **state)
{
	struct host_facts f = base("AuthenticAMD");
	struct host_assessment a;
	host_info_assess(&f, &a);
	assert_true(a.plain.available);
	assert_true(a.guest_memfd.available);
	assert_false(a.snp.available);
	HAS(a.snp, "CPUID 0x8000001F");
	assert_false(a.tdx.available);
	HAS(a.tdx, "this CPU is AuthenticAMD");
}

static void test_snp_reasons_in_order(void **state)
{
	struct host_facts f = base("AuthenticAMD");
	struct host_assessment a;
	f.cpu_snp = true;
	f.param_sev_snp = TRI_NO;
	host_info_assess(&f, &a);
	HAS(a.snp, "kvm_amd.sev_snp=N");
	f.param_sev_snp = TRI_YES;
	host_info_assess(&f, &a);
	HAS(a.snp, "/dev/sev is not available");
	f.sev_open_errno = 0;
	host_info_assess(&f, &a);
	HAS(a.snp, "Linux 6.11+");
	f.vm_types = 0x1d;
	f.snp_status_errno = 0;
	f.snp_api_major = 1;
	f.snp_api_minor = 55;
	f.snp_build = 21;
	host_info_assess(&f, &a);
	assert_true(a.snp.available);
	HAS(a.snp, "SNP firmware API 1.55 build 21");
	/* The certificate table needs Linux 7.0's attribute. */
	f.snp_req_certs = -ENXIO;
	host_info_assess(&f, &a);
	assert_false(a.snp_certs.available);
	HAS(a.snp_certs, "Linux 7.0+");
	f.snp_req_certs = 1;
	host_info_assess(&f, &a);
	assert_true(a.snp_certs.available);
	f.cap_guest_memfd = 0;
	host_info_assess(&f, &a);
	assert_false(a.snp.available);
	HAS(a.snp, "not guest_memfd");
	assert_false(a.snp_certs.available);
	HAS(a.snp_certs, "no SEV-SNP");
}

static void test_tdx(void **state)
{
	struct host_facts f = base("GenuineIntel");
	struct host_assessment a;
	f.param_tdx = TRI_NO;
	host_info_assess(&f, &a);
	HAS(a.tdx, "kvm_intel.tdx=N");
	f.param_tdx = TRI_YES;
	host_info_assess(&f, &a);
	HAS(a.tdx, "Linux 6.16+");
	f.vm_types = 0x21;
	f.tdx_caps_errno = EIO;
	host_info_assess(&f, &a);
	assert_false(a.tdx.available);
	HAS(a.tdx, "KVM_TDX_CAPABILITIES failed");
	f.tdx_caps_errno = 0;
	f.tdx_attrs = 0x10000001;
	host_info_assess(&f, &a);
	assert_true(a.tdx.available);
	HAS(a.tdx, "attributes 0x10000001");
	f.tdx_cpuid_n = 12;
	host_info_assess(&f, &a);
	HAS(a.tdx, "12 CPUID leaves configurable");
}

static void test_no_kvm(void **state)
{
	struct host_facts f = base("AuthenticAMD");
	struct host_assessment a;
	f.kvm_open_errno = EACCES;
	host_info_assess(&f, &a);
	assert_false(a.plain.available);
	HAS(a.plain, "'kvm' group");
	f.kvm_open_errno = ENOENT;
	host_info_assess(&f, &a);
	HAS(a.plain, "does not exist");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_this_kind_of_host), cmocka_unit_test(test_snp_reasons_in_order),
		cmocka_unit_test(test_tdx), cmocka_unit_test(test_no_kvm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

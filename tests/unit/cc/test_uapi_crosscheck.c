/* Two transcriptions of the kernel's confidential-computing uAPI exist on purpose: carapace's
 * (runner/kvm_cc_uapi.h) and the double's (tests/double/kd_uapi.h), made separately from the
 * kernel headers. Every number, struct size and field offset both carry is compared here, so a
 * mistake in either one fails this test instead of being echoed by the double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "runner/kvm_cc_uapi.h"
#include "tests/double/kd_uapi.h"

struct pair {
	const char *name;
	unsigned long long cp, kd;
};

#define SAME(x) { #x, (unsigned long long)(CP_##x), (unsigned long long)(KD_##x) }
#define SIZE(s) { "sizeof " #s, sizeof(struct cp_##s), sizeof(struct kd_##s) }
#define OFF(s, f) { #s "." #f, offsetof(struct cp_##s, f), offsetof(struct kd_##s, f) }

static const struct pair numbers[] = {
	SAME(KVMIO), SAME(KVM_X86_DEFAULT_VM), SAME(KVM_X86_SW_PROTECTED_VM), SAME(KVM_X86_SEV_VM),
	SAME(KVM_X86_SEV_ES_VM), SAME(KVM_X86_SNP_VM), SAME(KVM_X86_TDX_VM),
	SAME(KVM_CAP_EXIT_HYPERCALL), SAME(KVM_CAP_VM_TSC_CONTROL), SAME(KVM_CAP_USER_MEMORY2),
	SAME(KVM_CAP_MEMORY_FAULT_INFO), SAME(KVM_CAP_MEMORY_ATTRIBUTES), SAME(KVM_CAP_GUEST_MEMFD),
	SAME(KVM_CAP_VM_TYPES), SAME(KVM_CAP_PRE_FAULT_MEMORY), SAME(KVM_CAP_X86_APIC_BUS_CYCLES_NS),
	SAME(KVM_CAP_GUEST_MEMFD_FLAGS), SAME(KVM_HC_MAP_GPA_RANGE), SAME(KVM_MAP_GPA_RANGE_ENCRYPTED),
	SAME(GUEST_MEMFD_FLAG_MMAP), SAME(GUEST_MEMFD_FLAG_INIT_SHARED), SAME(KVM_MEM_GUEST_MEMFD),
	SAME(KVM_MEMORY_ATTRIBUTE_PRIVATE),
	SAME(KVM_SET_USER_MEMORY_REGION2), SAME(KVM_SET_TSC_KHZ), SAME(KVM_GET_TSC_KHZ),
	SAME(KVM_MEMORY_ENCRYPT_OP), SAME(KVM_SET_MEMORY_ATTRIBUTES), SAME(KVM_CREATE_GUEST_MEMFD),
	SAME(KVM_EXIT_MEMORY_FAULT), SAME(KVM_EXIT_TDX), SAME(KVM_EXIT_SNP_REQ_CERTS),
	SAME(KVM_SYSTEM_EVENT_SEV_TERM), SAME(KVM_SYSTEM_EVENT_TDX_FATAL), SAME(KVM_MEMORY_EXIT_FLAG_PRIVATE),
	SAME(KVM_RUN_UNION_OFFSET),
	SAME(KVM_SEV_INIT), SAME(KVM_SEV_LAUNCH_FINISH), SAME(KVM_SEV_INIT2), SAME(KVM_SEV_SNP_LAUNCH_START),
	SAME(KVM_SEV_SNP_LAUNCH_UPDATE), SAME(KVM_SEV_SNP_LAUNCH_FINISH), SAME(KVM_SEV_SNP_ENABLE_REQ_CERTS),
	SAME(KVM_X86_GRP_SEV), SAME(KVM_X86_SEV_VMSA_FEATURES), SAME(KVM_X86_SNP_POLICY_BITS),
	SAME(KVM_X86_SEV_SNP_REQ_CERTS),
	SAME(KVM_SEV_SNP_PAGE_TYPE_NORMAL), SAME(KVM_SEV_SNP_PAGE_TYPE_ZERO), SAME(KVM_SEV_SNP_PAGE_TYPE_UNMEASURED),
	SAME(KVM_SEV_SNP_PAGE_TYPE_SECRETS), SAME(KVM_SEV_SNP_PAGE_TYPE_CPUID),
	SAME(SNP_POLICY_SMT), SAME(SNP_POLICY_RSVD_MBO), SAME(SNP_POLICY_DEBUG), SAME(SNP_POLICY_SINGLE_SOCKET),
	SAME(SEV_RET_INVALID_PARAM),
	SAME(SEV_ISSUE_CMD), SAME(SEV_PLATFORM_STATUS), SAME(SEV_SNP_PLATFORM_STATUS),
	SAME(KVM_TDX_CAPABILITIES), SAME(KVM_TDX_INIT_VM), SAME(KVM_TDX_INIT_VCPU), SAME(KVM_TDX_INIT_MEM_REGION),
	SAME(KVM_TDX_FINALIZE_VM), SAME(KVM_TDX_GET_CPUID), SAME(KVM_TDX_MEASURE_MEMORY_REGION),
	SAME(TDX_ATTR_DEBUG), SAME(TDX_ATTR_SEPT_VE_DISABLE),
	SAME(TDVMCALL_GET_TD_VM_CALL_INFO), SAME(TDVMCALL_MAP_GPA), SAME(TDVMCALL_GET_QUOTE),
	SAME(TDVMCALL_SETUP_EVENT_NOTIFY), SAME(TDVMCALL_STATUS_SUCCESS), SAME(TDVMCALL_STATUS_RETRY),
	SAME(TDVMCALL_STATUS_INVALID_OPERAND), SAME(TDVMCALL_STATUS_ALIGN_ERROR),
	SAME(TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED),
};

static const struct pair layouts[] = {
	SIZE(kvm_create_guest_memfd), OFF(kvm_create_guest_memfd, flags), OFF(kvm_create_guest_memfd, reserved),
	SIZE(kvm_userspace_memory_region2), OFF(kvm_userspace_memory_region2, guest_phys_addr),
	OFF(kvm_userspace_memory_region2, memory_size), OFF(kvm_userspace_memory_region2, userspace_addr),
	OFF(kvm_userspace_memory_region2, guest_memfd_offset), OFF(kvm_userspace_memory_region2, guest_memfd),
	OFF(kvm_userspace_memory_region2, pad2),
	SIZE(kvm_memory_attributes), OFF(kvm_memory_attributes, attributes), OFF(kvm_memory_attributes, flags),
	SIZE(kvm_run_memory_fault), OFF(kvm_run_memory_fault, gpa), OFF(kvm_run_memory_fault, size),
	SIZE(kvm_run_tdx), OFF(kvm_run_tdx, nr), OFF(kvm_run_tdx, get_quote.ret), OFF(kvm_run_tdx, get_quote.gpa),
	OFF(kvm_run_tdx, get_quote.size), OFF(kvm_run_tdx, get_tdvmcall_info.leaf), OFF(kvm_run_tdx, get_tdvmcall_info.r14),
	OFF(kvm_run_tdx, setup_event_notify.vector),
	SIZE(kvm_run_snp_req_certs), OFF(kvm_run_snp_req_certs, npages), OFF(kvm_run_snp_req_certs, ret),
	SIZE(kvm_sev_cmd), OFF(kvm_sev_cmd, data), OFF(kvm_sev_cmd, error), OFF(kvm_sev_cmd, sev_fd),
	SIZE(kvm_sev_init), OFF(kvm_sev_init, flags), OFF(kvm_sev_init, ghcb_version), OFF(kvm_sev_init, pad2),
	SIZE(kvm_sev_snp_launch_start), OFF(kvm_sev_snp_launch_start, gosvw), OFF(kvm_sev_snp_launch_start, flags),
	OFF(kvm_sev_snp_launch_start, pad1),
	SIZE(kvm_sev_snp_launch_update), OFF(kvm_sev_snp_launch_update, uaddr), OFF(kvm_sev_snp_launch_update, len),
	OFF(kvm_sev_snp_launch_update, type), OFF(kvm_sev_snp_launch_update, flags), OFF(kvm_sev_snp_launch_update, pad2),
	SIZE(kvm_sev_snp_launch_finish), OFF(kvm_sev_snp_launch_finish, id_auth_uaddr),
	OFF(kvm_sev_snp_launch_finish, id_block_en), OFF(kvm_sev_snp_launch_finish, auth_key_en),
	OFF(kvm_sev_snp_launch_finish, vcek_disabled), OFF(kvm_sev_snp_launch_finish, host_data),
	OFF(kvm_sev_snp_launch_finish, flags), OFF(kvm_sev_snp_launch_finish, pad1),
	SIZE(sev_issue_cmd), OFF(sev_issue_cmd, data), OFF(sev_issue_cmd, error),
	SIZE(kvm_tdx_cmd), OFF(kvm_tdx_cmd, flags), OFF(kvm_tdx_cmd, data), OFF(kvm_tdx_cmd, hw_error),
	SIZE(kvm_tdx_capabilities), OFF(kvm_tdx_capabilities, supported_xfam),
	OFF(kvm_tdx_capabilities, user_tdvmcallinfo_1_r11), OFF(kvm_tdx_capabilities, user_tdvmcallinfo_1_r12),
	OFF(kvm_tdx_capabilities, supported_caps), OFF(kvm_tdx_capabilities, cpuid),
	SIZE(kvm_tdx_init_vm), OFF(kvm_tdx_init_vm, xfam), OFF(kvm_tdx_init_vm, mrconfigid), OFF(kvm_tdx_init_vm, mrowner),
	OFF(kvm_tdx_init_vm, mrownerconfig), OFF(kvm_tdx_init_vm, reserved), OFF(kvm_tdx_init_vm, cpuid),
	SIZE(kvm_tdx_init_mem_region), OFF(kvm_tdx_init_mem_region, gpa), OFF(kvm_tdx_init_mem_region, nr_pages),
	SIZE(kvm_cpuid2_hdr), OFF(kvm_cpuid2_hdr, padding),
};

static unsigned compare(const struct pair *p, size_t n)
{
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].cp != p[i].kd) {
			printf("MISMATCH %s: runner/kvm_cc_uapi.h says 0x%llx, tests/double/kd_uapi.h says 0x%llx\n", p[i].name,
			       p[i].cp, p[i].kd);
			bad++;
		}
	return bad;
}

static void numbers_agree(void **state)
{
	(void)state;
	assert_int_equal(compare(numbers, sizeof(numbers) / sizeof(numbers[0])), 0);
}

static void layouts_agree(void **state)
{
	(void)state;
	assert_int_equal(compare(layouts, sizeof(layouts) / sizeof(layouts[0])), 0);
}

/* The comparison itself can fail: a pair that differs is reported (a test that cannot fail
 * proves nothing). */
static void a_difference_is_caught(void **state)
{
	static const struct pair wrong[] = { { "KVM_EXIT_SNP_REQ_CERTS as first posted", 42, KD_KVM_EXIT_SNP_REQ_CERTS } };
	(void)state;
	assert_int_equal(compare(wrong, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_agree),
		cmocka_unit_test(layouts_agree),
		cmocka_unit_test(a_difference_is_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

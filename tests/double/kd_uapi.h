/* The double's own transcription of the KVM confidential-computing uAPI, made from the kernel's
 * headers independently of carapace's runner/kvm_cc_uapi.h (which the double must never include:
 * a wrong number there would otherwise be echoed here and pass). tests/unit/cc/test_uapi_crosscheck.c
 * compares both transcriptions, so an error in either fails a test.
 *
 * Sources, each block below names its own (Linux v6.18 unless stated otherwise):
 *   include/uapi/linux/kvm.h           (VM-independent ioctls, exits, capabilities, guest_memfd)
 *   arch/x86/include/uapi/asm/kvm.h    (VM types, SEV and TDX structures and command ids)
 *   include/uapi/linux/kvm_para.h      (KVM_HC_MAP_GPA_RANGE)
 *   include/uapi/linux/psp-sev.h       (SEV_ISSUE_CMD on /dev/sev)
 *   arch/x86/kvm/vmx/tdx.h, arch/x86/include/asm/shared/tdx.h (TDVMCALL leaves and status codes)
 * Debian 12's linux-libc-dev (6.1) supplies struct kvm_run and the pre-6.1 ioctls through
 * <linux/kvm.h>; that is the kernel's header, not a project header. */
#ifndef CARAPACE_TESTS_DOUBLE_KD_UAPI_H
#define CARAPACE_TESTS_DOUBLE_KD_UAPI_H

#include <linux/ioctl.h>
#include <stdint.h>

#define KD_KVMIO 0xAE

/* arch/x86/include/uapi/asm/kvm.h (v6.16: TDX added type 5) */
#define KD_KVM_X86_DEFAULT_VM 0
#define KD_KVM_X86_SW_PROTECTED_VM 1
#define KD_KVM_X86_SEV_VM 2
#define KD_KVM_X86_SEV_ES_VM 3
#define KD_KVM_X86_SNP_VM 4
#define KD_KVM_X86_TDX_VM 5

/* include/uapi/linux/kvm.h, KVM_CAP_* (v6.18) */
#define KD_KVM_CAP_EXIT_HYPERCALL 201
#define KD_KVM_CAP_VM_TSC_CONTROL 214
#define KD_KVM_CAP_USER_MEMORY2 231
#define KD_KVM_CAP_MEMORY_FAULT_INFO 232
#define KD_KVM_CAP_MEMORY_ATTRIBUTES 233
#define KD_KVM_CAP_GUEST_MEMFD 234
#define KD_KVM_CAP_VM_TYPES 235
#define KD_KVM_CAP_PRE_FAULT_MEMORY 236
#define KD_KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#define KD_KVM_CAP_GUEST_MEMFD_FLAGS 244

/* include/uapi/linux/kvm_para.h */
#define KD_KVM_HC_MAP_GPA_RANGE 12
/* include/uapi/linux/kvm_para.h: MAP_GPA_RANGE attributes (args[2]) */
#define KD_KVM_MAP_GPA_RANGE_PAGE_SZ_4K 0
#define KD_KVM_MAP_GPA_RANGE_PAGE_SZ_2M 1
#define KD_KVM_MAP_GPA_RANGE_PAGE_SZ_1G 2
#define KD_KVM_MAP_GPA_RANGE_ENCRYPTED (1ull << 4)
#define KD_KVM_MAP_GPA_RANGE_DECRYPTED 0
/* GHCB MSR protocol, Page State Change (GHCB spec 2.x, section 2.3.1; Linux
 * arch/x86/include/asm/sev-common.h): request 0x014 with GFN in [51:12] and op in [55:52]
 * (1 private, 2 shared); response 0x015 with an error code in [63:32]; KVM's generic error is
 * bit 63 set (GHCB_MSR_PSC_RESP_ERROR). */
#define KD_GHCB_MSR_PSC_REQ 0x014ull
#define KD_GHCB_MSR_PSC_RESP 0x015ull
#define KD_GHCB_MSR_PSC_RESP_ERROR (1ull << 63 | KD_GHCB_MSR_PSC_RESP)
#define KD_SNP_PAGE_STATE_PRIVATE 1
#define KD_SNP_PAGE_STATE_SHARED 2

/* include/uapi/linux/kvm.h: struct kvm_create_guest_memfd, kvm_userspace_memory_region2,
 * kvm_memory_attributes (v6.8), GUEST_MEMFD_FLAG_* (v6.18) */
struct kd_kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
#define KD_GUEST_MEMFD_FLAG_MMAP (1ull << 0)
#define KD_GUEST_MEMFD_FLAG_INIT_SHARED (1ull << 1)

struct kd_kvm_userspace_memory_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};
#define KD_KVM_MEM_GUEST_MEMFD (1u << 2)

struct kd_kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};
#define KD_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

/* include/uapi/linux/kvm.h: ioctl numbers */
#define KD_KVM_SET_USER_MEMORY_REGION2 _IOW(KD_KVMIO, 0x49, struct kd_kvm_userspace_memory_region2)
#define KD_KVM_SET_TSC_KHZ _IO(KD_KVMIO, 0xa2)
#define KD_KVM_GET_TSC_KHZ _IO(KD_KVMIO, 0xa3)
#define KD_KVM_MEMORY_ENCRYPT_OP _IOWR(KD_KVMIO, 0xba, unsigned long)
#define KD_KVM_SET_MEMORY_ATTRIBUTES _IOW(KD_KVMIO, 0xd2, struct kd_kvm_memory_attributes)
#define KD_KVM_CREATE_GUEST_MEMFD _IOWR(KD_KVMIO, 0xd4, struct kd_kvm_create_guest_memfd)

/* include/uapi/linux/kvm.h: exit reasons after 6.1. 42 is KVM_EXIT_ARM_LDST64B (merged for
 * v7.0 before the SNP certificate exit, which therefore became 43). */
#define KD_KVM_EXIT_MEMORY_FAULT 39
#define KD_KVM_EXIT_TDX 40
#define KD_KVM_EXIT_ARM_SEA 41
#define KD_KVM_EXIT_ARM_LDST64B 42
#define KD_KVM_EXIT_SNP_REQ_CERTS 43
/* include/uapi/linux/kvm.h: KVM_SYSTEM_EVENT_* types */
#define KD_KVM_SYSTEM_EVENT_SEV_TERM 6
#define KD_KVM_SYSTEM_EVENT_TDX_FATAL 7
/* include/uapi/linux/kvm.h: memory_fault.flags */
#define KD_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)
/* include/uapi/linux/kvm.h: struct kvm_run's exit union starts at byte 32 on x86 */
#define KD_KVM_RUN_UNION_OFFSET 32

/* include/uapi/linux/kvm.h: kvm_run.memory_fault */
struct kd_kvm_run_memory_fault {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};
/* include/uapi/linux/kvm.h: kvm_run.tdx (v6.16; setup_event_notify v6.17) */
struct kd_kvm_run_tdx {
	uint64_t flags;
	uint64_t nr;
	union {
		struct { uint64_t ret, data[5]; } unknown;
		struct { uint64_t ret, gpa, size; } get_quote;
		struct { uint64_t ret, leaf, r11, r12, r13, r14; } get_tdvmcall_info;
		struct { uint64_t ret, vector; } setup_event_notify;
	};
};
/* include/uapi/linux/kvm.h: kvm_run.snp_req_certs (v7.0) */
struct kd_kvm_run_snp_req_certs {
	uint64_t gpa;
	uint64_t npages;
	uint64_t ret;
};

/* arch/x86/include/uapi/asm/kvm.h: SEV (struct kvm_sev_cmd, kvm_sev_init, SNP launch structs) */
struct kd_kvm_sev_cmd {
	uint32_t id;
	uint32_t pad0;
	uint64_t data;
	uint32_t error;
	uint32_t sev_fd;
};
struct kd_kvm_sev_init {
	uint64_t vmsa_features;
	uint32_t flags;
	uint16_t ghcb_version;
	uint16_t pad1;
	uint32_t pad2[8];
};
struct kd_kvm_sev_snp_launch_start {
	uint64_t policy;
	uint8_t gosvw[16];
	uint16_t flags;
	uint8_t pad0[6];
	uint64_t pad1[4];
};
struct kd_kvm_sev_snp_launch_update {
	uint64_t gfn_start;
	uint64_t uaddr;
	uint64_t len;
	uint8_t type;
	uint8_t pad0;
	uint16_t flags;
	uint32_t pad1;
	uint64_t pad2[4];
};
struct kd_kvm_sev_snp_launch_finish {
	uint64_t id_block_uaddr;
	uint64_t id_auth_uaddr;
	uint8_t id_block_en;
	uint8_t auth_key_en;
	uint8_t vcek_disabled;
	uint8_t host_data[32];
	uint8_t pad0[3];
	uint16_t flags;
	uint64_t pad1[4];
};
/* arch/x86/include/uapi/asm/kvm.h: enum sev_cmd_id */
#define KD_KVM_SEV_INIT 0
#define KD_KVM_SEV_LAUNCH_FINISH 7
#define KD_KVM_SEV_INIT2 22
#define KD_KVM_SEV_SNP_LAUNCH_START 100
#define KD_KVM_SEV_SNP_LAUNCH_UPDATE 101
#define KD_KVM_SEV_SNP_LAUNCH_FINISH 102
#define KD_KVM_SEV_SNP_ENABLE_REQ_CERTS 103 /* v7.0 */
/* arch/x86/include/uapi/asm/kvm.h: KVM_X86_GRP_SEV attributes */
#define KD_KVM_X86_GRP_SEV 1
#define KD_KVM_X86_SEV_VMSA_FEATURES 0
#define KD_KVM_X86_SNP_POLICY_BITS 1
#define KD_KVM_X86_SEV_SNP_REQ_CERTS 2 /* v7.0 */
/* arch/x86/include/uapi/asm/kvm.h: KVM_SEV_SNP_PAGE_TYPE_* */
#define KD_KVM_SEV_SNP_PAGE_TYPE_NORMAL 1
#define KD_KVM_SEV_SNP_PAGE_TYPE_ZERO 3
#define KD_KVM_SEV_SNP_PAGE_TYPE_UNMEASURED 4
#define KD_KVM_SEV_SNP_PAGE_TYPE_SECRETS 5
#define KD_KVM_SEV_SNP_PAGE_TYPE_CPUID 6
/* arch/x86/kvm/svm/sev.c (v6.16): SNP_POLICY_MASK_* the kernel checks in snp_launch_start() */
#define KD_SNP_POLICY_SMT (1ull << 16)
#define KD_SNP_POLICY_RSVD_MBO (1ull << 17)
#define KD_SNP_POLICY_DEBUG (1ull << 19)
#define KD_SNP_POLICY_SINGLE_SOCKET (1ull << 20)
/* include/linux/psp-sev.h: SEV_RET_INVALID_PARAM, the status of a rejected CPUID page */
#define KD_SEV_RET_INVALID_PARAM 0x16

/* include/uapi/linux/psp-sev.h: SEV_ISSUE_CMD (packed) and the commands the double answers */
struct __attribute__((packed)) kd_sev_issue_cmd {
	uint32_t cmd;
	uint64_t data;
	uint32_t error;
};
#define KD_SEV_ISSUE_CMD _IOWR('S', 0x0, struct kd_sev_issue_cmd)
#define KD_SEV_PLATFORM_STATUS 1
#define KD_SEV_SNP_PLATFORM_STATUS 9

/* arch/x86/include/uapi/asm/kvm.h: TDX (v6.16) */
struct kd_kvm_tdx_cmd {
	uint32_t id;
	uint32_t flags;
	uint64_t data;
	uint64_t hw_error;
};
#define KD_KVM_TDX_CAPABILITIES 0
#define KD_KVM_TDX_INIT_VM 1
#define KD_KVM_TDX_INIT_VCPU 2
#define KD_KVM_TDX_INIT_MEM_REGION 3
#define KD_KVM_TDX_FINALIZE_VM 4
#define KD_KVM_TDX_GET_CPUID 5
#define KD_KVM_TDX_MEASURE_MEMORY_REGION (1u << 0)

struct kd_kvm_cpuid2_hdr { /* struct kvm_cpuid2 without its flexible array */
	uint32_t nent;
	uint32_t padding;
};
struct kd_kvm_tdx_capabilities {
	uint64_t supported_attrs;
	uint64_t supported_xfam;
	uint64_t kernel_tdvmcallinfo_1_r11;
	uint64_t user_tdvmcallinfo_1_r11;
	uint64_t kernel_tdvmcallinfo_1_r12;
	uint64_t user_tdvmcallinfo_1_r12;
	uint64_t supported_caps;
	uint64_t reserved[249];
	struct kd_kvm_cpuid2_hdr cpuid;
};
struct kd_kvm_tdx_init_vm {
	uint64_t attributes;
	uint64_t xfam;
	uint64_t mrconfigid[6];
	uint64_t mrowner[6];
	uint64_t mrownerconfig[6];
	uint64_t reserved[12];
	struct kd_kvm_cpuid2_hdr cpuid;
};
struct kd_kvm_tdx_init_mem_region {
	uint64_t source_addr;
	uint64_t gpa;
	uint64_t nr_pages;
};
/* arch/x86/kvm/vmx/tdx_arch.h: TD attributes */
#define KD_TDX_ATTR_DEBUG (1ull << 0)
#define KD_TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)

/* arch/x86/include/asm/shared/tdx.h: TDVMCALL leaves and status codes (GHCI 1.5) */
#define KD_TDVMCALL_GET_TD_VM_CALL_INFO 0x10000
#define KD_TDVMCALL_MAP_GPA 0x10001
#define KD_TDVMCALL_GET_QUOTE 0x10002
#define KD_TDVMCALL_SETUP_EVENT_NOTIFY 0x10004
#define KD_TDVMCALL_STATUS_SUCCESS 0ull
#define KD_TDVMCALL_STATUS_RETRY 1ull
#define KD_TDVMCALL_STATUS_INVALID_OPERAND 0x8000000000000000ull
#define KD_TDVMCALL_STATUS_ALIGN_ERROR 0x8000000000000002ull
#define KD_TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED 0x8000000000000003ull
/* arch/x86/kvm/vmx/tdx.c: TDX_MAP_GPA_MAX_LEN, the chunk size of MapGPA exits */
#define KD_TDX_MAP_GPA_MAX_LEN (2ull << 20)

#endif

/* The KVM confidential-computing uAPI that Debian 12's headers (Linux 6.1) lack: VM types,
 * guest_memfd, memory attributes, SEV/SEV-SNP and TDX commands. Facts from the kernel's
 * include/uapi/linux/kvm.h, arch/x86/include/uapi/asm/kvm.h and Documentation/virt/kvm/ (6.18),
 * carried under carapace's own names (CP_) so the file compiles against old and new headers alike.
 * Every size and offset the kernel documents is asserted at compile time. */
#ifndef CARAPACE_RUNNER_KVM_CC_UAPI_H
#define CARAPACE_RUNNER_KVM_CC_UAPI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#define CP_KVMIO 0xAE

/* VM types (KVM_CREATE_VM's argument) and the capability listing them as 1 << type. */
#define CP_KVM_X86_DEFAULT_VM 0
#define CP_KVM_X86_SW_PROTECTED_VM 1
#define CP_KVM_X86_SEV_VM 2
#define CP_KVM_X86_SEV_ES_VM 3
#define CP_KVM_X86_SNP_VM 4
#define CP_KVM_X86_TDX_VM 5

#define CP_KVM_CAP_VM_TSC_CONTROL 214 /* KVM_SET_TSC_KHZ / KVM_GET_TSC_KHZ also on the VM fd */
#define CP_KVM_CAP_EXIT_HYPERCALL 201
#define CP_KVM_CAP_USER_MEMORY2 231
#define CP_KVM_CAP_MEMORY_FAULT_INFO 232
#define CP_KVM_CAP_MEMORY_ATTRIBUTES 233
#define CP_KVM_CAP_GUEST_MEMFD 234
#define CP_KVM_CAP_VM_TYPES 235
#define CP_KVM_CAP_PRE_FAULT_MEMORY 236
#define CP_KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#define CP_KVM_CAP_GUEST_MEMFD_FLAGS 244
#define CP_KVM_HC_MAP_GPA_RANGE 12

/* guest_memfd, memslots, attributes */
struct cp_kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
#define CP_GUEST_MEMFD_FLAG_MMAP (1ull << 0)
#define CP_GUEST_MEMFD_FLAG_INIT_SHARED (1ull << 1)

struct cp_kvm_userspace_memory_region2 {
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
#define CP_KVM_MEM_GUEST_MEMFD (1u << 2)

struct cp_kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};
#define CP_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

#define CP_KVM_SET_USER_MEMORY_REGION2 _IOW(CP_KVMIO, 0x49, struct cp_kvm_userspace_memory_region2)
#define CP_KVM_SET_MEMORY_ATTRIBUTES _IOW(CP_KVMIO, 0xd2, struct cp_kvm_memory_attributes)
#define CP_KVM_CREATE_GUEST_MEMFD _IOWR(CP_KVMIO, 0xd4, struct cp_kvm_create_guest_memfd)
#define CP_KVM_MEMORY_ENCRYPT_OP _IOWR(CP_KVMIO, 0xba, unsigned long)
/* TSC frequency in kHz, passed by value. On the VM fd (with KVM_CAP_VM_TSC_CONTROL) it sets the
 * frequency of vCPUs created later (0 = the host's); a TD takes it at KVM_TDX_INIT_VM, in units
 * of 25 MHz. KVM_GET_TSC_KHZ on the VM fd returns that default (the host's until set). */
#define CP_KVM_SET_TSC_KHZ _IO(CP_KVMIO, 0xa2)
#define CP_KVM_GET_TSC_KHZ _IO(CP_KVMIO, 0xa3)

/* SEV / SEV-ES / SEV-SNP (KVM_MEMORY_ENCRYPT_OP with struct cp_kvm_sev_cmd) */
struct cp_kvm_sev_cmd {
	uint32_t id;
	uint32_t pad0;
	uint64_t data;
	uint32_t error;
	uint32_t sev_fd;
};

struct cp_kvm_sev_init {
	uint64_t vmsa_features;
	uint32_t flags;
	uint16_t ghcb_version;
	uint16_t pad1;
	uint32_t pad2[8];
};

struct cp_kvm_sev_snp_launch_start {
	uint64_t policy;
	uint8_t gosvw[16];
	uint16_t flags;
	uint8_t pad0[6];
	uint64_t pad1[4];
};

struct cp_kvm_sev_snp_launch_update {
	uint64_t gfn_start;
	uint64_t uaddr;
	uint64_t len;
	uint8_t type;
	uint8_t pad0;
	uint16_t flags;
	uint32_t pad1;
	uint64_t pad2[4];
};

struct cp_kvm_sev_snp_launch_finish {
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

enum cp_sev_cmd_id {
	CP_KVM_SEV_INIT = 0,
	CP_KVM_SEV_ES_INIT = 1,
	CP_KVM_SEV_LAUNCH_START = 2,
	CP_KVM_SEV_LAUNCH_UPDATE_DATA = 3,
	CP_KVM_SEV_LAUNCH_UPDATE_VMSA = 4,
	CP_KVM_SEV_LAUNCH_SECRET = 5,
	CP_KVM_SEV_LAUNCH_MEASURE = 6,
	CP_KVM_SEV_LAUNCH_FINISH = 7,
	CP_KVM_SEV_GET_ATTESTATION_REPORT = 20,
	CP_KVM_SEV_INIT2 = 22,
	CP_KVM_SEV_SNP_LAUNCH_START = 100,
	CP_KVM_SEV_SNP_LAUNCH_UPDATE = 101,
	CP_KVM_SEV_SNP_LAUNCH_FINISH = 102,
	CP_KVM_SEV_SNP_ENABLE_REQ_CERTS = 103, /* Linux 7.0: VM scope, SNP only, before any vCPU */
};

/* Device attributes of /dev/kvm (KVM_HAS_DEVICE_ATTR / KVM_GET_DEVICE_ATTR), group SEV. */
#define CP_KVM_X86_GRP_SEV 1
#define CP_KVM_X86_SEV_VMSA_FEATURES 0
#define CP_KVM_X86_SNP_POLICY_BITS 1
#define CP_KVM_X86_SEV_SNP_REQ_CERTS 2 /* 1: KVM_EXIT_SNP_REQ_CERTS exists (Linux 7.0) */

enum cp_snp_page_type {
	CP_KVM_SEV_SNP_PAGE_TYPE_NORMAL = 1,
	CP_KVM_SEV_SNP_PAGE_TYPE_ZERO = 3,
	CP_KVM_SEV_SNP_PAGE_TYPE_UNMEASURED = 4,
	CP_KVM_SEV_SNP_PAGE_TYPE_SECRETS = 5,
	CP_KVM_SEV_SNP_PAGE_TYPE_CPUID = 6,
};

/* SNP guest policy bits */
#define CP_SNP_POLICY_SMT (1ull << 16)
#define CP_SNP_POLICY_RSVD_MBO (1ull << 17)
#define CP_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define CP_SNP_POLICY_DEBUG (1ull << 19)
#define CP_SNP_POLICY_SINGLE_SOCKET (1ull << 20)

/* /dev/sev */
struct __attribute__((packed)) cp_sev_issue_cmd {
	uint32_t cmd;
	uint64_t data;
	uint32_t error;
};
#define CP_SEV_ISSUE_CMD _IOWR('S', 0x0, struct cp_sev_issue_cmd)
#define CP_SEV_PLATFORM_STATUS 1
#define CP_SEV_SNP_PLATFORM_STATUS 9
/* include/linux/psp-sev.h: the firmware status of a LAUNCH_UPDATE the PSP refused for its
 * parameters (a CPUID page it does not accept comes back with this one). */
#define CP_SEV_RET_INVALID_PARAM 0x16

/* TDX (KVM_MEMORY_ENCRYPT_OP with struct cp_kvm_tdx_cmd) */
struct cp_kvm_tdx_cmd {
	uint32_t id;
	uint32_t flags;
	uint64_t data;
	uint64_t hw_error;
};

enum cp_tdx_cmd_id {
	CP_KVM_TDX_CAPABILITIES = 0,
	CP_KVM_TDX_INIT_VM = 1,
	CP_KVM_TDX_INIT_VCPU = 2,
	CP_KVM_TDX_INIT_MEM_REGION = 3,
	CP_KVM_TDX_FINALIZE_VM = 4,
	CP_KVM_TDX_GET_CPUID = 5,
	CP_KVM_TDX_TERMINATE_VM = 6,
};
#define CP_KVM_TDX_MEASURE_MEMORY_REGION (1u << 0)

/* struct kvm_cpuid2 header as the TDX structs embed it (entries follow). */
struct cp_kvm_cpuid2_hdr {
	uint32_t nent;
	uint32_t padding;
};

struct cp_kvm_tdx_capabilities {
	uint64_t supported_attrs;
	uint64_t supported_xfam;
	uint64_t kernel_tdvmcallinfo_1_r11;
	uint64_t user_tdvmcallinfo_1_r11;
	uint64_t kernel_tdvmcallinfo_1_r12;
	uint64_t user_tdvmcallinfo_1_r12;
	uint64_t supported_caps;
	uint64_t reserved[249];
	struct cp_kvm_cpuid2_hdr cpuid;
};

struct cp_kvm_tdx_init_vm {
	uint64_t attributes;
	uint64_t xfam;
	uint64_t mrconfigid[6];
	uint64_t mrowner[6];
	uint64_t mrownerconfig[6];
	uint64_t reserved[12];
	struct cp_kvm_cpuid2_hdr cpuid;
};

struct cp_kvm_tdx_init_mem_region {
	uint64_t source_addr;
	uint64_t gpa;
	uint64_t nr_pages;
};

/* TSC frequency the TDX module accepts (TD_PARAMS.TSC_FREQUENCY, units of 25 MHz, 100 MHz..10 GHz;
 * KVM truncates kHz to whole 25 MHz units). */
#define CP_TDX_TSC_KHZ_UNIT 25000u
#define CP_TDX_TSC_KHZ_MIN 100000u
#define CP_TDX_TSC_KHZ_MAX 10000000u

#define CP_TDX_ATTR_DEBUG (1ull << 0)
#define CP_TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define CP_TDX_ATTR_PKS (1ull << 30)
#define CP_TDX_ATTR_PERFMON (1ull << 63)

/* Exits added after 6.1 */
#define CP_KVM_EXIT_MEMORY_FAULT 39
#define CP_KVM_EXIT_TDX 40
/* Linux 7.0 numbers the certificate exit 43: 41 is KVM_EXIT_ARM_SEA, 42 KVM_EXIT_ARM_LDST64B (early
 * postings of the SNP series used 40 and 42; include/uapi/linux/kvm.h as merged has 43). */
#define CP_KVM_EXIT_SNP_REQ_CERTS 43
#define CP_KVM_SYSTEM_EVENT_SEV_TERM 6
#define CP_KVM_SYSTEM_EVENT_TDX_FATAL 7
#define CP_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)


/* Exit payloads Linux 6.1's struct kvm_run lacks, as overlays of its union at offset 32
 * (added for runner/cc: memory-fault exits and KVM_EXIT_TDX). */
#define CP_KVM_RUN_UNION_OFFSET 32
struct cp_kvm_run_memory_fault {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};
struct cp_kvm_run_tdx {
	uint64_t flags;
	uint64_t nr;             /* TDVMCALL leaf */
	union {
		struct { uint64_t ret, data[5]; } unknown;
		struct { uint64_t ret, gpa, size; } get_quote;
		struct { uint64_t ret, leaf, r11, r12, r13, r14; } get_tdvmcall_info;
		struct { uint64_t ret, vector; } setup_event_notify;
	};
};
/* KVM_EXIT_SNP_REQ_CERTS: an SNP extended guest request for an attestation report. gpa/npages
 * are the guest's certificate buffer (GHCB RAX/RBX, gpa 4 KiB aligned, nothing else checked);
 * userspace answers in ret before the next KVM_RUN: 0 (table written), ENOSPC (npages = pages
 * needed), EAGAIN (busy, guest retries), EIO (anything else). Other values fail KVM_RUN. */
struct cp_kvm_run_snp_req_certs {
	uint64_t gpa;
	uint64_t npages;
	uint64_t ret;
};
#define CP_KVM_MAP_GPA_RANGE_PAGE_SZ_MASK 0xfull
#define CP_KVM_MAP_GPA_RANGE_ENCRYPTED (1ull << 4)
#define CP_TDVMCALL_GET_TD_VM_CALL_INFO 0x10000
#define CP_TDVMCALL_MAP_GPA 0x10001
#define CP_TDVMCALL_GET_QUOTE 0x10002
#define CP_TDVMCALL_SETUP_EVENT_NOTIFY 0x10004
#define CP_TDVMCALL_STATUS_SUCCESS 0ull
#define CP_TDVMCALL_STATUS_RETRY 1ull
#define CP_TDVMCALL_STATUS_INVALID_OPERAND 0x8000000000000000ull
#define CP_TDVMCALL_STATUS_ALIGN_ERROR 0x8000000000000002ull
#define CP_TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED 0x8000000000000003ull
/* GetQuote buffer header (TDX GHCI): version 1, status, in_len, out_len, data. */
#define CP_TDX_GET_QUOTE_SUCCESS 0ull
#define CP_TDX_GET_QUOTE_IN_FLIGHT 0xffffffffffffffffull
#define CP_TDX_GET_QUOTE_ERROR 0x8000000000000000ull
#define CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE 0x8000000000000001ull

/* ---- the documented sizes, offsets and ioctl numbers ---- */
_Static_assert(sizeof(struct cp_kvm_create_guest_memfd) == 64, "kvm_create_guest_memfd");
_Static_assert(sizeof(struct cp_kvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2");
_Static_assert(offsetof(struct cp_kvm_userspace_memory_region2, guest_memfd_offset) == 32, "guest_memfd_offset");
_Static_assert(offsetof(struct cp_kvm_userspace_memory_region2, guest_memfd) == 40, "guest_memfd");
_Static_assert(sizeof(struct cp_kvm_memory_attributes) == 32, "kvm_memory_attributes");
_Static_assert(sizeof(struct cp_kvm_sev_cmd) == 24, "kvm_sev_cmd");
_Static_assert(sizeof(struct cp_kvm_sev_init) == 48, "kvm_sev_init");
_Static_assert(sizeof(struct cp_kvm_sev_snp_launch_start) == 64, "kvm_sev_snp_launch_start");
_Static_assert(sizeof(struct cp_kvm_sev_snp_launch_update) == 64, "kvm_sev_snp_launch_update");
_Static_assert(sizeof(struct cp_kvm_sev_snp_launch_finish) == 88, "kvm_sev_snp_launch_finish");
_Static_assert(offsetof(struct cp_kvm_sev_snp_launch_finish, host_data) == 19, "host_data");
_Static_assert(offsetof(struct cp_kvm_sev_snp_launch_finish, flags) == 54, "launch_finish flags");
_Static_assert(sizeof(struct cp_sev_issue_cmd) == 16, "sev_issue_cmd");
_Static_assert(sizeof(struct cp_kvm_tdx_cmd) == 24, "kvm_tdx_cmd");
_Static_assert(offsetof(struct cp_kvm_tdx_capabilities, cpuid) == 2048, "tdx_capabilities cpuid");
_Static_assert(offsetof(struct cp_kvm_tdx_init_vm, cpuid) == 256, "tdx_init_vm cpuid");
_Static_assert(sizeof(struct cp_kvm_tdx_init_mem_region) == 24, "kvm_tdx_init_mem_region");
_Static_assert(sizeof(struct cp_kvm_run_memory_fault) == 24, "memory_fault exit");
_Static_assert(offsetof(struct cp_kvm_run_tdx, get_quote.gpa) == 24, "tdx exit get_quote gpa");
_Static_assert(sizeof(struct cp_kvm_run_tdx) == 64, "tdx exit");
_Static_assert(sizeof(struct cp_kvm_run_snp_req_certs) == 24, "snp_req_certs exit");
_Static_assert(offsetof(struct cp_kvm_run_snp_req_certs, ret) == 16, "snp_req_certs ret");
_Static_assert(CP_KVM_SET_USER_MEMORY_REGION2 == 0x40a0ae49, "KVM_SET_USER_MEMORY_REGION2");
_Static_assert(CP_KVM_SET_MEMORY_ATTRIBUTES == 0x4020aed2, "KVM_SET_MEMORY_ATTRIBUTES");
_Static_assert(CP_KVM_CREATE_GUEST_MEMFD == 0xc040aed4, "KVM_CREATE_GUEST_MEMFD");
_Static_assert(CP_KVM_MEMORY_ENCRYPT_OP == 0xc008aeba, "KVM_MEMORY_ENCRYPT_OP");
_Static_assert(CP_SEV_ISSUE_CMD == 0xc0105300, "SEV_ISSUE_CMD");
_Static_assert(CP_KVM_SET_TSC_KHZ == 0xaea2, "KVM_SET_TSC_KHZ");
_Static_assert(CP_KVM_GET_TSC_KHZ == 0xaea3, "KVM_GET_TSC_KHZ");

#endif

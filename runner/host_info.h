/* What this host offers for plain and confidential VMs. Facts are gathered by a thin OS layer
 * (host_info_probe); the verdicts and their reasons are derived by pure code (host_info_assess). */
#ifndef CARAPACE_RUNNER_HOST_INFO_H
#define CARAPACE_RUNNER_HOST_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "runner/kvm_ops.h"

enum tristate { TRI_UNKNOWN = -1, TRI_NO = 0, TRI_YES = 1 };

struct host_facts {
	/* /dev/kvm */
	int kvm_open_errno;          /* 0 when /dev/kvm opened */
	int api_version;
	uint64_t vm_types;           /* KVM_CAP_VM_TYPES mask (bit 0 even when the cap is absent) */
	int cap_guest_memfd, cap_user_memory2, cap_memory_attributes, cap_memory_fault_info;
	int cap_exit_hypercall, max_vcpus;
	int snp_req_certs;           /* KVM_X86_SEV_SNP_REQ_CERTS attribute: 1/0, or -errno (-ENXIO: older kernel) */
	/* CPU */
	char vendor[13];
	bool cpu_sev, cpu_sev_es, cpu_snp;   /* CPUID 0x8000001F EAX bits 1, 3, 4 */
	/* kvm_amd / kvm_intel module parameters */
	enum tristate param_sev, param_sev_es, param_sev_snp, param_tdx;
	/* /dev/sev */
	int sev_open_errno;          /* 0 opened, else errno (ENOENT: absent) */
	int snp_status_errno;        /* SNP_PLATFORM_STATUS result */
	unsigned snp_api_major, snp_api_minor, snp_build;
	/* TDX capabilities, when a TDX VM could be created */
	int tdx_caps_errno;
	uint64_t tdx_attrs, tdx_xfam;
	/* The CPUID bits a TD's VMM may configure (KVM_TDX_CAPABILITIES): everything else the TDX
	 * module fixes. At most HOST_TDX_CPUID entries are kept; tdx_cpuid_n is the real count. */
#define HOST_TDX_CPUID 64
	unsigned tdx_cpuid_n;
	struct { uint32_t function, index, eax, ebx, ecx, edx; } tdx_cpuid[HOST_TDX_CPUID];
};

struct host_verdict {
	bool available;
	char reason[512]; /* why not, or what was found */
};

struct host_assessment {
	struct host_verdict plain, sev, sev_es, snp, tdx, guest_memfd, snp_certs;
};

void host_info_probe(const struct kvm_ops *ops, void *ctx, struct host_facts *f);
void host_info_assess(const struct host_facts *f, struct host_assessment *a);

#endif

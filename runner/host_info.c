/* host-info: probing (OS shell) and assessment (pure). */
#include "runner/host_info.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "runner/kvm_cc_uapi.h"

static enum tristate read_param(const char *path)
{
	char buf[8] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0)
		return TRI_UNKNOWN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return TRI_UNKNOWN;
	return (buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1') ? TRI_YES : TRI_NO;
}

static int cap(const struct kvm_ops *ops, void *ctx, int fd, long c)
{
	int r = ops->ioctl(ctx, fd, KVM_CHECK_EXTENSION, (void *)c);
	return r < 0 ? 0 : r;
}

void host_info_probe(const struct kvm_ops *ops, void *ctx, struct host_facts *f)
{
	unsigned a, b, c, d;
	int kvm;

	memset(f, 0, sizeof(*f));
	f->vm_types = 1;
	f->tdx_caps_errno = ENOTSUP;
	f->snp_status_errno = ENOTSUP;

	__cpuid(0, a, b, c, d);
	memcpy(f->vendor, &b, 4);
	memcpy(f->vendor + 4, &d, 4);
	memcpy(f->vendor + 8, &c, 4);
	__cpuid(0x80000000, a, b, c, d);
	if (a >= 0x8000001f) {
		__cpuid(0x8000001f, a, b, c, d);
		f->cpu_sev = a & (1u << 1);
		f->cpu_sev_es = a & (1u << 3);
		f->cpu_snp = a & (1u << 4);
	}
	f->param_sev = read_param("/sys/module/kvm_amd/parameters/sev");
	f->param_sev_es = read_param("/sys/module/kvm_amd/parameters/sev_es");
	f->param_sev_snp = read_param("/sys/module/kvm_amd/parameters/sev_snp");
	f->param_tdx = read_param("/sys/module/kvm_intel/parameters/tdx");

	kvm = ops->open_dev(ctx, "/dev/kvm");
	if (kvm < 0) {
		f->kvm_open_errno = -kvm;
	} else {
		f->api_version = ops->ioctl(ctx, kvm, KVM_GET_API_VERSION, NULL);
		int t = cap(ops, ctx, kvm, CP_KVM_CAP_VM_TYPES);
		f->vm_types = t > 0 ? (uint64_t)t : 1;
		f->cap_guest_memfd = cap(ops, ctx, kvm, CP_KVM_CAP_GUEST_MEMFD);
		f->cap_user_memory2 = cap(ops, ctx, kvm, CP_KVM_CAP_USER_MEMORY2);
		f->cap_memory_attributes = cap(ops, ctx, kvm, CP_KVM_CAP_MEMORY_ATTRIBUTES);
		f->cap_memory_fault_info = cap(ops, ctx, kvm, CP_KVM_CAP_MEMORY_FAULT_INFO);
		f->cap_exit_hypercall = cap(ops, ctx, kvm, CP_KVM_CAP_EXIT_HYPERCALL);
		f->max_vcpus = cap(ops, ctx, kvm, KVM_CAP_MAX_VCPUS);
		{
			uint64_t val = 0;
			struct kvm_device_attr da = { .group = CP_KVM_X86_GRP_SEV, .attr = CP_KVM_X86_SEV_SNP_REQ_CERTS,
						      .addr = (uintptr_t)&val };
			int r = ops->ioctl(ctx, kvm, KVM_GET_DEVICE_ATTR, &da);
			f->snp_req_certs = r < 0 ? r : (int)val;
		}
		if (f->vm_types & (1u << CP_KVM_X86_TDX_VM)) {
			int vm = ops->ioctl(ctx, kvm, KVM_CREATE_VM, (void *)(long)CP_KVM_X86_TDX_VM);
			if (vm < 0) {
				f->tdx_caps_errno = -vm;
			} else {
				size_t sz = sizeof(struct cp_kvm_tdx_capabilities) + 256 * sizeof(struct kvm_cpuid_entry2);
				struct cp_kvm_tdx_capabilities *caps = calloc(1, sz);
				struct cp_kvm_tdx_cmd cmd = { .id = CP_KVM_TDX_CAPABILITIES, .data = (uintptr_t)caps };
				if (caps) {
					caps->cpuid.nent = 256;
					int r = ops->ioctl(ctx, vm, CP_KVM_MEMORY_ENCRYPT_OP, &cmd);
					f->tdx_caps_errno = r < 0 ? -r : 0;
					f->tdx_attrs = caps->supported_attrs;
					f->tdx_xfam = caps->supported_xfam;
					if (r >= 0 && caps->cpuid.nent <= 256) {
						const struct kvm_cpuid_entry2 *e = (const struct kvm_cpuid_entry2 *)(caps + 1);
						f->tdx_cpuid_n = caps->cpuid.nent;
						for (unsigned i = 0; i < caps->cpuid.nent && i < HOST_TDX_CPUID; i++)
							f->tdx_cpuid[i] = (typeof(f->tdx_cpuid[0])){ e[i].function, e[i].index,
								e[i].eax, e[i].ebx, e[i].ecx, e[i].edx };
					}
					free(caps);
				}
				ops->close(ctx, vm);
			}
		}
		ops->close(ctx, kvm);
	}

	int sev = ops->open_dev(ctx, "/dev/sev");
	if (sev < 0) {
		f->sev_open_errno = -sev;
	} else {
		/* The firmware writes the status into a page the kernel hands it. */
		uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page != MAP_FAILED) {
			struct cp_sev_issue_cmd cmd = { .cmd = CP_SEV_SNP_PLATFORM_STATUS, .data = (uintptr_t)page };
			int r = ops->ioctl(ctx, sev, CP_SEV_ISSUE_CMD, &cmd);
			f->snp_status_errno = r < 0 ? -r : 0;
			if (r >= 0) {
				f->snp_api_major = page[0];
				f->snp_api_minor = page[1];
				f->snp_build = page[4] | page[5] << 8 | page[6] << 16 | (unsigned)page[7] << 24;
			}
			munmap(page, 4096);
		}
		ops->close(ctx, sev);
	}
}

#define WHY(v, ...) snprintf((v)->reason, sizeof((v)->reason), __VA_ARGS__)

static void amd_verdict(const struct host_facts *f, struct host_verdict *v, const char *name, unsigned type,
			bool cpu, enum tristate param, const char *param_name)
{
	if (f->kvm_open_errno) {
		WHY(v, "%s: /dev/kvm cannot be opened (%s)", name, strerror(f->kvm_open_errno));
	} else if (f->vm_types & (1u << type)) {
		v->available = true;
		WHY(v, "%s: KVM offers VM type %u", name, type);
	} else if (strcmp(f->vendor, "AuthenticAMD")) {
		WHY(v, "%s: needs an AMD EPYC processor; this CPU is %s", name, f->vendor);
	} else if (!cpu) {
		WHY(v, "%s: the CPU does not report it (CPUID 0x8000001F); on a virtual machine the hypervisor "
		       "hides it, on bare metal enable it in the firmware (SEV/SNP, SMEE, RMP)", name);
	} else if (param == TRI_NO) {
		WHY(v, "%s: kvm_amd.%s=N: load kvm_amd with %s=1 (needs a host kernel with SEV support)", name,
		    param_name, param_name);
	} else if (param == TRI_UNKNOWN) {
		WHY(v, "%s: kvm_amd is not loaded, or has no '%s' parameter", name, param_name);
	} else if (f->sev_open_errno) {
		WHY(v, "%s: /dev/sev is not available (%s): the ccp driver or the PSP firmware is missing", name,
		    strerror(f->sev_open_errno));
	} else {
		WHY(v, "%s: KVM does not offer VM type %u (KVM_CAP_VM_TYPES = 0x%llx): needs Linux 6.11+ for SNP, "
		       "6.10+ for SEV/SEV-ES VM types", name, type, (unsigned long long)f->vm_types);
	}
}

void host_info_assess(const struct host_facts *f, struct host_assessment *a)
{
	memset(a, 0, sizeof(*a));
	if (f->kvm_open_errno == ENOENT)
		WHY(&a->plain, "KVM: /dev/kvm does not exist: load kvm_amd or kvm_intel");
	else if (f->kvm_open_errno)
		WHY(&a->plain, "KVM: cannot open /dev/kvm (%s): add the user to the 'kvm' group",
		    strerror(f->kvm_open_errno));
	else if (f->api_version != 12)
		WHY(&a->plain, "KVM: API version %d, carapace needs 12", f->api_version);
	else {
		a->plain.available = true;
		WHY(&a->plain, "KVM: API 12, up to %d vCPUs", f->max_vcpus);
	}

	if (f->cap_guest_memfd && f->cap_user_memory2) {
		a->guest_memfd.available = true;
		WHY(&a->guest_memfd, "guest_memfd: yes (memory attributes 0x%x, memory-fault exits %s)",
		    (unsigned)f->cap_memory_attributes, f->cap_memory_fault_info ? "yes" : "no");
	} else {
		WHY(&a->guest_memfd, "guest_memfd: no (KVM_CAP_GUEST_MEMFD %d, KVM_CAP_USER_MEMORY2 %d): needs Linux 6.8+",
		    f->cap_guest_memfd, f->cap_user_memory2);
	}

	amd_verdict(f, &a->sev, "SEV", CP_KVM_X86_SEV_VM, f->cpu_sev, f->param_sev, "sev");
	amd_verdict(f, &a->sev_es, "SEV-ES", CP_KVM_X86_SEV_ES_VM, f->cpu_sev_es, f->param_sev_es, "sev_es");
	amd_verdict(f, &a->snp, "SEV-SNP", CP_KVM_X86_SNP_VM, f->cpu_snp, f->param_sev_snp, "sev_snp");
	if (a->snp.available && !a->guest_memfd.available) {
		a->snp.available = false;
		WHY(&a->snp, "SEV-SNP: KVM offers the VM type but not guest_memfd");
	}
	if (a->snp.available && f->snp_status_errno == 0)
		WHY(&a->snp, "SEV-SNP: KVM offers VM type 4; SNP firmware API %u.%u build %u", f->snp_api_major,
		    f->snp_api_minor, f->snp_build);

	if (!a->snp.available)
		WHY(&a->snp_certs, "SEV-SNP certificate table (--snp-certs): no SEV-SNP");
	else if (f->snp_req_certs == 1) {
		a->snp_certs.available = true;
		WHY(&a->snp_certs, "SEV-SNP certificate table (--snp-certs): KVM_X86_SEV_SNP_REQ_CERTS = 1");
	} else {
		WHY(&a->snp_certs, "SEV-SNP certificate table (--snp-certs): this kernel has no KVM_EXIT_SNP_REQ_CERTS "
				   "(KVM_X86_SEV_SNP_REQ_CERTS: %s); it needs Linux 7.0+", f->snp_req_certs < 0 ?
				   strerror(-f->snp_req_certs) : "0");
	}

	if (f->kvm_open_errno) {
		WHY(&a->tdx, "TDX: /dev/kvm cannot be opened");
	} else if (f->vm_types & (1u << CP_KVM_X86_TDX_VM)) {
		if (f->tdx_caps_errno) {
			WHY(&a->tdx, "TDX: KVM offers VM type 5 but KVM_TDX_CAPABILITIES failed (%s)", strerror(f->tdx_caps_errno));
		} else {
			a->tdx.available = true;
			WHY(&a->tdx, "TDX: KVM offers VM type 5; supported attributes 0x%llx, XFAM 0x%llx; %u CPUID leaves "
				     "configurable, the rest fixed by the TDX module (host-info --json lists them)",
			    (unsigned long long)f->tdx_attrs, (unsigned long long)f->tdx_xfam, f->tdx_cpuid_n);
		}
	} else if (strcmp(f->vendor, "GenuineIntel")) {
		WHY(&a->tdx, "TDX: needs an Intel Xeon with TDX; this CPU is %s", f->vendor);
	} else if (f->param_tdx == TRI_NO) {
		WHY(&a->tdx, "TDX: kvm_intel.tdx=N: boot with kvm_intel.tdx=1 and TDX enabled in the BIOS (needs Linux 6.16+)");
	} else {
		WHY(&a->tdx, "TDX: KVM does not offer VM type 5 (KVM_CAP_VM_TYPES = 0x%llx): needs Linux 6.16+ with "
			     "kvm_intel.tdx=1 and a loaded TDX module", (unsigned long long)f->vm_types);
	}
}

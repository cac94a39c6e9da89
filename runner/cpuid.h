/* CPUID the guest sees: KVM_GET_SUPPORTED_CPUID, filtered deliberately (pure filter). */
#ifndef CARAPACE_RUNNER_CPUID_H
#define CARAPACE_RUNNER_CPUID_H

#include <linux/kvm.h>
#include <stddef.h>

#define CPUID_MAX_ENTRIES 256

struct cpuid_table {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
};

/* Adjust a copy of the supported table for vCPU `index` of `ncpus`: APIC ids, hypervisor bit,
 * and features carapace does not offer (see the comments in cpuid.c for each). */
void cpuid_filter(struct cpuid_table *t, unsigned index, unsigned ncpus);

#endif

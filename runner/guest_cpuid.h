/* CPUID the guest sees: KVM_GET_SUPPORTED_CPUID, filtered deliberately (pure filter). */
#ifndef CARAPACE_RUNNER_GUEST_CPUID_H
#define CARAPACE_RUNNER_GUEST_CPUID_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256

/* struct kvm_cpuid2 with room for its entries (same layout; pass cpuid_table_kvm(t) to KVM). */
struct cpuid_table {
	uint32_t nent;
	uint32_t padding;
	struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
};
_Static_assert(offsetof(struct cpuid_table, e) == offsetof(struct kvm_cpuid2, entries), "kvm_cpuid2 layout");

static inline struct kvm_cpuid2 *cpuid_table_kvm(struct cpuid_table *t) { return (struct kvm_cpuid2 *)t; }

/* Adjust a copy of the supported table for vCPU `index` of `ncpus`: APIC ids, hypervisor bit,
 * and features carapace does not offer (see the comments in cpuid.c for each). */
void cpuid_filter(struct cpuid_table *t, unsigned index, unsigned ncpus);

#endif

/* CPUID the guest sees: KVM_GET_SUPPORTED_CPUID, shaped by a CPU model (--cpu) and filtered
 * deliberately. Everything here is pure: tables in, tables out, errors in a struct cp_err. */
#ifndef CARAPACE_RUNNER_GUEST_CPUID_H
#define CARAPACE_RUNNER_GUEST_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

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
 * and features carapace does not offer (see the comments in guest_cpuid.c for each). */
void cpuid_filter(struct cpuid_table *t, unsigned index, unsigned ncpus);

/* A guest CPU model, as `--cpu SPEC` describes it. SPEC is a base followed by feature edits:
 *   host[,-feat|,+feat]...        what this host's KVM supports, with features removed/added
 *   x86-64-v1 .. x86-64-v4[,...]  the x86-64 psABI levels: only the model's feature bits in
 *                                 CPUID leaves 1, 7.0, 0xd.1 and 0x80000001 (stable across hosts)
 * Feature names are Linux's /proc/cpuinfo names (guest_cpu_feature_names()). Removing a feature
 * also removes the features that need it (-xsave takes avx, avx2, fma, ... with it); adding one
 * whose prerequisite is removed is an error. */
#define GUEST_CPU_FEATURES_MAX 96
#define GUEST_CPU_SPEC_MAX 1024
struct guest_cpu_model {
	unsigned base;                          /* 0: host; i > 0: named model i - 1 */
	int8_t edit[GUEST_CPU_FEATURES_MAX];    /* per feature: +1 added, -1 removed, 0 as the base */
};

/* The model for SPEC; NULL or "" is "host". Errors name the token at fault and what is known. */
int guest_cpu_parse(const char *spec, struct guest_cpu_model *m, struct cp_err *err);

/* Shape a copy of KVM_GET_SUPPORTED_CPUID by the model (vCPU independent). Fails, leaving t
 * unspecified, when the model needs a feature the table lacks (the host's KVM does not offer it).
 * The XSAVE leaf (0xd) keeps only the state components of the features that remain. */
int guest_cpu_apply(const struct guest_cpu_model *m, struct cpuid_table *t, struct cp_err *err);

/* What a vCPU's KVM_SET_CPUID2 gets: supported shaped by the model, then cpuid_filter() for vCPU
 * `index` of `ncpus`. The one entry point for every launch path (plain VMs in vm.c; the SEV-SNP
 * CPUID page and the TDX CPUID configuration derive from its output). */
int guest_cpuid_build(const struct guest_cpu_model *m, const struct cpuid_table *supported, unsigned index,
		      unsigned ncpus, struct cpuid_table *out, struct cp_err *err);

/* The first feature the model takes away from `supported` that `got` has anyway: what the platform
 * gives the guest whatever the VMM asks (the TDX module's fixed-1 CPUID bits, read back with
 * KVM_TDX_GET_CPUID). NULL when there is none (or the model does not apply). Pure. */
const char *guest_cpu_forced_removed(const struct guest_cpu_model *m, const struct cpuid_table *supported,
				     const struct kvm_cpuid_entry2 *got, unsigned ngot);

/* Whether the table has feature NAME set (false for an unknown name). */
bool guest_cpuid_has(const struct cpuid_table *t, const char *name);

/* "name, name, ..." of every known feature / every base (for help and errors). */
const char *guest_cpu_feature_names(void);
const char *guest_cpu_base_names(void);

#endif

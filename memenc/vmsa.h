/* VMSA pages (SEV-ES/SNP initial vCPU save areas) as the VMM's reset state makes them, and the
 * CPUID signatures of the vCPU models people launch. The runner reuses these for its own vCPUs. */
#ifndef CARAPACE_MEMENC_VMSA_H
#define CARAPACE_MEMENC_VMSA_H

#include <stdint.h>

#include "common/err.h"

#define MEMENC_PAGE_SIZE 4096u
#define MEMENC_VMSA_BSP_EIP 0xfffffff0u

/* Which VMM's register conventions the launch follows (they differ in a few reset values). */
enum memenc_vmm_type {
	MEMENC_VMM_QEMU = 0, /* also carapace's own launch driver */
	MEMENC_VMM_EC2 = 1,
	MEMENC_VMM_GCE = 2,
};
int memenc_vmm_type_parse(const char *s, enum memenc_vmm_type *out, struct cp_err *err);
const char *memenc_vmm_type_name(enum memenc_vmm_type t);

struct memenc_vmsa_params {
	uint32_t eip;          /* reset EIP: MEMENC_VMSA_BSP_EIP or the SEV-ES reset block's AP EIP */
	uint64_t sev_features; /* SEV_FEATURES field (guest features; 0 for SEV-ES) */
	uint32_t vcpu_sig;     /* CPUID Fn0000_0001_EAX, QEMU puts it in RDX at reset */
	enum memenc_vmm_type vmm;
};

/* Fill a whole 4 KiB VMSA page (zeroed first). Byte offsets are those of the SEV-ES save area
 * (AMD APM vol. 2, table B-4). */
void memenc_vmsa_build(const struct memenc_vmsa_params *p, uint8_t page[MEMENC_PAGE_SIZE]);

/* A VMSA for a vCPU that starts in 64-bit long mode (firmware-less direct boot): flat 64-bit CS
 * and flat data segments with the given selectors, GDTR, CR0/CR3/CR4/EFER (EFER.SVME is added,
 * as KVM requires in a VMSA), RIP and RSI; the rest as memenc_vmsa_build's VMM reset values. */
struct memenc_vmsa_long {
	uint64_t rip, rsi, cr0, cr3, cr4, efer, gdt_base;
	uint16_t gdt_limit, cs, ds;
	uint64_t sev_features;
	enum memenc_vmm_type vmm;
};
void memenc_vmsa_build_long(const struct memenc_vmsa_long *p, uint8_t page[MEMENC_PAGE_SIZE]);

/* CPUID signature from family/model/stepping (AMD CPUID spec #25481, Fn0000_0001_EAX). */
uint32_t memenc_cpu_sig(unsigned family, unsigned model, unsigned stepping);
/* Signature of a QEMU vCPU model name (EPYC, EPYC-v4, EPYC-Milan, EPYC-Genoa, ...). -ENOENT
 * with the list of known names otherwise. */
int memenc_cpu_sig_by_name(const char *name, uint32_t *sig, struct cp_err *err);
/* The known names, NULL-terminated, for help texts. */
extern const char *const memenc_cpu_names[];

#endif

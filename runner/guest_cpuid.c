/* The CPUID filter: everything KVM supports passes unless a line below says why not. */
#include "runner/guest_cpuid.h"

#include <string.h>

void cpuid_filter(struct cpuid_table *t, unsigned index, unsigned ncpus)
{
	for (unsigned i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		switch (e->function) {
		case 1:
			/* Initial APIC id = vCPU index; logical processor count for HTT users. */
			e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) | ((ncpus & 0xff) << 16);
			e->ecx |= 1u << 31;              /* running under a hypervisor */
			e->ecx &= ~(1u << 3);            /* MONITOR/MWAIT: not emulated for guests */
			e->ecx &= ~(1u << 4);            /* DS-CPL: no debug store */
			e->ecx &= ~(1u << 5);            /* VMX: no nested virtualization */
			e->ecx &= ~(1u << 6);            /* SMX: no TXT */
			e->ecx &= ~(1u << 7);            /* EST: no host P-state control */
			e->ecx &= ~(1u << 8);            /* TM2: no thermal monitor */
			e->ecx &= ~(1u << 15);           /* PDCM: no perf capabilities MSR */
			e->edx &= ~(1u << 21);           /* DS: no debug store */
			e->edx &= ~(1u << 22);           /* ACPI thermal MSRs: none */
			e->edx &= ~(1u << 29);           /* TM: no thermal monitor */
			break;
		case 6:   /* thermal and power management: the host's, not the guest's */
		case 0xa: /* architectural PMU: carapace exposes no performance counters */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			e->edx = index; /* x2APIC id */
			break;
		case 0x80000001:
			e->ecx &= ~(1u << 2); /* SVM: no nested virtualization */
			break;
		default:
			break;
		}
	}
}

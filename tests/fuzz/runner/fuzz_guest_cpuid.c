/* libFuzzer target: the --cpu model parser and its application to a supported CPUID table. The
 * input is a model spec, then (after a NUL) raw kvm_cpuid_entry2 records for the table. Whatever
 * the input: no crash, and an accepted model never sets a bit the supported table lacks in the
 * registers it shapes (it may only remove features, never invent them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/guest_cpuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpuid_table sup, out;
	struct guest_cpu_model m;
	struct cp_err err = { 0 };
	char spec[GUEST_CPU_SPEC_MAX + 2];
	const uint8_t *nul = memchr(data, 0, size);
	size_t slen = nul ? (size_t)(nul - data) : size;

	if (slen > GUEST_CPU_SPEC_MAX + 1)
		slen = GUEST_CPU_SPEC_MAX + 1;
	memcpy(spec, data, slen);
	spec[slen] = 0;
	if (guest_cpu_parse(spec, &m, &err) < 0) {
		if (!err.code || !err.msg[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	memset(&sup, 0, sizeof(sup));
	if (nul) {
		size_t n = (size - slen - 1) / sizeof(struct kvm_cpuid_entry2);
		if (n > CPUID_MAX_ENTRIES)
			n = CPUID_MAX_ENTRIES;
		memcpy(sup.e, nul + 1, n * sizeof(struct kvm_cpuid_entry2));
		sup.nent = (uint32_t)n;
	}
	if (guest_cpuid_build(&m, &sup, 1, 2, &out, &err) < 0) {
		if (!err.code || !err.msg[0])
			abort();
		return 0;
	}
	if (out.nent != sup.nent)
		abort();
	for (uint32_t i = 0; i < out.nent; i++) {
		const struct kvm_cpuid_entry2 *a = &sup.e[i], *b = &out.e[i];
		if (a->function != b->function || a->index != b->index || a->flags != b->flags)
			abort();
		if (a->function == 7 || a->function == 0xd || a->function == 0x80000001)
			if ((b->eax & ~a->eax) | (b->ebx & ~a->ebx) | (b->ecx & ~a->ecx) | (b->edx & ~a->edx))
				abort();
		if (a->function == 1 && ((b->ecx & ~a->ecx & ~(1u << 31)) | (b->edx & ~a->edx)))
			abort();
	}
	return 0;
}

/* The guest's CPUID: the --cpu model (parser and its application to KVM's supported table) and the
 * per-vCPU filter. Everything KVM supports passes unless the model or a line below says why not. */
#include "runner/guest_cpuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

enum { R_EAX, R_EBX, R_ECX, R_EDX };

/* Bit positions: Linux arch/x86/include/asm/cpufeatures.h (6.1); prerequisites ("needs"): Linux
 * arch/x86/kernel/cpu/cpuid-deps.c; XSAVE state components (xcr0): SDM vol. 1, 13.1. */
struct feature {
	const char *name;
	uint32_t leaf, sub;
	uint8_t reg, bit;
	const char *needs;
	uint64_t xcr0; /* XSAVE state components that exist only with this feature */
};

static const struct feature features[] = {
	{ "pni", 1, 0, R_ECX, 0, NULL, 0 }, /* SSE3 */
	{ "pclmulqdq", 1, 0, R_ECX, 1, NULL, 0 },
	{ "ssse3", 1, 0, R_ECX, 9, "pni", 0 },
	{ "fma", 1, 0, R_ECX, 12, "avx", 0 },
	{ "cx16", 1, 0, R_ECX, 13, NULL, 0 },
	{ "pcid", 1, 0, R_ECX, 17, NULL, 0 },
	{ "sse4_1", 1, 0, R_ECX, 19, "ssse3", 0 },
	{ "sse4_2", 1, 0, R_ECX, 20, "sse4_1", 0 },
	{ "x2apic", 1, 0, R_ECX, 21, NULL, 0 },
	{ "movbe", 1, 0, R_ECX, 22, NULL, 0 },
	{ "popcnt", 1, 0, R_ECX, 23, NULL, 0 },
	{ "aes", 1, 0, R_ECX, 25, NULL, 0 },
	{ "xsave", 1, 0, R_ECX, 26, NULL, 0 },
	{ "avx", 1, 0, R_ECX, 28, "xsave", 1u << 2 },
	{ "f16c", 1, 0, R_ECX, 29, "avx", 0 },
	{ "rdrand", 1, 0, R_ECX, 30, NULL, 0 },
	{ "fsgsbase", 7, 0, R_EBX, 0, NULL, 0 },
	{ "bmi1", 7, 0, R_EBX, 3, NULL, 0 },
	{ "hle", 7, 0, R_EBX, 4, NULL, 0 },
	{ "avx2", 7, 0, R_EBX, 5, "avx", 0 },
	{ "smep", 7, 0, R_EBX, 7, NULL, 0 },
	{ "bmi2", 7, 0, R_EBX, 8, NULL, 0 },
	{ "erms", 7, 0, R_EBX, 9, NULL, 0 },
	{ "invpcid", 7, 0, R_EBX, 10, "pcid", 0 },
	{ "rtm", 7, 0, R_EBX, 11, NULL, 0 },
	{ "avx512f", 7, 0, R_EBX, 16, "avx2", 0xe0 }, /* opmask, ZMM_Hi256, Hi16_ZMM */
	{ "avx512dq", 7, 0, R_EBX, 17, "avx512f", 0 },
	{ "rdseed", 7, 0, R_EBX, 18, NULL, 0 },
	{ "adx", 7, 0, R_EBX, 19, NULL, 0 },
	{ "smap", 7, 0, R_EBX, 20, NULL, 0 },
	{ "avx512ifma", 7, 0, R_EBX, 21, "avx512f", 0 },
	{ "clflushopt", 7, 0, R_EBX, 23, NULL, 0 },
	{ "clwb", 7, 0, R_EBX, 24, NULL, 0 },
	{ "avx512cd", 7, 0, R_EBX, 28, "avx512f", 0 },
	{ "sha_ni", 7, 0, R_EBX, 29, NULL, 0 },
	{ "avx512bw", 7, 0, R_EBX, 30, "avx512f", 0 },
	{ "avx512vl", 7, 0, R_EBX, 31, "avx512f", 0 },
	{ "avx512vbmi", 7, 0, R_ECX, 1, "avx512f", 0 },
	{ "umip", 7, 0, R_ECX, 2, NULL, 0 },
	{ "pku", 7, 0, R_ECX, 3, "xsave", 1u << 9 },
	{ "avx512_vbmi2", 7, 0, R_ECX, 6, "avx512vl", 0 },
	{ "gfni", 7, 0, R_ECX, 8, NULL, 0 },
	{ "vaes", 7, 0, R_ECX, 9, "avx", 0 },
	{ "vpclmulqdq", 7, 0, R_ECX, 10, "avx", 0 },
	{ "avx512_vnni", 7, 0, R_ECX, 11, "avx512f", 0 },
	{ "avx512_bitalg", 7, 0, R_ECX, 12, "avx512bw", 0 },
	{ "avx512_vpopcntdq", 7, 0, R_ECX, 14, "avx512f", 0 },
	{ "la57", 7, 0, R_ECX, 16, NULL, 0 },
	{ "rdpid", 7, 0, R_ECX, 22, NULL, 0 },
	{ "md_clear", 7, 0, R_EDX, 10, NULL, 0 },
	{ "arch_capabilities", 7, 0, R_EDX, 29, NULL, 0 },
	{ "xsaveopt", 0xd, 1, R_EAX, 0, "xsave", 0 },
	{ "xsavec", 0xd, 1, R_EAX, 1, "xsave", 0 },
	{ "xgetbv1", 0xd, 1, R_EAX, 2, "xsave", 0 },
	{ "xsaves", 0xd, 1, R_EAX, 3, "xsave", 0 },
	{ "lahf_lm", 0x80000001, 0, R_ECX, 0, NULL, 0 },
	{ "abm", 0x80000001, 0, R_ECX, 5, NULL, 0 }, /* LZCNT */
	{ "sse4a", 0x80000001, 0, R_ECX, 6, NULL, 0 },
	{ "misalignsse", 0x80000001, 0, R_ECX, 7, NULL, 0 },
	{ "3dnowprefetch", 0x80000001, 0, R_ECX, 8, NULL, 0 },
	{ "xop", 0x80000001, 0, R_ECX, 11, "avx", 0 },
	{ "fma4", 0x80000001, 0, R_ECX, 16, "avx", 0 },
	{ "tbm", 0x80000001, 0, R_ECX, 21, NULL, 0 },
	{ "topoext", 0x80000001, 0, R_ECX, 22, NULL, 0 },
	{ "pdpe1gb", 0x80000001, 0, R_EDX, 26, NULL, 0 },
	{ "rdtscp", 0x80000001, 0, R_EDX, 27, NULL, 0 },
};
#define NFEAT ARRAY_SIZE(features)
_Static_assert(ARRAY_SIZE(features) <= GUEST_CPU_FEATURES_MAX, "raise GUEST_CPU_FEATURES_MAX");

/* A named model fixes every bit of these registers: its features plus the x86-64 baseline. Leaf 7.0
 * EDX is not among them: its speculation-control bits (IBRS, STIBP, SSBD, MD_CLEAR, ...) are the
 * host's mitigations and pass through (only an explicit -feat removes one). */
struct fixed_reg {
	uint32_t leaf, sub;
	uint8_t reg;
	uint32_t baseline;
};
/* Baseline (psABI x86-64 level 1): FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV
 * PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 in leaf 1 EDX, their AMD mirror in 0x80000001 EDX with
 * SYSCALL, NX and LM; the hypervisor bit in leaf 1 ECX. */
#define LEAF1_EDX_BASE 0x078bfbffu
static const struct fixed_reg fixed_regs[] = {
	{ 1, 0, R_ECX, 1u << 31 },
	{ 1, 0, R_EDX, LEAF1_EDX_BASE },
	{ 7, 0, R_EBX, 0 },
	{ 7, 0, R_ECX, 0 },
	{ 0xd, 1, R_EAX, 0 },
	{ 0x80000001, 0, R_ECX, 0 },
	{ 0x80000001, 0, R_EDX, (LEAF1_EDX_BASE & 0x0183f3ffu) | 1u << 11 | 1u << 20 | 1u << 29 },
};

/* The x86-64 psABI microarchitecture levels (x86-64-psABI, "Micro-Architecture Levels"); x2apic
 * in all of them because KVM emulates it whatever the host has. */
#define V1 "x2apic"
#define V2 V1 ",cx16,lahf_lm,popcnt,pni,sse4_1,sse4_2,ssse3"
#define V3 V2 ",avx,avx2,bmi1,bmi2,f16c,fma,abm,movbe,xsave"
#define V4 V3 ",avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
static const struct {
	const char *name, *features;
} models[] = {
	{ "x86-64-v1", V1 },
	{ "x86-64-v2", V2 },
	{ "x86-64-v3", V3 },
	{ "x86-64-v4", V4 },
};

/* XSAVE components a named model may keep: x87 and SSE always, the rest with their feature. */
#define XCR0_NAMED_KNOWN (0x3ull | 1u << 2 | 0xe0u | 1u << 9)

static int feature_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NFEAT; i++)
		if (strlen(features[i].name) == len && !strncmp(features[i].name, name, len))
			return (int)i;
	return -1;
}

const char *guest_cpu_feature_names(void)
{
	static char buf[GUEST_CPU_FEATURES_MAX * 20];
	if (!buf[0])
		for (size_t i = 0, n = 0; i < NFEAT; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "", features[i].name);
	return buf;
}

const char *guest_cpu_base_names(void)
{
	static char buf[128];
	if (!buf[0]) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "host");
		for (size_t i = 0; i < ARRAY_SIZE(models); i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", %s", models[i].name);
	}
	return buf;
}

int guest_cpu_parse(const char *spec, struct guest_cpu_model *m, struct cp_err *err)
{
	struct guest_cpu_model r = { 0 };
	const char *p, *end;
	size_t len;

	if (!spec || !*spec) {
		*m = r;
		return 0;
	}
	len = strnlen(spec, GUEST_CPU_SPEC_MAX + 1);
	if (len > GUEST_CPU_SPEC_MAX)
		return cp_err_set(err, EINVAL, "cpu: the model is longer than %d characters", GUEST_CPU_SPEC_MAX);
	end = spec + len;
	p = memchr(spec, ',', len);
	if (!p)
		p = end;
	if ((size_t)(p - spec) == 4 && !strncmp(spec, "host", 4)) {
		r.base = 0;
	} else {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(models); i++)
			if (strlen(models[i].name) == (size_t)(p - spec) && !strncmp(models[i].name, spec, (size_t)(p - spec)))
				break;
		if (i == ARRAY_SIZE(models))
			return cp_err_set(err, EINVAL, "cpu: unknown model '%.*s' (known: %s; then ,-feature or ,+feature)",
					  (int)(p - spec) > 64 ? 64 : (int)(p - spec), spec, guest_cpu_base_names());
		r.base = (unsigned)i + 1;
	}
	while (p < end) {
		const char *tok = p + 1, *next = memchr(tok, ',', (size_t)(end - tok));
		int sign, fi;
		if (!next)
			next = end;
		size_t tlen = (size_t)(next - tok);
		if (tlen < 2 || (tok[0] != '+' && tok[0] != '-'))
			return cp_err_set(err, EINVAL, "cpu: '%.*s' is not a feature edit (write -feature or +feature "
					  "after the model, separated by commas)", (int)(tlen > 64 ? 64 : tlen), tok);
		sign = tok[0] == '+' ? 1 : -1;
		fi = feature_index(tok + 1, tlen - 1);
		if (fi < 0)
			return cp_err_set(err, EINVAL, "cpu: unknown feature '%.*s' (known: %s)",
					  (int)(tlen - 1 > 64 ? 64 : tlen - 1), tok + 1, guest_cpu_feature_names());
		if (r.edit[fi])
			return cp_err_set(err, EINVAL, "cpu: feature '%s' is edited twice", features[fi].name);
		r.edit[fi] = (int8_t)sign;
		p = next;
	}
	*m = r;
	return 0;
}

static struct kvm_cpuid_entry2 *entry(struct cpuid_table *t, uint32_t leaf, uint32_t sub)
{
	for (uint32_t i = 0; i < t->nent && i < CPUID_MAX_ENTRIES; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function == leaf && (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
			return e;
	}
	return NULL;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, unsigned reg)
{
	switch (reg) {
	case R_EAX: return &e->eax;
	case R_EBX: return &e->ebx;
	case R_ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static bool has(struct cpuid_table *t, size_t fi)
{
	struct kvm_cpuid_entry2 *e = entry(t, features[fi].leaf, features[fi].sub);
	return e && (*reg_of(e, features[fi].reg) >> features[fi].bit & 1);
}

bool guest_cpuid_has(const struct cpuid_table *t, const char *name)
{
	int fi = feature_index(name, strlen(name));
	return fi >= 0 && has((struct cpuid_table *)t, (size_t)fi);
}

/* Whether named model `base` lists feature fi. */
static bool model_lists(unsigned base, size_t fi)
{
	const char *p = models[base - 1].features;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (feature_index(p, len) == (int)fi)
			return true;
		p += len + (c ? 1 : 0);
	}
	return false;
}

int guest_cpu_apply(const struct guest_cpu_model *m, struct cpuid_table *t, struct cp_err *err)
{
	bool want[GUEST_CPU_FEATURES_MAX] = { 0 };
	uint64_t xcr0_drop = 0;
	bool changed;

	if (m->base > ARRAY_SIZE(models))
		return cp_err_set(err, EINVAL, "cpu: model %u does not exist", m->base);
	if (t->nent > CPUID_MAX_ENTRIES)
		return cp_err_set(err, EINVAL, "cpu: the supported table has %u entries (at most %d)", t->nent,
				  CPUID_MAX_ENTRIES);
	for (size_t i = 0; i < NFEAT; i++) {
		want[i] = m->base ? model_lists(m->base, i) : has(t, i);
		if (m->edit[i])
			want[i] = m->edit[i] > 0;
	}
	/* A feature without its prerequisite goes too, unless it was asked for by name. */
	do {
		changed = false;
		for (size_t i = 0; i < NFEAT; i++) {
			int need = features[i].needs ? feature_index(features[i].needs, strlen(features[i].needs)) : -1;
			if (!want[i] || need < 0 || want[need])
				continue;
			if (m->edit[i] > 0)
				return cp_err_set(err, EINVAL, "cpu: +%s needs %s, which the model removes", features[i].name,
						  features[need].name);
			want[i] = false;
			changed = true;
		}
	} while (changed);
	for (size_t i = 0; i < NFEAT; i++)
		if (want[i] && !has(t, i))
			return cp_err_set(err, EOPNOTSUPP, "cpu: %s%s: this host's KVM does not offer it "
					  "(KVM_GET_SUPPORTED_CPUID)%s%s", m->edit[i] > 0 ? "+" : "", features[i].name,
					  m->base && m->edit[i] <= 0 ? "; the model needs it: " : "",
					  m->base && m->edit[i] <= 0 ? models[m->base - 1].name : "");
	if (m->base) {
		for (size_t r = 0; r < ARRAY_SIZE(fixed_regs); r++) {
			struct kvm_cpuid_entry2 *e = entry(t, fixed_regs[r].leaf, fixed_regs[r].sub);
			uint32_t keep = fixed_regs[r].baseline;
			if (!e)
				continue;
			for (size_t i = 0; i < NFEAT; i++)
				if (want[i] && features[i].leaf == fixed_regs[r].leaf && features[i].sub == fixed_regs[r].sub &&
				    features[i].reg == fixed_regs[r].reg)
					keep |= 1u << features[i].bit;
			*reg_of(e, fixed_regs[r].reg) &= keep;
		}
		xcr0_drop |= ~XCR0_NAMED_KNOWN;
	} else {
		for (size_t i = 0; i < NFEAT; i++)
			if (!want[i]) {
				struct kvm_cpuid_entry2 *e = entry(t, features[i].leaf, features[i].sub);
				if (e)
					*reg_of(e, features[i].reg) &= ~(1u << features[i].bit);
			}
	}
	for (size_t i = 0; i < NFEAT; i++)
		if (!want[i])
			xcr0_drop |= features[i].xcr0;
	/* Leaf 0xd describes XSAVE state: none without XSAVE; otherwise only the components whose
	 * feature remains (0xd.0 EAX/EDX list them, subleaf n describes component n). Sizes in 0xd.0
	 * EBX follow the guest's XCR0 (KVM recomputes them); ECX stays an upper bound. */
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function != 0xd)
			continue;
		if (!want[feature_index("xsave", 5)]) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		} else if (e->index == 0) {
			e->eax &= ~(uint32_t)xcr0_drop;
			e->edx &= ~(uint32_t)(xcr0_drop >> 32);
		} else if (e->index == 1) {
			if (m->base || !want[feature_index("xsaves", 6)])
				e->ecx = e->edx = 0; /* no XSAVES: no supervisor state components (IA32_XSS) */
		} else if (e->index < 64 && (xcr0_drop >> e->index & 1)) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		}
	}
	return 0;
}

const char *guest_cpu_forced_removed(const struct guest_cpu_model *m, const struct cpuid_table *supported,
				     const struct kvm_cpuid_entry2 *got, unsigned ngot)
{
	_cleanup_free_ struct cpuid_table *shaped = malloc(sizeof(*shaped));
	struct cp_err err = { 0 };

	if (!shaped)
		return NULL;
	memcpy(shaped, supported, sizeof(*shaped));
	if (guest_cpu_apply(m, shaped, &err) < 0)
		return NULL;
	for (size_t i = 0; i < NFEAT; i++) {
		const struct feature *f = &features[i];
		if (!has((struct cpuid_table *)supported, i) || has(shaped, i))
			continue;
		for (unsigned k = 0; k < ngot; k++) {
			const struct kvm_cpuid_entry2 *g = &got[k];
			uint32_t v = f->reg == R_EAX ? g->eax : f->reg == R_EBX ? g->ebx : f->reg == R_ECX ? g->ecx : g->edx;
			if (g->function == f->leaf && g->index == f->sub && (v >> f->bit & 1))
				return f->name;
		}
	}
	return NULL;
}

int guest_cpuid_build(const struct guest_cpu_model *m, const struct cpuid_table *supported, unsigned index,
		      unsigned ncpus, struct cpuid_table *out, struct cp_err *err)
{
	int r;

	memcpy(out, supported, sizeof(*out));
	if ((r = guest_cpu_apply(m, out, err)) < 0)
		return r;
	cpuid_filter(out, index, ncpus);
	return 0;
}

void cpuid_filter(struct cpuid_table *t, unsigned index, unsigned ncpus)
{
	for (unsigned i = 0; i < t->nent && i < CPUID_MAX_ENTRIES; i++) {
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

/* VMSA page builder and vCPU signature table (pure). */
#include "memenc/vmsa.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"

/* Byte offsets inside the SEV-ES save area. */
enum {
	VMSA_ES = 0x00, VMSA_CS = 0x10, VMSA_SS = 0x20, VMSA_DS = 0x30, VMSA_FS = 0x40, VMSA_GS = 0x50,
	VMSA_GDTR = 0x60, VMSA_LDTR = 0x70, VMSA_IDTR = 0x80, VMSA_TR = 0x90,
	VMSA_EFER = 0xd0, VMSA_CR4 = 0x148, VMSA_CR0 = 0x158, VMSA_DR7 = 0x160, VMSA_DR6 = 0x168,
	VMSA_RFLAGS = 0x170, VMSA_RIP = 0x178, VMSA_CR3 = 0x150, VMSA_G_PAT = 0x268, VMSA_RDX = 0x310,
	VMSA_RSI = 0x330,
	VMSA_SEV_FEATURES = 0x3b0, VMSA_XCR0 = 0x3e8, VMSA_MXCSR = 0x408, VMSA_X87_FCW = 0x410,
};

static void seg(uint8_t *p, uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	cp_put_le16(p, sel);
	cp_put_le16(p + 2, attrib);
	cp_put_le32(p + 4, limit);
	cp_put_le64(p + 8, base);
}

/* Per-VMM differences in the reset state. QEMU's reflect KVM's reset vCPU; EC2 and GCE
 * hypervisors set a few fields differently and do not put the signature in RDX. */
struct vmm_conv {
	const char *name;
	uint16_t cs_attr, cs_attr_bsp, ss_attr, tr_attr;
	uint64_t g_pat;
	int rdx_is_sig;
	uint64_t rdx_fixed;
	uint32_t mxcsr;
	uint16_t fcw;
};

static const struct vmm_conv vmm_convs[] = {
	[MEMENC_VMM_QEMU] = { "qemu", 0x9b, 0x9b, 0x93, 0x8b, 0x0007040600070406ull, 1, 0, 0x1f80, 0x37f },
	[MEMENC_VMM_EC2] = { "ec2", 0x9b, 0x9a, 0x92, 0x83, 0x0007040600070406ull, 0, 0x600, 0, 0 },
	[MEMENC_VMM_GCE] = { "gce", 0x9b, 0x9b, 0x93, 0x8b, 0x00070106ull, 0, 0x600, 0, 0 },
};

int memenc_vmm_type_parse(const char *s, enum memenc_vmm_type *out, struct cp_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(vmm_convs); i++)
		if (strcasecmp(s, vmm_convs[i].name) == 0) {
			*out = (enum memenc_vmm_type)i;
			return 0;
		}
	return cp_err_set(err, EINVAL, "--vmm-type: unknown VMM type '%s' (qemu, ec2, gce)", s);
}

const char *memenc_vmm_type_name(enum memenc_vmm_type t)
{
	return (size_t)t < ARRAY_SIZE(vmm_convs) ? vmm_convs[t].name : "?";
}

void memenc_vmsa_build(const struct memenc_vmsa_params *p, uint8_t page[MEMENC_PAGE_SIZE])
{
	const struct vmm_conv *c = &vmm_convs[(size_t)p->vmm < ARRAY_SIZE(vmm_convs) ? p->vmm : 0];

	memset(page, 0, MEMENC_PAGE_SIZE);
	seg(page + VMSA_ES, 0, 0x93, 0xffff, 0);
	seg(page + VMSA_CS, 0xf000, p->eip == MEMENC_VMSA_BSP_EIP ? c->cs_attr_bsp : c->cs_attr, 0xffff,
	    p->eip & 0xffff0000u);
	seg(page + VMSA_SS, 0, c->ss_attr, 0xffff, 0);
	seg(page + VMSA_DS, 0, 0x93, 0xffff, 0);
	seg(page + VMSA_FS, 0, 0x93, 0xffff, 0);
	seg(page + VMSA_GS, 0, 0x93, 0xffff, 0);
	seg(page + VMSA_GDTR, 0, 0, 0xffff, 0);
	seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
	seg(page + VMSA_IDTR, 0, 0, 0xffff, 0);
	seg(page + VMSA_TR, 0, c->tr_attr, 0xffff, 0);
	cp_put_le64(page + VMSA_EFER, 0x1000);   /* KVM sets EFER.SVME */
	cp_put_le64(page + VMSA_CR4, 0x40);      /* KVM sets CR4.MCE */
	cp_put_le64(page + VMSA_CR0, 0x10);      /* CR0.ET */
	cp_put_le64(page + VMSA_DR7, 0x400);
	cp_put_le64(page + VMSA_DR6, 0xffff0ff0);
	cp_put_le64(page + VMSA_RFLAGS, 0x2);
	cp_put_le64(page + VMSA_RIP, p->eip & 0xffff);
	cp_put_le64(page + VMSA_G_PAT, c->g_pat);
	cp_put_le64(page + VMSA_RDX, c->rdx_is_sig ? p->vcpu_sig : c->rdx_fixed);
	cp_put_le64(page + VMSA_SEV_FEATURES, p->sev_features);
	cp_put_le64(page + VMSA_XCR0, 0x1);
	cp_put_le32(page + VMSA_MXCSR, c->mxcsr);
	cp_put_le16(page + VMSA_X87_FCW, c->fcw);
}

void memenc_vmsa_build_long(const struct memenc_vmsa_long *p, uint8_t page[MEMENC_PAGE_SIZE])
{
	const struct vmm_conv *c = &vmm_convs[(size_t)p->vmm < ARRAY_SIZE(vmm_convs) ? p->vmm : 0];
	/* Attributes in the VMSA's packed form: type | S<<4 | DPL<<5 | P<<7 | AVL<<8 | L<<9 | DB<<10 | G<<11. */
	const uint16_t code64 = 0xa9b, data = 0xc93;

	memset(page, 0, MEMENC_PAGE_SIZE);
	seg(page + VMSA_ES, p->ds, data, 0xffffffff, 0);
	seg(page + VMSA_CS, p->cs, code64, 0xffffffff, 0);
	seg(page + VMSA_SS, p->ds, data, 0xffffffff, 0);
	seg(page + VMSA_DS, p->ds, data, 0xffffffff, 0);
	seg(page + VMSA_FS, p->ds, data, 0xffffffff, 0);
	seg(page + VMSA_GS, p->ds, data, 0xffffffff, 0);
	seg(page + VMSA_GDTR, 0, 0, p->gdt_limit, p->gdt_base);
	seg(page + VMSA_LDTR, 0, 0x82, 0xffff, 0);
	seg(page + VMSA_IDTR, 0, 0, 0, 0);
	seg(page + VMSA_TR, 0, c->tr_attr, 0xffff, 0);
	cp_put_le64(page + VMSA_EFER, p->efer | 0x1000);
	/* KVM adds the host's CR4.MCE to every vCPU's CR4 (arch/x86/kvm/svm/svm.c svm_set_cr4:
	 * cr4 |= host_cr4_mce), and sev_es_sync_vmsa copies that into the VMSA, as for the reset
	 * state above. */
	cp_put_le64(page + VMSA_CR4, p->cr4 | 0x40);
	cp_put_le64(page + VMSA_CR3, p->cr3);
	cp_put_le64(page + VMSA_CR0, p->cr0);
	cp_put_le64(page + VMSA_DR7, 0x400);
	cp_put_le64(page + VMSA_DR6, 0xffff0ff0);
	cp_put_le64(page + VMSA_RFLAGS, 0x2); /* interrupts off */
	cp_put_le64(page + VMSA_RIP, p->rip);
	cp_put_le64(page + VMSA_RSI, p->rsi);
	cp_put_le64(page + VMSA_G_PAT, c->g_pat);
	cp_put_le64(page + VMSA_SEV_FEATURES, p->sev_features);
	cp_put_le64(page + VMSA_XCR0, 0x1);
	cp_put_le32(page + VMSA_MXCSR, c->mxcsr);
	cp_put_le16(page + VMSA_X87_FCW, c->fcw);
}

uint32_t memenc_cpu_sig(unsigned family, unsigned model, unsigned stepping)
{
	unsigned fam_lo = family > 0xf ? 0xf : family, fam_hi = family > 0xf ? (family - 0xf) & 0xff : 0;

	return (uint32_t)(fam_hi << 20 | ((model >> 4) & 0xf) << 16 | (fam_lo & 0xf) << 8 |
			  (model & 0xf) << 4 | (stepping & 0xf));
}

/* QEMU's builtin EPYC models (target/i386/cpu.c) and their family/model/stepping. */
static const struct {
	const char *name;
	unsigned family, model, stepping;
} cpu_models[] = {
	{ "EPYC", 23, 1, 2 },       { "EPYC-v1", 23, 1, 2 },      { "EPYC-v2", 23, 1, 2 },
	{ "EPYC-IBPB", 23, 1, 2 },  { "EPYC-v3", 23, 1, 2 },      { "EPYC-v4", 23, 1, 2 },
	{ "EPYC-Rome", 23, 49, 0 }, { "EPYC-Rome-v1", 23, 49, 0 }, { "EPYC-Rome-v2", 23, 49, 0 },
	{ "EPYC-Rome-v3", 23, 49, 0 }, { "EPYC-Milan", 25, 1, 1 }, { "EPYC-Milan-v1", 25, 1, 1 },
	{ "EPYC-Milan-v2", 25, 1, 1 }, { "EPYC-Genoa", 25, 17, 0 }, { "EPYC-Genoa-v1", 25, 17, 0 },
	{ "EPYC-Turin", 26, 0, 0 },
};

const char *const memenc_cpu_names[] = {
	"EPYC", "EPYC-v1", "EPYC-v2", "EPYC-IBPB", "EPYC-v3", "EPYC-v4", "EPYC-Rome", "EPYC-Rome-v1",
	"EPYC-Rome-v2", "EPYC-Rome-v3", "EPYC-Milan", "EPYC-Milan-v1", "EPYC-Milan-v2", "EPYC-Genoa",
	"EPYC-Genoa-v1", "EPYC-Turin", NULL,
};

int memenc_cpu_sig_by_name(const char *name, uint32_t *sig, struct cp_err *err)
{
	_Static_assert(ARRAY_SIZE(cpu_models) + 1 == ARRAY_SIZE(memenc_cpu_names), "name list out of date");
	for (size_t i = 0; i < ARRAY_SIZE(cpu_models); i++)
		if (strcmp(name, cpu_models[i].name) == 0) {
			*sig = memenc_cpu_sig(cpu_models[i].family, cpu_models[i].model, cpu_models[i].stepping);
			return 0;
		}
	return cp_err_set(err, ENOENT, "--vcpu-type: unknown vCPU type '%s' (known: EPYC, EPYC-v1..v4, "
			  "EPYC-IBPB, EPYC-Rome[-v1..v3], EPYC-Milan[-v1,-v2], EPYC-Genoa[-v1], EPYC-Turin)", name);
}

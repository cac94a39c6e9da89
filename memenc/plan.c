/* Launch plan builder (per platform) and the measurement walk over a plan. */
#include "memenc/plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "memenc/hash.h"

#define FOUR_GIB 0x100000000ull
#define FW_MAX (256ull << 20) /* firmware images larger than this are not flash images */

static const struct {
	const char *names[3];
	enum memenc_platform p;
} platforms[] = {
	{ { "sev", NULL, NULL }, MEMENC_PLATFORM_SEV },
	{ { "sev-es", "seves", NULL }, MEMENC_PLATFORM_SEV_ES },
	{ { "snp", "sev-snp", NULL }, MEMENC_PLATFORM_SNP },
	{ { "tdx", NULL, NULL }, MEMENC_PLATFORM_TDX },
};

int memenc_platform_parse(const char *s, enum memenc_platform *out, struct cp_err *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(platforms); i++)
		for (size_t j = 0; j < 3 && platforms[i].names[j]; j++)
			if (strcasecmp(s, platforms[i].names[j]) == 0) {
				*out = platforms[i].p;
				return 0;
			}
	return cp_err_set(err, EINVAL, "--platform: unknown platform '%s' (snp, sev-es, sev, tdx)", s);
}

const char *memenc_platform_name(enum memenc_platform p)
{
	for (size_t i = 0; i < ARRAY_SIZE(platforms); i++)
		if (platforms[i].p == p)
			return platforms[i].names[0];
	return "?";
}

const char *memenc_op_type_name(enum memenc_op_type t)
{
	switch (t) {
	case MEMENC_OP_SNP_NORMAL: return "NORMAL";
	case MEMENC_OP_SNP_VMSA: return "VMSA";
	case MEMENC_OP_SNP_ZERO: return "ZERO";
	case MEMENC_OP_SNP_UNMEASURED: return "UNMEASURED";
	case MEMENC_OP_SNP_SECRETS: return "SECRETS";
	case MEMENC_OP_SNP_CPUID: return "CPUID";
	case MEMENC_OP_TDX_ADD: return "PAGE.ADD";
	case MEMENC_OP_TDX_ADD_EXTEND: return "PAGE.ADD+MR.EXTEND";
	case MEMENC_OP_SEV_DATA: return "LAUNCH_UPDATE_DATA";
	case MEMENC_OP_SEV_VMSA: return "LAUNCH_UPDATE_VMSA";
	}
	return "?";
}

void memenc_plan_free(struct memenc_plan *plan)
{
	if (!plan)
		return;
	free(plan->ops);
	free(plan->storage);
	db_layout_free(plan->direct);
	free(plan->direct);
	plan->direct = NULL;
	plan->ops = NULL;
	plan->storage = NULL;
	plan->n = plan->cap = 0;
}

static int plan_add(struct memenc_plan *p, enum memenc_op_type type, uint64_t gpa, uint64_t len,
		    const uint8_t *data, int vcpu, int section, const char *what, struct cp_err *err)
{
	struct memenc_plan_op *op;

	if (p->n == p->cap)
		return cp_err_set(err, E2BIG, "launch plan: more than %zu operations", p->cap);
	op = &p->ops[p->n++];
	op->type = type;
	op->gpa = gpa;
	op->len = len;
	op->data = data;
	op->vcpu = vcpu;
	op->section = section;
	snprintf(op->what, sizeof(op->what), "%s", what);
	return 0;
}

/* Storage layout owned by a plan: [0] BSP VMSA, [1] AP VMSA, [2] hashes page/table, then the HOB. */
enum { ST_BSP = 0, ST_AP = 1, ST_HASHES = 2, ST_PAGES = 3 };

static int add_vmsas(struct memenc_plan *p, const struct memenc_launch_opts *o, uint64_t features,
		     enum memenc_op_type type, struct cp_err *err)
{
	struct memenc_vmsa_params vp = { .sev_features = features, .vcpu_sig = o->vcpu_sig, .vmm = o->vmm };
	uint32_t ap_eip;
	int r;

	if (o->vcpus < 1 || o->vcpus > MEMENC_VCPUS_MAX)
		return cp_err_set(err, EINVAL, "--vcpus: %u is outside 1..%u", o->vcpus, MEMENC_VCPUS_MAX);
	/* APs start at the firmware's SEV-ES reset block; without it the VMM has no AP entry point. */
	r = memenc_ovmf_sev_es_reset_eip(&p->table, &ap_eip, err);
	if (r < 0)
		return r;
	vp.eip = MEMENC_VMSA_BSP_EIP;
	memenc_vmsa_build(&vp, p->storage + ST_BSP * MEMENC_PAGE_SIZE);
	vp.eip = ap_eip;
	memenc_vmsa_build(&vp, p->storage + ST_AP * MEMENC_PAGE_SIZE);
	for (unsigned i = 0; i < o->vcpus; i++) {
		char what[16];
		snprintf(what, sizeof(what), "vmsa%u", i);
		r = plan_add(p, type, type == MEMENC_OP_SNP_VMSA ? MEMENC_SNP_VMSA_GPA : 0, MEMENC_PAGE_SIZE,
			     p->storage + (i == 0 ? ST_BSP : ST_AP) * MEMENC_PAGE_SIZE, (int)i, -1, what, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build_snp(struct memenc_plan *p, const uint8_t *fw, size_t len, const struct memenc_launch_opts *o,
		     struct cp_err *err)
{
	int cpuid_section = -1, r;
	bool have_hashes_section = false;

	if (!p->sev.present)
		return cp_err_set(err, EINVAL, "firmware: no SEV metadata (ASEV) in the footer table: not an "
				  "SEV-SNP capable OVMF build");
	r = plan_add(p, MEMENC_OP_SNP_NORMAL, p->fw_gpa, len, fw, -1, -1, "firmware", err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->sev.n; i++) {
		const struct memenc_sev_section *s = &p->sev.s[i];
		const char *name = memenc_sev_section_name(s->type);

		switch (s->type) {
		case MEMENC_SEV_SEC_SNP_SEC_MEM:
			/* GCE's hypervisor adds the pre-validated SEC memory without measuring it. */
			r = plan_add(p, o->vmm == MEMENC_VMM_GCE ? MEMENC_OP_SNP_UNMEASURED : MEMENC_OP_SNP_ZERO,
				     s->gpa, s->size, NULL, -1, (int)i, name, err);
			break;
		case MEMENC_SEV_SEC_SNP_SECRETS:
			r = plan_add(p, MEMENC_OP_SNP_SECRETS, s->gpa, s->size, NULL, -1, (int)i, name, err);
			break;
		case MEMENC_SEV_SEC_CPUID:
			/* EC2 adds the CPUID page after every other section. */
			if (o->vmm == MEMENC_VMM_EC2) {
				if (cpuid_section < 0)
					cpuid_section = (int)i;
				r = 0;
			} else {
				r = plan_add(p, MEMENC_OP_SNP_CPUID, s->gpa, s->size, NULL, -1, (int)i, name, err);
			}
			break;
		case MEMENC_SEV_SEC_SVSM_CAA:
			r = plan_add(p, MEMENC_OP_SNP_ZERO, s->gpa, s->size, NULL, -1, (int)i, name, err);
			break;
		case MEMENC_SEV_SEC_SNP_KERNEL_HASHES:
			have_hashes_section = true;
			if (o->kernel) {
				uint32_t table_gpa;
				uint8_t *page = p->storage + ST_HASHES * MEMENC_PAGE_SIZE;

				r = memenc_ovmf_sev_hashes_gpa(&p->table, &table_gpa, err);
				if (r == 0)
					r = memenc_sev_hashes_page(&o->hashes, table_gpa & 0xfff, page, err);
				if (r == 0)
					r = plan_add(p, MEMENC_OP_SNP_NORMAL, s->gpa, s->size, page, -1, (int)i, name, err);
			} else {
				r = plan_add(p, MEMENC_OP_SNP_ZERO, s->gpa, s->size, NULL, -1, (int)i, name, err);
			}
			break;
		default:
			r = cp_err_set(err, EINVAL, "firmware: SEV metadata section %zu: type 0x%x", i, s->type);
		}
		if (r < 0)
			return r;
	}
	if (cpuid_section >= 0)
		for (size_t i = 0; i < p->sev.n; i++)
			if (p->sev.s[i].type == MEMENC_SEV_SEC_CPUID) {
				r = plan_add(p, MEMENC_OP_SNP_CPUID, p->sev.s[i].gpa, p->sev.s[i].size, NULL, -1, (int)i,
					     "CPUID", err);
				if (r < 0)
					return r;
			}
	if (o->kernel && !have_hashes_section)
		return cp_err_set(err, EINVAL, "--kernel: the firmware's SEV metadata has no SNP_KERNEL_HASHES "
				  "section, so a directly booted kernel cannot be measured (use an AmdSev OVMF build)");
	return add_vmsas(p, o, o->guest_features, MEMENC_OP_SNP_VMSA, err);
}

static int build_sev(struct memenc_plan *p, const uint8_t *fw, size_t len, const struct memenc_launch_opts *o,
		     struct cp_err *err)
{
	int r = plan_add(p, MEMENC_OP_SEV_DATA, p->fw_gpa, len, fw, -1, -1, "firmware", err);

	if (r < 0)
		return r;
	if (o->kernel) {
		uint32_t table_gpa;
		uint8_t *table = p->storage + ST_HASHES * MEMENC_PAGE_SIZE;

		if (memenc_ovmf_sev_hashes_gpa(&p->table, &table_gpa, NULL) < 0)
			return cp_err_set(err, EINVAL, "--kernel: the firmware has no SEV hashes table (footer GUID "
					  "7255371f-3a3b-4b04-927b-1da6efa8d454 absent or GPA 0), so it cannot measure "
					  "a directly booted kernel/initrd/cmdline");
		memenc_sev_hashes_table(&o->hashes, table);
		r = plan_add(p, MEMENC_OP_SEV_DATA, table_gpa, MEMENC_SEV_HASHES_TABLE_LEN, table, -1, -1,
			     "kernel-hashes", err);
		if (r < 0)
			return r;
	}
	if (o->platform == MEMENC_PLATFORM_SEV_ES)
		return add_vmsas(p, o, 0, MEMENC_OP_SEV_VMSA, err);
	return 0;
}

static int build_tdx(struct memenc_plan *p, const uint8_t *fw, const struct memenc_launch_opts *o,
		     struct cp_err *err)
{
	if (!p->tdvf.present)
		return cp_err_set(err, EINVAL, "firmware: no TDX metadata (TDVF) in the footer table: not a TDX "
				  "capable OVMF build");
	for (size_t i = 0; i < p->tdvf.n; i++) {
		const struct memenc_tdvf_section *s = &p->tdvf.s[i];
		bool extend = s->attributes & MEMENC_TDVF_ATTR_MR_EXTEND;
		const uint8_t *data = NULL;
		int r;

		if (s->attributes & MEMENC_TDVF_ATTR_PAGE_AUG)
			continue; /* accepted by the guest later, never added at launch */
		switch (s->type) {
		case MEMENC_TDVF_BFV:
		case MEMENC_TDVF_CFV:
			data = fw + s->data_offset;
			break;
		case MEMENC_TDVF_TD_HOB:
			/* The HOB is the VMM's (memory map); measured only if the firmware asks. */
			if (extend && !o->td_hob)
				return cp_err_set(err, EINVAL, "firmware: TDVF section %zu (TD_HOB) has MR_EXTEND, so "
						  "MRTD depends on the HOB contents; none were given", i);
			if (o->td_hob) {
				uint8_t *hob = p->storage + ST_PAGES * MEMENC_PAGE_SIZE;
				if (o->td_hob_len > s->mem_size)
					return cp_err_set(err, EINVAL, "TD HOB of %zu bytes exceeds the TD_HOB section "
							  "(0x%llx bytes)", o->td_hob_len, (unsigned long long)s->mem_size);
				memcpy(hob, o->td_hob, o->td_hob_len);
				data = hob;
			}
			break;
		default:
			break;
		}
		r = plan_add(p, extend ? MEMENC_OP_TDX_ADD_EXTEND : MEMENC_OP_TDX_ADD, s->gpa, s->mem_size, data,
			     -1, (int)i, memenc_tdvf_section_name(s->type), err);
		if (r < 0)
			return r;
	}
	return 0;
}

int memenc_plan_build(struct memenc_plan *plan, const uint8_t *fw, size_t len,
		      const struct memenc_launch_opts *o, struct cp_err *err)
{
	size_t storage = ST_PAGES * MEMENC_PAGE_SIZE;
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->platform = o->platform;
	if (len == 0 || len % MEMENC_PAGE_SIZE)
		return cp_err_set(err, EINVAL, "firmware: size %zu is not a non-zero multiple of 4 KiB", len);
	if (len > FW_MAX)
		return cp_err_set(err, EFBIG, "firmware: size %zu exceeds %llu bytes", len, FW_MAX);
	plan->fw_gpa = FOUR_GIB - len;
	r = memenc_ovmf_table_parse(fw, len, &plan->table, err);
	/* Only the metadata this platform uses is read: an AMD launch does not depend on TDVF. */
	if (r == 0 && o->platform == MEMENC_PLATFORM_SNP)
		r = memenc_sev_metadata_parse(fw, len, &plan->table, &plan->sev, err);
	if (r == 0 && o->platform == MEMENC_PLATFORM_TDX)
		r = memenc_tdvf_metadata_parse(fw, len, &plan->table, &plan->tdvf, err);
	if (r < 0)
		return r;
	if (o->platform == MEMENC_PLATFORM_TDX && o->td_hob) {
		if (o->td_hob_len > (64u << 20))
			return cp_err_set(err, EFBIG, "TD HOB of %zu bytes is implausibly large", o->td_hob_len);
		/* The HOB op covers the whole TD_HOB section: the copy must be as large as that, zero
		 * past the HOB itself, or measuring an MR_EXTEND TD_HOB would read past it. */
		size_t hob = (o->td_hob_len + MEMENC_PAGE_SIZE - 1) & ~(size_t)(MEMENC_PAGE_SIZE - 1);
		for (size_t i = 0; i < plan->tdvf.n; i++)
			if (plan->tdvf.s[i].type == MEMENC_TDVF_TD_HOB && plan->tdvf.s[i].mem_size > hob) {
				if (plan->tdvf.s[i].mem_size > (64u << 20))
					return cp_err_set(err, EFBIG, "TDVF section %zu: a TD_HOB of 0x%llx bytes is implausibly large",
							  i, (unsigned long long)plan->tdvf.s[i].mem_size);
				hob = (size_t)plan->tdvf.s[i].mem_size;
			}
		storage += hob;
	}
	plan->cap = 2 + MEMENC_SEV_MAX_SECTIONS + MEMENC_TDVF_MAX_SECTIONS + MEMENC_VCPUS_MAX;
	plan->ops = calloc(plan->cap, sizeof(*plan->ops));
	plan->storage = calloc(1, storage);
	if (!plan->ops || !plan->storage) {
		memenc_plan_free(plan);
		return cp_err_set(err, ENOMEM, "launch plan: out of memory");
	}
	switch (o->platform) {
	case MEMENC_PLATFORM_SNP:
		r = build_snp(plan, fw, len, o, err);
		break;
	case MEMENC_PLATFORM_SEV:
	case MEMENC_PLATFORM_SEV_ES:
		r = build_sev(plan, fw, len, o, err);
		break;
	case MEMENC_PLATFORM_TDX:
		if (o->kernel)
			r = cp_err_set(err, EINVAL, "--kernel: TDX direct boot is measured into RTMRs by the "
				       "firmware, not into MRTD; the launch plan has no kernel pages");
		else
			r = build_tdx(plan, fw, o, err);
		break;
	default:
		r = cp_err_set(err, EINVAL, "launch plan: unknown platform %d", (int)o->platform);
	}
	if (r < 0)
		memenc_plan_free(plan);
	return r;
}

int memenc_plan_build_direct(struct memenc_plan *plan, const struct db_input *in,
			     const struct memenc_launch_opts *o, struct cp_err *err)
{
	struct db_input din = *in;
	struct db_layout *l;
	int r = 0;

	memset(plan, 0, sizeof(*plan));
	plan->platform = o->platform;
	if (o->platform == MEMENC_PLATFORM_SNP)
		din.platform = DB_SNP;
	else if (o->platform == MEMENC_PLATFORM_TDX)
		din.platform = DB_TDX;
	else
		return cp_err_set(err, EINVAL, "firmware-less direct boot exists for SNP and TDX only, not %s",
				  memenc_platform_name(o->platform));
	if (o->platform == MEMENC_PLATFORM_SNP && in->vcpus != o->vcpus)
		return cp_err_set(err, EINVAL, "direct boot: layout for %u vCPUs, launch for %u", in->vcpus, o->vcpus);
	plan->direct = l = calloc(1, sizeof(*l));
	plan->cap = 32 + o->vcpus;
	plan->ops = calloc(plan->cap, sizeof(*plan->ops));
	plan->storage = calloc(ST_PAGES, MEMENC_PAGE_SIZE);
	if (!l || !plan->ops || !plan->storage) {
		memenc_plan_free(plan);
		return cp_err_set(err, ENOMEM, "launch plan: out of memory");
	}
	r = db_layout_build(&din, l, err);
	if (r == 0 && o->platform == MEMENC_PLATFORM_TDX) {
		/* TDX: every data page (the stub included) is added and MR.EXTENDed; RAM is not in
		 * the plan: the stub accepts it (KVM adds it on the guest's accept); no VMSAs, the
		 * TDX module fixes the initial vCPU state (reset vector, ESI = vCPU index). */
		for (size_t i = 0; i < l->n && r == 0; i++)
			if (l->r[i].kind == DB_DATA)
				r = plan_add(plan, MEMENC_OP_TDX_ADD_EXTEND, l->r[i].gpa, l->r[i].len, l->r[i].data, -1, -1,
					     l->r[i].what, err);
		if (r < 0)
			memenc_plan_free(plan);
		return r;
	}
	for (size_t i = 0; i < l->n && r == 0; i++) {
		static const enum memenc_op_type snp[] = {
			[DB_DATA] = MEMENC_OP_SNP_NORMAL, [DB_ZERO] = MEMENC_OP_SNP_ZERO,
			[DB_SECRETS_PAGE] = MEMENC_OP_SNP_SECRETS, [DB_CPUID_PAGE] = MEMENC_OP_SNP_CPUID,
		};
		const struct db_region *d = &l->r[i];
		if (d->kind == DB_ZERO && !l->ram_in_launch)
			continue; /* --snp-validate stub: the measured stub validates it in the guest */
		r = plan_add(plan, snp[d->kind], d->gpa, d->len, d->data, -1, -1, d->what, err);
	}
	if (r == 0) {
		struct memenc_vmsa_long v = { .rip = l->entry.rip, .rsi = l->entry.rsi, .cr0 = l->entry.cr0,
					      .cr3 = l->entry.cr3, .cr4 = l->entry.cr4, .efer = l->entry.efer,
					      .gdt_base = l->entry.gdt_base, .gdt_limit = l->entry.gdt_limit,
					      .cs = l->entry.cs, .ds = l->entry.ds, .sev_features = o->guest_features,
					      .vmm = o->vmm };
		memenc_vmsa_build_long(&v, plan->storage + ST_BSP * MEMENC_PAGE_SIZE);
		v.rip = l->entry.ap_rip;
		v.rsi = 0;
		memenc_vmsa_build_long(&v, plan->storage + ST_AP * MEMENC_PAGE_SIZE);
		for (unsigned i = 0; i < o->vcpus && r == 0; i++) {
			char what[16];
			snprintf(what, sizeof(what), "vmsa%u", i);
			r = plan_add(plan, MEMENC_OP_SNP_VMSA, MEMENC_SNP_VMSA_GPA, MEMENC_PAGE_SIZE,
				     plan->storage + (i == 0 ? ST_BSP : ST_AP) * MEMENC_PAGE_SIZE, (int)i, -1, what, err);
		}
	}
	if (r < 0)
		memenc_plan_free(plan);
	return r;
}

/* ---- measurement walk ---- */

struct walker {
	EVP_MD_CTX *page, *stream, *snap;
	const EVP_MD *md;
};

static void walker_free(struct walker *w)
{
	EVP_MD_CTX_free(w->page);
	EVP_MD_CTX_free(w->stream);
	EVP_MD_CTX_free(w->snap);
}

static const uint8_t zero_page[MEMENC_PAGE_SIZE];

/* One SNP PAGE_INFO step: LD = SHA-384(LD || CONTENTS || 0x70 || type || imi 0 || vmpl perms 0 || gpa). */
static int snp_step(struct walker *w, uint8_t ld[48], const uint8_t contents[48], uint8_t type, uint64_t gpa,
		    struct cp_err *err)
{
	uint8_t info[0x70] = { 0 };

	memcpy(info, ld, 48);
	memcpy(info + 0x30, contents, 48);
	cp_put_le16(info + 0x60, sizeof(info));
	info[0x62] = type;
	cp_put_le64(info + 0x68, gpa);
	return memenc_digest_ctx(w->page, w->md, info, sizeof(info), ld, err);
}

static int measure_snp(const struct memenc_plan *p, const uint8_t *seed, uint8_t ld[48], memenc_step_fn step,
		       void *ctx, struct cp_err *err)
{
	struct walker w = { EVP_MD_CTX_new(), NULL, NULL, memenc_md_sha384() };
	static const uint8_t zeros[48];
	int r = 0;

	if (!w.page)
		return cp_err_set(err, ENOMEM, "out of memory for a digest context");
	memcpy(ld, seed ? seed : zeros, 48);
	for (size_t i = 0; i < p->n && r == 0; i++) {
		const struct memenc_plan_op *op = &p->ops[i];
		bool measured = op->type == MEMENC_OP_SNP_NORMAL || op->type == MEMENC_OP_SNP_VMSA;

		if (seed && i == 0 && op->section < 0 && op->vcpu < 0)
			continue; /* the seed stands for the firmware pages */
		if (measured && !op->data) {
			r = cp_err_set(err, EINVAL, "launch plan op %zu (%s): measured page without contents", i, op->what);
			break;
		}
		for (uint64_t off = 0; off < op->len && r == 0; off += MEMENC_PAGE_SIZE) {
			uint8_t contents[48] = { 0 };
			uint64_t gpa = op->type == MEMENC_OP_SNP_VMSA ? MEMENC_SNP_VMSA_GPA : op->gpa + off;

			if (measured)
				r = memenc_digest_ctx(w.page, w.md, op->data + off, MEMENC_PAGE_SIZE, contents, err);
			if (r == 0)
				r = snp_step(&w, ld, contents, (uint8_t)op->type, gpa, err);
		}
		if (r == 0 && step)
			step(ctx, i, ld, 48);
	}
	walker_free(&w);
	return r;
}

static int snapshot(struct walker *w, uint8_t *out, struct cp_err *err)
{
	if (EVP_MD_CTX_copy_ex(w->snap, w->stream) != 1 || EVP_DigestFinal_ex(w->snap, out, NULL) != 1)
		return cp_err_set(err, EIO, "OpenSSL digest failed");
	return 0;
}

/* A running digest (SEV, TDX): its stream and a context for snapshots. On failure nothing is
 * left to free. */
static int stream_start(struct walker *w, const EVP_MD *md, struct cp_err *err)
{
	*w = (struct walker){ NULL, EVP_MD_CTX_new(), EVP_MD_CTX_new(), md };
	if (!w->stream || !w->snap) {
		walker_free(w);
		return cp_err_set(err, ENOMEM, "out of memory for a digest context");
	}
	if (EVP_DigestInit_ex2(w->stream, w->md, NULL) != 1) {
		walker_free(w);
		return cp_err_set(err, EIO, "OpenSSL digest init failed");
	}
	return 0;
}

/* After op i: hand the running value (len bytes) to the caller's step function, if any. */
static int stream_step(struct walker *w, size_t i, size_t len, memenc_step_fn step, void *ctx, struct cp_err *err)
{
	uint8_t now[EVP_MAX_MD_SIZE];
	int r;

	if (!step)
		return 0;
	if ((r = snapshot(w, now, err)) == 0)
		step(ctx, i, now, len);
	return r;
}

static int measure_sev(const struct memenc_plan *p, uint8_t out[32], memenc_step_fn step, void *ctx,
		       struct cp_err *err)
{
	struct walker w;
	int r = stream_start(&w, memenc_md_sha256(), err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		if (!p->ops[i].data) {
			r = cp_err_set(err, EINVAL, "launch plan op %zu (%s): no contents", i, p->ops[i].what);
			break;
		}
		if (EVP_DigestUpdate(w.stream, p->ops[i].data, p->ops[i].len) != 1)
			r = cp_err_set(err, EIO, "OpenSSL digest update failed");
		if (r == 0)
			r = stream_step(&w, i, 32, step, ctx, err);
	}
	if (r == 0 && EVP_DigestFinal_ex(w.stream, out, NULL) != 1)
		r = cp_err_set(err, EIO, "OpenSSL digest final failed");
	walker_free(&w);
	return r;
}

#define TDX_PAGE_STREAM (128 + 16 * (128 + 256))

/* The MRTD stream for one page: its PAGE.ADD record and, when page is non-NULL, the 16
 * MR.EXTEND records each followed by its 256 bytes. Returns the byte count written. */
static size_t tdx_page_records(uint8_t *buf, uint64_t gpa, const uint8_t *page)
{
	uint8_t *p = buf;

	memset(p, 0, 128);
	memcpy(p, "MEM.PAGE.ADD", 12);
	cp_put_le64(p + 16, gpa);
	p += 128;
	if (!page)
		return 128;
	for (unsigned c = 0; c < MEMENC_PAGE_SIZE / 256; c++) {
		memset(p, 0, 128);
		memcpy(p, "MR.EXTEND", 9);
		cp_put_le64(p + 16, gpa + 256 * c);
		memcpy(p + 128, page + 256 * c, 256);
		p += 128 + 256;
	}
	return (size_t)(p - buf);
}

/* MRTD: one SHA-384 over 128-byte records. PAGE.ADD: "MEM.PAGE.ADD" + GPA at byte 16.
 * MR.EXTEND (per 256-byte chunk): "MR.EXTEND" + chunk GPA at byte 16, then the 256 bytes.
 * Per page: PAGE.ADD, then its 16 MR.EXTENDs — the order KVM_TDX_INIT_MEM_REGION uses. */
static int measure_tdx(const struct memenc_plan *p, uint8_t out[48], memenc_step_fn step, void *ctx,
		       struct cp_err *err)
{
	struct walker w;
	int r = stream_start(&w, memenc_md_sha384(), err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n && r == 0; i++) {
		const struct memenc_plan_op *op = &p->ops[i];
		/* Records go to OpenSSL in page-sized batches: one update per page, not per record. */
		uint8_t buf[TDX_PAGE_STREAM];

		for (uint64_t off = 0; off < op->len && r == 0; off += MEMENC_PAGE_SIZE) {
			const uint8_t *page = op->data ? op->data + off : zero_page;
			size_t n = tdx_page_records(buf, op->gpa + off, op->type == MEMENC_OP_TDX_ADD_EXTEND ? page : NULL);

			if (EVP_DigestUpdate(w.stream, buf, n) != 1)
				r = cp_err_set(err, EIO, "OpenSSL digest update failed");
		}
		if (r == 0)
			r = stream_step(&w, i, 48, step, ctx, err);
	}
	if (r == 0 && EVP_DigestFinal_ex(w.stream, out, NULL) != 1)
		r = cp_err_set(err, EIO, "OpenSSL digest final failed");
	walker_free(&w);
	return r;
}

int memenc_plan_measure(const struct memenc_plan *plan, uint8_t out[48], size_t *out_len,
			memenc_step_fn step, void *ctx, struct cp_err *err)
{
	switch (plan->platform) {
	case MEMENC_PLATFORM_SNP:
		*out_len = 48;
		return measure_snp(plan, NULL, out, step, ctx, err);
	case MEMENC_PLATFORM_SEV:
	case MEMENC_PLATFORM_SEV_ES:
		*out_len = 32;
		return measure_sev(plan, out, step, ctx, err);
	case MEMENC_PLATFORM_TDX:
		*out_len = 48;
		return measure_tdx(plan, out, step, ctx, err);
	}
	return cp_err_set(err, EINVAL, "launch plan: unknown platform %d", (int)plan->platform);
}

int memenc_plan_measure_snp_from(const struct memenc_plan *plan, const uint8_t seed[48], uint8_t out[48],
				 memenc_step_fn step, void *ctx, struct cp_err *err)
{
	if (plan->platform != MEMENC_PLATFORM_SNP)
		return cp_err_set(err, EINVAL, "a precomputed firmware digest only applies to SEV-SNP");
	return measure_snp(plan, seed, out, step, ctx, err);
}

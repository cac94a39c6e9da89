/* The SEV-SNP and TDX launch drivers: one state machine per launch, each step a function in a
 * per-platform const table; the page operations come only from memenc's launch plan. Every
 * kernel call goes through struct kvm_ops, so the strict double can stand in (tests/double/). */
#include "runner/cc/cc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "memenc/sev_hashes.h"
#include "runner/guest_cpuid.h"
#include "runner/host_info.h"
#include "runner/kvm_cc_uapi.h"
#include "runner/layout.h"

#define PG 4096ull
#define FOUR_GIB 0x100000000ull
#define RETRY_MAX 10000u /* EAGAIN / no-progress answers in a row before giving up */

static const char *const state_names[] = {
	[CC_ST_NEW] = "new", [CC_ST_VM_CREATED] = "vm-created", [CC_ST_INITIALIZED] = "initialized",
	[CC_ST_STARTED] = "launch-started", [CC_ST_MEMORY] = "memory-bound", [CC_ST_VCPUS] = "vcpus-created",
	[CC_ST_PAGES] = "pages-added", [CC_ST_FINISHED] = "finished", [CC_ST_FAILED] = "failed",
};
static const char *const step_names[] = {
	[CC_STEP_CREATE_VM] = "create-vm", [CC_STEP_INIT] = "init", [CC_STEP_START] = "launch-start",
	[CC_STEP_MEMORY] = "memory", [CC_STEP_VCPUS] = "vcpus", [CC_STEP_PAGES] = "pages", [CC_STEP_FINISH] = "finish",
};

const char *cc_state_name(enum cc_state s)
{
	return (size_t)s < ARRAY_SIZE(state_names) && state_names[s] ? state_names[s] : "?";
}
const char *cc_step_name(enum cc_step s)
{
	return (size_t)s < ARRAY_SIZE(step_names) && step_names[s] ? step_names[s] : "?";
}

static const char *plat(const struct cc_vm *vm) { return vm->platform == CC_SNP ? "SEV-SNP" : "TDX"; }

static int kio(struct cc_vm *vm, int fd, unsigned long req, void *arg)
{
	return vm->ops->ioctl(vm->ctx, fd, req, arg);
}

/* ---- memory layout (pure) ---- */

static const struct cc_block *block_of(const struct cc_vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->nblocks; i++) {
		const struct cc_block *b = &vm->blocks[i];
		if (gpa >= b->gpa && len <= b->size && gpa - b->gpa <= b->size - len)
			return b;
	}
	return NULL;
}

static uint8_t *shared_ptr(const struct cc_vm *vm, const struct cc_block *b, uint64_t gpa)
{
	return vm->shared + b->shared_off + (gpa - b->gpa);
}

/* The private image block that ends at 4 GiB: the firmware; for a firmware-less direct boot the
 * TDX stub's page (DB_STUB), or nothing on SEV-SNP (its vCPUs start at the kernel's entry). */
static uint64_t image_len(const struct cc_launch_cfg *cfg)
{
	if (cc_cfg_direct(cfg))
		return cfg->platform == CC_TDX ? FOUR_GIB - DB_STUB : 0;
	return cfg->firmware_len;
}

static void layout(struct cc_vm *vm, const struct cc_launch_cfg *cfg)
{
	uint64_t low = cfg->mem_size < GP_MMIO_HOLE ? cfg->mem_size : GP_MMIO_HOLE, img = image_len(cfg);
	unsigned n = 0;

	vm->blocks[n++] = (struct cc_block){ "ram-low", 0, low, 0, -1, 0, NULL };
	if (cfg->mem_size > GP_MMIO_HOLE)
		vm->blocks[n++] = (struct cc_block){ "ram-high", FOUR_GIB, cfg->mem_size - GP_MMIO_HOLE, low, -1, 1, NULL };
	/* The firmware (or the TDX stub) is private memory of its own, ending at 4 GiB (like a flash
	 * device). It is named "firmware" either way: it is not RAM (cc_block_is_ram). */
	if (img) {
		vm->blocks[n] = (struct cc_block){ "firmware", FOUR_GIB - img, img, cfg->mem_size, -1, n, NULL };
		n++;
	}
	vm->nblocks = n;
	vm->shared_size = cfg->mem_size + img;
}

/* ---- TD HOB (pure): PHIT, one resource descriptor per RAM range, end. Ranges the launch adds
 * (TDVF sections in RAM) are SYSTEM_MEMORY, the rest UNACCEPTED (the guest accepts it). ---- */

enum { HOB_PHIT = 1, HOB_RESOURCE = 3, HOB_END = 0xffff, RES_SYSTEM_MEMORY = 0, RES_UNACCEPTED = 7,
       RES_ATTR_TDVF = 0x7 /* PRESENT | INITIALIZED | TESTED */ };

static size_t hob_resource(uint8_t *p, uint32_t type, uint64_t start, uint64_t len)
{
	memset(p, 0, 48);
	cp_put_le16(p, HOB_RESOURCE);
	cp_put_le16(p + 2, 48);
	cp_put_le32(p + 24, type);
	cp_put_le32(p + 28, RES_ATTR_TDVF);
	cp_put_le64(p + 32, start);
	cp_put_le64(p + 40, len);
	return 48;
}

static int range_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static int tdx_build_hob(struct cc_vm *vm, const struct memenc_tdvf_metadata *md, struct cp_err *err)
{
	uint64_t added[MEMENC_TDVF_MAX_SECTIONS][2];
	size_t nadded = 0, off = 56, cap = 56 + 8 + 48 * (2 * MEMENC_TDVF_MAX_SECTIONS + 2 * CC_MAX_BLOCKS);
	const struct memenc_tdvf_section *hob_sec = NULL;
	uint8_t *h;

	for (size_t i = 0; i < md->n; i++) {
		const struct memenc_tdvf_section *s = &md->s[i];
		if (s->type == MEMENC_TDVF_TD_HOB)
			hob_sec = s;
		if (!(s->attributes & MEMENC_TDVF_ATTR_PAGE_AUG) && s->gpa < FOUR_GIB - vm->cfg->firmware_len) {
			added[nadded][0] = s->gpa;
			added[nadded++][1] = s->mem_size;
		}
	}
	if (!hob_sec)
		return cp_err_set(err, EINVAL, "firmware: the TDVF metadata has no TD_HOB section");
	if (!block_of(vm, hob_sec->gpa, hob_sec->mem_size))
		return cp_err_set(err, EINVAL, "firmware: TD_HOB at 0x%" PRIx64 " is outside guest RAM (%" PRIu64 " MiB)",
				  hob_sec->gpa, vm->cfg->mem_size >> 20);
	qsort(added, nadded, sizeof(added[0]), range_cmp);
	h = calloc(1, cap);
	if (!h)
		return cp_err_set(err, ENOMEM, "out of memory");
	for (unsigned b = 0; b < vm->nblocks; b++) {
		const struct cc_block *blk = &vm->blocks[b];
		uint64_t cur = blk->gpa, end = blk->gpa + blk->size;
		if (!cc_block_is_ram(blk))
			continue;
		for (size_t i = 0; i < nadded; i++) {
			if (added[i][0] < cur || added[i][0] >= end)
				continue;
			if (added[i][0] > cur)
				off += hob_resource(h + off, RES_UNACCEPTED, cur, added[i][0] - cur);
			off += hob_resource(h + off, RES_SYSTEM_MEMORY, added[i][0], added[i][1]);
			cur = added[i][0] + added[i][1];
		}
		if (cur < end)
			off += hob_resource(h + off, RES_UNACCEPTED, cur, end - cur);
	}
	cp_put_le16(h + off, HOB_END);
	cp_put_le16(h + off + 2, 8);
	off += 8;
	/* PHIT: version 9, boot mode 0, memory fields 0 (TDVF uses the resource HOBs), end of list. */
	cp_put_le16(h, HOB_PHIT);
	cp_put_le16(h + 2, 56);
	cp_put_le32(h + 8, 9);
	cp_put_le64(h + 48, hob_sec->gpa + off - 8);
	if (off > hob_sec->mem_size) {
		free(h);
		return cp_err_set(err, E2BIG, "TD HOB of %zu bytes does not fit the TD_HOB section (0x%" PRIx64 " bytes)",
				  off, hob_sec->mem_size);
	}
	vm->hob = h;
	vm->hob_len = off;
	vm->hob_gpa = hob_sec->gpa;
	return 0;
}

/* ---- CPUID ---- */

/* vCPU `index`'s CPUID: KVM's supported table shaped by the --cpu model and filtered, exactly as
 * a plain VM's (guest_cpuid_build). The SNP CPUID page, the TDX INIT_VM configuration and
 * KVM_SET_CPUID2 all come from here. */
static int vcpu_cpuid(struct cc_vm *vm, unsigned index, struct cpuid_table *t, struct cp_err *err)
{
	_cleanup_free_ struct cpuid_table *supported = calloc(1, sizeof(*supported));
	int r;

	if (!supported)
		return cp_err_set(err, ENOMEM, "out of memory");
	supported->nent = CPUID_MAX_ENTRIES;
	r = kio(vm, vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid_table_kvm(supported));
	if (r < 0)
		return cp_err_set(err, -r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	if ((r = guest_cpuid_build(&vm->cpu_model, supported, index, vm->cfg->vcpus, t, err)) < 0)
		return r;
	/* The signature the plan's VMSAs carry in RDX is the one the guest reads from CPUID. */
	for (unsigned i = 0; i < t->nent; i++)
		if (t->e[i].function == 1 && vm->opts.vcpu_sig)
			t->e[i].eax = vm->opts.vcpu_sig;
	return 0;
}

/* SEV-SNP CPUID page: {count, reserved, reserved64, fn[64] of {eax_in, ecx_in, xcr0_in, xss_in,
 * eax, ebx, ecx, edx, reserved}} (48-byte entries). The PSP checks it against what the CPU
 * allows; it is measured as zeros. */
static int snp_cpuid_page(const struct cpuid_table *t, uint8_t page[PG], struct cp_err *err)
{
	unsigned n = 0;

	memset(page, 0, PG);
	for (unsigned i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->e[i];
		uint8_t *f = page + 16 + 48 * n;
		if (n == 64)
			return cp_err_set(err, E2BIG, "SNP CPUID page: vCPU 0 has more than 64 CPUID entries");
		uint32_t ecx_in = (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? e->index : 0;
		cp_put_le32(f, e->function);
		cp_put_le32(f + 4, ecx_in);
		cp_put_le32(f + 24, e->eax);
		cp_put_le32(f + 28, e->ebx);
		cp_put_le32(f + 32, e->ecx);
		cp_put_le32(f + 36, e->edx);
		/* Leaf 0xD subleaves 0 and 1 as QEMU's sev_snp_cpuid_info_fill() fills them: the XSAVE
		 * area size of the initial XCR0 = 1 state (0x240: legacy area + header), with XCR0_IN 1
		 * and XSS_IN 0; the guest computes the other sizes from the per-component subleaves.
		 * The firmware checks EBX against XCR0_IN, so KVM's size for all features is refused. */
		if (e->function == 0xd && ecx_in <= 1) {
			cp_put_le64(f + 8, 1);
			cp_put_le64(f + 16, 0);
			cp_put_le32(f + 28, 0x240);
		}
		n++;
	}
	cp_put_le32(page, n);
	return 0;
}

/* Name every CPUID page entry the firmware changed (it writes its corrected page back to the
 * source when it refuses one: arch/x86/kvm/svm/sev.c sev_gmem_post_populate), as QEMU's
 * sev_snp_cpuid_report_mismatches() does. Pure; returns how many entries differ. */
static unsigned snp_cpuid_page_diff(const uint8_t *want, const uint8_t *got, char *out, size_t len)
{
	static const char *const regs[] = { "EAX", "EBX", "ECX", "EDX" };
	unsigned n = cp_le32(want) > 64 ? 64 : cp_le32(want), diffs = 0;
	size_t off = 0;

	out[0] = '\0';
	if (cp_le32(got) != cp_le32(want)) {
		off += (size_t)snprintf(out + off, len - off, "entry count %u -> %u; ", cp_le32(want), cp_le32(got));
		diffs++;
	}
	for (unsigned i = 0; i < n && off < len; i++) {
		const uint8_t *w = want + 16 + 48 * i, *g = got + 16 + 48 * i;
		if (!memcmp(w, g, 48))
			continue;
		diffs++;
		off += (size_t)snprintf(out + off, len - off, "leaf 0x%x subleaf %u:", cp_le32(w), cp_le32(w + 4));
		for (unsigned r = 0; r < 4 && off < len; r++)
			if (cp_le32(w + 24 + 4 * r) != cp_le32(g + 24 + 4 * r))
				off += (size_t)snprintf(out + off, len - off, " %s 0x%08x -> 0x%08x", regs[r], cp_le32(w + 24 + 4 * r),
							cp_le32(g + 24 + 4 * r));
		if (memcmp(w, g, 24) && off < len)
			off += (size_t)snprintf(out + off, len - off, " (inputs changed)");
		if (off < len)
			off += (size_t)snprintf(out + off, len - off, "; ");
	}
	if (off >= 2 && off < len)
		out[off - 2] = '\0';
	return diffs;
}

/* ---- steps: common ---- */

/* The firmware-less direct-boot plan (memenc_plan_build_direct, what `carapace measure --platform
 * snp|tdx --kernel K --vcpus N --memory M [--initrd I] [--append S]` walks): SNP with the host's
 * C-bit position (CPUID 0x8000001f EBX[5:0], as vCPU 0 sees it; 51 when the model has no such
 * leaf), TDX through the measured stub at DB_STUB. */
static int direct_plan(struct cc_vm *vm, const struct cpuid_table *t, struct cp_err *err)
{
	const struct cc_launch_cfg *cfg = vm->cfg;
	struct db_input in = { .kernel = cfg->kernel, .kernel_len = cfg->kernel_len, .initrd = cfg->initrd,
			       .initrd_len = cfg->initrd_len, .cmdline = cfg->cmdline, .vcpus = cfg->vcpus,
			       .mem_size = cfg->mem_size, .ndevs = cfg->ndevs,
			       .snp_validate = vm->platform == CC_SNP ? cfg->snp_validate : DB_VALIDATE_ZERO };

	for (unsigned i = 0; vm->platform == CC_SNP && i < t->nent; i++)
		if (t->e[i].function == 0x8000001f && (t->e[i].ebx & 0x3f) >= 32)
			in.cbit = t->e[i].ebx & 0x3f;
	return memenc_plan_build_direct(&vm->plan, &in, &vm->opts, err);
}

static int step_create_vm(struct cc_vm *vm, struct cp_err *err)
{
	const struct cc_launch_cfg *cfg = vm->cfg;
	_cleanup_free_ struct cpuid_table *t = calloc(1, sizeof(*t));
	unsigned long type = vm->platform == CC_SNP ? CP_KVM_X86_SNP_VM : CP_KVM_X86_TDX_VM;
	int r;

	if (!t)
		return cp_err_set(err, ENOMEM, "out of memory");
	vm->kvm_fd = vm->ops->open_dev(vm->ctx, "/dev/kvm");
	if (vm->kvm_fd < 0)
		return cp_err_set(err, -vm->kvm_fd, "cannot open /dev/kvm: %s", strerror(-vm->kvm_fd));
	r = kio(vm, vm->kvm_fd, KVM_GET_API_VERSION, NULL);
	if (r != 12)
		return cp_err_set(err, ENOTSUP, "KVM API version %d; carapace needs 12", r);
	r = kio(vm, vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_VM_TYPES);
	if (r < 0 || !((unsigned long)r & (1ul << type)))
		return cp_err_set(err, ENOTSUP, "%s: KVM does not offer VM type %lu (KVM_CAP_VM_TYPES = 0x%x)", plat(vm),
				  type, r < 0 ? 0 : r);
	r = kio(vm, vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < (int)sizeof(struct kvm_run))
		return cp_err_set(err, r < 0 ? -r : EINVAL, "KVM_GET_VCPU_MMAP_SIZE returned %d", r);
	vm->run_size = (size_t)r;

	/* The vCPU signature: given, or what vCPU 0's CPUID says. Either way the plan, the vCPUs'
	 * RDX and the guest's CPUID agree. */
	if ((r = vcpu_cpuid(vm, 0, t, err)) < 0)
		return r;
	if (!vm->opts.vcpu_sig)
		for (unsigned i = 0; i < t->nent; i++)
			if (t->e[i].function == 1)
				vm->opts.vcpu_sig = t->e[i].eax;
	if (cc_cfg_direct(cfg)) {
		if ((r = direct_plan(vm, t, err)) < 0)
			return r;
	} else if (vm->platform == CC_TDX) {
		struct memenc_ovmf_table tab;
		struct memenc_tdvf_metadata md;
		if ((r = memenc_ovmf_table_parse(cfg->firmware, cfg->firmware_len, &tab, err)) < 0 ||
		    (r = memenc_tdvf_metadata_parse(cfg->firmware, cfg->firmware_len, &tab, &md, err)) < 0)
			return r;
		if (!md.present)
			return cp_err_set(err, EINVAL, "firmware: no TDX metadata (TDVF): not a TDX capable build");
		if ((r = tdx_build_hob(vm, &md, err)) < 0)
			return r;
		vm->opts.td_hob = vm->hob;
		vm->opts.td_hob_len = vm->hob_len;
	}
	if (!cc_cfg_direct(cfg) && (r = memenc_plan_build(&vm->plan, cfg->firmware, cfg->firmware_len, &vm->opts, err)) < 0)
		return r;
	r = memenc_plan_measure(&vm->plan, vm->measurement, &vm->measurement_len, NULL, NULL, err);
	if (r < 0)
		return r;
	/* An ID block must name this very launch, or the firmware refuses LAUNCH_FINISH with a bare
	 * status code: say which field differs before anything is created. */
	if (vm->platform == CC_SNP && cfg->id_block) {
		uint64_t policy = cfg->snp_policy ? cfg->snp_policy : 0x30000;
		char want[97], have[97];
		if (memcmp(cfg->id_block, vm->measurement, 48)) {
			cp_hex_encode(cfg->id_block, 48, have);
			cp_hex_encode(vm->measurement, 48, want);
			return cp_err_set(err, EINVAL, "ID block: its launch digest %s is not this launch's %s (made for "
					  "another firmware, vCPU count or configuration?)", have, want);
		}
		if (cp_le32(cfg->id_block + 80) != 1)
			return cp_err_set(err, EINVAL, "ID block: version %u, the firmware accepts 1", cp_le32(cfg->id_block + 80));
		if (cp_le64(cfg->id_block + 88) != policy)
			return cp_err_set(err, EINVAL, "ID block: guest policy 0x%" PRIx64 " but this launch uses 0x%" PRIx64,
					  cp_le64(cfg->id_block + 88), policy);
	}
	for (size_t i = 0; i < vm->plan.n; i++) {
		const struct memenc_plan_op *op = &vm->plan.ops[i];
		if (op->type != MEMENC_OP_SNP_VMSA && !block_of(vm, op->gpa, op->len))
			return cp_err_set(err, EINVAL, "launch plan op %zu (%s) at GPA 0x%" PRIx64 "+0x%" PRIx64 " is outside "
					  "guest memory (%" PRIu64 " MiB RAM + firmware)", i, op->what, op->gpa, op->len,
					  cfg->mem_size >> 20);
	}

	vm->vm_fd = kio(vm, vm->kvm_fd, KVM_CREATE_VM, (void *)type);
	if (vm->vm_fd < 0)
		return cp_err_set(err, -vm->vm_fd, "KVM_CREATE_VM(%s type %lu): %s", plat(vm), type, strerror(-vm->vm_fd));
	return 0;
}

static int enable_cap(struct cc_vm *vm, uint32_t cap, uint64_t arg, const char *what, struct cp_err *err)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { arg } };
	int r = kio(vm, vm->vm_fd, KVM_ENABLE_CAP, &c);
	return r < 0 ? cp_err_set(err, -r, "KVM_ENABLE_CAP(%s): %s", what, strerror(-r)) : 0;
}

static int step_memory(struct cc_vm *vm, struct cp_err *err)
{
	int r = kio(vm, vm->vm_fd, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_MEMORY_ATTRIBUTES);
	void *p;

	if (r < 0 || !((uint64_t)r & CP_KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return cp_err_set(err, ENOTSUP, "%s: the VM does not support the PRIVATE memory attribute "
				  "(KVM_CAP_MEMORY_ATTRIBUTES = %d)", plat(vm), r);
	/* Shared backing: one memfd, sized once and sealed, never in a core dump. */
	vm->shared_fd = memfd_create("carapace-cc-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->shared_fd < 0)
		return cp_err_set(err, errno, "memfd_create for shared memory: %s", strerror(errno));
	if (ftruncate(vm->shared_fd, (off_t)vm->shared_size) < 0 ||
	    fcntl(vm->shared_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return cp_err_set(err, errno, "sizing and sealing shared memory: %s", strerror(errno));
	p = mmap(NULL, vm->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->shared_fd, 0);
	if (p == MAP_FAILED)
		return cp_err_set(err, errno, "mapping shared memory: %s", strerror(errno));
	vm->shared = p;
	(void)madvise(p, vm->shared_size, MADV_DONTDUMP);

	for (unsigned i = 0; i < vm->nblocks; i++) {
		struct cc_block *b = &vm->blocks[i];
		struct cp_kvm_create_guest_memfd g = { .size = b->size };
		struct cp_kvm_userspace_memory_region2 m = { 0 };
		struct cp_kvm_memory_attributes a = { .address = b->gpa, .size = b->size,
						      .attributes = CP_KVM_MEMORY_ATTRIBUTE_PRIVATE };

		b->gmem_fd = kio(vm, vm->vm_fd, CP_KVM_CREATE_GUEST_MEMFD, &g);
		if (b->gmem_fd < 0)
			return cp_err_set(err, -b->gmem_fd, "KVM_CREATE_GUEST_MEMFD for %s (0x%" PRIx64 " bytes): %s", b->name,
					  b->size, strerror(-b->gmem_fd));
		m.slot = b->slot;
		m.flags = CP_KVM_MEM_GUEST_MEMFD;
		m.guest_phys_addr = b->gpa;
		m.memory_size = b->size;
		m.userspace_addr = (uintptr_t)(vm->shared + b->shared_off);
		m.guest_memfd = (uint32_t)b->gmem_fd;
		if ((r = kio(vm, vm->vm_fd, CP_KVM_SET_USER_MEMORY_REGION2, &m)) < 0)
			return cp_err_set(err, -r, "KVM_SET_USER_MEMORY_REGION2 slot %u (%s at 0x%" PRIx64 "): %s", b->slot,
					  b->name, b->gpa, strerror(-r));
		if ((r = kio(vm, vm->vm_fd, CP_KVM_SET_MEMORY_ATTRIBUTES, &a)) < 0)
			return cp_err_set(err, -r, "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) on %s: %s", b->name, strerror(-r));
		b->private_bits = calloc(1, (b->size / PG + 7) / 8);
		if (!b->private_bits)
			return cp_err_set(err, ENOMEM, "out of memory");
		memset(b->private_bits, 0xff, (b->size / PG + 7) / 8);
	}
	return 0;
}

static int tdx_cpuid_check(struct cc_vm *vm, unsigned i, struct cp_err *err);

static int create_vcpu(struct cc_vm *vm, unsigned i, struct cp_err *err)
{
	_cleanup_free_ struct cpuid_table *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return cp_err_set(err, ENOMEM, "out of memory");
	vm->vcpu_fd[i] = kio(vm, vm->vm_fd, KVM_CREATE_VCPU, (void *)(unsigned long)i);
	if (vm->vcpu_fd[i] < 0)
		return cp_err_set(err, -vm->vcpu_fd[i], "KVM_CREATE_VCPU %u: %s", i, strerror(-vm->vcpu_fd[i]));
	vm->nvcpus = i + 1;
	vm->run[i] = vm->ops->mmap_run(vm->ctx, vm->vcpu_fd[i], vm->run_size);
	if (!vm->run[i])
		return cp_err_set(err, errno, "mapping kvm_run of vCPU %u: %s", i, strerror(errno));
	if ((r = vcpu_cpuid(vm, i, t, err)) < 0)
		return r;
	if ((r = kio(vm, vm->vcpu_fd[i], KVM_SET_CPUID2, cpuid_table_kvm(t))) < 0)
		return cp_err_set(err, -r, "KVM_SET_CPUID2 on vCPU %u: %s", i, strerror(-r));
	/* A TD's CPUID is the TDX module's, not KVM's: check it is what carapace configured. */
	if (vm->platform == CC_TDX && (r = tdx_cpuid_check(vm, i, err)) < 0)
		return r;
	return 0;
}

/* ---- SNP ---- */

/* Every SEV command carries the /dev/sev fd, as QEMU's sev_ioctl() does: the SNP launch commands
 * need it (the kernel passes it to the PSP driver, which refuses anything but /dev/sev), the
 * others ignore it. */
static int sev_cmd(struct cc_vm *vm, uint32_t id, void *data, const char *what, struct cp_err *err)
{
	struct cp_kvm_sev_cmd c = { .id = id, .data = (uintptr_t)data, .sev_fd = (uint32_t)vm->sev_fd };
	int r = kio(vm, vm->vm_fd, CP_KVM_MEMORY_ENCRYPT_OP, &c);
	if (r < 0)
		return cp_err_set(err, -r, "%s: %s (firmware error %u)", what, strerror(-r), c.error);
	return 0;
}

static int snp_init(struct cc_vm *vm, struct cp_err *err)
{
	struct cp_kvm_sev_init in = { .vmsa_features = vm->cfg->vmsa_features };
	int r;

	/* Opened here, before the VM process locks itself down, and closed after LAUNCH_FINISH:
	 * nothing at run time needs the PSP device (guest requests go through KVM itself). */
	vm->sev_fd = vm->ops->open_dev(vm->ctx, "/dev/sev");
	if (vm->sev_fd < 0)
		return cp_err_set(err, -vm->sev_fd, "cannot open /dev/sev: %s: KVM issues the SEV-SNP launch commands to "
				  "the AMD Secure Processor through it", strerror(-vm->sev_fd));
	r = sev_cmd(vm, CP_KVM_SEV_INIT2, &in, "KVM_SEV_INIT2", err);

	if (r == 0)
		r = enable_cap(vm, CP_KVM_CAP_EXIT_HYPERCALL, 1ull << CP_KVM_HC_MAP_GPA_RANGE, "EXIT_HYPERCALL", err);
	/* The in-kernel LAPIC, IOAPIC and PIC, before any vCPU: the firmware needs an APIC, and virtio
	 * devices' irqfds need the IOAPIC. (The VMSA measurement does not depend on it.) */
	if (r == 0 && (r = kio(vm, vm->vm_fd, KVM_CREATE_IRQCHIP, NULL)) < 0)
		return cp_err_set(err, -r, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
	if (r == 0 && vm->certs_fd >= 0) {
		/* Before any vCPU exists (KVM refuses it later). Asked for, so never silently dropped. */
		uint64_t val = 0;
		struct kvm_device_attr a = { .group = CP_KVM_X86_GRP_SEV, .attr = CP_KVM_X86_SEV_SNP_REQ_CERTS,
					     .addr = (uintptr_t)&val };
		r = kio(vm, vm->kvm_fd, KVM_GET_DEVICE_ATTR, &a);
		if (r < 0 || val != 1)
			return cp_err_set(err, ENOTSUP, "this kernel cannot hand SEV-SNP guests a certificate table "
					  "(KVM_X86_SEV_SNP_REQ_CERTS: %s; it needs Linux 7.0 or later): run without "
					  "--snp-certs, and let the guest fetch its VCEK from AMD's KDS",
					  r < 0 ? strerror(-r) : "0");
		r = sev_cmd(vm, CP_KVM_SEV_SNP_ENABLE_REQ_CERTS, NULL, "KVM_SEV_SNP_ENABLE_REQ_CERTS", err);
	}
	return r;
}

static int snp_start(struct cc_vm *vm, struct cp_err *err)
{
	struct cp_kvm_sev_snp_launch_start s = { .policy = vm->cfg->snp_policy ? vm->cfg->snp_policy : 0x30000 };
	return sev_cmd(vm, CP_KVM_SEV_SNP_LAUNCH_START, &s, "SNP_LAUNCH_START", err);
}

/* KVM segment from a VMSA segment record {selector, attrib, limit, base}. */
static void seg_from_vmsa(struct kvm_segment *s, const uint8_t *p)
{
	uint16_t a = cp_le16(p + 2);

	memset(s, 0, sizeof(*s));
	s->selector = cp_le16(p);
	s->limit = cp_le32(p + 4);
	s->base = cp_le64(p + 8);
	s->type = a & 0xf;
	s->s = (a >> 4) & 1;
	s->dpl = (a >> 5) & 3;
	s->present = (a >> 7) & 1;
	s->avl = (a >> 8) & 1;
	s->l = (a >> 9) & 1;
	s->db = (a >> 10) & 1;
	s->g = (a >> 11) & 1;
}

/* Give vCPU i the register state from which KVM will build exactly the VMSA the plan measured.
 * Fields KVM sets itself (DR6, DR7, PAT, XCR0, the SVME/MCE bits) must already hold KVM's values
 * in the plan; anything else cannot be produced and is refused. */
static int snp_vcpu_state(struct cc_vm *vm, unsigned i, const uint8_t *v, struct cp_err *err)
{
	static const struct { unsigned off; uint64_t val; const char *name; } fixed[] = {
		{ 0x160, 0x400, "DR7" }, { 0x168, 0xffff0ff0, "DR6" }, { 0x268, 0x0007040600070406ull, "G_PAT" },
		{ 0x3e8, 1, "XCR0" },
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int r;

	for (size_t k = 0; k < ARRAY_SIZE(fixed); k++)
		if (cp_le64(v + fixed[k].off) != fixed[k].val)
			return cp_err_set(err, EINVAL, "launch plan: vCPU %u's VMSA has %s = 0x%" PRIx64 ", which KVM does not "
					  "produce (only the QEMU/KVM VMSA conventions can be launched)", i, fixed[k].name,
					  cp_le64(v + fixed[k].off));
	if (cp_le64(v + 0x3b0) != (vm->cfg->vmsa_features | 1))
		return cp_err_set(err, EINVAL, "launch plan: vCPU %u's VMSA has SEV_FEATURES 0x%" PRIx64 " but INIT2 gives "
				  "0x%" PRIx64, i, cp_le64(v + 0x3b0), vm->cfg->vmsa_features | 1);
	if ((r = kio(vm, vm->vcpu_fd[i], KVM_GET_SREGS, &sregs)) < 0)
		return cp_err_set(err, -r, "KVM_GET_SREGS vCPU %u: %s", i, strerror(-r));
	seg_from_vmsa(&sregs.es, v + 0x00);
	seg_from_vmsa(&sregs.cs, v + 0x10);
	seg_from_vmsa(&sregs.ss, v + 0x20);
	seg_from_vmsa(&sregs.ds, v + 0x30);
	seg_from_vmsa(&sregs.fs, v + 0x40);
	seg_from_vmsa(&sregs.gs, v + 0x50);
	seg_from_vmsa(&sregs.ldt, v + 0x70);
	seg_from_vmsa(&sregs.tr, v + 0x90);
	sregs.gdt.limit = (uint16_t)cp_le32(v + 0x64);
	sregs.gdt.base = cp_le64(v + 0x68);
	sregs.idt.limit = (uint16_t)cp_le32(v + 0x84);
	sregs.idt.base = cp_le64(v + 0x88);
	sregs.efer = cp_le64(v + 0xd0) & ~(1ull << 12);          /* KVM adds EFER.SVME */
	sregs.cr4 = cp_le64(v + 0x148) & ~(1ull << 6);           /* KVM adds CR4.MCE */
	sregs.cr3 = cp_le64(v + 0x150);
	sregs.cr0 = cp_le64(v + 0x158) | 0x60000000ull;          /* architectural reset CD|NW; KVM clears them */
	if ((r = kio(vm, vm->vcpu_fd[i], KVM_SET_SREGS, &sregs)) < 0)
		return cp_err_set(err, -r, "KVM_SET_SREGS vCPU %u: %s", i, strerror(-r));
	memset(&regs, 0, sizeof(regs));
	regs.rflags = cp_le64(v + 0x170);
	regs.rip = cp_le64(v + 0x178);
	regs.rsp = cp_le64(v + 0x1d8);
	regs.rax = cp_le64(v + 0x1f8);
	/* The general registers as the VMSA lays them out (RCX at 0x308 .. R15 at 0x378; RSP and
	 * RAX live apart): a direct boot's BSP has RSI = boot_params. */
	regs.rcx = cp_le64(v + 0x308);
	regs.rdx = cp_le64(v + 0x310);
	regs.rbx = cp_le64(v + 0x318);
	regs.rbp = cp_le64(v + 0x328);
	regs.rsi = cp_le64(v + 0x330);
	regs.rdi = cp_le64(v + 0x338);
	regs.r8 = cp_le64(v + 0x340);
	regs.r9 = cp_le64(v + 0x348);
	regs.r10 = cp_le64(v + 0x350);
	regs.r11 = cp_le64(v + 0x358);
	regs.r12 = cp_le64(v + 0x360);
	regs.r13 = cp_le64(v + 0x368);
	regs.r14 = cp_le64(v + 0x370);
	regs.r15 = cp_le64(v + 0x378);
	if ((r = kio(vm, vm->vcpu_fd[i], KVM_SET_REGS, &regs)) < 0)
		return cp_err_set(err, -r, "KVM_SET_REGS vCPU %u: %s", i, strerror(-r));
	memset(&fpu, 0, sizeof(fpu));
	fpu.mxcsr = cp_le32(v + 0x408);
	fpu.fcw = cp_le16(v + 0x410);
	if ((r = kio(vm, vm->vcpu_fd[i], KVM_SET_FPU, &fpu)) < 0)
		return cp_err_set(err, -r, "KVM_SET_FPU vCPU %u: %s", i, strerror(-r));
	return 0;
}

static int snp_vcpus(struct cc_vm *vm, struct cp_err *err)
{
	for (unsigned i = 0; i < vm->cfg->vcpus; i++) {
		const uint8_t *vmsa = NULL;
		int r = create_vcpu(vm, i, err);
		if (r < 0)
			return r;
		for (size_t k = 0; k < vm->plan.n; k++)
			if (vm->plan.ops[k].type == MEMENC_OP_SNP_VMSA && vm->plan.ops[k].vcpu == (int)i)
				vmsa = vm->plan.ops[k].data;
		if (!vmsa)
			return cp_err_set(err, EINVAL, "launch plan: no VMSA for vCPU %u", i);
		if ((r = snp_vcpu_state(vm, i, vmsa, err)) < 0)
			return r;
	}
	return 0;
}

/* One plan op as SNP_LAUNCH_UPDATE, looping until KVM has done the whole range. */
static int snp_update(struct cc_vm *vm, size_t k, const struct memenc_plan_op *op, struct cp_err *err)
{
	const struct cc_block *b = block_of(vm, op->gpa, op->len);
	uint8_t *src = shared_ptr(vm, b, op->gpa);
	struct cp_kvm_sev_snp_launch_update u = { .gfn_start = op->gpa / PG, .uaddr = (uintptr_t)src, .len = op->len,
						  .type = (uint8_t)op->type };
	unsigned stuck = 0;
	bool cpuid_retried = false;
	uint8_t cpuid_want[PG];
	int r;

	if (op->gpa % PG || op->len % PG || op->len == 0)
		return cp_err_set(err, EINVAL, "launch plan op %zu (%s): 0x%" PRIx64 "+0x%" PRIx64 " is not whole pages", k,
				  op->what, op->gpa, op->len);
	switch (op->type) {
	case MEMENC_OP_SNP_NORMAL:
		memcpy(src, op->data, op->len);
		break;
	case MEMENC_OP_SNP_CPUID: {
		_cleanup_free_ struct cpuid_table *t = calloc(1, sizeof(*t));
		if (!t)
			return cp_err_set(err, ENOMEM, "out of memory");
		if (op->len != PG)
			return cp_err_set(err, EINVAL, "launch plan op %zu: CPUID section of 0x%" PRIx64 " bytes", k, op->len);
		if ((r = vcpu_cpuid(vm, 0, t, err)) < 0 || (r = snp_cpuid_page(t, src, err)) < 0)
			return r;
		memcpy(cpuid_want, src, PG);
		break;
	}
	case MEMENC_OP_SNP_ZERO:
		/* KVM reads no source for a ZERO page (sev.c snp_launch_update: src = NULL for
		 * KVM_SEV_SNP_PAGE_TYPE_ZERO, Linux 6.11): not touching it keeps the shared memfd of a
		 * direct boot, whose every RAM page is ZERO, unallocated. */
		break;
	default:
		memset(src, 0, op->len); /* UNMEASURED, SECRETS: the firmware sees zeros */
		break;
	}
	while (u.len) {
		uint64_t before = u.len;
		struct cp_kvm_sev_cmd c = { .id = CP_KVM_SEV_SNP_LAUNCH_UPDATE, .data = (uintptr_t)&u,
					    .sev_fd = (uint32_t)vm->sev_fd };

		r = kio(vm, vm->vm_fd, CP_KVM_MEMORY_ENCRYPT_OP, &c);
		if (r == -EIO && c.error == CP_SEV_RET_INVALID_PARAM && op->type == MEMENC_OP_SNP_CPUID) {
			/* The firmware refused the CPUID page and KVM wrote its corrected page back to src.
			 * The page is not measured (its contents are not in the launch digest), but the guest
			 * would see other CPUID values than its model: accepted once, and only when the
			 * configuration allows it (Cloud Hypervisor and libkrun retry unconditionally). */
			char diff[1024];
			unsigned nd = snp_cpuid_page_diff(cpuid_want, src, diff, sizeof(diff));
			if (!vm->cfg->snp_cpuid_fixup || cpuid_retried || nd == 0)
				return cp_err_set(err, EIO, "SNP_LAUNCH_UPDATE op %zu (%s): the firmware refused the CPUID page "
						  "(INVALID_PARAM)%s%s%s", k, op->what, nd ? "; it would change: " : "", diff,
						  cpuid_retried ? " (after one retry with its own corrections)"
						  : nd ? " (not retried: the configuration does not accept a corrected CPUID)"
						       : " (and wrote back no correction)");
			snprintf(vm->cpuid_fixup, sizeof(vm->cpuid_fixup), "%s", diff);
			cpuid_retried = true;
			memcpy(cpuid_want, src, PG);
			continue;
		}
		if (r < 0 && r != -EAGAIN && r != -EINTR)
			return cp_err_set(err, -r, "SNP_LAUNCH_UPDATE op %zu (%s, type %s) at GFN 0x%" PRIx64 " (%" PRIu64
					  " pages left): %s (firmware error %u)", k, op->what, memenc_op_type_name(op->type),
					  (uint64_t)u.gfn_start, (uint64_t)(u.len / PG), strerror(-r), c.error);
		if (r == 0 && (u.len > before || (before - u.len) % PG))
			return cp_err_set(err, EIO, "SNP_LAUNCH_UPDATE op %zu: KVM reported an impossible length 0x%" PRIx64, k,
					  (uint64_t)u.len);
		stuck = (r < 0 || u.len == before) ? stuck + 1 : 0;
		if (stuck > RETRY_MAX)
			return cp_err_set(err, EAGAIN, "SNP_LAUNCH_UPDATE op %zu (%s): no progress after %u tries", k, op->what,
					  RETRY_MAX);
	}
	return 0;
}

static int snp_pages(struct cc_vm *vm, struct cp_err *err)
{
	for (size_t k = 0; k < vm->plan.n; k++) {
		const struct memenc_plan_op *op = &vm->plan.ops[k];
		int r;
		if (op->type == MEMENC_OP_SNP_VMSA)
			continue; /* measured by SNP_LAUNCH_FINISH from the vCPU state set in the vcpus step */
		if ((r = snp_update(vm, k, op, err)) < 0)
			return r;
	}
	return 0;
}

/* After the launch every page is private: the copies the launch placed in shared memory (the
 * firmware, the CPUID page, the HOB) are dropped so nobody with the memfd reads them. */
static void drop_shared_copies(struct cc_vm *vm)
{
	/* Punching a memfd frees its pages: every mapping of it reads zeros afterwards, and no
	 * untouched page gets allocated just to be cleared (as a memset of all RAM would). */
	(void)fallocate(vm->shared_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)vm->shared_size);
}

static int snp_finish(struct cc_vm *vm, struct cp_err *err)
{
	const struct cc_launch_cfg *cfg = vm->cfg;
	struct cp_kvm_sev_snp_launch_finish f = { 0 };
	_cleanup_free_ uint8_t *idb = NULL;
	int r;

	memcpy(f.host_data, cfg->host_data, 32);
	if (cfg->id_block) {
		/* Page-aligned copies: the kernel reads them from our memory. */
		if (posix_memalign((void **)&idb, PG, 2 * PG))
			return cp_err_set(err, ENOMEM, "out of memory");
		memset(idb, 0, 2 * PG);
		memcpy(idb, cfg->id_block, 96);
		f.id_block_en = 1;
		f.id_block_uaddr = (uintptr_t)idb;
		/* Both or neither (cc_vm_init): with id_block_en the kernel always copies id_auth_uaddr
		 * (sev.c:snp_launch_finish). AUTH_KEY_EN says whether the auth block carries an author
		 * key: its AUTH_KEY_ALGO (byte 4, SNP ABI ID_AUTH_INFO) is then non-zero. QEMU leaves
		 * that to a property (author-key-enabled); carapace reads it from the block itself. */
		memcpy(idb + PG, cfg->id_auth, PG);
		f.id_auth_uaddr = (uintptr_t)(idb + PG);
		f.auth_key_en = cp_le32(cfg->id_auth + 4) != 0;
	}
	r = sev_cmd(vm, CP_KVM_SEV_SNP_LAUNCH_FINISH, &f, "SNP_LAUNCH_FINISH", err);
	if (r == 0) {
		drop_shared_copies(vm);
		vm->ops->close(vm->ctx, vm->sev_fd);
		vm->sev_fd = -1;
	}
	return r;
}

/* ---- TDX ---- */

static int tdx_cmd(struct cc_vm *vm, int fd, uint32_t id, uint32_t flags, uint64_t data, const char *what,
		   struct cp_err *err)
{
	struct cp_kvm_tdx_cmd c = { .id = id, .flags = flags, .data = data };
	int r = kio(vm, fd, CP_KVM_MEMORY_ENCRYPT_OP, &c);
	if (r < 0)
		return cp_err_set(err, -r, "%s: %s (TDX module error 0x%" PRIx64 ")", what, strerror(-r), (uint64_t)c.hw_error);
	return 0;
}

/* A TD's TSC frequency as the TDX module takes it (TD_PARAMS.TSC_FREQUENCY): whole 25 MHz units,
 * 100 MHz .. 10 GHz. KVM divides the kHz value by 25000 at KVM_TDX_INIT_VM and drops the rest, so
 * any other value would silently give the TD another clock than the one asked for: refused, as
 * QEMU refuses it (it does not round either). Pure. */
static int tdx_tsc_valid(uint32_t khz, const char *source, struct cp_err *err)
{
	if (khz % CP_TDX_TSC_KHZ_UNIT)
		return cp_err_set(err, EINVAL, "TDX: %s %" PRIu32 " kHz is not a multiple of 25 MHz (25000 kHz): the TDX "
				  "module counts a TD's TSC in 25 MHz units and KVM would silently run the TD at %" PRIu32
				  " kHz; give the TD's TSC frequency explicitly as a multiple of 25000 kHz", source, khz,
				  khz - khz % CP_TDX_TSC_KHZ_UNIT);
	if (khz < CP_TDX_TSC_KHZ_MIN || khz > CP_TDX_TSC_KHZ_MAX)
		return cp_err_set(err, EINVAL, "TDX: %s %" PRIu32 " kHz is outside what the TDX module accepts "
				  "(%u .. %u kHz)", source, khz, CP_TDX_TSC_KHZ_MIN, CP_TDX_TSC_KHZ_MAX);
	return 0;
}

/* VM-scope KVM_SET_TSC_KHZ, before KVM_TDX_INIT_VM (which copies the VM's default frequency into
 * TD_PARAMS) and before any vCPU (KVM refuses it afterwards). The frequency is the configured one
 * or the host's as KVM reports it on the VM fd; either way it is set explicitly and checked first,
 * so the TD's clock is a value carapace chose, never KVM's silent truncation. */
static int tdx_set_tsc(struct cc_vm *vm, struct cp_err *err)
{
	uint32_t khz = vm->cfg->tsc_khz;
	const char *source = "the configured TSC frequency";
	int r = kio(vm, vm->vm_fd, KVM_CHECK_EXTENSION, (void *)(long)CP_KVM_CAP_VM_TSC_CONTROL);

	if (r <= 0)
		return cp_err_set(err, ENOTSUP, "KVM_CAP_VM_TSC_CONTROL absent: this kernel cannot set a TD's TSC frequency "
				  "(KVM_SET_TSC_KHZ on the VM fd; TDX needs Linux 6.16 or later)");
	if (!khz) {
		r = kio(vm, vm->vm_fd, CP_KVM_GET_TSC_KHZ, NULL);
		if (r < 0)
			return cp_err_set(err, -r, "KVM_GET_TSC_KHZ on the VM: %s: the host's TSC frequency is unknown; give "
					  "the TD's TSC frequency explicitly (a multiple of 25000 kHz)", strerror(-r));
		if (r == 0)
			return cp_err_set(err, EIO, "KVM_GET_TSC_KHZ on the VM: 0 kHz: the host's TSC frequency is unknown; "
					  "give the TD's TSC frequency explicitly (a multiple of 25000 kHz)");
		khz = (uint32_t)r;
		source = "the host's TSC frequency (KVM_GET_TSC_KHZ)";
	}
	if ((r = tdx_tsc_valid(khz, source, err)) < 0)
		return r;
	if ((r = kio(vm, vm->vm_fd, CP_KVM_SET_TSC_KHZ, (void *)(unsigned long)khz)) < 0)
		return cp_err_set(err, -r, "KVM_SET_TSC_KHZ(%" PRIu32 " kHz) on the VM: %s", khz, strerror(-r));
	vm->tsc_khz = khz;
	return 0;
}

/* The CPUID feature words compared between what KVM_TDX_INIT_VM was given and what the TD gets
 * (KVM_TDX_GET_CPUID): the registers that hold feature flags, not values such as family/model,
 * APIC ids, cache geometry or maximum leaves, which the TDX module computes itself. */
enum { REG_EAX, REG_EBX, REG_ECX, REG_EDX };
static const char *const reg_names[] = { "EAX", "EBX", "ECX", "EDX" };
static const struct tdx_feature_word {
	uint32_t leaf, subleaf;
	uint8_t reg;
	uint32_t dynamic; /* bits the TD reports differently before it runs: never "missing" */
} tdx_feature_words[] = {
	{ 0x1, 0, REG_ECX, 0 }, { 0x1, 0, REG_EDX, 0 },
	{ 0x7, 0, REG_EBX, 0 }, { 0x7, 0, REG_ECX, 0 }, { 0x7, 0, REG_EDX, 0 }, { 0x7, 1, REG_EAX, 0 },
	{ 0xd, 1, REG_EAX, 0 },
	{ 0x80000001, 0, REG_ECX, 0 },
	/* SYSCALL (bit 11) reads 1 only in 64-bit mode; a TD starts in 32-bit mode (as QEMU notes). */
	{ 0x80000001, 0, REG_EDX, 1u << 11 },
	{ 0x80000007, 0, REG_EDX, 0 }, { 0x80000008, 0, REG_EBX, 0 },
};

static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid_entry2 *e, unsigned n, uint32_t leaf,
						 uint32_t subleaf)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == leaf && (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == subleaf))
			return &e[i];
	return NULL;
}

/* KVM_TDX_CAPABILITIES entries carry no flags: each names exactly one (leaf, subleaf), a leaf
 * without subleaves as subleaf 0 (arch/x86/kvm/vmx/tdx.c td_init_cpuid_entry2). Matched exactly,
 * as QEMU's tdx_filter_cpuid() does with cpuid_find_entry(). */
static const struct kvm_cpuid_entry2 *cpuid_find_exact(const struct kvm_cpuid_entry2 *e, unsigned n, uint32_t leaf,
						       uint32_t subleaf)
{
	for (unsigned i = 0; i < n; i++)
		if (e[i].function == leaf && e[i].index == subleaf)
			return &e[i];
	return NULL;
}

/* The guest-physical address width a TD gets, in CPUID 0x80000008 EAX[23:16]: KVM accepts 48
 * (4-level EPT, shared bit 47) or 52 (5-level EPT) and nothing else
 * (arch/x86/kvm/vmx/tdx.c setup_tdparams_eptp_controls). carapace's choice: 48, which every TDX
 * host supports; its guests' memory ends far below 2^47. */
#define TDX_GPAW 48u

/* XFAM from the vCPU model, as QEMU's setup_td_xfam() does: the XCR0 features (CPUID 0xD.0
 * EAX/EDX) and the XSS features (CPUID 0xD.1 ECX/EDX) the model offers. Pure. */
static uint64_t tdx_xfam_of(const struct kvm_cpuid_entry2 *e, unsigned n)
{
	const struct kvm_cpuid_entry2 *d0 = cpuid_find_exact(e, n, 0xd, 0), *d1 = cpuid_find_exact(e, n, 0xd, 1);
	uint64_t xfam = 0;

	if (d0)
		xfam |= d0->eax | (uint64_t)d0->edx << 32;
	if (d1)
		xfam |= d1->ecx | (uint64_t)d1->edx << 32;
	return xfam;
}

static uint32_t cpuid_reg(const struct kvm_cpuid_entry2 *e, uint8_t reg)
{
	return reg == REG_EAX ? e->eax : reg == REG_EBX ? e->ebx : reg == REG_ECX ? e->ecx : e->edx;
}

/* Compare what carapace asked the TDX module for with what the TD really gets. Pure.
 * - A feature bit carapace asked for that the TD does not get is an error naming the leaf,
 *   subleaf, register and bits: the guest would run without something its launch promised.
 * - A bit the TD gets that carapace did not ask for is one the TDX module fixes to 1 (INIT_VM
 *   can only clear configurable bits, and carapace passed every configurable bit it wanted).
 *   Every TD on this host has it, carapace cannot turn it off, and it is not in MRTD: accepted
 *   without a message (the launch code never logs; the caller may compare the tables itself).
 * - A leaf the TDX module does not report is not virtualized by it: KVM_SET_CPUID2 governs it. */
static int tdx_cpuid_compare(const struct kvm_cpuid_entry2 *asked, unsigned nasked, const struct kvm_cpuid_entry2 *got,
			     unsigned ngot, unsigned vcpu, struct cp_err *err)
{
	for (size_t k = 0; k < ARRAY_SIZE(tdx_feature_words); k++) {
		const struct tdx_feature_word *w = &tdx_feature_words[k];
		const struct kvm_cpuid_entry2 *a = cpuid_find(asked, nasked, w->leaf, w->subleaf);
		const struct kvm_cpuid_entry2 *g = cpuid_find(got, ngot, w->leaf, w->subleaf);
		uint32_t want, have, missing;
		char bits[32 * 3 + 1];
		size_t off = 0;

		if (!a || !g)
			continue;
		want = cpuid_reg(a, w->reg);
		have = cpuid_reg(g, w->reg) | w->dynamic;
		missing = want & ~have;
		if (!missing)
			continue;
		bits[0] = '\0';
		for (unsigned b = 0; b < 32; b++)
			if (missing & (1u << b))
				off += (size_t)snprintf(bits + off, sizeof(bits) - off, "%s%u", off ? "," : "", b);
		return cp_err_set(err, ENOTSUP, "TDX: KVM_TDX_GET_CPUID on vCPU %u: CPUID leaf 0x%" PRIx32 " subleaf %" PRIu32
				  " %s lacks bit(s) %s (0x%08" PRIx32 ") that KVM_TDX_INIT_VM asked for: carapace configured "
				  "0x%08" PRIx32 ", the TD gets 0x%08" PRIx32 " (the TDX module fixes them to 0 on this host)",
				  vcpu, w->leaf, w->subleaf, reg_names[w->reg], bits, missing, want, cpuid_reg(g, w->reg));
	}
	return 0;
}

/* A --cpu model that takes away a feature the TDX module forces on (a fixed-1 bit: INIT_VM cannot
 * clear it, so KVM_TDX_GET_CPUID shows it whatever was asked) would promise the guest a CPU it
 * does not get: refused, naming the feature. */
static int tdx_cpuid_forced(struct cc_vm *vm, const struct kvm_cpuid_entry2 *got, unsigned ngot, unsigned i,
			    struct cp_err *err)
{
	_cleanup_free_ struct cpuid_table *supported = calloc(1, sizeof(*supported));
	const char *name;
	int r;

	if (!supported)
		return cp_err_set(err, ENOMEM, "out of memory");
	supported->nent = CPUID_MAX_ENTRIES;
	if ((r = kio(vm, vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid_table_kvm(supported))) < 0)
		return cp_err_set(err, -r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
	name = guest_cpu_forced_removed(&vm->cpu_model, supported, got, ngot);
	if (name)
		return cp_err_set(err, ENOTSUP, "TDX: --cpu %s removes %s, but the TDX module forces it on for every TD on "
				  "this host (KVM_TDX_GET_CPUID on vCPU %u): keep %s in the model", vm->cfg->cpu, name, i,
				  name);
	return 0;
}

/* KVM_TDX_GET_CPUID on vCPU i (TD-scope values; KVM allows it between INIT_VM and FINALIZE),
 * growing the buffer when KVM answers -E2BIG with the entries it needs, then the comparison. */
static int tdx_cpuid_check(struct cc_vm *vm, unsigned i, struct cp_err *err)
{
	uint32_t cap = 8; /* a first guess: KVM answers -E2BIG with the count it needs */

	for (unsigned tries = 0; tries < 4; tries++) {
		_cleanup_free_ struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(struct kvm_cpuid_entry2));
		struct cp_kvm_tdx_cmd cmd = { .id = CP_KVM_TDX_GET_CPUID };
		int r;

		if (!c)
			return cp_err_set(err, ENOMEM, "out of memory");
		c->nent = cap;
		cmd.data = (uintptr_t)c;
		r = kio(vm, vm->vcpu_fd[i], CP_KVM_MEMORY_ENCRYPT_OP, &cmd);
		if (r == -E2BIG && c->nent > cap && c->nent <= CPUID_MAX_ENTRIES) {
			cap = c->nent;
			continue;
		}
		if (r < 0)
			return cp_err_set(err, -r, "KVM_TDX_GET_CPUID on vCPU %u: %s%s (TDX module error 0x%" PRIx64 ")", i,
					  strerror(-r), r == -E2BIG ? " (more entries than KVM's maximum)" : "",
					  (uint64_t)cmd.hw_error);
		if (c->nent > cap)
			return cp_err_set(err, EIO, "KVM_TDX_GET_CPUID on vCPU %u: %u entries in a buffer of %u", i, c->nent, cap);
		if (vm->cfg->cpu && (r = tdx_cpuid_forced(vm, c->entries, c->nent, i, err)) < 0)
			return r;
		return tdx_cpuid_compare(vm->tdx_cpuid, vm->tdx_cpuid_n, c->entries, c->nent, i, err);
	}
	return cp_err_set(err, EIO, "KVM_TDX_GET_CPUID on vCPU %u: the entry count kept growing", i);
}

static int tdx_init(struct cc_vm *vm, struct cp_err *err)
{
	const struct cc_launch_cfg *cfg = vm->cfg;
	const size_t ncap = 256;
	_cleanup_free_ struct cp_kvm_tdx_capabilities *caps =
		calloc(1, sizeof(*caps) + ncap * sizeof(struct kvm_cpuid_entry2));
	_cleanup_free_ struct cp_kvm_tdx_init_vm *in = calloc(1, sizeof(*in) + ncap * sizeof(struct kvm_cpuid_entry2));
	_cleanup_free_ struct cpuid_table *t = calloc(1, sizeof(*t));
	struct kvm_cpuid_entry2 *ce, *ie;
	uint64_t xfam;
	int r;

	if (!caps || !in || !t)
		return cp_err_set(err, ENOMEM, "out of memory");
	if ((r = enable_cap(vm, CP_KVM_CAP_EXIT_HYPERCALL, 1ull << CP_KVM_HC_MAP_GPA_RANGE, "EXIT_HYPERCALL", err)) < 0 ||
	    (r = enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24, "SPLIT_IRQCHIP", err)) < 0 ||
	    /* The TDX module's virtual APIC timer runs at 25 MHz; KVM must agree before vCPUs exist. */
	    (r = enable_cap(vm, CP_KVM_CAP_X86_APIC_BUS_CYCLES_NS, 40, "X86_APIC_BUS_CYCLES_NS", err)) < 0 ||
	    /* INIT_VM copies the VM's TSC frequency into the TD: it must be set before. */
	    (r = tdx_set_tsc(vm, err)) < 0)
		return r;
	caps->cpuid.nent = (uint32_t)ncap;
	if ((r = tdx_cmd(vm, vm->vm_fd, CP_KVM_TDX_CAPABILITIES, 0, (uintptr_t)caps, "KVM_TDX_CAPABILITIES", err)) < 0)
		return r;
	if (caps->cpuid.nent > ncap)
		return cp_err_set(err, EIO, "KVM_TDX_CAPABILITIES: %u CPUID entries", caps->cpuid.nent);
	vm->tdvmcall_user_r11 = caps->user_tdvmcallinfo_1_r11;
	vm->tdvmcall_user_r12 = caps->user_tdvmcallinfo_1_r12;
	if (cfg->td_attributes & ~caps->supported_attrs)
		return cp_err_set(err, ENOTSUP, "TDX: TD attributes 0x%" PRIx64 " include 0x%" PRIx64 ", which this host does "
				  "not support (supported 0x%" PRIx64 ")", cfg->td_attributes,
				  cfg->td_attributes & ~caps->supported_attrs, (uint64_t)caps->supported_attrs);
	/* vCPU 0's CPUID: the model the TD's XFAM and configurable CPUID come from. */
	if ((r = vcpu_cpuid(vm, 0, t, err)) < 0)
		return r;
	xfam = cfg->td_xfam ? cfg->td_xfam : tdx_xfam_of(t->e, t->nent);
	if (xfam & ~caps->supported_xfam)
		return cp_err_set(err, ENOTSUP, "TDX: XFAM 0x%" PRIx64 " (%s) includes 0x%" PRIx64 ", which this host does not "
				  "support (supported 0x%" PRIx64 ")", xfam, cfg->td_xfam ? "configured" : "from CPUID 0xD of "
				  "the vCPU model", xfam & ~caps->supported_xfam, (uint64_t)caps->supported_xfam);
	in->attributes = cfg->td_attributes;
	in->xfam = xfam;
	for (int i = 0; i < 6; i++) {
		in->mrconfigid[i] = cp_le64(cfg->mrconfigid + 8 * i);
		in->mrowner[i] = cp_le64(cfg->mrowner + 8 * i);
		in->mrownerconfig[i] = cp_le64(cfg->mrownerconfig + 8 * i);
	}
	/* vCPU 0's CPUID, kept only where the TDX module lets the VMM configure it: an entry whose
	 * (leaf, subleaf) is a capability entry exactly, masked by it (KVM counts the entries it
	 * matches and refuses INIT_VM unless all of them are: tdx.c setup_tdparams_cpuids). */
	ce = (struct kvm_cpuid_entry2 *)(caps + 1);
	ie = (struct kvm_cpuid_entry2 *)(in + 1);
	for (unsigned i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *c = cpuid_find_exact(ce, caps->cpuid.nent, t->e[i].function, t->e[i].index);
		struct kvm_cpuid_entry2 *o = &ie[in->cpuid.nent];
		if (!c || cpuid_find_exact(ie, in->cpuid.nent, t->e[i].function, t->e[i].index))
			continue;
		memset(o, 0, sizeof(*o)); /* padding included */
		o->function = t->e[i].function;
		o->index = t->e[i].index;
		o->flags = t->e[i].flags;
		o->eax = t->e[i].eax & c->eax;
		o->ebx = t->e[i].ebx & c->ebx;
		o->ecx = t->e[i].ecx & c->ecx;
		o->edx = t->e[i].edx & c->edx;
		if (o->function == 0x80000008)
			o->eax = (o->eax & ~0x00ff0000u) | TDX_GPAW << 16;
		in->cpuid.nent++;
	}
	/* KVM takes the TD's guest-physical address width from leaf 0x80000008 and refuses INIT_VM
	 * without it (tdx.c setup_tdparams_eptp_controls). */
	if (!cpuid_find_exact(ie, in->cpuid.nent, 0x80000008, 0))
		return cp_err_set(err, ENOTSUP, "TDX: CPUID leaf 0x80000008 is %s, but KVM_TDX_INIT_VM needs it for the TD's "
				  "guest-physical address width", !cpuid_find_exact(ce, caps->cpuid.nent, 0x80000008, 0)
				  ? "not configurable on this host (KVM_TDX_CAPABILITIES)" : "not in the vCPU model");
	/* Kept: every vCPU's KVM_TDX_GET_CPUID is checked against what INIT_VM was asked for. */
	vm->tdx_cpuid = calloc(in->cpuid.nent ? in->cpuid.nent : 1, sizeof(struct kvm_cpuid_entry2));
	if (!vm->tdx_cpuid)
		return cp_err_set(err, ENOMEM, "out of memory");
	memcpy(vm->tdx_cpuid, ie, in->cpuid.nent * sizeof(struct kvm_cpuid_entry2));
	vm->tdx_cpuid_n = in->cpuid.nent;
	for (unsigned tries = 0;; tries++) {
		struct cp_kvm_tdx_cmd c = { .id = CP_KVM_TDX_INIT_VM, .data = (uintptr_t)in };
		r = kio(vm, vm->vm_fd, CP_KVM_MEMORY_ENCRYPT_OP, &c);
		if (r == -EAGAIN && tries < RETRY_MAX)
			continue; /* the TDX module's RNG was busy */
		if (r < 0)
			return cp_err_set(err, -r, "KVM_TDX_INIT_VM: %s (TDX module error 0x%" PRIx64 ")", strerror(-r),
					  (uint64_t)c.hw_error);
		return 0;
	}
}

static int tdx_vcpus(struct cc_vm *vm, struct cp_err *err)
{
	for (unsigned i = 0; i < vm->cfg->vcpus; i++) {
		int r = create_vcpu(vm, i, err);
		if (r < 0)
			return r;
	}
	/* Every vCPU is initialized (RCX = the HOB) before any memory is added. */
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		char what[40];
		int r;
		snprintf(what, sizeof(what), "KVM_TDX_INIT_VCPU %u", i);
		if ((r = tdx_cmd(vm, vm->vcpu_fd[i], CP_KVM_TDX_INIT_VCPU, 0, vm->hob_gpa, what, err)) < 0)
			return r;
	}
	return 0;
}

static int tdx_pages(struct cc_vm *vm, struct cp_err *err)
{
	for (size_t k = 0; k < vm->plan.n; k++) {
		const struct memenc_plan_op *op = &vm->plan.ops[k];
		const struct cc_block *b = block_of(vm, op->gpa, op->len);
		uint8_t *src = shared_ptr(vm, b, op->gpa);
		struct cp_kvm_tdx_init_mem_region m = { .source_addr = (uintptr_t)src, .gpa = op->gpa, .nr_pages = op->len / PG };
		uint32_t flags = op->type == MEMENC_OP_TDX_ADD_EXTEND ? CP_KVM_TDX_MEASURE_MEMORY_REGION : 0;
		unsigned stuck = 0;

		if (op->type != MEMENC_OP_TDX_ADD && op->type != MEMENC_OP_TDX_ADD_EXTEND)
			return cp_err_set(err, EINVAL, "launch plan op %zu (%s): %s is not a TDX operation", k, op->what,
					  memenc_op_type_name(op->type));
		if (op->gpa % PG || op->len % PG || op->len == 0)
			return cp_err_set(err, EINVAL, "launch plan op %zu (%s): not whole pages", k, op->what);
		/* The source is the page-aligned shared copy (the image buffer need not be aligned). The
		 * TD HOB comes from this launch (the plan's copy is only as long as the HOB, not the
		 * section: the rest of the section is zeros). */
		memset(src, 0, op->len);
		if (op->section >= 0 && (size_t)op->section < vm->plan.tdvf.n &&
		    vm->plan.tdvf.s[op->section].type == MEMENC_TDVF_TD_HOB)
			memcpy(src, vm->hob, vm->hob_len < op->len ? vm->hob_len : op->len);
		else if (op->data)
			memcpy(src, op->data, op->len);
		while (m.nr_pages) {
			struct cp_kvm_tdx_cmd c = { .id = CP_KVM_TDX_INIT_MEM_REGION, .flags = flags, .data = (uintptr_t)&m };
			uint64_t before = m.nr_pages;
			int r = kio(vm, vm->vcpu_fd[0], CP_KVM_MEMORY_ENCRYPT_OP, &c);
			if (r < 0 && r != -EAGAIN && r != -EINTR)
				return cp_err_set(err, -r, "KVM_TDX_INIT_MEM_REGION op %zu (%s%s) at GPA 0x%" PRIx64 " (%" PRIu64
						  " pages left): %s (TDX module error 0x%" PRIx64 ")", k, op->what,
						  flags ? ", measured" : "", (uint64_t)m.gpa, (uint64_t)m.nr_pages, strerror(-r),
						  (uint64_t)c.hw_error);
			if (r == 0 && m.nr_pages > before)
				return cp_err_set(err, EIO, "KVM_TDX_INIT_MEM_REGION op %zu: impossible progress", k);
			stuck = (r < 0 || m.nr_pages == before) ? stuck + 1 : 0;
			if (stuck > RETRY_MAX)
				return cp_err_set(err, EAGAIN, "KVM_TDX_INIT_MEM_REGION op %zu: no progress after %u tries", k,
						  RETRY_MAX);
		}
	}
	return 0;
}

static int tdx_finish(struct cc_vm *vm, struct cp_err *err)
{
	int r = tdx_cmd(vm, vm->vm_fd, CP_KVM_TDX_FINALIZE_VM, 0, 0, "KVM_TDX_FINALIZE_VM", err);
	if (r == 0)
		drop_shared_copies(vm);
	return r;
}

/* ---- the state machine ---- */

struct transition {
	enum cc_step step;
	enum cc_state from, to;
	int (*fn)(struct cc_vm *vm, struct cp_err *err);
};

static const struct transition snp_table[] = {
	{ CC_STEP_CREATE_VM, CC_ST_NEW, CC_ST_VM_CREATED, step_create_vm },
	{ CC_STEP_INIT, CC_ST_VM_CREATED, CC_ST_INITIALIZED, snp_init },
	{ CC_STEP_START, CC_ST_INITIALIZED, CC_ST_STARTED, snp_start },
	{ CC_STEP_MEMORY, CC_ST_STARTED, CC_ST_MEMORY, step_memory },
	{ CC_STEP_VCPUS, CC_ST_MEMORY, CC_ST_VCPUS, snp_vcpus },
	{ CC_STEP_PAGES, CC_ST_VCPUS, CC_ST_PAGES, snp_pages },
	{ CC_STEP_FINISH, CC_ST_PAGES, CC_ST_FINISHED, snp_finish },
};

static const struct transition tdx_table[] = {
	{ CC_STEP_CREATE_VM, CC_ST_NEW, CC_ST_VM_CREATED, step_create_vm },
	{ CC_STEP_INIT, CC_ST_VM_CREATED, CC_ST_INITIALIZED, tdx_init },
	{ CC_STEP_MEMORY, CC_ST_INITIALIZED, CC_ST_MEMORY, step_memory },
	{ CC_STEP_VCPUS, CC_ST_MEMORY, CC_ST_VCPUS, tdx_vcpus },
	{ CC_STEP_PAGES, CC_ST_VCPUS, CC_ST_PAGES, tdx_pages },
	{ CC_STEP_FINISH, CC_ST_PAGES, CC_ST_FINISHED, tdx_finish },
};

int cc_step(struct cc_vm *vm, enum cc_step step, struct cp_err *err)
{
	const struct transition *t = vm->platform == CC_SNP ? snp_table : tdx_table;
	size_t n = vm->platform == CC_SNP ? ARRAY_SIZE(snp_table) : ARRAY_SIZE(tdx_table);
	int r;

	for (size_t i = 0; i < n; i++) {
		if (t[i].step != step)
			continue;
		if (vm->state != t[i].from)
			return cp_err_set(err, EBUSY, "%s launch: step '%s' refused in state '%s' (it needs state '%s')",
					  plat(vm), cc_step_name(step), cc_state_name(vm->state), cc_state_name(t[i].from));
		r = t[i].fn(vm, err);
		if (r < 0) {
			vm->state = CC_ST_FAILED;
			cp_err_prefix(err, "%s launch, step '%s': ", plat(vm), cc_step_name(step));
			return r;
		}
		vm->state = t[i].to;
		return 0;
	}
	return cp_err_set(err, EINVAL, "%s launch: there is no step '%s' on this platform (state '%s')", plat(vm),
			  cc_step_name(step), cc_state_name(vm->state));
}

int cc_vm_init(struct cc_vm *vm, const struct kvm_ops *ops, void *ctx, const struct cc_launch_cfg *cfg,
	       struct cp_err *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->ops = ops;
	vm->ctx = ctx;
	vm->cfg = cfg;
	vm->platform = cfg->platform;
	vm->kvm_fd = vm->vm_fd = vm->shared_fd = vm->certs_fd = vm->sev_fd = -1;
	pthread_mutex_init(&vm->certs_mu, NULL);
	pthread_mutex_init(&vm->mem_mu, NULL);
	vm->notify_vector = vm->notify_apic_id = -1;
	for (unsigned i = 0; i < RUN_MAX_CC_VCPUS; i++)
		vm->vcpu_fd[i] = -1;
	vm->quote_timeout_ms = 30000;
	if (cfg->platform != CC_SNP && cfg->platform != CC_TDX)
		return cp_err_set(err, EINVAL, "confidential launch: unknown platform %d", (int)cfg->platform);
	if (cfg->vcpus < 1 || cfg->vcpus > RUN_MAX_CC_VCPUS)
		return cp_err_set(err, EINVAL, "confidential launch: %u vCPUs (1..%u)", cfg->vcpus, RUN_MAX_CC_VCPUS);
	if (cfg->mem_size < GUEST_MEM_MIN || cfg->mem_size % PG || cfg->mem_size > GUEST_MEM_MAX)
		return cp_err_set(err, EINVAL, "confidential launch: memory 0x%" PRIx64 " bytes (16 MiB .. 1 TiB, whole pages)",
				  cfg->mem_size);
	if (cc_cfg_direct(cfg)) {
		if (cfg->firmware_len)
			return cp_err_set(err, EINVAL, "confidential launch: a firmware length (%zu) without a firmware",
					  cfg->firmware_len);
	} else if (!cfg->firmware) {
		return cp_err_set(err, EINVAL, "confidential launch: no firmware and no kernel: give a firmware image, or a "
				  "bzImage for the firmware-less direct boot");
	} else if (cfg->firmware_len == 0 || cfg->firmware_len % PG || cfg->firmware_len > (64u << 20)) {
		return cp_err_set(err, EINVAL, "confidential launch: firmware of %zu bytes (whole pages, at most 64 MiB)",
				  cfg->firmware_len);
	}
	if (cfg->platform == CC_SNP && (cfg->vmsa_features & 1))
		return cp_err_set(err, EINVAL, "SEV-SNP: vmsa_features 0x%" PRIx64 " must not contain SNP_ACTIVE (bit 0): "
				  "KVM sets it", cfg->vmsa_features);
	if ((cfg->id_block || cfg->id_auth) && cfg->platform != CC_SNP)
		return cp_err_set(err, EINVAL, "an ID block and ID auth block are for SEV-SNP guests only");
	if (!cfg->id_block != !cfg->id_auth)
		return cp_err_set(err, EINVAL, "SEV-SNP: %s: the firmware checks an ID block against the signature in its "
				  "ID auth block, and KVM copies the auth block whenever an ID block is given "
				  "(SNP_LAUNCH_FINISH)", cfg->id_block ? "an ID block needs its ID auth block"
								     : "an ID auth block needs an ID block");
	if (cfg->snp_certs && cfg->platform != CC_SNP)
		return cp_err_set(err, EINVAL, "a certificate table is for SEV-SNP guests only");
	if (guest_cpu_parse(cfg->cpu, &vm->cpu_model, err) < 0)
		return -EINVAL;
	if (cfg->snp_validate != DB_VALIDATE_ZERO && (cfg->platform != CC_SNP || !cc_cfg_direct(cfg)))
		return cp_err_set(err, EINVAL, "--snp-validate %s: only a SEV-SNP firmware-less direct boot (--kernel "
				  "without --firmware) has a validation stub", db_snp_validate_name(cfg->snp_validate));
	if (cfg->tsc_khz && cfg->platform != CC_TDX)
		return cp_err_set(err, EINVAL, "a TSC frequency is for TDX guests only (SEV-SNP Secure TSC is not supported)");
	if (cfg->tsc_khz) {
		int r = tdx_tsc_valid(cfg->tsc_khz, "the configured TSC frequency", err);
		if (r < 0)
			return r;
	}
	layout(vm, cfg);
	if (cfg->snp_certs) {
		/* Checked now, so a bad table is the user's error at start, not the guest's surprise. */
		_cleanup_free_ uint8_t *table = NULL;
		size_t len;
		vm->certs_fd = open(cfg->snp_certs, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (vm->certs_fd < 0)
			return cp_err_set(err, errno, "certificate table %s: %s", cfg->snp_certs, strerror(errno));
		if (cc_snp_certs_read(vm->certs_fd, &table, &len, err) < 0)
			return cp_err_prefix(err, "%s: ", cfg->snp_certs);
	}
	vm->opts.platform = cfg->platform == CC_SNP ? MEMENC_PLATFORM_SNP : MEMENC_PLATFORM_TDX;
	vm->opts.vcpus = cfg->vcpus;
	vm->opts.vcpu_sig = cfg->vcpu_sig;
	vm->opts.guest_features = cfg->vmsa_features | 1;
	vm->opts.vmm = MEMENC_VMM_QEMU;
	if ((cfg->initrd || cfg->cmdline) && !cfg->kernel)
		return cp_err_set(err, EINVAL, "direct boot: an initrd or command line needs a kernel");
	if (cfg->kernel && cfg->platform == CC_SNP && !cc_cfg_direct(cfg)) {
		/* What the firmware will check the fw_cfg blobs against, measured with the launch. */
		int r = memenc_sev_hashes_compute(cfg->kernel, cfg->kernel_len, cfg->initrd, cfg->initrd_len, cfg->cmdline,
						  &vm->opts.hashes, err);
		if (r < 0)
			return r;
		vm->opts.kernel = true;
	}
	return 0;
}

const struct memenc_launch_opts *cc_vm_measure_opts(const struct cc_vm *vm) { return &vm->opts; }

void cc_vm_release(struct cc_vm *vm)
{
	if (!vm || !vm->ops)
		return;
	cc_quote_stop(vm); /* it writes guest memory and signals through the VM fd */
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->run[i])
			vm->ops->munmap_run(vm->ctx, vm->run[i], vm->run_size);
		if (vm->vcpu_fd[i] >= 0)
			vm->ops->close(vm->ctx, vm->vcpu_fd[i]);
		vm->run[i] = NULL;
		vm->vcpu_fd[i] = -1;
	}
	for (unsigned i = 0; i < vm->nblocks; i++) {
		if (vm->blocks[i].gmem_fd >= 0)
			vm->ops->close(vm->ctx, vm->blocks[i].gmem_fd);
		vm->blocks[i].gmem_fd = -1;
		free(vm->blocks[i].private_bits);
		vm->blocks[i].private_bits = NULL;
	}
	if (vm->vm_fd >= 0)
		vm->ops->close(vm->ctx, vm->vm_fd);
	if (vm->kvm_fd >= 0)
		vm->ops->close(vm->ctx, vm->kvm_fd);
	if (vm->sev_fd >= 0)
		vm->ops->close(vm->ctx, vm->sev_fd);
	vm->vm_fd = vm->kvm_fd = vm->sev_fd = -1;
	if (vm->shared) {
		drop_shared_copies(vm);
		munmap(vm->shared, vm->shared_size);
		vm->shared = NULL;
	}
	if (vm->shared_fd >= 0)
		close(vm->shared_fd);
	vm->shared_fd = -1;
	memenc_plan_free(&vm->plan);
	free(vm->hob);
	vm->hob = NULL;
	free(vm->tdx_cpuid);
	vm->tdx_cpuid = NULL;
	vm->tdx_cpuid_n = 0;
	if (vm->certs_fd >= 0)
		close(vm->certs_fd);
	vm->certs_fd = -1;
}

int cc_launch(const struct kvm_ops *ops, void *ctx, const struct cc_launch_cfg *cfg, struct cc_vm *out,
	      struct cp_err *err)
{
	static const enum cc_step order[] = { CC_STEP_CREATE_VM, CC_STEP_INIT, CC_STEP_START, CC_STEP_MEMORY,
					      CC_STEP_VCPUS, CC_STEP_PAGES, CC_STEP_FINISH };
	struct host_facts facts;
	struct host_assessment a;
	int r = cc_vm_init(out, ops, ctx, cfg, err);

	if (r < 0) {
		cc_vm_release(out);
		return r;
	}
	/* What the host offers, first: a host without SNP/TDX gets the precise reason, not an ioctl error. */
	host_info_probe(ops, ctx, &facts);
	host_info_assess(&facts, &a);
	if (cfg->platform == CC_SNP && !a.snp.available)
		r = cp_err_set(err, ENOTSUP, "SEV-SNP launch is not available on this host: %s", a.snp.reason);
	else if (cfg->platform == CC_TDX && !a.tdx.available)
		r = cp_err_set(err, ENOTSUP, "TDX launch is not available on this host: %s", a.tdx.reason);
	else if (!a.guest_memfd.available)
		r = cp_err_set(err, ENOTSUP, "%s launch is not available on this host: %s", plat(out), a.guest_memfd.reason);
	if (r < 0) {
		cc_vm_release(out);
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		if (order[i] == CC_STEP_START && cfg->platform == CC_TDX)
			continue;
		if ((r = cc_step(out, order[i], err)) < 0) {
			cc_vm_release(out);
			return r;
		}
	}
	return out->vm_fd;
}

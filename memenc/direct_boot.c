/* Firmware-less direct-boot layout (pure). Facts: Linux Documentation/arch/x86/boot.rst (64-bit
 * boot protocol, setup header), arch/x86/include/uapi/asm/bootparam.h (boot_params offsets,
 * setup_data), arch/x86/include/asm/sev.h (struct cc_blob_sev_info, Linux 6.1+),
 * arch/x86/boot/compressed/sev.c (find_cc_blob_setup_data: SETUP_CC_BLOB = 7 carries a u32
 * address). Trusts nothing in the kernel image: every header field is range-checked. */
#include "memenc/direct_boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define PAGE 4096ull
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define LOW_SIZE 0x100000ull

/* Setup header (boot.rst) and boot_params (zero-page.rst) offsets. */
#define BP_ACPI_RSDP 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_CC_BLOB 0x13c
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_VID_MODE 0x1fa
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_SETUP_DATA 0x250
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_HDR_MIN 0x268           /* through init_size + handover_offset */
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01

/* stub/tdx_stub.S and stub/snp_stub.S, embedded by stub/meson.build (xxd -i). */
extern unsigned char carapace_tdx_stub[];
extern unsigned int carapace_tdx_stub_len;
extern unsigned char carapace_snp_stub[];
extern unsigned int carapace_snp_stub_len;

#define SETUP_CC_BLOB 7
#define CC_BLOB_MAGIC 0x45444d41u /* "AMDE" */
#define CC_BLOB_OFF 0x40          /* cc_blob_sev_info inside the setup_data page */

/* GDT (boot.rst: __BOOT_CS 0x10, __BOOT_DS 0x18). 0x08 is a 32-bit code segment for the TDX
 * stub's protected-mode part. */
static const uint64_t gdt[] = {
	0,
	0x00cf9b000000ffffull, /* 0x08 code32 */
	0x00af9b000000ffffull, /* 0x10 code64, L=1 */
	0x00cf93000000ffffull, /* 0x18 data */
};

void db_layout_free(struct db_layout *l)
{
	if (!l)
		return;
	free(l->low);
	free(l->kernel);
	free(l->initrd);
	free(l->stub);
	free(l->snp_stub);
	l->low = l->kernel = l->initrd = l->stub = l->snp_stub = NULL;
	l->n = 0;
}

static int add_region(struct db_layout *l, enum db_kind kind, uint64_t gpa, uint64_t len, const uint8_t *data,
		      const char *what, struct cp_err *err)
{
	if (len == 0)
		return 0;
	if (l->n == sizeof(l->r) / sizeof(l->r[0]))
		return cp_err_set(err, E2BIG, "direct boot: more than %zu regions", l->n);
	l->r[l->n++] = (struct db_region){ .kind = kind, .gpa = gpa, .len = len, .data = data };
	strncpy(l->r[l->n - 1].what, what, sizeof(l->r[0].what) - 1);
	return 0;
}

static void add_e820(struct db_layout *l, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && l->ne820 < DB_E820_MAX)
		l->e820[l->ne820++] = (struct db_e820){ addr, size, type };
}

struct bz {
	size_t setup_len, pm_len, hdr_end;
	uint16_t version;
	uint64_t init_size, pref, cmdline_max, initrd_max;
};

/* The one reader of the bzImage setup header for this layout. */
static int bz_parse(const uint8_t *img, size_t len, struct bz *b, struct cp_err *err)
{
	unsigned sects;

	if (!img || len < BP_HDR_MIN + 4)
		return cp_err_set(err, ENOEXEC, "kernel: %zu bytes is too short for a bzImage setup header", len);
	if (cp_le16(img + BP_BOOT_FLAG) != 0xaa55 || memcmp(img + BP_HEADER, "HdrS", 4))
		return cp_err_set(err, ENOEXEC, "kernel: not a bzImage (no boot flag 0xaa55 at 0x1fe / \"HdrS\" at 0x202)");
	b->version = cp_le16(img + BP_VERSION);
	/* 2.12 brought xloadflags (XLF_KERNEL_64); 2.10 pref_address; 2.14 acpi_rsdp_addr. */
	if (b->version < 0x020c)
		return cp_err_set(err, ENOEXEC, "kernel: boot protocol %u.%02u is too old for the 64-bit entry "
				  "(2.12+, Linux 3.8+, needed)", b->version >> 8, b->version & 0xff);
	if (!(img[BP_XLOADFLAGS] & XLF_KERNEL_64))
		return cp_err_set(err, ENOEXEC, "kernel: no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)");
	if (!(img[BP_LOADFLAGS] & LOADED_HIGH))
		return cp_err_set(err, ENOEXEC, "kernel: a zImage (not LOADED_HIGH); only bzImage is supported");
	sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	b->setup_len = ((size_t)sects + 1) * 512;
	b->hdr_end = BP_HEADER + (size_t)img[BP_JUMP + 1];
	if (b->hdr_end < BP_HDR_MIN || b->hdr_end > 0x1000 || b->hdr_end > len)
		return cp_err_set(err, ENOEXEC, "kernel: setup header ends at 0x%zx (jump byte 0x%x), outside 0x%x..0x1000",
				  b->hdr_end, img[BP_JUMP + 1], BP_HDR_MIN);
	if (b->setup_len >= len)
		return cp_err_set(err, ENOEXEC, "kernel: setup (%u sectors) covers the whole %zu-byte file", sects, len);
	b->pm_len = len - b->setup_len;
	b->init_size = cp_le32(img + BP_INIT_SIZE);
	if (b->init_size < b->pm_len)
		b->init_size = b->pm_len;
	b->pref = cp_le64(img + BP_PREF_ADDRESS);
	b->cmdline_max = cp_le32(img + BP_CMDLINE_SIZE);
	b->initrd_max = (uint64_t)cp_le32(img + BP_INITRD_ADDR_MAX) + 1;
	return 0;
}

static int check_input(const struct db_input *in, struct cp_err *err)
{
	if (in->platform != DB_PLAIN && in->platform != DB_SNP && in->platform != DB_TDX)
		return cp_err_set(err, EINVAL, "direct boot: unknown platform %d", (int)in->platform);
	if (in->vcpus < 1 || in->vcpus > ACPI_MAX_CPUS)
		return cp_err_set(err, EINVAL, "direct boot: %u vCPUs; the MADT layout holds 1..%u", in->vcpus,
				  ACPI_MAX_CPUS);
	if (in->platform == DB_PLAIN && in->vcpus > 254)
		return cp_err_set(err, EINVAL, "direct boot: %u vCPUs; plain KVM's xAPIC IDs allow 1..254", in->vcpus);
	if (in->mem_size < DB_MEM_MIN || in->mem_size > DB_MEM_MAX || in->mem_size % PAGE)
		return cp_err_set(err, EINVAL, "direct boot: --memory %llu MiB; the layout holds %llu MiB..%llu GiB "
				  "in whole 4 KiB pages", (unsigned long long)(in->mem_size >> 20),
				  (unsigned long long)(DB_MEM_MIN >> 20), (unsigned long long)(DB_MEM_MAX >> 30));
	if (in->ndevs > ACPI_MAX_DEVICES)
		return cp_err_set(err, E2BIG, "direct boot: %u virtio-mmio devices; the DSDT holds at most %u", in->ndevs,
				  ACPI_MAX_DEVICES);
	if (in->cbit > 63 || (in->platform == DB_SNP && in->cbit && in->cbit < 32))
		return cp_err_set(err, EINVAL, "direct boot: C-bit position %u is outside 32..63", in->cbit);
	if (in->initrd && in->initrd_len == 0)
		return cp_err_set(err, EINVAL, "direct boot: the initrd is empty");
	if (in->snp_validate != DB_VALIDATE_ZERO && in->snp_validate != DB_VALIDATE_STUB)
		return cp_err_set(err, EINVAL, "direct boot: unknown SNP validation %d", (int)in->snp_validate);
	if (in->snp_validate == DB_VALIDATE_STUB && in->platform != DB_SNP)
		return cp_err_set(err, EINVAL, "direct boot: --snp-validate stub is for SEV-SNP launches only");
	return 0;
}

/* The SNP validation stub PVALIDATEs by virtual address, so it needs every RAM page mapped: the
 * GiBs above 4 GiB in 1 GiB pages (every SNP-capable CPU has them), in the PDPT of the first
 * 512 GiB and in DB_PDPT_HI for the next 512 GiB (DB_MEM_MAX is 1 TiB). */
static void put_high_page_tables(uint8_t *low, uint64_t cmask, uint64_t ram_top)
{
	uint8_t *pml4 = low + DB_PML4, *pdpt = pml4 + PAGE, *hi = low + DB_PDPT_HI;

	for (uint64_t g = 4; g < 1024 && (g << 30) < ram_top; g++) {
		uint8_t *e = g < 512 ? pdpt + 8 * g : hi + 8 * (g - 512);
		cp_put_le64(e, (g << 30) | cmask | 0x83);
	}
	if (ram_top > (512ull << 30))
		cp_put_le64(pml4 + 8, DB_PDPT_HI | cmask | 0x3);
}

static void put_page_tables(uint8_t *low, uint64_t cmask)
{
	uint8_t *pml4 = low + DB_PML4, *pdpt = pml4 + PAGE, *pd = pdpt + PAGE;

	/* 4 GiB identity map in 2 MiB pages: covers the kernel's init_size, boot_params, the
	 * command line and the initrd (all below 3 GiB), as the 64-bit boot protocol requires. */
	cp_put_le64(pml4, (DB_PML4 + PAGE) | cmask | 0x3);
	for (unsigned i = 0; i < 4; i++) {
		cp_put_le64(pdpt + 8 * i, (DB_PML4 + (2 + i) * PAGE) | cmask | 0x3);
		for (unsigned j = 0; j < 512; j++)
			cp_put_le64(pd + i * PAGE + 8 * j, ((uint64_t)i << 30 | (uint64_t)j << 21) | cmask | 0x83);
	}
}

static void put_boot_params(const struct db_input *in, const struct bz *b, struct db_layout *l)
{
	uint8_t *zp = l->low + DB_ZERO_PAGE;
	size_t cl = in->cmdline ? strlen(in->cmdline) : 0;

	memcpy(zp + BP_SETUP_SECTS, in->kernel + BP_SETUP_SECTS, b->hdr_end - BP_SETUP_SECTS);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= CAN_USE_HEAP;
	cp_put_le16(zp + BP_HEAP_END_PTR, 0xfe00);
	cp_put_le16(zp + BP_VID_MODE, 0xffff);
	cp_put_le32(zp + BP_CODE32_START, (uint32_t)l->kernel_gpa);
	cp_put_le32(zp + BP_CMD_LINE_PTR, (uint32_t)DB_CMDLINE);
	cp_put_le32(zp + BP_EXT_CMD_LINE_PTR, 0);
	if (cl)
		memcpy(l->low + DB_CMDLINE, in->cmdline, cl);
	if (in->initrd) {
		cp_put_le32(zp + BP_RAMDISK_IMAGE, (uint32_t)l->initrd_gpa);
		cp_put_le32(zp + BP_RAMDISK_SIZE, (uint32_t)in->initrd_len);
		cp_put_le32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(l->initrd_gpa >> 32));
		cp_put_le32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)in->initrd_len >> 32));
	}
	cp_put_le64(zp + BP_ACPI_RSDP, l->acpi.rsdp_gpa);
	zp[BP_E820_ENTRIES] = (uint8_t)l->ne820;
	for (size_t i = 0; i < l->ne820; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;
		cp_put_le64(e, l->e820[i].addr);
		cp_put_le64(e + 8, l->e820[i].size);
		cp_put_le32(e + 16, l->e820[i].type);
	}
	if (in->platform == DB_SNP) {
		uint8_t *sd = l->low + DB_SETUP_DATA, *blob = sd + CC_BLOB_OFF;
		/* struct setup_data { u64 next; u32 type; u32 len; } + struct cc_setup_data's u32 */
		cp_put_le64(sd, 0);
		cp_put_le32(sd + 8, SETUP_CC_BLOB);
		cp_put_le32(sd + 12, 4);
		cp_put_le32(sd + 16, (uint32_t)(DB_SETUP_DATA + CC_BLOB_OFF));
		/* struct cc_blob_sev_info (packed) */
		cp_put_le32(blob, CC_BLOB_MAGIC);
		cp_put_le16(blob + 4, 0);
		cp_put_le64(blob + 8, DB_SECRETS);
		cp_put_le32(blob + 16, (uint32_t)PAGE);
		cp_put_le64(blob + 24, DB_CPUID);
		cp_put_le32(blob + 32, (uint32_t)PAGE);
		cp_put_le64(zp + BP_SETUP_DATA, DB_SETUP_DATA);
		/* A vmlinux entered directly reads it here; a bzImage's decompressor clears it. */
		cp_put_le32(zp + BP_CC_BLOB, (uint32_t)(DB_SETUP_DATA + CC_BLOB_OFF));
	}
}

/* The stub's parameter block (offsets: stub/tdx_stub.S `params`): entry, boot_params, mailbox,
 * CR3 and the RAM ranges the BSP accepts (the layout's ZERO regions). */
static int put_stub_params(struct db_layout *l, uint8_t *page, unsigned built_len, const char *magic,
			   uint64_t kernel_entry, struct cp_err *err)
{
	uint8_t *p = page + DB_STUB_PARAMS;
	uint64_t n = 0;

	if (built_len != PAGE || memcmp(p, magic, 8))
		return cp_err_set(err, EINVAL, "direct boot: the built stub is not a page with its parameter block "
				  "%s at 0x%x (stub/*_stub.S and direct_boot.h disagree)", magic, DB_STUB_PARAMS);
	cp_put_le64(p + 0x08, kernel_entry);
	cp_put_le64(p + 0x10, DB_ZERO_PAGE);
	if (page == l->stub) {
		cp_put_le64(p + 0x18, DB_MAILBOX);
		cp_put_le64(p + 0x20, l->entry.cr3);
	}
	for (size_t i = 0; i < l->n; i++) {
		if (l->r[i].kind != DB_ZERO)
			continue;
		if (n == DB_STUB_RANGES)
			return cp_err_set(err, E2BIG, "direct boot: more than %u RAM ranges for the %s stub", DB_STUB_RANGES,
					  magic);
		cp_put_le64(p + 0x30 + 16 * n, l->r[i].gpa);
		cp_put_le64(p + 0x38 + 16 * n, l->r[i].gpa + l->r[i].len);
		n++;
	}
	cp_put_le64(p + 0x28, n);
	return 0;
}

/* RAM minus the regions already placed, in address order, as ZERO regions. */
static int add_zero_ram(struct db_layout *l, struct cp_err *err)
{
	size_t nd = l->n, order[sizeof(l->r) / sizeof(l->r[0])];

	for (size_t i = 0; i < nd; i++) { /* insertion sort by GPA: a few dozen regions at most */
		size_t j = i;
		for (; j > 0 && l->r[order[j - 1]].gpa > l->r[i].gpa; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (size_t i = 0; i < l->ne820; i++) {
		uint64_t cur = l->e820[i].addr, end = cur + l->e820[i].size;
		int r;
		if (l->e820[i].type != 1)
			continue;
		for (size_t k = 0; k < nd && cur < end; k++) {
			const struct db_region *d = &l->r[order[k]];
			if (d->gpa + d->len <= cur || d->gpa >= end)
				continue;
			if (d->gpa > cur && (r = add_region(l, DB_ZERO, cur, d->gpa - cur, NULL, "ram", err)) < 0)
				return r;
			if (d->gpa + d->len > cur)
				cur = d->gpa + d->len;
		}
		if (cur < end && (r = add_region(l, DB_ZERO, cur, end - cur, NULL, "ram", err)) < 0)
			return r;
	}
	return 0;
}

int db_layout_build(const struct db_input *in, struct db_layout *l, struct cp_err *err)
{
	struct bz b = { 0 };
	struct acpi_config ac = { 0 };
	uint64_t low_end, load, kern_pages, cmask = 0, acpi_pages;
	size_t cl;
	bool stub = in->platform == DB_TDX || in->tdx_stub;
	bool snp_stub = in->platform == DB_SNP && in->snp_validate == DB_VALIDATE_STUB;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = check_input(in, err)) < 0 || (r = bz_parse(in->kernel, in->kernel_len, &b, err)) < 0)
		return r;
	low_end = in->mem_size < DB_MMIO_HOLE ? in->mem_size : DB_MMIO_HOLE;

	/* Kernel at pref_address (the decompressor's own target; boot.rst: load there unless
	 * relocating) when it is sane, else 1 MiB. */
	load = (b.pref >= DB_HIGH && b.pref < DB_MMIO_HOLE && !(b.pref & (PAGE - 1))) ? b.pref : DB_HIGH;
	if (load + b.init_size > low_end)
		return cp_err_set(err, E2BIG, "kernel: it needs RAM up to %llu MiB to decompress (load 0x%llx + "
				  "init_size 0x%llx); give the VM more --memory", (unsigned long long)((load + b.init_size + (1 << 20) - 1) >> 20),
				  (unsigned long long)load, (unsigned long long)b.init_size);
	cl = in->cmdline ? strlen(in->cmdline) : 0;
	if (cl > b.cmdline_max || cl >= DB_CMDLINE_MAX)
		return cp_err_set(err, E2BIG, "command line is %zu bytes; this kernel accepts %llu", cl,
				  (unsigned long long)(b.cmdline_max < DB_CMDLINE_MAX - 1 ? b.cmdline_max : DB_CMDLINE_MAX - 1));
	l->kernel_gpa = load;
	l->kernel_end = ALIGN_UP(load + b.init_size, PAGE);
	kern_pages = ALIGN_UP(b.pm_len, PAGE);
	if (in->initrd) {
		uint64_t top = low_end < b.initrd_max ? low_end : b.initrd_max;
		if (in->initrd_len > top)
			return cp_err_set(err, E2BIG, "initrd of %zu bytes is larger than the RAM it may use (below 0x%llx)",
					  in->initrd_len, (unsigned long long)top);
		l->initrd_gpa = ALIGN_DOWN(top - in->initrd_len, PAGE);
		if (l->initrd_gpa < l->kernel_end)
			return cp_err_set(err, E2BIG, "initrd of %zu bytes would overlap the kernel (which needs "
					  "[0x%llx, 0x%llx) to decompress; the initrd must sit below 0x%llx): give the VM "
					  "more --memory", in->initrd_len, (unsigned long long)load,
					  (unsigned long long)l->kernel_end, (unsigned long long)top);
	}

	l->low = calloc(1, LOW_SIZE);
	l->kernel = calloc(1, kern_pages);
	l->initrd = in->initrd ? calloc(1, ALIGN_UP(in->initrd_len, PAGE)) : NULL;
	l->stub = stub ? calloc(1, PAGE) : NULL;
	l->snp_stub = snp_stub ? calloc(1, PAGE) : NULL;
	if (!l->low || !l->kernel || (in->initrd && !l->initrd) || (stub && !l->stub) || (snp_stub && !l->snp_stub)) {
		db_layout_free(l);
		return cp_err_set(err, ENOMEM, "direct boot: out of memory");
	}
	memcpy(l->kernel, in->kernel + b.setup_len, b.pm_len);
	if (in->initrd)
		memcpy(l->initrd, in->initrd, in->initrd_len);

	/* ACPI: one LAPIC per vCPU, the IOAPIC; TDX adds the MP wakeup mailbox and has no 8259. */
	ac.ncpus = in->vcpus;
	ac.legacy_pic = in->platform != DB_TDX;
	ac.mp_wakeup = stub;
	ac.mp_mailbox_gpa = DB_MAILBOX;
	ac.ndevs = in->ndevs;
	for (unsigned i = 0; i < in->ndevs && i < ACPI_MAX_DEVICES; i++)
		ac.devs[i] = acpi_virtio_window(i);
	if (acpi_size(&ac) > DB_ACPI_MAX)
		r = cp_err_set(err, E2BIG, "direct boot: %u vCPUs need %zu bytes of ACPI tables; the layout has %llu",
			       in->vcpus, acpi_size(&ac), (unsigned long long)DB_ACPI_MAX);
	else
		r = acpi_build(&ac, l->low + DB_ACPI, DB_ACPI_MAX, DB_ACPI, &l->acpi, err);
	if (r < 0) {
		db_layout_free(l);
		return r;
	}
	acpi_pages = ALIGN_UP(l->acpi.len, PAGE);

	/* E820: boot data reserved; ACPI tables as ACPI; RAM above 3 GiB moves above 4 GiB. */
	add_e820(l, 0, DB_GDT, 1);
	add_e820(l, DB_GDT, DB_BOOT_END - DB_GDT, 2);
	add_e820(l, DB_BOOT_END, DB_LOW_RAM_END - DB_BOOT_END, 1);
	add_e820(l, DB_ACPI, acpi_pages, 3);
	add_e820(l, DB_ACPI + acpi_pages, DB_HIGH - DB_ACPI - acpi_pages, 2);
	add_e820(l, DB_HIGH, low_end - DB_HIGH, 1);
	if (in->mem_size > DB_MMIO_HOLE)
		add_e820(l, DB_4G, in->mem_size - DB_MMIO_HOLE, 1);

	if (in->platform == DB_SNP)
		cmask = 1ull << (in->cbit ? in->cbit : 51);
	for (size_t i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
		cp_put_le64(l->low + DB_GDT + 8 * i, gdt[i]);
	put_page_tables(l->low, cmask);
	if (snp_stub)
		put_high_page_tables(l->low, cmask, in->mem_size > DB_MMIO_HOLE ? DB_4G + in->mem_size - DB_MMIO_HOLE
									   : in->mem_size);
	put_boot_params(in, &b, l);
	if (in->platform == DB_SNP)
		memcpy(l->low + DB_AP_PARK, "\xfa\xf4\xeb\xfd", 4); /* cli; 1: hlt; jmp 1b */

	l->ram_in_launch = in->platform == DB_SNP && !snp_stub;
	l->entry = (struct db_entry){ .rip = snp_stub ? DB_SNP_STUB : load + 0x200, .rsi = DB_ZERO_PAGE, .cr0 = 0x80000011,
				      .cr3 = DB_PML4 | cmask, .cr4 = 0x20, .efer = 0x500, .gdt_base = DB_GDT,
				      .gdt_limit = sizeof(gdt) - 1, .cs = 0x10, .ds = 0x18,
				      .ap_rip = in->platform == DB_SNP ? DB_AP_PARK + 1 : 0 };

	/* Region order = launch order: boot data low to high, kernel, initrd, then the special
	 * pages and the zero RAM. */
	r = add_region(l, DB_DATA, DB_GDT, PAGE, l->low + DB_GDT, "gdt", err);
	if (!r && stub)
		r = add_region(l, DB_DATA, DB_MAILBOX, PAGE, l->low + DB_MAILBOX, "mp_wakeup_mailbox", err);
	if (!r && in->platform == DB_SNP)
		r = add_region(l, DB_DATA, DB_SETUP_DATA, PAGE, l->low + DB_SETUP_DATA, "setup_data_cc_blob", err);
	if (!r)
		r = add_region(l, DB_DATA, DB_ZERO_PAGE, PAGE, l->low + DB_ZERO_PAGE, "boot_params", err);
	if (!r && in->platform == DB_SNP)
		r = add_region(l, DB_DATA, DB_AP_PARK, PAGE, l->low + DB_AP_PARK, "ap_park", err);
	if (!r)
		r = add_region(l, DB_DATA, DB_PML4, (snp_stub ? 7 : 6) * PAGE, l->low + DB_PML4, "page_tables", err);
	if (!r && snp_stub) {
		memcpy(l->snp_stub, carapace_snp_stub, carapace_snp_stub_len < PAGE ? carapace_snp_stub_len : PAGE);
		r = add_region(l, DB_DATA, DB_SNP_STUB, PAGE, l->snp_stub, "snp_validate_stub", err);
	}
	if (!r)
		r = add_region(l, DB_DATA, DB_CMDLINE, ALIGN_UP(cl + 1, PAGE), l->low + DB_CMDLINE, "cmdline", err);
	if (!r)
		r = add_region(l, DB_DATA, DB_ACPI, acpi_pages, l->low + DB_ACPI, "acpi", err);
	if (!r)
		r = add_region(l, DB_DATA, load, kern_pages, l->kernel, "kernel", err);
	if (!r && in->initrd)
		r = add_region(l, DB_DATA, l->initrd_gpa, ALIGN_UP(in->initrd_len, PAGE), l->initrd, "initrd", err);
	if (!r && in->platform == DB_SNP)
		r = add_region(l, DB_SECRETS_PAGE, DB_SECRETS, PAGE, NULL, "snp_secrets", err);
	if (!r && in->platform == DB_SNP)
		r = add_region(l, DB_CPUID_PAGE, DB_CPUID, PAGE, NULL, "snp_cpuid", err);
	if (!r && stub) {
		memcpy(l->stub, carapace_tdx_stub, carapace_tdx_stub_len < PAGE ? carapace_tdx_stub_len : PAGE);
		r = add_region(l, DB_DATA, DB_STUB, PAGE, l->stub, "tdx_stub", err);
	}
	if (!r)
		r = add_zero_ram(l, err);
	if (!r && stub)
		r = put_stub_params(l, l->stub, carapace_tdx_stub_len, "CPTDXSTB", l->entry.rip, err);
	if (!r && snp_stub)
		r = put_stub_params(l, l->snp_stub, carapace_snp_stub_len, "CPSNPSTB", load + 0x200, err);
	if (r < 0)
		db_layout_free(l);
	return r;
}

int db_layout_copy(const struct db_layout *l, uint8_t *mem, uint64_t mem_len, struct cp_err *err)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct db_region *d = &l->r[i];
		if (d->kind != DB_DATA)
			continue;
		if (d->gpa == DB_STUB && d->len == PAGE && mem_len < DB_STUB)
			continue; /* the stub page is mapped apart, at the top of 4 GiB: the caller copies it */
		if (d->gpa > mem_len || d->len > mem_len - d->gpa)
			return cp_err_set(err, ERANGE, "direct boot: %s [0x%llx, +0x%llx) is outside guest RAM", d->what,
					  (unsigned long long)d->gpa, (unsigned long long)d->len);
		memcpy(mem + d->gpa, d->data, d->len);
	}
	return 0;
}

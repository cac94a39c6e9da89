/* Boot loaders: PVH (Xen PVH boot ABI, hvm_start_info v1), Linux x86 boot protocol (bzImage,
 * 64-bit entry) and ELF vmlinux. Pure: kernel bytes in, guest RAM contents and vCPU state out.
 * Trusts nothing in the image: every offset and size is checked before use. */
#include "runner/boot.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "memenc/direct_boot.h"
#include "runner/layout.h"
#include "runner/mptable.h"

#define PAGE 4096ull
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), version 1. */
#define HVM_START_MAGIC 0x336ec578u
#define HVM_START_INFO_SIZE 56
#define HVM_MEMMAP_ENTRY_SIZE 24
#define HVM_MODLIST_ENTRY_SIZE 32
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Linux boot protocol offsets (Documentation/arch/x86/boot.rst, zero-page.rst). */
#define LX_SETUP_SECTS 0x1f1
#define LX_VID_MODE 0x1fa
#define LX_BOOT_FLAG 0x1fe
#define LX_JUMP 0x200
#define LX_HEADER 0x202
#define LX_VERSION 0x206
#define LX_TYPE_OF_LOADER 0x210
#define LX_LOADFLAGS 0x211
#define LX_RAMDISK_IMAGE 0x218
#define LX_RAMDISK_SIZE 0x21c
#define LX_HEAP_END_PTR 0x224
#define LX_CMD_LINE_PTR 0x228
#define LX_INITRD_ADDR_MAX 0x22c
#define LX_KERNEL_ALIGNMENT 0x230
#define LX_CMDLINE_SIZE 0x238
#define LX_XLOADFLAGS 0x236
#define LX_INIT_SIZE 0x260
/* The setup header carapace reads ends with init_size (protocol 2.10+); a 2.12+ header is longer. */
#define LX_HEADER_READ_END (LX_INIT_SIZE + 4)
#define LX_E820_ENTRIES 0x1e8
#define LX_E820_TABLE 0x2d0
#define LX_E820_MAX 128
#define LX_LOADED_HIGH 0x01
#define LX_CAN_USE_HEAP 0x80
#define LX_XLF_KERNEL_64 0x01

const char *boot_kind_name(enum boot_kind k)
{
	switch (k) {
	case BOOT_PVH: return "PVH";
	case BOOT_LINUX_BZIMAGE: return "Linux bzImage (64-bit boot protocol)";
	case BOOT_LINUX_ELF: return "Linux ELF vmlinux (64-bit boot protocol)";
	}
	return "unknown";
}

/* ---- GDT and register set-up shared by all kinds ---- */

static void write_gdt(const struct gmem *g)
{
	static const uint64_t gdt[] = {
		0,
		0x00cf9b000000ffffull, /* 0x08 code32: base 0, 4 GiB, exec/read */
		0x00af9b000000ffffull, /* 0x10 code64: L=1 */
		0x00cf93000000ffffull, /* 0x18 data: base 0, 4 GiB, read/write */
		0x00008b0000000067ull, /* 0x20 TSS: base 0, limit 0x67, busy */
	};
	uint8_t *p = gmem_ptr(g, GP_GDT, sizeof(gdt));
	for (size_t i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
		cp_put_le64(p + 8 * i, gdt[i]);
}

static void regs_common(struct boot_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;
	r->gdt_base = GP_GDT;
	r->gdt_limit = 5 * 8 - 1;
	r->ds = (struct boot_seg){ .base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_DATA,
				   .type = 3, .s = 1, .present = 1, .db = 1, .g = 1 };
	r->tr = (struct boot_seg){ .base = 0, .limit = 0x67, .selector = BOOT_SEL_TSS,
				   .type = 11, .s = 0, .present = 1 };
}

static void regs_prot32(struct boot_regs *r, uint64_t entry, uint64_t start_info)
{
	regs_common(r);
	r->cs = (struct boot_seg){ .base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_CODE32,
				   .type = 11, .s = 1, .present = 1, .db = 1, .g = 1 };
	r->cr0 = 0x11; /* PE | ET */
	r->rip = entry;
	r->rbx = start_info;
}

static void regs_long64(const struct gmem *g, struct boot_regs *r, uint64_t entry)
{
	uint8_t *pml4 = gmem_ptr(g, GP_PML4, PAGE), *pdpt = gmem_ptr(g, GP_PDPT, PAGE);
	uint8_t *pd = gmem_ptr(g, GP_PD, 4 * PAGE);

	/* Identity-map the first 4 GiB with 2 MiB pages, as the 64-bit boot protocol requires
	 * for the kernel, boot_params, command line and initrd. */
	memset(pml4, 0, PAGE);
	memset(pdpt, 0, PAGE);
	cp_put_le64(pml4, GP_PDPT | 0x3);
	for (unsigned i = 0; i < 4; i++) {
		cp_put_le64(pdpt + 8 * i, (GP_PD + i * PAGE) | 0x3);
		for (unsigned j = 0; j < 512; j++)
			cp_put_le64(pd + i * PAGE + 8 * j, (((uint64_t)i << 30) | ((uint64_t)j << 21)) | 0x83);
	}
	regs_common(r);
	r->cs = (struct boot_seg){ .base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_CODE64,
				   .type = 11, .s = 1, .present = 1, .l = 1, .g = 1 };
	r->cr0 = 0x80000011; /* PG | ET | PE */
	r->cr4 = 0x20;       /* PAE */
	r->efer = 0x500;     /* LME | LMA */
	r->cr3 = GP_PML4;
	r->rip = entry;
	r->rsi = GP_ZERO_PAGE;
}

/* ---- ELF reader (32- and 64-bit little-endian x86) ---- */

struct elf_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct elf_info {
	int is64;
	uint64_t entry, phoff;
	uint16_t phentsize, phnum;
};

static int elf_parse(const uint8_t *img, size_t len, struct elf_info *e, struct cp_err *err)
{
	uint16_t machine;

	if (len < 52)
		return cp_err_set(err, ENOEXEC, "ELF image is truncated (%zu bytes)", len);
	if (img[4] != 1 && img[4] != 2)
		return cp_err_set(err, ENOEXEC, "ELF class %u is neither 32- nor 64-bit", img[4]);
	if (img[5] != 1)
		return cp_err_set(err, ENOEXEC, "ELF image is not little-endian");
	e->is64 = img[4] == 2;
	machine = cp_le16(img + 18);
	if (machine != (e->is64 ? 62 : 3))
		return cp_err_set(err, ENOEXEC, "ELF machine %u is not x86 (%s)", machine,
				  e->is64 ? "expected 62, x86-64" : "expected 3, i386");
	if (e->is64) {
		if (len < 64)
			return cp_err_set(err, ENOEXEC, "ELF64 header is truncated");
		e->entry = cp_le64(img + 24);
		e->phoff = cp_le64(img + 32);
		e->phentsize = cp_le16(img + 54);
		e->phnum = cp_le16(img + 56);
	} else {
		e->entry = cp_le32(img + 24);
		e->phoff = cp_le32(img + 28);
		e->phentsize = cp_le16(img + 42);
		e->phnum = cp_le16(img + 44);
	}
	if (e->phentsize != (e->is64 ? 56 : 32))
		return cp_err_set(err, ENOEXEC, "ELF program header size %u is wrong", e->phentsize);
	if (e->phnum == 0 || e->phnum > 64)
		return cp_err_set(err, ENOEXEC, "ELF has %u program headers (1..64 accepted)", e->phnum);
	if (e->phoff > len || (uint64_t)e->phnum * e->phentsize > len - e->phoff)
		return cp_err_set(err, ENOEXEC, "ELF program headers at offset 0x%llx run past the end of the file",
				  (unsigned long long)e->phoff);
	return 0;
}

static void elf_phdr_get(const uint8_t *img, const struct elf_info *e, unsigned i, struct elf_phdr *ph)
{
	const uint8_t *p = img + e->phoff + (uint64_t)i * e->phentsize;
	if (e->is64) {
		*ph = (struct elf_phdr){ cp_le32(p), cp_le32(p + 4), cp_le64(p + 8), cp_le64(p + 16),
					 cp_le64(p + 24), cp_le64(p + 32), cp_le64(p + 40) };
	} else {
		*ph = (struct elf_phdr){ cp_le32(p), cp_le32(p + 24), cp_le32(p + 4), cp_le32(p + 8),
					 cp_le32(p + 12), cp_le32(p + 16), cp_le32(p + 20) };
	}
}

/* Find the PVH entry in PT_NOTE segments; 0 if the image has no such note. */
static int elf_find_pvh_entry(const uint8_t *img, size_t len, const struct elf_info *e, uint64_t *entry,
			      struct cp_err *err)
{
	*entry = 0;
	for (unsigned i = 0; i < e->phnum; i++) {
		struct elf_phdr ph;
		elf_phdr_get(img, e, i, &ph);
		if (ph.type != 4 /* PT_NOTE */)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset)
			return cp_err_set(err, ENOEXEC, "ELF note segment %u runs past the end of the file", i);
		const uint8_t *n = img + ph.offset, *end = n + ph.filesz;
		while (end - n >= 12) {
			uint32_t namesz = cp_le32(n), descsz = cp_le32(n + 4), type = cp_le32(n + 8);
			uint64_t name_pad = ALIGN_UP((uint64_t)namesz, 4), desc_pad = ALIGN_UP((uint64_t)descsz, 4);
			const uint8_t *name = n + 12, *desc = name + name_pad;
			if (name_pad > (uint64_t)(end - name) || desc_pad > (uint64_t)(end - desc))
				return cp_err_set(err, ENOEXEC, "ELF note at file offset 0x%llx is truncated",
						  (unsigned long long)(n - img));
			if (namesz == 4 && !memcmp(name, "Xen", 4) && type == XEN_ELFNOTE_PHYS32_ENTRY) {
				if (descsz == 4)
					*entry = cp_le32(desc);
				else if (descsz == 8)
					*entry = cp_le64(desc);
				else
					return cp_err_set(err, ENOEXEC, "Xen PHYS32_ENTRY note has size %u", descsz);
				if (*entry >= GP_4G)
					return cp_err_set(err, ENOEXEC, "PVH entry 0x%llx is above 4 GiB",
							  (unsigned long long)*entry);
				return 1;
			}
			n = desc + desc_pad;
		}
	}
	return 0;
}

static int elf_load_segments(const struct gmem *g, const uint8_t *img, size_t len, const struct elf_info *e,
			     struct boot_result *out, struct cp_err *err)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned i = 0; i < e->phnum; i++) {
		struct elf_phdr ph;
		uint8_t *dst;
		elf_phdr_get(img, e, i, &ph);
		if (ph.type != 1 /* PT_LOAD */ || (ph.memsz == 0 && ph.filesz == 0))
			continue;
		if (ph.filesz > ph.memsz)
			return cp_err_set(err, ENOEXEC, "ELF segment %u: file size exceeds memory size", i);
		if (ph.offset > len || ph.filesz > len - ph.offset)
			return cp_err_set(err, ENOEXEC, "ELF segment %u runs past the end of the file", i);
		if (ph.paddr < GP_HIGH_START)
			return cp_err_set(err, ENOEXEC,
					  "ELF segment %u loads at 0x%llx, below 1 MiB where carapace keeps boot data", i,
					  (unsigned long long)ph.paddr);
		dst = gmem_ptr(g, ph.paddr, ph.memsz);
		if (!dst || ph.paddr + ph.memsz > gmem_low_end(g))
			return cp_err_set(err, E2BIG,
					  "ELF segment %u [0x%llx, +0x%llx) does not fit in guest RAM below %llu MiB "
					  "(give the VM more --memory)", i, (unsigned long long)ph.paddr,
					  (unsigned long long)ph.memsz, (unsigned long long)(gmem_low_end(g) >> 20));
		memcpy(dst, img + ph.offset, ph.filesz);
		memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
		if (ph.paddr < lo)
			lo = ph.paddr;
		if (ph.paddr + ph.memsz > hi)
			hi = ph.paddr + ph.memsz;
	}
	if (hi == 0)
		return cp_err_set(err, ENOEXEC, "ELF image has no loadable segment");
	out->kernel_start = lo;
	out->kernel_end = hi;
	return 0;
}

/* Highest page-aligned spot for the initrd below `limit`, above the kernel. */
static int place_initrd(const struct gmem *g, const struct boot_input *in, uint64_t limit, uint64_t kernel_end,
			uint64_t *gpa, struct cp_err *err)
{
	uint64_t top = gmem_low_end(g) < limit ? gmem_low_end(g) : limit;
	uint64_t at;

	*gpa = 0;
	if (!in->initrd)
		return 0;
	if (in->initrd_len > top || ALIGN_DOWN(top - in->initrd_len, PAGE) < ALIGN_UP(kernel_end, PAGE))
		return cp_err_set(err, E2BIG, "initrd of %zu bytes does not fit in guest RAM above the kernel "
				  "(give the VM more --memory)", in->initrd_len);
	at = ALIGN_DOWN(top - in->initrd_len, PAGE);
	memcpy(gmem_ptr(g, at, in->initrd_len), in->initrd, in->initrd_len);
	*gpa = at;
	return 0;
}

static int put_cmdline(const struct gmem *g, const char *cmdline, size_t max, struct cp_err *err)
{
	size_t n = cmdline ? strlen(cmdline) : 0;
	uint8_t *p = gmem_ptr(g, GP_CMDLINE, GP_CMDLINE_MAX);

	if (n + 1 > max || n + 1 > GP_CMDLINE_MAX)
		return cp_err_set(err, E2BIG, "command line is %zu bytes; this kernel accepts at most %zu", n, (size_t)(
				  (max < GP_CMDLINE_MAX ? max : GP_CMDLINE_MAX) - 1));
	memset(p, 0, n + 1);
	if (n)
		memcpy(p, cmdline, n);
	return 0;
}

/* ---- PVH ---- */

static int load_pvh(const struct gmem *g, const struct e820_map *map, const struct boot_input *in,
		    const uint8_t *img, const struct elf_info *e, uint64_t entry, struct boot_result *out,
		    struct cp_err *err)
{
	uint8_t *si = gmem_ptr(g, GP_PVH_START_INFO, HVM_START_INFO_SIZE);
	uint8_t *mm = gmem_ptr(g, GP_PVH_MEMMAP, (uint64_t)map->n * HVM_MEMMAP_ENTRY_SIZE);
	int r;

	r = elf_load_segments(g, img, in->kernel_len, e, out, err);
	if (r < 0)
		return r;
	if (entry < out->kernel_start || entry >= out->kernel_end)
		return cp_err_set(err, ENOEXEC, "PVH entry 0x%llx is outside the loaded image [0x%llx, 0x%llx)",
				  (unsigned long long)entry, (unsigned long long)out->kernel_start,
				  (unsigned long long)out->kernel_end);
	r = put_cmdline(g, in->cmdline, GP_CMDLINE_MAX, err);
	if (r < 0)
		return r;
	r = place_initrd(g, in, GP_MMIO_HOLE, out->kernel_end, &out->initrd_gpa, err);
	if (r < 0)
		return r;

	memset(si, 0, HVM_START_INFO_SIZE);
	cp_put_le32(si + 0, HVM_START_MAGIC);
	cp_put_le32(si + 4, 1); /* version 1: has the memory map */
	cp_put_le64(si + 24, GP_CMDLINE);
	for (size_t i = 0; i < map->n; i++) {
		uint8_t *m = mm + i * HVM_MEMMAP_ENTRY_SIZE;
		cp_put_le64(m, map->e[i].addr);
		cp_put_le64(m + 8, map->e[i].size);
		cp_put_le32(m + 16, map->e[i].type);
		cp_put_le32(m + 20, 0);
	}
	cp_put_le64(si + 40, GP_PVH_MEMMAP);
	cp_put_le32(si + 48, (uint32_t)map->n);
	if (out->initrd_gpa) {
		uint8_t *ml = gmem_ptr(g, GP_PVH_MODLIST, HVM_MODLIST_ENTRY_SIZE);
		memset(ml, 0, HVM_MODLIST_ENTRY_SIZE);
		cp_put_le64(ml, out->initrd_gpa);
		cp_put_le64(ml + 8, in->initrd_len);
		cp_put_le32(si + 12, 1);
		cp_put_le64(si + 16, GP_PVH_MODLIST);
	}
	out->kind = BOOT_PVH;
	regs_prot32(&out->regs, entry, GP_PVH_START_INFO);
	return 0;
}

/* ---- Linux ---- */

static void zero_page_e820(uint8_t *zp, const struct e820_map *map)
{
	zp[LX_E820_ENTRIES] = (uint8_t)map->n;
	for (size_t i = 0; i < map->n && i < LX_E820_MAX; i++) {
		uint8_t *en = zp + LX_E820_TABLE + 20 * i;
		cp_put_le64(en, map->e[i].addr);
		cp_put_le64(en + 8, map->e[i].size);
		cp_put_le32(en + 16, map->e[i].type);
	}
}

static int load_bzimage(const struct gmem *g, const struct e820_map *map, const struct boot_input *in,
			struct boot_result *out, struct cp_err *err)
{
	const uint8_t *img = in->kernel;
	size_t len = in->kernel_len, hdr_end, setup_len;
	unsigned setup_sects;
	uint16_t version;
	uint64_t load = GP_HIGH_START, pm_len, init_size, initrd_max, cmdline_max;
	uint8_t *zp, *dst;
	int r;

	/* Length first: every header field below is read only once the file is known to hold it,
	 * and only from inside the header the image declares (its jump at 0x200 ends there). */
	if (len < LX_HEADER_READ_END)
		return cp_err_set(err, ENOEXEC, "bzImage is truncated (%zu bytes): its setup header runs to 0x%x",
				  len, LX_HEADER_READ_END);
	hdr_end = LX_HEADER + img[LX_JUMP + 1];
	if (hdr_end < LX_HEADER_READ_END || hdr_end > 0x1000 || hdr_end > len)
		return cp_err_set(err, ENOEXEC, "Linux setup header ends at 0x%zx: it must end between 0x%x and "
				  "the end of the image", hdr_end, LX_HEADER_READ_END);
	setup_sects = img[LX_SETUP_SECTS] ? img[LX_SETUP_SECTS] : 4;
	version = cp_le16(img + LX_VERSION);
	if (version < 0x020c)
		return cp_err_set(err, ENOEXEC, "Linux boot protocol %u.%02u is too old: carapace needs 2.12+ "
				  "for the 64-bit entry", version >> 8, version & 0xff);
	if (!(img[LX_XLOADFLAGS] & LX_XLF_KERNEL_64))
		return cp_err_set(err, ENOEXEC, "this bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");
	if (!(img[LX_LOADFLAGS] & LX_LOADED_HIGH))
		return cp_err_set(err, ENOEXEC, "this is a zImage (not loaded high); only bzImage is supported");
	setup_len = ((size_t)setup_sects + 1) * 512;
	if (setup_len >= len)
		return cp_err_set(err, ENOEXEC, "bzImage setup (%u sectors) covers the whole file", setup_sects);
	pm_len = len - setup_len;
	init_size = cp_le32(img + LX_INIT_SIZE);
	if (init_size < pm_len)
		init_size = pm_len;
	if (load + init_size > gmem_low_end(g))
		return cp_err_set(err, E2BIG, "this kernel needs %llu MiB at 1 MiB to decompress; give the VM more --memory",
				  (unsigned long long)((load + init_size) >> 20) + 1);
	dst = gmem_ptr(g, load, pm_len);
	memcpy(dst, img + setup_len, pm_len);

	zp = gmem_ptr(g, GP_ZERO_PAGE, PAGE);
	memset(zp, 0, PAGE);
	memcpy(zp + LX_SETUP_SECTS, img + LX_SETUP_SECTS, hdr_end - LX_SETUP_SECTS);
	zp[LX_TYPE_OF_LOADER] = 0xff;
	zp[LX_LOADFLAGS] |= LX_CAN_USE_HEAP;
	cp_put_le16(zp + LX_HEAP_END_PTR, 0xfe00);
	cp_put_le16(zp + LX_VID_MODE, 0xffff);

	cmdline_max = cp_le32(img + LX_CMDLINE_SIZE) + 1ull;
	r = put_cmdline(g, in->cmdline, cmdline_max, err);
	if (r < 0)
		return r;
	cp_put_le32(zp + LX_CMD_LINE_PTR, (uint32_t)GP_CMDLINE);

	initrd_max = cp_le32(img + LX_INITRD_ADDR_MAX) + 1ull;
	r = place_initrd(g, in, initrd_max, load + init_size, &out->initrd_gpa, err);
	if (r < 0)
		return r;
	cp_put_le32(zp + LX_RAMDISK_IMAGE, (uint32_t)out->initrd_gpa);
	cp_put_le32(zp + LX_RAMDISK_SIZE, (uint32_t)(out->initrd_gpa ? in->initrd_len : 0));
	zero_page_e820(zp, map);

	out->kind = BOOT_LINUX_BZIMAGE;
	out->kernel_start = load;
	out->kernel_end = load + init_size;
	regs_long64(g, &out->regs, load + 0x200);
	return 0;
}

static int load_vmlinux(const struct gmem *g, const struct e820_map *map, const struct boot_input *in,
			const struct elf_info *e, struct boot_result *out, struct cp_err *err)
{
	uint8_t *zp;
	int r;

	if (!e->is64)
		return cp_err_set(err, ENOEXEC, "32-bit ELF without a PVH note: not a kernel carapace can boot");
	r = elf_load_segments(g, in->kernel, in->kernel_len, e, out, err);
	if (r < 0)
		return r;
	/* vmlinux's e_entry is physical (phys_startup_64). */
	if (e->entry < out->kernel_start || e->entry >= out->kernel_end)
		return cp_err_set(err, ENOEXEC, "ELF entry 0x%llx is outside the loaded image",
				  (unsigned long long)e->entry);
	zp = gmem_ptr(g, GP_ZERO_PAGE, PAGE);
	memset(zp, 0, PAGE);
	cp_put_le16(zp + LX_BOOT_FLAG, 0xaa55);
	memcpy(zp + LX_HEADER, "HdrS", 4);
	cp_put_le16(zp + LX_VERSION, 0x020f);
	zp[LX_TYPE_OF_LOADER] = 0xff;
	zp[LX_LOADFLAGS] = LX_LOADED_HIGH | LX_CAN_USE_HEAP;
	cp_put_le32(zp + LX_KERNEL_ALIGNMENT, 0x1000000);
	cp_put_le32(zp + LX_CMDLINE_SIZE, (uint32_t)GP_CMDLINE_MAX - 1);
	r = put_cmdline(g, in->cmdline, GP_CMDLINE_MAX, err);
	if (r < 0)
		return r;
	cp_put_le32(zp + LX_CMD_LINE_PTR, (uint32_t)GP_CMDLINE);
	r = place_initrd(g, in, GP_MMIO_HOLE, out->kernel_end, &out->initrd_gpa, err);
	if (r < 0)
		return r;
	cp_put_le32(zp + LX_RAMDISK_IMAGE, (uint32_t)out->initrd_gpa);
	cp_put_le32(zp + LX_RAMDISK_SIZE, (uint32_t)(out->initrd_gpa ? in->initrd_len : 0));
	zero_page_e820(zp, map);
	out->kind = BOOT_LINUX_ELF;
	regs_long64(g, &out->regs, e->entry);
	return 0;
}

int boot_load(const struct gmem *g, const struct e820_map *map, const struct boot_input *in,
	      struct boot_result *out, struct cp_err *err)
{
	const uint8_t *img = in->kernel;
	size_t len = in->kernel_len;
	uint8_t *ebda;
	int r;

	memset(out, 0, sizeof(*out));
	if (!gmem_ptr(g, 0, GP_HIGH_START))
		return cp_err_set(err, EINVAL, "guest RAM must cover the first MiB");
	write_gdt(g);
	/* BIOS data area: EBDA segment and base memory size, where MP-table scanners look. */
	cp_put_le16(gmem_ptr(g, 0x40e, 2), (uint16_t)(GP_EBDA >> 4));
	cp_put_le16(gmem_ptr(g, 0x413, 2), (uint16_t)(GP_EBDA >> 10));
	ebda = gmem_ptr(g, GP_EBDA, GP_EBDA_END - GP_EBDA);
	r = mptable_build(ebda, GP_EBDA_END - GP_EBDA, GP_EBDA, in->ncpus, err);
	if (r < 0)
		return r;

	if (len >= 4 && !memcmp(img, "\x7f" "ELF", 4)) {
		struct elf_info e;
		uint64_t entry;
		r = elf_parse(img, len, &e, err);
		if (r < 0)
			return r;
		r = elf_find_pvh_entry(img, len, &e, &entry, err);
		if (r < 0)
			return r;
		if (r > 0)
			return load_pvh(g, map, in, img, &e, entry, out, err);
		return load_vmlinux(g, map, in, &e, out, err);
	}
	if (len > LX_HEADER + 4 && cp_le16(img + LX_BOOT_FLAG) == 0xaa55 && !memcmp(img + LX_HEADER, "HdrS", 4))
		return load_bzimage(g, map, in, out, err);
	return cp_err_set(err, ENOEXEC,
			  "not a kernel carapace can boot: no ELF header and no Linux boot header (\"HdrS\" at 0x202)");
}

int boot_load_direct(const struct gmem *g, const struct boot_input *in, struct boot_result *out,
		     struct cp_err *err)
{
	struct db_input din = { .platform = DB_PLAIN, .kernel = in->kernel, .kernel_len = in->kernel_len,
				.initrd = in->initrd, .initrd_len = in->initrd_len, .cmdline = in->cmdline,
				.vcpus = in->ncpus, .mem_size = g->size, .tdx_stub = in->tdx_stub_test,
				.ndevs = in->ndevs };
	struct db_layout l;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_layout_build(&din, &l, err)) < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		const struct db_region *d = &l.r[i];
		uint8_t *dst;
		if (d->kind != DB_DATA || d->data == l.stub)
			continue; /* the stub page is not RAM: the VMM maps out->stub_page there */
		dst = gmem_ptr(g, d->gpa, d->len);
		if (!dst) {
			r = cp_err_set(err, E2BIG, "direct boot: %s [0x%llx, +0x%llx) is not guest RAM", d->what,
				       (unsigned long long)d->gpa, (unsigned long long)d->len);
			break;
		}
		memcpy(dst, d->data, d->len);
	}
	if (r == 0) {
		regs_common(&out->regs);
		out->regs.cs = (struct boot_seg){ .base = 0, .limit = 0xffffffff, .selector = l.entry.cs,
						  .type = 11, .s = 1, .present = 1, .l = 1, .g = 1 };
		out->regs.ds.selector = l.entry.ds;
		out->regs.gdt_base = l.entry.gdt_base;
		out->regs.gdt_limit = l.entry.gdt_limit;
		out->regs.cr0 = l.entry.cr0;
		out->regs.cr3 = l.entry.cr3;
		out->regs.cr4 = l.entry.cr4;
		out->regs.efer = l.entry.efer;
		out->regs.rip = l.entry.rip;
		out->regs.rsi = l.entry.rsi;
		if (in->tdx_stub_test) {
			/* A TD vCPU's initial state: 32-bit protected mode, flat segments, paging off,
			 * EIP at the reset vector; the stub does the rest (the VMM sets RSI per vCPU). */
			regs_prot32(&out->regs, 0xfffffff0ull, 0);
			out->all_vcpus_start = true;
			memcpy(out->stub_page, l.stub, sizeof(out->stub_page));
		}
		out->kind = BOOT_LINUX_BZIMAGE;
		out->kernel_start = l.kernel_gpa;
		out->kernel_end = l.kernel_end;
		out->initrd_gpa = l.initrd_gpa;
	}
	db_layout_free(&l);
	return r;
}

/* Boot loaders (pure): PVH start_info, Linux boot_params/e820/page tables/GDT/registers, and
 * hostile images. argv[1] = the test guest ELF; $CARAPACE_TEST_BZIMAGE = Debian's real bzImage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "runner/boot.h"
#include "runner/e820.h"
#include "runner/layout.h"

static const char *guest_path;
#define RAM (64ull << 20)

struct fixture {
	struct gmem g;
	struct e820_map map;
	uint8_t *img;
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cp_err err = { 0 };
	f->g.base = calloc(1, RAM);
	f->g.size = RAM;
	e820_build(RAM, &f->map);
	assert_int_equal(cp_file_read(guest_path, 1 << 24, &f->img, &f->len, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->g.base);
	free(f->img);
	free(f);
	return 0;
}

static int load(struct fixture *f, const uint8_t *img, size_t len, const char *cmdline, struct boot_result *r,
		struct cp_err *err)
{
	struct boot_input in = { img, len, NULL, 0, cmdline, 2 };
	return boot_load(&f->g, &f->map, &in, r, err);
}

/* Find the PVH note's entry independently of the loader: scan the file for the note header. */
static uint32_t note_entry(const uint8_t *img, size_t len)
{
	static const uint8_t hdr[] = { 4, 0, 0, 0, 4, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };
	for (size_t i = 0; i + sizeof(hdr) + 4 <= len; i++)
		if (!memcmp(img + i, hdr, sizeof(hdr)))
			return cp_le32(img + i + sizeof(hdr));
	return 0;
}

static void test_pvh_start_info(void **state)
{
	struct fixture *f = *state;
	struct boot_result r;
	struct cp_err err = { 0 };
	uint8_t *si = f->g.base + GP_PVH_START_INFO;

	assert_int_equal(load(f, f->img, f->len, "hello world", &r, &err), 0);
	assert_int_equal(r.kind, BOOT_PVH);
	assert_int_equal(cp_le32(si), 0x336ec578);
	assert_int_equal(cp_le32(si + 4), 1);
	assert_int_equal(cp_le32(si + 12), 0); /* no modules */
	assert_string_equal((char *)f->g.base + cp_le64(si + 24), "hello world");
	assert_int_equal(cp_le32(si + 48), f->map.n);
	for (size_t i = 0; i < f->map.n; i++) {
		const uint8_t *m = f->g.base + cp_le64(si + 40) + 24 * i;
		assert_true(cp_le64(m) == f->map.e[i].addr);
		assert_true(cp_le64(m + 8) == f->map.e[i].size);
		assert_int_equal(cp_le32(m + 16), f->map.e[i].type);
	}
	/* PVH ABI: 32-bit protected mode, flat CS, EBX = start_info, entry from the note. */
	assert_true(r.regs.rip == note_entry(f->img, f->len));
	assert_true(r.regs.rip != 0);
	assert_true(r.regs.rbx == GP_PVH_START_INFO);
	assert_true((r.regs.cr0 & 1) && !(r.regs.cr0 & 0x80000000u));
	assert_int_equal(r.regs.cs.db, 1);
	assert_int_equal(r.regs.cs.l, 0);
	assert_true(r.regs.cs.limit == 0xffffffff);
	assert_int_equal(r.regs.rflags & (1 << 9), 0); /* IF clear */
	/* The MP floating pointer is in the EBDA with a valid checksum. */
	uint8_t *mpf = f->g.base + GP_EBDA, sum = 0;
	assert_memory_equal(mpf, "_MP_", 4);
	for (int i = 0; i < 16; i++)
		sum = (uint8_t)(sum + mpf[i]);
	assert_int_equal(sum, 0);
}

static void test_pvh_initrd(void **state)
{
	struct fixture *f = *state;
	struct boot_result r;
	struct cp_err err = { 0 };
	uint8_t rd[10000];
	struct boot_input in = { f->img, f->len, rd, sizeof(rd), "", 1 };
	uint8_t *si = f->g.base + GP_PVH_START_INFO, *ml;

	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i * 7);
	assert_int_equal(boot_load(&f->g, &f->map, &in, &r, &err), 0);
	assert_int_equal(cp_le32(si + 12), 1);
	ml = f->g.base + cp_le64(si + 16);
	assert_true(cp_le64(ml + 8) == sizeof(rd));
	assert_int_equal(cp_le64(ml) % 4096, 0);
	assert_true(cp_le64(ml) >= r.kernel_end);
	assert_memory_equal(f->g.base + cp_le64(ml), rd, sizeof(rd));
}

static void expect_fail(struct fixture *f, const uint8_t *img, size_t len, int code, const char *needle)
{
	struct boot_result r;
	struct cp_err err = { 0 };
	assert_int_equal(load(f, img, len, "", &r, &err), -code);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' does not mention '%s'", err.msg, needle);
}

static void test_hostile_elf(void **state)
{
	struct fixture *f = *state;
	uint8_t *m = malloc(f->len);
	uint32_t phoff = cp_le32(f->img + 28);

	expect_fail(f, f->img, 40, ENOEXEC, "truncated");
	memcpy(m, f->img, f->len); m[18] = 40;                     /* machine ARM */
	expect_fail(f, m, f->len, ENOEXEC, "not x86");
	memcpy(m, f->img, f->len); cp_put_le32(m + 28, (uint32_t)f->len); /* phdrs past EOF */
	expect_fail(f, m, f->len, ENOEXEC, "past the end");
	memcpy(m, f->img, f->len); cp_put_le16(m + 44, 0);        /* no phdrs */
	expect_fail(f, m, f->len, ENOEXEC, "program headers");
	/* First PT_LOAD: file size larger than the file. */
	memcpy(m, f->img, f->len); cp_put_le32(m + phoff + 16, 0x7fffffff); cp_put_le32(m + phoff + 20, 0x7fffffff);
	expect_fail(f, m, f->len, ENOEXEC, "past the end");
	/* First PT_LOAD moved below 1 MiB. */
	memcpy(m, f->img, f->len); cp_put_le32(m + phoff + 12, 0x1000);
	expect_fail(f, m, f->len, ENOEXEC, "below 1 MiB");
	/* First PT_LOAD bigger than RAM. */
	memcpy(m, f->img, f->len); cp_put_le32(m + phoff + 20, 0x7fffffff);
	expect_fail(f, m, f->len, E2BIG, "does not fit");
	/* memsz < filesz */
	memcpy(m, f->img, f->len); cp_put_le32(m + phoff + 20, 0);
	cp_put_le32(m + phoff + 16, 16);
	expect_fail(f, m, f->len, ENOEXEC, "file size exceeds");
	free(m);
}

static void test_hostile_pvh_note(void **state)
{
	struct fixture *f = *state;
	uint8_t *m = malloc(f->len);
	static const uint8_t hdr[] = { 4, 0, 0, 0, 4, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };
	size_t at = 0;

	for (size_t i = 0; i + sizeof(hdr) <= f->len; i++)
		if (!memcmp(f->img + i, hdr, sizeof(hdr)))
			at = i;
	assert_true(at > 0);
	memcpy(m, f->img, f->len); cp_put_le32(m + at + 16, 0x50); /* entry outside the image */
	expect_fail(f, m, f->len, ENOEXEC, "outside the loaded image");
	memcpy(m, f->img, f->len); cp_put_le32(m + at + 4, 0x7ffffff0); /* descsz runs off */
	expect_fail(f, m, f->len, ENOEXEC, "truncated");
	memcpy(m, f->img, f->len); cp_put_le32(m + at + 4, 2); /* odd descsz */
	expect_fail(f, m, f->len, ENOEXEC, "size 2");
	free(m);
}

static void test_not_a_kernel(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	expect_fail(f, junk, sizeof(junk), ENOEXEC, "not a kernel");
	expect_fail(f, junk, 3, ENOEXEC, "not a kernel");
}

static void test_cmdline_too_long(void **state)
{
	struct fixture *f = *state;
	struct boot_result r;
	struct cp_err err = { 0 };
	char *c = malloc(GP_CMDLINE_MAX + 10);
	memset(c, 'a', GP_CMDLINE_MAX + 9);
	c[GP_CMDLINE_MAX + 9] = 0;
	assert_int_equal(load(f, f->img, f->len, c, &r, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "command line"));
	free(c);
}

/* ---- Linux bzImage (Debian's real cloud kernel) ---- */

static uint8_t *bz;
static size_t bz_len;

/* Walk the guest's 4-level page tables from CR3 the way the MMU would (2 MiB pages). */
static int translate(const struct gmem *g, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	uint64_t pml4e = cp_le64(g->base + (cr3 & ~0xfffull) + 8 * ((va >> 39) & 511));
	if (!(pml4e & 1))
		return -1;
	uint64_t pdpte = cp_le64(g->base + (pml4e & 0xffffffffff000ull) + 8 * ((va >> 30) & 511));
	if (!(pdpte & 1))
		return -1;
	uint64_t pde = cp_le64(g->base + (pdpte & 0xffffffffff000ull) + 8 * ((va >> 21) & 511));
	if (!(pde & 1) || !(pde & 0x80))
		return -1;
	*pa = (pde & 0xfffffffe00000ull) | (va & 0x1fffff);
	return 0;
}

static void test_bzimage(void **state)
{
	struct fixture *f = *state;
	struct boot_result r;
	struct cp_err err = { 0 };
	uint8_t rd[5000];
	struct boot_input in = { bz, bz_len, rd, sizeof(rd), "console=ttyS0 quiet", 1 };
	uint8_t *zp = f->g.base + GP_ZERO_PAGE;
	uint64_t pa;

	if (!bz)
		skip();
	memset(rd, 0xa5, sizeof(rd));
	assert_int_equal(boot_load(&f->g, &f->map, &in, &r, &err), 0);
	assert_int_equal(r.kind, BOOT_LINUX_BZIMAGE);
	/* boot_params per Documentation/arch/x86/boot.rst and zero-page.rst. */
	assert_int_equal(cp_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp + 0x210 == NULL ? 0 : zp[0x210], 0xff);           /* type_of_loader */
	assert_true(zp[0x211] & 0x01);                                       /* LOADED_HIGH */
	assert_string_equal((char *)f->g.base + cp_le32(zp + 0x228), "console=ttyS0 quiet");
	assert_int_equal(cp_le32(zp + 0x21c), sizeof(rd));
	assert_memory_equal(f->g.base + cp_le32(zp + 0x218), rd, sizeof(rd));
	assert_true(cp_le32(zp + 0x218) + sizeof(rd) - 1 <= cp_le32(bz + 0x22c)); /* initrd_addr_max */
	assert_int_equal(zp[0x1e8], f->map.n);
	for (size_t i = 0; i < f->map.n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		assert_true(cp_le64(e) == f->map.e[i].addr && cp_le64(e + 8) == f->map.e[i].size);
		assert_int_equal(cp_le32(e + 16), f->map.e[i].type);
	}
	/* The setup header fields the kernel reads were copied verbatim from the image. */
	assert_memory_equal(zp + 0x1f1, bz + 0x1f1, 0x210 - 0x1f1);
	/* Protected-mode kernel at 1 MiB, byte for byte. */
	size_t setup = ((size_t)(bz[0x1f1] ? bz[0x1f1] : 4) + 1) * 512;
	assert_memory_equal(f->g.base + 0x100000, bz + setup, bz_len - setup);
	/* 64-bit entry: startup_64 = load address + 0x200; RSI = boot_params. */
	assert_true(r.regs.rip == 0x100200);
	assert_true(r.regs.rsi == GP_ZERO_PAGE);
	assert_true((r.regs.cr0 & 0x80000001u) == 0x80000001u); /* PG, PE */
	assert_true(r.regs.cr4 & 0x20);                          /* PAE */
	assert_true((r.regs.efer & 0x500) == 0x500);             /* LME, LMA */
	/* __BOOT_CS = 0x10 is a 64-bit code segment in the GDT in guest memory, __BOOT_DS = 0x18. */
	assert_int_equal(r.regs.cs.selector, 0x10);
	assert_int_equal(r.regs.ds.selector, 0x18);
	uint64_t cs_desc = cp_le64(f->g.base + r.regs.gdt_base + 0x10);
	assert_true(cs_desc & (1ull << 53));           /* L */
	assert_true(cs_desc & (1ull << 47));           /* P */
	assert_int_equal((cs_desc >> 43) & 1, 1);      /* code */
	uint64_t ds_desc = cp_le64(f->g.base + r.regs.gdt_base + 0x18);
	assert_true((ds_desc & (1ull << 47)) && !((ds_desc >> 43) & 1));
	/* Identity mapping covers the entry, boot_params, command line and initrd. */
	assert_int_equal(translate(&f->g, r.regs.cr3, r.regs.rip, &pa), 0);
	assert_true(pa == r.regs.rip);
	assert_int_equal(translate(&f->g, r.regs.cr3, GP_ZERO_PAGE, &pa), 0);
	assert_true(pa == GP_ZERO_PAGE);
	assert_int_equal(translate(&f->g, r.regs.cr3, cp_le32(zp + 0x218), &pa), 0);
	assert_true(pa == cp_le32(zp + 0x218));
	assert_int_equal(translate(&f->g, r.regs.cr3, 0xfffff000ull, &pa), 0);
}

static void test_bzimage_hostile(void **state)
{
	struct fixture *f = *state;
	uint8_t *m;

	if (!bz)
		skip();
	m = malloc(bz_len);
	memcpy(m, bz, bz_len); cp_put_le16(m + 0x206, 0x0208);
	expect_fail(f, m, bz_len, ENOEXEC, "too old");
	memcpy(m, bz, bz_len); m[0x236] &= (uint8_t)~1;
	expect_fail(f, m, bz_len, ENOEXEC, "64-bit entry");
	memcpy(m, bz, bz_len); m[0x211] &= (uint8_t)~1;
	expect_fail(f, m, bz_len, ENOEXEC, "zImage");
	memcpy(m, bz, bz_len); m[0x1f1] = 0xff; /* setup covers the file? 256 sectors = 128 KiB */
	expect_fail(f, m, 0x10000, ENOEXEC, "covers the whole file");
	memcpy(m, bz, bz_len); cp_put_le32(m + 0x238, 10);
	{
		struct boot_result r;
		struct cp_err err = { 0 };
		assert_int_equal(load(f, m, bz_len, "a command line longer than ten", &r, &err), -E2BIG);
	}
	free(m);
}

/* A synthetic setup header (no real kernel needed): boot flag, "HdrS", protocol 2.15, 64-bit
 * entry, loaded high, header ending at 0x26c as Debian's kernel's does. */
static void fake_bzimage_header(uint8_t *m)
{
	m[0x1f1] = 4;
	cp_put_le16(m + 0x1fe, 0xaa55);
	m[0x200] = 0xeb;
	m[0x201] = 0x6a;
	memcpy(m + 0x202, "HdrS", 4);
	cp_put_le16(m + 0x206, 0x020f);
	m[0x211] = 0x01;
	m[0x236] = 0x01;
}

/* The header is read only after the file is known to hold it (found by fuzz-boot: the
 * loader read version, loadflags and xloadflags past the end of a short file). Each image is a
 * heap block of exactly its length, so the sanitizer build catches any read past it. */
static void test_bzimage_truncated_header(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[] = { 0x207, 0x208, 0x212, 0x237, 0x260, 0x263 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t full[0x264] = { 0 }, *m = malloc(lens[i]);
		fake_bzimage_header(full);
		memcpy(m, full, lens[i]);
		expect_fail(f, m, lens[i], ENOEXEC, "truncated");
		free(m);
	}
}

/* Fields past the end of the header the image declares are not header fields. */
static void test_bzimage_short_header(void **state)
{
	struct fixture *f = *state;
	uint8_t *m = calloc(1, 0x2000);

	fake_bzimage_header(m);
	m[0x201] = 0x30; /* header ends at 0x232: xloadflags (0x236) and init_size are not in it */
	expect_fail(f, m, 0x2000, ENOEXEC, "setup header ends at 0x232");
	m[0x201] = 0x62; /* ends at 0x264: the last field carapace reads is inside */
	expect_fail(f, m, 0x400, ENOEXEC, "covers the whole file");
	free(m);
}

static void test_bzimage_small_ram(void **state)
{
	struct boot_result r;
	struct cp_err err = { 0 };
	struct gmem g = { calloc(1, 16 << 20), 16 << 20 };
	struct e820_map map;
	struct boot_input in = { bz, bz_len, NULL, 0, "", 1 };

	if (!bz) {
		free(g.base);
		skip();
	}
	e820_build(g.size, &map);
	assert_int_equal(boot_load(&g, &map, &in, &r, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "more --memory"));
	free(g.base);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pvh_start_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_initrd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_pvh_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_hostile, setup, teardown),
		cmocka_unit_test(test_bzimage_small_ram),
		cmocka_unit_test_setup_teardown(test_bzimage_truncated_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_short_header, setup, teardown),
	};
	const char *bzp = getenv("CARAPACE_TEST_BZIMAGE");
	struct cp_err err = { 0 };
	int r;

	if (argc < 2)
		return 2;
	guest_path = argv[1];
	if (bzp && *bzp && cp_file_read(bzp, 64 << 20, &bz, &bz_len, &err) < 0)
		bz = NULL;
	if (!bz)
		printf("# SKIP bzImage tests: set CARAPACE_TEST_BZIMAGE to Debian's vmlinuz (scripts/setup.sh deps fetches it)\n");
	else
		printf("# bzImage under test: %s (%zu bytes)\n", bzp, bz_len);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(bz);
	return r;
}

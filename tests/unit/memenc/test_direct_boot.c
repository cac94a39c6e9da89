/* The firmware-less direct-boot layout: boot_params (e820, command line, initrd, RSDP),
 * the setup_data SETUP_CC_BLOB chain to cc_blob_sev_info, GDT, identity page tables with the
 * C-bit, entry state, ACPI checksums; every RAM page in the SNP plan exactly once; the bad
 * inputs the issue names. A synthetic bzImage carries just the setup header fields read. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "memenc/direct_boot.h"
#include "memenc/plan.h"

#define KLEN (64 * 1024 + 512 * 5)

static uint8_t kimg[KLEN];

/* A bzImage header: 4 setup sectors, protocol `ver`, 64-bit entry, init_size 8 MiB, pref 16 MiB. */
static void make_bzimage(uint16_t ver, uint8_t xlf)
{
	memset(kimg, 0, sizeof(kimg));
	kimg[0x1f1] = 4;
	cp_put_le16(kimg + 0x1fe, 0xaa55);
	kimg[0x200] = 0xeb;
	kimg[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(kimg + 0x202, "HdrS", 4);
	cp_put_le16(kimg + 0x206, ver);
	kimg[0x211] = 0x01; /* LOADED_HIGH */
	cp_put_le32(kimg + 0x22c, 0x7fffffff);
	cp_put_le32(kimg + 0x230, 0x200000);
	kimg[0x236] = xlf;
	cp_put_le32(kimg + 0x238, 2047);
	cp_put_le64(kimg + 0x258, 0x1000000);
	cp_put_le32(kimg + 0x260, 8u << 20);
	for (size_t i = 5 * 512; i < KLEN; i++)
		kimg[i] = (uint8_t)(i * 7);
}

static struct db_input input(enum db_platform p, uint64_t mem)
{
	make_bzimage(0x020f, 0x03);
	return (struct db_input){ .platform = p, .kernel = kimg, .kernel_len = KLEN, .cmdline = "console=ttyS0 quiet",
				  .vcpus = 4, .mem_size = mem };
}

static const uint8_t *at(const struct db_layout *l, uint64_t gpa) { return l->low + gpa; }

static void test_snp_layout(void **state)
{
	static uint8_t initrd[10000];
	struct db_input in = input(DB_SNP, 4ull << 30);
	struct db_layout l;
	struct cp_err err = { 0 };
	(void)state;

	memset(initrd, 0x5a, sizeof(initrd));
	in.initrd = initrd;
	in.initrd_len = sizeof(initrd);
	assert_int_equal(db_layout_build(&in, &l, &err), 0);

	const uint8_t *zp = at(&l, DB_ZERO_PAGE);
	/* setup header copied, loader fields set */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(cp_le32(zp + 0x228), DB_CMDLINE);
	assert_string_equal((const char *)at(&l, DB_CMDLINE), "console=ttyS0 quiet");
	assert_true(cp_le32(zp + 0x218) == l.initrd_gpa);
	assert_int_equal(cp_le32(zp + 0x21c), sizeof(initrd));
	assert_true(l.initrd_gpa >= l.kernel_end && l.initrd_gpa + sizeof(initrd) <= 0xc0000000ull);
	assert_true(cp_le64(zp + 0x070) == DB_ACPI);
	/* e820: 4 GiB of RAM = 3 GiB low (minus the holes) + 1 GiB above 4 GiB */
	unsigned n = zp[0x1e8];
	uint64_t ram = 0;
	assert_true(n == l.ne820 && n >= 6);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		if (cp_le32(e + 16) == 1)
			ram += cp_le64(e + 8);
		if (cp_le64(e) == 0x100000000ull)
			assert_true(cp_le64(e + 8) == 1ull << 30 && cp_le32(e + 16) == 1);
		if (cp_le64(e) == DB_ACPI)
			assert_int_equal(cp_le32(e + 16), 3);
		if (cp_le64(e) == DB_GDT)
			assert_int_equal(cp_le32(e + 16), 2); /* boot data, secrets, CPUID page: reserved */
	}
	assert_true(ram == (4ull << 30) - DB_GDT - (DB_BOOT_END - DB_GDT) - (DB_HIGH - DB_LOW_RAM_END) + DB_GDT);

	/* setup_data chain: one SETUP_CC_BLOB node -> cc_blob_sev_info */
	uint64_t sd = cp_le64(zp + 0x250);
	assert_true(sd == DB_SETUP_DATA);
	assert_true(cp_le64(at(&l, sd)) == 0);          /* next */
	assert_int_equal(cp_le32(at(&l, sd) + 8), 7);   /* SETUP_CC_BLOB */
	assert_int_equal(cp_le32(at(&l, sd) + 12), 4);
	uint32_t blob = cp_le32(at(&l, sd) + 16);
	assert_memory_equal(at(&l, blob), "AMDE", 4);
	assert_true(cp_le64(at(&l, blob) + 8) == DB_SECRETS);
	assert_int_equal(cp_le32(at(&l, blob) + 16), 4096);
	assert_true(cp_le64(at(&l, blob) + 24) == DB_CPUID);
	assert_int_equal(cp_le32(at(&l, blob) + 32), 4096);
	assert_int_equal(cp_le32(zp + 0x13c), blob);

	/* GDT: __BOOT_CS 0x10 64-bit code, __BOOT_DS 0x18 flat data */
	assert_true(cp_le64(at(&l, DB_GDT) + 0x10) == 0x00af9b000000ffffull);
	assert_true(cp_le64(at(&l, DB_GDT) + 0x18) == 0x00cf93000000ffffull);

	/* Page tables: identity, 2 MiB pages, C-bit 51 on every level */
	uint64_t c = 1ull << 51, pml4 = cp_le64(at(&l, DB_PML4));
	assert_true(pml4 & c);
	uint64_t pdpt = pml4 & ~c & ~0xfffull;
	for (uint64_t va = 0; va < (4ull << 30); va += 0x12345000ull) {
		uint64_t pdpte = cp_le64(at(&l, pdpt) + 8 * (va >> 30));
		assert_true(pdpte & c);
		uint64_t pde = cp_le64(at(&l, (pdpte & ~c & ~0xfffull)) + 8 * ((va >> 21) & 511));
		assert_true((pde & c) && (pde & 0x81) == 0x81);
		assert_true((pde & ~c & ~0xfffull) == (va & ~0x1fffffull));
	}

	/* Entry: 64-bit boot protocol at pref_address + 0x200, RSI = boot_params */
	assert_true(l.kernel_gpa == 0x1000000);
	assert_true(l.entry.rip == 0x1000200 && l.entry.rsi == DB_ZERO_PAGE);
	assert_true(l.entry.cr3 == (DB_PML4 | c) && l.entry.cs == 0x10 && l.entry.ds == 0x18);
	assert_true(l.entry.efer == 0x500 && (l.entry.cr0 & 0x80000001) == 0x80000001 && (l.entry.cr4 & 0x20));
	assert_memory_equal(l.kernel, kimg + 5 * 512, KLEN - 5 * 512);

	/* ACPI: RSDP found through boot_params, checksums right, MADT lists 4 CPUs */
	const uint8_t *rsdp = at(&l, cp_le64(zp + 0x070));
	uint8_t s = 0;
	for (int i = 0; i < 36; i++)
		s = (uint8_t)(s + rsdp[i]);
	assert_int_equal(s, 0);
	db_layout_free(&l);
}

static void test_plain_and_tdx(void **state)
{
	struct db_input in = input(DB_PLAIN, 256ull << 20);
	struct db_layout l;
	struct cp_err err = { 0 };
	(void)state;

	assert_int_equal(db_layout_build(&in, &l, &err), 0);
	assert_true(cp_le64(at(&l, DB_PML4)) == (DB_PML4 + 4096) + 3); /* no C-bit */
	assert_true(cp_le64(at(&l, DB_ZERO_PAGE) + 0x250) == 0);      /* no setup_data */
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.r[i].kind == DB_DATA || l.r[i].kind == DB_ZERO);
	/* Copying into a flat guest RAM image puts boot_params and the kernel where the entry expects. */
	uint8_t *mem = calloc(1, 256u << 20);
	assert_non_null(mem);
	assert_int_equal(db_layout_copy(&l, mem, 256u << 20, &err), 0);
	assert_memory_equal(mem + DB_ZERO_PAGE + 0x202, "HdrS", 4);
	assert_memory_equal(mem + l.entry.rip - 0x200, kimg + 5 * 512, 256);
	free(mem);
	db_layout_free(&l);

	in = input(DB_TDX, 256ull << 20);
	assert_int_equal(db_layout_build(&in, &l, &err), 0);
	bool mailbox = false;
	for (size_t i = 0; i < l.n; i++)
		if (l.r[i].gpa == DB_MAILBOX && l.r[i].kind == DB_DATA)
			mailbox = true;
	assert_true(mailbox);
	db_layout_free(&l);
}

static void test_bad_input(void **state)
{
	struct db_input in;
	struct db_layout l;
	struct cp_err err = { 0 };
	static uint8_t big_initrd[64u << 20];
	(void)state;

	in = input(DB_SNP, 1ull << 30);
	make_bzimage(0x020b, 0x03);
	assert_int_equal(db_layout_build(&in, &l, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "too old for the 64-bit entry"));

	in = input(DB_SNP, 1ull << 30);
	make_bzimage(0x020f, 0x00);
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "XLF_KERNEL_64"));

	in = input(DB_SNP, 2ull << 40);
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--memory"));

	in = input(DB_SNP, 16ull << 20);
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -EINVAL);

	/* 80 MiB of RAM: the kernel needs [16 MiB, 24 MiB); a 64 MiB initrd cannot sit above it. */
	in = input(DB_SNP, 80ull << 20);
	in.initrd = big_initrd;
	in.initrd_len = sizeof(big_initrd);
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "overlap the kernel"));

	/* More virtio-mmio devices than windows (and DSDT entries) exist. */
	in = input(DB_SNP, 256ull << 20);
	in.ndevs = ACPI_MAX_DEVICES + 1;
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "virtio-mmio devices"));

	in = input(DB_SNP, 1ull << 30);
	in.vcpus = ACPI_MAX_CPUS + 1;
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MADT"));

	in = input(DB_PLAIN, 1ull << 30);
	in.vcpus = 255;
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -EINVAL);

	in = input(DB_SNP, 1ull << 30);
	kimg[0x201] = 0x10; /* header would end before init_size */
	err = (struct cp_err){ 0 };
	assert_int_equal(db_layout_build(&in, &l, &err), -ENOEXEC);
	in = input(DB_SNP, 1ull << 30);
	in.kernel_len = 0x100;
	assert_int_equal(db_layout_build(&in, &l, &err), -ENOEXEC);
}

/* Every RAM page is in the SNP plan exactly once (validated before Linux runs); the digest
 * depends on the command line; one VMSA per vCPU. */
static void test_snp_plan(void **state)
{
	struct db_input in = input(DB_SNP, 512ull << 20);
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_SNP, .vcpus = 4, .guest_features = 1 };
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	uint8_t d1[48], d2[48];
	size_t len, vmsas = 0;
	uint64_t ram_pages = 0, e820_ram = 0;
	(void)state;

	assert_int_equal(memenc_plan_build_direct(&plan, &in, &o, &err), 0);
	for (size_t i = 0; i < plan.n; i++) {
		const struct memenc_plan_op *op = &plan.ops[i];
		if (op->type == MEMENC_OP_SNP_VMSA) {
			vmsas++;
			continue;
		}
		for (size_t k = 0; k < plan.direct->ne820; k++) {
			const struct db_e820 *e = &plan.direct->e820[k];
			if (e->type == 1 && op->gpa >= e->addr && op->gpa + op->len <= e->addr + e->size)
				ram_pages += op->len / 4096;
		}
		for (size_t j = 0; j < i; j++) /* no two ops overlap */
			assert_true(plan.ops[j].type == MEMENC_OP_SNP_VMSA || plan.ops[j].gpa + plan.ops[j].len <= op->gpa ||
				    op->gpa + op->len <= plan.ops[j].gpa);
	}
	for (size_t k = 0; k < plan.direct->ne820; k++)
		if (plan.direct->e820[k].type == 1)
			e820_ram += plan.direct->e820[k].size / 4096;
	assert_true(ram_pages == e820_ram);
	assert_int_equal(vmsas, 4);
	assert_int_equal(memenc_plan_measure(&plan, d1, &len, NULL, NULL, &err), 0);
	assert_int_equal(len, 48);
	memenc_plan_free(&plan);

	in.cmdline = "console=ttyS0 quieT";
	assert_int_equal(memenc_plan_build_direct(&plan, &in, &o, &err), 0);
	assert_int_equal(memenc_plan_measure(&plan, d2, &len, NULL, NULL, &err), 0);
	assert_memory_not_equal(d1, d2, 48);
	memenc_plan_free(&plan);

}

/* TDX: data pages (stub included) are PAGE.ADD + MR.EXTEND, RAM is not in the plan; the stub's
 * parameter block points at the kernel entry, boot_params, mailbox and page tables, and its
 * accept ranges are exactly the RAM not added. */
static void test_tdx_plan(void **state)
{
	struct db_input in = input(DB_TDX, 5ull << 30);
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_TDX, .vcpus = 4 };
	struct memenc_plan plan;
	struct cp_err err = { 0 };
	const struct memenc_plan_op *stub = NULL;
	uint8_t mrtd[48];
	size_t len;
	uint64_t added = 0, accepted = 0, ram = 0;
	(void)state;

	assert_int_equal(memenc_plan_build_direct(&plan, &in, &o, &err), 0);
	for (size_t i = 0; i < plan.n; i++) {
		assert_int_equal(plan.ops[i].type, MEMENC_OP_TDX_ADD_EXTEND);
		if (plan.ops[i].gpa == DB_STUB)
			stub = &plan.ops[i];
	}
	assert_non_null(stub);
	assert_int_equal(stub->len, 4096);
	const uint8_t *p = stub->data + DB_STUB_PARAMS;
	assert_memory_equal(p, "CPTDXSTB", 8);
	assert_true(cp_le64(p + 0x08) == plan.direct->kernel_gpa + 0x200);
	assert_true(cp_le64(p + 0x10) == DB_ZERO_PAGE);
	assert_true(cp_le64(p + 0x18) == DB_MAILBOX);
	assert_true(cp_le64(p + 0x20) == DB_PML4); /* no C-bit on TDX */
	assert_true(stub->data[0xff0] == 0xe9);      /* reset vector: jmp */
	uint64_t n = cp_le64(p + 0x28);
	assert_true(n >= 1 && n <= DB_STUB_RANGES);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t a = cp_le64(p + 0x30 + 16 * i), b = cp_le64(p + 0x38 + 16 * i);
		assert_true(a < b && !(a & 0xfff) && !(b & 0xfff));
		accepted += b - a;
		for (size_t k = 0; k < plan.n; k++) /* never accept an added page */
			assert_true(plan.ops[k].gpa + plan.ops[k].len <= a || plan.ops[k].gpa >= b);
	}
	for (size_t k = 0; k < plan.n; k++)
		if (plan.ops[k].gpa < DB_STUB && plan.ops[k].gpa >= DB_HIGH)
			added += plan.ops[k].len; /* kernel: in RAM */
	for (size_t k = 0; k < plan.direct->ne820; k++)
		if (plan.direct->e820[k].type == 1)
			ram += plan.direct->e820[k].size;
	assert_true(accepted + added == ram);
	assert_int_equal(memenc_plan_measure(&plan, mrtd, &len, NULL, NULL, &err), 0);
	assert_int_equal(len, 48);
	memenc_plan_free(&plan);
}

/* --snp-validate stub: the stub page at DB_SNP_STUB with its parameter block (kernel entry,
 * boot_params, the RAM ranges), the BSP entering it, RAM out of the plan, and page tables that
 * map all RAM for PVALIDATE: 1 GiB pages above 4 GiB, the second PDPT beyond 512 GiB. */
static void test_snp_validate_stub_layout(void **state)
{
	struct db_input in = input(DB_SNP, 600ull << 30);
	struct db_layout l;
	struct memenc_plan plan;
	struct memenc_launch_opts o = { .platform = MEMENC_PLATFORM_SNP, .vcpus = 4, .guest_features = 1 };
	struct cp_err err = { 0 };
	const uint8_t *pdpt = NULL, *p = NULL;
	uint64_t ram = 0, top = DB_4G + (600ull << 30) - DB_MMIO_HOLE;
	(void)state;

	in.snp_validate = DB_VALIDATE_STUB;
	assert_int_equal(db_layout_build(&in, &l, &err), 0);
	assert_false(l.ram_in_launch);
	assert_int_equal(l.entry.rip, DB_SNP_STUB);
	for (size_t i = 0; i < l.n; i++) {
		if (l.r[i].gpa == DB_SNP_STUB)
			p = l.r[i].data + DB_STUB_PARAMS;
		if (l.r[i].gpa == DB_PML4)
			assert_int_equal(l.r[i].len, 7 * 4096); /* PML4, PDPT, 4 PDs, the high PDPT */
		if (l.r[i].kind == DB_ZERO)
			ram += l.r[i].len;
	}
	assert_non_null(p);
	assert_memory_equal(p, "CPSNPSTB", 8);
	assert_int_equal(cp_le64(p + 8), l.kernel_gpa + 0x200);
	assert_int_equal(cp_le64(p + 16), DB_ZERO_PAGE);
	/* [0, GDT), [boot end, 640K), 1 MiB..kernel, kernel end..3 GiB, 4 GiB..top */
	assert_int_equal(cp_le64(p + 0x28), 5);
	pdpt = at(&l, DB_PML4 + 4096);
	assert_int_equal(cp_le64(pdpt + 8 * 4), DB_4G | 1ull << 51 | 0x83);
	assert_int_equal(cp_le64(pdpt + 8 * 511), 511ull << 30 | 1ull << 51 | 0x83);
	assert_int_equal(cp_le64(at(&l, DB_PML4) + 8), DB_PDPT_HI | 1ull << 51 | 0x3);
	assert_int_equal(cp_le64(at(&l, DB_PDPT_HI)), 512ull << 30 | 1ull << 51 | 0x83);
	assert_int_equal(cp_le64(at(&l, DB_PDPT_HI) + 8 * ((top - 1) >> 30) - 8 * 512), ((top - 1) >> 30) << 30 | 1ull << 51 | 0x83);
	assert_int_equal(cp_le64(at(&l, DB_PDPT_HI) + 8 * (top >> 30) - 8 * 512), 0);
	db_layout_free(&l);

	/* The plan: no ZERO op at all (the ZERO plan of the same VM validates `ram` bytes). */
	in = input(DB_SNP, 1ull << 30);
	in.snp_validate = DB_VALIDATE_STUB;
	assert_int_equal(memenc_plan_build_direct(&plan, &in, &o, &err), 0);
	for (size_t i = 0; i < plan.n; i++)
		assert_int_not_equal(plan.ops[i].type, MEMENC_OP_SNP_ZERO);
	memenc_plan_free(&plan);

	/* Only for SNP. */
	in = input(DB_TDX, 1ull << 30);
	in.snp_validate = DB_VALIDATE_STUB;
	assert_int_equal(db_layout_build(&in, &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "SEV-SNP"));
	assert_true(ram > (590ull << 30));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_layout), cmocka_unit_test(test_plain_and_tdx),
		cmocka_unit_test(test_snp_validate_stub_layout),
		cmocka_unit_test(test_bad_input), cmocka_unit_test(test_snp_plan), cmocka_unit_test(test_tdx_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

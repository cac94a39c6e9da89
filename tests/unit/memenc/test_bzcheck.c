/* The bzImage test guest's checker (tests/guest/bz/bzcheck.c, built here for the host) run on a
 * host copy of the guest memory the direct-boot layout produces for the real guest image: the
 * same reading the guest does at its 64-bit entry, without KVM. Also proves the layout puts the
 * guest's startup_64 at the entry RIP, and that the checker fails on broken tables. */
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
#include "memenc/direct_boot.h"
#include "tests/guest/bz/bzcheck.h"

#define MEM (256ull << 20)

static const char *image_path;
static uint8_t *img;
static size_t img_len;

static void print(const char *s) { fputs(s, stdout); }

static uint8_t *boot(enum db_platform p, bool stub, unsigned ndevs, struct db_layout *l)
{
	struct db_input in = { .platform = p, .kernel = img, .kernel_len = img_len, .cmdline = "bz",
			       .vcpus = 4, .mem_size = MEM, .tdx_stub = stub, .ndevs = ndevs };
	struct cp_err err = { 0 };
	uint8_t *mem = calloc(1, MEM);

	assert_non_null(mem);
	if (db_layout_build(&in, l, &err) < 0)
		fail_msg("db_layout_build: %s", err.msg);
	assert_int_equal(db_layout_copy(l, mem, MEM, &err), 0);
	return mem;
}

static void test_plain(void **state)
{
	struct db_layout l;
	struct bz_report r;
	uint8_t *mem = boot(DB_PLAIN, false, 2, &l);
	struct bz_mem m = { (uintptr_t)mem, MEM, print };
	(void)state;

	assert_int_equal(mem[l.entry.rip], 0xfa); /* startup_64 begins with cli */
	assert_int_equal(bz_check(&m, l.entry.rsi, &r), 0);
	assert_int_equal(r.cpus, 4);
	assert_int_equal(r.ioapics, 1);
	assert_int_equal(r.setup_data_nodes, 0);
	assert_int_equal(r.mp_wakeup, 0);
	assert_int_equal(r.hw_reduced, 1);
	assert_int_equal(r.virtio_devices, 2);
	assert_true(r.e820_entries == l.ne820);
	free(mem);
	db_layout_free(&l);
}

static void test_snp_and_tdx_stub(void **state)
{
	struct db_layout l;
	struct bz_report r;
	uint8_t *mem = boot(DB_SNP, false, 0, &l);
	struct bz_mem m = { (uintptr_t)mem, MEM, print };
	(void)state;

	assert_int_equal(bz_check(&m, l.entry.rsi, &r), 0);
	assert_int_equal(r.setup_data_nodes, 1);
	assert_true(r.cc_blob_ok);
	free(mem);
	db_layout_free(&l);

	mem = boot(DB_PLAIN, true, 0, &l); /* the TDX stub test mode */
	m.base = (uintptr_t)mem;
	assert_int_equal(bz_check(&m, l.entry.rsi, &r), 0);
	assert_int_equal(r.mp_wakeup, 1);
	assert_true(r.mailbox == DB_MAILBOX);
	free(mem);
	db_layout_free(&l);
}

static void test_broken(void **state)
{
	struct db_layout l;
	struct bz_report r;
	uint8_t *mem = boot(DB_PLAIN, false, 0, &l);
	struct bz_mem m = { (uintptr_t)mem, MEM, print };
	uint64_t bp = l.entry.rsi, rsdp = cp_le64(mem + bp + 0x70), xsdt = cp_le64(mem + rsdp + 24);
	uint64_t madt = cp_le64(mem + xsdt + 44);
	(void)state;

	mem[madt + 50] ^= 1;
	assert_int_equal(bz_check(&m, bp, &r), -10);
	mem[madt + 50] ^= 1;
	mem[rsdp + 9] ^= 1;
	assert_int_equal(bz_check(&m, bp, &r), -8);
	mem[rsdp + 9] ^= 1;
	cp_put_le64(mem + bp + 0x2d0 + 20 + 0, 0); /* second e820 entry starts at 0: overlap */
	assert_int_equal(bz_check(&m, bp, &r), -5);
	cp_put_le64(mem + bp + 0x2d0 + 20, DB_GDT);
	cp_put_le64(mem + bp + 0x250, MEM - 8); /* setup_data pointing past memory */
	assert_int_equal(bz_check(&m, bp, &r), -6);
	free(mem);
	db_layout_free(&l);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain), cmocka_unit_test(test_snp_and_tdx_stub), cmocka_unit_test(test_broken),
	};
	struct cp_err err = { 0 };

	image_path = argc > 1 ? argv[1] : NULL;
	if (!image_path || cp_file_read(image_path, 1u << 24, &img, &img_len, &err) < 0) {
		fprintf(stderr, "usage: test-memenc-bzcheck BZIMAGE (%s)\n", err.msg);
		return 1;
	}
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(img);
	return rc;
}

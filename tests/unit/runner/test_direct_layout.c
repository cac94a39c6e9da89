/* runner's boot_load_direct (`carapace run --direct-layout`) without KVM: the real bzImage test
 * guest loaded into a gmem, the guest's own checker (tests/guest/bz/bzcheck.c) run over that
 * RAM, and the vCPU entry state the 64-bit boot protocol demands. */
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
#include "runner/boot.h"
#include "tests/guest/bz/bzcheck.h"

static uint8_t *img;
static size_t img_len;

static void print(const char *s) { fputs(s, stdout); }

static void test_load_and_check(void **state)
{
	struct gmem g = { calloc(1, 128u << 20), 128u << 20 };
	struct boot_input in = { img, img_len, NULL, 0, "bz", 2 };
	struct boot_result res;
	struct cp_err err = { 0 };
	struct bz_report rep;
	(void)state;

	assert_non_null(g.base);
	if (boot_load_direct(&g, &in, &res, &err) < 0)
		fail_msg("boot_load_direct: %s", err.msg);
	assert_int_equal(res.kind, BOOT_LINUX_BZIMAGE);
	assert_true(res.regs.rip == 0x1000200 && res.regs.rsi == DB_ZERO_PAGE);
	assert_true(res.regs.cs.selector == 0x10 && res.regs.cs.l && res.regs.ds.selector == 0x18);
	assert_true(res.regs.cr3 == DB_PML4 && (res.regs.cr0 & 0x80000001u) == 0x80000001u);
	assert_true((res.regs.efer & 0x500) == 0x500 && (res.regs.cr4 & 0x20));
	assert_int_equal(res.regs.rflags & 0x200, 0); /* interrupts off */
	assert_int_equal(g.base[res.regs.rip], 0xfa);
	struct bz_mem m = { (uintptr_t)g.base, g.size, print };
	assert_int_equal(bz_check(&m, res.regs.rsi, &rep), 0);
	assert_int_equal(rep.cpus, 2);
	free(g.base);

	/* RAM too small for the layout: a clear error, nothing relied on. */
	g = (struct gmem){ calloc(1, 32u << 20), 32u << 20 };
	assert_int_equal(boot_load_direct(&g, &in, &res, &err), -EINVAL);
	free(g.base);
}

/* The TDX stub test mode: every vCPU at the reset vector in 32-bit mode, the stub page handed to
 * the VMM with its parameters (entry, boot_params, mailbox, CR3, accept ranges), and the layout
 * the guest reads carrying the MADT wakeup structure. */
static void test_tdx_stub_mode(void **state)
{
	struct gmem g = { calloc(1, 128u << 20), 128u << 20 };
	struct boot_input in = { img, img_len, NULL, 0, "bz", 3, true };
	struct boot_result res;
	struct cp_err err = { 0 };
	struct bz_report rep;
	(void)state;

	assert_non_null(g.base);
	if (boot_load_direct(&g, &in, &res, &err) < 0)
		fail_msg("boot_load_direct: %s", err.msg);
	assert_true(res.all_vcpus_start);
	assert_true(res.regs.rip == 0xfffffff0u && res.regs.cs.selector == 0x08 && res.regs.cs.db && !res.regs.cs.l);
	assert_int_equal(res.regs.cr0 & 0x80000001u, 1); /* PE, no paging */
	assert_memory_equal(res.stub_page + DB_STUB_PARAMS, "CPTDXSTB", 8);
	assert_true(cp_le64(res.stub_page + DB_STUB_PARAMS + 8) == 0x1000200);
	assert_true(cp_le64(res.stub_page + DB_STUB_PARAMS + 16) == DB_ZERO_PAGE);
	assert_true(cp_le64(res.stub_page + DB_STUB_PARAMS + 24) == DB_MAILBOX);
	assert_true(cp_le64(res.stub_page + DB_STUB_PARAMS + 32) == DB_PML4);
	assert_int_equal(res.stub_page[0xff0], 0xe9);
	struct bz_mem m = { (uintptr_t)g.base, g.size, print };
	assert_int_equal(bz_check(&m, DB_ZERO_PAGE, &rep), 0);
	assert_int_equal(rep.mp_wakeup, 1);
	assert_int_equal(rep.cpus, 3);
	free(g.base);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_load_and_check), cmocka_unit_test(test_tdx_stub_mode) };
	struct cp_err err = { 0 };

	if (argc < 2 || cp_file_read(argv[1], 1u << 24, &img, &img_len, &err) < 0) {
		fprintf(stderr, "usage: test-runner-direct-layout BZIMAGE (%s)\n", err.msg);
		return 1;
	}
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(img);
	return rc;
}

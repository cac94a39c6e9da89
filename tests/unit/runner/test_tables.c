/* E820 and MP tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "runner/e820.h"
#include "runner/layout.h"
#include "runner/mptable.h"

static void test_e820_small(void **state)
{
	struct e820_map m;
	uint64_t ram = 0;
	e820_build(128ull << 20, &m);
	for (size_t i = 0; i < m.n; i++)
		if (m.e[i].type == E820_RAM)
			ram += m.e[i].size;
	/* All RAM but the EBDA and BIOS holes below 1 MiB is usable. */
	assert_true(ram == (128ull << 20) - (GP_EBDA_END - GP_EBDA) - (GP_HIGH_START - GP_EBDA_END));
	assert_true(e820_is_ram(&m, 0x100000, 0x1000));
	assert_false(e820_is_ram(&m, GP_EBDA, 16));
	assert_false(e820_is_ram(&m, (128ull << 20) - 8, 16));
}

static void test_e820_hole(void **state)
{
	struct e820_map m;
	e820_build(4ull << 30, &m);
	assert_true(e820_is_ram(&m, GP_4G, 1ull << 30));
	assert_false(e820_is_ram(&m, GP_MMIO_HOLE, 4096));
	assert_false(e820_is_ram(&m, GP_4G + (1ull << 30), 1));
}

static void test_mptable(void **state)
{
	uint8_t buf[1024];
	struct cp_err err = { 0 };
	int n = mptable_build(buf, sizeof(buf), GP_EBDA, 4, &err);
	uint8_t sum = 0;
	assert_true(n > 0);
	for (int i = 0; i < 16; i++)
		sum = (uint8_t)(sum + buf[i]);
	assert_int_equal(sum, 0);
	assert_true(cp_le32(buf + 4) == GP_EBDA + 16);
	uint8_t *c = buf + 16;
	uint16_t len = cp_le16(c + 4);
	sum = 0;
	for (int i = 0; i < len; i++)
		sum = (uint8_t)(sum + c[i]);
	assert_int_equal(sum, 0);
	assert_memory_equal(c, "PCMP", 4);
	/* Four processor entries, APIC ids 0..3, the first one the BSP. */
	for (int i = 0; i < 4; i++) {
		uint8_t *p = c + 44 + 20 * i;
		assert_int_equal(p[0], 0);
		assert_int_equal(p[1], i);
		assert_int_equal(p[3] & 2, i == 0 ? 2 : 0);
	}
	/* After the CPUs, the ISA bus and the IOAPIC: one I/O interrupt assignment per IOAPIC pin,
	 * all 24 (IRQ n -> pin n; pins 16-23 carry virtio devices 8-15), then the two local ones. */
	{
		uint8_t *e = c + 44 + 20 * 4 + 8 + 8;
		assert_int_equal(cp_le16(c + 34), 4 + 1 + 1 + 24 + 2);
		for (int irq = 0; irq < 24; irq++, e += 8) {
			assert_int_equal(e[0], 3);
			assert_int_equal(e[5], irq);
			assert_int_equal(e[6], 4); /* the IOAPIC's id */
			assert_int_equal(e[7], irq);
		}
		assert_int_equal(e[0], 4);
		assert_int_equal(len, e + 16 - c);
	}
	/* The largest vCPU count the API offers (32) still fits the EBDA. */
	assert_true(mptable_build(buf, GP_EBDA_END - GP_EBDA, GP_EBDA, 32, &err) > 0);
	assert_int_equal(mptable_build(buf, sizeof(buf), GP_EBDA, 0, &err), -EINVAL);
	assert_int_equal(mptable_build(buf, 64, GP_EBDA, 4, &err), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small), cmocka_unit_test(test_e820_hole), cmocka_unit_test(test_mptable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

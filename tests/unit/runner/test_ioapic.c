/* The user-space IOAPIC model (runner/ioapic.c): register file, read-only bits, the MSI each pin
 * becomes, edge and level delivery with Remote IRR and EOI, and hostile accesses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "runner/ioapic.h"

static bool wr(struct ioapic *io, uint32_t index, uint32_t v)
{
	uint8_t b[4];
	bool changed = false;
	cp_put_le32(b, index);
	assert_true(ioapic_access(io, 0x00, true, b, 4, &changed));
	cp_put_le32(b, v);
	assert_true(ioapic_access(io, 0x10, true, b, 4, &changed));
	return changed;
}

static uint32_t rd(struct ioapic *io, uint32_t index)
{
	uint8_t b[4];
	bool changed;
	cp_put_le32(b, index);
	assert_true(ioapic_access(io, 0x00, true, b, 4, &changed));
	assert_true(ioapic_access(io, 0x10, false, b, 4, &changed));
	assert_false(changed);
	return cp_le32(b);
}

static void test_reset_and_identification(void **state)
{
	struct ioapic io;
	struct ioapic_msi m;
	ioapic_reset(&io);
	assert_int_equal(rd(&io, 1), 0x170011);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		assert_int_equal(rd(&io, 0x10 + 2 * pin), 1u << 16); /* masked */
		assert_false(ioapic_pin_msi(&io, pin, &m));
	}
	wr(&io, 0, 0x0f000000 | 0xabcdef);
	assert_int_equal(rd(&io, 0), 0x0f000000); /* only the ID bits */
	assert_int_equal(rd(&io, 2), 0x0f000000);
	assert_false(wr(&io, 1, 0xffffffff)); /* version is read-only */
	assert_int_equal(rd(&io, 1), 0x170011);
	assert_int_equal(rd(&io, 0x40), 0);   /* past the table */
	assert_false(wr(&io, 0x40, 0x1234));
}

static void test_pin_to_msi(void **state)
{
	struct ioapic io;
	struct ioapic_msi m;
	ioapic_reset(&io);
	assert_true(wr(&io, 0x10 + 2 * 5 + 1, 3u << 24));      /* destination APIC 3 */
	assert_true(wr(&io, 0x10 + 2 * 5, 0x41 | 1u << 8));     /* vector 0x41, lowest priority, unmasked */
	assert_true(ioapic_pin_msi(&io, 5, &m));
	assert_int_equal(m.address_lo, 0xfee03000u);
	assert_int_equal(m.data, 0x141);
	assert_true(wr(&io, 0x10 + 2 * 5, 0x41 | 1u << 11 | 1u << 15)); /* logical, level */
	assert_true(ioapic_pin_msi(&io, 5, &m));
	assert_int_equal(m.address_lo, 0xfee03004u);
	assert_int_equal(m.data, 0x41 | 1u << 15 | 1u << 14);
	assert_false(wr(&io, 0x10 + 2 * 5, 0x41 | 1u << 11 | 1u << 15)); /* same value: no change */
	/* ExtINT and reserved delivery modes are never MSIs. */
	wr(&io, 0x10 + 2 * 5, 0x41 | 7u << 8);
	assert_false(ioapic_pin_msi(&io, 5, &m));
	wr(&io, 0x10 + 2 * 5, 0x41 | 3u << 8);
	assert_false(ioapic_pin_msi(&io, 5, &m));
	assert_false(ioapic_pin_msi(&io, IOAPIC_PINS, &m));
}

static void test_read_only_bits_stay(void **state)
{
	struct ioapic io;
	ioapic_reset(&io);
	wr(&io, 0x10, 0xffffffff);
	/* Delivery status (12) and Remote IRR (14) are the model's; the guest cannot set them. */
	assert_int_equal(rd(&io, 0x10) & (1u << 12 | 1u << 14), 0);
	wr(&io, 0x11, 0xffffffff);
	assert_int_equal(rd(&io, 0x11), 0xff000000); /* only the destination byte */
}

static void test_edge_delivers_rising_edges_only(void **state)
{
	struct ioapic io;
	struct ioapic_msi m;
	ioapic_reset(&io);
	assert_false(ioapic_set_level(&io, 4, true, &m)); /* masked: lost, as on hardware */
	ioapic_set_level(&io, 4, false, &m);
	wr(&io, 0x10 + 8, 0x24);
	assert_true(ioapic_set_level(&io, 4, true, &m));
	assert_int_equal(m.data, 0x24);
	assert_false(ioapic_set_level(&io, 4, true, &m)); /* still high: no new edge */
	assert_false(ioapic_set_level(&io, 4, false, &m));
	assert_true(ioapic_set_level(&io, 4, true, &m));
	assert_int_equal(ioapic_eoi(&io, 0x24), 0); /* edge pins ignore EOI */
}

static void test_level_remote_irr_and_eoi(void **state)
{
	struct ioapic io;
	struct ioapic_msi m;
	ioapic_reset(&io);
	wr(&io, 0x10 + 2 * 9, 0x59 | 1u << 15);
	assert_true(ioapic_set_level(&io, 9, true, &m));
	assert_int_equal(rd(&io, 0x10 + 2 * 9) & (1u << 14), 1u << 14); /* Remote IRR */
	assert_false(ioapic_set_level(&io, 9, true, &m));               /* in service */
	assert_int_equal(ioapic_eoi(&io, 0x58), 0);                     /* another vector */
	assert_int_equal(ioapic_eoi(&io, 0x59), 1u << 9);               /* still high: again */
	ioapic_set_level(&io, 9, false, &m);
	assert_int_equal(ioapic_eoi(&io, 0x59), 0);                     /* low now: done */
	assert_int_equal(rd(&io, 0x10 + 2 * 9) & (1u << 14), 0);
	/* Switching the pin to edge drops Remote IRR. */
	assert_true(ioapic_set_level(&io, 9, true, &m));
	wr(&io, 0x10 + 2 * 9, 0x59);
	assert_int_equal(rd(&io, 0x10 + 2 * 9) & (1u << 14), 0);
}

static void test_hostile_accesses(void **state)
{
	struct ioapic io;
	uint8_t b[8];
	bool changed;
	ioapic_reset(&io);
	memset(b, 0xff, sizeof(b));
	assert_false(ioapic_access(&io, 0x10, false, b, 2, &changed)); /* IOWIN is 32-bit only */
	assert_int_equal(b[0] | b[1], 0);
	assert_false(ioapic_access(&io, 0x10, true, b, 8, &changed));
	assert_false(ioapic_access(&io, 0x20, false, b, 4, &changed)); /* EOI register of newer IOAPICs */
	assert_false(ioapic_access(&io, 0xffc, true, b, 4, &changed));
	assert_false(changed);
	b[0] = 0x12;
	assert_true(ioapic_access(&io, 0x00, true, b, 1, &changed)); /* byte write of IOREGSEL */
	assert_int_equal(io.ioregsel, 0x12);
	assert_false(ioapic_set_level(&io, 99, true, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_and_identification),
		cmocka_unit_test(test_pin_to_msi),
		cmocka_unit_test(test_read_only_bits_stay),
		cmocka_unit_test(test_edge_delivers_rising_edges_only),
		cmocka_unit_test(test_level_remote_irr_and_eoi),
		cmocka_unit_test(test_hostile_accesses),
	};
	return cmocka_run_group_tests_name("runner-ioapic", tests, NULL, NULL);
}

/* The virtio-mmio register file against a hostile guest (issue 18 item 6): a ring whose
 * descriptor table, driver or device area is misaligned is refused at QueueReady with
 * NEEDS_RESET, and the back-end is never asked to start it (it would cut the connection and the
 * VM would end as a host failure). An aligned ring still starts; a reset clears the fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "runner/virtio_mmio.h"

static unsigned starts;

static int start(void *ctx, unsigned q, const struct vmmio_queue *vq)
{
	starts++;
	return 0;
}

static const struct vmmio_ops ops = { .queue_start = start };

static void wr(struct vmmio_dev *d, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	cp_put_le32(b, v);
	vmmio_access(d, off, true, b, 4);
}

static uint32_t rd(struct vmmio_dev *d, uint64_t off)
{
	uint8_t b[4];

	vmmio_access(d, off, false, b, 4);
	return cp_le32(b);
}

/* Reset, negotiate VERSION_1, program queue 0 with these addresses, write QueueReady = 1. */
static void ring_at(struct vmmio_dev *d, uint64_t desc, uint64_t driver, uint64_t device)
{
	wr(d, 0x070, 0);
	wr(d, 0x070, VMMIO_S_ACK | VMMIO_S_DRIVER);
	wr(d, 0x024, 1);
	wr(d, 0x020, 1); /* VERSION_1 is bit 32 */
	wr(d, 0x070, VMMIO_S_ACK | VMMIO_S_DRIVER | VMMIO_S_FEATURES_OK);
	assert_true(rd(d, 0x070) & VMMIO_S_FEATURES_OK);
	wr(d, 0x030, 0);
	wr(d, 0x038, 8);
	wr(d, 0x080, (uint32_t)desc);
	wr(d, 0x090, (uint32_t)driver);
	wr(d, 0x0a0, (uint32_t)device);
	wr(d, 0x044, 1);
}

static void test_misaligned_rings_refused(void **state)
{
	static const uint64_t bad[][3] = {
		{ 0x1008, 0x2000, 0x3000 }, /* descriptor table: 16 */
		{ 0x1000, 0x2001, 0x3000 }, /* driver area: 2 */
		{ 0x1000, 0x2000, 0x3002 }, /* device area: 4 */
	};
	struct vmmio_dev d;

	vmmio_init(&d, 4, 0, 1, 256, NULL, 0, &ops, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		starts = 0;
		ring_at(&d, bad[i][0], bad[i][1], bad[i][2]);
		assert_int_equal(rd(&d, 0x044), 0);
		assert_true(rd(&d, 0x070) & VMMIO_S_NEEDS_RESET);
		assert_int_equal(starts, 0);
	}
	/* After a reset, an aligned ring (the smallest alignments allowed) starts. */
	starts = 0;
	ring_at(&d, 0x1010, 0x2002, 0x3004);
	assert_int_equal(rd(&d, 0x044), 1);
	assert_false(rd(&d, 0x070) & VMMIO_S_NEEDS_RESET);
	assert_int_equal(starts, 1);
	vmmio_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misaligned_rings_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

/* A configuration change (block hot-plug's new capacity): the new bytes are read, the
 * generation moves, InterruptStatus says "configuration" until the driver acknowledges it, and
 * the interrupt is only asked for once the driver runs. A back-end cannot grow the space. */
static void test_config_change(void **state)
{
	struct vmmio_dev d;
	uint8_t cfg[8] = { 1, 0, 0, 0, 0, 0, 0, 0 }, big[16];
	uint32_t gen;

	vmmio_init(&d, 2, 0, 1, 256, cfg, sizeof(cfg), &ops, NULL);
	gen = rd(&d, 0x0fc);
	cfg[0] = 9;
	pthread_mutex_lock(&d.lock);
	assert_false(vmmio_config_changed_locked(&d, cfg, sizeof(cfg))); /* no driver yet */
	pthread_mutex_unlock(&d.lock);
	assert_int_equal(rd(&d, 0x100), 9);
	assert_int_equal(rd(&d, 0x0fc), gen + 1);
	assert_int_equal(rd(&d, 0x060) & VMMIO_INT_CONFIG, 0);

	ring_at(&d, 0x1000, 0x2000, 0x3000);
	wr(&d, 0x070, VMMIO_S_ACK | VMMIO_S_DRIVER | VMMIO_S_FEATURES_OK | VMMIO_S_DRIVER_OK);
	assert_true(rd(&d, 0x070) & VMMIO_S_DRIVER_OK);
	memset(big, 7, sizeof(big));
	pthread_mutex_lock(&d.lock);
	assert_true(vmmio_config_changed_locked(&d, big, sizeof(big)));
	pthread_mutex_unlock(&d.lock);
	assert_int_equal(rd(&d, 0x0fc), gen + 2);
	assert_int_equal(rd(&d, 0x100), 0x07070707);
	assert_int_equal(rd(&d, 0x104), 0x07070707);
	assert_int_equal(rd(&d, 0x108), 0); /* past the 8 bytes given at init: still nothing */
	assert_int_equal(rd(&d, 0x060) & VMMIO_INT_CONFIG, VMMIO_INT_CONFIG);
	wr(&d, 0x064, VMMIO_INT_CONFIG); /* InterruptACK */
	assert_int_equal(rd(&d, 0x060) & VMMIO_INT_CONFIG, 0);
	/* A broken device (NEEDS_RESET) takes the bytes but asks for no interrupt. */
	vmmio_mark_broken(&d);
	wr(&d, 0x064, VMMIO_INT_CONFIG);
	pthread_mutex_lock(&d.lock);
	assert_false(vmmio_config_changed_locked(&d, cfg, sizeof(cfg)));
	pthread_mutex_unlock(&d.lock);
	assert_int_equal(rd(&d, 0x060) & VMMIO_INT_CONFIG, 0);
	vmmio_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misaligned_rings_refused),
		cmocka_unit_test(test_config_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

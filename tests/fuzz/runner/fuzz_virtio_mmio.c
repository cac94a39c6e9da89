/* libFuzzer target: guest accesses to a virtio-mmio v2 window (runner/virtio_mmio.c) in any
 * order, sizes 0..8 as KVM reports them, with a back-end that sometimes refuses features or a
 * queue and sometimes breaks. After every access the transport's rules must hold: DRIVER_OK
 * only with FEATURES_OK; accepted features a subset of the offer including VERSION_1; a queue is
 * started only with FEATURES_OK, a power-of-two size within its maximum and never twice; the
 * back-end is never called for a queue that does not exist; reads of non-32-bit registers are
 * zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct backend {
	struct vmmio_dev *d;
	uint8_t refuse;          /* bit 0: refuse features, bit 1: refuse queue start */
	bool started[VMMIO_MAX_QUEUES];
};

static int op_set_features(void *ctx, uint64_t f)
{
	struct backend *b = ctx;
	if ((f & ~b->d->device_features) || !(f & (1ull << VIRTIO_F_VERSION_1_BIT)))
		abort();
	return (b->refuse & 1) ? -22 : 0;
}

static int op_queue_start(void *ctx, unsigned q, const struct vmmio_queue *vq)
{
	struct backend *b = ctx;
	if (q >= b->d->nqueues || b->started[q] || !(b->d->status & VMMIO_S_FEATURES_OK))
		abort();
	if (!vq->num || vq->num > vq->num_max || (vq->num & (vq->num - 1)))
		abort();
	if (b->refuse & 2)
		return -5;
	b->started[q] = true;
	return 0;
}

static void op_reset(void *ctx)
{
	struct backend *b = ctx;
	memset(b->started, 0, sizeof(b->started));
}

static void op_notify(void *ctx, unsigned q)
{
	struct backend *b = ctx;
	if (q >= b->d->nqueues || !b->started[q])
		abort();
}

static void op_driver_ok(void *ctx)
{
	struct backend *b = ctx;
	if (!(b->d->status & VMMIO_S_FEATURES_OK))
		abort();
}

static const struct vmmio_ops ops = {
	.set_features = op_set_features, .queue_start = op_queue_start, .reset = op_reset,
	.notify = op_notify, .driver_ok = op_driver_ok,
};

static void check(const struct vmmio_dev *d)
{
	if ((d->status & VMMIO_S_DRIVER_OK) && !(d->status & VMMIO_S_FEATURES_OK))
		abort();
	if ((d->status & VMMIO_S_FEATURES_OK) &&
	    ((d->driver_features & ~d->device_features) || !(d->driver_features & (1ull << VIRTIO_F_VERSION_1_BIT))))
		abort();
	for (unsigned i = 0; i < VMMIO_MAX_QUEUES; i++) {
		const struct vmmio_queue *q = &d->q[i];
		if (i >= d->nqueues && (q->ready || q->num))
			abort();
		if (q->ready && (!q->num || q->num > q->num_max || (q->num & (q->num - 1))))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmmio_dev d;
	struct backend b = { &d, 0, { false } };
	uint8_t config[40];

	if (size < 4)
		return 0;
	for (unsigned i = 0; i < sizeof(config); i++)
		config[i] = (uint8_t)(i * 7);
	b.refuse = data[0] & 3;
	/* queue count 0..9 (more than the transport holds, to test the clamp), size max, config length */
	vmmio_init(&d, 2, cp_le16(data + 1) | (1ull << 33), data[3] % 10, (uint16_t)(256u >> (data[0] >> 5)),
		   config, (data[0] >> 2) & 7 ? (uint32_t)(((data[0] >> 2) & 7) * 5) : sizeof(config), &ops, &b);
	data += 4;
	size -= 4;
	/* each access: op (bit 0 write, bit 1 mark broken, bits 4..7 size 0..15 clamped to 8),
	 * offset (2 bytes, window of 512 plus some beyond), value (4 bytes) */
	while (size >= 7) {
		uint8_t op = data[0], buf[8];
		uint64_t off = cp_le16(data + 1) % 0x240;
		unsigned len = (op >> 4) > 8 ? 8 : op >> 4;
		bool write = op & 1;

		memset(buf, 0xee, sizeof(buf));
		memcpy(buf, data + 3, 4);
		if (op & 2)
			vmmio_mark_broken(&d);
		else
			vmmio_access(&d, off, write, buf, len);
		if (!write && !(op & 2) && off < 0x100 && (len != 4 || (off & 3)))
			for (unsigned i = 0; i < len; i++)
				if (buf[i])
					abort();
		check(&d);
		data += 7;
		size -= 7;
	}
	vmmio_destroy(&d);
	return 0;
}

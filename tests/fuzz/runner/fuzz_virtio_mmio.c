/* libFuzzer target: a hostile guest on a virtio-mmio device's registers (any offset, size,
 * direction and value, in any order), with a back-end that fails at random. The transport must
 * keep its promises to the back-end whatever the guest does: a queue is started only with
 * FEATURES_OK, a power-of-two size within the maximum and aligned ring addresses (issue 18
 * item 6), never twice without a reset; only offered features including VERSION_1 are passed on;
 * DRIVER_OK never stands without FEATURES_OK. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/virtio_mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OFFERED ((1ull << 32) | 0x5ull)

struct model {
	struct vmmio_dev *d;
	bool started[VMMIO_MAX_QUEUES];
	bool fail; /* the back-end refuses the next request */
};

static int set_features(void *ctx, uint64_t f)
{
	struct model *m = ctx;

	if ((f & ~OFFERED) || !(f & (1ull << 32)))
		abort();
	return m->fail ? -5 : 0;
}

static int queue_start(void *ctx, unsigned q, const struct vmmio_queue *vq)
{
	struct model *m = ctx;

	if (q >= VMMIO_MAX_QUEUES || m->started[q] || !(m->d->status & VMMIO_S_FEATURES_OK))
		abort();
	if (!vq->num || vq->num > vq->num_max || (vq->num & (vq->num - 1)))
		abort();
	if ((vq->desc & 15) || (vq->driver & 1) || (vq->device & 3))
		abort();
	if (m->fail)
		return -5;
	m->started[q] = true;
	return 0;
}

static void reset(void *ctx)
{
	struct model *m = ctx;

	memset(m->started, 0, sizeof(m->started));
}

static const struct vmmio_ops ops = { .set_features = set_features, .queue_start = queue_start, .reset = reset };

/* The registers a driver writes, so that records reach deep states; other offsets too. */
static const uint16_t regs[] = { 0x014, 0x020, 0x024, 0x030, 0x038, 0x044, 0x050, 0x064, 0x070, 0x080,
				 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x034, 0x060, 0x0fc, 0x100, 0x104 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmmio_dev d;
	struct model m = { .d = &d };

	vmmio_init(&d, 4, OFFERED, 2, 64, (const uint8_t *)"cfg", 3, &ops, &m);
	/* 6-byte records: op, value (4, little-endian), back-end verdict. */
	while (size >= 6) {
		uint8_t op = data[0], buf[8];
		uint16_t off = regs[(op & 0x1f) % (sizeof(regs) / sizeof(regs[0]))];
		unsigned len = 4;

		if ((op & 0xc0) == 0xc0) /* now and then, any offset and size */
			off = (uint16_t)((op & 0x1f) * 13), len = 1u << (data[5] & 3);
		memcpy(buf, data + 1, 4);
		memset(buf + 4, 0, 4);
		m.fail = data[5] == 0xff;
		vmmio_access(&d, off, !(op & 0x20), buf, len);
		if ((d.status & VMMIO_S_DRIVER_OK) && !(d.status & VMMIO_S_FEATURES_OK))
			abort();
		data += 6;
		size -= 6;
	}
	vmmio_destroy(&d);
	return 0;
}

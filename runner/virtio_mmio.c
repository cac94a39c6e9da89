/* virtio-mmio v2 register file. Rules enforced: 32-bit register accesses only (config space
 * allows 1/2/4/8), queue registers writable only while the queue is not ready, FEATURES_OK only
 * for a subset of the offered features that includes VERSION_1, status bits only set in order,
 * QueueNum a power of two within QueueNumMax. */
#include "runner/virtio_mmio.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014, R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
	R_QUEUE_DESC_LO = 0x080, R_QUEUE_DESC_HI = 0x084, R_QUEUE_DRIVER_LO = 0x090, R_QUEUE_DRIVER_HI = 0x094,
	R_QUEUE_DEVICE_LO = 0x0a0, R_QUEUE_DEVICE_HI = 0x0a4, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

void vmmio_init(struct vmmio_dev *d, uint32_t device_id, uint64_t features, unsigned nqueues, uint16_t qmax,
		const uint8_t *config, uint32_t config_len, const struct vmmio_ops *ops, void *ctx)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->device_id = device_id;
	d->device_features = features | (1ull << VIRTIO_F_VERSION_1_BIT);
	d->nqueues = nqueues > VMMIO_MAX_QUEUES ? VMMIO_MAX_QUEUES : nqueues;
	for (unsigned i = 0; i < d->nqueues; i++)
		d->q[i].num_max = qmax;
	d->config_len = config_len > VMMIO_CONFIG_MAX ? VMMIO_CONFIG_MAX : config_len;
	if (config)
		memcpy(d->config, config, d->config_len);
	d->ops = ops;
	d->ctx = ctx;
}

void vmmio_destroy(struct vmmio_dev *d) { pthread_mutex_destroy(&d->lock); }

static void reset_locked(struct vmmio_dev *d)
{
	if (d->ops && d->ops->reset)
		d->ops->reset(d->ctx);
	d->status = 0;
	d->driver_features = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->int_status = 0;
	d->broken = false;
	for (unsigned i = 0; i < d->nqueues; i++) {
		uint16_t max = d->q[i].num_max;
		memset(&d->q[i], 0, sizeof(d->q[i]));
		d->q[i].num_max = max;
	}
}

void vmmio_mark_broken(struct vmmio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->broken = true;
	d->status |= VMMIO_S_NEEDS_RESET;
	d->int_status |= 2; /* configuration change */
	pthread_mutex_unlock(&d->lock);
}

bool vmmio_config_changed_locked(struct vmmio_dev *d, const uint8_t *cfg, uint32_t len)
{
	if (len > d->config_len)
		len = d->config_len;
	memcpy(d->config, cfg, len);
	d->config_generation++;
	if (d->broken || !(d->status & VMMIO_S_DRIVER_OK))
		return false;
	d->int_status |= VMMIO_INT_CONFIG;
	return true;
}

static struct vmmio_queue *cur_queue(struct vmmio_dev *d)
{
	return d->queue_sel < d->nqueues ? &d->q[d->queue_sel] : NULL;
}

static void set_status_locked(struct vmmio_dev *d, uint32_t v)
{
	uint32_t old = d->status;

	if (v == 0) {
		reset_locked(d);
		return;
	}
	if (d->broken)
		v |= VMMIO_S_NEEDS_RESET;
	/* Bits are only ever added (except by reset), and FEATURES_OK is granted by the device. */
	if ((v & old) != (old & ~(uint32_t)VMMIO_S_NEEDS_RESET))
		return;
	if ((v & VMMIO_S_FEATURES_OK) && !(old & VMMIO_S_FEATURES_OK)) {
		uint64_t f = d->driver_features;
		if ((f & ~d->device_features) || !(f & (1ull << VIRTIO_F_VERSION_1_BIT)) ||
		    !(old & VMMIO_S_DRIVER) || (d->ops && d->ops->set_features && d->ops->set_features(d->ctx, f) < 0))
			v &= ~(uint32_t)VMMIO_S_FEATURES_OK; /* the driver reads it back and gives up */
	}
	if ((v & VMMIO_S_DRIVER_OK) && !(v & VMMIO_S_FEATURES_OK))
		v &= ~(uint32_t)VMMIO_S_DRIVER_OK;
	d->status = v & (VMMIO_S_ACK | VMMIO_S_DRIVER | VMMIO_S_DRIVER_OK | VMMIO_S_FEATURES_OK | VMMIO_S_NEEDS_RESET |
			 VMMIO_S_FAILED);
	if ((d->status & VMMIO_S_DRIVER_OK) && !(old & VMMIO_S_DRIVER_OK) && d->ops && d->ops->driver_ok)
		d->ops->driver_ok(d->ctx);
}

static void write_reg(struct vmmio_dev *d, uint32_t off, uint32_t v)
{
	struct vmmio_queue *q = cur_queue(d);
	/* Queue set-up is frozen while the queue runs, and needs FEATURES_OK first. */
	bool q_writable = q && !q->ready && (d->status & VMMIO_S_FEATURES_OK) && !(d->status & VMMIO_S_DRIVER_OK);

	switch (off) {
	case R_DEV_FEATURES_SEL: d->dev_feat_sel = v; break;
	case R_DRV_FEATURES_SEL: d->drv_feat_sel = v; break;
	case R_DRV_FEATURES:
		if (d->status & VMMIO_S_FEATURES_OK)
			break;
		if (d->drv_feat_sel == 0)
			d->driver_features = (d->driver_features & 0xffffffff00000000ull) | v;
		else if (d->drv_feat_sel == 1)
			d->driver_features = (d->driver_features & 0xffffffffull) | (uint64_t)v << 32;
		break;
	case R_QUEUE_SEL: d->queue_sel = v; break;
	case R_QUEUE_NUM:
		if (q_writable && v && v <= q->num_max && !(v & (v - 1)))
			q->num = (uint16_t)v;
		break;
	case R_QUEUE_READY:
		if (!q)
			break;
		if (v == 1 && !q->ready && (d->status & VMMIO_S_FEATURES_OK) && q->num && !d->broken) {
			/* A guest error stays the guest's: a misaligned ring (virtio 1.2, 2.7.2: descriptor
			 * table 16, driver area 2, device area 4 bytes) never reaches the back-end, which would
			 * cut the connection and end the VM as a host failure (issue 18 item 6). */
			if ((q->desc & 15) || (q->driver & 1) || (q->device & 3))
				d->broken = true, d->status |= VMMIO_S_NEEDS_RESET, d->int_status |= 2;
			else if (!d->ops || !d->ops->queue_start || d->ops->queue_start(d->ctx, d->queue_sel, q) == 0)
				q->ready = true;
			else
				d->broken = true, d->status |= VMMIO_S_NEEDS_RESET, d->int_status |= 2;
		}
		/* Disabling a running queue needs a device reset in this transport. */
		break;
	case R_QUEUE_NOTIFY:
		if (v < d->nqueues && d->q[v].ready && d->ops && d->ops->notify)
			d->ops->notify(d->ctx, v);
		break;
	case R_INT_ACK: d->int_status &= ~v; break;
	case R_STATUS: set_status_locked(d, v); break;
	case R_QUEUE_DESC_LO: if (q_writable) q->desc = (q->desc & ~0xffffffffull) | v; break;
	case R_QUEUE_DESC_HI: if (q_writable) q->desc = (q->desc & 0xffffffffull) | (uint64_t)v << 32; break;
	case R_QUEUE_DRIVER_LO: if (q_writable) q->driver = (q->driver & ~0xffffffffull) | v; break;
	case R_QUEUE_DRIVER_HI: if (q_writable) q->driver = (q->driver & 0xffffffffull) | (uint64_t)v << 32; break;
	case R_QUEUE_DEVICE_LO: if (q_writable) q->device = (q->device & ~0xffffffffull) | v; break;
	case R_QUEUE_DEVICE_HI: if (q_writable) q->device = (q->device & 0xffffffffull) | (uint64_t)v << 32; break;
	default: break; /* read-only or reserved: ignored, as the spec requires */
	}
}

static uint32_t read_reg(struct vmmio_dev *d, uint32_t off)
{
	struct vmmio_queue *q = cur_queue(d);

	switch (off) {
	case R_MAGIC: return 0x74726976; /* "virt" */
	case R_VERSION: return 2;
	case R_DEVICE_ID: return d->device_id;
	case R_VENDOR_ID: return VMMIO_VENDOR_ID;
	case R_DEV_FEATURES:
		return d->dev_feat_sel == 0 ? (uint32_t)d->device_features
		       : d->dev_feat_sel == 1 ? (uint32_t)(d->device_features >> 32) : 0;
	case R_QUEUE_NUM_MAX: return q ? q->num_max : 0;
	case R_QUEUE_READY: return q ? q->ready : 0;
	/* The back-end signals used buffers through an irqfd the VMM never sees, so the vring bit
	 * always reads as set: a driver then checks its queues, which is harmless when idle. */
	case R_INT_STATUS: return d->int_status | ((d->status & VMMIO_S_DRIVER_OK) ? 1u : 0u);
	case R_STATUS: return d->status;
	case R_CONFIG_GEN: return d->config_generation;
	default: return 0;
	}
}

void vmmio_access(struct vmmio_dev *d, uint64_t offset, bool is_write, uint8_t *data, unsigned len)
{
	pthread_mutex_lock(&d->lock);
	if (offset >= R_CONFIG) {
		uint64_t o = offset - R_CONFIG;
		if ((len == 1 || len == 2 || len == 4 || len == 8) && o < d->config_len && len <= d->config_len - o) {
			if (!is_write)
				memcpy(data, d->config + o, len);
			/* Config writes (blk writeback, console size) are not forwarded yet: ignored. */
		} else if (!is_write) {
			memset(data, 0, len);
		}
	} else if (len != 4 || (offset & 3)) {
		if (!is_write)
			memset(data, 0, len); /* registers are 32-bit only */
	} else if (is_write) {
		write_reg(d, (uint32_t)offset, cp_le32(data));
	} else {
		cp_put_le32(data, read_reg(d, (uint32_t)offset));
	}
	pthread_mutex_unlock(&d->lock);
}

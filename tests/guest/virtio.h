/* The test guest's polling virtio-mmio (version 2) transport, shared by the device scenarios
 * (virtio.c: blk, rng, console; vsock.c). Identity-mapped memory: a pointer is the address the
 * device is given. */
#ifndef CARAPACE_TEST_GUEST_VIRTIO_H
#define CARAPACE_TEST_GUEST_VIRTIO_H

#include "guest.h"

#define VIRTIO_MAGIC 0x74726976u /* "virt" */
#define VM_VERSION        0x004
#define VM_DEVICE_ID      0x008
#define VM_DEV_FEATURES   0x010
#define VM_DEV_FEAT_SEL   0x014
#define VM_DRV_FEATURES   0x020
#define VM_DRV_FEAT_SEL   0x024
#define VM_QUEUE_SEL      0x030
#define VM_QUEUE_NUM_MAX  0x034
#define VM_QUEUE_NUM      0x038
#define VM_QUEUE_READY    0x044
#define VM_QUEUE_NOTIFY   0x050
#define VM_INT_STATUS     0x060
#define VM_INT_ACK        0x064
#define VM_STATUS         0x070
#define VM_QUEUE_DESC     0x080
#define VM_QUEUE_DRIVER   0x090
#define VM_QUEUE_DEVICE   0x0a0
#define VM_CONFIG_GEN     0x0fc
#define VM_CONFIG         0x100
#define INT_CONFIG        2u /* InterruptStatus: the configuration changed */

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 0x80

#define F_VERSION_1_HI (1u << 0) /* feature bit 32 */
#define BLK_F_RO (1u << 5)
#define BLK_F_FLUSH (1u << 9)

#define DESC_NEXT 1
#define DESC_WRITE 2
#define VQ_SIZE 8
/* About 1 s at 3 GHz: QEMU and carapace complete a request long before, even when emulated. */
#define VQ_WAIT_CYCLES (1ull << 32)

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_mem {
	struct vdesc desc[VQ_SIZE];
	struct {
		uint16_t flags, idx, ring[VQ_SIZE], used_event;
	} avail;
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[VQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4)));
} __attribute__((aligned(4096)));

struct vdev {
	uint32_t base;
	uint32_t device_id;
	uint32_t features_lo;
	uint32_t queue;
	uint16_t last_used;
	struct vq_mem *vq;
};

struct vbuf {
	void *addr;
	uint32_t len;
	bool device_writes;
};

static inline volatile uint32_t *vreg(const struct vdev *d, uint32_t off) { return phys32(d->base + off); }
static inline void vbarrier(void) { __asm__ volatile("" ::: "memory"); }

/* Marks the device FAILED (when there is one) and ends the guest with GUEST_VIRTIO_FAILED. */
__attribute__((noreturn, format(printf, 2, 3))) void virtio_fail(const struct vdev *d, const char *fmt, ...);
/* The first virtio_mmio.device= window whose device has this id (version 2), or fail. */
void virtio_find(const struct guest_boot *boot, uint32_t want, struct vdev *d);
/* Reset, then VERSION_1 plus the wanted low feature bits the device offers; FEATURES_OK. */
void virtio_negotiate(struct vdev *d, uint32_t want_lo);
/* One split ring of VQ_SIZE entries in m (zeroed here), polled: NO_INTERRUPT set; ready. */
void virtio_queue_setup(struct vdev *d, uint32_t queue, struct vq_mem *m);
void virtio_driver_ok(struct vdev *d);

#endif

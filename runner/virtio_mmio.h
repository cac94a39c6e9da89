/* virtio-mmio transport, version 2 (virtio 1.2 §4.2), for devices whose data path runs in a
 * vhost-user back-end. Pure: the register file and its rules; the owner supplies the actions
 * (ops) that talk to the back-end. Every value comes from the guest and is checked. */
#ifndef CARAPACE_RUNNER_VIRTIO_MMIO_H
#define CARAPACE_RUNNER_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define VMMIO_MAX_QUEUES 8
#define VMMIO_CONFIG_MAX 256
#define VMMIO_VENDOR_ID 0x41524143u /* "CARA" */

#define VMMIO_S_ACK 1
#define VMMIO_S_DRIVER 2
#define VMMIO_S_DRIVER_OK 4
#define VMMIO_S_FEATURES_OK 8
#define VMMIO_S_NEEDS_RESET 0x40
#define VMMIO_S_FAILED 0x80

#define VIRTIO_F_VERSION_1_BIT 32
#define VIRTIO_F_ACCESS_PLATFORM_BIT 33
#define VIRTIO_F_ACCESS_PLATFORM_BIT 33

struct vmmio_queue {
	uint16_t num_max, num;
	bool ready;
	uint64_t desc, driver, device;
};

struct vmmio_ops {
	/* The guest accepted these features (FEATURES_OK): 0 or -errno (then FEATURES_OK stays clear). */
	int (*set_features)(void *ctx, uint64_t features);
	/* QueueReady = 1: start queue q with the addresses the guest gave. 0 or -errno. */
	int (*queue_start)(void *ctx, unsigned q, const struct vmmio_queue *vq);
	/* Status 0 written: stop every started queue. */
	void (*reset)(void *ctx);
	/* A QueueNotify write that reached the VMM (normally an ioeventfd catches it first). */
	void (*notify)(void *ctx, unsigned q);
	/* DRIVER_OK set. */
	void (*driver_ok)(void *ctx);
};

struct vmmio_dev {
	pthread_mutex_t lock;
	uint32_t device_id;
	uint64_t device_features;   /* what the guest is offered */
	uint64_t driver_features;   /* what it wrote so far */
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t status;
	uint32_t int_status;
	uint32_t config_generation;
	unsigned nqueues;
	struct vmmio_queue q[VMMIO_MAX_QUEUES];
	uint8_t config[VMMIO_CONFIG_MAX];
	uint32_t config_len;
	bool broken;                 /* back-end failed: NEEDS_RESET until the guest resets */
	const struct vmmio_ops *ops;
	void *ctx;
};

void vmmio_init(struct vmmio_dev *d, uint32_t device_id, uint64_t features, unsigned nqueues, uint16_t qmax,
		const uint8_t *config, uint32_t config_len, const struct vmmio_ops *ops, void *ctx);
void vmmio_destroy(struct vmmio_dev *d);

/* A guest access at offset within the 512-byte window; len 1, 2, 4 or 8. Reads fill *data. */
void vmmio_access(struct vmmio_dev *d, uint64_t offset, bool is_write, uint8_t *data, unsigned len);

/* InterruptStatus bits (virtio 1.2, 4.2.2): used buffer, configuration change. */
#define VMMIO_INT_VRING 1u
#define VMMIO_INT_CONFIG 2u

/* The device's configuration space changed (a back-end's BACKEND_CONFIG_CHANGE_MSG, then
 * GET_CONFIG): replace it (len bytes, at most the length given at init: a back-end cannot
 * grow it), bump ConfigGeneration so a driver that read across the change reads again, and set
 * the configuration-change bit of InterruptStatus. Call with d->lock held (the caller holds it
 * across the GET_CONFIG that fetched cfg, so no vCPU's request interleaves). Returns true when
 * the interrupt should be raised now: the driver is running (DRIVER_OK) and the device is not
 * broken; before DRIVER_OK the driver reads the new config when it sets the device up. */
bool vmmio_config_changed_locked(struct vmmio_dev *d, const uint8_t *cfg, uint32_t len);

/* The back-end failed: DEVICE_NEEDS_RESET and a configuration-change interrupt status. */
void vmmio_mark_broken(struct vmmio_dev *d);

#endif

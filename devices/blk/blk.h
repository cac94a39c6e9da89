/* virtio-blk request handling on a raw image fd (used by carapace-blk's main and its tests). */
#ifndef CARAPACE_DEVICES_BLK_BLK_H
#define CARAPACE_DEVICES_BLK_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vhost/backend.h"

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BLK_SECTOR 512u
#define BLK_ID_BYTES 20u
#define BLK_CONFIG_SIZE 60u
/* I/O threads: requests on one queue proceed while another waits for the disk. */
#define BLK_WORKERS 4
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per discard/write-zeroes segment */

struct blk_dev {
	int fd;
	uint64_t size;           /* bytes served: the file's size rounded down to a sector */
	bool readonly;
	bool can_punch;          /* fallocate(PUNCH_HOLE) works: DISCARD offered */
	bool can_zero_range;     /* fallocate(ZERO_RANGE) works */
	uint16_t num_queues;
	char serial[BLK_ID_BYTES];
	int swap_fd;             /* the swap channel from the VM process (--swap-fd), -1 when none */
	uint64_t swaps;          /* backing files replaced so far */
	struct vu_dev_ops ops;
};

struct blk_image_facts;

/* Fill ops for this device (features from readonly / can_punch, queues). */

void blk_dev_setup_ops(struct blk_dev *b);
/* What an open image is: mode, size (a block device's from its end offset, fstat says 0) and
 * access mode. 0 or -errno. */
int blk_image_facts_get(int fd, struct blk_image_facts *f);
/* Which zeroing operations the file system of a writable image supports (probed beyond its end
 * with KEEP_SIZE: harmless). */
void blk_dev_probe(struct blk_dev *b);
/* The swap channel is readable (vu_dev_ops.extra_ready): take one request, judge the new file,
 * and between two requests (the worker pool drained) replace the backing file, then tell the
 * front-end the configuration changed and answer. A refused file leaves the old one in place. */
void blk_swap_ready(struct vu_backend *be);
/* Handle one chain (vu_dev_ops.handle_chain). */
void blk_handle_chain(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written);

#endif

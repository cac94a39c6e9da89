/* Split-virtqueue walker: every descriptor, index and length comes from the guest and is
 * treated as hostile. Pure: works on a struct vu_mem and plain pointers, never logs or does I/O.
 * The first violation marks the queue broken for good; a broken queue is never walked again. */
#ifndef CARAPACE_DEVICES_VHOST_VIRTQ_H
#define CARAPACE_DEVICES_VHOST_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"
#include "devices/vhost/mem.h"
#include "devices/vhost/proto.h"

#define VU_CHAIN_MAX VU_QUEUE_SIZE_MAX    /* buffers in one chain (the spec caps chains at N) */
#define VU_CHAIN_BYTES_MAX (1ull << 30)   /* bytes per direction in one chain */

struct vu_chain {
	uint16_t head;
	uint16_t n_out;       /* device-readable buffers, iov[0 .. n_out) */
	uint16_t n_in;        /* device-writable buffers, iov[n_out .. n_out+n_in) */
	uint64_t out_bytes;
	uint64_t in_bytes;
	struct iovec iov[VU_CHAIN_MAX];
	uint64_t gpa[VU_CHAIN_MAX]; /* guest address of each buffer, for the overlap check */
};

struct vu_vq {
	uint16_t num;          /* power of two, <= VU_QUEUE_SIZE_MAX */
	uint16_t last_avail;   /* next avail ring slot we will consume */
	uint16_t used_idx;     /* our shadow of used->idx */
	bool indirect;         /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;
	struct vring_desc_le *desc;
	uint8_t *avail;        /* le16 flags, idx, ring[num] */
	uint8_t *used;         /* le16 flags, idx, {le32 id, len}[num] */
	struct vu_inflight_queue *inflight; /* INFLIGHT_SHMFD region for this queue, or NULL */
	uint64_t inflight_counter;
	struct cp_err why;     /* the reason it broke */
};

/* Point the queue at its three areas (front-end virtual addresses): each must lie wholly in
 * one region, be aligned as the spec demands, and num must be a power of two <= the max. */
int vu_vq_setup(struct vu_vq *vq, const struct vu_mem *mem, uint32_t num, uint64_t desc_uva,
		uint64_t avail_uva, uint64_t used_uva, struct cp_err *err);

/* Take the next available chain. Returns 1 with *c filled, 0 if none is pending, or -EIO once
 * the queue is broken (err and vq->why say why). */
int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *mem, struct vu_chain *c, struct cp_err *err);

/* Walk the chain starting at descriptor `head` (used by pop and by in-flight resubmission). */
int vu_vq_walk(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head, struct vu_chain *c,
	       struct cp_err *err);

/* Return a chain to the driver with `len` bytes written, publishing the used index. */
void vu_vq_push(struct vu_vq *vq, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt now (VRING_AVAIL_F_NO_INTERRUPT clear). */
bool vu_vq_want_call(const struct vu_vq *vq);

/* Collect heads still marked in flight in the INFLIGHT_SHMFD region (oldest first) and set
 * last_avail past them, as a restarted back-end must. Returns the count or -errno. */
int vu_vq_inflight_resume(struct vu_vq *vq, uint16_t *heads, unsigned max, struct cp_err *err);

/* Copy helpers over a chain's readable / writable buffers (offset is within that direction). */
size_t vu_chain_read(const struct vu_chain *c, uint64_t off, void *dst, size_t len);
size_t vu_chain_write(const struct vu_chain *c, uint64_t off, const void *src, size_t len);

/* Slice [off, off+len) of the readable (or writable) buffers into out[]; returns the count,
 * -ERANGE if the chain is shorter, -E2BIG if max is too small. */
int vu_chain_iov(const struct vu_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *out, unsigned max);

#endif

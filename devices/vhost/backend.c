/* vhost-user back-end state machine: one const table maps each request to its handler and the
 * phase it is allowed in; an empty slot or a request out of order cuts the front-end off. */
#include "devices/vhost/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "devices/vhost/io.h"
#include "devices/vhost/pool.h"

struct vu_reply {
	uint32_t size;
	int fd;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_config_msg config;
		struct vu_inflight_msg inflight;
	} p;
};

typedef int (*vu_handler_fn)(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
			     struct cp_err *err);

struct vu_handler {
	vu_handler_fn fn;
	bool before_owner; /* allowed before SET_OWNER */
};

static void vu_ring_reset(struct vu_ring *r)
{
	memset(r, 0, sizeof(*r));
	r->kick_fd = r->call_fd = r->err_fd = -1;
}

void vu_be_init(struct vu_backend *be, const struct vu_dev_ops *ops, void *dev, int sock)
{
	memset(be, 0, sizeof(*be));
	be->ops = ops;
	be->dev = dev;
	be->sock = sock;
	be->phase = VU_BE_NEW;
	be->backend_fd = -1;
	for (unsigned i = 0; i < VU_QUEUE_MAX; i++)
		vu_ring_reset(&be->rings[i]);
}

void vu_be_free(struct vu_backend *be)
{
	for (unsigned i = 0; i < VU_QUEUE_MAX; i++) {
		struct vu_ring *r = &be->rings[i];

		if (r->kick_fd >= 0)
			close(r->kick_fd);
		if (r->call_fd >= 0)
			close(r->call_fd);
		if (r->err_fd >= 0)
			close(r->err_fd);
		vu_ring_reset(r);
	}
	vu_mem_unmap_all(&be->mem);
	if (be->backend_fd >= 0)
		close(be->backend_fd);
	be->backend_fd = -1;
	if (be->inflight_base)
		munmap(be->inflight_base, be->inflight_size);
	be->inflight_base = NULL;
}

bool vu_be_has_feature(const struct vu_backend *be, unsigned bit)
{
	return be->features & (1ull << bit);
}

static uint64_t vu_be_offered(const struct vu_backend *be)
{
	return be->ops->features | (1ull << VU_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_VERSION_1);
}

static uint64_t vu_be_offered_protocol(const struct vu_backend *be)
{
	uint64_t pf = be->ops->protocol_features & (VU_PF_IMPLEMENTED | VU_PF_OPTIONAL);

	/* Resubmitting in-flight requests needs a synchronous chain handler. */
	if (!be->ops->handle_chain)
		pf &= ~(1ull << VU_PF_INFLIGHT_SHMFD);
	return pf;
}

static bool vu_be_ring_enabled(const struct vu_backend *be, const struct vu_ring *r)
{
	/* Without VHOST_USER_F_PROTOCOL_FEATURES rings are enabled as soon as they start. */
	return vu_be_has_feature(be, VU_F_PROTOCOL_FEATURES) ? r->enabled : true;
}

bool vu_be_ring_live(const struct vu_backend *be, unsigned q)
{
	const struct vu_ring *r = &be->rings[q];

	return q < be->ops->num_queues && r->started && vu_be_ring_enabled(be, r) && !r->vq.broken;
}

static int vu_be_ring_index(struct vu_backend *be, uint32_t idx, const char *req, struct cp_err *err)
{
	if (idx >= be->ops->num_queues)
		return cp_err_set(err, EINVAL, "%s: ring %u does not exist (device has %u)", req, idx,
				  be->ops->num_queues);
	return 0;
}

static int vu_be_ring_stopped(struct vu_backend *be, uint32_t idx, const char *req, struct cp_err *err)
{
	int r = vu_be_ring_index(be, idx, req, err);

	if (r < 0)
		return r;
	if (be->rings[idx].started)
		return cp_err_set(err, EBUSY, "%s: ring %u is started; stop it with GET_VRING_BASE first", req, idx);
	return 0;
}

/* Requests that replace state a running ring points into (the in-flight region, the negotiated
 * protocol) are refused while any ring is started: the ring would keep a pointer into an unmapped
 * region, or switch bookkeeping mid-stream. The front-end stops rings (GET_VRING_BASE) first. */
static int vu_be_all_stopped(struct vu_backend *be, const char *req, struct cp_err *err)
{
	for (unsigned q = 0; q < be->ops->num_queues; q++)
		if (be->rings[q].started)
			return cp_err_set(err, EBUSY, "%s: ring %u is started; stop it with GET_VRING_BASE first", req, q);
	return 0;
}

/* A guest that broke a ring: say why, raise NEEDS_RESET and the error eventfd, never touch it again. */
static void vu_be_ring_broken(struct vu_backend *be, unsigned q)
{
	struct vu_ring *r = &be->rings[q];

	cp_err("%s: queue %u broken by the guest, no longer processed: %s", be->ops->name, q, r->vq.why.msg);
	be->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (r->err_fd >= 0)
		(void)eventfd_write(r->err_fd, 1);
}

/* (Re)translate a started ring's areas after its addresses or the memory table changed. */
static int vu_be_ring_map(struct vu_backend *be, unsigned q, struct cp_err *err)
{
	struct vu_ring *r = &be->rings[q];
	struct vu_vq *vq = &r->vq;
	int ret;

	ret = vu_vq_setup(vq, &be->mem, r->num, r->addr.desc, r->addr.avail, r->addr.used, err);
	if (ret < 0)
		return cp_err_prefix(err, "ring %u: ", q);
	vq->indirect = vu_be_has_feature(be, VIRTIO_F_INDIRECT_DESC);
	return 0;
}

static int vu_be_remap_started(struct vu_backend *be, struct cp_err *err)
{
	for (unsigned q = 0; q < be->ops->num_queues; q++) {
		if (!be->rings[q].started)
			continue;
		int ret = vu_be_ring_map(be, q, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static uint64_t vu_inflight_queue_bytes(uint16_t qsize)
{
	uint64_t b = sizeof(struct vu_inflight_queue) + (uint64_t)qsize * sizeof(struct vu_inflight_desc);

	return (b + 63) & ~63ull;
}

static void vu_be_resubmit(struct vu_backend *be, unsigned q);

static int vu_be_ring_start(struct vu_backend *be, unsigned q, struct cp_err *err)
{
	struct vu_ring *r = &be->rings[q];
	int ret;

	if (!r->num_set || !r->addr_set)
		return cp_err_set(err, EINVAL, "SET_VRING_KICK: ring %u started before SET_VRING_NUM and SET_VRING_ADDR", q);
	if (be->mem.n == 0)
		return cp_err_set(err, EINVAL, "SET_VRING_KICK: ring %u started without a memory table", q);
	ret = vu_be_ring_map(be, q, err);
	if (ret < 0)
		return ret;
	r->vq.inflight = NULL;
	if (be->inflight_base) {
		/* The region is laid out for the queue size given at GET_INFLIGHT_FD; the driver may
		 * choose a smaller ring (QEMU sizes it 128 while a guest may ask for 8): heads stay
		 * below r->num, so they fit, and the stride is the region's, not the ring's. */
		if (q >= be->inflight_queues || r->num > be->inflight_qsize)
			return cp_err_set(err, EINVAL, "ring %u (size %u) does not fit the inflight region (%u queues of %u)",
					  q, r->num, be->inflight_queues, be->inflight_qsize);
		r->vq.inflight = (void *)((uint8_t *)be->inflight_base + q * vu_inflight_queue_bytes(be->inflight_qsize));
	}
	r->started = true;
	if (r->vq.inflight)
		vu_be_resubmit(be, q);
	return 0;
}

/* ---- handlers ---- */

static int vu_h_get_features(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	rep->p.u64 = vu_be_offered(be);
	rep->size = 8;
	return 0;
}

static int vu_h_set_features(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	uint64_t f = m->p.u64, extra = f & ~vu_be_offered(be);

	if (extra)
		return cp_err_set(err, EINVAL, "SET_FEATURES: 0x%llx includes bits 0x%llx that were not offered",
				  (unsigned long long)f, (unsigned long long)extra);
	for (unsigned q = 0; q < be->ops->num_queues; q++)
		if (be->rings[q].started && ((f ^ be->features) & ~(1ull << VU_F_PROTOCOL_FEATURES)))
			return cp_err_set(err, EBUSY, "SET_FEATURES: ring %u is started; features cannot change", q);
	be->features = f;
	be->features_set = true;
	return 0;
}

static int vu_h_set_owner(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	if (be->phase != VU_BE_NEW)
		return cp_err_set(err, EBUSY, "SET_OWNER: the session already has an owner");
	be->phase = VU_BE_OWNED;
	return 0;
}

static int vu_h_reset_owner(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	return cp_err_set(err, EOPNOTSUPP, "RESET_OWNER is deprecated and refused; disconnect instead");
}

static int vu_be_take_fd(struct vu_msg *m, unsigned i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static int vu_h_set_mem_table(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	struct vu_mem fresh = { .n = 0 };
	uint32_t n = m->p.mem.nregions;
	int ret;

	ret = vu_mem_table_check(m->p.mem.regions, n, err);
	if (ret < 0)
		return cp_err_prefix(err, "SET_MEM_TABLE: ");
	/* Map everything first: on any failure the old table stays as it was. */
	for (uint32_t i = 0; i < n; i++) {
		ret = vu_mem_map_add(&fresh, &m->p.mem.regions[i], m->fds[i], err);
		if (ret < 0) {
			vu_mem_unmap_all(&fresh);
			return cp_err_prefix(err, "SET_MEM_TABLE region %u: ", i);
		}
	}
	vu_mem_unmap_all(&be->mem);
	be->mem = fresh;
	return vu_be_remap_started(be, err);
}

static int vu_h_add_mem_reg(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	if (!(be->protocol & (1ull << VU_PF_CONFIGURE_MEM_SLOTS)))
		return cp_err_set(err, EPROTO, "ADD_MEM_REG: CONFIGURE_MEM_SLOTS was not negotiated");
	int ret = vu_mem_map_add(&be->mem, &m->p.memreg.region, m->fds[0], err);
	if (ret < 0)
		return cp_err_prefix(err, "ADD_MEM_REG: ");
	return 0;
}

static int vu_h_rem_mem_reg(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	if (!(be->protocol & (1ull << VU_PF_CONFIGURE_MEM_SLOTS)))
		return cp_err_set(err, EPROTO, "REM_MEM_REG: CONFIGURE_MEM_SLOTS was not negotiated");
	int ret = vu_mem_remove(&be->mem, &m->p.memreg.region, err);
	if (ret < 0)
		return ret;
	return vu_be_remap_started(be, err);
}

static int vu_h_set_vring_num(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	uint32_t num = m->p.state.num;
	int ret = vu_be_ring_stopped(be, m->p.state.index, "SET_VRING_NUM", err);

	if (ret < 0)
		return ret;
	if (num == 0 || num > VU_QUEUE_SIZE_MAX || (num & (num - 1)))
		return cp_err_set(err, EINVAL, "SET_VRING_NUM: ring %u size %u is not a power of two in [1, %u]",
				  m->p.state.index, num, VU_QUEUE_SIZE_MAX);
	be->rings[m->p.state.index].num = num;
	be->rings[m->p.state.index].num_set = true;
	return 0;
}

static int vu_h_set_vring_addr(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	int ret = vu_be_ring_stopped(be, m->p.addr.index, "SET_VRING_ADDR", err);

	if (ret < 0)
		return ret;
	if (m->p.addr.flags & 1)
		return cp_err_set(err, EOPNOTSUPP, "SET_VRING_ADDR: ring %u asks for dirty logging, not offered",
				  m->p.addr.index);
	be->rings[m->p.addr.index].addr = m->p.addr;
	be->rings[m->p.addr.index].addr_set = true;
	return 0;
}

static int vu_h_set_vring_base(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	int ret = vu_be_ring_stopped(be, m->p.state.index, "SET_VRING_BASE", err);
	struct vu_ring *r;

	if (ret < 0)
		return ret;
	if (m->p.state.num > 0xffff)
		return cp_err_set(err, EINVAL, "SET_VRING_BASE: ring %u base 0x%x exceeds 16 bits (packed rings are not offered)",
				  m->p.state.index, m->p.state.num);
	r = &be->rings[m->p.state.index];
	r->vq.last_avail = (uint16_t)m->p.state.num;
	r->vq.used_idx = (uint16_t)m->p.state.num;
	r->vq.broken = false; /* a fresh start of the ring after a device reset */
	cp_err_clear(&r->vq.why);
	return 0;
}

static int vu_h_get_vring_base(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	int ret = vu_be_ring_index(be, m->p.state.index, "GET_VRING_BASE", err);
	struct vu_ring *r;

	if (ret < 0)
		return ret;
	r = &be->rings[m->p.state.index];
	r->started = false;
	if (r->kick_fd >= 0)
		close(r->kick_fd);
	r->kick_fd = -1;
	rep->p.state.index = m->p.state.index;
	rep->p.state.num = r->vq.last_avail;
	rep->size = 8;
	return 0;
}

static int vu_h_set_vring_fd(struct vu_backend *be, struct vu_msg *m, int which, struct cp_err *err)
{
	static const char *const names[] = { "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ERR" };
	unsigned idx = (unsigned)(m->p.u64 & VU_VRING_IDX_MASK);
	bool nofd = m->p.u64 & VU_VRING_NOFD;
	struct vu_ring *r;
	int *slot, ret;

	ret = vu_be_ring_index(be, idx, names[which], err);
	if (ret < 0)
		return ret;
	r = &be->rings[idx];
	slot = which == 0 ? &r->kick_fd : which == 1 ? &r->call_fd : &r->err_fd;
	if (which == 0 && nofd)
		return cp_err_set(err, EOPNOTSUPP, "SET_VRING_KICK: ring %u without an fd (polling) is not supported", idx);
	if (*slot >= 0)
		close(*slot);
	*slot = nofd ? -1 : vu_be_take_fd(m, 0);
	if (which == 0) {
		int fl = 1;

		/* Kicks are drained without blocking: a spurious wake-up must not stall the loop. */
		if (ioctl(r->kick_fd, FIONBIO, &fl) < 0)
			return cp_err_set(err, errno, "SET_VRING_KICK: ring %u: FIONBIO: %s", idx, strerror(errno));
		if (!r->started)
			return vu_be_ring_start(be, idx, err);
	}
	return 0;
}

static int vu_h_set_vring_kick(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	return vu_h_set_vring_fd(be, m, 0, err);
}

static int vu_h_set_vring_call(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	return vu_h_set_vring_fd(be, m, 1, err);
}

static int vu_h_set_vring_err(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	return vu_h_set_vring_fd(be, m, 2, err);
}

static int vu_h_get_protocol_features(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				      struct cp_err *err)
{
	rep->p.u64 = vu_be_offered_protocol(be);
	rep->size = 8;
	return 0;
}

static int vu_h_set_protocol_features(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				      struct cp_err *err)
{
	uint64_t extra = m->p.u64 & ~vu_be_offered_protocol(be);

	if (extra)
		return cp_err_set(err, EINVAL, "SET_PROTOCOL_FEATURES: 0x%llx includes bits 0x%llx that were not offered",
				  (unsigned long long)m->p.u64, (unsigned long long)extra);
	if (be->protocol_set && m->p.u64 != be->protocol && vu_be_all_stopped(be, "SET_PROTOCOL_FEATURES", err) < 0)
		return -EBUSY;
	be->protocol = m->p.u64;
	be->protocol_set = true;
	return 0;
}

static int vu_h_get_queue_num(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	rep->p.u64 = be->ops->num_queues;
	rep->size = 8;
	return 0;
}

static int vu_h_set_vring_enable(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				 struct cp_err *err)
{
	int ret = vu_be_ring_index(be, m->p.state.index, "SET_VRING_ENABLE", err);

	if (ret < 0)
		return ret;
	if (!vu_be_has_feature(be, VU_F_PROTOCOL_FEATURES))
		return cp_err_set(err, EPROTO, "SET_VRING_ENABLE: VHOST_USER_F_PROTOCOL_FEATURES was not negotiated");
	if (m->p.state.num > 1)
		return cp_err_set(err, EINVAL, "SET_VRING_ENABLE: ring %u value %u is not 0 or 1", m->p.state.index,
				  m->p.state.num);
	be->rings[m->p.state.index].enabled = m->p.state.num;
	return 0;
}

static int vu_h_get_config(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	uint8_t cfg[VU_CONFIG_MAX] = { 0 };
	const struct vu_config_msg *c = &m->p.config;

	rep->p.config.offset = c->offset;
	rep->p.config.size = c->size;
	rep->p.config.flags = c->flags;
	/* Reads past the device's fields (a newer front-end's larger struct) return zeros, as
	 * reserved config space does; only reads past VU_CONFIG_MAX are refused. */
	if (!(be->protocol & (1ull << VU_PF_CONFIG)) || c->offset > VU_CONFIG_MAX ||
	    c->size > VU_CONFIG_MAX - c->offset || !be->ops->get_config) {
		/* The spec's error answer is an empty payload. */
		cp_warn("%s: GET_CONFIG offset %u size %u refused (config space is %u bytes)", be->ops->name,
			c->offset, c->size, VU_CONFIG_MAX);
		rep->size = 0;
		return 0;
	}
	be->ops->get_config(be->dev, cfg);
	memcpy(rep->p.config.data, cfg + c->offset, c->size);
	rep->size = VU_CONFIG_HDR_SIZE + c->size;
	return 0;
}

static int vu_h_set_config(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	/* No carapace device has a writable config field: refuse without cutting the front-end off. */
	cp_warn("%s: SET_CONFIG offset %u size %u refused: config space is read-only", be->ops->name,
		m->p.config.offset, m->p.config.size);
	return 1;
}

static int vu_h_get_inflight_fd(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				struct cp_err *err)
{
	uint16_t nq = m->p.inflight.num_queues, qs = m->p.inflight.queue_size;
	uint64_t size;
	_cleanup_close_ int fd = -1;
	void *base;

	if (!(be->protocol & (1ull << VU_PF_INFLIGHT_SHMFD)))
		return cp_err_set(err, EPROTO, "GET_INFLIGHT_FD: INFLIGHT_SHMFD was not negotiated");
	if (vu_be_all_stopped(be, "GET_INFLIGHT_FD", err) < 0)
		return -EBUSY;
	if (nq == 0 || nq > be->ops->num_queues || qs == 0 || qs > VU_QUEUE_SIZE_MAX || (qs & (qs - 1)))
		return cp_err_set(err, EINVAL, "GET_INFLIGHT_FD: %u queues of %u entries not possible (max %u of %u)",
				  nq, qs, be->ops->num_queues, VU_QUEUE_SIZE_MAX);
	size = nq * vu_inflight_queue_bytes(qs);
	fd = memfd_create("carapace-inflight", MFD_CLOEXEC);
	if (fd < 0)
		return cp_err_set(err, errno, "GET_INFLIGHT_FD: memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0)
		return cp_err_set(err, errno, "GET_INFLIGHT_FD: ftruncate: %s", strerror(errno));
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return cp_err_set(err, errno, "GET_INFLIGHT_FD: mmap: %s", strerror(errno));
	for (uint16_t q = 0; q < nq; q++) {
		struct vu_inflight_queue *iq = (void *)((uint8_t *)base + q * vu_inflight_queue_bytes(qs));

		iq->version = 1;
		iq->desc_num = qs;
	}
	if (be->inflight_base)
		munmap(be->inflight_base, be->inflight_size);
	be->inflight_base = base;
	be->inflight_size = size;
	be->inflight_queues = nq;
	be->inflight_qsize = qs;
	rep->p.inflight = (struct vu_inflight_msg){ .mmap_size = size, .mmap_offset = 0,
						    .num_queues = nq, .queue_size = qs };
	rep->size = sizeof(rep->p.inflight);
	rep->fd = TAKE_FD(fd);
	return 0;
}

static int vu_h_set_inflight_fd(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				struct cp_err *err)
{
	const struct vu_inflight_msg *in = &m->p.inflight;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	void *base;

	if (!(be->protocol & (1ull << VU_PF_INFLIGHT_SHMFD)))
		return cp_err_set(err, EPROTO, "SET_INFLIGHT_FD: INFLIGHT_SHMFD was not negotiated");
	if (vu_be_all_stopped(be, "SET_INFLIGHT_FD", err) < 0)
		return -EBUSY;
	if (in->num_queues == 0 || in->num_queues > be->ops->num_queues || in->queue_size == 0 ||
	    in->queue_size > VU_QUEUE_SIZE_MAX || (in->queue_size & (in->queue_size - 1)) ||
	    in->mmap_size != in->num_queues * vu_inflight_queue_bytes(in->queue_size) ||
	    in->mmap_offset % (uint64_t)page || in->mmap_offset > (uint64_t)INT64_MAX - in->mmap_size)
		return cp_err_set(err, EINVAL, "SET_INFLIGHT_FD: size 0x%llx offset 0x%llx for %u queues of %u is inconsistent",
				  (unsigned long long)in->mmap_size, (unsigned long long)in->mmap_offset,
				  in->num_queues, in->queue_size);
	if (fstat(m->fds[0], &st) < 0 || (uint64_t)st.st_size < in->mmap_offset + in->mmap_size)
		return cp_err_set(err, EINVAL, "SET_INFLIGHT_FD: fd is smaller than offset + size");
	base = mmap(NULL, in->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[0], (off_t)in->mmap_offset);
	if (base == MAP_FAILED)
		return cp_err_set(err, errno, "SET_INFLIGHT_FD: mmap: %s", strerror(errno));
	if (be->inflight_base)
		munmap(be->inflight_base, be->inflight_size);
	be->inflight_base = base;
	be->inflight_size = in->mmap_size;
	be->inflight_queues = in->num_queues;
	be->inflight_qsize = in->queue_size;
	return 0;
}

static int vu_h_get_max_mem_slots(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				  struct cp_err *err)
{
	rep->p.u64 = VU_MEM_SLOTS_MAX;
	rep->size = 8;
	return 0;
}

static int vu_h_set_status(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	if (!(be->protocol & (1ull << VU_PF_STATUS)))
		return cp_err_set(err, EPROTO, "SET_STATUS: STATUS was not negotiated");
	if (m->p.u64 > 0xff)
		return cp_err_set(err, EINVAL, "SET_STATUS: 0x%llx is wider than 8 bits", (unsigned long long)m->p.u64);
	if ((m->p.u64 & VIRTIO_STATUS_FEATURES_OK) && !be->features_set)
		return cp_err_set(err, EPROTO, "SET_STATUS: FEATURES_OK before SET_FEATURES");
	be->status = (uint8_t)m->p.u64;
	return 0;
}

static int vu_h_get_status(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep, struct cp_err *err)
{
	if (!(be->protocol & (1ull << VU_PF_STATUS)))
		return cp_err_set(err, EPROTO, "GET_STATUS: STATUS was not negotiated");
	rep->p.u64 = be->status;
	rep->size = 8;
	return 0;
}

static int vu_h_set_backend_req_fd(struct vu_backend *be, struct vu_msg *m, struct vu_reply *rep,
				   struct cp_err *err)
{
	if (!(be->protocol & (1ull << VU_PF_BACKEND_REQ)))
		return cp_err_set(err, EPROTO, "SET_BACKEND_REQ_FD: BACKEND_REQ was not negotiated");
	if (be->backend_fd >= 0)
		close(be->backend_fd);
	be->backend_fd = vu_be_take_fd(m, 0);
	return 0;
}

int vu_be_config_changed(struct vu_backend *be, struct cp_err *err)
{
	struct cp_err serr = { 0 };

	if (be->backend_fd < 0 || !(be->protocol & (1ull << VU_PF_BACKEND_REQ)))
		return cp_err_set(err, ENOTCONN, "%s: the front-end gave no back-end channel: the guest is not told "
				  "of the new configuration", be->ops->name);
	if (vu_sock_send(be->backend_fd, VU_BREQ_CONFIG_CHANGE_MSG, VU_FLAG_VERSION, NULL, 0, NULL, 0, &serr) < 0)
		return cp_err_set(err, serr.code, "%s: BACKEND_CONFIG_CHANGE_MSG: %s", be->ops->name, strerror(serr.code));
	return 0;
}

/* Requests absent here are refused by the reader already; this table is the second gate. */
static const struct vu_handler vu_handlers[VU_REQ_MAX] = {
	[VU_REQ_GET_FEATURES] = { vu_h_get_features, true },
	[VU_REQ_SET_FEATURES] = { vu_h_set_features, false },
	[VU_REQ_SET_OWNER] = { vu_h_set_owner, true },
	[VU_REQ_RESET_OWNER] = { vu_h_reset_owner, false },
	[VU_REQ_SET_MEM_TABLE] = { vu_h_set_mem_table, false },
	[VU_REQ_SET_VRING_NUM] = { vu_h_set_vring_num, false },
	[VU_REQ_SET_VRING_ADDR] = { vu_h_set_vring_addr, false },
	[VU_REQ_SET_VRING_BASE] = { vu_h_set_vring_base, false },
	[VU_REQ_GET_VRING_BASE] = { vu_h_get_vring_base, false },
	[VU_REQ_SET_VRING_KICK] = { vu_h_set_vring_kick, false },
	[VU_REQ_SET_VRING_CALL] = { vu_h_set_vring_call, false },
	[VU_REQ_SET_VRING_ERR] = { vu_h_set_vring_err, false },
	[VU_REQ_GET_PROTOCOL_FEATURES] = { vu_h_get_protocol_features, true },
	[VU_REQ_SET_PROTOCOL_FEATURES] = { vu_h_set_protocol_features, true },
	[VU_REQ_GET_QUEUE_NUM] = { vu_h_get_queue_num, true },
	[VU_REQ_SET_VRING_ENABLE] = { vu_h_set_vring_enable, false },
	[VU_REQ_GET_CONFIG] = { vu_h_get_config, true },
	[VU_REQ_SET_CONFIG] = { vu_h_set_config, false },
	[VU_REQ_GET_INFLIGHT_FD] = { vu_h_get_inflight_fd, false },
	[VU_REQ_SET_INFLIGHT_FD] = { vu_h_set_inflight_fd, false },
	[VU_REQ_GET_MAX_MEM_SLOTS] = { vu_h_get_max_mem_slots, true },
	[VU_REQ_ADD_MEM_REG] = { vu_h_add_mem_reg, false },
	[VU_REQ_REM_MEM_REG] = { vu_h_rem_mem_reg, false },
	[VU_REQ_SET_STATUS] = { vu_h_set_status, false },
	[VU_REQ_GET_STATUS] = { vu_h_get_status, false },
	[VU_REQ_SET_BACKEND_REQ_FD] = { vu_h_set_backend_req_fd, true }, /* QEMU sends it before SET_OWNER */
};

int vu_be_handle(struct vu_backend *be, struct vu_msg *m, struct cp_err *err)
{
	struct vu_reply rep = { .size = 0, .fd = -1 };
	uint32_t req = m->hdr.request;
	const char *name = vu_req_name(req);
	bool need_ack;
	int ret;

	cp_debug("%s: %s flags 0x%x size %u fds %u", be->ops->name, name, m->hdr.flags, m->hdr.size, m->nfds);
	if (req >= VU_REQ_MAX || !vu_handlers[req].fn) {
		ret = cp_err_set(err, EPROTO, "request %u (%s) has no handler", req, name);
		goto out;
	}
	if (be->phase == VU_BE_NEW && !vu_handlers[req].before_owner) {
		ret = cp_err_set(err, EPROTO, "%s before SET_OWNER (state: no owner)", name);
		goto out;
	}
#ifdef CARAPACE_TEST_HOOKS
	if (be->test_stall_req && req == be->test_stall_req) {
		cp_warn("%s: test hook: stalling on %s", be->ops->name, name);
		for (;;)
			(void)poll(NULL, 0, -1);
	}
	if (be->test_fd_req && req == be->test_fd_req && rep.fd < 0)
		rep.fd = memfd_create("hostile", MFD_CLOEXEC); /* what a compromised back-end could send */
#endif
	ret = vu_handlers[req].fn(be, m, &rep, err);
	need_ack = (m->hdr.flags & VU_FLAG_NEED_REPLY) && (be->protocol & (1ull << VU_PF_REPLY_ACK)) &&
		   !vu_req_has_reply(req);
	if (vu_req_has_reply(req) && ret == 0) {
		int r2 = vu_sock_send(be->sock, req, VU_FLAG_VERSION | VU_FLAG_REPLY, &rep.p, rep.size,
				      rep.fd >= 0 ? &rep.fd : NULL, rep.fd >= 0 ? 1 : 0, err);
		if (r2 < 0)
			ret = r2;
	} else if (need_ack) {
		uint64_t ack = ret == 0 ? 0 : 1;
		int r2 = vu_sock_send(be->sock, req, VU_FLAG_VERSION | VU_FLAG_REPLY, &ack, 8,
				      rep.fd >= 0 ? &rep.fd : NULL, rep.fd >= 0 ? 1 : 0, ret < 0 ? NULL : err);
		if (r2 < 0 && ret >= 0)
			ret = r2;
	}
	if (ret > 0)
		ret = 0; /* refused but harmless (nack sent) */
out:
	if (rep.fd >= 0)
		close(rep.fd);
	vu_msg_close_fds(m);
	return ret;
}

/* ---- data path ---- */

int vu_be_pop(struct vu_backend *be, unsigned q, struct vu_chain *c)
{
	struct cp_err err = { 0 };
	int r;

	if (!vu_be_ring_live(be, q))
		return 0;
	r = vu_vq_pop(&be->rings[q].vq, &be->mem, c, &err);
	if (r < 0) {
		vu_be_ring_broken(be, q);
		return 0;
	}
	return r;
}

void vu_be_push(struct vu_backend *be, unsigned q, uint16_t head, uint32_t len)
{
	vu_vq_push(&be->rings[q].vq, head, len);
}

void vu_be_notify(struct vu_backend *be, unsigned q)
{
	struct vu_ring *r = &be->rings[q];

	if (r->call_fd >= 0 && vu_vq_want_call(&r->vq))
		(void)eventfd_write(r->call_fd, 1);
}

static void vu_be_resubmit(struct vu_backend *be, unsigned q)
{
	struct vu_ring *r = &be->rings[q];
	uint16_t heads[VU_QUEUE_SIZE_MAX];
	struct cp_err err = { 0 };
	int n = vu_vq_inflight_resume(&r->vq, heads, VU_QUEUE_SIZE_MAX, &err);

	if (n < 0) {
		cp_err("%s: queue %u: in-flight region unusable, not resubmitting: %s", be->ops->name, q, err.msg);
		return;
	}
	if (n > 0)
		cp_info("%s: queue %u: resubmitting %d in-flight request(s)", be->ops->name, q, n);
	for (int i = 0; i < n; i++) {
		uint32_t written = 0;

		if (vu_vq_walk(&r->vq, &be->mem, heads[i], &be->chain, &err) < 0) {
			vu_be_ring_broken(be, q);
			return;
		}
		r->vq.inflight->desc[heads[i]].inflight = 1;
		be->ops->handle_chain(be, q, &be->chain, &written);
		vu_vq_push(&r->vq, heads[i], written);
	}
	if (n > 0)
		vu_be_notify(be, q);
}

static void vu_be_process(struct vu_backend *be, unsigned q)
{
	struct vu_ring *r = &be->rings[q];
	unsigned done = 0;
	int got;

	if (be->ops->queue_kick) {
		be->ops->queue_kick(be, q);
		return;
	}
	if (be->pool) {
		struct vu_pool_req *req, *first = NULL, *last = NULL;
		unsigned n = 0;

		/* Take everything available, hand it over as one batch, then work on it alongside
		 * the workers. Out of request slots: the rest stays in the avail ring until a
		 * completion wakes the loop. */
		while ((req = vu_pool_get(be->pool))) {
			if (vu_be_pop(be, q, &req->c) != 1) {
				vu_pool_put(be->pool, req);
				break;
			}
			req->q = q;
			req->next = NULL;
			if (last)
				last->next = req;
			else
				first = req;
			last = req;
			n++;
		}
		if (n) {
			vu_pool_submit(be->pool, first, last, n);
			vu_pool_help(be->pool);
		}
		return;
	}
	while ((got = vu_be_pop(be, q, &be->chain)) == 1) {
		uint32_t written = 0;

		be->ops->handle_chain(be, q, &be->chain, &written);
		vu_vq_push(&r->vq, be->chain.head, written);
		/* Interrupt at least once per queue's worth so a deep queue keeps moving. */
		if (++done % r->num == 0)
			vu_be_notify(be, q);
	}
	if (done)
		vu_be_notify(be, q);
}

int vu_be_start_workers(struct vu_backend *be, struct cp_err *err)
{
	int r;

	if (!be->ops->workers || !be->ops->handle_chain)
		return 0;
	be->pool = calloc(1, sizeof(*be->pool));
	if (!be->pool)
		return cp_err_set(err, ENOMEM, "out of memory");
	r = vu_pool_start(be->pool, be, be->ops->workers);
	if (r < 0)
		return cp_err_set(err, -r, "starting %u worker threads: %s", be->ops->workers, strerror(-r));
	return 0;
}

int vu_be_run(struct vu_backend *be, struct cp_err *err)
{
	struct pollfd pfd[VU_QUEUE_MAX + 2];
	unsigned qmap[VU_QUEUE_MAX + 2];
	struct vu_msg *m = NULL;
	int ret = 0;

	m = calloc(1, sizeof(*m));
	if (!m)
		return cp_err_set(err, ENOMEM, "out of memory");
	for (;;) {
		unsigned n = 0;
		int extra = be->ops->extra_fd ? be->ops->extra_fd(be->dev) : -1;

		pfd[n++] = (struct pollfd){ .fd = be->sock, .events = POLLIN };
		for (unsigned q = 0; q < be->ops->num_queues; q++) {
			if (!vu_be_ring_live(be, q) || be->rings[q].kick_fd < 0)
				continue;
			qmap[n] = q;
			pfd[n++] = (struct pollfd){ .fd = be->rings[q].kick_fd, .events = POLLIN };
		}
		if (extra >= 0) {
			qmap[n] = UINT32_MAX;
			pfd[n++] = (struct pollfd){ .fd = extra, .events = POLLIN };
		}
		if (be->pool) {
			qmap[n] = UINT32_MAX - 1;
			pfd[n++] = (struct pollfd){ .fd = be->pool->wake_fd, .events = POLLIN };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = cp_err_set(err, errno, "poll: %s", strerror(errno));
			break;
		}
		for (unsigned i = 1; i < n; i++) {
			eventfd_t v;

			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (qmap[i] == UINT32_MAX) {
				be->ops->extra_ready(be);
				continue;
			}
			if (qmap[i] == UINT32_MAX - 1) {
				/* Request slots freed up: take what the rings still hold. */
				(void)eventfd_read(pfd[i].fd, &v);
				for (unsigned q = 0; q < be->ops->num_queues; q++)
					if (vu_be_ring_live(be, q))
						vu_be_process(be, q);
				continue;
			}
			/* Kicks: as many as the eventfd added up (none on a spurious wake-up). */
			if (eventfd_read(pfd[i].fd, &v) == 0 && be->ops->queue_event)
				be->ops->queue_event(be->dev, qmap[i], v);
			vu_be_process(be, qmap[i]);
		}
		if (pfd[0].revents) {
			int r;

			/* Messages may remap memory or stop rings: nothing may be in flight then. */
			if (be->pool)
				vu_pool_drain(be->pool);
			r = vu_sock_recv_request(be->sock, m, err);

			if (r == 0)
				break;
			if (r < 0) {
				ret = r;
				break;
			}
			r = vu_be_handle(be, m, err);
			if (r < 0) {
				ret = r;
				break;
			}
			/* A ring that just became live may already have work (kick sent before enable). */
			for (unsigned q = 0; q < be->ops->num_queues; q++)
				if (vu_be_ring_live(be, q))
					vu_be_process(be, q);
		}
	}
	if (be->pool)
		vu_pool_drain(be->pool);
	free(m);
	return ret;
}

/* Minimal vhost-user front-end and driver-side split ring (tests, benchmark, runner). */
#include "devices/vhost/frontend.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "devices/vhost/io.h"

static void vu_fe_build_hdr(struct vu_msg *m, uint32_t req, uint32_t size)
{
	m->hdr.request = req;
	m->hdr.flags = VU_FLAG_VERSION;
	m->hdr.size = size;
	m->nfds = 0;
}

void vu_fe_build_u64(struct vu_msg *m, uint32_t req, uint64_t v)
{
	vu_fe_build_hdr(m, req, 8);
	m->p.u64 = v;
}

void vu_fe_build_empty(struct vu_msg *m, uint32_t req)
{
	vu_fe_build_hdr(m, req, 0);
}

void vu_fe_build_state(struct vu_msg *m, uint32_t req, uint32_t index, uint32_t num)
{
	vu_fe_build_hdr(m, req, 8);
	m->p.state.index = index;
	m->p.state.num = num;
}

void vu_fe_build_vring_addr(struct vu_msg *m, uint32_t index, uint64_t desc, uint64_t avail, uint64_t used)
{
	vu_fe_build_hdr(m, VU_REQ_SET_VRING_ADDR, sizeof(struct vu_vring_addr));
	m->p.addr = (struct vu_vring_addr){ .index = index, .desc = desc, .avail = avail, .used = used };
}

int vu_fe_build_mem_table(struct vu_msg *m, const struct vu_region *r, const int *fds, unsigned n,
			  struct cp_err *err)
{
	if (n == 0 || n > VU_MEM_TABLE_MAX)
		return cp_err_set(err, EINVAL, "SET_MEM_TABLE: %u regions, 1 to %u possible", n, VU_MEM_TABLE_MAX);
	vu_fe_build_hdr(m, VU_REQ_SET_MEM_TABLE, 8 + n * (uint32_t)sizeof(struct vu_region));
	m->p.mem.nregions = n;
	m->p.mem.padding = 0;
	for (unsigned i = 0; i < n; i++) {
		m->p.mem.regions[i] = r[i];
		m->fds[i] = fds[i];
	}
	m->nfds = n;
	return 0;
}

void vu_fe_build_mem_reg(struct vu_msg *m, uint32_t req, const struct vu_region *r, int fd)
{
	vu_fe_build_hdr(m, req, sizeof(struct vu_mem_reg_msg));
	m->p.memreg.padding = 0;
	m->p.memreg.region = *r;
	m->fds[0] = fd;
	m->nfds = 1;
}

void vu_fe_build_config(struct vu_msg *m, uint32_t req, uint32_t offset, uint32_t size, const void *data)
{
	if (size > VU_CONFIG_MAX)
		size = VU_CONFIG_MAX;
	vu_fe_build_hdr(m, req, VU_CONFIG_HDR_SIZE + size);
	m->p.config.offset = offset;
	m->p.config.size = size;
	m->p.config.flags = 0;
	if (data)
		memcpy(m->p.config.data, data, size);
	else
		memset(m->p.config.data, 0, size);
}

/* Every reply the front-end waits for: an absolute deadline from now, and the cancel flag. */
static int fe_reply(struct vu_fe *fe, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
		    struct vu_msg *m, struct cp_err *err)
{
	struct vu_wait w = { .deadline_ns = fe->reply_timeout_ms ? vu_deadline_after_ms(fe->reply_timeout_ms) : 0,
			     .cancel = fe->cancel };

	return vu_sock_recv_reply_wait(fe->sock, request, size, size_is_max, max_fds, &w, m, err);
}

int vu_fe_send(struct vu_fe *fe, struct vu_msg *m, struct cp_err *err)
{
	bool ack = (fe->protocol & (1ull << VU_PF_REPLY_ACK)) && !vu_req_has_reply(m->hdr.request);
	struct vu_msg *rep;
	int r;

	if (ack)
		m->hdr.flags |= VU_FLAG_NEED_REPLY;
	r = vu_sock_send(fe->sock, m->hdr.request, m->hdr.flags, m->p.raw, m->hdr.size, m->fds, m->nfds, err);
	if (r < 0 || !ack)
		return r;
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return cp_err_set(err, ENOMEM, "out of memory");
	r = fe_reply(fe, m->hdr.request, 8, 0, 0, rep, err);
	if (r == 0 && rep->p.u64 != 0)
		r = cp_err_set(err, EREMOTEIO, "%s: back-end answered ack %llu (failure)",
			       vu_req_name(m->hdr.request), (unsigned long long)rep->p.u64);
	free(rep);
	return r;
}

int vu_fe_connect(struct vu_fe *fe, const char *path, struct cp_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	memset(fe, 0, sizeof(*fe));
	fe->sock = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return cp_err_set(err, ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cp_err_set(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cp_err_set(err, errno, "connect %s: %s", path, strerror(errno));
	fe->sock = TAKE_FD(fd);
	return 0;
}

void vu_fe_close(struct vu_fe *fe)
{
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
}

int vu_fe_get_u64(struct vu_fe *fe, uint32_t req, uint64_t *out, struct cp_err *err)
{
	struct vu_msg m;
	int r;

	vu_fe_build_empty(&m, req);
	r = vu_sock_send(fe->sock, req, VU_FLAG_VERSION, NULL, 0, NULL, 0, err);
	if (r < 0)
		return r;
	r = fe_reply(fe, req, 8, 0, 0, &m, err);
	if (r < 0)
		return r;
	*out = m.p.u64;
	return 0;
}

static int vu_fe_set_u64(struct vu_fe *fe, uint32_t req, uint64_t v, struct cp_err *err)
{
	struct vu_msg m;

	vu_fe_build_u64(&m, req, v);
	return vu_fe_send(fe, &m, err);
}

int vu_fe_negotiate(struct vu_fe *fe, uint64_t want_features, uint64_t want_protocol, struct cp_err *err)
{
	struct vu_msg m;
	uint64_t pf = 0, v;
	int r;

	r = vu_fe_get_u64(fe, VU_REQ_GET_FEATURES, &fe->features, err);
	if (r < 0)
		return r;
	fe->queue_num = 1;
	if (fe->features & (1ull << VU_F_PROTOCOL_FEATURES)) {
		r = vu_fe_get_u64(fe, VU_REQ_GET_PROTOCOL_FEATURES, &pf, err);
		if (r < 0)
			return r;
		pf &= want_protocol & VU_FE_PROTOCOL_SUPPORTED;
		r = vu_fe_set_u64(fe, VU_REQ_SET_PROTOCOL_FEATURES, pf, err);
		if (r < 0)
			return r;
		fe->protocol = pf;
		if (pf & (1ull << VU_PF_MQ)) {
			r = vu_fe_get_u64(fe, VU_REQ_GET_QUEUE_NUM, &v, err);
			if (r < 0)
				return r;
			fe->queue_num = (uint32_t)v;
		}
		if (pf & (1ull << VU_PF_CONFIGURE_MEM_SLOTS)) {
			r = vu_fe_get_u64(fe, VU_REQ_GET_MAX_MEM_SLOTS, &v, err);
			if (r < 0)
				return r;
			fe->mem_slots = (uint32_t)v;
		}
	}
	vu_fe_build_empty(&m, VU_REQ_SET_OWNER);
	r = vu_fe_send(fe, &m, err);
	if (r < 0)
		return r;
	fe->acked = (fe->features & want_features & VU_FE_FEATURES_SUPPORTED) | (fe->features & (1ull << VU_F_PROTOCOL_FEATURES));
	return vu_fe_set_u64(fe, VU_REQ_SET_FEATURES, fe->acked, err);
}

int vu_fe_add_memory(struct vu_fe *fe, const struct vu_region *r, int fd, struct cp_err *err)
{
	struct vu_msg m;
	int ret;

	if (fe->protocol & (1ull << VU_PF_CONFIGURE_MEM_SLOTS)) {
		vu_fe_build_mem_reg(&m, VU_REQ_ADD_MEM_REG, r, fd);
	} else {
		ret = vu_fe_build_mem_table(&m, r, &fd, 1, err);
		if (ret < 0)
			return ret;
	}
	return vu_fe_send(fe, &m, err);
}

int vu_fe_get_config(struct vu_fe *fe, uint32_t offset, uint32_t size, void *out, struct cp_err *err)
{
	struct vu_msg *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return cp_err_set(err, ENOMEM, "out of memory");
	vu_fe_build_config(m, VU_REQ_GET_CONFIG, offset, size, NULL);
	r = vu_sock_send(fe->sock, VU_REQ_GET_CONFIG, VU_FLAG_VERSION, m->p.raw, m->hdr.size, NULL, 0, err);
	if (r == 0)
		r = fe_reply(fe, VU_REQ_GET_CONFIG, VU_CONFIG_HDR_SIZE + size, 1, 0, m, err);
	if (r == 0 && (m->hdr.size != VU_CONFIG_HDR_SIZE + size || m->p.config.size != size))
		r = cp_err_set(err, EREMOTEIO, "GET_CONFIG offset %u size %u refused by the back-end", offset, size);
	if (r == 0)
		memcpy(out, m->p.config.data, size);
	free(m);
	return r;
}

int vu_fe_vring_start(struct vu_fe *fe, uint32_t idx, uint32_t num, uint64_t desc_uva, uint64_t avail_uva,
		      uint64_t used_uva, uint16_t base, int kick_fd, int call_fd, struct cp_err *err)
{
	struct vu_msg m;
	int r;

	vu_fe_build_state(&m, VU_REQ_SET_VRING_NUM, idx, num);
	if ((r = vu_fe_send(fe, &m, err)) < 0)
		return r;
	vu_fe_build_state(&m, VU_REQ_SET_VRING_BASE, idx, base);
	if ((r = vu_fe_send(fe, &m, err)) < 0)
		return r;
	vu_fe_build_vring_addr(&m, idx, desc_uva, avail_uva, used_uva);
	if ((r = vu_fe_send(fe, &m, err)) < 0)
		return r;
	vu_fe_build_u64(&m, VU_REQ_SET_VRING_CALL, idx);
	m.fds[0] = call_fd;
	m.nfds = 1;
	if ((r = vu_fe_send(fe, &m, err)) < 0)
		return r;
	vu_fe_build_u64(&m, VU_REQ_SET_VRING_KICK, idx);
	m.fds[0] = kick_fd;
	m.nfds = 1;
	if ((r = vu_fe_send(fe, &m, err)) < 0)
		return r;
	if (fe->acked & (1ull << VU_F_PROTOCOL_FEATURES)) {
		vu_fe_build_state(&m, VU_REQ_SET_VRING_ENABLE, idx, 1);
		if ((r = vu_fe_send(fe, &m, err)) < 0)
			return r;
	}
	return 0;
}

int vu_fe_get_inflight(struct vu_fe *fe, uint16_t num_queues, uint16_t queue_size, int *fd,
		       struct vu_inflight_msg *info, struct cp_err *err)
{
	struct vu_inflight_msg req = { .num_queues = num_queues, .queue_size = queue_size };
	struct vu_msg m;
	int r;

	r = vu_sock_send(fe->sock, VU_REQ_GET_INFLIGHT_FD, VU_FLAG_VERSION, &req, sizeof(req), NULL, 0, err);
	if (r < 0)
		return r;
	r = fe_reply(fe, VU_REQ_GET_INFLIGHT_FD, sizeof(req), 0, 1, &m, err);
	if (r < 0)
		return r;
	if (m.nfds != 1) {
		vu_msg_close_fds(&m);
		return cp_err_set(err, EPROTO, "GET_INFLIGHT_FD: reply without an fd");
	}
	*fd = m.fds[0];
	*info = m.p.inflight;
	return 0;
}

int vu_fe_set_inflight(struct vu_fe *fe, int fd, const struct vu_inflight_msg *info, struct cp_err *err)
{
	struct vu_msg m;

	m.hdr.request = VU_REQ_SET_INFLIGHT_FD;
	m.hdr.flags = VU_FLAG_VERSION;
	m.hdr.size = sizeof(*info);
	m.p.inflight = *info;
	m.fds[0] = fd;
	m.nfds = 1;
	return vu_fe_send(fe, &m, err);
}

int vu_fe_vring_stop(struct vu_fe *fe, uint32_t idx, uint16_t *base, struct cp_err *err)
{
	struct vu_msg m;
	int r;

	vu_fe_build_state(&m, VU_REQ_GET_VRING_BASE, idx, 0);
	r = vu_sock_send(fe->sock, VU_REQ_GET_VRING_BASE, VU_FLAG_VERSION, m.p.raw, 8, NULL, 0, err);
	if (r < 0)
		return r;
	r = fe_reply(fe, VU_REQ_GET_VRING_BASE, 8, 0, 0, &m, err);
	if (r < 0)
		return r;
	if (m.p.state.index != idx)
		return cp_err_set(err, EPROTO, "GET_VRING_BASE: reply for ring %u, asked for %u", m.p.state.index, idx);
	*base = (uint16_t)m.p.state.num;
	return 0;
}

/* ---- driver-side ring ---- */

static uint64_t vu_align(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

uint64_t vu_drvq_bytes(uint16_t num)
{
	return vu_align(vu_align(vu_ring_desc_size(num) + vu_ring_avail_size(num), 4096) +
				 vu_ring_used_size(num), 4096);
}

void vu_drvq_init(struct vu_drvq *q, uint16_t num, void *mem)
{
	uint8_t *base = mem;

	memset(mem, 0, vu_drvq_bytes(num));
	q->num = num;
	q->desc = mem;
	q->avail = base + vu_ring_desc_size(num);
	q->used = base + vu_align(vu_ring_desc_size(num) + vu_ring_avail_size(num), 4096);
	q->avail_idx = q->last_used = 0;
	q->free_head = 0;
	q->nfree = num;
	for (uint16_t i = 0; i < num; i++)
		q->next[i] = (uint16_t)(i + 1);
	q->kick_fd = q->call_fd = -1;
}

int vu_drvq_add(struct vu_drvq *q, const struct vu_drv_buf *bufs, unsigned n)
{
	uint16_t head, i, prev = 0;

	if (n == 0 || n > q->nfree)
		return -ENOSPC;
	head = i = q->free_head;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc_le d = { .addr = bufs[k].gpa, .len = bufs[k].len,
					   .flags = (uint16_t)(bufs[k].writable ? VRING_DESC_F_WRITE : 0) };
		uint16_t nx = q->next[i];

		if (k + 1 < n) {
			d.flags |= VRING_DESC_F_NEXT;
			d.next = nx;
		}
		memcpy(&q->desc[i], &d, sizeof(d));
		prev = i;
		i = nx;
	}
	(void)prev;
	q->free_head = i;
	q->nfree = (uint16_t)(q->nfree - n);
	q->chain_len[head] = (uint16_t)n;
	memcpy(q->avail + 4 + 2u * (q->avail_idx & (q->num - 1)), &head, 2);
	q->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
	return head;
}

void vu_drvq_kick(struct vu_drvq *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	(void)eventfd_write(q->kick_fd, 1);
}

int vu_drvq_get_used(struct vu_drvq *q, uint16_t *head, uint32_t *len)
{
	uint16_t used = __atomic_load_n((uint16_t *)(void *)(q->used + 2), __ATOMIC_ACQUIRE);
	uint32_t id, l;
	uint16_t i;

	if (used == q->last_used)
		return 0;
	memcpy(&id, q->used + 4 + 8u * (q->last_used & (q->num - 1)), 4);
	memcpy(&l, q->used + 8 + 8u * (q->last_used & (q->num - 1)), 4);
	q->last_used++;
	if (id >= q->num || q->chain_len[id] == 0)
		return -EPROTO; /* a back-end returning what it was never given */
	/* Put the chain back on the free list using our own copy of its links. */
	i = (uint16_t)id;
	for (unsigned k = 1; k < q->chain_len[id]; k++)
		i = q->next[i];
	q->next[i] = q->free_head;
	q->free_head = (uint16_t)id;
	q->nfree = (uint16_t)(q->nfree + q->chain_len[id]);
	q->chain_len[id] = 0;
	*head = (uint16_t)id;
	*len = l;
	return 1;
}

int vu_drvq_wait(struct vu_drvq *q, int timeout_ms)
{
	struct pollfd p = { .fd = q->call_fd, .events = POLLIN };
	eventfd_t v;
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	(void)eventfd_read(q->call_fd, &v);
	return 1;
}

int vu_fe_set_backend_req_fd(struct vu_fe *fe, int fd, struct cp_err *err)
{
	struct vu_msg m;

	if (!(fe->protocol & (1ull << VU_PF_BACKEND_REQ)))
		return cp_err_set(err, EPROTO, "SET_BACKEND_REQ_FD: BACKEND_REQ was not negotiated");
	vu_fe_build_empty(&m, VU_REQ_SET_BACKEND_REQ_FD);
	m.fds[0] = fd;
	m.nfds = 1;
	return vu_fe_send(fe, &m, err);
}

int vu_fe_recv_backend_req(struct vu_fe *fe, int sock, struct vu_msg *m, const struct vu_wait *w, struct cp_err *err)
{
	(void)fe;
	return vu_sock_recv_backend_req(sock, m, w, err);
}

int vu_fe_backend_ack(struct vu_fe *fe, int sock, const struct vu_msg *m, uint64_t status, struct cp_err *err)
{
	if (!(m->hdr.flags & VU_FLAG_NEED_REPLY) || !(fe->protocol & (1ull << VU_PF_REPLY_ACK)))
		return 0;
	return vu_sock_send(sock, m->hdr.request, VU_FLAG_VERSION | VU_FLAG_REPLY, &status, sizeof(status), NULL, 0, err);
}

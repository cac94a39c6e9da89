/* Split-ring walker. Guest memory can change under us at any moment, so each descriptor is
 * copied once into a local and only the copy is checked and used. */
#include "devices/vhost/virtq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static uint16_t vu_load16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static uint16_t vu_load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static int vu_vq_break(struct vu_vq *vq, struct cp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int vu_vq_break(struct vu_vq *vq, struct cp_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->why.msg, sizeof(vq->why.msg), fmt, ap);
	va_end(ap);
	vq->why.code = EIO;
	vq->broken = true;
	return cp_err_set(err, EIO, "%s", vq->why.msg);
}

int vu_vq_setup(struct vu_vq *vq, const struct vu_mem *mem, uint32_t num, uint64_t desc_uva,
		uint64_t avail_uva, uint64_t used_uva, struct cp_err *err)
{
	void *d, *a, *u;

	if (num == 0 || num > VU_QUEUE_SIZE_MAX || (num & (num - 1)))
		return cp_err_set(err, EINVAL, "vring: size %u is not a power of two in [1, %u]", num,
				  VU_QUEUE_SIZE_MAX);
	d = vu_mem_uva(mem, desc_uva, vu_ring_desc_size(num));
	a = vu_mem_uva(mem, avail_uva, vu_ring_avail_size(num));
	u = vu_mem_uva(mem, used_uva, vu_ring_used_size(num));
	if (!d)
		return cp_err_set(err, EFAULT, "vring: descriptor table 0x%llx (+%llu) is not inside one memory region",
				  (unsigned long long)desc_uva, (unsigned long long)vu_ring_desc_size(num));
	if (!a)
		return cp_err_set(err, EFAULT, "vring: avail ring 0x%llx (+%llu) is not inside one memory region",
				  (unsigned long long)avail_uva, (unsigned long long)vu_ring_avail_size(num));
	if (!u)
		return cp_err_set(err, EFAULT, "vring: used ring 0x%llx (+%llu) is not inside one memory region",
				  (unsigned long long)used_uva, (unsigned long long)vu_ring_used_size(num));
	if (((uintptr_t)d & 15) || ((uintptr_t)a & 1) || ((uintptr_t)u & 3))
		return cp_err_set(err, EINVAL, "vring: misaligned areas (desc %p needs 16, avail %p 2, used %p 4)",
				  d, a, u);
	vq->num = (uint16_t)num;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	return 0;
}

static int vu_chain_add(struct vu_vq *vq, const struct vu_mem *mem, struct vu_chain *c,
			const struct vring_desc_le *d, unsigned pos, struct cp_err *err)
{
	unsigned n = c->n_out + c->n_in;
	bool wr = d->flags & VRING_DESC_F_WRITE;
	void *host;

	if (d->len == 0)
		return vu_vq_break(vq, err, "head %u: descriptor %u has length 0", c->head, pos);
	if (n >= VU_CHAIN_MAX)
		return vu_vq_break(vq, err, "head %u: more than %u buffers", c->head, VU_CHAIN_MAX);
	if (!wr && c->n_in)
		return vu_vq_break(vq, err, "head %u: descriptor %u is device-readable after a writable one",
				   c->head, pos);
	host = vu_mem_gpa(mem, d->addr, d->len);
	if (!host)
		return vu_vq_break(vq, err, "head %u: descriptor %u buffer [0x%llx, +0x%x) is outside guest memory or spans regions",
				   c->head, pos, (unsigned long long)d->addr, d->len);
	for (unsigned i = 0; i < n; i++) {
		if (d->addr < c->gpa[i] + c->iov[i].iov_len && c->gpa[i] < d->addr + d->len)
			return vu_vq_break(vq, err, "head %u: descriptor %u buffer [0x%llx, +0x%x) overlaps buffer %u",
					   c->head, pos, (unsigned long long)d->addr, d->len, i);
	}
	if (wr) {
		c->in_bytes += d->len;
		if (c->in_bytes > VU_CHAIN_BYTES_MAX)
			return vu_vq_break(vq, err, "head %u: writable bytes exceed %llu", c->head, VU_CHAIN_BYTES_MAX);
		c->n_in++;
	} else {
		c->out_bytes += d->len;
		if (c->out_bytes > VU_CHAIN_BYTES_MAX)
			return vu_vq_break(vq, err, "head %u: readable bytes exceed %llu", c->head, VU_CHAIN_BYTES_MAX);
		c->n_out++;
	}
	c->iov[n].iov_base = host;
	c->iov[n].iov_len = d->len;
	c->gpa[n] = d->addr;
	return 0;
}

static int vu_vq_walk_indirect(struct vu_vq *vq, const struct vu_mem *mem, struct vu_chain *c,
			       const struct vring_desc_le *ind, struct cp_err *err)
{
	const uint8_t *table;
	struct vring_desc_le d;
	uint32_t count, i = 0, seen = 0;
	int r;

	if (!vq->indirect)
		return vu_vq_break(vq, err, "head %u: indirect descriptor but INDIRECT_DESC not negotiated", c->head);
	if (ind->flags & VRING_DESC_F_NEXT)
		return vu_vq_break(vq, err, "head %u: indirect descriptor also has NEXT", c->head);
	if (ind->len == 0 || ind->len % sizeof(struct vring_desc_le))
		return vu_vq_break(vq, err, "head %u: indirect table length %u is not a non-zero multiple of 16",
				   c->head, ind->len);
	count = ind->len / sizeof(struct vring_desc_le);
	if (count > vq->num)
		return vu_vq_break(vq, err, "head %u: indirect table has %u entries, more than the queue size %u",
				   c->head, count, vq->num);
	table = vu_mem_gpa(mem, ind->addr, ind->len);
	if (!table)
		return vu_vq_break(vq, err, "head %u: indirect table [0x%llx, +0x%x) is outside guest memory or spans regions",
				   c->head, (unsigned long long)ind->addr, ind->len);
	for (;;) {
		if (++seen > count)
			return vu_vq_break(vq, err, "head %u: indirect chain loops (more than %u entries)", c->head, count);
		memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vu_vq_break(vq, err, "head %u: nested indirect descriptor at indirect entry %u", c->head, i);
		r = vu_chain_add(vq, mem, c, &d, i, err);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= count)
			return vu_vq_break(vq, err, "head %u: indirect entry %u has next %u beyond the table's %u entries",
					   c->head, i, d.next, count);
		i = d.next;
	}
}

int vu_vq_walk(struct vu_vq *vq, const struct vu_mem *mem, uint16_t head, struct vu_chain *c,
	       struct cp_err *err)
{
	struct vring_desc_le d;
	unsigned seen = 0;
	uint16_t i = head;
	int r;

	if (vq->broken)
		return cp_err_set(err, EIO, "queue is broken: %s", vq->why.msg);
	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_bytes = c->in_bytes = 0;
	if (head >= vq->num)
		return vu_vq_break(vq, err, "avail ring gives head %u, queue size is %u", head, vq->num);
	for (;;) {
		if (++seen > vq->num)
			return vu_vq_break(vq, err, "head %u: chain longer than the queue size %u (loop)", head, vq->num);
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (i != head)
				return vu_vq_break(vq, err, "head %u: indirect descriptor %u is not the chain's head",
						   head, i);
			return vu_vq_walk_indirect(vq, mem, c, &d, err);
		}
		r = vu_chain_add(vq, mem, c, &d, i, err);
		if (r < 0)
			return r;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->num)
			return vu_vq_break(vq, err, "head %u: descriptor %u has next %u beyond the queue size %u",
					   head, i, d.next, vq->num);
		i = d.next;
	}
}

int vu_vq_pop(struct vu_vq *vq, const struct vu_mem *mem, struct vu_chain *c, struct cp_err *err)
{
	uint16_t avail_idx, pending, head;
	int r;

	if (vq->broken)
		return cp_err_set(err, EIO, "queue is broken: %s", vq->why.msg);
	avail_idx = vu_load16_acquire(vq->avail + 2);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending > vq->num)
		return vu_vq_break(vq, err, "avail idx %u is %u ahead of the last seen %u, more than the queue size %u",
				   avail_idx, pending, vq->last_avail, vq->num);
	if (pending == 0)
		return 0;
	head = vu_load16(vq->avail + 4 + 2u * (vq->last_avail & (vq->num - 1)));
	r = vu_vq_walk(vq, mem, head, c, err);
	if (r < 0)
		return r;
	vq->last_avail++;
	if (vq->inflight) {
		vq->inflight->desc[head].counter = ++vq->inflight_counter;
		__atomic_store_n(&vq->inflight->desc[head].inflight, 1, __ATOMIC_RELEASE);
	}
	return 1;
}

void vu_vq_push(struct vu_vq *vq, uint16_t head, uint32_t len)
{
	uint8_t *elem = vq->used + 4 + 8u * (vq->used_idx & (vq->num - 1));
	uint32_t id = head;

	if (vq->inflight)
		vq->inflight->last_batch_head = head;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	vq->used_idx++;
	__atomic_store_n((uint16_t *)(void *)(vq->used + 2), vq->used_idx, __ATOMIC_RELEASE);
	if (vq->inflight) {
		__atomic_store_n(&vq->inflight->desc[head].inflight, 0, __ATOMIC_RELEASE);
		vq->inflight->used_idx = vq->used_idx;
	}
}

bool vu_vq_want_call(const struct vu_vq *vq)
{
	/* Order our used->idx store before reading the driver's flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(vu_load16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}

int vu_vq_inflight_resume(struct vu_vq *vq, uint16_t *heads, unsigned max, struct cp_err *err)
{
	struct vu_inflight_queue *q = vq->inflight;
	uint16_t used;
	unsigned n = 0;

	if (!q)
		return 0;
	used = vu_load16(vq->used + 2);
	/* The back-end died between publishing used->idx and clearing the entry: it completed. */
	if (q->used_idx != used && q->last_batch_head < vq->num)
		q->desc[q->last_batch_head].inflight = 0;
	q->used_idx = used;
	vq->used_idx = used;
	for (uint16_t i = 0; i < vq->num; i++) {
		if (!q->desc[i].inflight)
			continue;
		if (q->desc[i].inflight != 1)
			return cp_err_set(err, EINVAL, "inflight region: descriptor %u state %u", i, q->desc[i].inflight);
		if (n >= max)
			return cp_err_set(err, ENOSPC, "inflight region: more than %u entries", max);
		heads[n++] = i;
		if (q->desc[i].counter > vq->inflight_counter)
			vq->inflight_counter = q->desc[i].counter;
	}
	/* Oldest first: the order the driver made them available. Insertion sort, n <= num. */
	for (unsigned i = 1; i < n; i++) {
		uint16_t h = heads[i];
		unsigned j = i;

		while (j > 0 && q->desc[heads[j - 1]].counter > q->desc[h].counter) {
			heads[j] = heads[j - 1];
			j--;
		}
		heads[j] = h;
	}
	vq->last_avail = (uint16_t)(used + n);
	return (int)n;
}

size_t vu_chain_read(const struct vu_chain *c, uint64_t off, void *dst, size_t len)
{
	uint8_t *out = dst;
	size_t done = 0;

	for (unsigned i = 0; i < c->n_out && done < len; i++) {
		size_t l = c->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < len - done ? l - off : len - done;
		memcpy(out + done, (uint8_t *)c->iov[i].iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t vu_chain_write(const struct vu_chain *c, uint64_t off, const void *src, size_t len)
{
	const uint8_t *in = src;
	size_t done = 0;

	for (unsigned i = c->n_out; i < (unsigned)c->n_out + c->n_in && done < len; i++) {
		size_t l = c->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		size_t take = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)c->iov[i].iov_base + off, in + done, take);
		done += take;
		off = 0;
	}
	return done;
}

int vu_chain_iov(const struct vu_chain *c, bool writable, uint64_t off, uint64_t len,
		 struct iovec *out, unsigned max)
{
	unsigned first = writable ? c->n_out : 0, end = writable ? (unsigned)c->n_out + c->n_in : c->n_out;
	unsigned n = 0;

	for (unsigned i = first; i < end && len > 0; i++) {
		size_t l = c->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		if (n >= max)
			return -E2BIG;
		size_t take = l - off < len ? l - off : (size_t)len;
		out[n].iov_base = (uint8_t *)c->iov[i].iov_base + off;
		out[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return len ? -ERANGE : (int)n;
}

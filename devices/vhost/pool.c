/* The request worker pool (see pool.h). Workers touch only their own request's buffers, the
 * device fd, and the used ring under its lock. */
#include "devices/vhost/pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/vhost/backend.h"

/* Run one taken request to completion: device work, used ring, interrupt, slot back. The
 * request counts as in flight until the interrupt is sent: vu_pool_drain() lets the event loop
 * unmap memory, close the call fd or stop the ring, and vu_be_notify() still reads the avail
 * ring and writes the call fd (issue 18 item 3: signalling after the count dropped raced
 * SET_MEM_TABLE and crashed the helper). */
static void vu_pool_run(struct vu_pool *p, struct vu_pool_req *r)
{
	struct vu_backend *be = p->be;
	uint32_t written = 0;
	unsigned q = r->q;
	bool notify, wake;

	be->ops->handle_chain(be, q, &r->c, &written);

	pthread_mutex_lock(&p->used_lock[q]);
	vu_vq_push(&be->rings[q].vq, r->c.head, written);
	pthread_mutex_unlock(&p->used_lock[q]);

	/* Interrupt once the queue has nothing queued behind this one: the last completion of a
	 * burst always signals. */
	pthread_mutex_lock(&p->lock);
	notify = p->pending[q] == 0;
	pthread_mutex_unlock(&p->lock);
	for (volatile unsigned spin = 0; spin < p->test_spin; spin++)
		;
	if (notify)
		vu_be_notify(be, q);

	pthread_mutex_lock(&p->lock);
	r->next = p->free;
	p->free = r;
	wake = p->starved;
	p->starved = false;
	if (--p->in_flight == 0)
		pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
	/* The wake eventfd is the pool's own, open for the helper's lifetime. */
	if (wake)
		(void)eventfd_write(p->wake_fd, 1);
}

/* Take the next queued request (lock held). */
static struct vu_pool_req *vu_pool_take(struct vu_pool *p)
{
	struct vu_pool_req *r = p->head;

	if (r) {
		p->head = r->next;
		if (!p->head)
			p->tail = NULL;
		p->pending[r->q]--;
	}
	return r;
}

static void *vu_pool_worker(void *arg)
{
	struct vu_pool *p = arg;

	/* By now glibc has made this thread's start-up calls (rseq, set_robust_list): tell
	 * vu_pool_start, so the filter is loaded only after them. */
	pthread_mutex_lock(&p->lock);
	p->started++;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
	for (;;) {
		struct vu_pool_req *r;

		pthread_mutex_lock(&p->lock);
		while (!(r = vu_pool_take(p)))
			pthread_cond_wait(&p->work, &p->lock);
		pthread_mutex_unlock(&p->lock);
		vu_pool_run(p, r);
	}
	return NULL;
}

void vu_pool_help(struct vu_pool *p)
{
	for (;;) {
		struct vu_pool_req *r;

		pthread_mutex_lock(&p->lock);
		r = vu_pool_take(p);
		pthread_mutex_unlock(&p->lock);
		if (!r)
			return;
		vu_pool_run(p, r);
	}
}

int vu_pool_start(struct vu_pool *p, struct vu_backend *be, unsigned n)
{
	memset(p, 0, sizeof(*p));
	p->be = be;
	if (n > VU_POOL_THREADS_MAX)
		n = VU_POOL_THREADS_MAX;
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0)
		return -errno;
	/* Pages of a request are touched only as far as its chain goes. */
	p->reqs = calloc(VU_POOL_REQS, sizeof(*p->reqs));
	if (!p->reqs)
		return -ENOMEM;
	for (unsigned i = 0; i < VU_POOL_REQS; i++) {
		p->reqs[i].next = p->free;
		p->free = &p->reqs[i];
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (unsigned i = 0; i < VU_QUEUE_MAX; i++)
		pthread_mutex_init(&p->used_lock[i], NULL);
	for (unsigned i = 0; i < n; i++) {
		int r = pthread_create(&p->threads[i], NULL, vu_pool_worker, p);

		if (r)
			return -r;
		p->nthreads++;
	}
	pthread_mutex_lock(&p->lock);
	while (p->started < p->nthreads)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

struct vu_pool_req *vu_pool_get(struct vu_pool *p)
{
	struct vu_pool_req *r;

	pthread_mutex_lock(&p->lock);
	r = p->free;
	if (r)
		p->free = r->next;
	else
		p->starved = true;
	pthread_mutex_unlock(&p->lock);
	return r;
}

void vu_pool_put(struct vu_pool *p, struct vu_pool_req *r)
{
	pthread_mutex_lock(&p->lock);
	r->next = p->free;
	p->free = r;
	pthread_mutex_unlock(&p->lock);
}

void vu_pool_submit(struct vu_pool *p, struct vu_pool_req *first, struct vu_pool_req *last, unsigned n)
{
	pthread_mutex_lock(&p->lock);
	last->next = NULL;
	if (p->tail)
		p->tail->next = first;
	else
		p->head = first;
	p->tail = last;
	for (struct vu_pool_req *r = first; r; r = r->next)
		p->pending[r->q]++;
	p->in_flight += n;
	/* The event loop works on the batch too (vu_pool_help). Wake workers by the batch's
	 * weight: none for a lone request (no hand-off cost), one for a burst of small ones,
	 * more as the bytes grow (large copies use every core). */
	uint64_t bytes = 0;
	for (struct vu_pool_req *r = first; r; r = r->next)
		bytes += r->c.out_bytes + r->c.in_bytes;
	unsigned wake = n > 1 ? 1 + (unsigned)(bytes >> 18) : 0;
	if (wake > n - 1)
		wake = n - 1;
	if (wake > p->nthreads)
		wake = p->nthreads;
	for (unsigned i = 0; i < wake; i++)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void vu_pool_drain(struct vu_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->in_flight)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

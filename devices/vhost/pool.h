/* Worker threads that run a device's handle_chain off the event loop, so a slow or blocking
 * request (disk I/O) does not hold up the others. Threads are started before the seccomp
 * filter loads (which then forbids creating any); the event loop stays the only thread that
 * reads vhost-user messages and walks rings, and drains the pool before any message. */
#ifndef CARAPACE_DEVICES_VHOST_POOL_H
#define CARAPACE_DEVICES_VHOST_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "devices/vhost/virtq.h"

struct vu_backend;

#define VU_POOL_REQS 128u   /* requests in flight at once, over all queues */
#define VU_POOL_THREADS_MAX 8u

struct vu_pool_req {
	struct vu_pool_req *next;
	unsigned q;
	struct vu_chain c;
};

struct vu_pool {
	struct vu_backend *be;
	pthread_mutex_t lock;
	pthread_cond_t work;        /* a request was queued */
	pthread_cond_t idle;        /* in_flight dropped to 0 */
	pthread_mutex_t used_lock[VU_QUEUE_MAX]; /* one producer at a time on each used ring */
	struct vu_pool_req *free, *head, *tail;
	unsigned pending[VU_QUEUE_MAX];          /* queued, not yet taken, per queue */
	unsigned in_flight;
	bool starved;               /* the loop ran out of requests: wake it on a completion */
	int wake_fd;                /* eventfd the loop polls */
	unsigned nthreads;
	unsigned started;           /* workers that reached their loop (start-up barrier) */
	pthread_t threads[VU_POOL_THREADS_MAX];
	struct vu_pool_req *reqs;
	unsigned test_spin;         /* test hook "slow-completion": busy-wait before signalling the guest */
};

/* Start n threads for be. Returns 0 or -errno. */
int vu_pool_start(struct vu_pool *p, struct vu_backend *be, unsigned n);
/* A free request, or NULL (then starved is set and a completion wakes the loop). */
struct vu_pool_req *vu_pool_get(struct vu_pool *p);
void vu_pool_put(struct vu_pool *p, struct vu_pool_req *r);
/* Queue a batch (first..last, n requests, already linked through next). */
void vu_pool_submit(struct vu_pool *p, struct vu_pool_req *first, struct vu_pool_req *last, unsigned n);
/* The event loop runs queued requests itself until none is left. */
void vu_pool_help(struct vu_pool *p);
/* Wait until nothing is in flight. */
void vu_pool_drain(struct vu_pool *p);

#endif

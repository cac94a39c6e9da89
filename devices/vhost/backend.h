/* The vhost-user back-end: protocol state machine (owner, features, memory, rings) driven by
 * a const dispatch table, and the single-threaded event loop a jailed helper runs. A device
 * plugs in through struct vu_dev_ops; the library owns every check on what the front-end and
 * the guest send. */
#ifndef CARAPACE_DEVICES_VHOST_BACKEND_H
#define CARAPACE_DEVICES_VHOST_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/mem.h"
#include "devices/vhost/msg.h"
#include "devices/vhost/virtq.h"

struct vu_backend;

struct vu_dev_ops {
	const char *name;           /* "blk": used in every message */
	uint64_t features;          /* virtio features offered (VERSION_1, bit 30 added by the library) */
	uint64_t protocol_features; /* subset of what the library implements */
	uint16_t num_queues;
	uint32_t config_size;       /* <= VU_CONFIG_MAX */
	/* Fill the whole config space (config_size bytes). */
	void (*get_config)(void *dev, uint8_t *cfg);
	/* Handle one chain synchronously; *written = bytes put into writable buffers. A device
	 * with this hook gets generic kick handling and in-flight resubmission. */
	void (*handle_chain)(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written);
	/* Or, for devices that consume buffers only when they have data (rx queues): called on
	 * a kick; the device pops itself with vu_be_pop / vu_be_push. */
	void (*queue_kick)(struct vu_backend *be, unsigned q);
	/* Optional: `kicks` notifications of queue q were read from its kick eventfd (which adds
	 * them up while the loop is busy), about to be handled. For the device's counters
	 * (devices/devstats.h); it must not touch the ring. */
	void (*queue_event)(void *dev, unsigned q, uint64_t kicks);
	/* One extra fd to poll (TAP, console input), -1 if none, and its handler. */
	int (*extra_fd)(void *dev);
	void (*extra_ready)(struct vu_backend *be);
	/* Worker threads for handle_chain (0: run requests on the event loop). handle_chain must
	 * then be safe to call concurrently. */
	unsigned workers;
};

struct vu_ring {
	struct vu_vq vq;
	uint32_t num;
	bool num_set, addr_set, started, enabled;
	struct vu_vring_addr addr;
	int kick_fd, call_fd, err_fd;
};

enum vu_be_phase {
	VU_BE_NEW,      /* before SET_OWNER: only feature and size queries */
	VU_BE_OWNED,    /* SET_OWNER done: everything else allowed by per-ring rules */
};

struct vu_backend {
	const struct vu_dev_ops *ops;
	void *dev;
	int sock;
	enum vu_be_phase phase;
	bool features_set, protocol_set;
	uint64_t features;          /* acked by SET_FEATURES */
	uint64_t protocol;          /* acked by SET_PROTOCOL_FEATURES */
	uint8_t status;
	struct vu_mem mem;
	struct vu_ring rings[VU_QUEUE_MAX];
	void *inflight_base;
	uint64_t inflight_size;
	uint16_t inflight_queues, inflight_qsize;
	struct vu_chain chain;      /* scratch for one request */
	struct vu_pool *pool;       /* worker threads, when ops->workers */
	int backend_fd;             /* the back-end channel (SET_BACKEND_REQ_FD), -1 when none */
	/* Test hooks (set only in CARAPACE_TEST_HOOKS builds): act as a stalled or a compromised
	 * back-end when this request arrives. */
	uint32_t test_stall_req;    /* stop answering for ever */
	uint32_t test_fd_req;       /* attach an unasked-for fd to the reply */
};

/* Prepare a back-end for one front-end connection on `sock`. */
void vu_be_init(struct vu_backend *be, const struct vu_dev_ops *ops, void *dev, int sock);
void vu_be_free(struct vu_backend *be);

/* Handle one received, already-checked message (pure state machine + the OS actions it
 * implies: mmap, eventfds). Returns 0 or -errno (front-end to be cut off). Consumes m's fds. */
int vu_be_handle(struct vu_backend *be, struct vu_msg *m, struct cp_err *err);

/* Start ops->workers threads (call in the jail before the filter loads: it forbids clone). */
int vu_be_start_workers(struct vu_backend *be, struct cp_err *err);

/* Serve until the front-end disconnects (0) or misbehaves (-errno with a message). */
int vu_be_run(struct vu_backend *be, struct cp_err *err);

/* For queue_kick devices. */
bool vu_be_ring_live(const struct vu_backend *be, unsigned q);
int vu_be_pop(struct vu_backend *be, unsigned q, struct vu_chain *c);
void vu_be_push(struct vu_backend *be, unsigned q, uint16_t head, uint32_t len);
void vu_be_notify(struct vu_backend *be, unsigned q);
bool vu_be_has_feature(const struct vu_backend *be, unsigned bit);

/* Tell the front-end the device's configuration space changed (BACKEND_CONFIG_CHANGE_MSG on the
 * back-end channel, without NEED_REPLY: the front-end reads the new config with GET_CONFIG on the
 * main channel, which this event loop must stay free to answer). -ENOTCONN when the front-end
 * gave no back-end channel. */
int vu_be_config_changed(struct vu_backend *be, struct cp_err *err);

/* The protocol features the library itself implements (a device may offer fewer). */
#define VU_PF_IMPLEMENTED ((1ull << VU_PF_MQ) | (1ull << VU_PF_REPLY_ACK) | (1ull << VU_PF_CONFIG) | \
			   (1ull << VU_PF_INFLIGHT_SHMFD) | (1ull << VU_PF_CONFIGURE_MEM_SLOTS) | \
			   (1ull << VU_PF_STATUS))
/* Implemented too, but offered only by a device that uses it (a channel the front-end must poll). */
#define VU_PF_OPTIONAL (1ull << VU_PF_BACKEND_REQ)

#endif

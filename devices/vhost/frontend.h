/* vhost-user front-end (client) side: message builders and a minimal synchronous front-end
 * with a driver-side split ring, used by carapace's tests and benchmark and reusable by the
 * runner. The back-end it talks to is not trusted: every reply is size- and type-checked. */
#ifndef CARAPACE_DEVICES_VHOST_FRONTEND_H
#define CARAPACE_DEVICES_VHOST_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/io.h"
#include "devices/vhost/msg.h"
#include "devices/vhost/proto.h"

struct vu_fe {
	int sock;
	uint64_t features;        /* offered by the back-end */
	uint64_t protocol;        /* negotiated protocol features */
	uint64_t acked;           /* features sent with SET_FEATURES */
	uint32_t queue_num;       /* GET_QUEUE_NUM (1 without MQ) */
	uint32_t mem_slots;       /* GET_MAX_MEM_SLOTS (0 without CONFIGURE_MEM_SLOTS) */
	unsigned reply_timeout_ms;  /* 0: wait as long as the socket's SO_RCVTIMEO allows */
	const atomic_bool *cancel;  /* set: stop waiting for replies (the VM is ending) */
};

/* What this front-end itself implements: device-specific feature bits (0-23) pass through as
 * the caller wants; of the transport bits only VERSION_1 (no event index, no packed ring). */
#define VU_FE_FEATURES_SUPPORTED (((1ull << 24) - 1) | (1ull << VIRTIO_F_VERSION_1))
#define VU_FE_PROTOCOL_SUPPORTED ((1ull << VU_PF_MQ) | (1ull << VU_PF_REPLY_ACK) | (1ull << VU_PF_CONFIG) | \
				  (1ull << VU_PF_CONFIGURE_MEM_SLOTS) | (1ull << VU_PF_STATUS) | \
				  (1ull << VU_PF_INFLIGHT_SHMFD) | (1ull << VU_PF_BACKEND_REQ))

/* ---- builders (pure): fill *m for one request; no I/O ---- */
void vu_fe_build_u64(struct vu_msg *m, uint32_t req, uint64_t v);
void vu_fe_build_empty(struct vu_msg *m, uint32_t req);
void vu_fe_build_state(struct vu_msg *m, uint32_t req, uint32_t index, uint32_t num);
void vu_fe_build_vring_addr(struct vu_msg *m, uint32_t index, uint64_t desc, uint64_t avail, uint64_t used);
int vu_fe_build_mem_table(struct vu_msg *m, const struct vu_region *r, const int *fds, unsigned n,
			  struct cp_err *err);
void vu_fe_build_mem_reg(struct vu_msg *m, uint32_t req, const struct vu_region *r, int fd);
void vu_fe_build_config(struct vu_msg *m, uint32_t req, uint32_t offset, uint32_t size, const void *data);

/* Send a built message; with REPLY_ACK negotiated, non-GET requests carry NEED_REPLY and the
 * ack is checked (a non-zero ack is -EREMOTEIO). */
int vu_fe_send(struct vu_fe *fe, struct vu_msg *m, struct cp_err *err);

/* ---- minimal front-end ---- */
int vu_fe_connect(struct vu_fe *fe, const char *path, struct cp_err *err);
void vu_fe_close(struct vu_fe *fe);
/* GET_FEATURES, GET/SET_PROTOCOL_FEATURES (want & offered), GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
 * SET_OWNER, SET_FEATURES(want & offered | bit 30). */
int vu_fe_negotiate(struct vu_fe *fe, uint64_t want_features, uint64_t want_protocol, struct cp_err *err);
int vu_fe_get_u64(struct vu_fe *fe, uint32_t req, uint64_t *out, struct cp_err *err);
/* One memory region backed by fd: ADD_MEM_REG with CONFIGURE_MEM_SLOTS, else SET_MEM_TABLE. */
int vu_fe_add_memory(struct vu_fe *fe, const struct vu_region *r, int fd, struct cp_err *err);
int vu_fe_get_config(struct vu_fe *fe, uint32_t offset, uint32_t size, void *out, struct cp_err *err);
/* NUM, BASE, ADDR, CALL, KICK, then ENABLE(1) when bit 30 was acked. */
int vu_fe_vring_start(struct vu_fe *fe, uint32_t idx, uint32_t num, uint64_t desc_uva, uint64_t avail_uva,
		      uint64_t used_uva, uint16_t base, int kick_fd, int call_fd, struct cp_err *err);
/* INFLIGHT_SHMFD: ask the back-end for the tracking region (*fd, *info), and hand one back
 * (after a back-end restart, the same region, so in-flight requests are resubmitted). */
int vu_fe_get_inflight(struct vu_fe *fe, uint16_t num_queues, uint16_t queue_size, int *fd,
		       struct vu_inflight_msg *info, struct cp_err *err);
int vu_fe_set_inflight(struct vu_fe *fe, int fd, const struct vu_inflight_msg *info, struct cp_err *err);
int vu_fe_vring_stop(struct vu_fe *fe, uint32_t idx, uint16_t *base, struct cp_err *err);
/* BACKEND_REQ negotiated: give the back-end its end of the back-end channel (SET_BACKEND_REQ_FD). */
int vu_fe_set_backend_req_fd(struct vu_fe *fe, int fd, struct cp_err *err);
/* Read one back-end request from the back-end channel (at most until w's deadline: a back-end
 * that sends half a header cannot hold the caller) and check it with vu_msg_check_backend_req
 * (an fd attached to it is dropped by the kernel and refused). With NEED_REPLY and REPLY_ACK
 * negotiated, the caller answers with vu_fe_backend_ack. 1 a request, 0 the back-end closed it,
 * -errno. */
int vu_fe_recv_backend_req(struct vu_fe *fe, int sock, struct vu_msg *m, const struct vu_wait *w, struct cp_err *err);
int vu_fe_backend_ack(struct vu_fe *fe, int sock, const struct vu_msg *m, uint64_t status, struct cp_err *err);

/* ---- driver-side split ring over memory the caller shares with the back-end ---- */
struct vu_drvq {
	uint16_t num;
	struct vring_desc_le *desc;
	uint8_t *avail;
	uint8_t *used;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t free_head;
	uint16_t nfree;
	int kick_fd, call_fd;
	uint16_t next[VU_QUEUE_SIZE_MAX];      /* our own copy of the chains: the back-end may scribble on desc */
	uint16_t chain_len[VU_QUEUE_SIZE_MAX];
};

struct vu_drv_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Lay out the descriptor table, avail and used rings at `mem` (4 KiB aligned, vu_drvq_bytes(num) long). */
uint64_t vu_drvq_bytes(uint16_t num);
void vu_drvq_init(struct vu_drvq *q, uint16_t num, void *mem);
/* Chain n buffers and make them available (no kick). Returns the head or -ENOSPC. */
int vu_drvq_add(struct vu_drvq *q, const struct vu_drv_buf *bufs, unsigned n);
/* Kick the back-end (eventfd write). */
void vu_drvq_kick(struct vu_drvq *q);
/* Take one used entry: 1 with head and len filled, 0 if none. Frees its descriptors. */
int vu_drvq_get_used(struct vu_drvq *q, uint16_t *head, uint32_t *len);
/* Wait up to timeout_ms for the call eventfd. 1 signalled, 0 timeout, -errno. */
int vu_drvq_wait(struct vu_drvq *q, int timeout_ms);

#endif

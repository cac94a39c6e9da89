/* Validating reader for vhost-user messages: one const table gives each request's exact payload
 * size and fd count; anything not in the table is refused. Pure: no sockets, no logging. */
#ifndef CARAPACE_DEVICES_VHOST_MSG_H
#define CARAPACE_DEVICES_VHOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/proto.h"

struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table_msg mem;
		struct vu_mem_reg_msg memreg;
		struct vu_config_msg config;
		struct vu_inflight_msg inflight;
		uint8_t raw[VU_MAX_PAYLOAD];
	} p;
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

/* Name of a request id for messages ("SET_MEM_TABLE"), "unknown" when out of the table. */
const char *vu_req_name(uint32_t request);

/* Check a header before its payload is read: version, flags, a known and supported request,
 * size within that request's rule. Returns 0 or -EPROTO/-EOPNOTSUPP with a message. */
int vu_msg_check_header(const struct vu_hdr *hdr, struct cp_err *err);

/* Check a complete message: header, the payload's exact size for its contents (SET_MEM_TABLE's
 * region count, GET/SET_CONFIG's size field) and the number of fds received with it. */
int vu_msg_check(const struct vu_hdr *hdr, const void *payload, unsigned nfds, struct cp_err *err);

/* The back-end channel, front-end side: check a back-end request's header (version, flags, a
 * request the front-end accepts, its exact payload size) and the fds that came with it. Only
 * BACKEND_CONFIG_CHANGE_MSG passes. 0 or -EPROTO with a message. */
int vu_msg_check_backend_req(const struct vu_hdr *hdr, unsigned nfds, struct cp_err *err);
const char *vu_breq_name(uint32_t request);

/* True if the request asks for a reply of its own (GET_*), independent of NEED_REPLY. */
bool vu_req_has_reply(uint32_t request);

#endif

/* The vhost-user message table and the checks every received message passes before it is
 * dispatched: a request missing from the table is refused, never ignored. */
#include "devices/vhost/msg.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/cleanup.h"

enum vu_size_rule {
	VU_SZ_EXACT = 1,  /* payload is exactly .size bytes */
	VU_SZ_MEM_TABLE,  /* 8 + 32 * nregions, 1 <= nregions <= 8 */
	VU_SZ_CONFIG,     /* 12 + config.size, config.size <= VU_CONFIG_MAX */
};

enum vu_fd_rule {
	VU_FD_NONE = 1,   /* no fd may come with it */
	VU_FD_ONE,        /* exactly one */
	VU_FD_PER_REGION, /* one per region of SET_MEM_TABLE */
	VU_FD_VRING,      /* one unless the u64 payload has VU_VRING_NOFD set, then none */
	VU_FD_ZERO_OR_ONE /* REM_MEM_REG: QEMU sends the region's fd again; it is closed unused */
};

struct vu_req_rule {
	const char *name;
	uint8_t size_rule;
	uint16_t size;
	uint8_t fd_rule;
	bool reply; /* answers with a payload of its own */
};

/* Every request the back-end library accepts. Empty slots (logging, IOTLB, postcopy, crypto,
 * in-band notifications) are features we never offer: refused. */
static const struct vu_req_rule vu_req_rules[VU_REQ_MAX] = {
	[VU_REQ_GET_FEATURES] = { "GET_FEATURES", VU_SZ_EXACT, 0, VU_FD_NONE, true },
	[VU_REQ_SET_FEATURES] = { "SET_FEATURES", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_SET_OWNER] = { "SET_OWNER", VU_SZ_EXACT, 0, VU_FD_NONE, false },
	[VU_REQ_RESET_OWNER] = { "RESET_OWNER", VU_SZ_EXACT, 0, VU_FD_NONE, false },
	[VU_REQ_SET_MEM_TABLE] = { "SET_MEM_TABLE", VU_SZ_MEM_TABLE, 0, VU_FD_PER_REGION, false },
	[VU_REQ_SET_VRING_NUM] = { "SET_VRING_NUM", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_SET_VRING_ADDR] = { "SET_VRING_ADDR", VU_SZ_EXACT, 40, VU_FD_NONE, false },
	[VU_REQ_SET_VRING_BASE] = { "SET_VRING_BASE", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_GET_VRING_BASE] = { "GET_VRING_BASE", VU_SZ_EXACT, 8, VU_FD_NONE, true },
	[VU_REQ_SET_VRING_KICK] = { "SET_VRING_KICK", VU_SZ_EXACT, 8, VU_FD_VRING, false },
	[VU_REQ_SET_VRING_CALL] = { "SET_VRING_CALL", VU_SZ_EXACT, 8, VU_FD_VRING, false },
	[VU_REQ_SET_VRING_ERR] = { "SET_VRING_ERR", VU_SZ_EXACT, 8, VU_FD_VRING, false },
	[VU_REQ_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", VU_SZ_EXACT, 0, VU_FD_NONE, true },
	[VU_REQ_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", VU_SZ_EXACT, 0, VU_FD_NONE, true },
	[VU_REQ_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_GET_CONFIG] = { "GET_CONFIG", VU_SZ_CONFIG, 0, VU_FD_NONE, true },
	[VU_REQ_SET_CONFIG] = { "SET_CONFIG", VU_SZ_CONFIG, 0, VU_FD_NONE, false },
	[VU_REQ_GET_INFLIGHT_FD] = { "GET_INFLIGHT_FD", VU_SZ_EXACT, 24, VU_FD_NONE, true },
	[VU_REQ_SET_INFLIGHT_FD] = { "SET_INFLIGHT_FD", VU_SZ_EXACT, 24, VU_FD_ONE, false },
	[VU_REQ_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", VU_SZ_EXACT, 0, VU_FD_NONE, true },
	[VU_REQ_ADD_MEM_REG] = { "ADD_MEM_REG", VU_SZ_EXACT, 40, VU_FD_ONE, false },
	[VU_REQ_REM_MEM_REG] = { "REM_MEM_REG", VU_SZ_EXACT, 40, VU_FD_ZERO_OR_ONE, false },
	[VU_REQ_SET_STATUS] = { "SET_STATUS", VU_SZ_EXACT, 8, VU_FD_NONE, false },
	[VU_REQ_GET_STATUS] = { "GET_STATUS", VU_SZ_EXACT, 0, VU_FD_NONE, true },
	/* The back-end channel (a device that offers BACKEND_REQ: carapace-blk's config changes). */
	[VU_REQ_SET_BACKEND_REQ_FD] = { "SET_BACKEND_REQ_FD", VU_SZ_EXACT, 0, VU_FD_ONE, false },
};

/* Names of ids we know but refuse, so the refusal names them. */
static const char *const vu_req_refused_names[VU_REQ_MAX] = {
	[VU_REQ_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_REQ_SET_LOG_FD] = "SET_LOG_FD",
	[VU_REQ_SEND_RARP] = "SEND_RARP",
	[VU_REQ_NET_SET_MTU] = "NET_SET_MTU",
	[VU_REQ_IOTLB_MSG] = "IOTLB_MSG",
	[VU_REQ_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_REQ_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VU_REQ_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VU_REQ_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VU_REQ_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VU_REQ_POSTCOPY_END] = "POSTCOPY_END",
	[VU_REQ_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VU_REQ_RESET_DEVICE] = "RESET_DEVICE",
	[VU_REQ_VRING_KICK] = "VRING_KICK",
};

const char *vu_req_name(uint32_t request)
{
	if (request >= VU_REQ_MAX)
		return "unknown";
	if (vu_req_rules[request].name)
		return vu_req_rules[request].name;
	if (vu_req_refused_names[request])
		return vu_req_refused_names[request];
	return "unknown";
}

bool vu_req_has_reply(uint32_t request)
{
	return request < VU_REQ_MAX && vu_req_rules[request].reply;
}

int vu_msg_check_header(const struct vu_hdr *hdr, struct cp_err *err)
{
	const struct vu_req_rule *rule;

	if ((hdr->flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION)
		return cp_err_set(err, EPROTO, "vhost-user header: version %u in flags 0x%x, expected 1",
				  hdr->flags & VU_FLAG_VERSION_MASK, hdr->flags);
	if (hdr->flags & ~(VU_FLAG_VERSION_MASK | VU_FLAG_NEED_REPLY))
		return cp_err_set(err, EPROTO, "vhost-user header: flags 0x%x has bits other than version and NEED_REPLY",
				  hdr->flags);
	if (hdr->request >= VU_REQ_MAX || !vu_req_rules[hdr->request].name) {
		if (hdr->request < VU_REQ_MAX && vu_req_refused_names[hdr->request])
			return cp_err_set(err, EOPNOTSUPP, "vhost-user request %u (%s) is not supported by this back-end",
					  hdr->request, vu_req_refused_names[hdr->request]);
		return cp_err_set(err, EPROTO, "vhost-user request id %u is unknown", hdr->request);
	}
	rule = &vu_req_rules[hdr->request];
	switch (rule->size_rule) {
	case VU_SZ_EXACT:
		if (hdr->size != rule->size)
			return cp_err_set(err, EPROTO, "%s: payload size %u, expected exactly %u",
					  rule->name, hdr->size, rule->size);
		return 0;
	case VU_SZ_MEM_TABLE:
		if (hdr->size < 8 + sizeof(struct vu_region) ||
		    hdr->size > 8 + VU_MEM_TABLE_MAX * sizeof(struct vu_region) ||
		    (hdr->size - 8) % sizeof(struct vu_region))
			return cp_err_set(err, EPROTO, "%s: payload size %u is not 8 + 32 * n with 1 <= n <= %u",
					  rule->name, hdr->size, VU_MEM_TABLE_MAX);
		return 0;
	case VU_SZ_CONFIG:
		if (hdr->size < VU_CONFIG_HDR_SIZE || hdr->size > VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX)
			return cp_err_set(err, EPROTO, "%s: payload size %u outside [%u, %u]", rule->name,
					  hdr->size, VU_CONFIG_HDR_SIZE, VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX);
		return 0;
	}
	return cp_err_set(err, EPROTO, "%s: no size rule", rule->name); /* table defect: fail closed */
}

int vu_msg_check(const struct vu_hdr *hdr, const void *payload, unsigned nfds, struct cp_err *err)
{
	const struct vu_req_rule *rule;
	const uint8_t *p = payload;
	unsigned want_min, want_max;
	uint32_t n;
	uint64_t v;
	int r;

	r = vu_msg_check_header(hdr, err);
	if (r < 0)
		return r;
	rule = &vu_req_rules[hdr->request];
	if (rule->size_rule == VU_SZ_MEM_TABLE) {
		memcpy(&n, p, sizeof(n));
		if (n < 1 || n > VU_MEM_TABLE_MAX)
			return cp_err_set(err, EPROTO, "%s: nregions %u outside [1, %u]", rule->name, n,
					  VU_MEM_TABLE_MAX);
		if (hdr->size != 8 + n * sizeof(struct vu_region))
			return cp_err_set(err, EPROTO, "%s: payload size %u does not match nregions %u (want %zu)",
					  rule->name, hdr->size, n, 8 + n * sizeof(struct vu_region));
	} else if (rule->size_rule == VU_SZ_CONFIG) {
		memcpy(&n, p + 4, sizeof(n));
		if (n > VU_CONFIG_MAX || hdr->size != VU_CONFIG_HDR_SIZE + n)
			return cp_err_set(err, EPROTO, "%s: config size field %u does not match payload size %u",
					  rule->name, n, hdr->size);
	}

	switch (rule->fd_rule) {
	case VU_FD_NONE:
		want_min = want_max = 0;
		break;
	case VU_FD_ONE:
		want_min = want_max = 1;
		break;
	case VU_FD_PER_REGION:
		memcpy(&n, p, sizeof(n));
		want_min = want_max = n;
		break;
	case VU_FD_VRING:
		memcpy(&v, p, sizeof(v));
		if (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD))
			return cp_err_set(err, EPROTO, "%s: payload 0x%llx has bits beyond index and no-fd",
					  rule->name, (unsigned long long)v);
		want_min = want_max = (v & VU_VRING_NOFD) ? 0 : 1;
		break;
	case VU_FD_ZERO_OR_ONE:
		want_min = 0;
		want_max = 1;
		break;
	default:
		return cp_err_set(err, EPROTO, "%s: no fd rule", rule->name);
	}
	if (nfds < want_min || nfds > want_max) {
		if (want_min == want_max)
			return cp_err_set(err, EPROTO, "%s: %u fds received, expected exactly %u", rule->name,
					  nfds, want_min);
		return cp_err_set(err, EPROTO, "%s: %u fds received, expected %u to %u", rule->name, nfds,
				  want_min, want_max);
	}
	return 0;
}

/* The back-end's requests a front-end accepts: only the configuration-change notice (no payload,
 * no fd). IOTLB and host notifiers are features carapace's front-end never negotiates. */
static const char *const vu_breq_names[VU_BREQ_MAX] = {
	[VU_BREQ_IOTLB_MSG] = "BACKEND_IOTLB_MSG",
	[VU_BREQ_CONFIG_CHANGE_MSG] = "BACKEND_CONFIG_CHANGE_MSG",
	[VU_BREQ_VRING_HOST_NOTIFIER_MSG] = "BACKEND_VRING_HOST_NOTIFIER_MSG",
};

const char *vu_breq_name(uint32_t request)
{
	return request < VU_BREQ_MAX && vu_breq_names[request] ? vu_breq_names[request] : "unknown";
}

int vu_msg_check_backend_req(const struct vu_hdr *hdr, unsigned nfds, struct cp_err *err)
{
	if ((hdr->flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION)
		return cp_err_set(err, EPROTO, "back-end request: version %u in flags 0x%x, expected 1",
				  hdr->flags & VU_FLAG_VERSION_MASK, hdr->flags);
	if (hdr->flags & ~(VU_FLAG_VERSION_MASK | VU_FLAG_NEED_REPLY))
		return cp_err_set(err, EPROTO, "back-end request: flags 0x%x has bits other than version and NEED_REPLY",
				  hdr->flags);
	if (hdr->request != VU_BREQ_CONFIG_CHANGE_MSG)
		return cp_err_set(err, EPROTO, "back-end request %u (%s) is not accepted: only %s is", hdr->request,
				  vu_breq_name(hdr->request), vu_breq_names[VU_BREQ_CONFIG_CHANGE_MSG]);
	if (hdr->size != 0)
		return cp_err_set(err, EPROTO, "%s: payload size %u, expected 0", vu_breq_names[hdr->request], hdr->size);
	if (nfds)
		return cp_err_set(err, EPROTO, "%s: %u fds received, expected none", vu_breq_names[hdr->request], nfds);
	return 0;
}

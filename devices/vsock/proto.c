/* virtio-vsock packet headers, the hybrid CONNECT line and credit arithmetic (see proto.h). */
#include "devices/vsock/proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

int vsock_hdr_read(const uint8_t *buf, size_t len, uint64_t guest_cid, struct vsock_hdr *out, struct cp_err *err)
{
	struct vsock_hdr h;

	if (len != VSOCK_HDR_SIZE)
		return cp_err_set(err, EINVAL, "vsock header: %zu bytes, expected %u", len, VSOCK_HDR_SIZE);
	/* struct virtio_vsock_hdr: offsets 0, 8, 16, 20, 24, 28, 30, 32, 36, 40 */
	h.src_cid = le64(buf);
	h.dst_cid = le64(buf + 8);
	h.src_port = le32(buf + 16);
	h.dst_port = le32(buf + 20);
	h.len = le32(buf + 24);
	h.type = le16(buf + 28);
	h.op = le16(buf + 30);
	h.flags = le32(buf + 32);
	h.buf_alloc = le32(buf + 36);
	h.fwd_cnt = le32(buf + 40);
	if (h.src_cid != guest_cid)
		return cp_err_set(err, EPERM, "vsock header: src_cid %llu is not the guest's CID %llu",
				  (unsigned long long)h.src_cid, (unsigned long long)guest_cid);
	if (h.dst_cid != VSOCK_CID_HOST)
		return cp_err_set(err, EPERM, "vsock header: dst_cid %llu is not the host (2)", (unsigned long long)h.dst_cid);
	if (h.type != VSOCK_TYPE_STREAM)
		return cp_err_set(err, EPROTONOSUPPORT, "vsock header: type %u is not a stream (1)", h.type);
	if (h.op < VSOCK_OP_REQUEST || h.op > VSOCK_OP_CREDIT_REQUEST)
		return cp_err_set(err, EINVAL, "vsock header: op %u is unknown", h.op);
	if (h.op != VSOCK_OP_RW && h.len)
		return cp_err_set(err, EINVAL, "vsock header: op %u carries no payload, len is %u", h.op, h.len);
	if (h.len > VSOCK_MAX_PAYLOAD)
		return cp_err_set(err, EMSGSIZE, "vsock header: len %u is more than %u", h.len, VSOCK_MAX_PAYLOAD);
	if (h.op == VSOCK_OP_SHUTDOWN ? (h.flags & ~(VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) != 0 : h.flags != 0)
		return cp_err_set(err, EINVAL, "vsock header: flags 0x%x are not valid for op %u", h.flags, h.op);
	*out = h;
	return 0;
}

void vsock_hdr_write(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE])
{
	put(out, h->src_cid, 8);
	put(out + 8, h->dst_cid, 8);
	put(out + 16, h->src_port, 4);
	put(out + 20, h->dst_port, 4);
	put(out + 24, h->len, 4);
	put(out + 28, h->type, 2);
	put(out + 30, h->op, 2);
	put(out + 32, h->flags, 4);
	put(out + 36, h->buf_alloc, 4);
	put(out + 40, h->fwd_cnt, 4);
}

int vsock_connect_line_read(const char *buf, size_t len, uint32_t *port, size_t *used, struct cp_err *err)
{
	static const char verb[] = "CONNECT ";
	const char *nl = memchr(buf, '\n', len < VSOCK_CONNECT_LINE_MAX ? len : VSOCK_CONNECT_LINE_MAX);
	size_t n = sizeof(verb) - 1, end;
	uint64_t v = 0;

	/* Refuse a wrong prefix as soon as it shows, not only at the newline. */
	if (memcmp(buf, verb, len < n ? len : n))
		return cp_err_set(err, EINVAL, "hybrid vsock: expected \"CONNECT <port>\\n\"");
	if (!nl)
		return len < VSOCK_CONNECT_LINE_MAX ? -EAGAIN
						   : cp_err_set(err, EINVAL, "hybrid vsock: no newline in the first %u bytes",
								VSOCK_CONNECT_LINE_MAX);
	end = (size_t)(nl - buf);
	if (end == n)
		return cp_err_set(err, EINVAL, "hybrid vsock: CONNECT without a port");
	if (buf[n] == '0' && end > n + 1)
		return cp_err_set(err, EINVAL, "hybrid vsock: port with a leading zero");
	for (size_t i = n; i < end; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return cp_err_set(err, EINVAL, "hybrid vsock: '%c' in the port", buf[i]);
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > UINT32_MAX)
			return cp_err_set(err, ERANGE, "hybrid vsock: port is more than 4294967295");
	}
	*port = (uint32_t)v;
	*used = end + 1;
	return 0;
}

size_t vsock_ok_line(uint32_t host_port, char out[VSOCK_CONNECT_LINE_MAX])
{
	return (size_t)snprintf(out, VSOCK_CONNECT_LINE_MAX, "OK %u\n", host_port);
}

uint32_t vsock_credit_rx_free(const struct vsock_credit *c)
{
	uint32_t buffered = c->rx_cnt - c->fwd_cnt; /* free-running: wraps correctly */
	return buffered >= c->buf_alloc ? 0 : c->buf_alloc - buffered;
}

int vsock_credit_rx(struct vsock_credit *c, uint32_t len)
{
	if (len > vsock_credit_rx_free(c))
		return -ENOBUFS;
	c->rx_cnt += len;
	return 0;
}

void vsock_credit_forwarded(struct vsock_credit *c, uint32_t len)
{
	uint32_t buffered = c->rx_cnt - c->fwd_cnt;
	c->fwd_cnt += len < buffered ? len : buffered;
}

int vsock_credit_peer(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	/* fwd_cnt may only move forward, and never past what we sent. */
	uint32_t ahead = fwd_cnt - c->peer_fwd_cnt, unacked = c->tx_cnt - c->peer_fwd_cnt;
	if (ahead > unacked)
		return -EPROTO;
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
	return 0;
}

uint32_t vsock_credit_tx_window(const struct vsock_credit *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	/* A guest that shrank its buffer below what is in flight gets nothing more. */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

void vsock_credit_sent(struct vsock_credit *c, uint32_t len)
{
	c->tx_cnt += len;
}

/* virtio-vsock header reader and writer (see vsock_pkt.h). Trusts nothing in buf. */
#include "vsock_pkt.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

enum vsock_pkt_fault vsock_pkt_parse(const uint8_t *buf, uint32_t n, uint64_t my_cid, struct vsock_pkt *out)
{
	struct vsock_pkt p;

	if (n < VSOCK_PKT_HDR)
		return VSOCK_PKT_SHORT;
	p.src_cid = le64(buf);
	p.dst_cid = le64(buf + 8);
	p.src_port = le32(buf + 16);
	p.dst_port = le32(buf + 20);
	p.len = le32(buf + 24);
	p.type = le16(buf + 28);
	p.op = le16(buf + 30);
	p.flags = le32(buf + 32);
	p.buf_alloc = le32(buf + 36);
	p.fwd_cnt = le32(buf + 40);
	if (p.len != n - VSOCK_PKT_HDR)
		return VSOCK_PKT_LENGTH;
	if (p.type != VSOCK_PKT_TYPE_STREAM)
		return VSOCK_PKT_TYPE;
	if (p.op < VSOCK_PKT_OP_REQUEST || p.op > VSOCK_PKT_OP_CREDIT_REQUEST)
		return VSOCK_PKT_OP;
	if (p.len && p.op != VSOCK_PKT_OP_RW)
		return VSOCK_PKT_PAYLOAD;
	if (p.op == VSOCK_PKT_OP_SHUTDOWN ? p.flags & ~(VSOCK_PKT_SHUTDOWN_RCV | VSOCK_PKT_SHUTDOWN_SEND) : p.flags)
		return VSOCK_PKT_FLAGS;
	if (p.src_cid != VSOCK_PKT_CID_HOST)
		return VSOCK_PKT_SRC;
	if (p.dst_cid != my_cid)
		return VSOCK_PKT_DST;
	p.payload = p.len ? buf + VSOCK_PKT_HDR : 0;
	*out = p;
	return VSOCK_PKT_OK;
}

void vsock_pkt_write_header(uint8_t *buf, const struct vsock_pkt *p)
{
	put64(buf, p->src_cid);
	put64(buf + 8, p->dst_cid);
	put32(buf + 16, p->src_port);
	put32(buf + 20, p->dst_port);
	put32(buf + 24, p->len);
	put16(buf + 28, p->type);
	put16(buf + 30, p->op);
	put32(buf + 32, p->flags);
	put32(buf + 36, p->buf_alloc);
	put32(buf + 40, p->fwd_cnt);
}

const char *vsock_pkt_fault_name(enum vsock_pkt_fault f)
{
	static const char *const names[] = {
		[VSOCK_PKT_OK] = "ok",
		[VSOCK_PKT_SHORT] = "shorter than a header",
		[VSOCK_PKT_LENGTH] = "len disagrees with the bytes written",
		[VSOCK_PKT_TYPE] = "not a stream packet",
		[VSOCK_PKT_OP] = "unknown op",
		[VSOCK_PKT_PAYLOAD] = "payload on an op without one",
		[VSOCK_PKT_FLAGS] = "unknown flags",
		[VSOCK_PKT_SRC] = "not from the host",
		[VSOCK_PKT_DST] = "not for this guest's CID",
	};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

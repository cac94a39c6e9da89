/* virtio-vsock scenario (device ID 19): a polling stream driver over the rx (0), tx (1) and event
 * (2) queues, with credit-based flow control (virtio 1.2, 5.10.6.3). It connects out to a host
 * port (hybrid vsock: the host's <uds_path>_<port>), accepts a host-initiated stream (the host's
 * "CONNECT <port>"), moves data both ways and keeps its peer's credit up to date. Every packet
 * the device writes goes through vsock_pkt_parse first. */
#include "virtio.h"
#include "vsock_pkt.h"

#define VS_RXQ 0
#define VS_TXQ 1
#define VS_EVQ 2
#define VS_RX_PAYLOAD 256u
#define VS_TX_PAYLOAD 256u
/* The host side is a program, not a device: give it about half a minute at 3 GHz. */
#define VS_WAIT_CYCLES (1ull << 36)
/* Credit this guest grants an accepted stream: small, so the device must wait for updates. */
#define VS_SMALL_CREDIT 64u
#define VS_LOCAL_PORT 49152u

struct vs_conn {
	uint32_t local_port, peer_port;
	uint32_t buf_alloc, fwd_cnt;       /* ours: what we grant, what we consumed */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t rx_cnt, fwd_advertised;   /* bytes received; fwd_cnt in our last header */
};

static struct vq_mem vs_rxq, vs_txq, vs_evq;
static uint8_t vs_rxbuf[VQ_SIZE][VSOCK_PKT_HDR + VS_RX_PAYLOAD];
static uint8_t vs_txbuf[VSOCK_PKT_HDR + VS_TX_PAYLOAD];
static uint8_t vs_payload[VS_RX_PAYLOAD];
static uint16_t vs_rx_last, vs_tx_last;
static uint64_t vs_cid;

static void vs_notify(struct vdev *d, uint32_t q) { *vreg(d, VM_QUEUE_NOTIFY) = q; }

/* Gives descriptor id back to the device as an empty receive buffer. */
static void vs_rx_post(struct vdev *d, uint16_t id)
{
	vs_rxq.desc[id].addr = (uint32_t)(uintptr_t)vs_rxbuf[id];
	vs_rxq.desc[id].len = sizeof(vs_rxbuf[id]);
	vs_rxq.desc[id].flags = DESC_WRITE;
	vs_rxq.desc[id].next = 0;
	vs_rxq.avail.ring[vs_rxq.avail.idx % VQ_SIZE] = id;
	vbarrier();
	vs_rxq.avail.idx++;
	vbarrier();
	vs_notify(d, VS_RXQ);
}

/* One packet to the host: header from c and op, then len payload bytes. */
static void vs_send(struct vdev *d, struct vs_conn *c, uint16_t op, uint32_t flags, const void *payload, uint32_t len)
{
	struct vsock_pkt p = { .src_cid = vs_cid, .dst_cid = VSOCK_PKT_CID_HOST, .src_port = c->local_port,
			       .dst_port = c->peer_port, .len = len, .type = VSOCK_PKT_TYPE_STREAM, .op = op,
			       .flags = flags, .buf_alloc = c->buf_alloc, .fwd_cnt = c->fwd_cnt };
	uint64_t start;

	if (len > VS_TX_PAYLOAD)
		virtio_fail(d, "virtio-vsock: a %u-byte packet (limit %u)", len, VS_TX_PAYLOAD);
	vsock_pkt_write_header(vs_txbuf, &p);
	mem_copy(vs_txbuf + VSOCK_PKT_HDR, payload, len);
	vs_txq.desc[0].addr = (uint32_t)(uintptr_t)vs_txbuf;
	vs_txq.desc[0].len = VSOCK_PKT_HDR + len;
	vs_txq.desc[0].flags = 0;
	vs_txq.avail.ring[vs_txq.avail.idx % VQ_SIZE] = 0;
	vbarrier();
	vs_txq.avail.idx++;
	vbarrier();
	vs_notify(d, VS_TXQ);
	start = rdtsc();
	while (*(volatile uint16_t *)&vs_txq.used.idx == vs_tx_last) {
		if (rdtsc() - start > VQ_WAIT_CYCLES)
			virtio_fail(d, "virtio-vsock: the device did not take transmit packet %u (op %u)", vs_tx_last, op);
		cpu_relax();
	}
	vbarrier();
	if (vs_txq.used.ring[vs_tx_last % VQ_SIZE].id != 0)
		virtio_fail(d, "virtio-vsock: transmit used ring names descriptor %u, the driver posted 0",
			    vs_txq.used.ring[vs_tx_last % VQ_SIZE].id);
	vs_tx_last++;
	c->fwd_advertised = c->fwd_cnt;
	if (op == VSOCK_PKT_OP_RW)
		c->tx_cnt += len;
}

/* The next packet the device wrote, validated; its payload copied to vs_payload and the buffer
 * handed back before returning. */
static void vs_recv(struct vdev *d, struct vsock_pkt *p)
{
	uint64_t start = rdtsc();
	uint32_t id, len;
	enum vsock_pkt_fault f;

	while (*(volatile uint16_t *)&vs_rxq.used.idx == vs_rx_last) {
		if (rdtsc() - start > VS_WAIT_CYCLES)
			virtio_fail(d, "virtio-vsock: no packet from the host after %llu cycles",
				    (unsigned long long)VS_WAIT_CYCLES);
		cpu_relax();
	}
	vbarrier();
	id = vs_rxq.used.ring[vs_rx_last % VQ_SIZE].id;
	len = vs_rxq.used.ring[vs_rx_last % VQ_SIZE].len;
	vs_rx_last++;
	if (id >= VQ_SIZE || len > sizeof(vs_rxbuf[0]))
		virtio_fail(d, "virtio-vsock: receive used ring entry id %u len %u is out of bounds", id, len);
	f = vsock_pkt_parse(vs_rxbuf[id], len, vs_cid, p);
	if (f != VSOCK_PKT_OK)
		virtio_fail(d, "virtio-vsock: a %u-byte receive packet is malformed: %s", len, vsock_pkt_fault_name(f));
	if (p->len) {
		mem_copy(vs_payload, p->payload, p->len);
		p->payload = vs_payload;
	}
	vs_rx_post(d, (uint16_t)id);
}

static void vs_credit_from(struct vs_conn *c, const struct vsock_pkt *p)
{
	c->peer_buf_alloc = p->buf_alloc;
	c->peer_fwd_cnt = p->fwd_cnt;
}

/* The next packet of stream c with operation op (or RW when op is 0 and data is wanted). Credit
 * requests are answered on the way; an RST or an unexpected operation fails the scenario. */
static void vs_expect(struct vdev *d, struct vs_conn *c, uint16_t op, struct vsock_pkt *p)
{
	for (;;) {
		vs_recv(d, p);
		if (p->dst_port != c->local_port || (c->peer_port && p->src_port != c->peer_port))
			virtio_fail(d, "virtio-vsock: op %u for port %u from host port %u, expected port %u from %u", p->op,
				    p->dst_port, p->src_port, c->local_port, c->peer_port);
		vs_credit_from(c, p);
		if (p->op == op)
			return;
		if (p->op == VSOCK_PKT_OP_CREDIT_REQUEST) {
			vs_send(d, c, VSOCK_PKT_OP_CREDIT_UPDATE, 0, 0, 0);
			continue;
		}
		if (p->op == VSOCK_PKT_OP_CREDIT_UPDATE)
			continue;
		virtio_fail(d, "virtio-vsock: op %u on port %u while waiting for op %u", p->op, c->local_port, op);
	}
}

/* Data to the host within the credit it granted (asking for more when it is used up). */
static void vs_write(struct vdev *d, struct vs_conn *c, const char *s, uint32_t len)
{
	struct vsock_pkt p;

	while (c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt) < len) {
		vs_send(d, c, VSOCK_PKT_OP_CREDIT_REQUEST, 0, 0, 0);
		vs_expect(d, c, VSOCK_PKT_OP_CREDIT_UPDATE, &p);
	}
	vs_send(d, c, VSOCK_PKT_OP_RW, 0, s, len);
}

/* Data from the host, counted against the credit this guest granted. */
static uint32_t vs_read(struct vdev *d, struct vs_conn *c, struct vsock_pkt *p)
{
	vs_expect(d, c, VSOCK_PKT_OP_RW, p);
	c->rx_cnt += p->len;
	if (c->rx_cnt - c->fwd_advertised > c->buf_alloc)
		virtio_fail(d, "virtio-vsock: the device sent %u bytes past the last credit update (credit %u)",
			    c->rx_cnt - c->fwd_advertised, c->buf_alloc);
	c->fwd_cnt += p->len; /* consumed at once */
	return p->len;
}

static uint32_t vs_arg(const struct guest_boot *boot, const char *key, uint32_t dflt)
{
	const struct guest_arg *a = guest_boot_arg(boot, key);
	uint32_t v = dflt;

	if (a && !parse_u32(a->value, a->value_len, &v))
		guest_fail(GUEST_BAD_ARGUMENT, "%s=%.*s is not a number", key, (int)a->value_len, a->value);
	return v;
}

static const char vs_hello[] = "hello host, this is the guest\n";
static const char vs_reply[] = "hello guest\n";

void scenario_virtio_vsock(const struct guest_boot *boot)
{
	struct vdev d;
	struct vs_conn out = { 0 }, in = { 0 };
	struct vsock_pkt p;
	char line[64], msg[48];
	uint32_t port = vs_arg(boot, "port", 1234), listen = vs_arg(boot, "listen", 5678);
	uint32_t want = vs_arg(boot, "bytes", 256), got = 0, n = 0, i, pkts = 0;
	uint16_t id;

	virtio_find(boot, 19, &d);
	virtio_negotiate(&d, 0);
	vs_cid = *vreg(&d, VM_CONFIG) | (uint64_t)*vreg(&d, VM_CONFIG + 4) << 32;
	virtio_queue_setup(&d, VS_RXQ, &vs_rxq);
	virtio_queue_setup(&d, VS_TXQ, &vs_txq);
	virtio_queue_setup(&d, VS_EVQ, &vs_evq);
	virtio_driver_ok(&d);
	for (id = 0; id < VQ_SIZE; id++)
		vs_rx_post(&d, id);
	console_printf("info: virtio-vsock: guest CID %llu\n", (unsigned long long)vs_cid);
	if (vs_cid < 3 || vs_cid >= 0xffffffffull)
		virtio_fail(&d, "virtio-vsock: guest CID %llu is reserved", (unsigned long long)vs_cid);

	/* Out: the host's listener on <uds_path>_<port>. */
	out.local_port = VS_LOCAL_PORT;
	out.peer_port = port;
	out.buf_alloc = 4096;
	vs_send(&d, &out, VSOCK_PKT_OP_REQUEST, 0, 0, 0);
	vs_expect(&d, &out, VSOCK_PKT_OP_RESPONSE, &p);
	console_printf("virtio-vsock: connected to host port %u\n", port);
	vs_write(&d, &out, vs_hello, sizeof(vs_hello) - 1);
	while (n < sizeof(vs_reply) - 1) {
		uint32_t k = vs_read(&d, &out, &p);
		if (n + k > sizeof(vs_reply) - 1 || !mem_eq(vs_payload, vs_reply + n, k))
			virtio_fail(&d, "virtio-vsock: the host's reply differs from \"hello guest\"");
		n += k;
	}
	vs_send(&d, &out, VSOCK_PKT_OP_CREDIT_UPDATE, 0, 0, 0);
	console_printf("virtio-vsock: sent a line to host port %u and read its reply\n", port);
	/* A clean close (5.10.6.6): SHUTDOWN both ways, answered by the peer's RST. */
	vs_send(&d, &out, VSOCK_PKT_OP_SHUTDOWN, VSOCK_PKT_SHUTDOWN_RCV | VSOCK_PKT_SHUTDOWN_SEND, 0, 0);
	vs_expect(&d, &out, VSOCK_PKT_OP_RST, &p);
	console_printf("virtio-vsock: closed it: SHUTDOWN, answered RST\n");

	/* In: the host connects to uds_path and writes "CONNECT <listen>". */
	in.local_port = listen;
	in.buf_alloc = VS_SMALL_CREDIT;
	vs_expect(&d, &in, VSOCK_PKT_OP_REQUEST, &p);
	in.peer_port = p.src_port;
	vs_send(&d, &in, VSOCK_PKT_OP_RESPONSE, 0, 0, 0);
	console_printf("info: virtio-vsock: host port %u connected to guest port %u\n", in.peer_port, listen);
	console_printf("virtio-vsock: accepted a host connection on port %u\n", listen);
	while (got < want) {
		uint32_t k = vs_read(&d, &in, &p);
		for (i = 0; i < k; i++)
			if (vs_payload[i] != (uint8_t)(got + i))
				virtio_fail(&d, "virtio-vsock: byte %u from the host is 0x%02x, expected 0x%02x", got + i,
					    vs_payload[i], (uint8_t)(got + i));
		got += k;
		pkts++;
		if (got > want)
			virtio_fail(&d, "virtio-vsock: %u bytes from the host, expected %u", got, want);
		/* Consumed: tell the device, which may not send more than VS_SMALL_CREDIT ahead. */
		vs_send(&d, &in, VSOCK_PKT_OP_CREDIT_UPDATE, 0, 0, 0);
	}
	console_printf("info: virtio-vsock: %u bytes in %u packets\n", got, pkts);
	console_printf("virtio-vsock: read %u bytes from the host within a %u-byte credit\n", got, VS_SMALL_CREDIT);
	mem_copy(msg, "guest got ", 10);
	n = 10;
	{
		char digits[10];
		uint32_t v = got, nd = 0;
		do {
			digits[nd++] = (char)('0' + v % 10);
			v /= 10;
		} while (v && nd < sizeof(digits));
		while (nd)
			msg[n++] = digits[--nd];
	}
	mem_copy(msg + n, " bytes\n", 7);
	n += 7;
	vs_write(&d, &in, msg, n);
	mem_copy(line, msg, n);
	line[n - 1] = 0;
	console_printf("virtio-vsock: wrote \"%s\" back\n", line);
	/* The host closes its end: the device says SHUTDOWN; the guest ends the stream with RST. */
	vs_expect(&d, &in, VSOCK_PKT_OP_SHUTDOWN, &p);
	vs_send(&d, &in, VSOCK_PKT_OP_RST, 0, 0, 0);
	console_printf("virtio-vsock: the host closed its end, the guest reset the stream\n");
	*vreg(&d, VM_STATUS) = 0;
	guest_pass();
}

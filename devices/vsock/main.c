/* carapace-vsock: a jailed vhost-user virtio-vsock back-end (device ID 19; queues rx, tx, event;
 * config = guest_cid u64) with Firecracker's hybrid-vsock semantics (Firecracker docs/vsock.md):
 * the host connects to --uds-path and writes "CONNECT <port>\n", answered "OK <host_port>\n";
 * a guest connecting to host port P reaches the UNIX socket <uds_path>_P.
 *
 * Everything the device touches exists before the jail: the listening socket on uds_path, an
 * O_PATH descriptor of uds_path's directory (a guest's connect goes to
 * /proc/self/fd/<dir fd>/<name>_P: the jail's own /proc resolves the magic link to the host
 * directory, so the jail's empty root needs no bind mount) and one epoll set that the vhost-user
 * event loop polls as the device's one extra fd.
 *
 * Flow control per virtio 1.2, 5.10.6.3 (devices/vsock/proto.c): what the guest sends beyond
 * the buf_alloc we advertised is refused with RST, so each stream buffers at most
 * VSOCK_BUF_ALLOC bytes; streams are capped at VSOCK_CONN_MAX and the RSTs owed for unknown
 * streams at VSOCK_ORPHAN_MAX: a flooding or lying guest cannot grow our memory. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/devkinds.h"
#include "devices/devstats.h"
#include "devices/helper_serve.h"
#include "devices/vsock/proto.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_CONFIG_SIZE (devkinds[DEVKIND_VSOCK].config_size) /* devices/devkinds.c */
#define VSOCK_CONN_MAX 64
#define VSOCK_BUF_ALLOC (256u << 10)
#define VSOCK_ORPHAN_MAX 64
#define VSOCK_LISTENER_TAG UINT32_MAX
/* Host-initiated streams get local ports from here up (as Firecracker does). */
#define VSOCK_LOCAL_PORT_BASE (1u << 30)

enum conn_state {
	CS_FREE,
	CS_HOST_LINE,  /* host client accepted, waiting for "CONNECT <port>\n" */
	CS_HOST_REQ,   /* REQUEST owed/sent to the guest, waiting for its RESPONSE */
	CS_CONNECTED,
	CS_CLOSING,    /* host socket closed; an RST is owed to the guest, then the slot is free */
};

enum {
	PEND_REQUEST = 1u << 0,
	PEND_RESPONSE = 1u << 1,
	PEND_RST = 1u << 2,
	PEND_CREDIT = 1u << 3,
	PEND_SHUTDOWN = 1u << 4,
};

struct vsock_conn {
	enum conn_state state;
	int fd;
	uint32_t guest_port, host_port;
	unsigned pending;
	struct vsock_credit cr;
	uint32_t fwd_advertised;   /* fwd_cnt in the last header we sent */
	uint8_t *buf;              /* guest bytes the host socket has not taken yet (<= buf_alloc) */
	uint32_t buf_off, buf_len;
	char line[VSOCK_CONNECT_LINE_MAX];
	uint32_t line_len;
	uint32_t pre_off, pre_len; /* host bytes after the CONNECT line, still in line[] */
	uint32_t events;           /* current epoll interest */
	bool readable, host_eof, guest_shut_send;
	bool established;          /* counted in conns_added: conns_removed when it goes */
};

struct vsock_orphan {
	uint32_t guest_port, host_port;
};

struct vsock_dev {
	uint64_t cid;
	int listen_fd, dir_fd, ep_fd;
	const char *base;          /* basename of uds_path */
	bool listening;
	uint32_t next_local_port;
	struct vsock_conn conn[VSOCK_CONN_MAX];
	unsigned nconn;
	struct vsock_orphan orphan[VSOCK_ORPHAN_MAX];
	unsigned norphan;
	struct vu_dev_ops ops;
};

/* Guest TX packets are copied here (header + at most VSOCK_MAX_PAYLOAD) before any check. */
static uint8_t tx_pkt[VSOCK_HDR_SIZE + VSOCK_MAX_PAYLOAD];

static void vsock_get_config(void *dev, uint8_t *cfg)
{
	struct vsock_dev *d = dev;

	cp_put_le64(cfg, d->cid);
}

static void conn_interest(struct vsock_dev *d, struct vsock_conn *c)
{
	struct epoll_event ev = { .data.u32 = (uint32_t)(c - d->conn) };
	uint32_t want = 0;

	if (c->fd < 0)
		return;
	if (c->state == CS_HOST_LINE)
		want |= EPOLLIN;
	if (c->state == CS_CONNECTED && !c->host_eof && !c->readable && vsock_credit_tx_window(&c->cr) > 0)
		want |= EPOLLIN;
	if (c->buf_len > 0)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	if (epoll_ctl(d->ep_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

static void listener_interest(struct vsock_dev *d)
{
	bool want = d->nconn < VSOCK_CONN_MAX;
	struct epoll_event ev = { .events = want ? EPOLLIN : 0, .data.u32 = VSOCK_LISTENER_TAG };

	if (want != d->listening && epoll_ctl(d->ep_fd, EPOLL_CTL_MOD, d->listen_fd, &ev) == 0)
		d->listening = want;
}

static struct vsock_conn *conn_new(struct vsock_dev *d, int fd, enum conn_state st)
{
	struct epoll_event ev = { .events = 0 };

	for (unsigned i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_conn *c = &d->conn[i];

		if (c->state != CS_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		ev.data.u32 = i;
		if (epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			cp_warn("vsock: epoll_ctl: %s", strerror(errno));
			return NULL;
		}
		c->state = st;
		c->fd = fd;
		c->cr.buf_alloc = VSOCK_BUF_ALLOC;
		d->nconn++;
		listener_interest(d);
		return c;
	}
	return NULL;
}

static void conn_close_fd(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	c->buf_len = c->buf_off = 0;
}

/* Counters (devices/devstats.h): a connection is added when both ends have agreed (the guest
 * answered a host's REQUEST, or we answered the guest's), removed when its slot is freed, and
 * killed when the helper ends it with an RST for a fault (not when the guest closes it). */
static void conn_established(struct vsock_conn *c)
{
	c->established = true;
	devstats_add(DS_VSOCK_CONNS_ADDED, 1);
}

/* The helper ends c for a fault: killed, if it was ever established. */
static void conn_count_killed(const struct vsock_conn *c)
{
	if (c->established)
		devstats_add(DS_VSOCK_CONNS_KILLED, 1);
}

static void conn_free(struct vsock_dev *d, struct vsock_conn *c)
{
	conn_close_fd(d, c);
	if (c->established)
		devstats_add(DS_VSOCK_CONNS_REMOVED, 1);
	c->established = false;
	c->state = CS_FREE;
	d->nconn--;
	listener_interest(d);
}

/* Close the host side and owe the guest an RST (only if the guest knows the stream). */
static void conn_end(struct vsock_dev *d, struct vsock_conn *c)
{
	if (c->state == CS_HOST_LINE) {
		conn_free(d, c);
		return;
	}
	conn_close_fd(d, c);
	c->state = CS_CLOSING;
	c->pending = PEND_RST;
}

/* The same for a fault: the helper kills the stream. */
static void conn_reset(struct vsock_dev *d, struct vsock_conn *c, const char *why)
{
	cp_debug("vsock: stream guest port %u / host port %u reset: %s", c->guest_port, c->host_port, why);
	conn_count_killed(c);
	conn_end(d, c);
}

static struct vsock_conn *conn_find(struct vsock_dev *d, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned i = 0; i < VSOCK_CONN_MAX; i++) {
		struct vsock_conn *c = &d->conn[i];

		if (c->state != CS_FREE && c->state != CS_HOST_LINE && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return c;
	}
	return NULL;
}

static void orphan_rst(struct vsock_dev *d, uint32_t guest_port, uint32_t host_port)
{
	/* Bounded: past the limit a guest sending to unknown streams gets no answer. */
	if (d->norphan < VSOCK_ORPHAN_MAX)
		d->orphan[d->norphan++] = (struct vsock_orphan){ guest_port, host_port };
}

/* ---- towards the guest (RX queue) ---- */

static void hdr_to_guest(struct vsock_dev *d, struct vsock_conn *c, struct vsock_hdr *h, enum vsock_op op,
			 uint32_t guest_port, uint32_t host_port)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_CID_HOST, .dst_cid = d->cid, .src_port = host_port, .dst_port = guest_port,
		.type = VSOCK_TYPE_STREAM, .op = (uint16_t)op,
	};
	if (c) {
		h->buf_alloc = c->cr.buf_alloc;
		h->fwd_cnt = c->cr.fwd_cnt;
		c->fwd_advertised = c->cr.fwd_cnt;
	}
}

/* Pop one receive buffer that can hold at least a header; false when the guest gave none (what
 * is owed stays pending until its next RX kick). */
static bool rx_pop(struct vu_backend *be, struct vsock_dev *d, struct vu_chain *ch)
{
	for (;;) {
		if (vu_be_pop(be, VSOCK_RXQ, ch) != 1)
			return false;
		if (ch->n_out == 0 && ch->in_bytes >= VSOCK_HDR_SIZE)
			return true;
		/* A buffer too small for a header, or with readable parts: give it back unused. */
		vu_be_push(be, VSOCK_RXQ, ch->head, 0);
	}
}

static void rx_finish(struct vu_backend *be, struct vu_chain *ch, const struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_SIZE];

	vsock_hdr_write(h, raw);
	vu_chain_write(ch, 0, raw, sizeof(raw));
	vu_be_push(be, VSOCK_RXQ, ch->head, VSOCK_HDR_SIZE + h->len);
	devstats_add(DS_VSOCK_RX_PACKETS, 1);
	devstats_add(DS_VSOCK_RX_BYTES, h->len);
}

static bool rx_control(struct vu_backend *be, struct vsock_dev *d, struct vsock_conn *c, enum vsock_op op,
		       uint32_t flags)
{
	struct vu_chain *ch = &be->chain;
	struct vsock_hdr h;

	if (!rx_pop(be, d, ch))
		return false;
	hdr_to_guest(d, c, &h, op, c->guest_port, c->host_port);
	h.flags = flags;
	rx_finish(be, ch, &h);
	return true;
}

/* One data packet from the host socket (or the bytes that followed the CONNECT line). */
static bool rx_data(struct vu_backend *be, struct vsock_dev *d, struct vsock_conn *c)
{
	struct vu_chain *ch = &be->chain;
	struct iovec iov[VU_CHAIN_MAX];
	struct msghdr mh = { .msg_iov = iov };
	struct vsock_hdr h;
	uint64_t room;
	uint32_t win = vsock_credit_tx_window(&c->cr);
	bool from_socket = false;
	ssize_t r;

	if (!rx_pop(be, d, ch))
		return false;
	room = ch->in_bytes - VSOCK_HDR_SIZE;
	if (room > win)
		room = win;
	if (room > VSOCK_MAX_PAYLOAD)
		room = VSOCK_MAX_PAYLOAD;
	if (c->pre_len) {
		uint32_t n = room < c->pre_len ? (uint32_t)room : c->pre_len;

		vu_chain_write(ch, VSOCK_HDR_SIZE, c->line + c->pre_off, n);
		c->pre_off += n;
		c->pre_len -= n;
		r = n;
	} else if (room == 0) {
		r = -1;
		errno = EAGAIN;
	} else {
		mh.msg_iovlen = (size_t)vu_chain_iov(ch, true, VSOCK_HDR_SIZE, room, iov, VU_CHAIN_MAX);
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT);
		from_socket = true;
	}
	if (r > 0) {
		hdr_to_guest(d, c, &h, VSOCK_OP_RW, c->guest_port, c->host_port);
		h.len = (uint32_t)r;
		vsock_credit_sent(&c->cr, (uint32_t)r);
		/* A short read drained the socket: wait for epoll again rather than spend the
		 * next receive buffer on a read that finds nothing. */
		if (from_socket && (uint64_t)r < room)
			c->readable = false;
	} else if (r == 0) {
		/* The host closed its end: the guest gets no more data from us (Firecracker sends
		 * SHUTDOWN with both flags; the guest answers with RST). */
		hdr_to_guest(d, c, &h, VSOCK_OP_SHUTDOWN, c->guest_port, c->host_port);
		h.flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
		c->host_eof = true;
		c->readable = false;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		/* Nothing after all: the buffer carries a credit update instead (always valid). */
		hdr_to_guest(d, c, &h, VSOCK_OP_CREDIT_UPDATE, c->guest_port, c->host_port);
		c->readable = false;
	} else {
		hdr_to_guest(d, c, &h, VSOCK_OP_RST, c->guest_port, c->host_port);
		rx_finish(be, ch, &h);
		conn_count_killed(c);
		conn_close_fd(d, c);
		c->state = CS_CLOSING; /* the RST just went out */
		conn_free(d, c);
		return true;
	}
	rx_finish(be, ch, &h);
	conn_interest(d, c);
	return true;
}

/* Send the guest everything owed, as far as its receive buffers allow. */
static void rx_flush(struct vu_backend *be, struct vsock_dev *d)
{
	bool sent = false, progress = true;

	while (d->norphan > 0) {
		struct vu_chain *ch = &be->chain;
		struct vsock_orphan *o = &d->orphan[d->norphan - 1];
		struct vsock_hdr h;

		if (!rx_pop(be, d, ch))
			goto out;
		hdr_to_guest(d, NULL, &h, VSOCK_OP_RST, o->guest_port, o->host_port);
		rx_finish(be, ch, &h);
		d->norphan--;
		sent = true;
	}
	while (progress) {
		progress = false;
		for (unsigned i = 0; i < VSOCK_CONN_MAX; i++) {
			struct vsock_conn *c = &d->conn[i];
			static const struct {
				unsigned bit;
				enum vsock_op op;
				uint32_t flags;
			} ctl[] = {
				{ PEND_REQUEST, VSOCK_OP_REQUEST, 0 },
				{ PEND_RESPONSE, VSOCK_OP_RESPONSE, 0 },
				{ PEND_CREDIT, VSOCK_OP_CREDIT_UPDATE, 0 },
				{ PEND_SHUTDOWN, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND },
				{ PEND_RST, VSOCK_OP_RST, 0 },
			};

			if (c->state == CS_FREE || c->state == CS_HOST_LINE)
				continue;
			for (unsigned k = 0; k < ARRAY_SIZE(ctl); k++) {
				if (!(c->pending & ctl[k].bit))
					continue;
				if (!rx_control(be, d, c, ctl[k].op, ctl[k].flags))
					goto out;
				c->pending &= ~ctl[k].bit;
				sent = progress = true;
			}
			if (c->state == CS_CLOSING) {
				conn_free(d, c);
				continue;
			}
			if (c->state == CS_CONNECTED && (c->readable || c->pre_len) && !c->host_eof &&
			    vsock_credit_tx_window(&c->cr) > 0) {
				if (!rx_data(be, d, c))
					goto out;
				sent = progress = true;
			}
		}
	}
out:
	if (sent)
		vu_be_notify(be, VSOCK_RXQ);
}

/* ---- from the guest (TX queue) ---- */

/* Write buffered guest bytes to the host socket. */
static void conn_drain(struct vsock_dev *d, struct vsock_conn *c)
{
	while (c->buf_len > 0) {
		ssize_t r = send(c->fd, c->buf + c->buf_off, c->buf_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			conn_reset(d, c, r < 0 ? strerror(errno) : "host socket closed");
			return;
		}
		c->buf_off += (uint32_t)r;
		c->buf_len -= (uint32_t)r;
		vsock_credit_forwarded(&c->cr, (uint32_t)r);
	}
	if (c->buf_len == 0)
		c->buf_off = 0;
	/* Tell the guest about freed space once a quarter of the window is free again (it also
	 * asks with CREDIT_REQUEST when its view of our window reaches zero). */
	if (c->cr.fwd_cnt - c->fwd_advertised >= VSOCK_BUF_ALLOC / 4)
		c->pending |= PEND_CREDIT;
	if (c->buf_len == 0 && c->guest_shut_send)
		(void)shutdown(c->fd, SHUT_WR);
	conn_interest(d, c);
}

static void conn_write(struct vsock_dev *d, struct vsock_conn *c, const uint8_t *p, uint32_t len)
{
	if (!c->buf) {
		c->buf = malloc(VSOCK_BUF_ALLOC);
		if (!c->buf) {
			conn_reset(d, c, "out of memory");
			return;
		}
	}
	/* vsock_credit_rx admitted len: buffered + len <= buf_alloc, so it fits after a move. */
	if (c->buf_off + c->buf_len + len > VSOCK_BUF_ALLOC) {
		memmove(c->buf, c->buf + c->buf_off, c->buf_len);
		c->buf_off = 0;
	}
	memcpy(c->buf + c->buf_off + c->buf_len, p, len);
	c->buf_len += len;
	conn_drain(d, c);
}

static void guest_connect(struct vsock_dev *d, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd;

	if (d->nconn >= VSOCK_CONN_MAX) {
		orphan_rst(d, h->src_port, h->dst_port);
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s_%u", d->dir_fd, d->base, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		cp_warn("vsock: socket: %s", strerror(errno));
		orphan_rst(d, h->src_port, h->dst_port);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EACCES || errno == EPERM)
			/* Loud: a set-up error on the host, not a guest fault. */
			cp_warn("vsock: guest connect to host port %u: %s_%u: %s (the jailed helper runs as "
				"nobody outside when started as root: the directory must be searchable and "
				"the socket writable by it)", h->dst_port, d->base, h->dst_port, strerror(errno));
		else
			cp_debug("vsock: guest port %u to host port %u: %s_%u: %s", h->src_port, h->dst_port,
				 d->base, h->dst_port, strerror(errno));
		close(fd);
		orphan_rst(d, h->src_port, h->dst_port);
		return;
	}
	c = conn_new(d, fd, CS_CONNECTED);
	if (!c) {
		close(fd);
		orphan_rst(d, h->src_port, h->dst_port);
		return;
	}
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	(void)vsock_credit_peer(&c->cr, h->buf_alloc, h->fwd_cnt);
	c->pending = PEND_RESPONSE;
	conn_established(c);
	conn_interest(d, c);
}

static void guest_packet(struct vsock_dev *d, const struct vsock_hdr *h, const uint8_t *payload)
{
	struct vsock_conn *c = conn_find(d, h->src_port, h->dst_port);
	char ok[VSOCK_CONNECT_LINE_MAX];
	size_t n;

	if (!c) {
		if (h->op == VSOCK_OP_REQUEST)
			guest_connect(d, h);
		else if (h->op != VSOCK_OP_RST)
			orphan_rst(d, h->src_port, h->dst_port);
		return;
	}
	if (c->state == CS_CLOSING)
		return; /* our RST is on its way */
	if (h->op == VSOCK_OP_RST) {
		conn_free(d, c);
		return;
	}
	if (vsock_credit_peer(&c->cr, h->buf_alloc, h->fwd_cnt) < 0) {
		conn_reset(d, c, "the guest claims to have consumed bytes never sent");
		return;
	}
	switch (h->op) {
	case VSOCK_OP_REQUEST:
		conn_reset(d, c, "REQUEST on an open stream");
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != CS_HOST_REQ) {
			conn_reset(d, c, "unexpected RESPONSE");
			return;
		}
		c->state = CS_CONNECTED;
		conn_established(c);
		n = vsock_ok_line(c->host_port, ok);
		if (send(c->fd, ok, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n) {
			conn_reset(d, c, "cannot answer OK to the host client");
			return;
		}
		break;
	case VSOCK_OP_RW:
		if (c->state != CS_CONNECTED || c->guest_shut_send) {
			conn_reset(d, c, "data on a stream that is not open for it");
			return;
		}
		if (vsock_credit_rx(&c->cr, h->len) < 0) {
			conn_reset(d, c, "the guest sent more than the credit we gave it");
			return;
		}
		conn_write(d, c, payload, h->len);
		return;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_SHUTDOWN:
		if ((h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
		    (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			/* Both directions closed: end the stream with an RST (as Linux's vhost-vsock
			 * and Firecracker do); the guest closed it, nothing was killed. */
			cp_debug("vsock: stream guest port %u / host port %u: guest shut both directions",
				 c->guest_port, c->host_port);
			conn_end(d, c);
			return;
		}
		if (h->flags & VSOCK_SHUTDOWN_SEND) {
			c->guest_shut_send = true;
			if (c->buf_len == 0)
				(void)shutdown(c->fd, SHUT_WR);
		}
		break;
	default:
		conn_reset(d, c, "unknown op");
		return;
	}
	conn_interest(d, c);
}

static void vsock_tx(struct vu_backend *be, struct vsock_dev *d)
{
	struct vu_chain *ch = &be->chain;
	unsigned n = 0;

	while (vu_be_pop(be, VSOCK_TXQ, ch) == 1) {
		struct cp_err err = { 0 };
		struct vsock_hdr h;
		size_t got = vu_chain_read(ch, 0, tx_pkt, sizeof(tx_pkt));

		if (got < VSOCK_HDR_SIZE || vsock_hdr_read(tx_pkt, VSOCK_HDR_SIZE, d->cid, &h, &err) < 0) {
			cp_debug("vsock: guest packet dropped: %s", got < VSOCK_HDR_SIZE ? "shorter than a header" : err.msg);
		} else if (ch->out_bytes != (uint64_t)VSOCK_HDR_SIZE + h.len) {
			/* The header's length must describe exactly what the guest supplied. */
			struct vsock_conn *c = conn_find(d, h.src_port, h.dst_port);

			if (c && c->state != CS_CLOSING)
				conn_reset(d, c, "packet length does not match its buffers");
			else
				orphan_rst(d, h.src_port, h.dst_port);
		} else {
			devstats_add(DS_VSOCK_TX_PACKETS, 1);
			devstats_add(DS_VSOCK_TX_BYTES, h.len);
			guest_packet(d, &h, tx_pkt + VSOCK_HDR_SIZE);
		}
		vu_be_push(be, VSOCK_TXQ, ch->head, 0);
		n++;
	}
	if (n)
		vu_be_notify(be, VSOCK_TXQ);
}

static void vsock_queue_event(void *dev, unsigned q, uint64_t kicks)
{
	if (q == VSOCK_RXQ)
		devstats_add(DS_VSOCK_RX_QUEUE_EVENTS, kicks);
	else if (q == VSOCK_TXQ)
		devstats_add(DS_VSOCK_TX_QUEUE_EVENTS, kicks);
	/* The event queue has no counter of its own in Firecracker's group. */
}

static void vsock_kick(struct vu_backend *be, unsigned q)
{
	struct vsock_dev *d = be->dev;

	if (q == VSOCK_TXQ)
		vsock_tx(be, d);
	/* The event queue carries only device-to-guest transport resets, which we never send. */
	rx_flush(be, d);
}

/* ---- host side ---- */

static void host_accept(struct vsock_dev *d)
{
	int one = 1;
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct vsock_conn *c;

	if (fd < 0)
		return;
	if (ioctl(fd, FIONBIO, &one) < 0 || !(c = conn_new(d, fd, CS_HOST_LINE))) {
		close(fd);
		return;
	}
	conn_interest(d, c);
}

static bool local_port_used(struct vsock_dev *d, uint32_t guest_port, uint32_t port)
{
	return conn_find(d, guest_port, port) != NULL;
}

static void host_line(struct vsock_dev *d, struct vsock_conn *c)
{
	struct cp_err err = { 0 };
	uint32_t port;
	size_t used;
	ssize_t r = recv(c->fd, c->line + c->line_len, sizeof(c->line) - c->line_len, MSG_DONTWAIT);
	int ret;

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_free(d, c);
		return;
	}
	c->line_len += (uint32_t)r;
	ret = vsock_connect_line_read(c->line, c->line_len, &port, &used, &err);
	if (ret == -EAGAIN && c->line_len < sizeof(c->line))
		return;
	if (ret < 0) {
		cp_debug("vsock: host client refused: %s", ret == -EAGAIN ? "no CONNECT line" : err.msg);
		conn_free(d, c);
		return;
	}
	c->guest_port = port;
	do
		c->host_port = d->next_local_port++;
	while (c->host_port < VSOCK_LOCAL_PORT_BASE || local_port_used(d, port, c->host_port));
	c->pre_off = (uint32_t)used;
	c->pre_len = c->line_len - (uint32_t)used;
	c->state = CS_HOST_REQ;
	c->pending = PEND_REQUEST;
	conn_interest(d, c);
}

static int vsock_extra_fd(void *dev)
{
	struct vsock_dev *d = dev;

	return d->ep_fd;
}

static void vsock_ready(struct vu_backend *be)
{
	struct vsock_dev *d = be->dev;
	struct epoll_event ev[16];
	int n = epoll_wait(d->ep_fd, ev, ARRAY_SIZE(ev), 0);

	for (int i = 0; i < n; i++) {
		struct vsock_conn *c;

		if (ev[i].data.u32 == VSOCK_LISTENER_TAG) {
			host_accept(d);
			continue;
		}
		if (ev[i].data.u32 >= VSOCK_CONN_MAX)
			continue;
		c = &d->conn[ev[i].data.u32];
		if (c->state == CS_HOST_LINE) {
			host_line(d, c);
			continue;
		}
		if (c->state != CS_CONNECTED && c->state != CS_HOST_REQ)
			continue;
		if (ev[i].events & EPOLLOUT)
			conn_drain(d, c);
		if (c->state == CS_CONNECTED && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
			c->readable = true;
			conn_interest(d, c);
		}
	}
	rx_flush(be, d);
}

/* ---- set-up (before the jail) ---- */

static int vsock_listen(const char *path, struct cp_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path))
		return cp_err_set(err, ENAMETOOLONG, "--uds-path %s is too long", path);
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cp_err_set(err, EEXIST, "--uds-path %s exists and is not a socket", path);
		unlink(path);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cp_err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cp_err_set(err, errno, "bind %s: %s", path, strerror(errno));
	if (listen(fd, 16) < 0)
		return cp_err_set(err, errno, "listen %s: %s", path, strerror(errno));
	return TAKE_FD(fd);
}

int main(int argc, char **argv)
{
	static struct vsock_dev d = { .listen_fd = -1, .dir_fd = -1, .ep_fd = -1,
				      .next_local_port = VSOCK_LOCAL_PORT_BASE };
	struct dev_cli cli;
	struct cp_err err = { 0 };
	const char *uds = NULL;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], name[sizeof(dir)], probe[sizeof(dir) + 32];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = VSOCK_LISTENER_TAG };
	int status, keep[3];

	cp_log_set_prog("carapace-vsock");
	/* --cid 3..2^32-2 (0-2 are reserved, U32_MAX is VMADDR_CID_ANY) and --uds-path: the rows
	 * of devices/helper_cli.c. */
	if (!dev_cli_read(DEVKIND_VSOCK, argc, argv, &cli, &status))
		return status;
	uds = cli.str[VSOCK_CLI_UDS_PATH];
	d.cid = cli.num[VSOCK_CLI_CID];
	if (strlen(uds) >= sizeof(dir)) {
		cp_err("--uds-path %s is too long", uds);
		return CP_EXIT_USAGE;
	}
	strcpy(dir, uds);
	strcpy(name, uds);
	d.base = strdup(basename(name));
	/* The longest guest-side path must fit a sockaddr_un. */
	if (!d.base || snprintf(probe, sizeof(probe), "/proc/self/fd/1023/%s_4294967295", d.base) >=
			       (int)sizeof(((struct sockaddr_un *)0)->sun_path)) {
		cp_err("--uds-path %s: its name is too long for <name>_<port> sockets", uds);
		return CP_EXIT_USAGE;
	}
	d.dir_fd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d.dir_fd < 0) {
		cp_err("--uds-path %s: directory: %s", uds, strerror(errno));
		return CP_EXIT_FAILURE;
	}
	d.listen_fd = vsock_listen(uds, &err);
	if (d.listen_fd < 0) {
		cp_err("%s", err.msg);
		return CP_EXIT_FAILURE;
	}
	d.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d.ep_fd < 0 || epoll_ctl(d.ep_fd, EPOLL_CTL_ADD, d.listen_fd, &ev) < 0) {
		cp_err("vsock: epoll: %s", strerror(errno));
		return CP_EXIT_FAILURE;
	}
	d.listening = true;
	keep[0] = d.listen_fd;
	keep[1] = d.dir_fd;
	keep[2] = d.ep_fd;
	d.ops = (struct vu_dev_ops){
		.name = "vsock",
		.features = 1ull << VIRTIO_F_INDIRECT_DESC,
		.protocol_features = VU_PF_IMPLEMENTED,
		.num_queues = devkinds[DEVKIND_VSOCK].queues,
		.config_size = VSOCK_CONFIG_SIZE,
		.get_config = vsock_get_config,
		.queue_kick = vsock_kick,
		.queue_event = vsock_queue_event,
		.extra_fd = vsock_extra_fd,
		.extra_ready = vsock_ready,
	};
	return dev_helper_serve(&cli.common, &devkinds[DEVKIND_VSOCK], &d.ops, &d, keep, 3);
}

/* carapace-net: a jailed vhost-user virtio-net back-end on a TAP device handed over by the
 * runner (--tap-fd) or opened by name before jailing (--tap). Frames keep their virtio-net
 * header: the TAP is put in IFF_VNET_HDR mode with a 12-byte header and no offloads. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/devkinds.h"
#include "devices/devstats.h"
#include "devices/helper_serve.h"

#define NET_RXQ 0
#define NET_TXQ 1
#define NET_HDR 12u            /* virtio_net_hdr_v1 (VERSION_1) */
#define NET_FRAME_MAX 65550u   /* header + 64 KiB frame */
#define VIRTIO_NET_F_MAC 5
#define NET_CONFIG_SIZE (devkinds[DEVKIND_NET].config_size) /* devices/devkinds.c */

struct net_dev {
	int tap;
	uint8_t mac[6];
	bool rx_starved;
	size_t pending;            /* bytes of a frame read but not yet delivered */
	uint8_t frame[NET_FRAME_MAX];
	struct vu_dev_ops ops;
};

static void net_get_config(void *dev, uint8_t *cfg)
{
	struct net_dev *n = dev;

	memset(cfg, 0, NET_CONFIG_SIZE);
	memcpy(cfg, n->mac, 6);
	cp_put_le16(cfg + 8, 1); /* max_virtqueue_pairs */
}

/* Counters (devices/devstats.h) count frames with their 12-byte virtio-net header, as
 * Firecracker counts what it reads from and writes to its TAP. */
static void net_tx(struct vu_backend *be, struct net_dev *n)
{
	struct vu_chain *c = &be->chain;
	unsigned done = 0;

	while (vu_be_pop(be, NET_TXQ, c) == 1) {
		/* The header goes with the frame: the TAP expects exactly this 12-byte header. */
		if (c->out_bytes <= NET_HDR || c->out_bytes > NET_FRAME_MAX) {
			devstats_add(DS_NET_TX_MALFORMED, 1);
		} else if (writev(n->tap, c->iov, c->n_out) < 0) {
			/* EAGAIN too: the TAP's queue is full and the frame is dropped. */
			if (errno != EAGAIN)
				cp_warn("net: transmit: %s", strerror(errno));
			devstats_add(DS_NET_TAP_WRITE_FAILS, 1);
		} else {
			devstats_add(DS_NET_TX_COUNT, 1);
			devstats_add(DS_NET_TX_PACKETS, 1);
			devstats_add(DS_NET_TX_BYTES, c->out_bytes);
		}
		vu_be_push(be, NET_TXQ, c->head, 0);
		done++;
	}
	if (done)
		vu_be_notify(be, NET_TXQ);
}

static void net_queue_event(void *dev, unsigned q, uint64_t kicks)
{
	devstats_add(q == NET_TXQ ? DS_NET_TX_QUEUE_EVENTS : DS_NET_RX_QUEUE_EVENTS, kicks);
}

static void net_kick(struct vu_backend *be, unsigned q)
{
	struct net_dev *n = be->dev;

	if (q == NET_TXQ)
		net_tx(be, n);
	else
		n->rx_starved = false;
}

static int net_extra_fd(void *dev)
{
	struct net_dev *n = dev;

	return n->rx_starved ? -1 : n->tap;
}

static void net_rx(struct vu_backend *be)
{
	struct net_dev *n = be->dev;
	struct vu_chain *c = &be->chain;

	devstats_add(DS_NET_RX_TAP_EVENTS, 1);
	for (;;) {
		if (!n->pending) {
			ssize_t r = read(n->tap, n->frame, sizeof(n->frame));

			if (r < 0 && errno != EAGAIN && errno != EINTR)
				devstats_add(DS_NET_TAP_READ_FAILS, 1);
			if (r <= 0)
				return; /* EAGAIN: nothing more */
			devstats_add(DS_NET_RX_COUNT, 1);
			if ((size_t)r <= NET_HDR)
				continue;
			n->pending = (size_t)r;
		}
		if (vu_be_pop(be, NET_RXQ, c) != 1) {
			n->rx_starved = true; /* keep the frame until the guest gives buffers */
			return;
		}
		uint32_t len = 0;
		if (c->in_bytes >= n->pending) {
			cp_put_le16(n->frame + 10, 1); /* num_buffers: one, we do not merge */
			len = (uint32_t)vu_chain_write(c, 0, n->frame, n->pending);
			devstats_add(DS_NET_RX_PACKETS, 1);
			devstats_add(DS_NET_RX_BYTES, len);
		}
		/* A frame larger than the buffers is dropped; the guest sees an empty completion. */
		vu_be_push(be, NET_RXQ, c->head, len);
		vu_be_notify(be, NET_RXQ);
		n->pending = 0;
	}
}

static int net_tap_setup(int fd, const char *name)
{
	struct ifreq ifr;
	int hdr = NET_HDR;

	memset(&ifr, 0, sizeof(ifr));
	if (name) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (ioctl(fd, TUNSETIFF, &ifr) < 0)
			return cp_err("--tap %s: TUNSETIFF: %s", name, strerror(errno)), -1;
	} else {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return cp_err("--tap-fd: not a TAP fd: %s", strerror(errno)), -1;
		if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) != (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
			return cp_err("--tap-fd: the TAP must be created with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR (flags 0x%x)",
				      ifr.ifr_flags), -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		return cp_err("TAP: header size / offloads: %s", strerror(errno)), -1;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return cp_err("TAP: O_NONBLOCK: %s", strerror(errno)), -1;
	return 0;
}

/* Exactly xx:xx:xx:xx:xx:xx in hex (the reader checked the length): no spaces, signs or
 * short fields that sscanf would let through. */
static int net_parse_mac(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(hex, tolower((unsigned char)s[3 * i]));
		const char *lo = strchr(hex, tolower((unsigned char)s[3 * i + 1]));

		if (!s[3 * i] || !s[3 * i + 1] || !hi || !lo || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(((hi - hex) << 4) | (lo - hex));
	}
	return (mac[0] & 1) ? -1 : 0; /* a multicast address cannot be a NIC's */
}

int main(int argc, char **argv)
{
	struct dev_cli cli;
	static struct net_dev n = { .tap = -1, .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };
	const char *tap = NULL;
	int status;

	cp_log_set_prog("carapace-net");
	/* Exactly one of --tap NAME (15 bytes at most) and --tap-fd N (devices/helper_cli.c). */
	if (!dev_cli_read(DEVKIND_NET, argc, argv, &cli, &status))
		return status;
	tap = cli.str[NET_CLI_TAP];
	if (cli.set[NET_CLI_TAP_FD]) {
		n.tap = (int)cli.num[NET_CLI_TAP_FD];
		if (fcntl(n.tap, F_GETFD) < 0) {
			cp_err("--tap-fd %d: %s", n.tap, strerror(errno));
			return CP_EXIT_FAILURE;
		}
	}
	if (cli.set[NET_CLI_MAC] && net_parse_mac(cli.str[NET_CLI_MAC], n.mac) < 0) {
		cp_err("--mac %s: expected a unicast xx:xx:xx:xx:xx:xx", cli.str[NET_CLI_MAC]);
		return CP_EXIT_USAGE;
	}
	if (tap) {
		n.tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (n.tap < 0) {
			cp_err("/dev/net/tun: %s", strerror(errno));
			return CP_EXIT_FAILURE;
		}
	}
	if (net_tap_setup(n.tap, tap) < 0)
		return CP_EXIT_FAILURE;
	n.ops = (struct vu_dev_ops){
		.name = "net",
		.features = (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_NET_F_MAC),
		.protocol_features = VU_PF_IMPLEMENTED,
		.num_queues = devkinds[DEVKIND_NET].queues,
		.config_size = NET_CONFIG_SIZE,
		.get_config = net_get_config,
		.queue_kick = net_kick,
		.queue_event = net_queue_event,
		.extra_fd = net_extra_fd,
		.extra_ready = net_rx,
	};
	return dev_helper_serve(&cli.common, &devkinds[DEVKIND_NET], &n.ops, &n, &n.tap, 1);
}

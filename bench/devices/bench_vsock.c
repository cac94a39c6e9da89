/* Benchmark: the jailed carapace-vsock as a relay between a host UNIX socket and a guest, the
 * guest played by the front-end harness (shared memfd memory, split rings, eventfd kicks; no
 * KVM), against the floor the relay adds to: a plain UNIX socket pair carrying the same bytes
 * between the same two threads. Measures host -> guest throughput (64 KiB writes, the guest
 * granting 256 KiB of credit and updating it every 64 KiB) and a 1-byte round trip (host writes,
 * guest answers). Prints a markdown table and the ratios (docs/PERFORMANCE.md).
 * usage: bench-devices-vsock CARAPACE_VSOCK [MiB] [round trips] */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "devices/vsock/proto.h"
#include "fe_util.h"

#define CID 42u
#define GPORT 5000u
#define QSIZE 256
#define RXBUF (VSOCK_HDR_SIZE + 4096u)
#define CREDIT (256u << 10)
#define ROUNDS 5

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-devices-vsock: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct guest {
	struct fe_env e;
	uint64_t rx_gpa[QSIZE], txbuf;
	uint32_t host_port, fwd_cnt, fwd_sent;
};

static void rx_post(struct guest *g, uint64_t gpa)
{
	struct vu_drv_buf b = { gpa, RXBUF, true };
	int head = vu_drvq_add(&g->e.q[0], &b, 1);
	if (head < 0) {
		errno = ENOSPC;
		die("rx ring");
	}
	g->rx_gpa[head] = gpa;
}

static void send_pkt(struct guest *g, uint16_t op, const void *data, uint32_t len)
{
	uint8_t *p = fe_host(&g->e, g->txbuf);
	struct vu_drv_buf b = { g->txbuf, VSOCK_HDR_SIZE + len, false };
	uint16_t h;
	uint32_t l;

	cp_put_le64(p, CID);
	cp_put_le64(p + 8, VSOCK_CID_HOST);
	cp_put_le32(p + 16, GPORT);
	cp_put_le32(p + 20, g->host_port);
	cp_put_le32(p + 24, len);
	cp_put_le16(p + 28, VSOCK_TYPE_STREAM);
	cp_put_le16(p + 30, op);
	cp_put_le32(p + 32, 0);
	cp_put_le32(p + 36, CREDIT);
	cp_put_le32(p + 40, g->fwd_cnt);
	memcpy(p + VSOCK_HDR_SIZE, data, len);
	if (vu_drvq_add(&g->e.q[1], &b, 1) < 0)
		die("tx ring");
	vu_drvq_kick(&g->e.q[1]);
	while (vu_drvq_get_used(&g->e.q[1], &h, &l) != 1)
		if (vu_drvq_wait(&g->e.q[1], 1000) < 0)
			die("tx wait");
	g->fwd_sent = g->fwd_cnt;
}

/* The next packet the device wrote: op and payload length; the buffer goes back at once. */
static uint16_t recv_pkt(struct guest *g, uint32_t *len, uint32_t *src_port)
{
	uint16_t h, op;
	uint32_t l;

	while (vu_drvq_get_used(&g->e.q[0], &h, &l) != 1)
		if (vu_drvq_wait(&g->e.q[0], 1000) < 0)
			die("rx wait");
	const uint8_t *p = fe_host(&g->e, g->rx_gpa[h]);
	op = cp_le16(p + 30);
	*len = cp_le32(p + 24);
	if (src_port)
		*src_port = cp_le32(p + 16);
	rx_post(g, g->rx_gpa[h]);
	vu_drvq_kick(&g->e.q[0]);
	return op;
}

/* ---- the two carriers, each with a host end (fd) and a guest end ---- */

struct carrier {
	int host_fd;
	int peer_fd;          /* socket pair: the guest's end; vsock: -1 */
	struct guest *g;      /* vsock */
};

/* Guest end: consume `total` bytes. */
static void guest_drain(struct carrier *c, uint64_t total)
{
	static char buf[1 << 16];
	uint64_t got = 0;

	while (got < total) {
		if (c->g) {
			uint32_t len;
			if (recv_pkt(c->g, &len, NULL) != VSOCK_OP_RW)
				continue;
			got += len;
			c->g->fwd_cnt += len;
			if (c->g->fwd_cnt - c->g->fwd_sent >= (64u << 10))
				send_pkt(c->g, VSOCK_OP_CREDIT_UPDATE, NULL, 0);
		} else {
			ssize_t r = read(c->peer_fd, buf, sizeof(buf));
			if (r <= 0)
				die("pair read");
			got += (uint64_t)r;
		}
	}
}

struct writer {
	int fd;
	uint64_t total;
};

static void *host_writer(void *arg)
{
	static char buf[1 << 16];
	struct writer *w = arg;

	memset(buf, 'x', sizeof(buf));
	for (uint64_t done = 0; done < w->total;) {
		ssize_t r = write(w->fd, buf, sizeof(buf));
		if (r <= 0)
			die("host write");
		done += (uint64_t)r;
	}
	return NULL;
}

static double throughput(struct carrier *c, uint64_t total)
{
	struct writer w = { c->host_fd, total };
	pthread_t t;
	double t0 = now();

	pthread_create(&t, NULL, host_writer, &w);
	guest_drain(c, total);
	pthread_join(t, NULL);
	return (double)total / (now() - t0) / (1 << 20);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median microseconds of n 1-byte round trips: host writes, the guest end answers one byte. */
static double round_trip(struct carrier *c, unsigned n)
{
	double *v = calloc(n, sizeof(*v)), med;
	char b = 'p';

	for (unsigned i = 0; i < n; i++) {
		double t0 = now();
		if (write(c->host_fd, &b, 1) != 1)
			die("ping");
		if (c->g) {
			uint32_t len;
			while (recv_pkt(c->g, &len, NULL) != VSOCK_OP_RW)
				;
			c->g->fwd_cnt += len;
			send_pkt(c->g, VSOCK_OP_RW, "q", 1);
		} else {
			char x;
			if (read(c->peer_fd, &x, 1) != 1 || write(c->peer_fd, "q", 1) != 1)
				die("pair pong");
		}
		if (read(c->host_fd, &b, 1) != 1)
			die("pong");
		v[i] = (now() - t0) * 1e6;
	}
	qsort(v, n, sizeof(*v), cmp_d);
	med = v[n / 2];
	free(v);
	return med;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/carapace-bvsock.XXXXXX", sock[128], uds[128], line[64];
	uint64_t total = (argc > 2 ? strtoull(argv[2], NULL, 10) : 64) << 20;
	unsigned trips = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2000;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct guest g;
	struct carrier vs = { -1, -1, &g }, pair = { -1, -1, NULL };
	double tp[2][ROUNDS], rt[2][ROUNDS];
	int sv[2];
	size_t n = 0;
	uint32_t len, src;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-devices-vsock CARAPACE_VSOCK [MiB] [round trips]\n");
		return 2;
	}
	if (!mkdtemp(dir) || chmod(dir, 0711) < 0)
		die("mkdtemp");
	snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	char *hargv[] = { argv[1], "--socket-path", sock, "--cid", "42", "--uds-path", uds, NULL };
	pid = fe_spawn(hargv, sock);
	if (pid <= 0 || fe_env_open(&g.e, sock, 64u << 20, 3, QSIZE, ~0ull, ~0ull) < 0) {
		fprintf(stderr, "bench-devices-vsock: %s\n", g.e.err.msg);
		return 1;
	}
	g.txbuf = fe_alloc(&g.e, VSOCK_HDR_SIZE + 64);
	for (unsigned i = 0; i < QSIZE; i++)
		rx_post(&g, fe_alloc(&g.e, RXBUF));
	vu_drvq_kick(&g.e.q[0]);
	/* The host connects through hybrid vsock; the guest accepts. */
	strcpy(sa.sun_path, uds);
	vs.host_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(vs.host_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect uds");
	if (write(vs.host_fd, "CONNECT 5000\n", 13) != 13)
		die("CONNECT");
	while (recv_pkt(&g, &len, &src) != VSOCK_OP_REQUEST)
		;
	g.host_port = src;
	send_pkt(&g, VSOCK_OP_RESPONSE, NULL, 0);
	while (n < sizeof(line) - 1 && read(vs.host_fd, line + n, 1) == 1 && line[n++] != '\n')
		;
	if (strncmp(line, "OK ", 3))
		die("no OK");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pair.host_fd = sv[0];
	pair.peer_fd = sv[1];

	/* Alternate the carriers; report medians. */
	for (int r = 0; r < ROUNDS; r++) {
		tp[0][r] = throughput(&vs, total);
		tp[1][r] = throughput(&pair, total);
		rt[0][r] = round_trip(&vs, trips);
		rt[1][r] = round_trip(&pair, trips);
	}
	for (int k = 0; k < 2; k++) {
		qsort(tp[k], ROUNDS, sizeof(double), cmp_d);
		qsort(rt[k], ROUNDS, sizeof(double), cmp_d);
	}
	printf("| carrier | host -> guest MiB/s (%llu MiB) | 1-byte round trip, median µs (%u) |\n",
	       (unsigned long long)(total >> 20), trips);
	printf("|---|---|---|\n");
	printf("| carapace-vsock (jailed, hybrid vsock) | %.0f | %.1f |\n", tp[0][ROUNDS / 2], rt[0][ROUNDS / 2]);
	printf("| UNIX socket pair (the floor) | %.0f | %.1f |\n", tp[1][ROUNDS / 2], rt[1][ROUNDS / 2]);
	printf("ratio: throughput %.2f x the socket pair's, round trip %.1f x\n", tp[0][ROUNDS / 2] / tp[1][ROUNDS / 2],
	       rt[0][ROUNDS / 2] / rt[1][ROUNDS / 2]);
	close(vs.host_fd);
	fe_env_close(&g.e);
	fe_wait(pid);
	snprintf(line, sizeof(line), "rm -rf %s", dir);
	return system(line) == 0 ? 0 : 1;
}

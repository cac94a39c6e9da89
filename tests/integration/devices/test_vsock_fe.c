/* Integration: the jailed carapace-vsock driven by the test front-end, which plays the guest by
 * writing virtio-vsock packets into shared memory. Hybrid vsock both ways (guest connects to
 * <uds>_P; host writes "CONNECT P\n" and reads "OK <port>\n"), data both ways, a guest that
 * ignores its credit or lies about it, a guest flooding connection requests, and a forbidden
 * system call; after each, the helper's counter page (--stats-fd, Firecracker's `vsock` group)
 * holds what the test sent and received. Runs without KVM. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "devices/devstats.h"
#include "devices/vsock/proto.h"
#include "fe_util.h"

#define GUEST_CID 42u
#define RXQ 0
#define TXQ 1
#define RXBUF (VSOCK_HDR_SIZE + 4096u)

static char dir[256], sock[300], uds[300], bin[512];

static int setup(void **state)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");

	snprintf(bin, sizeof(bin), "%s/devices/carapace-vsock", build ? build : ".");
	strcpy(dir, "/tmp/carapace-vsock.XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* The jailed helper connects to <uds>_P as the jail's uid (nobody outside when the test
	 * runs as root): it must be able to search the directory and write the socket. */
	assert_int_equal(chmod(dir, 0711), 0);
	snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct vs {
	struct fe_env e;
	struct fe_stats st;
	pid_t pid;
	uint64_t txbuf;
};

static void vs_start(struct vs *v)
{
	assert_int_equal(fe_stats_open(&v->st), 0);
	char *argv[] = { bin, "--socket-path", sock, "--cid", "42", "--uds-path", uds, "--stats-fd", v->st.arg, NULL };

	v->pid = fe_spawn(argv, sock);
	fe_stats_sent(&v->st);
	assert_true(v->pid > 0);
	if (fe_env_open(&v->e, sock, 16u << 20, 3, 256, ~0ull, ~0ull) < 0)
		fail_msg("%s", v->e.err.msg);
	v->txbuf = fe_alloc(&v->e, VSOCK_HDR_SIZE + VSOCK_MAX_PAYLOAD);
}

/* Ends the helper; its counters stay readable until vs_counters(). */
static void vs_stop(struct vs *v)
{
	fe_env_close(&v->e);
	int st = fe_wait(v->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Every counter of the vsock group after vs_stop (nothing moves any more); a want of UINT64_MAX
 * is not checked. */
static void vs_counters(struct vs *v, const uint64_t want[DS_VSOCK__N])
{
	const struct devstats_kind *k = devstats_kind(DEVKIND_VSOCK);

	for (unsigned i = 0; i < DS_VSOCK__N; i++) {
		uint64_t got = fe_stats_get(&v->st, i);

		if (want[i] != UINT64_MAX && got != want[i])
			fail_msg("vsock counter %s: %llu, expected %llu", k->names[i], (unsigned long long)got,
				 (unsigned long long)want[i]);
	}
	fe_stats_close(&v->st);
}

static void put_hdr(uint8_t *p, uint32_t src_port, uint32_t dst_port, uint16_t op, uint32_t len,
		    uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	cp_put_le64(p + 0, GUEST_CID);
	cp_put_le64(p + 8, VSOCK_CID_HOST);
	cp_put_le32(p + 16, src_port);
	cp_put_le32(p + 20, dst_port);
	cp_put_le32(p + 24, len);
	cp_put_le16(p + 28, VSOCK_TYPE_STREAM);
	cp_put_le16(p + 30, op);
	cp_put_le32(p + 32, flags);
	cp_put_le32(p + 36, buf_alloc);
	cp_put_le32(p + 40, fwd_cnt);
}

/* The guest sends one packet (header and payload in one buffer) and waits for the device to take it. */
static void guest_send(struct vs *v, uint32_t src_port, uint32_t dst_port, uint16_t op, const void *data,
		       uint32_t len, uint32_t flags, uint32_t fwd_cnt)
{
	uint8_t *p = fe_host(&v->e, v->txbuf);
	struct vu_drv_buf b = { v->txbuf, VSOCK_HDR_SIZE + len, false };
	uint16_t h;
	uint32_t l;
	int got = 0;

	put_hdr(p, src_port, dst_port, op, len, flags, 1u << 20, fwd_cnt);
	if (len)
		memcpy(p + VSOCK_HDR_SIZE, data, len);
	assert_true(vu_drvq_add(&v->e.q[TXQ], &b, 1) >= 0);
	vu_drvq_kick(&v->e.q[TXQ]);
	for (int i = 0; i < 500 && !(got = vu_drvq_get_used(&v->e.q[TXQ], &h, &l)); i++)
		vu_drvq_wait(&v->e.q[TXQ], 10);
	assert_int_equal(got, 1);
}

struct pkt {
	uint32_t src_port, dst_port, len, flags, buf_alloc, fwd_cnt;
	uint16_t op;
	uint8_t data[4096];
};

/* RX buffers are laid out in order by guest_post_rx; a used entry's head gives its buffer. */
static uint64_t rx_gpa[1024];

static void guest_post_rx_track(struct vs *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vu_drv_buf b = { fe_alloc(&v->e, RXBUF), RXBUF, true };
		int head = vu_drvq_add(&v->e.q[RXQ], &b, 1);

		assert_true(head >= 0);
		rx_gpa[head] = b.gpa;
	}
	vu_drvq_kick(&v->e.q[RXQ]);
}

/* Wait (bounded) for one packet from the device; 0 when none came. */
static int guest_recv(struct vs *v, struct pkt *pk, int tries)
{
	uint16_t h;
	uint32_t l;

	for (int i = 0; i < tries; i++) {
		if (vu_drvq_get_used(&v->e.q[RXQ], &h, &l) == 1) {
			const uint8_t *p = fe_host(&v->e, rx_gpa[h]);

			assert_true(l >= VSOCK_HDR_SIZE);
			assert_int_equal(cp_le64(p + 0), VSOCK_CID_HOST);
			assert_int_equal(cp_le64(p + 8), GUEST_CID);
			pk->src_port = cp_le32(p + 16);
			pk->dst_port = cp_le32(p + 20);
			pk->len = cp_le32(p + 24);
			pk->op = cp_le16(p + 30);
			pk->flags = cp_le32(p + 32);
			pk->buf_alloc = cp_le32(p + 36);
			pk->fwd_cnt = cp_le32(p + 40);
			assert_int_equal(l, VSOCK_HDR_SIZE + pk->len);
			memcpy(pk->data, p + VSOCK_HDR_SIZE, pk->len);
			return 1;
		}
		vu_drvq_wait(&v->e.q[RXQ], 10);
	}
	return 0;
}

/* The next packet for guest port `port`, skipping late ones for other streams (an RST still on
 * its way for a stream the test already gave up). */
static int guest_recv_for(struct vs *v, struct pkt *pk, uint32_t port)
{
	while (guest_recv(v, pk, 500) == 1)
		if (pk->dst_port == port)
			return 1;
	return 0;
}

static int host_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(listen(fd, 128), 0);
	return fd;
}

static int host_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void host_read(int fd, const char *want)
{
	char buf[256];
	size_t got = 0, n = strlen(want);

	while (got < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		assert_int_equal(poll(&p, 1, 5000), 1);
		ssize_t r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(buf, want, n);
}

/* The guest connects to host port 5000: the helper (jailed, empty root) reaches <uds>_5000. */
static void test_guest_to_host(void **state)
{
	char path[320];
	struct vs v;
	struct pkt pk;
	int lfd, cfd;

	snprintf(path, sizeof(path), "%s_5000", uds);
	lfd = host_listen(path);
	vs_start(&v);
	guest_post_rx_track(&v, 16);
	guest_send(&v, 1234, 5000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RESPONSE);
	assert_int_equal(pk.src_port, 5000);
	assert_int_equal(pk.dst_port, 1234);
	assert_true(pk.buf_alloc > 0);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(cfd >= 0);
	guest_send(&v, 1234, 5000, VSOCK_OP_RW, "hello", 5, 0, 0);
	host_read(cfd, "hello");
	assert_int_equal(write(cfd, "world", 5), 5);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RW);
	assert_int_equal(pk.len, 5);
	assert_memory_equal(pk.data, "world", 5);
	/* The host closes: the guest is told no more data comes (SHUTDOWN both ways). */
	close(cfd);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(pk.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	guest_send(&v, 1234, 5000, VSOCK_OP_RST, NULL, 0, 0, 0);
	/* No listener on 5001: refused with RST. */
	guest_send(&v, 1235, 5001, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RST);
	assert_int_equal(pk.dst_port, 1235);
	/* A stream the guest closes both ways: ended with our RST, which kills nothing. */
	guest_send(&v, 1236, 5000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RESPONSE);
	guest_send(&v, 1236, 5000, VSOCK_OP_SHUTDOWN, NULL, 0, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, 0);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RST);
	assert_int_equal(pk.dst_port, 1236);
	vs_stop(&v);
	/* tx: REQUEST, RW "hello", RST, REQUEST, REQUEST, SHUTDOWN; rx: RESPONSE, RW "world",
	 * SHUTDOWN, RST, RESPONSE, RST. Two streams made and gone, none killed; one rx kick (the
	 * buffers), one tx kick per packet. */
	const uint64_t want[DS_VSOCK__N] = {
		[DS_VSOCK_RX_BYTES] = 5, [DS_VSOCK_TX_BYTES] = 5, [DS_VSOCK_RX_PACKETS] = 6,
		[DS_VSOCK_TX_PACKETS] = 6, [DS_VSOCK_CONNS_ADDED] = 2, [DS_VSOCK_CONNS_KILLED] = 0,
		[DS_VSOCK_CONNS_REMOVED] = 2, [DS_VSOCK_RX_QUEUE_EVENTS] = 1, [DS_VSOCK_TX_QUEUE_EVENTS] = 6,
	};
	vs_counters(&v, want);
	close(lfd);
	unlink(path);
}

/* The host writes "CONNECT 52\n" (plus early data) on uds; the guest accepts. */
static void test_host_to_guest(void **state)
{
	struct vs v;
	struct pkt pk;
	char ok[64];
	int fd;

	vs_start(&v);
	guest_post_rx_track(&v, 16);
	fd = host_connect(uds);
	assert_int_equal(write(fd, "CONNECT 52\nearly", 16), 16);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_REQUEST);
	assert_int_equal(pk.dst_port, 52);
	uint32_t local = pk.src_port;
	guest_send(&v, 52, local, VSOCK_OP_RESPONSE, NULL, 0, 0, 0);
	snprintf(ok, sizeof(ok), "OK %u\n", local);
	host_read(fd, ok);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RW);
	assert_int_equal(pk.len, 5);
	assert_memory_equal(pk.data, "early", 5);
	assert_int_equal(write(fd, "more", 4), 4);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RW);
	assert_memory_equal(pk.data, "more", 4);
	guest_send(&v, 52, local, VSOCK_OP_RW, "reply", 5, 0, 9);
	host_read(fd, "reply");
	close(fd);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(pk.dst_port, 52);
	guest_send(&v, 52, local, VSOCK_OP_RST, NULL, 0, 0, 0);
	/* Nothing listens on guest port 53: the guest answers RST and the host client is closed. */
	fd = host_connect(uds);
	assert_int_equal(write(fd, "CONNECT 53\n", 11), 11);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_REQUEST);
	assert_int_equal(pk.dst_port, 53);
	guest_send(&v, 53, pk.src_port, VSOCK_OP_RST, NULL, 0, 0, 0);
	{
		char c0;
		struct pollfd p0 = { fd, POLLIN, 0 };
		assert_int_equal(poll(&p0, 1, 5000), 1);
		assert_int_equal(read(fd, &c0, 1), 0);
	}
	close(fd);
	/* A client that sends garbage instead of CONNECT is dropped without reaching the guest. */
	fd = host_connect(uds);
	assert_int_equal(write(fd, "HELLO\n", 6), 6);
	char c;
	struct pollfd p = { fd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
	vs_stop(&v);
	/* rx: REQUEST, RW "early", RW "more", SHUTDOWN, REQUEST (53); tx: RESPONSE, RW "reply", RST,
	 * RST (53). Only the stream the guest accepted was a connection. */
	const uint64_t want[DS_VSOCK__N] = {
		[DS_VSOCK_RX_BYTES] = 9, [DS_VSOCK_TX_BYTES] = 5, [DS_VSOCK_RX_PACKETS] = 5,
		[DS_VSOCK_TX_PACKETS] = 4, [DS_VSOCK_CONNS_ADDED] = 1, [DS_VSOCK_CONNS_KILLED] = 0,
		[DS_VSOCK_CONNS_REMOVED] = 1, [DS_VSOCK_RX_QUEUE_EVENTS] = 1, [DS_VSOCK_TX_QUEUE_EVENTS] = 4,
	};
	vs_counters(&v, want);
}

/* A guest that sends more than the credit it was given, or claims to have consumed bytes never
 * sent, gets RST; the helper buffers at most its advertised buf_alloc per stream. */
static void test_credit(void **state)
{
	static uint8_t chunk[VSOCK_MAX_PAYLOAD];
	char path[320];
	struct vs v;
	struct pkt pk;
	int lfd, cfd, n, rst = 0;
	uint64_t sent = 0;

	snprintf(path, sizeof(path), "%s_7000", uds);
	lfd = host_listen(path);
	vs_start(&v);
	guest_post_rx_track(&v, 64);
	guest_send(&v, 1, 7000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv(&v, &pk, 500), 1);
	assert_int_equal(pk.op, VSOCK_OP_RESPONSE);
	uint32_t buf_alloc = pk.buf_alloc;
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC); /* the host never reads */
	assert_true(cfd >= 0);
	/* Ignore the credit: at most (host socket buffer + buf_alloc) can be taken before RST. */
	for (n = 0; n < 256 && !rst; n++) {
		guest_send(&v, 1, 7000, VSOCK_OP_RW, chunk, sizeof(chunk), 0, 0);
		sent += sizeof(chunk);
		while (guest_recv(&v, &pk, 1) == 1)
			if (pk.op == VSOCK_OP_RST)
				rst = 1;
	}
	if (!rst && guest_recv(&v, &pk, 500) == 1 && pk.op == VSOCK_OP_RST)
		rst = 1;
	assert_true(rst);
	print_message("credit: RST after %llu bytes (buf_alloc %u)\n", (unsigned long long)sent, buf_alloc);
	assert_true(sent < (16u << 20));
	close(cfd);
	/* A lying fwd_cnt: the guest says it consumed 1000 bytes on a fresh stream. */
	guest_send(&v, 2, 7000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv_for(&v, &pk, 2), 1);
	assert_int_equal(pk.op, VSOCK_OP_RESPONSE);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	guest_send(&v, 2, 7000, VSOCK_OP_CREDIT_UPDATE, NULL, 0, 0, 1000);
	assert_int_equal(guest_recv_for(&v, &pk, 2), 1);
	assert_int_equal(pk.op, VSOCK_OP_RST);
	assert_int_equal(pk.dst_port, 2);
	/* CREDIT_REQUEST is answered with the current credit. */
	guest_send(&v, 3, 7000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv_for(&v, &pk, 3), 1);
	guest_send(&v, 3, 7000, VSOCK_OP_CREDIT_REQUEST, NULL, 0, 0, 0);
	assert_int_equal(guest_recv_for(&v, &pk, 3), 1);
	assert_int_equal(pk.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(pk.buf_alloc, buf_alloc);
	close(cfd);
	vs_stop(&v);
	/* Three streams; the helper killed two (too much data, a lying fwd_cnt), whose slots were
	 * freed once their RST went out; the third was still open. Every RW the guest sent counts,
	 * the refused one too. */
	const uint64_t want[DS_VSOCK__N] = {
		[DS_VSOCK_RX_BYTES] = 0, [DS_VSOCK_TX_BYTES] = sent, [DS_VSOCK_RX_PACKETS] = UINT64_MAX,
		[DS_VSOCK_TX_PACKETS] = (uint64_t)n + 5, [DS_VSOCK_CONNS_ADDED] = 3, [DS_VSOCK_CONNS_KILLED] = 2,
		[DS_VSOCK_CONNS_REMOVED] = 2, [DS_VSOCK_RX_QUEUE_EVENTS] = 1,
		[DS_VSOCK_TX_QUEUE_EVENTS] = (uint64_t)n + 5,
	};
	vs_counters(&v, want);
	close(lfd);
	unlink(path);
}

/* A guest flooding connection requests: streams are capped and the answers owed for the rest
 * are bounded, whatever the guest sends while it gives no receive buffer. */
static void test_flood(void **state)
{
	char path[320];
	struct vs v;
	struct pkt pk;
	int lfd, resp = 0, rst = 0;

	snprintf(path, sizeof(path), "%s_8000", uds);
	lfd = host_listen(path);
	vs_start(&v);
	for (uint32_t i = 0; i < 300; i++)
		guest_send(&v, 10000 + i, 8000, VSOCK_OP_REQUEST, NULL, 0, 0, 0);
	guest_post_rx_track(&v, 200);
	while (guest_recv(&v, &pk, 200) == 1) {
		if (pk.op == VSOCK_OP_RESPONSE)
			resp++;
		else if (pk.op == VSOCK_OP_RST)
			rst++;
	}
	print_message("flood: 300 requests -> %d responses, %d resets\n", resp, rst);
	assert_int_equal(resp, 64);
	assert_int_equal(rst, 64);
	vs_stop(&v);
	/* 64 streams made (the cap), none gone; the answers owed beyond the cap are bounded. */
	const uint64_t want[DS_VSOCK__N] = {
		[DS_VSOCK_RX_BYTES] = 0, [DS_VSOCK_TX_BYTES] = 0, [DS_VSOCK_RX_PACKETS] = 128,
		[DS_VSOCK_TX_PACKETS] = 300, [DS_VSOCK_CONNS_ADDED] = 64, [DS_VSOCK_CONNS_KILLED] = 0,
		[DS_VSOCK_CONNS_REMOVED] = 0, [DS_VSOCK_RX_QUEUE_EVENTS] = 1, [DS_VSOCK_TX_QUEUE_EVENTS] = 300,
	};
	vs_counters(&v, want);
	close(lfd);
	unlink(path);
}

/* After jailing, a call outside the allowlist kills the helper (SIGSYS). */
static void test_forbidden_syscall(void **state)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		execl(bin, bin, "--socket-path", sock, "--cid", "42", "--uds-path", uds, "--test-hook",
		      "forbidden-syscall", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
		skip(); /* a build without -Dtest_hooks=true: the option does not exist */
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_to_host),
		cmocka_unit_test(test_host_to_guest),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_forbidden_syscall),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

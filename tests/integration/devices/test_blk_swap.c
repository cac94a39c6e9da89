/* Integration: block hot-plug in the jailed carapace-blk (PATCH /drives/{id}). A test front-end
 * hands new backing files over the swap channel (--swap-fd, SCM_RIGHTS) as the VM process does:
 * a refused file (size, access mode, kind, malformed request) leaves the old one serving; an
 * accepted one is served at once (read back through the virtqueue, also beyond the old end),
 * the new capacity is in GET_CONFIG and BACKEND_CONFIG_CHANGE_MSG arrives on the back-end channel.
 * The helper's counter page (--stats-fd) holds each accepted swap in update_count and each refused
 * one in update_fails. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "devices/blk/blk.h"
#include "devices/blk/swap.h"
#include "devices/devstats.h"
#include "fe_util.h"

static char dir[256], img_a[300], img_b[300], img_odd[300], sock[300], blk_bin[512], swap_arg[16];
static int sw[2] = { -1, -1 }, bk[2] = { -1, -1 };
static uint64_t serial;

static void make_file(const char *path, size_t size, uint8_t fill)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t buf[4096];

	assert_true(fd >= 0);
	memset(buf, fill, sizeof(buf));
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* One swap request with fd (or none: fd < 0), and its reply. */
static int swap(int fd, struct blk_swap_reply *rep, struct cp_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct blk_swap_req req = { .magic = BLK_SWAP_MAGIC, .serial = ++serial };
	struct iovec iov = { &req, sizeof(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t raw[sizeof(*rep)];
	struct pollfd p = { .fd = sw[0], .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sw[0], &mh, MSG_NOSIGNAL), (ssize_t)sizeof(req));
	while (got < sizeof(raw)) {
		if (poll(&p, 1, 10000) != 1)
			return -ETIMEDOUT;
		n = recv(sw[0], raw + got, sizeof(raw) - got, 0);
		if (n <= 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return blk_swap_reply_read(raw, got, 0, false, serial, rep, err);
}

static uint64_t capacity(struct fe_env *e)
{
	uint8_t cfg[BLK_CONFIG_SIZE];

	assert_int_equal(vu_fe_get_config(&e->fe, 0, BLK_CONFIG_SIZE, cfg, &e->err), 0);
	return cp_le64(cfg);
}

static void expect_sector(struct fe_env *e, uint64_t sector, uint8_t fill, uint8_t want_status)
{
	uint64_t buf = fe_alloc(e, 4096);
	uint8_t *h = fe_host(e, buf), st = 0xff;

	memset(h, 0x5a, 4096);
	assert_int_equal(fe_blk_rw(e, 0, VIRTIO_BLK_T_IN, sector, buf, 4096, &st, NULL), 0);
	assert_int_equal(st, want_status);
	for (int i = 0; want_status == VIRTIO_BLK_S_OK && i < 4096; i++)
		assert_int_equal(h[i], fill);
}

static int setup(void **state)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");

	snprintf(blk_bin, sizeof(blk_bin), "%s/devices/carapace-blk", build ? build : ".");
	strcpy(dir, "/tmp/carapace-blk-swap.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(img_a, sizeof(img_a), "%s/a.img", dir);
	snprintf(img_b, sizeof(img_b), "%s/b.img", dir);
	snprintf(img_odd, sizeof(img_odd), "%s/odd.img", dir);
	snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
	make_file(img_a, 1u << 20, 0xaa);
	make_file(img_b, 4u << 20, 0xbb);
	make_file(img_odd, 1000, 0xcc);
	return 0;
}

static int teardown(void **state)
{
	unlink(img_a);
	unlink(img_b);
	unlink(img_odd);
	unlink(sock);
	rmdir(dir);
	return 0;
}

static void test_swap(void **state)
{
	struct blk_swap_reply rep;
	struct fe_env e;
	struct vu_msg m;
	struct cp_err err = { 0 };
	struct vu_wait w;
	struct fe_stats stats;
	char *argv[12];
	int fd, n = 0;
	pid_t pid;

	/* The helper's end of the swap channel crosses exec; ours does not. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sw), 0);
	assert_int_equal(fcntl(sw[0], F_SETFD, FD_CLOEXEC), 0);
	snprintf(swap_arg, sizeof(swap_arg), "%d", sw[1]);
	argv[n++] = blk_bin;
	argv[n++] = "--socket-path";
	argv[n++] = sock;
	argv[n++] = "--image";
	argv[n++] = img_a;
	argv[n++] = "--swap-fd";
	argv[n++] = swap_arg;
	assert_int_equal(fe_stats_open(&stats), 0);
	argv[n++] = "--stats-fd";
	argv[n++] = stats.arg;
	argv[n] = NULL;
	unlink(sock);
	pid = fe_spawn(argv, sock);
	fe_stats_sent(&stats);
	assert_true(pid > 0);
	close(sw[1]);
	if (fe_env_open(&e, sock, 8u << 20, 1, 64, ~0ull, VU_FE_PROTOCOL_SUPPORTED) < 0)
		fail_msg("front-end: %s", e.err.msg);
	assert_true(e.fe.protocol & (1ull << VU_PF_BACKEND_REQ));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, bk), 0);
	assert_int_equal(vu_fe_set_backend_req_fd(&e.fe, bk[1], &e.err), 0);
	close(bk[1]);
	assert_int_equal(capacity(&e), (1u << 20) / 512);
	expect_sector(&e, 0, 0xaa, VIRTIO_BLK_S_OK);

	/* Refused: a size that is not a multiple of 512. The old file keeps serving. */
	fd = open(img_odd, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(swap(fd, &rep, &err), 0);
	close(fd);
	assert_int_equal(rep.status, -EINVAL);
	assert_non_null(strstr(rep.msg, "not a multiple of 512"));
	/* Refused: read-only for a writable drive. */
	fd = open(img_b, O_RDONLY | O_CLOEXEC);
	assert_int_equal(swap(fd, &rep, &err), 0);
	close(fd);
	assert_int_equal(rep.status, -EBADF);
	assert_non_null(strstr(rep.msg, "reading and writing"));
	/* Refused: a directory. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(swap(fd, &rep, &err), 0);
	close(fd);
	assert_int_equal(rep.status, -EINVAL);
	assert_non_null(strstr(rep.msg, "not a regular file or block device"));
	assert_int_equal(capacity(&e), (1u << 20) / 512);
	expect_sector(&e, 0, 0xaa, VIRTIO_BLK_S_OK);
	expect_sector(&e, (1u << 20) / 512, 0, VIRTIO_BLK_S_IOERR);
	/* Nothing was announced for the refusals; each was counted (before its answer). */
	struct pollfd bp = { .fd = bk[0], .events = POLLIN };
	assert_int_equal(poll(&bp, 1, 0), 0);
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_FAILS), 3);
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_COUNT), 0);

	/* Accepted: four times the size, another pattern. */
	fd = open(img_b, O_RDWR | O_CLOEXEC);
	assert_int_equal(swap(fd, &rep, &err), 0);
	close(fd);
	assert_int_equal(rep.status, 0);
	assert_int_equal(rep.size, 4u << 20);
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_COUNT), 1);
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_FAILS), 3);
	/* The back-end told the front-end before it answered. */
	w = (struct vu_wait){ .deadline_ns = vu_deadline_after_ms(5000) };
	assert_int_equal(vu_fe_recv_backend_req(&e.fe, bk[0], &m, &w, &err), 1);
	assert_int_equal(m.hdr.request, VU_BREQ_CONFIG_CHANGE_MSG);
	assert_int_equal(capacity(&e), (4u << 20) / 512);
	expect_sector(&e, 0, 0xbb, VIRTIO_BLK_S_OK);
	expect_sector(&e, (1u << 20) / 512 + 8, 0xbb, VIRTIO_BLK_S_OK); /* past the old end */
	/* Writes go to the new file. */
	{
		uint64_t buf = fe_alloc(&e, 512);
		uint8_t st, got[512];
		memset(fe_host(&e, buf), 0x11, 512);
		assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, 3, buf, 512, &st, NULL), 0);
		assert_int_equal(st, VIRTIO_BLK_S_OK);
		fd = open(img_b, O_RDONLY | O_CLOEXEC);
		assert_int_equal(pread(fd, got, 512, 3 * 512), 512);
		close(fd);
		for (int i = 0; i < 512; i++)
			assert_int_equal(got[i], 0x11);
	}

	/* Many swaps back and forth: each old fd is closed (the helper's RLIMIT_NOFILE is 128, so a
	 * leak would refuse the fds long before 300), and each swap is announced once. The time per
	 * swap (request to answer, jailed helper) is printed for docs/PERFORMANCE.md, not judged. */
	{
		struct timespec t0, t1;
		int fa = open(img_a, O_RDWR | O_CLOEXEC), fb = open(img_b, O_RDWR | O_CLOEXEC);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 300; i++) {
			assert_int_equal(swap(i % 2 ? fb : fa, &rep, &err), 0);
			assert_int_equal(rep.status, 0);
			w = (struct vu_wait){ .deadline_ns = vu_deadline_after_ms(5000) };
			assert_int_equal(vu_fe_recv_backend_req(&e.fe, bk[0], &m, &w, &err), 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		close(fa);
		close(fb);
		fprintf(stderr, "info: 300 swaps (each with its BACKEND_CONFIG_CHANGE_MSG read): %.1f us per swap\n",
			((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 300 / 1e3);
		assert_int_equal(capacity(&e), (4u << 20) / 512); /* the last one was b */
		expect_sector(&e, 16, 0xbb, VIRTIO_BLK_S_OK);
	}

	/* A request without its fd is not one the VM process could have meant: the helper ends the
	 * channel (no more swaps), and goes on serving the guest. */
	assert_int_equal(swap(-1, &rep, &err), -ECONNRESET);
	expect_sector(&e, 16, 0xbb, VIRTIO_BLK_S_OK);

	fe_env_close(&e);
	close(bk[0]);
	close(sw[0]);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	/* 301 accepted; 3 files refused and the request without a file. */
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_COUNT), 301);
	assert_int_equal(fe_stats_get(&stats, DS_BLK_UPDATE_FAILS), 4);
	fe_stats_close(&stats);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Integration: carapace's front-end against carapace-blk (jailed) over a real socket with
 * memfd guest memory, rings and eventfd kicks: read, write, flush, get-id, discard, write-zeroes,
 * out-of-range, read-only, multi-queue, durability after SIGKILL, and the counters on the page
 * given with --stats-fd (Firecracker's `block` group, devices/devstats.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/util.h"
#include "devices/blk/blk.h"
#include "devices/devstats.h"
#include "devices/spawn.h"
#include "fe_util.h"

#define IMG_SIZE (4u << 20)

static char dir[256], img[300], sock[300], blk_bin[512];

/* extra: NULL-terminated, at most 6. */
static pid_t start_blk_args(const char *const *extra)
{
	char *argv[14];
	int n = 0;

	argv[n++] = blk_bin;
	argv[n++] = "--socket-path";
	argv[n++] = sock;
	argv[n++] = "--image";
	argv[n++] = img;
	for (unsigned i = 0; extra && extra[i] && i < 6; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	unlink(sock);
	return fe_spawn(argv, sock);
}

static pid_t start_blk(const char *extra1, const char *extra2)
{
	const char *extra[] = { extra1, extra1 ? extra2 : NULL, NULL };

	return start_blk_args(extra);
}

/* Every counter of the block group, after the helper ended (nothing moves any more). */
static void expect_counters(const struct fe_stats *s, const uint64_t want[DS_BLK__N])
{
	const struct devstats_kind *k = devstats_kind(DEVKIND_BLK);

	for (unsigned i = 0; i < DS_BLK__N; i++)
		if (fe_stats_get(s, i) != want[i])
			fail_msg("block counter %s: %llu, expected %llu", k->names[i],
				 (unsigned long long)fe_stats_get(s, i), (unsigned long long)want[i]);
}

static void make_image(void)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint8_t buf[4096];

	assert_true(fd >= 0);
	for (unsigned i = 0; i < IMG_SIZE / sizeof(buf); i++) {
		memset(buf, (int)(i & 0xff), sizeof(buf));
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
}

static int setup(void **state)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");

	snprintf(blk_bin, sizeof(blk_bin), "%s/devices/carapace-blk", build ? build : ".");
	strcpy(dir, "/tmp/carapace-blk-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(img);
	unlink(sock);
	rmdir(dir);
	return 0;
}

static void test_blk_io(void **state)
{
	struct fe_env e;
	uint8_t st, cfg[BLK_CONFIG_SIZE];
	uint32_t used;
	pid_t pid;

	make_image();
	pid = start_blk("--num-queues", "2");
	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 8u << 20, 2, 128, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	/* The negotiated protocol features: everything carapace-blk offers. */
	assert_true(e.fe.protocol & (1ull << VU_PF_REPLY_ACK));
	assert_true(e.fe.protocol & (1ull << VU_PF_CONFIGURE_MEM_SLOTS));
	assert_int_equal(e.fe.queue_num, 2);
	assert_int_equal(vu_fe_get_config(&e.fe, 0, BLK_CONFIG_SIZE, cfg, &e.err), 0);
	assert_int_equal(cp_le64(cfg), IMG_SIZE / 512);
	assert_int_equal(cp_le16(cfg + 34), 2);

	uint64_t buf = fe_alloc(&e, 65536);
	uint8_t *h = fe_host(&e, buf);

	/* IN: sector 8 is in the second 4 KiB block, filled with 0x01. */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 8, buf, 4096, &st, &used), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(used, 4097);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(h[i], 1);
	/* OUT on queue 1, read back on queue 0. */
	memset(h, 0xa5, 8192);
	assert_int_equal(fe_blk_rw(&e, 1, VIRTIO_BLK_T_OUT, 100, buf, 8192, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	memset(h, 0, 8192);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 100, buf, 8192, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(h[i], 0xa5);
	/* FLUSH */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	/* GET_ID */
	memset(h, 0, 20);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_GET_ID, 0, buf, 20, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_memory_equal(h, "carapace-blk", 12);
	/* Out of range: last sector + 1, and a request straddling the end. */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, IMG_SIZE / 512, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, IMG_SIZE / 512 - 1, buf, 1024, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, UINT64_MAX / 256, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* Not a multiple of the sector size. */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 0, buf, 100, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* Unknown type. */
	assert_int_equal(fe_blk_rw(&e, 0, 99, 0, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	/* WRITE_ZEROES over sectors 100..115, then read zeros. */
	cp_put_le64(h, 100);
	cp_put_le32(h + 8, 16);
	cp_put_le32(h + 12, 0);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	memset(h, 0xee, 8192);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 100, buf, 8192, &st, NULL), 0);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(h[i], 0);
	/* DISCARD where supported (tmpfs punches holes): reads back zeros. */
	if (e.fe.acked & (1ull << VIRTIO_BLK_F_DISCARD)) {
		cp_put_le64(h, 0);
		cp_put_le32(h + 8, 8);
		cp_put_le32(h + 12, 0);
		assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_DISCARD, 0, buf, 16, &st, NULL), 0);
		assert_int_equal(st, VIRTIO_BLK_S_OK);
		assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 0, buf, 4096, &st, NULL), 0);
		for (int i = 0; i < 4096; i++)
			assert_int_equal(h[i], 0);
	} else {
		fprintf(stderr, "note: DISCARD not offered on this file system\n");
	}
	/* Stopping a ring returns the index where it stopped. */
	uint16_t base;
	assert_int_equal(vu_fe_vring_stop(&e.fe, 1, &base, &e.err), 0);
	assert_int_equal(base, 1);
	fe_env_close(&e);
	int status = fe_wait(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_blk_readonly(void **state)
{
	struct fe_env e;
	struct fe_stats s;
	uint8_t st;
	pid_t pid;

	make_image();
	assert_int_equal(fe_stats_open(&s), 0);
	const char *extra[] = { "--readonly", "--stats-fd", s.arg, NULL };
	pid = start_blk_args(extra);
	fe_stats_sent(&s);
	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 4u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	assert_true(e.fe.acked & (1ull << VIRTIO_BLK_F_RO));
	uint64_t buf = fe_alloc(&e, 4096);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, 0, buf, 4096, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 0, buf, 4096, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	/* A write to a drive offered read-only is the driver's mistake, not a write. */
	const uint64_t want[DS_BLK__N] = {
		[DS_BLK_READ_BYTES] = 4096, [DS_BLK_READ_COUNT] = 1, [DS_BLK_INVALID_REQS] = 1,
		[DS_BLK_QUEUE_EVENT_COUNT] = 2,
	};
	expect_counters(&s, want);
	fe_stats_close(&s);
}

/* --stats-fd: each request moves exactly its counter. Successful reads and writes count with
 * their bytes; the guest's malformed, out-of-range and unsupported requests are invalid_reqs;
 * a well-formed read that fails on the host (the image shrank under the helper) is an
 * execute_fail; every request here is one kick of the request queue. */
static void test_blk_counters(void **state)
{
	struct fe_env e;
	struct fe_stats s;
	uint8_t st;
	pid_t pid;

	make_image();
	assert_int_equal(fe_stats_open(&s), 0);
	pid = start_blk("--stats-fd", s.arg);
	fe_stats_sent(&s);
	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 4u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	uint64_t buf = fe_alloc(&e, 16384);
	uint8_t *h = fe_host(&e, buf);

	/* Nothing before the first request. */
	for (unsigned i = 0; i < DS_BLK__N; i++)
		assert_int_equal(fe_stats_get(&s, i), 0);
	/* One 4096-byte read. */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 8, buf, 4096, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(fe_stats_await(&s, DS_BLK_READ_COUNT, 1), 1);
	assert_int_equal(fe_stats_await(&s, DS_BLK_READ_BYTES, 4096), 4096);
	/* A write of 8192, a read of 8192, a flush, a GET_ID (no counter of its own). */
	memset(h, 0x3c, 8192);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, 100, buf, 8192, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 100, buf, 8192, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_GET_ID, 0, buf, 20, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	/* Invalid: past the end, not a multiple of 512, an unknown type, a flag not offered. */
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, IMG_SIZE / 512, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, 0, buf, 100, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(fe_blk_rw(&e, 0, 99, 0, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	cp_put_le64(h, 0);
	cp_put_le32(h + 8, 8);
	cp_put_le32(h + 12, 2);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
	/* The host's failure: the image shrinks to 1 MiB behind the helper's back, and a read at
	 * 2 MiB, in range of the size it serves, finds the end of the file. */
	assert_int_equal(truncate(img, 1 << 20), 0);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 4096, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	fe_env_close(&e);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	const uint64_t want[DS_BLK__N] = {
		[DS_BLK_READ_BYTES] = 4096 + 8192, [DS_BLK_WRITE_BYTES] = 8192,
		[DS_BLK_READ_COUNT] = 2, [DS_BLK_WRITE_COUNT] = 1, [DS_BLK_FLUSH_COUNT] = 1,
		[DS_BLK_INVALID_REQS] = 4, [DS_BLK_EXECUTE_FAILS] = 1, [DS_BLK_QUEUE_EVENT_COUNT] = 10,
	};
	expect_counters(&s, want);
	/* Nothing past the kind's counters is written. */
	for (unsigned i = DS_BLK__N; i < DEVSTATS_MAX; i++)
		assert_int_equal(s.page[i], 0);
	fe_stats_close(&s);
}

/* A write acknowledged after FLUSH survives SIGKILL of the helper: reopen the image and check. */
static void test_blk_durable_after_kill(void **state)
{
	struct fe_env e;
	uint8_t st, got[4096];
	pid_t pid;
	int fd, status;

	make_image();
	pid = start_blk(NULL, NULL);
	assert_true(pid > 0);
	if (fe_env_open(&e, sock, 4u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	uint64_t buf = fe_alloc(&e, 4096);
	memset(fe_host(&e, buf), 0x5c, 4096);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_OUT, 2048, buf, 4096, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	/* Kill the process doing the work (the jailed one); the reaper reports it and cleans up. */
	pid_t jailed = fe_jailed_pid(pid);
	assert_true(jailed > 0);
	kill(jailed, SIGKILL);
	status = fe_wait(pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	fe_env_close(&e);
	fd = open(img, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, sizeof(got), 2048 * 512), sizeof(got));
	close(fd);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(got[i], 0x5c);
}

/* Bring a ring up the way a reconnecting front-end does: memory, in-flight region, ring. */
static void inflight_session(struct fe_env *e, int memfd, uint8_t *mem, uint64_t size, int *inflight_fd,
			     struct vu_inflight_msg *info, uint16_t base, struct vu_drvq *q)
{
	struct vu_region reg = { FE_GPA_BASE, size, (uintptr_t)mem, 0 };

	for (int i = 0; i < 200 && vu_fe_connect(&e->fe, sock, &e->err) < 0; i++)
		usleep(10000);
	cp_err_clear(&e->err);
	assert_int_equal(vu_fe_negotiate(&e->fe, ~0ull, ~0ull, &e->err), 0);
	assert_true(e->fe.protocol & (1ull << VU_PF_INFLIGHT_SHMFD));
	assert_int_equal(vu_fe_add_memory(&e->fe, &reg, memfd, &e->err), 0);
	if (*inflight_fd < 0)
		assert_int_equal(vu_fe_get_inflight(&e->fe, 1, 64, inflight_fd, info, &e->err), 0);
	assert_int_equal(vu_fe_set_inflight(&e->fe, *inflight_fd, info, &e->err), 0);
	assert_int_equal(vu_fe_vring_start(&e->fe, 0, 64, (uintptr_t)q->desc, (uintptr_t)q->avail,
					   (uintptr_t)q->used, base, q->kick_fd, q->call_fd, &e->err), 0);
}

/* INFLIGHT_SHMFD: a request the old back-end took but never completed is resubmitted by the
 * restarted back-end from the shared in-flight region. */
static void test_blk_inflight_resume(void **state)
{
	struct fe_env e = { 0 };
	struct vu_inflight_msg info;
	struct vu_drvq q;
	int memfd = memfd_create("guest", MFD_CLOEXEC), inflight_fd = -1, fd;
	uint64_t size = 1u << 20;
	uint8_t *mem, got[512];
	pid_t pid;

	make_image();
	assert_int_equal(ftruncate(memfd, (off_t)size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(mem != MAP_FAILED);
	pid = start_blk(NULL, NULL);
	assert_true(pid > 0);
	vu_drvq_init(&q, 64, mem + 0x10000);
	q.kick_fd = eventfd(0, EFD_CLOEXEC);
	q.call_fd = eventfd(0, EFD_CLOEXEC);
	inflight_session(&e, memfd, mem, size, &inflight_fd, &info, 0, &q);
	/* The request: OUT of 512 bytes of 0x77 to sector 300, made available but not kicked. */
	uint8_t *hdr = mem + 0x20000, *data = mem + 0x21000, *st = mem + 0x22000;
	cp_put_le32(hdr, VIRTIO_BLK_T_OUT);
	cp_put_le64(hdr + 8, 300);
	memset(data, 0x77, 512);
	*st = 0xff;
	struct vu_drv_buf b[3] = { { FE_GPA_BASE + 0x20000, 16, false }, { FE_GPA_BASE + 0x21000, 512, false },
				   { FE_GPA_BASE + 0x22000, 1, true } };
	/* The back-end is killed before it sees the request... */
	pid_t jailed = fe_jailed_pid(pid);
	assert_true(jailed > 0);
	kill(jailed, SIGKILL);
	fe_wait(pid);
	vu_fe_close(&e.fe);
	int head = vu_drvq_add(&q, b, 3);
	assert_true(head >= 0);
	/* ...after having marked it in flight, as a back-end that popped it would have. */
	uint8_t *region = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, inflight_fd, 0);
	assert_true(region != MAP_FAILED);
	struct vu_inflight_queue *iq = (void *)region;
	iq->desc[head].counter = 1;
	iq->desc[head].inflight = 1;
	munmap(region, info.mmap_size);

	/* A new back-end, the same in-flight region, base = used index (0): the request completes. */
	pid = start_blk(NULL, NULL);
	assert_true(pid > 0);
	inflight_session(&e, memfd, mem, size, &inflight_fd, &info, 0, &q);
	uint16_t h;
	uint32_t l;
	int r = 0;
	for (int i = 0; i < 200 && (r = vu_drvq_get_used(&q, &h, &l)) == 0; i++)
		vu_drvq_wait(&q, 10);
	assert_int_equal(r, 1);
	assert_int_equal(h, head);
	assert_int_equal(*st, VIRTIO_BLK_S_OK);
	vu_fe_close(&e.fe);
	assert_int_equal(WEXITSTATUS(fe_wait(pid)), 0);
	fd = open(img, O_RDONLY | O_CLOEXEC);
	assert_int_equal(pread(fd, got, sizeof(got), 300 * 512), sizeof(got));
	close(fd);
	for (int i = 0; i < 512; i++)
		assert_int_equal(got[i], 0x77);
	close(q.kick_fd);
	close(q.call_fd);
	close(inflight_fd);
	munmap(mem, size);
	close(memfd);
}

/* --fd: the runner's way (carapace_helper_spawn: socketpair, fork, exec, only the helper's fd). */
static void test_blk_fd_mode(void **state)
{
	const char *args[] = { "--image", img, NULL };
	struct cp_err err = { 0 };
	struct fe_env e;
	uint8_t st;
	pid_t pid;
	int fd;

	make_image();
	assert_int_equal(carapace_helper_spawn(&devkinds[DEVKIND_BLK], blk_bin, args, NULL, 0,
					       &fd, &pid, &err), 0);
	e.fe.sock = fd;
	if (fe_env_open(&e, NULL, 1u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	uint64_t buf = fe_alloc(&e, 512);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 8, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)fe_host(&e, buf), 1);
	fe_env_close(&e);
	int status = fe_wait(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Issue 18 item 10: the runner opens the image once and passes the fd (--image-fd); the helper
 * serves that file even when the name is made to point at another one right after. */
static void test_blk_image_fd_after_swap(void **state)
{
	char other[320], fdarg[16];
	const char *args[] = { "--image-fd", fdarg, NULL };
	struct cp_err err = { 0 };
	struct fe_env e;
	uint8_t st;
	pid_t pid;
	int fd, img_fd, o;

	make_image(); /* sector n holds the byte n */
	img_fd = open(img, O_RDWR | O_CLOEXEC);
	assert_true(img_fd >= 0);
	snprintf(fdarg, sizeof(fdarg), "%d", img_fd);
	assert_int_equal(carapace_helper_spawn(&devkinds[DEVKIND_BLK], blk_bin, args, &img_fd, 1,
					       &fd, &pid, &err), 0);
	close(img_fd);
	/* The swap: the name now points at a file of zeros. */
	snprintf(other, sizeof(other), "%s/other.img", dir);
	o = open(other, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(o >= 0);
	assert_int_equal(ftruncate(o, 1 << 20), 0);
	close(o);
	assert_int_equal(rename(other, img), 0);
	e.fe.sock = fd;
	if (fe_env_open(&e, NULL, 1u << 20, 1, 64, ~0ull, ~0ull) < 0)
		fail_msg("front-end: %s", e.err.msg);
	uint64_t buf = fe_alloc(&e, 512);
	assert_int_equal(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 8, buf, 512, &st, NULL), 0);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)fe_host(&e, buf), 1); /* the judged file, not the zeros */
	fe_env_close(&e);
	int status = fe_wait(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_io),
		cmocka_unit_test(test_blk_readonly),
		cmocka_unit_test(test_blk_counters),
		cmocka_unit_test(test_blk_durable_after_kill),
		cmocka_unit_test(test_blk_inflight_resume),
		cmocka_unit_test(test_blk_fd_mode),
		cmocka_unit_test(test_blk_image_fd_after_swap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

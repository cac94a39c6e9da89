/* Interop: carapace's vhost-user front-end against a real back-end, qemu-storage-daemon's
 * vhost-user-blk export: negotiation, ADD_MEM_REG/SET_MEM_TABLE with a memfd, rings, kicks,
 * config, read/write/flush, and the bytes land in the file. Skips (77) without the binary. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "devices/blk/blk.h"
#include "fe_util.h"

#define QSD "/usr/bin/qemu-storage-daemon"

#define CHECK(c)                                                                  \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
			ret = 1;                                                  \
			goto out;                                                 \
		}                                                                 \
	} while (0)

int main(void)
{
	char dir[] = "/tmp/carapace-qsd.XXXXXX", img[128], sock[128], blockdev[256], export[256];
	struct fe_env e = { .memfd = -1 };
	uint8_t st, cfg[BLK_CONFIG_SIZE], got[4096];
	int ret = 0, fd;
	pid_t pid = -1;

	if (access(QSD, X_OK) != 0) {
		printf("SKIP: %s not installed (package qemu-system-common)\n", QSD);
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(sock, sizeof(sock), "%s/qsd.sock", dir);
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 4 << 20) < 0)
		return 1;
	memset(got, 0x3c, sizeof(got));
	if (pwrite(fd, got, sizeof(got), 4096) != sizeof(got))
		return 1;
	close(fd);
	snprintf(blockdev, sizeof(blockdev), "driver=file,node-name=file0,filename=%s", img);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=%s,writable=on,num-queues=2", sock);
	char *argv[] = { QSD, "--blockdev", blockdev, "--export", export, NULL };
	pid = fe_spawn(argv, sock);
	CHECK(pid > 0);
	if (fe_env_open(&e, sock, 8u << 20, 2, 128, ~0ull, ~0ull) < 0) {
		fprintf(stderr, "FAIL: front-end vs qemu-storage-daemon: %s\n", e.err.msg);
		ret = 1;
		goto out;
	}
	printf("qemu-storage-daemon: features 0x%llx, protocol features negotiated 0x%llx, %u queues, %u mem slots\n",
	       (unsigned long long)e.fe.features, (unsigned long long)e.fe.protocol, e.fe.queue_num, e.fe.mem_slots);
	CHECK(e.fe.protocol & (1ull << VU_PF_REPLY_ACK));
	CHECK(vu_fe_get_config(&e.fe, 0, 8, cfg, &e.err) == 0);
	CHECK(cp_le64(cfg) == (4u << 20) / 512);

	uint64_t buf = fe_alloc(&e, 8192);
	uint8_t *h = fe_host(&e, buf);
	CHECK(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, 8, buf, 4096, &st, NULL) == 0);
	CHECK(st == VIRTIO_BLK_S_OK);
	for (int i = 0; i < 4096; i++)
		CHECK(h[i] == 0x3c);
	memset(h, 0xd7, 8192);
	CHECK(fe_blk_rw(&e, 1, VIRTIO_BLK_T_OUT, 64, buf, 8192, &st, NULL) == 0);
	CHECK(st == VIRTIO_BLK_S_OK);
	CHECK(fe_blk_rw(&e, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &st, NULL) == 0);
	CHECK(st == VIRTIO_BLK_S_OK);
	CHECK(fe_blk_rw(&e, 0, VIRTIO_BLK_T_IN, (4u << 20) / 512, buf, 512, &st, NULL) == 0);
	CHECK(st == VIRTIO_BLK_S_IOERR);
	fd = open(img, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(pread(fd, got, sizeof(got), 64 * 512) == sizeof(got));
	close(fd);
	for (int i = 0; i < 4096; i++)
		CHECK(got[i] == 0xd7);
	printf("ok: read, write (queue 1), flush, out-of-range IOERR against qemu-storage-daemon\n");
out:
	fe_env_close(&e);
	if (pid > 0) {
		kill(pid, SIGTERM);
		fe_wait(pid);
	}
	unlink(img);
	unlink(sock);
	rmdir(dir);
	return ret;
}

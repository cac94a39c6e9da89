/* Benchmark: one vhost-user front-end harness (shared memfd memory, split rings, eventfd kicks)
 * drives carapace-blk (jailed) and qemu-storage-daemon's vhost-user-blk export on the same
 * file in the same run: 4 KiB random read/write IOPS, 1 MiB sequential throughput, start-up
 * time to the first reply, and RSS of the serving process. Prints a markdown table + ratios. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "devices/blk/blk.h"
#include "fe_util.h"

#define QD 32
#define QSIZE 256
#define QSD "/usr/bin/qemu-storage-daemon"
#define ROUNDS 5 /* each metric alternates between the peers; the median is reported */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct slot {
	uint64_t hdr, data, st;
};

/* Keep QD requests in flight for `secs`; returns completed requests per second. */
static double run_load(struct fe_env *e, struct slot *slots, uint32_t type, uint32_t bs, bool random,
		       uint64_t img_size, double secs, uint64_t *bytes_out)
{
	struct vu_drvq *q = &e->q[0];
	uint64_t done = 0, seq = 0, nsect = img_size / 512, bs_sect = bs / 512;
	int16_t slot_of_head[QSIZE];
	double t0 = now(), t1;

	for (unsigned i = 0; i < QD; i++) {
		struct slot *s = &slots[i];
		uint64_t sector = random ? (rnd() % (nsect / bs_sect)) * bs_sect : (seq++ * bs_sect) % nsect;
		uint8_t *h = fe_host(e, s->hdr);
		struct vu_drv_buf b[3] = { { s->hdr, 16, false }, { s->data, bs, type == VIRTIO_BLK_T_IN },
					   { s->st, 1, true } };

		cp_put_le32(h, type);
		cp_put_le64(h + 8, sector);
		int head = vu_drvq_add(q, b, 3);
		if (head < 0)
			abort();
		slot_of_head[head] = (int16_t)i;
	}
	vu_drvq_kick(q);
	for (;;) {
		uint16_t head;
		uint32_t len;
		unsigned n = 0;
		int r;

		while ((r = vu_drvq_get_used(q, &head, &len)) == 1) {
			struct slot *s = &slots[slot_of_head[head]];
			unsigned idx = (unsigned)slot_of_head[head];

			if (*(uint8_t *)fe_host(e, s->st) != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "request failed with status %u\n", *(uint8_t *)fe_host(e, s->st));
				exit(1);
			}
			done++;
			n++;
			uint64_t sector = random ? (rnd() % (nsect / bs_sect)) * bs_sect : (seq++ * bs_sect) % nsect;
			cp_put_le64((uint8_t *)fe_host(e, s->hdr) + 8, sector);
			struct vu_drv_buf b[3] = { { s->hdr, 16, false }, { s->data, bs, type == VIRTIO_BLK_T_IN },
						   { s->st, 1, true } };
			int nh = vu_drvq_add(q, b, 3);
			if (nh < 0)
				abort();
			slot_of_head[nh] = (int16_t)idx;
		}
		if (r < 0) {
			fprintf(stderr, "used ring error %d\n", r);
			exit(1);
		}
		if (n)
			vu_drvq_kick(q);
		t1 = now();
		if (t1 - t0 >= secs)
			break;
		if (!n)
			vu_drvq_wait(q, 100);
	}
	/* Drain what is still in flight so the next load starts clean. */
	for (unsigned left = QD; left > 0;) {
		uint16_t head;
		uint32_t len;

		if (vu_drvq_get_used(q, &head, &len) == 1)
			left--;
		else
			vu_drvq_wait(q, 100);
	}
	*bytes_out = done * bs;
	return (double)done / (t1 - t0);
}

static pid_t serving_pid(pid_t pid, bool jailed)
{
	char path[64], buf[64];
	FILE *f;

	if (!jailed)
		return pid;
	/* carapace-blk's outer process is a reaper; the jailed child does the work. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atoi(buf) > 0 ? atoi(buf) : pid;
}

static double rss_kib(pid_t pid)
{
	char path[64], line[256];
	double v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double startup_ms(char *const argv[], const char *sock)
{
	struct fe_env e;
	uint64_t feat;
	double t0 = now(), ms = -1;
	pid_t pid;

	unlink(sock);
	pid = fe_spawn(argv, sock);
	if (pid < 0)
		return -1;
	/* Start-up: spawn until the first reply (GET_FEATURES) arrives. */
	if (vu_fe_connect(&e.fe, sock, &e.err) == 0 && vu_fe_get_u64(&e.fe, VU_REQ_GET_FEATURES, &feat, &e.err) == 0)
		ms = (now() - t0) * 1e3;
	vu_fe_close(&e.fe);
	kill(pid, SIGTERM);
	fe_wait(pid);
	return ms;
}

struct peer {
	const char *name;
	char **argv;
	char sock[128];
	bool jailed;
	pid_t pid;
	struct fe_env e;
	struct slot slots[QD];
	double v[6][ROUNDS];
};

static int peer_open(struct peer *p)
{
	unlink(p->sock);
	p->pid = fe_spawn(p->argv, p->sock);
	if (p->pid < 0 || fe_env_open(&p->e, p->sock, 64u << 20, 1, QSIZE, ~0ull, ~0ull) < 0) {
		fprintf(stderr, "%s: %s\n", p->name, p->e.err.msg);
		return -1;
	}
	for (unsigned i = 0; i < QD; i++) {
		p->slots[i].hdr = fe_alloc(&p->e, 16);
		p->slots[i].st = fe_alloc(&p->e, 1);
		p->e.bump = (p->e.bump + 4095) & ~4095ull;
		p->slots[i].data = fe_alloc(&p->e, 1u << 20);
		memset(fe_host(&p->e, p->slots[i].data), 0x6b, 1u << 20);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	double t[ROUNDS];

	memcpy(t, v, sizeof(t));
	qsort(t, ROUNDS, sizeof(double), cmp_double);
	return t[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	const char *blk = argc > 1 ? argv[1] : "devices/carapace-blk";
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	uint64_t img_size = 256ull << 20, bytes;
	char dir[] = "/var/tmp/carapace-bench.XXXXXX", img[128], blockdev[256], export[256];
	static struct peer peers[2];
	static const char *const names[6] = {
		"4 KiB random read, QD 32, IOPS", "4 KiB random write, QD 32, IOPS",
		"1 MiB sequential read, MB/s", "1 MiB sequential write, MB/s",
		"start-up to first reply, ms", "RSS of the serving process, KiB",
	};
	int fd;

	if (access(QSD, X_OK) != 0) {
		fprintf(stderr, "%s missing: install qemu-system-common\n", QSD);
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	/* A fully written file (not sparse), so reads hit real data on both peers. */
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	{
		static uint8_t chunk[1 << 20];
		memset(chunk, 0x5a, sizeof(chunk));
		for (uint64_t off = 0; off < img_size; off += sizeof(chunk))
			if (write(fd, chunk, sizeof(chunk)) != sizeof(chunk))
				return 1;
		fsync(fd);
		close(fd);
	}
	peers[0].name = "carapace-blk";
	peers[0].jailed = true;
	snprintf(peers[0].sock, sizeof(peers[0].sock), "%s/carapace.sock", dir);
	char *cargv[] = { (char *)blk, "--socket-path", peers[0].sock, "--image", img, NULL };
	peers[0].argv = cargv;
	peers[1].name = "qemu-storage-daemon";
	snprintf(peers[1].sock, sizeof(peers[1].sock), "%s/qsd.sock", dir);
	snprintf(blockdev, sizeof(blockdev), "driver=file,node-name=file0,filename=%s", img);
	snprintf(export, sizeof(export), "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=%s,writable=on",
		 peers[1].sock);
	char *qargv[] = { QSD, "--blockdev", blockdev, "--export", export, NULL };
	peers[1].argv = qargv;

	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 2; k++)
			peers[k].v[4][r] = startup_ms(peers[k].argv, peers[k].sock);
	/* Both serve the same file at once (only one is driven at a time): the file is shared as
	 * a VM's disk would be by one back-end, and neither caches on its own. */
	for (int k = 0; k < 2; k++)
		if (peer_open(&peers[k]) < 0)
			return 1;
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < 2; k++) {
			struct peer *p = &peers[k];

			p->v[0][r] = run_load(&p->e, p->slots, VIRTIO_BLK_T_IN, 4096, true, img_size, secs, &bytes);
		}
		for (int k = 0; k < 2; k++) {
			struct peer *p = &peers[k];

			p->v[1][r] = run_load(&p->e, p->slots, VIRTIO_BLK_T_OUT, 4096, true, img_size, secs, &bytes);
		}
		for (int k = 0; k < 2; k++) {
			struct peer *p = &peers[k];

			run_load(&p->e, p->slots, VIRTIO_BLK_T_IN, 1u << 20, false, img_size, secs, &bytes);
			p->v[2][r] = (double)bytes / secs / 1e6;
		}
		for (int k = 0; k < 2; k++) {
			struct peer *p = &peers[k];

			run_load(&p->e, p->slots, VIRTIO_BLK_T_OUT, 1u << 20, false, img_size, secs, &bytes);
			p->v[3][r] = (double)bytes / secs / 1e6;
		}
	}
	for (int k = 0; k < 2; k++) {
		for (int r = 0; r < ROUNDS; r++)
			peers[k].v[5][r] = rss_kib(serving_pid(peers[k].pid, peers[k].jailed));
		fe_env_close(&peers[k].e);
		kill(peers[k].pid, SIGTERM);
		fe_wait(peers[k].pid);
	}
	printf("| metric (median of %d alternating rounds of %.1f s) | carapace-blk (jailed) | qemu-storage-daemon 7.2 | ratio (carapace / qsd) |\n",
	       ROUNDS, secs);
	printf("|---|---|---|---|\n");
	for (int m = 0; m < 6; m++) {
		double c = median(peers[0].v[m]), q = median(peers[1].v[m]);

		printf("| %s | %.*f | %.*f | %.2f |\n", names[m], m == 4 ? 1 : 0, c, m == 4 ? 1 : 0, q, c / q);
	}
	unlink(img);
	for (int k = 0; k < 2; k++)
		unlink(peers[k].sock);
	rmdir(dir);
	return 0;
}

/* Test/bench front-end environment (see fe_util.h). */
#include "fe_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "devices/devstats.h"

int fe_scratch_open(struct fe_scratch *s, const char *tag)
{
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/carapace-%.32s.XXXXXX", tag);
	if (!mkdtemp(s->dir))
		return -errno;
	snprintf(s->img, sizeof(s->img), "%s/disk.img", s->dir);
	snprintf(s->sock, sizeof(s->sock), "%s/dev.sock", s->dir);
	snprintf(s->out, sizeof(s->out), "%s/console.out", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/helper.log", s->dir);
	fd = open(s->img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

void fe_scratch_close(struct fe_scratch *s)
{
	unlink(s->img);
	unlink(s->sock);
	unlink(s->out);
	unlink(s->log);
	rmdir(s->dir);
}

pid_t fe_spawn_kind(const struct devkind *dk, const struct fe_scratch *s)
{
	const char *build = getenv("CARAPACE_BUILD_ROOT");
	char bin[512];
	char *argv[] = { bin, "--socket-path", (char *)s->sock, NULL, NULL, NULL };

	snprintf(bin, sizeof(bin), "%s/devices/%s", build ? build : ".", dk->binary);
	if (!strcmp(dk->name, "blk")) {
		argv[3] = "--image";
		argv[4] = (char *)s->img;
	} else if (!strcmp(dk->name, "console")) {
		argv[3] = "--output";
		argv[4] = (char *)s->out;
	}
	unlink(s->sock);
	return fe_spawn_log(argv, s->sock, s->log);
}

pid_t fe_spawn_log(char *const argv[], const char *sock, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, 2);
				close(fd);
			}
		}
		execv(argv[0], argv);
		perror("execv");
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct stat st;
		int status;

		if (sock && stat(sock, &st) == 0)
			return pid;
		if (!sock)
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "fe_spawn: %s exited early (status 0x%x)\n", argv[0], status);
			return -1;
		}
		usleep(10000);
	}
	fprintf(stderr, "fe_spawn: %s did not create %s\n", argv[0], sock);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

pid_t fe_spawn(char *const argv[], const char *sock)
{
	return fe_spawn_log(argv, sock, NULL);
}

pid_t fe_jailed_pid(pid_t pid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return atoi(buf) > 0 ? (pid_t)atoi(buf) : -1;
}

char fe_proc_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Until pid is in one of `want` (or dead), at most about 20 s. */
static void fe_await_state(pid_t pid, const char *want)
{
	struct timespec ts = { 0, 1000 * 1000 };

	for (unsigned i = 0; i < 20000; i++) {
		char s = fe_proc_state(pid);

		if (s == 0 || s == 'Z' || strchr(want, s))
			return;
		nanosleep(&ts, NULL);
	}
}

void fe_stop_continue(pid_t pid)
{
	fe_await_state(pid, "S");
	kill(pid, SIGSTOP);
	fe_await_state(pid, "Tt");
	kill(pid, SIGCONT);
	fe_await_state(pid, "SR");
}

int fe_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

void *fe_host(struct fe_env *e, uint64_t gpa)
{
	return e->mem + (gpa - FE_GPA_BASE);
}

uint64_t fe_alloc(struct fe_env *e, uint64_t len)
{
	uint64_t off = (e->bump + 63) & ~63ull;

	if (off + len > e->size)
		return 0;
	e->bump = off + len;
	return FE_GPA_BASE + off;
}

int fe_env_open(struct fe_env *e, const char *sock, uint64_t mem_size, unsigned nq, uint16_t qsize,
		uint64_t want_features, uint64_t want_protocol)
{
	struct vu_region reg;
	int r;

	int fd = sock ? -1 : e->fe.sock; /* NULL path: an already-connected socket in e->fe.sock */

	memset(e, 0, sizeof(*e));
	e->memfd = -1;
	e->nq = nq;
	e->qsize = qsize;
	if (sock) {
		for (int tries = 0;; tries++) {
			r = vu_fe_connect(&e->fe, sock, &e->err);
			if (r == 0 || tries > 200)
				break;
			cp_err_clear(&e->err);
			usleep(10000);
		}
		if (r < 0)
			return r;
	} else {
		e->fe.sock = fd;
	}
	r = vu_fe_negotiate(&e->fe, want_features, want_protocol, &e->err);
	if (r < 0)
		return r;
	e->memfd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
	if (e->memfd < 0 || ftruncate(e->memfd, (off_t)mem_size) < 0)
		return cp_err_set(&e->err, errno, "memfd: %s", strerror(errno));
	e->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, e->memfd, 0);
	if (e->mem == MAP_FAILED)
		return cp_err_set(&e->err, errno, "mmap: %s", strerror(errno));
	e->size = mem_size;
	reg = (struct vu_region){ .gpa = FE_GPA_BASE, .size = mem_size, .uva = (uintptr_t)e->mem, .mmap_offset = 0 };
	r = vu_fe_add_memory(&e->fe, &reg, e->memfd, &e->err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nq; i++) {
		uint64_t rb = vu_drvq_bytes(qsize), gpa;

		e->bump = (e->bump + 4095) & ~4095ull;
		gpa = fe_alloc(e, rb);
		if (!gpa)
			return cp_err_set(&e->err, ENOMEM, "guest memory too small for rings");
		vu_drvq_init(&e->q[i], qsize, fe_host(e, gpa));
		e->q[i].kick_fd = eventfd(0, EFD_CLOEXEC);
		e->q[i].call_fd = eventfd(0, EFD_CLOEXEC);
		r = vu_fe_vring_start(&e->fe, i, qsize, (uintptr_t)e->q[i].desc, (uintptr_t)e->q[i].avail,
				      (uintptr_t)e->q[i].used, 0, e->q[i].kick_fd, e->q[i].call_fd, &e->err);
		if (r < 0)
			return r;
	}
	return 0;
}

void fe_env_close(struct fe_env *e)
{
	vu_fe_close(&e->fe);
	for (unsigned i = 0; i < e->nq; i++) {
		if (e->q[i].kick_fd >= 0)
			close(e->q[i].kick_fd);
		if (e->q[i].call_fd >= 0)
			close(e->q[i].call_fd);
	}
	if (e->mem && e->mem != MAP_FAILED)
		munmap(e->mem, e->size);
	if (e->memfd >= 0)
		close(e->memfd);
	e->mem = NULL;
	e->memfd = -1;
}

int fe_blk_rw(struct fe_env *e, unsigned q, uint32_t type, uint64_t sector, uint64_t data_gpa,
	      uint32_t len, uint8_t *status, uint32_t *used_len)
{
	struct vu_drv_buf b[3];
	unsigned n = 0;
	uint16_t head;
	uint32_t l;
	int r;

	if (!e->hdr_gpa) {
		e->hdr_gpa = fe_alloc(e, 16);
		e->st_gpa = fe_alloc(e, 1);
	}
	uint64_t hdr_gpa = e->hdr_gpa, st_gpa = e->st_gpa;
	uint8_t *h = fe_host(e, hdr_gpa);
	cp_put_le32(h, type);
	cp_put_le32(h + 4, 0);
	cp_put_le64(h + 8, sector);
	*(uint8_t *)fe_host(e, st_gpa) = 0xff;
	b[n++] = (struct vu_drv_buf){ hdr_gpa, 16, false };
	if (len)
		b[n++] = (struct vu_drv_buf){ data_gpa, len, type != 1 && type != 11 && type != 13 };
	b[n++] = (struct vu_drv_buf){ st_gpa, 1, true };
	r = vu_drvq_add(&e->q[q], b, n);
	if (r < 0)
		return r;
	vu_drvq_kick(&e->q[q]);
	for (int i = 0; i < 500; i++) {
		r = vu_drvq_get_used(&e->q[q], &head, &l);
		if (r < 0)
			return r;
		if (r == 1) {
			*status = *(uint8_t *)fe_host(e, st_gpa);
			if (used_len)
				*used_len = l;
			return 0;
		}
		if (vu_drvq_wait(&e->q[q], 10) < 0)
			return -EIO;
	}
	return -ETIMEDOUT;
}

int fe_stats_open(struct fe_stats *s)
{
	struct cp_err err = { 0 };
	int r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	r = devstats_create(&s->fd, &s->page, &err);
	if (r < 0) {
		fprintf(stderr, "fe_stats_open: %s\n", err.msg);
		return r;
	}
	/* The helper inherits it across exec, as the runner passes it. */
	if (fcntl(s->fd, F_SETFD, 0) < 0)
		return -errno;
	snprintf(s->arg, sizeof(s->arg), "%d", s->fd);
	return 0;
}

void fe_stats_sent(struct fe_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void fe_stats_close(struct fe_stats *s)
{
	fe_stats_sent(s);
	devstats_unmap(s->page);
	s->page = NULL;
}

uint64_t fe_stats_get(const struct fe_stats *s, unsigned i)
{
	uint64_t seen[DEVSTATS_MAX] = { 0 };

	if (i >= DEVSTATS_MAX)
		return 0;
	devstats_observe(s->page, i + 1, seen);
	return seen[i];
}

uint64_t fe_stats_await(const struct fe_stats *s, unsigned i, uint64_t want)
{
	uint64_t v = fe_stats_get(s, i);

	for (int n = 0; n < 500 && v < want; n++) {
		usleep(10000);
		v = fe_stats_get(s, i);
	}
	return v;
}

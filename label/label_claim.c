/* Category pairs claimed across runner processes: one lock file per pair in a directory
 * (e.g. /run/carapace/mcs), flock()ed for as long as the VM runs. The kernel drops the lock
 * when a runner dies, so a pair is never leaked; plugs into label_mcs_acquire as its claim. */
#include "label/label.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void label_claims_name(const struct label_mcs_pair *p, char *buf, size_t len)
{
	snprintf(buf, len, "c%u,c%u", p->c1, p->c2);
}

int label_claims_open(struct label_mcs_claims *c, const char *dir, struct cp_err *err)
{
	memset(c, 0, sizeof(*c));
	c->dirfd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cp_err_set(err, errno, "label: cannot create %s: %s", dir, strerror(errno));
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dirfd < 0)
		return cp_err_set(err, errno, "label: cannot open %s: %s", dir, strerror(errno));
	return 0;
}

/* label_mcs_claim_fn: 0 = the pair is ours now, -EEXIST = a live runner holds it. */
int label_claims_claim(void *ctx, const struct label_mcs_pair *p)
{
	struct label_mcs_claims *c = ctx;
	struct stat a, b;
	char name[32];
	int fd;

	if (c->n >= LABEL_CLAIMS_MAX)
		return -ENOSPC;
	label_claims_name(p, name, sizeof(name));
	fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? -EEXIST : -e;
	}
	/* A releasing runner unlinks the file while holding the lock: if what we locked is no
	 * longer the file under that name, someone else may be locking the new one. Treat the
	 * pair as taken rather than race for it; the allocator moves on. */
	if (fstat(fd, &a) < 0 || fstatat(c->dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(fd);
		return -EEXIST;
	}
	c->held[c->n].pair = *p;
	c->held[c->n].fd = fd;
	c->n++;
	return 0;
}

int label_claims_release(struct label_mcs_claims *c, const struct label_mcs_pair *p,
			 struct cp_err *err)
{
	char name[32];

	for (size_t i = 0; i < c->n; i++) {
		if (c->held[i].pair.c1 != p->c1 || c->held[i].pair.c2 != p->c2)
			continue;
		label_claims_name(p, name, sizeof(name));
		/* Unlink while still holding the lock, then drop it (see label_claims_claim). */
		unlinkat(c->dirfd, name, 0);
		close(c->held[i].fd);
		c->held[i] = c->held[--c->n];
		return 0;
	}
	return cp_err_set(err, ENOENT, "label: categories c%u,c%u are not claimed by this runner",
			  p->c1, p->c2);
}

void label_claims_close(struct label_mcs_claims *c)
{
	while (c->n)
		label_claims_release(c, &c->held[c->n - 1].pair, NULL);
	if (c->dirfd >= 0)
		close(c->dirfd);
	c->dirfd = -1;
}

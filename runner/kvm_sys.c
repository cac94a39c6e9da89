/* kvm_ops backed by the real kernel: thin wrappers that turn -1/errno into -errno. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runner/kvm_ops.h"

static int sys_open_dev(void *ctx, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int sys_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);
	return r < 0 ? -errno : r;
}

static void *sys_mmap_run(void *ctx, int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void sys_munmap_run(void *ctx, void *p, size_t len) { munmap(p, len); }
static void sys_close(void *ctx, int fd) { close(fd); }

const struct kvm_ops kvm_ops_sys = {
	.name = "linux",
	.open_dev = sys_open_dev,
	.ioctl = sys_ioctl,
	.mmap_run = sys_mmap_run,
	.munmap_run = sys_munmap_run,
	.close = sys_close,
};

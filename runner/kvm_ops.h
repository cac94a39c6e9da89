/* The one door to the kernel's KVM uAPI. Every ioctl the runner issues goes through an ops
 * table, so tests can put a strict double of the kernel behind it (tests/double/). */
#ifndef CARAPACE_RUNNER_KVM_OPS_H
#define CARAPACE_RUNNER_KVM_OPS_H

#include <stddef.h>

struct kvm_ops {
	const char *name;
	/* open a device node (/dev/kvm, /dev/sev): fd or -errno */
	int (*open_dev)(void *ctx, const char *path);
	/* ioctl: the kernel's non-negative result or -errno */
	int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
	/* map a vCPU's kvm_run area: pointer or NULL (errno set) */
	void *(*mmap_run)(void *ctx, int vcpu_fd, size_t len);
	void (*munmap_run)(void *ctx, void *p, size_t len);
	void (*close)(void *ctx, int fd);
};

/* The real kernel. */
extern const struct kvm_ops kvm_ops_sys;

#endif

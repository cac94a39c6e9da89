/* carapace's struct kvm_ops over the strict double's entry points. */
#include "tests/unit/cc/kd_ops.h"

const struct kvm_ops kd_ops = {
	.name = "kvm-double",
	.open_dev = kd_open_dev,
	.ioctl = kd_ioctl,
	.mmap_run = kd_mmap_run,
	.munmap_run = kd_munmap_run,
	.close = kd_close,
};

/* carapace-blk's system calls beyond the base (devices/jail/seccomp_base.c). */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"

static const struct jail_rule blk_rules[] = {
	{ "preadv", JAIL_ARG_ANY, "VIRTIO_BLK_T_IN straight into guest buffers" },
	{ "pwrite64", JAIL_ARG_ANY, "WRITE_ZEROES fallback where fallocate cannot zero" },
	{ "pwritev", JAIL_ARG_ANY, "VIRTIO_BLK_T_OUT straight from guest buffers" },
	{ "fdatasync", JAIL_ARG_ANY, "VIRTIO_BLK_T_FLUSH: make acknowledged writes durable" },
	{ "fallocate", JAIL_ARG_FALLOC_BLK, "DISCARD (punch hole) and WRITE_ZEROES (zero range)" },
	{ "futex", JAIL_ARG_ANY, "the I/O worker threads' queue lock and condition variables (threads are started before the filter; clone stays forbidden)" },
};

const struct jail_policy jail_policy_blk = { "blk", blk_rules, ARRAY_SIZE(blk_rules) };

/* carapace-blk's system calls beyond the base (devices/jail/seccomp_base.c). */
#include "devices/jail/seccomp.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include "common/cleanup.h"

static const struct sce_rule blk_rules[] = {
	{ "preadv", SCE_F_ANY, "VIRTIO_BLK_T_IN straight into guest buffers" },
	{ "pwrite64", SCE_F_ANY, "WRITE_ZEROES fallback where fallocate cannot zero" },
	{ "pwritev", SCE_F_ANY, "VIRTIO_BLK_T_OUT straight from guest buffers" },
	{ "fdatasync", SCE_F_ANY, "VIRTIO_BLK_T_FLUSH: make acknowledged writes durable" },
	{ "fallocate", SCE_F_ARG32(1, "mode `PUNCH_HOLE+KEEP_SIZE`, `ZERO_RANGE` or `ZERO_RANGE+KEEP_SIZE`",
					   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE,
					   FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE), "DISCARD (punch hole) and WRITE_ZEROES (zero range)" },
	{ "fcntl", SCE_F_ARG32(1, "command `F_GETFL` only", F_GETFL), "PATCH /drives: is a handed-over backing file open for writing (a writable drive needs it)" },
	{ "lseek", SCE_F_ARG32(2, "whence `SEEK_END` only", SEEK_END), "PATCH /drives: the size of a handed-over block device (fstat says 0); every I/O is positional" },
	{ "futex", SCE_F_ANY, "the I/O worker threads' queue lock and condition variables (threads are started before the filter; clone stays forbidden)" },
};

const struct sce_list jail_policy_blk = { "blk", blk_rules, ARRAY_SIZE(blk_rules) };

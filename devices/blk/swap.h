/* The swap channel of carapace-blk (PATCH /drives/{id}, block hot-plug): the VM process hands the
 * helper a new backing file, already opened by the API's controller and judged by the launch
 * policy, and the helper answers. Wire format (both ends on one host, from one build: native
 * byte order, fixed sizes) and its two validating readers; pure: no I/O, no logging. */
#ifndef CARAPACE_DEVICES_BLK_SWAP_H
#define CARAPACE_DEVICES_BLK_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define BLK_SWAP_MAGIC 0x50575362u       /* "bSWP" */
#define BLK_SWAP_REPLY_MAGIC 0x50575372u /* "rSWP" */
#define BLK_SWAP_MSG_MAX 192u
/* Largest backing file a swap accepts: 2^50 bytes (1 PiB) keeps every sector * 512 and
 * offset + length of the request path far from 64-bit overflow. */
#define BLK_SWAP_SIZE_MAX (1ull << 50)

/* VM process -> helper, with exactly one fd (SCM_RIGHTS): the new backing file. */
struct blk_swap_req {
	uint32_t magic;
	uint32_t flags;  /* none defined: 0 */
	uint64_t serial; /* echoed in the reply: which request it answers */
};

/* helper -> VM process, no fd. */
struct blk_swap_reply {
	uint32_t magic;
	int32_t status;               /* 0, or a negative errno: the old file is still in place */
	uint64_t serial;
	uint64_t size;                /* bytes the device now serves (status 0) */
	char msg[BLK_SWAP_MSG_MAX];   /* why not (NUL-terminated; "" on success) */
};

_Static_assert(sizeof(struct blk_swap_req) == 16, "swap request");
_Static_assert(sizeof(struct blk_swap_reply) == 24 + BLK_SWAP_MSG_MAX, "swap reply");

/* What the helper learns about a handed-over fd (fstat, fcntl F_GETFL, lseek SEEK_END). */
struct blk_image_facts {
	mode_t mode;       /* st_mode */
	uint64_t size;     /* bytes: st_size for a file, the end offset for a block device */
	int accmode;       /* O_RDONLY, O_WRONLY or O_RDWR */
};

/* A received request: len bytes, nfds fds, truncated = MSG_CTRUNC|MSG_TRUNC seen. 0 or -EPROTO. */
int blk_swap_req_read(const void *buf, size_t len, unsigned nfds, bool truncated, struct blk_swap_req *out,
		      struct cp_err *err);
/* A received reply, for the request `serial`. 0 or -EPROTO. */
int blk_swap_reply_read(const void *buf, size_t len, unsigned nfds, bool truncated, uint64_t serial,
			struct blk_swap_reply *out, struct cp_err *err);
/* May this file back a device (readonly or not)? A regular file or a block device, open for
 * reading (and writing unless readonly), a size that is a multiple of 512 and at most
 * BLK_SWAP_SIZE_MAX. 0 or -EINVAL / -EBADF / -EFBIG with a message. */
int blk_image_judge(const struct blk_image_facts *f, bool readonly, struct cp_err *err);

#endif

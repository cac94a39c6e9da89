/* carapace-blk's swap channel: the two readers and the judgement of a new backing file (swap.h). */
#include "devices/blk/swap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/blk/blk.h"

int blk_swap_req_read(const void *buf, size_t len, unsigned nfds, bool truncated, struct blk_swap_req *out,
		      struct cp_err *err)
{
	if (truncated)
		return cp_err_set(err, EPROTO, "swap request: truncated (more bytes or fds than one request holds)");
	if (len != sizeof(*out))
		return cp_err_set(err, EPROTO, "swap request: %zu bytes, expected exactly %zu", len, sizeof(*out));
	if (nfds != 1)
		return cp_err_set(err, EPROTO, "swap request: %u fds, expected exactly 1 (the new backing file)", nfds);
	memcpy(out, buf, sizeof(*out));
	if (out->magic != BLK_SWAP_MAGIC)
		return cp_err_set(err, EPROTO, "swap request: magic 0x%08x, expected 0x%08x", out->magic, BLK_SWAP_MAGIC);
	if (out->flags)
		return cp_err_set(err, EPROTO, "swap request: flags 0x%x, none are defined", out->flags);
	return 0;
}

int blk_swap_reply_read(const void *buf, size_t len, unsigned nfds, bool truncated, uint64_t serial,
			struct blk_swap_reply *out, struct cp_err *err)
{
	if (truncated)
		return cp_err_set(err, EPROTO, "swap reply: truncated");
	if (len != sizeof(*out))
		return cp_err_set(err, EPROTO, "swap reply: %zu bytes, expected exactly %zu", len, sizeof(*out));
	if (nfds)
		return cp_err_set(err, EPROTO, "swap reply: %u fds, expected none", nfds);
	memcpy(out, buf, sizeof(*out));
	if (out->magic != BLK_SWAP_REPLY_MAGIC)
		return cp_err_set(err, EPROTO, "swap reply: magic 0x%08x, expected 0x%08x", out->magic,
				  BLK_SWAP_REPLY_MAGIC);
	if (out->serial != serial)
		return cp_err_set(err, EPROTO, "swap reply: for request %llu, expected %llu",
				  (unsigned long long)out->serial, (unsigned long long)serial);
	if (out->status > 0 || out->status < -4095)
		return cp_err_set(err, EPROTO, "swap reply: status %d is neither 0 nor a negative errno", out->status);
	if (!memchr(out->msg, '\0', sizeof(out->msg)))
		return cp_err_set(err, EPROTO, "swap reply: message not NUL-terminated");
	if (out->status == 0 && (out->size % BLK_SECTOR || out->size > BLK_SWAP_SIZE_MAX || out->msg[0]))
		return cp_err_set(err, EPROTO, "swap reply: success with size %llu and message \"%.40s\"",
				  (unsigned long long)out->size, out->msg);
	if (out->status < 0 && !out->msg[0])
		return cp_err_set(err, EPROTO, "swap reply: failure %d without a reason", out->status);
	return 0;
}

int blk_image_judge(const struct blk_image_facts *f, bool readonly, struct cp_err *err)
{
	if (!S_ISREG(f->mode) && !S_ISBLK(f->mode))
		return cp_err_set(err, EINVAL, "not a regular file or block device");
	if (f->accmode != O_RDWR && (readonly ? f->accmode != O_RDONLY : true))
		return cp_err_set(err, EBADF, "not open for %s", readonly ? "reading" : "reading and writing (the drive is not read-only)");
	if (f->size % BLK_SECTOR)
		return cp_err_set(err, EINVAL, "size %llu bytes is not a multiple of %u", (unsigned long long)f->size,
				  BLK_SECTOR);
	if (f->size > BLK_SWAP_SIZE_MAX)
		return cp_err_set(err, EFBIG, "size %llu bytes is larger than %llu", (unsigned long long)f->size,
				  (unsigned long long)BLK_SWAP_SIZE_MAX);
	return 0;
}

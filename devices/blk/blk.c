/* virtio-blk requests: the header and segments come from the guest and are range-checked
 * against the image before any I/O; a bad request gets IOERR/UNSUPP, never a crash. */
#include "devices/blk/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "devices/blk/swap.h"
#include "devices/devstats.h"
#include "devices/vhost/pool.h"

static void blk_get_config(void *dev, uint8_t *cfg)
{
	struct blk_dev *b = dev;

	memset(cfg, 0, BLK_CONFIG_SIZE);
	cp_put_le64(cfg + 0, b->size / BLK_SECTOR);        /* capacity */
	cp_put_le32(cfg + 12, VU_CHAIN_MAX - 2);            /* seg_max: header and status take two */
	cp_put_le32(cfg + 20, BLK_SECTOR);                  /* blk_size */
	cp_put_le16(cfg + 34, b->num_queues);               /* num_queues */
	cp_put_le32(cfg + 36, BLK_MAX_DISCARD_SECTORS);     /* max_discard_sectors */
	cp_put_le32(cfg + 40, 1);                           /* max_discard_seg */
	cp_put_le32(cfg + 44, 1);                           /* discard_sector_alignment */
	cp_put_le32(cfg + 48, BLK_MAX_DISCARD_SECTORS);     /* max_write_zeroes_sectors */
	cp_put_le32(cfg + 52, 1);                           /* max_write_zeroes_seg */
	cfg[56] = b->can_punch;                             /* write_zeroes_may_unmap */
}

/* Every kick of a request queue the event loop handles (Firecracker's queue_event_count). */
static void blk_queue_event(void *dev, unsigned q, uint64_t kicks)
{
	devstats_add(DS_BLK_QUEUE_EVENT_COUNT, kicks);
}

static int blk_extra_fd(void *dev)
{
	return ((struct blk_dev *)dev)->swap_fd;
}

void blk_dev_setup_ops(struct blk_dev *b)
{
	uint64_t f = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_F_INDIRECT_DESC) |
		     (1ull << VIRTIO_BLK_F_WRITE_ZEROES);

	if (b->num_queues > 1)
		f |= 1ull << VIRTIO_BLK_F_MQ;
	if (b->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (b->can_punch)
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	b->ops = (struct vu_dev_ops){
		.name = "blk",
		.features = f,
		/* The back-end channel tells the front-end of a new capacity after a swap. */
		.protocol_features = VU_PF_IMPLEMENTED | (1ull << VU_PF_BACKEND_REQ),
		.num_queues = b->num_queues,
		.config_size = BLK_CONFIG_SIZE,
		.get_config = blk_get_config,
		.handle_chain = blk_handle_chain,
		.queue_event = blk_queue_event,
		.extra_fd = blk_extra_fd,
		.extra_ready = blk_swap_ready,
		.workers = BLK_WORKERS,
	};
}

int blk_image_facts_get(int fd, struct blk_image_facts *f)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	f->mode = st.st_mode;
	f->accmode = fl & O_ACCMODE;
	f->size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0)
			return -errno;
		f->size = (uint64_t)end;
	}
	return 0;
}

void blk_dev_probe(struct blk_dev *b)
{
	b->can_punch = b->can_zero_range = false;
	if (b->readonly)
		return;
	b->can_punch = fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)b->size, 4096) == 0;
	b->can_zero_range = fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)b->size, 0) == 0 ||
			    errno == EINVAL;
}

static void blk_swap_answer(struct blk_dev *b, uint64_t serial, int status, const char *msg)
{
	struct blk_swap_reply rep = { .magic = BLK_SWAP_REPLY_MAGIC, .status = status, .serial = serial,
				      .size = status == 0 ? b->size : 0 };

	snprintf(rep.msg, sizeof(rep.msg), "%s", msg);
	if (send(b->swap_fd, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
		cp_warn("blk: swap channel: answer not sent: %s", strerror(errno));
}

void blk_swap_ready(struct vu_backend *be)
{
	struct blk_dev *b = be->dev;
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	/* A stream socket (created in this helper's SELinux context, as its vhost-user socket): one
	 * request's bytes at most; the fd comes with its first byte. */
	uint8_t raw[sizeof(struct blk_swap_req)];
	struct iovec iov = { .iov_base = raw, .iov_len = sizeof(raw) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct blk_swap_req req;
	struct blk_image_facts f;
	struct cp_err err = { 0 };
	int fds[2], nfds = 0, fd, r, old;
	ssize_t n;

	n = recvmsg(b->swap_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < 2)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (n <= 0) {
		/* The VM process closed its end (or the channel failed): no more swaps. */
		cp_info("blk: swap channel closed%s%s", n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		close(b->swap_fd);
		b->swap_fd = -1;
		return;
	}
	r = blk_swap_req_read(raw, (size_t)n, (unsigned)nfds, mh.msg_flags & MSG_CTRUNC, &req, &err);
	if (r < 0) {
		/* Only the VM process writes here; a request it could not have meant ends the channel. */
		cp_err("blk: swap channel: %s; no more swaps", err.msg);
		devstats_add(DS_BLK_UPDATE_FAILS, 1);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		close(b->swap_fd);
		b->swap_fd = -1;
		return;
	}
	fd = fds[0];
	r = blk_image_facts_get(fd, &f);
	if (r < 0)
		cp_err_set(&err, -r, "cannot inspect the new file: %s", strerror(-r));
	else
		r = blk_image_judge(&f, b->readonly, &err);
	if (r < 0) {
		close(fd);
		cp_warn("blk: swap %llu refused: %s; the old file stays", (unsigned long long)req.serial, err.msg);
		devstats_add(DS_BLK_UPDATE_FAILS, 1);
		blk_swap_answer(b, req.serial, r, err.msg);
		return;
	}
	/* Between requests: nothing in flight reads the old fd or size while they change. */
	if (be->pool)
		vu_pool_drain(be->pool);
	old = b->fd;
	b->fd = fd;
	b->size = f.size;
	blk_dev_probe(b);
	close(old);
	b->swaps++;
	devstats_add(DS_BLK_UPDATE_COUNT, 1);
	cp_info("blk: backing file replaced (swap %llu): %llu bytes", (unsigned long long)req.serial,
		(unsigned long long)b->size);
	if (vu_be_config_changed(be, &err) < 0)
		cp_warn("%s", err.msg);
	blk_swap_answer(b, req.serial, 0, "");
}

/* [sector, +bytes) inside the image, without overflow. */
static bool blk_in_range(const struct blk_dev *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->size / BLK_SECTOR && bytes <= b->size - sector * BLK_SECTOR;
}

/* How a request ended: its status byte, and which counter it moves (devices/devstats.h). The
 * guest's mistakes (invalid_reqs_count) are kept apart from the host's (execute_fails). */
enum blk_outcome {
	BLK_DONE,        /* VIRTIO_BLK_S_OK */
	BLK_INVALID,     /* malformed or out of range: IOERR, invalid_reqs_count */
	BLK_UNSUPPORTED, /* a type or flag not offered: UNSUPP, invalid_reqs_count */
	BLK_FAILED,      /* well-formed, the I/O failed: IOERR, execute_fails */
};

static enum blk_outcome blk_rw(struct blk_dev *b, struct vu_chain *c, bool write, uint64_t sector, uint64_t len)
{
	struct iovec iov[VU_CHAIN_MAX];
	uint64_t off = sector * BLK_SECTOR, done = 0;
	int n;

	if (len % BLK_SECTOR || !blk_in_range(b, sector, len))
		return BLK_INVALID;
	n = write ? vu_chain_iov(c, false, 16, len, iov, VU_CHAIN_MAX)
		  : vu_chain_iov(c, true, 0, len, iov, VU_CHAIN_MAX);
	if (n < 0)
		return BLK_INVALID;
	while (done < len) {
		ssize_t r = write ? pwritev(b->fd, iov, n, (off_t)(off + done))
				  : preadv(b->fd, iov, n, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return BLK_FAILED; /* EOF: the image shrank under us */
		done += (uint64_t)r;
		/* Rare short transfer: drop what was done from the front of iov. */
		for (size_t rem = (size_t)r; rem > 0 && n > 0;) {
			if (rem >= iov[0].iov_len) {
				rem -= iov[0].iov_len;
				memmove(iov, iov + 1, (size_t)(n - 1) * sizeof(iov[0]));
				n--;
			} else {
				iov[0].iov_base = (uint8_t *)iov[0].iov_base + rem;
				iov[0].iov_len -= rem;
				rem = 0;
			}
		}
	}
	return BLK_DONE;
}

static int blk_zero(struct blk_dev *b, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zeros[65536];

	if (unmap && b->can_punch && fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (b->can_zero_range && fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (b->can_punch && fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t r = pwrite(b->fd, zeros, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static enum blk_outcome blk_discard(struct blk_dev *b, struct vu_chain *c, uint32_t type)
{
	uint8_t seg[16];
	uint64_t sector;
	uint32_t nsect, flags;

	/* We offer one segment per request (max_*_seg = 1). */
	if (c->out_bytes != 16 + sizeof(seg) || vu_chain_read(c, 16, seg, sizeof(seg)) != sizeof(seg))
		return BLK_INVALID;
	sector = cp_le64(seg);
	nsect = cp_le32(seg + 8);
	flags = cp_le32(seg + 12);
	if ((flags & ~1u) || (type == VIRTIO_BLK_T_DISCARD && flags) || nsect == 0 ||
	    nsect > BLK_MAX_DISCARD_SECTORS)
		return BLK_UNSUPPORTED;
	if (!blk_in_range(b, sector, (uint64_t)nsect * BLK_SECTOR))
		return BLK_INVALID;
	if (type == VIRTIO_BLK_T_DISCARD) {
		if (!b->can_punch)
			return BLK_UNSUPPORTED;
		return fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(sector * BLK_SECTOR),
				 (off_t)nsect * BLK_SECTOR) == 0 ? BLK_DONE : BLK_FAILED;
	}
	return blk_zero(b, sector * BLK_SECTOR, (uint64_t)nsect * BLK_SECTOR, flags & 1) == 0 ? BLK_DONE : BLK_FAILED;
}

/* The counters for one request (any worker thread: devstats_add is atomic). Only requests that
 * succeeded count as reads, writes and flushes, with the bytes they moved. */
static void blk_count(uint32_t type, enum blk_outcome o, uint64_t bytes)
{
	switch (o) {
	case BLK_DONE:
		if (type == VIRTIO_BLK_T_IN) {
			devstats_add(DS_BLK_READ_COUNT, 1);
			devstats_add(DS_BLK_READ_BYTES, bytes);
		} else if (type == VIRTIO_BLK_T_OUT) {
			devstats_add(DS_BLK_WRITE_COUNT, 1);
			devstats_add(DS_BLK_WRITE_BYTES, bytes);
		} else if (type == VIRTIO_BLK_T_FLUSH) {
			devstats_add(DS_BLK_FLUSH_COUNT, 1);
		}
		return;
	case BLK_INVALID:
	case BLK_UNSUPPORTED:
		devstats_add(DS_BLK_INVALID_REQS, 1);
		return;
	case BLK_FAILED:
		devstats_add(DS_BLK_EXECUTE_FAILS, 1);
		return;
	}
}

void blk_handle_chain(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written)
{
	static const uint8_t status_of[] = {
		[BLK_DONE] = VIRTIO_BLK_S_OK, [BLK_INVALID] = VIRTIO_BLK_S_IOERR,
		[BLK_UNSUPPORTED] = VIRTIO_BLK_S_UNSUPP, [BLK_FAILED] = VIRTIO_BLK_S_IOERR,
	};
	struct blk_dev *b = be->dev;
	enum blk_outcome o;
	uint8_t hdr[16], status;
	uint32_t type = UINT32_MAX;
	uint64_t sector, data_in = 0, moved = 0;

	*written = 0;
	if (c->in_bytes == 0) {
		/* No byte to put a status in: the driver broke the protocol; complete it empty. */
		cp_warn("blk: queue %u head %u: request without a writable status byte", q, c->head);
		devstats_add(DS_BLK_INVALID_REQS, 1);
		return;
	}
	if (c->out_bytes < sizeof(hdr) || vu_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		o = BLK_INVALID;
		goto done;
	}
	type = cp_le32(hdr);
	sector = cp_le64(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
		data_in = c->in_bytes - 1;
		o = blk_rw(b, c, false, sector, data_in);
		if (o != BLK_DONE)
			data_in = 0;
		moved = data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		/* Writing to a drive offered read-only (VIRTIO_BLK_F_RO) is the driver's mistake. */
		o = b->readonly ? BLK_INVALID : blk_rw(b, c, true, sector, c->out_bytes - 16);
		moved = c->out_bytes - 16;
		break;
	case VIRTIO_BLK_T_FLUSH:
		o = fdatasync(b->fd) == 0 ? BLK_DONE : BLK_FAILED;
		break;
	case VIRTIO_BLK_T_GET_ID:
		data_in = c->in_bytes - 1 < BLK_ID_BYTES ? c->in_bytes - 1 : BLK_ID_BYTES;
		vu_chain_write(c, 0, b->serial, (size_t)data_in);
		o = BLK_DONE;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		o = b->readonly ? BLK_INVALID : blk_discard(b, c, type);
		break;
	default:
		o = BLK_UNSUPPORTED;
		break;
	}
done:
	blk_count(type, o, moved);
	status = status_of[o];
	vu_chain_write(c, c->in_bytes - 1, &status, 1);
	*written = (uint32_t)(data_in + 1);
}

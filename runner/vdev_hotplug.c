/* Block hot-plug in the VM process (PATCH /drives/{id}): a backing file opened and judged by the
 * API's controller arrives on the control socket, goes to the drive's jailed carapace-blk over
 * its swap channel, and the guest learns the new capacity from a configuration-change interrupt
 * (the helper's BACKEND_CONFIG_CHANGE_MSG, then GET_CONFIG). What it trusts: the controller's
 * fd is the file the launch policy judged; nothing the helper sends (every reply and back-end
 * request goes through a validating reader; a helper that breaks the protocol is a failed
 * device). Runs on the event loop's thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "devices/blk/swap.h"
#include "runner/vdev.h"
#include "runner/vm.h"

/* How long the helper may take to answer a swap: it drains its in-flight requests first. */
#define VDEV_SWAP_REPLY_MS 10000u
/* A back-end request is one header: a helper that sends part of one may hold the loop this long. */
#define VDEV_BACKEND_REQ_MS 1000u

int vdev_config_refresh(struct vdev *d, struct cp_err *err)
{
	uint8_t cfg[VMMIO_CONFIG_MAX];
	bool raise = false;
	int r;

	if (d->dead)
		return cp_err_set(err, EPIPE, "%s: its helper is gone", d->name);
	if (!(d->fe.protocol & (1ull << VU_PF_CONFIG)) || !d->mmio.config_len)
		return 0;
	/* Under the register lock: the vCPUs' requests on the same socket (ring set-up) wait, and a
	 * driver reading the config sees the old bytes or the new ones with the new generation. */
	pthread_mutex_lock(&d->mmio.lock);
	r = vu_fe_get_config(&d->fe, 0, d->mmio.config_len, cfg, err);
	if (r == 0)
		raise = vmmio_config_changed_locked(&d->mmio, cfg, d->mmio.config_len);
	pthread_mutex_unlock(&d->mmio.lock);
	if (r < 0)
		return r;
	d->config_changes++;
	/* The device's interrupt line is the irqfd of its queue 0: the guest's handler reads
	 * InterruptStatus and finds the configuration bit. */
	if (raise && d->call[0] >= 0)
		(void)eventfd_write(d->call[0], 1);
	return 0;
}

int vdev_backend_ready(struct vdev *d)
{
	struct vu_wait w = { .deadline_ns = vu_deadline_after_ms(VDEV_BACKEND_REQ_MS), .cancel = &d->vm->stopping };
	struct cp_err err = { 0 }, aerr = { 0 };
	struct vu_msg m;
	int r;

	if (d->backend_fd < 0)
		return -1;
	r = vu_fe_recv_backend_req(&d->fe, d->backend_fd, &m, &w, &err);
	if (r == 0 || (r < 0 && d->dead)) {
		/* Closed (the helper is ending: its pidfd says how), or given up on already. */
		close(d->backend_fd);
		d->backend_fd = -1;
		return -1;
	}
	if (r < 0) {
		close(d->backend_fd);
		d->backend_fd = -1;
		(void)vdev_op_failed(d, "a back-end request", &err);
		return -1;
	}
	d->backend_reqs++;
	r = vdev_config_refresh(d, &err);
	if (vu_fe_backend_ack(&d->fe, d->backend_fd, &m, r == 0 ? 0 : 1, &aerr) < 0 && r == 0) {
		err = aerr;
		r = -EIO;
	}
	if (r < 0) {
		(void)vdev_op_failed(d, "re-reading its configuration after a change", &err);
		return -1;
	}
	return 0;
}

/* The helper's answer: exactly one reply, within the deadline. */
static int swap_recv_reply(struct vdev *d, uint64_t serial, struct blk_swap_reply *rep, struct cp_err *err)
{
	uint64_t deadline = vu_deadline_after_ms(VDEV_SWAP_REPLY_MS);
	uint8_t raw[sizeof(*rep)];
	size_t got = 0;

	while (got < sizeof(raw)) {
		struct pollfd p = { .fd = d->swap_fd, .events = POLLIN };
		uint64_t now = vu_deadline_after_ms(0);
		ssize_t n;
		int pr;

		if (now >= deadline)
			return cp_err_set(err, ETIMEDOUT, "the helper did not answer the swap in %u ms", VDEV_SWAP_REPLY_MS);
		pr = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return cp_err_set(err, errno, "swap channel: poll: %s", strerror(errno));
		if (pr == 0)
			continue;
		n = recv(d->swap_fd, raw + got, sizeof(raw) - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return cp_err_set(err, n ? errno : ECONNRESET, "swap channel: %s",
					  n ? strerror(errno) : "the helper closed it");
		got += (size_t)n;
	}
	return blk_swap_reply_read(raw, got, 0, false, serial, rep, err);
}

int vdev_swap_image(struct vdev *d, int fd, char *why, size_t why_len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct blk_swap_req req = { .magic = BLK_SWAP_MAGIC, .flags = 0 };
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct blk_swap_reply rep;
	struct cp_err err = { 0 };
	struct cmsghdr *c;
	unsigned before;
	ssize_t n;

	if (d->spec.kind != DEVKIND_BLK || d->swap_fd < 0) {
		snprintf(why, why_len, "device %s has no swap channel", d->name);
		return -1;
	}
	if (d->dead) {
		snprintf(why, why_len, "device %s: its helper is gone (%s)", d->name, d->death[0] ? d->death : "failed");
		return -1;
	}
	req.serial = ++d->swap_serial;
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(d->swap_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(req)) {
		cp_err_set(&err, n < 0 ? errno : EIO, "swap channel: sendmsg: %s", n < 0 ? strerror(errno) : "short");
		goto failed;
	}
	before = d->config_changes;
	if (swap_recv_reply(d, req.serial, &rep, &err) < 0)
		goto failed;
	if (rep.status < 0) {
		snprintf(why, why_len, "%s", rep.msg); /* refused: the old file still serves */
		return -1;
	}
	/* The helper announced the change on the back-end channel before it answered: read that
	 * now, so the guest has its interrupt before the API says 204. */
	while (d->backend_fd >= 0) {
		struct pollfd p = { .fd = d->backend_fd, .events = POLLIN };
		if (poll(&p, 1, 0) != 1 || vdev_backend_ready(d) < 0)
			break;
	}
	if (d->config_changes == before && !d->dead && vdev_config_refresh(d, &err) < 0) {
		(void)vdev_op_failed(d, "re-reading its configuration after a swap", &err);
		snprintf(why, why_len, "device %s: the new file is in place but the guest could not be told: %s", d->name,
			 err.msg);
		return -1;
	}
	return 0;
failed:
	/* Its state is unknown now: the device failed (the VM ends, or it needs a reset). */
	(void)vdev_op_failed(d, "a backing-file swap", &err);
	snprintf(why, why_len, "device %s: its helper failed the swap: %s", d->name, err.msg);
	return -1;
}

size_t vdev_hotplug_control(struct vdev *devs, unsigned ndevs, const uint8_t *msg, size_t len, const int *fds,
			    unsigned nfds, bool truncated, char *reply, size_t reply_len)
{
	char why[BLK_SWAP_MSG_MAX + 96];
	unsigned idx;

	if (truncated || len != 2 || msg[0] != 'D' || nfds != 1) {
		snprintf(reply, reply_len, "f%s", "malformed swap request on the control socket");
		return strlen(reply);
	}
	idx = msg[1];
	if (idx >= ndevs || devs[idx].spec.kind != DEVKIND_BLK) {
		snprintf(reply, reply_len, "fdevice %u is not a block device", idx);
		return strlen(reply);
	}
	if (vdev_swap_image(&devs[idx], fds[0], why, sizeof(why)) < 0) {
		snprintf(reply, reply_len, "f%s", why);
		return strlen(reply);
	}
	snprintf(reply, reply_len, "k");
	return 1;
}

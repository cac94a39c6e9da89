/* vhost-user socket I/O: header + SCM_RIGHTS in one recvmsg, payload after, all checked. */
#include "devices/vhost/io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void vu_msg_close_fds(struct vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

uint64_t vu_deadline_after_ms(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000ull;
}

/* After an interrupted receive: 0 to try again, or -ECANCELED / -ETIMEDOUT with a message.
 * Without this, a signal every 50 ms (stop_vcpus) restarted SO_RCVTIMEO for ever. */
static int vu_wait_again(const struct vu_wait *w, const char *what, struct cp_err *err)
{
	if (!w)
		return 0;
	if (w->cancel && atomic_load(w->cancel))
		return cp_err_set(err, ECANCELED, "%s: no longer waiting for the back-end: the VM is ending", what);
	if (w->deadline_ns && vu_deadline_after_ms(0) >= w->deadline_ns)
		return cp_err_set(err, ETIMEDOUT, "%s: the back-end did not answer in time", what);
	return 0;
}

/* With a deadline: wait until the socket is readable, at most until the deadline, so a back-end
 * that stops half-way through a message cannot hold the receive either. 0 when readable. */
static int vu_wait_readable(int sock, const struct vu_wait *w, const char *what, struct cp_err *err)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (!w || !w->deadline_ns)
		return 0;
	for (;;) {
		uint64_t now = vu_deadline_after_ms(0);
		int r;

		if (now >= w->deadline_ns)
			return cp_err_set(err, ETIMEDOUT, "%s: the back-end did not answer in time", what);
		r = poll(&p, 1, (int)((w->deadline_ns - now + 999999) / 1000000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return cp_err_set(err, errno, "%s: poll: %s", what, strerror(errno));
		if (r < 0 && (r = vu_wait_again(w, what, err)) < 0)
			return r;
	}
}

/* recv/recvmsg flags: with a deadline, take what is there (the wait is vu_wait_readable's). */
static int vu_recv_flags(const struct vu_wait *w)
{
	return w && w->deadline_ns ? MSG_DONTWAIT : MSG_WAITALL;
}

static int vu_recv_all(int sock, void *buf, size_t len, const struct vu_wait *w, struct cp_err *err,
		       const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r;
		int again;

		if ((again = vu_wait_readable(sock, w, what, err)) < 0)
			return again;
		r = recv(sock, (uint8_t *)buf + done, len - done, vu_recv_flags(w));
		if (r < 0 && errno == EINTR && (again = vu_wait_again(w, what, err)) < 0)
			return again;
		if (r < 0 && (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && w && w->deadline_ns)))
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) /* SO_RCVTIMEO */
			return cp_err_set(err, ETIMEDOUT, "%s: the back-end did not answer in time", what);
		if (r < 0)
			return cp_err_set(err, errno, "%s: recv: %s", what, strerror(errno));
		if (r == 0)
			return cp_err_set(err, ECONNRESET, "%s: peer closed after %zu of %zu bytes", what, done, len);
		done += (size_t)r;
	}
	return 0;
}

/* Header and at most max_fds fds. Returns 1, 0 on clean EOF, -errno. */
static int vu_recv_header(int sock, struct vu_msg *m, unsigned max_fds, const struct vu_wait *w,
			  struct cp_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &m->hdr, .iov_len = sizeof(m->hdr) };
	/* Room for max_fds only: the kernel drops the rest (MSG_CTRUNC), so no close() is needed for
	 * them here (a vCPU thread's allowlist has none). */
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = max_fds ? ctl.buf : NULL,
			     .msg_controllen = max_fds ? CMSG_SPACE(sizeof(int) * (max_fds < VU_MAX_FDS ? max_fds : VU_MAX_FDS)) : 0 };
	ssize_t r;
	int ret;

	m->nfds = 0;
	for (;;) {
		if ((ret = vu_wait_readable(sock, w, "vhost-user", err)) < 0)
			return ret;
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | vu_recv_flags(w));
		if (r >= 0)
			break;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && w && w->deadline_ns)
			continue; /* readable was a moment's view */
		if (errno != EINTR)
			break;
		if ((ret = vu_wait_again(w, "vhost-user", err)) < 0)
			return ret;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) /* SO_RCVTIMEO */
		return cp_err_set(err, ETIMEDOUT, "vhost-user: the back-end did not answer in time");
	if (r < 0)
		return cp_err_set(err, errno, "vhost-user: recvmsg: %s", strerror(errno));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		vu_msg_close_fds(m);
		return cp_err_set(err, EPROTO, "vhost-user: a message with more fds than the %u it may carry (dropped)",
				  max_fds < VU_MAX_FDS ? max_fds : VU_MAX_FDS);
	}
	if (r == 0 && m->nfds == 0)
		return 0;
	if ((size_t)r < sizeof(m->hdr)) {
		ret = vu_recv_all(sock, (uint8_t *)&m->hdr + r, sizeof(m->hdr) - (size_t)r, w, err,
				  "vhost-user header");
		if (ret < 0) {
			vu_msg_close_fds(m);
			return ret;
		}
	}
	return 1;
}

int vu_sock_recv_request(int sock, struct vu_msg *m, struct cp_err *err)
{
	int r = vu_recv_header(sock, m, VU_MAX_FDS, NULL, err);

	if (r <= 0)
		return r;
	r = vu_msg_check_header(&m->hdr, err);
	if (r < 0)
		goto fail;
	r = vu_recv_all(sock, m->p.raw, m->hdr.size, NULL, err, vu_req_name(m->hdr.request));
	if (r < 0)
		goto fail;
	r = vu_msg_check(&m->hdr, m->p.raw, m->nfds, err);
	if (r < 0)
		goto fail;
	return 1;
fail:
	vu_msg_close_fds(m);
	return r;
}

int vu_sock_recv_backend_req(int sock, struct vu_msg *m, const struct vu_wait *w, struct cp_err *err)
{
	int r = vu_recv_header(sock, m, 0, w, err);

	if (r <= 0)
		return r;
	r = vu_msg_check_backend_req(&m->hdr, m->nfds, err);
	if (r < 0) {
		vu_msg_close_fds(m);
		return r;
	}
	return 1; /* the one accepted request has no payload */
}

int vu_sock_recv_reply(int sock, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
		       struct vu_msg *m, struct cp_err *err)
{
	return vu_sock_recv_reply_wait(sock, request, size, size_is_max, max_fds, NULL, m, err);
}

int vu_sock_recv_reply_wait(int sock, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
			    const struct vu_wait *w, struct vu_msg *m, struct cp_err *err)
{
	int r = vu_recv_header(sock, m, max_fds, w, err);

	if (r == 0)
		return cp_err_set(err, ECONNRESET, "%s: back-end closed the connection instead of replying",
				  vu_req_name(request));
	if (r < 0)
		return r;
	if (m->hdr.request != request || m->hdr.flags != (VU_FLAG_VERSION | VU_FLAG_REPLY) ||
	    (size_is_max ? m->hdr.size > size : m->hdr.size != size) || m->nfds > max_fds) {
		cp_err_set(err, EPROTO, "%s: bad reply (request %u flags 0x%x size %u fds %u)",
			   vu_req_name(request), m->hdr.request, m->hdr.flags, m->hdr.size, m->nfds);
		vu_msg_close_fds(m);
		return -EPROTO;
	}
	r = vu_recv_all(sock, m->p.raw, m->hdr.size, w, err, "reply");
	if (r < 0)
		vu_msg_close_fds(m);
	return r;
}

int vu_sock_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		 const int *fds, unsigned nfds, struct cp_err *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct vu_hdr hdr = { .request = request, .flags = flags, .size = size };
	struct iovec iov[2] = { { .iov_base = &hdr, .iov_len = sizeof(hdr) },
				{ .iov_base = (void *)payload, .iov_len = size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size, done;
	ssize_t r;

	if (nfds > VU_MAX_FDS)
		return cp_err_set(err, EINVAL, "%s: %u fds, at most %u", vu_req_name(request), nfds, VU_MAX_FDS);
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return cp_err_set(err, errno, "%s: sendmsg: %s", vu_req_name(request), strerror(errno));
	/* A short write on a stream socket: send the rest without fds. */
	for (done = (size_t)r; done < total; done += (size_t)r) {
		const uint8_t *src = done < sizeof(hdr) ? (const uint8_t *)&hdr + done
							: (const uint8_t *)payload + (done - sizeof(hdr));
		size_t len = done < sizeof(hdr) ? sizeof(hdr) - done : total - done;

		r = send(sock, src, len, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0)
			return cp_err_set(err, errno ? errno : EPIPE, "%s: send: %s", vu_req_name(request),
					  strerror(errno));
	}
	return 0;
}

/* Sending and receiving vhost-user messages on a UNIX stream socket (fds as SCM_RIGHTS).
 * OS shell around msg.c: received fds are always closed on error, never leaked. */
#ifndef CARAPACE_DEVICES_VHOST_IO_H
#define CARAPACE_DEVICES_VHOST_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/msg.h"

/* Receive one request into *m (header, payload, fds; fds are O_CLOEXEC). Checks it with
 * vu_msg_check. Returns 1 on a message, 0 on orderly close before a header, -errno otherwise. */
int vu_sock_recv_request(int sock, struct vu_msg *m, struct cp_err *err);

/* How long a reply may take: an absolute CLOCK_MONOTONIC deadline (a signal that interrupts the
 * receive does not restart the clock), and a flag that ends the wait at the next interruption
 * (the VM is ending: its main thread kicks the waiting vCPU with a signal). */
struct vu_wait {
	uint64_t deadline_ns;      /* 0: only the socket's own SO_RCVTIMEO */
	const atomic_bool *cancel; /* NULL: never */
};

/* Now + ms on CLOCK_MONOTONIC, for vu_wait.deadline_ns. */
uint64_t vu_deadline_after_ms(unsigned ms);

/* Receive one reply (REPLY flag set) for `request`: payload must be exactly `size` bytes, or
 * at most `size` when size_is_max. At most max_fds fds (returned in m->fds): the receive buffer
 * has room for no more, so the kernel discards any extra fd a hostile back-end attaches and
 * this thread never holds (or has to close) one it did not ask for. */
int vu_sock_recv_reply(int sock, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
		       struct vu_msg *m, struct cp_err *err);
/* The same with a deadline and a cancel flag: -ETIMEDOUT once the deadline passed, -ECANCELED
 * once *cancel is set, each checked whenever a signal interrupts the wait. */
int vu_sock_recv_reply_wait(int sock, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
			    const struct vu_wait *w, struct vu_msg *m, struct cp_err *err);

/* One back-end request from the back-end channel (front-end side): no fd may come with it (the
 * receive buffer has room for none), checked with vu_msg_check_backend_req, within w's deadline.
 * 1, 0 on orderly close, -errno. */
int vu_sock_recv_backend_req(int sock, struct vu_msg *m, const struct vu_wait *w, struct cp_err *err);

/* Send header + payload (+ fds) in one sendmsg. */
int vu_sock_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		 const int *fds, unsigned nfds, struct cp_err *err);

void vu_msg_close_fds(struct vu_msg *m);

#endif

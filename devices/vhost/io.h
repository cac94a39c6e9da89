/* Sending and receiving vhost-user messages on a UNIX stream socket (fds as SCM_RIGHTS).
 * OS shell around msg.c: received fds are always closed on error, never leaked. */
#ifndef CARAPACE_DEVICES_VHOST_IO_H
#define CARAPACE_DEVICES_VHOST_IO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/msg.h"

/* Receive one request into *m (header, payload, fds; fds are O_CLOEXEC). Checks it with
 * vu_msg_check. Returns 1 on a message, 0 on orderly close before a header, -errno otherwise. */
int vu_sock_recv_request(int sock, struct vu_msg *m, struct cp_err *err);

/* Receive one reply (REPLY flag set) for `request`: payload must be exactly `size` bytes, or
 * at most `size` when size_is_max. At most max_fds fds (returned in m->fds). */
int vu_sock_recv_reply(int sock, uint32_t request, uint32_t size, int size_is_max, unsigned max_fds,
		       struct vu_msg *m, struct cp_err *err);

/* Send header + payload (+ fds) in one sendmsg. */
int vu_sock_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		 const int *fds, unsigned nfds, struct cp_err *err);

void vu_msg_close_fds(struct vu_msg *m);

#endif

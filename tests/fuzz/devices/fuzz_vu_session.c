/* libFuzzer target: a whole hostile front-end session against the back-end state machine.
 * The input is a sequence of messages (12-byte header + payload); each that passes the reader
 * goes to vu_be_handle with real fds of the kind it needs (a 1 MiB memfd for memory and
 * in-flight regions, eventfds for rings). Replies are drained from a socketpair. Any crash,
 * leak of state or out-of-bounds access is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "devices/vhost/backend.h"
#include "devices/vhost/io.h"

static void dummy_chain(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written)
{
	*written = (uint32_t)(c->in_bytes > 16 ? 16 : c->in_bytes);
}

static void dummy_config(void *dev, uint8_t *cfg)
{
	memset(cfg, 0x5a, 16);
}

static const struct vu_dev_ops ops = {
	.name = "fuzz",
	.features = 1ull << VIRTIO_F_INDIRECT_DESC,
	.protocol_features = VU_PF_IMPLEMENTED,
	.num_queues = 2,
	.config_size = 16,
	.get_config = dummy_config,
	.handle_chain = dummy_chain,
};

static int fd_for(uint32_t req)
{
	if (req == VU_REQ_SET_MEM_TABLE || req == VU_REQ_ADD_MEM_REG || req == VU_REQ_SET_INFLIGHT_FD ||
	    req == VU_REQ_REM_MEM_REG) {
		int fd = memfd_create("fuzz", MFD_CLOEXEC);

		if (fd >= 0 && ftruncate(fd, 1 << 20) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_backend be;
	static struct vu_msg m;
	char drain[8192];
	int sv[2];

	cp_log_set_level(CP_LOG_ERR);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	vu_be_init(&be, &ops, NULL, sv[0]);
	for (int steps = 0; size >= sizeof(struct vu_hdr) && steps < 32; steps++) {
		struct cp_err err = { 0 };
		unsigned want = 0;

		memcpy(&m.hdr, data, sizeof(m.hdr));
		data += sizeof(m.hdr);
		size -= sizeof(m.hdr);
		if (vu_msg_check_header(&m.hdr, &err) < 0 || m.hdr.size > size)
			break;
		memset(m.p.raw, 0, sizeof(m.p.raw));
		memcpy(m.p.raw, data, m.hdr.size);
		data += m.hdr.size;
		size -= m.hdr.size;
		/* Supply the fds the reader will demand (it rejects any other count). */
		if (m.hdr.request == VU_REQ_SET_MEM_TABLE)
			want = m.p.mem.nregions <= VU_MEM_TABLE_MAX ? m.p.mem.nregions : 0;
		else if (m.hdr.request == VU_REQ_SET_VRING_KICK || m.hdr.request == VU_REQ_SET_VRING_CALL ||
			 m.hdr.request == VU_REQ_SET_VRING_ERR)
			want = (m.p.u64 & VU_VRING_NOFD) ? 0 : 1;
		else if (m.hdr.request == VU_REQ_ADD_MEM_REG || m.hdr.request == VU_REQ_SET_INFLIGHT_FD ||
			 m.hdr.request == VU_REQ_REM_MEM_REG)
			want = 1;
		m.nfds = 0;
		for (unsigned i = 0; i < want; i++) {
			int fd = fd_for(m.hdr.request);

			if (fd < 0)
				break;
			m.fds[m.nfds++] = fd;
		}
		if (vu_msg_check(&m.hdr, m.p.raw, m.nfds, &err) < 0) {
			vu_msg_close_fds(&m);
			break;
		}
		if (vu_be_handle(&be, &m, &err) < 0)
			break;
		while (recv(sv[1], drain, sizeof(drain), MSG_DONTWAIT) > 0)
			;
		/* Kick every live ring once: walk whatever the (zeroed) guest memory holds. */
		for (unsigned q = 0; q < ops.num_queues; q++) {
			struct vu_chain *c = &be.chain;

			while (vu_be_ring_live(&be, q) && vu_be_pop(&be, q, c) == 1)
				vu_be_push(&be, q, c->head, 0);
		}
	}
	vu_be_free(&be);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* libFuzzer target: carapace-vsock's protocol core. The input is a guest TX header (44 bytes)
 * followed by a host client's first bytes; credit calls are driven by the header's fields. A
 * header the reader accepts must round-trip; the credit invariants must hold whatever the guest
 * claims: we never buffer more than we advertised, never send past the guest's window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vsock/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsock_credit c = { .buf_alloc = 65536 };
	struct cp_err err = { 0 };
	struct vsock_hdr h;
	uint32_t port;
	size_t used;

	if (size >= VSOCK_HDR_SIZE) {
		if (vsock_hdr_read(data, VSOCK_HDR_SIZE, 3, &h, &err) == 0) {
			uint8_t again[VSOCK_HDR_SIZE];
			vsock_hdr_write(&h, again);
			if (memcmp(again, data, VSOCK_HDR_SIZE))
				abort();
		}
		/* Credit from whatever the header says, valid or not. */
		memcpy(&h.len, data + 24, 4);
		memcpy(&h.buf_alloc, data + 36, 4);
		memcpy(&h.fwd_cnt, data + 40, 4);
		(void)vsock_credit_peer(&c, h.buf_alloc, h.fwd_cnt);
		if (vsock_credit_rx(&c, h.len) == 0 && (uint32_t)(c.rx_cnt - c.fwd_cnt) > c.buf_alloc)
			abort();
		vsock_credit_forwarded(&c, h.len / 2);
		{
			uint32_t w = vsock_credit_tx_window(&c);
			vsock_credit_sent(&c, w / 2);
			if ((uint32_t)(c.tx_cnt - c.peer_fwd_cnt) > c.peer_buf_alloc && w)
				abort();
		}
		data += VSOCK_HDR_SIZE;
		size -= VSOCK_HDR_SIZE;
	}
	if (vsock_connect_line_read((const char *)data, size, &port, &used, &err) == 0 && (used > size || used > VSOCK_CONNECT_LINE_MAX))
		abort();
	return 0;
}

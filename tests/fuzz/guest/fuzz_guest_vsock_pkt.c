/* libFuzzer target: the test guest's virtio-vsock packet reader (tests/guest/vsock_pkt.c), which
 * reads what the device wrote into a receive buffer. An accepted packet is a stream packet from
 * the host to the guest's CID with a known operation, a payload only on RW and exactly the bytes
 * after the header; its header written back is the input's header, byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/guest/vsock_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the first byte picks the guest's CID, so both matching and foreign CIDs are reached */
	uint64_t cid = size ? 3u + data[0] % 2 : 3u;
	const uint8_t *buf = size ? data + 1 : data;
	uint32_t n = size ? (uint32_t)(size - 1) : 0;
	uint8_t back[VSOCK_PKT_HDR];
	struct vsock_pkt p;
	enum vsock_pkt_fault f;

	if (size > 1u << 20)
		return 0;
	memset(&p, 0xa5, sizeof(p));
	f = vsock_pkt_parse(buf, n, cid, &p);
	if (!vsock_pkt_fault_name(f) || !strcmp(vsock_pkt_fault_name(f), "?"))
		abort();
	if (f != VSOCK_PKT_OK)
		return 0;
	if (n < VSOCK_PKT_HDR || p.len != n - VSOCK_PKT_HDR || p.type != VSOCK_PKT_TYPE_STREAM ||
	    p.op < VSOCK_PKT_OP_REQUEST || p.op > VSOCK_PKT_OP_CREDIT_REQUEST || p.dst_cid != cid ||
	    p.src_cid != VSOCK_PKT_CID_HOST || (p.len && p.op != VSOCK_PKT_OP_RW))
		abort();
	if (p.len ? p.payload != buf + VSOCK_PKT_HDR : p.payload != NULL)
		abort();
	vsock_pkt_write_header(back, &p);
	if (memcmp(back, buf, VSOCK_PKT_HDR))
		abort();
	return 0;
}

/* virtio-vsock packet headers (virtio 1.2, 5.10.6) as the test guest reads and writes them: the
 * one validating reader of what the device puts in the guest's receive buffers. Pure and
 * freestanding (no libc): the guest links it, and so does its fuzzer (fuzz-guest-vsock-pkt). */
#ifndef CARAPACE_TEST_GUEST_VSOCK_PKT_H
#define CARAPACE_TEST_GUEST_VSOCK_PKT_H

#include <stdbool.h>
#include <stdint.h>

#define VSOCK_PKT_HDR 44u
#define VSOCK_PKT_CID_HOST 2u
#define VSOCK_PKT_TYPE_STREAM 1u

enum vsock_pkt_op {
	VSOCK_PKT_OP_REQUEST = 1,
	VSOCK_PKT_OP_RESPONSE = 2,
	VSOCK_PKT_OP_RST = 3,
	VSOCK_PKT_OP_SHUTDOWN = 4,
	VSOCK_PKT_OP_RW = 5,
	VSOCK_PKT_OP_CREDIT_UPDATE = 6,
	VSOCK_PKT_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_PKT_SHUTDOWN_RCV 1u
#define VSOCK_PKT_SHUTDOWN_SEND 2u

struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;            /* payload bytes (RW only) */
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	const uint8_t *payload;  /* into the parsed buffer; NULL when len is 0 */
};

enum vsock_pkt_fault {
	VSOCK_PKT_OK = 0,
	VSOCK_PKT_SHORT,         /* fewer bytes than a header */
	VSOCK_PKT_LENGTH,        /* header len disagrees with the bytes the device wrote */
	VSOCK_PKT_TYPE,          /* not a stream packet */
	VSOCK_PKT_OP,            /* unknown operation */
	VSOCK_PKT_PAYLOAD,       /* a payload on an operation that carries none */
	VSOCK_PKT_FLAGS,         /* flags where none are defined, or unknown SHUTDOWN bits */
	VSOCK_PKT_SRC,           /* not from the host (CID 2) */
	VSOCK_PKT_DST,           /* not for this guest's CID */
};

/* Reads the n bytes the device reported writing (the used length, at most the buffer's size):
 * a header for my_cid from the host, its payload exactly the rest. Fills *out only on OK. */
enum vsock_pkt_fault vsock_pkt_parse(const uint8_t *buf, uint32_t n, uint64_t my_cid, struct vsock_pkt *out);
/* Writes p's header (VSOCK_PKT_HDR bytes, little-endian) to buf; the payload is the caller's. */
void vsock_pkt_write_header(uint8_t *buf, const struct vsock_pkt *p);
const char *vsock_pkt_fault_name(enum vsock_pkt_fault f);

#endif

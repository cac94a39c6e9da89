/* virtio-vsock (device ID 19) as carapace-vsock speaks it: the packet
 * header reader, Firecracker's hybrid-vsock CONNECT line, and credit-based flow control. Pure:
 * buffers in, verdicts out. Facts: the virtio 1.2 specification, 5.10 "Socket Device"
 * (struct virtio_vsock_hdr, ops, credit: peer_free = peer_buf_alloc - (tx_cnt - peer_fwd_cnt));
 * Firecracker docs/vsock.md (hybrid vsock: "CONNECT <port>\n" answered "OK <port>\n").
 *
 * The device that uses it is devices/vsock/main.c (carapace-vsock). */
#ifndef CARAPACE_DEVICES_VSOCK_PROTO_H
#define CARAPACE_DEVICES_VSOCK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define VSOCK_DEVICE_ID 19
#define VSOCK_HDR_SIZE 44u
#define VSOCK_CID_HOST 2u
#define VSOCK_TYPE_STREAM 1u
/* The largest payload one packet may carry (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE is 64 KiB). */
#define VSOCK_MAX_PAYLOAD (64u * 1024u)
/* Hybrid vsock: the longest "CONNECT <port>\n" line accepted from a host client. */
#define VSOCK_CONNECT_LINE_MAX 32u

enum vsock_op {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* Read and check a packet header the guest put on its TX queue: exactly VSOCK_HDR_SIZE bytes
 * (little-endian), a stream packet from guest_cid to the host, a known op, a payload only on RW
 * and at most VSOCK_MAX_PAYLOAD, flags only on SHUTDOWN. Errors name the field. */
int vsock_hdr_read(const uint8_t *buf, size_t len, uint64_t guest_cid, struct vsock_hdr *out, struct cp_err *err);
/* The header of a packet for the guest's RX queue. */
void vsock_hdr_write(const struct vsock_hdr *h, uint8_t out[VSOCK_HDR_SIZE]);

/* A host client's first bytes on uds_path: "CONNECT <port>\n", the port in decimal (no sign, no
 * leading zero, at most 2^32-1). Returns 0 and *port, -EAGAIN while no newline has arrived within
 * the limit, -EINVAL (with the reason) otherwise. *used gets the line's length: bytes after it
 * are the client's first data. */
int vsock_connect_line_read(const char *buf, size_t len, uint32_t *port, size_t *used, struct cp_err *err);
/* "OK <host_port>\n" into out; returns its length. */
size_t vsock_ok_line(uint32_t host_port, char out[VSOCK_CONNECT_LINE_MAX]);

/* One stream's credit (virtio 1.2, 5.10.6.3). Counters are free-running u32s. */
struct vsock_credit {
	uint32_t buf_alloc;      /* what we advertise: bytes we will buffer for this stream */
	uint32_t rx_cnt;         /* bytes the guest sent us */
	uint32_t fwd_cnt;        /* of those, bytes forwarded to the host socket */
	uint32_t tx_cnt;         /* bytes we sent the guest */
	uint32_t peer_buf_alloc; /* the guest's advertised buffer */
	uint32_t peer_fwd_cnt;   /* bytes the guest says it consumed */
};

/* The guest sends len bytes: refused (-ENOBUFS) when they exceed the free space we advertised,
 * so a guest that ignores its credit cannot make us buffer more than buf_alloc. */
int vsock_credit_rx(struct vsock_credit *c, uint32_t len);
/* len buffered bytes went to the host socket. */
void vsock_credit_forwarded(struct vsock_credit *c, uint32_t len);
/* The guest's buf_alloc and fwd_cnt from any packet header: refused (-EPROTO) when fwd_cnt says
 * it consumed bytes we never sent (a lying guest), leaving the credit as it was. */
int vsock_credit_peer(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt);
/* How many bytes we may send the guest now (0 when its window is closed or it lied). */
uint32_t vsock_credit_tx_window(const struct vsock_credit *c);
void vsock_credit_sent(struct vsock_credit *c, uint32_t len);
/* Free space we advertise (buf_alloc minus what is buffered). */
uint32_t vsock_credit_rx_free(const struct vsock_credit *c);

#endif

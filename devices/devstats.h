/* A device helper's counters, under Firecracker's names (its src/vmm/src/devices/virtio/{block,net,rng,vsock}/metrics.rs:
 * BlockDeviceMetrics, NetDeviceMetrics, EntropyDeviceMetrics, VsockDeviceMetrics), for the
 * management API's metrics lines.
 *
 * The page: the VM process creates it (a memfd of DEVSTATS_SIZE bytes, sealed so that neither
 * side can shrink or grow it), passes it to the helper (`--stats-fd N`), and maps it read-only;
 * the helper maps it read-write and adds to its counters, DEVSTATS_MAX native-endian u64 words at
 * offset 0, indexed by its kind's enum below. Neither side sends a message: a helper that stops
 * does not stall a metrics line.
 *
 * The helper is not trusted: what it writes is only a number in its own device's group. The VM
 * process reads each counter once, keeps the largest value seen (a counter never goes back
 * in a line) and caps sums at 2^63-1 (devstats_observe). */
#ifndef CARAPACE_DEVICES_DEVSTATS_H
#define CARAPACE_DEVICES_DEVSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/devkinds.h"

#define DEVSTATS_MAX 16
#define DEVSTATS_SIZE 4096

/* carapace-blk: Firecracker's `block` group (and `block_<drive_id>`). */
enum devstat_blk {
	DS_BLK_READ_BYTES,        /* read_bytes: bytes read for the guest (IN requests) */
	DS_BLK_WRITE_BYTES,       /* write_bytes: bytes written from the guest (OUT requests) */
	DS_BLK_READ_COUNT,        /* read_count: IN requests that succeeded */
	DS_BLK_WRITE_COUNT,       /* write_count: OUT requests that succeeded */
	DS_BLK_FLUSH_COUNT,       /* flush_count: FLUSH requests that succeeded */
	DS_BLK_INVALID_REQS,      /* invalid_reqs_count: malformed requests and unsupported types */
	DS_BLK_EXECUTE_FAILS,     /* execute_fails: well-formed requests whose I/O failed */
	DS_BLK_QUEUE_EVENT_COUNT, /* queue_event_count: kicks of a request queue handled */
	DS_BLK_UPDATE_COUNT,      /* update_count: backing files swapped in (PATCH /drives) */
	DS_BLK_UPDATE_FAILS,      /* update_fails: swaps refused */
	DS_BLK__N
};

/* carapace-net: Firecracker's `net` group (and `net_<iface_id>`). rx: toward the guest. */
enum devstat_net {
	DS_NET_RX_BYTES,          /* rx_bytes_count: frame bytes delivered to the guest */
	DS_NET_RX_PACKETS,        /* rx_packets_count: frames delivered to the guest */
	DS_NET_RX_COUNT,          /* rx_count: successful reads from the TAP */
	DS_NET_TX_BYTES,          /* tx_bytes_count: frame bytes the guest sent */
	DS_NET_TX_PACKETS,        /* tx_packets_count: frames the guest sent */
	DS_NET_TX_COUNT,          /* tx_count: successful writes to the TAP */
	DS_NET_RX_QUEUE_EVENTS,   /* rx_queue_event_count: kicks of the receive queue */
	DS_NET_TX_QUEUE_EVENTS,   /* tx_queue_event_count: kicks of the transmit queue */
	DS_NET_RX_TAP_EVENTS,     /* rx_tap_event_count: the TAP became readable */
	DS_NET_TAP_READ_FAILS,    /* tap_read_fails */
	DS_NET_TAP_WRITE_FAILS,   /* tap_write_fails */
	DS_NET_TX_MALFORMED,      /* tx_malformed_frames: guest frames refused (too short, too long) */
	DS_NET__N
};

/* carapace-rng: Firecracker's `entropy` group. */
enum devstat_rng {
	DS_RNG_EVENT_COUNT,       /* entropy_event_count: requests (buffers) filled */
	DS_RNG_BYTES,             /* entropy_bytes: bytes given to the guest */
	DS_RNG_HOST_FAILS,        /* host_rng_fails: the host's getrandom failed */
	DS_RNG__N
};

/* carapace-vsock: Firecracker's `vsock` group. rx: toward the guest. */
enum devstat_vsock {
	DS_VSOCK_RX_BYTES,        /* rx_bytes_count: payload bytes delivered to the guest */
	DS_VSOCK_TX_BYTES,        /* tx_bytes_count: payload bytes the guest sent */
	DS_VSOCK_RX_PACKETS,      /* rx_packets_count: packets delivered to the guest */
	DS_VSOCK_TX_PACKETS,      /* tx_packets_count: packets the guest sent */
	DS_VSOCK_CONNS_ADDED,     /* conns_added: connections established */
	DS_VSOCK_CONNS_KILLED,    /* conns_killed: connections reset by the helper */
	DS_VSOCK_CONNS_REMOVED,   /* conns_removed: connections gone (any way) */
	DS_VSOCK_RX_QUEUE_EVENTS, /* rx_queue_event_count: kicks of the receive queue */
	DS_VSOCK_TX_QUEUE_EVENTS, /* tx_queue_event_count: kicks of the transmit queue */
	DS_VSOCK__N
};

/* A kind's counters: Firecracker's group name, whether Firecracker also writes one group per
 * device (`<group>_<id>`), and each counter's name by index. */
struct devstats_kind {
	const char *group;
	bool per_device;
	unsigned n;
	const char *const *names;
};

/* The kind's counters; NULL for a kind that has none (console: Firecracker has no such device). */
const struct devstats_kind *devstats_kind(enum devkind_id k);

/* ---- the helper's side ---- */

/* Map the page passed as --stats-fd (before the jail) and close fd. Without it, counts go to
 * a private page nobody reads. */
int devstats_attach(int fd, struct cp_err *err);
/* Add n to counter i of this helper's kind (lock-free; any thread). An index out of range is
 * ignored. */
void devstats_add(unsigned i, uint64_t n);

/* ---- the VM process's side ---- */

/* A new page: *fd (O_CLOEXEC, for the helper's --stats-fd) and *page, mapped read-only. */
int devstats_create(int *fd, const uint64_t **page, struct cp_err *err);
void devstats_unmap(const uint64_t *page);
/* Read the kind's counters from page into seen[] (the largest value each ever had: a helper's
 * counter that goes back changes nothing). page NULL: seen[] stays. */
void devstats_observe(const uint64_t *page, unsigned n, uint64_t seen[DEVSTATS_MAX]);

#endif

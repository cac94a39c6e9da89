/* vhost-user wire format and virtio constants (facts from QEMU's docs/interop/vhost-user.rst and
 * Linux's uapi virtio headers); no code, only layouts both ends of the socket agree on. */
#ifndef CARAPACE_DEVICES_VHOST_PROTO_H
#define CARAPACE_DEVICES_VHOST_PROTO_H

#include <stdint.h>

/* Front-end requests (front-end -> back-end). */
enum vu_request {
	VU_REQ_NONE = 0,
	VU_REQ_GET_FEATURES = 1,
	VU_REQ_SET_FEATURES = 2,
	VU_REQ_SET_OWNER = 3,
	VU_REQ_RESET_OWNER = 4,
	VU_REQ_SET_MEM_TABLE = 5,
	VU_REQ_SET_LOG_BASE = 6,
	VU_REQ_SET_LOG_FD = 7,
	VU_REQ_SET_VRING_NUM = 8,
	VU_REQ_SET_VRING_ADDR = 9,
	VU_REQ_SET_VRING_BASE = 10,
	VU_REQ_GET_VRING_BASE = 11,
	VU_REQ_SET_VRING_KICK = 12,
	VU_REQ_SET_VRING_CALL = 13,
	VU_REQ_SET_VRING_ERR = 14,
	VU_REQ_GET_PROTOCOL_FEATURES = 15,
	VU_REQ_SET_PROTOCOL_FEATURES = 16,
	VU_REQ_GET_QUEUE_NUM = 17,
	VU_REQ_SET_VRING_ENABLE = 18,
	VU_REQ_SEND_RARP = 19,
	VU_REQ_NET_SET_MTU = 20,
	VU_REQ_SET_BACKEND_REQ_FD = 21,
	VU_REQ_IOTLB_MSG = 22,
	VU_REQ_SET_VRING_ENDIAN = 23,
	VU_REQ_GET_CONFIG = 24,
	VU_REQ_SET_CONFIG = 25,
	VU_REQ_CREATE_CRYPTO_SESSION = 26,
	VU_REQ_CLOSE_CRYPTO_SESSION = 27,
	VU_REQ_POSTCOPY_ADVISE = 28,
	VU_REQ_POSTCOPY_LISTEN = 29,
	VU_REQ_POSTCOPY_END = 30,
	VU_REQ_GET_INFLIGHT_FD = 31,
	VU_REQ_SET_INFLIGHT_FD = 32,
	VU_REQ_GPU_SET_SOCKET = 33,
	VU_REQ_RESET_DEVICE = 34,
	VU_REQ_VRING_KICK = 35,
	VU_REQ_GET_MAX_MEM_SLOTS = 36,
	VU_REQ_ADD_MEM_REG = 37,
	VU_REQ_REM_MEM_REG = 38,
	VU_REQ_SET_STATUS = 39,
	VU_REQ_GET_STATUS = 40,
	VU_REQ_MAX = 41, /* one past the last id the reader knows */
};

/* Back-end requests (back-end -> front-end, on the channel given by SET_BACKEND_REQ_FD). */
enum vu_backend_request {
	VU_BREQ_NONE = 0,
	VU_BREQ_IOTLB_MSG = 1,
	VU_BREQ_CONFIG_CHANGE_MSG = 2,
	VU_BREQ_VRING_HOST_NOTIFIER_MSG = 3,
	VU_BREQ_MAX = 4, /* one past the last id the front-end's reader knows */
};

#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_VERSION 0x1u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u

#define VU_HDR_SIZE 12u
#define VU_MAX_FDS 8u             /* fds one message may carry (SET_MEM_TABLE's limit) */
#define VU_MAX_PAYLOAD 4096u      /* largest payload any request we accept can have */
#define VU_MEM_TABLE_MAX 8u       /* regions in one SET_MEM_TABLE */
#define VU_MEM_SLOTS_MAX 32u      /* regions via ADD_MEM_REG (GET_MAX_MEM_SLOTS answer) */
#define VU_CONFIG_MAX 256u        /* device config space bytes */
#define VU_QUEUE_MAX 16u          /* queues per device */
#define VU_QUEUE_SIZE_MAX 1024u   /* descriptors per queue */

/* Protocol feature bits. */
enum {
	VU_PF_MQ = 0,
	VU_PF_LOG_SHMFD = 1,
	VU_PF_RARP = 2,
	VU_PF_REPLY_ACK = 3,
	VU_PF_MTU = 4,
	VU_PF_BACKEND_REQ = 5,
	VU_PF_CROSS_ENDIAN = 6,
	VU_PF_CONFIG = 9,
	VU_PF_INFLIGHT_SHMFD = 12,
	VU_PF_RESET_DEVICE = 13,
	VU_PF_INBAND_NOTIFICATIONS = 14,
	VU_PF_CONFIGURE_MEM_SLOTS = 15,
	VU_PF_STATUS = 16,
};

/* virtio feature bits shared by all devices. */
#define VU_F_PROTOCOL_FEATURES 30 /* vhost-user: SET/GET_PROTOCOL_FEATURES + SET_VRING_ENABLE */
#define VIRTIO_F_NOTIFY_ON_EMPTY 24
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

/* Device status bits (virtio). */
#define VIRTIO_STATUS_ACK 0x1u
#define VIRTIO_STATUS_DRIVER 0x2u
#define VIRTIO_STATUS_DRIVER_OK 0x4u
#define VIRTIO_STATUS_FEATURES_OK 0x8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED 0x80u

/* KICK/CALL/ERR u64 payload. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD 0x100u

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: log */
	uint64_t desc;  /* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct vu_mem_table_msg {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region regions[VU_MEM_TABLE_MAX];
};

struct vu_mem_reg_msg {
	uint64_t padding;
	struct vu_region region;
};

struct vu_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VU_CONFIG_MAX];
};
#define VU_CONFIG_HDR_SIZE 12u

struct vu_inflight_msg {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding; /* QEMU's struct is 24 bytes with trailing padding */
};

/* Split-ring inflight tracking layout (vhost-user spec, "Inflight I/O tracking"). */
struct vu_inflight_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};
struct vu_inflight_queue {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vu_inflight_desc desc[];
};

/* Split virtqueue (virtio 1.x, little-endian). */
#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct vring_used_elem_le {
	uint32_t id;
	uint32_t len;
};

/* Sizes of the three ring areas for a queue of n entries (no event-idx fields used). */
static inline uint64_t vu_ring_desc_size(uint32_t n) { return 16ull * n; }
static inline uint64_t vu_ring_avail_size(uint32_t n) { return 6ull + 2ull * n; }
static inline uint64_t vu_ring_used_size(uint32_t n) { return 6ull + 8ull * n; }

/* Virtio device IDs are not vhost-user's: they are the kinds' rows (devices/devkinds.c). */

_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr");
_Static_assert(sizeof(struct vu_region) == 32, "memory region");
_Static_assert(sizeof(struct vu_mem_reg_msg) == 40, "single region message");
_Static_assert(sizeof(struct vu_inflight_msg) == 24, "inflight message");
_Static_assert(sizeof(struct vu_inflight_desc) == 16, "inflight descriptor state");
_Static_assert(sizeof(struct vu_inflight_queue) == 16, "inflight queue header");
_Static_assert(sizeof(struct vring_desc_le) == 16, "descriptor");

#endif

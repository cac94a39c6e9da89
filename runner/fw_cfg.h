/* QEMU's firmware configuration interface (fw_cfg, QEMU docs/specs/fw_cfg.rst), the x86 I/O
 * port flavour with the DMA interface: how firmware (OVMF/TDVF) learns the CPU count and memory
 * map and fetches a directly booted kernel, initrd and command line. A pure model: items are
 * read-only blobs, guest memory is reached only through the caller's accessor (which, for a
 * confidential guest, hands out shared RAM only). Everything the guest writes is checked:
 * an access the model does not know is ignored, a DMA request outside the accessor's memory
 * fails with the error bit, and a DMA descriptor the model cannot read is dropped. */
#ifndef CARAPACE_RUNNER_FW_CFG_H
#define CARAPACE_RUNNER_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA 0x514 /* 8 bytes: big-endian address, high half at 0x514, low at 0x518 */
#define FW_CFG_PORTS 12       /* 0x510 .. 0x51b */

/* Selector keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h) */
enum {
	FW_CFG_SIGNATURE = 0x00,
	FW_CFG_ID = 0x01,
	FW_CFG_NB_CPUS = 0x05,
	FW_CFG_KERNEL_SIZE = 0x08,
	FW_CFG_INITRD_SIZE = 0x0b,
	FW_CFG_MAX_CPUS = 0x0f,
	FW_CFG_KERNEL_DATA = 0x11,
	FW_CFG_INITRD_DATA = 0x12,
	FW_CFG_CMDLINE_SIZE = 0x14,
	FW_CFG_CMDLINE_DATA = 0x15,
	FW_CFG_SETUP_SIZE = 0x17,
	FW_CFG_SETUP_DATA = 0x18,
	FW_CFG_FILE_DIR = 0x19,
	FW_CFG_FILE_FIRST = 0x20,
};

/* DMA control bits */
#define FW_CFG_DMA_ERROR 0x01u
#define FW_CFG_DMA_READ 0x02u
#define FW_CFG_DMA_SKIP 0x04u
#define FW_CFG_DMA_SELECT 0x08u
#define FW_CFG_DMA_WRITE 0x10u

#define FW_CFG_MAX_ITEMS 40
#define FW_CFG_NAME_MAX 56

/* Guest memory for DMA: a host pointer to [gpa, gpa+len) if the device may access all of it
 * (for writing when `write`), else NULL. */
typedef uint8_t *(*fw_cfg_mem_fn)(void *ctx, uint64_t gpa, uint64_t len, bool write);

struct fw_cfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;          /* owned copy */
	char name[FW_CFG_NAME_MAX]; /* files only */
};

struct fw_cfg {
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned n;
	uint16_t next_file;
	uint16_t sel;           /* selected key */
	uint32_t off;           /* read offset in the selected item */
	uint32_t dma_hi;        /* high half of the DMA address, written first */
	fw_cfg_mem_fn mem;
	void *mem_ctx;
	unsigned dma_errors;    /* DMA requests answered with the error bit */
};

/* Signature, ID (traditional + DMA), CPU counts and the file directory. */
int fw_cfg_init(struct fw_cfg *c, unsigned ncpus, fw_cfg_mem_fn mem, void *mem_ctx, struct cp_err *err);
void fw_cfg_free(struct fw_cfg *c);
int fw_cfg_add(struct fw_cfg *c, uint16_t key, const void *data, uint32_t len, struct cp_err *err);
/* A named file ("etc/e820"); the directory is rebuilt. */
int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, uint32_t len, struct cp_err *err);
/* Direct boot: a Linux bzImage split as QEMU does (setup sectors, then the protected-mode kernel,
 * both unmodified so the firmware's hashes match the file's), the initrd and the command line
 * (with its NUL). Anything but a bzImage is refused. */
int fw_cfg_add_kernel(struct fw_cfg *c, const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
		      size_t initrd_len, const char *cmdline, struct cp_err *err);
/* "etc/e820": {le64 address, le64 length, le32 type} per entry. */
int fw_cfg_add_e820(struct fw_cfg *c, const uint64_t (*ram)[2], unsigned nram, struct cp_err *err);

/* A guest port access (port in 0x510..0x51b, size 1/2/4). */
void fw_cfg_io(struct fw_cfg *c, uint16_t port, bool write, uint8_t *data, unsigned size);

#endif

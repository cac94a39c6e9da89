/* The RTMR events a TDX guest's firmware (edk2 TDVF / OVMF IntelTdx) and the Linux EFI stub
 * extend when the VMM boots a kernel directly (QEMU -kernel style, fw_cfg), so carapace can
 * predict RTMR1 and RTMR2. Pure. Provenance and what is NOT pinned: docs/memenc.md. */
#ifndef CARAPACE_MEMENC_TDX_BOOT_H
#define CARAPACE_MEMENC_TDX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MEMENC_TDX_BOOT_MAX_EVENTS 8

struct memenc_tdx_boot_event {
	unsigned rtmr;      /* 1 or 2 */
	uint32_t type;      /* TCG event type as it appears in the CCEL log */
	const char *what;   /* label */
	uint8_t digest[48]; /* the SHA-384 extended */
};

struct memenc_tdx_boot {
	size_t n;
	struct memenc_tdx_boot_event ev[MEMENC_TDX_BOOT_MAX_EVENTS];
	uint8_t rtmr1[48], rtmr2[48]; /* replay of the events from zero */
};

/* kernel: the exact bytes the firmware loads (carapace hands over the unmodified file);
 * initrd may be NULL or empty (no initrd); cmdline may be NULL (none). */
int memenc_tdx_direct_boot(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
			   const char *cmdline, struct memenc_tdx_boot *out, struct cp_err *err);

#endif

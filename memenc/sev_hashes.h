/* The SEV hashes table QEMU places in guest memory for measured direct boot (kernel, initrd and
 * command line SHA-256), as a 176-byte table (SEV/SEV-ES) or inside a 4 KiB page (SNP). */
#ifndef CARAPACE_MEMENC_SEV_HASHES_H
#define CARAPACE_MEMENC_SEV_HASHES_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MEMENC_SEV_HASHES_TABLE_LEN 176 /* 168 bytes padded to 16 */

struct memenc_sev_hashes {
	uint8_t cmdline[32]; /* SHA-256 of the command line and its NUL ("\0" when none) */
	uint8_t initrd[32];  /* SHA-256 of the initrd (of nothing when none) */
	uint8_t kernel[32];  /* SHA-256 of the kernel file */
};

/* initrd may be NULL (hashed as empty), append may be NULL (hashed as "\0"). */
int memenc_sev_hashes_compute(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
			      size_t initrd_len, const char *append, struct memenc_sev_hashes *h,
			      struct cp_err *err);
void memenc_sev_hashes_table(const struct memenc_sev_hashes *h, uint8_t out[MEMENC_SEV_HASHES_TABLE_LEN]);
/* The SNP kernel-hashes page: zeros with the table at offset (the hashes GPA & 0xfff). */
int memenc_sev_hashes_page(const struct memenc_sev_hashes *h, size_t offset, uint8_t page[4096],
			   struct cp_err *err);

#endif

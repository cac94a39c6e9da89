/* SEV hashes table (QEMU's layout: header GUID + u16 length, then cmdline, initrd, kernel
 * entries of {GUID, u16 length 50, SHA-256}), padded to 16 bytes. */
#include "memenc/sev_hashes.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "memenc/hash.h"
#include "memenc/ovmf.h"

static const uint8_t guid_table[16] =
	MEMENC_GUID_LE(0x9438d606, 0x4f22, 0x4cc9, 0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21);
static const uint8_t guid_cmdline[16] =
	MEMENC_GUID_LE(0x97d02dd8, 0xbd20, 0x4c94, 0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a);
static const uint8_t guid_initrd[16] =
	MEMENC_GUID_LE(0x44baf731, 0x3a2f, 0x4bd7, 0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d);
static const uint8_t guid_kernel[16] =
	MEMENC_GUID_LE(0x4de79437, 0xabd2, 0x427f, 0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b);

#define ENTRY_LEN 50  /* GUID + u16 + SHA-256 */
#define TABLE_LEN 168 /* GUID + u16 + 3 entries */

int memenc_sev_hashes_compute(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
			      size_t initrd_len, const char *append, struct memenc_sev_hashes *h,
			      struct cp_err *err)
{
	int r;

	r = memenc_sha256(kernel, kernel_len, h->kernel, err);
	if (r == 0)
		r = memenc_sha256(initrd ? initrd : (const uint8_t *)"", initrd ? initrd_len : 0, h->initrd, err);
	/* QEMU hashes the command line with its terminating NUL; no command line is "\0". */
	if (r == 0)
		r = memenc_sha256(append ? append : "", append ? strlen(append) + 1 : 1, h->cmdline, err);
	return r;
}

static uint8_t *put_entry(uint8_t *p, const uint8_t guid[16], const uint8_t hash[32])
{
	memcpy(p, guid, 16);
	cp_put_le16(p + 16, ENTRY_LEN);
	memcpy(p + 18, hash, 32);
	return p + ENTRY_LEN;
}

void memenc_sev_hashes_table(const struct memenc_sev_hashes *h, uint8_t out[MEMENC_SEV_HASHES_TABLE_LEN])
{
	uint8_t *p = out;

	memset(out, 0, MEMENC_SEV_HASHES_TABLE_LEN);
	memcpy(p, guid_table, 16);
	cp_put_le16(p + 16, TABLE_LEN);
	p += 18;
	p = put_entry(p, guid_cmdline, h->cmdline);
	p = put_entry(p, guid_initrd, h->initrd);
	put_entry(p, guid_kernel, h->kernel);
}

int memenc_sev_hashes_page(const struct memenc_sev_hashes *h, size_t offset, uint8_t page[4096],
			   struct cp_err *err)
{
	if (offset > 4096 - MEMENC_SEV_HASHES_TABLE_LEN)
		return cp_err_set(err, EINVAL, "SEV hashes table at page offset 0x%zx would cross the page end",
				  offset);
	memset(page, 0, 4096);
	memenc_sev_hashes_table(h, page + offset);
	return 0;
}

/* Test helper: builds synthetic OVMF-like images (footer GUID table, ASEV and TDVF blocks) so
 * every reader error path can be reached with a one-field change. */
#ifndef CARAPACE_TEST_MEMENC_FWIMG_H
#define CARAPACE_TEST_MEMENC_FWIMG_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "memenc/ovmf.h"

#define FWIMG_LEN 16384u
#define FWIMG_ASEV_OFF 0x100u  /* ASEV header offset */
#define FWIMG_TDVF_OFF 0x400u  /* TDVF signature offset (GUID just before) */

struct fwimg {
	uint8_t *img;
	size_t len;
	size_t table_end; /* where the next entry's end goes (entries grow downwards) */
};

static inline void fwimg_init(struct fwimg *f)
{
	f->len = FWIMG_LEN;
	f->img = calloc(1, f->len);
	f->table_end = f->len - 32 - 18;
	cp_put_le16(f->img + f->table_end, 18);
	memcpy(f->img + f->table_end + 2, MEMENC_GUID_OVMF_FOOTER, 16);
}

/* Append an entry {data, u16 size, GUID} below the previous ones and grow the footer size. */
static inline void fwimg_entry(struct fwimg *f, const uint8_t guid[16], const void *data, size_t len)
{
	size_t footer = f->len - 32 - 18, total = cp_le16(f->img + footer), esz = len + 18;
	size_t end = footer - (total - 18);
	if (len)
		memcpy(f->img + end - esz, data, len);
	cp_put_le16(f->img + end - 18, (uint16_t)esz);
	memcpy(f->img + end - 16, guid, 16);
	cp_put_le16(f->img + footer, (uint16_t)(total + esz));
}

static inline void fwimg_entry_u32(struct fwimg *f, const uint8_t guid[16], uint32_t v)
{
	uint8_t d[4];
	cp_put_le32(d, v);
	fwimg_entry(f, guid, d, 4);
}

/* ASEV with n sections {gpa, size, type}. */
static inline void fwimg_asev(struct fwimg *f, const uint32_t (*secs)[3], uint32_t n)
{
	uint8_t *p = f->img + FWIMG_ASEV_OFF;
	memcpy(p, "ASEV", 4);
	cp_put_le32(p + 4, 16 + 12 * n);
	cp_put_le32(p + 8, 1);
	cp_put_le32(p + 12, n);
	for (uint32_t i = 0; i < n; i++) {
		cp_put_le32(p + 16 + 12 * i, secs[i][0]);
		cp_put_le32(p + 20 + 12 * i, secs[i][1]);
		cp_put_le32(p + 24 + 12 * i, secs[i][2]);
	}
	fwimg_entry_u32(f, MEMENC_GUID_SEV_METADATA, (uint32_t)(f->len - FWIMG_ASEV_OFF));
}

struct fwimg_tdvf_sec {
	uint32_t data_offset, raw_size;
	uint64_t gpa, mem_size;
	uint32_t type, attributes;
};

static inline void fwimg_tdvf(struct fwimg *f, const struct fwimg_tdvf_sec *s, uint32_t n)
{
	uint8_t *p = f->img + FWIMG_TDVF_OFF;
	memcpy(p - 16, MEMENC_GUID_TDVF_DESCRIPTOR, 16);
	memcpy(p, "TDVF", 4);
	cp_put_le32(p + 4, 16 + 32 * n);
	cp_put_le32(p + 8, 1);
	cp_put_le32(p + 12, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *d = p + 16 + 32 * i;
		cp_put_le32(d, s[i].data_offset);
		cp_put_le32(d + 4, s[i].raw_size);
		cp_put_le64(d + 8, s[i].gpa);
		cp_put_le64(d + 16, s[i].mem_size);
		cp_put_le32(d + 24, s[i].type);
		cp_put_le32(d + 28, s[i].attributes);
	}
	fwimg_entry_u32(f, MEMENC_GUID_TDX_METADATA, (uint32_t)(f->len - FWIMG_TDVF_OFF));
}

/* Reset block + a valid ASEV with the Debian-like section kinds, and a valid TDVF. */
static inline void fwimg_default(struct fwimg *f)
{
	static const uint32_t secs[][3] = {
		{ 0x800000, 0x9000, 1 }, { 0x809000, 0x1000, 2 }, { 0x80a000, 0x1000, 3 }, { 0x80b000, 0x1000, 0x10 },
	};
	const struct fwimg_tdvf_sec t[] = {
		{ 0x1000, 0x2000, 0xfffff000ull - 0x2000 + 0x1000, 0x2000, 0, 1 },
		{ 0, 0, 0x800000, 0x2000, 3, 0 },
		{ 0, 0, 0x802000, 0x1000, 2, 0 },
	};
	fwimg_init(f);
	fwimg_entry_u32(f, MEMENC_GUID_SEV_ES_RESET_BLOCK, 0xffffb004u);
	fwimg_entry_u32(f, MEMENC_GUID_SEV_HASH_TABLE_RV, 0x80b400u);
	fwimg_asev(f, secs, 4);
	fwimg_tdvf(f, t, 3);
}

#endif

/* OVMF footer GUID table, ASEV and TDVF readers. Every offset comes from the untrusted image,
 * so each is checked against the image bounds before use and every failure names it. */
#include "memenc/ovmf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

const uint8_t MEMENC_GUID_OVMF_FOOTER[16] =
	MEMENC_GUID_LE(0x96b582de, 0x1fb2, 0x45f7, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d);
const uint8_t MEMENC_GUID_SEV_HASH_TABLE_RV[16] =
	MEMENC_GUID_LE(0x7255371f, 0x3a3b, 0x4b04, 0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54);
const uint8_t MEMENC_GUID_SEV_ES_RESET_BLOCK[16] =
	MEMENC_GUID_LE(0x00f771de, 0x1a7e, 0x4fcb, 0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e);
const uint8_t MEMENC_GUID_SEV_METADATA[16] =
	MEMENC_GUID_LE(0xdc886566, 0x984a, 0x4798, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc);
const uint8_t MEMENC_GUID_TDX_METADATA[16] =
	MEMENC_GUID_LE(0xe47a6535, 0x984a, 0x4798, 0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2);
const uint8_t MEMENC_GUID_TDVF_DESCRIPTOR[16] =
	MEMENC_GUID_LE(0xe9eaf9f3, 0x168e, 0x44d5, 0xa8, 0xeb, 0x7f, 0x4d, 0x87, 0x38, 0xf6, 0xae);

#define FOOTER_DISTANCE 32 /* the table's footer entry ends this many bytes before the image end */
#define ENTRY_TRAILER 18   /* u16 size + GUID */

void memenc_guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", cp_le32(g), cp_le16(g + 4),
		 cp_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

int memenc_ovmf_table_parse(const uint8_t *img, size_t len, struct memenc_ovmf_table *t,
			    struct cp_err *err)
{
	size_t footer, start, end;
	uint16_t total;

	memset(t, 0, sizeof(*t));
	if (len < FOOTER_DISTANCE + ENTRY_TRAILER)
		return cp_err_set(err, EINVAL, "firmware: %zu bytes is too small for an OVMF footer table "
				  "(need at least %d)", len, FOOTER_DISTANCE + ENTRY_TRAILER);
	footer = len - FOOTER_DISTANCE - ENTRY_TRAILER;
	if (memcmp(img + footer + 2, MEMENC_GUID_OVMF_FOOTER, 16) != 0)
		return cp_err_set(err, EINVAL, "firmware: not an OVMF image: no footer table GUID "
				  "96b582de-1fb2-45f7-baea-a366c55a082d at offset 0x%zx", footer + 2);
	total = cp_le16(img + footer);
	if (total < ENTRY_TRAILER || (size_t)total - ENTRY_TRAILER > footer)
		return cp_err_set(err, EINVAL, "firmware: footer table size %u at offset 0x%zx is out of range "
				  "(18..%zu)", total, footer, footer + ENTRY_TRAILER);
	start = footer - ((size_t)total - ENTRY_TRAILER);
	end = footer;
	while (end > start) {
		size_t esz, rem = end - start;
		struct memenc_ovmf_entry *e;

		if (rem < ENTRY_TRAILER)
			return cp_err_set(err, EINVAL, "firmware: footer table has %zu stray bytes at offset 0x%zx "
					  "(less than one 18-byte entry trailer)", rem, start);
		esz = cp_le16(img + end - ENTRY_TRAILER);
		if (esz < ENTRY_TRAILER || esz > rem)
			return cp_err_set(err, EINVAL, "firmware: footer table entry at offset 0x%zx has size %zu, "
					  "outside 18..%zu", end - ENTRY_TRAILER, esz, rem);
		if (memenc_ovmf_table_find(t, img + end - 16))
			return cp_err_set(err, EINVAL, "firmware: footer table entry at offset 0x%zx repeats a GUID",
					  end - 16);
		if (t->n == MEMENC_OVMF_MAX_ENTRIES)
			return cp_err_set(err, E2BIG, "firmware: footer table has more than %d entries",
					  MEMENC_OVMF_MAX_ENTRIES);
		e = &t->e[t->n++];
		memcpy(e->guid, img + end - 16, 16);
		e->offset = end - esz;
		e->len = esz - ENTRY_TRAILER;
		e->data = img + e->offset;
		end -= esz;
	}
	return 0;
}

const struct memenc_ovmf_entry *memenc_ovmf_table_find(const struct memenc_ovmf_table *t,
						       const uint8_t guid[16])
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->e[i].guid, guid, 16) == 0)
			return &t->e[i];
	return NULL;
}

static int entry_u32(const struct memenc_ovmf_table *t, const uint8_t guid[16], const char *what,
		     uint32_t *v, struct cp_err *err)
{
	const struct memenc_ovmf_entry *e = memenc_ovmf_table_find(t, guid);

	if (!e)
		return cp_err_set(err, ENOENT, "firmware: no %s entry in the OVMF footer table", what);
	if (e->len < 4)
		return cp_err_set(err, EINVAL, "firmware: %s entry at offset 0x%zx holds %zu bytes, need 4",
				  what, e->offset, e->len);
	*v = cp_le32(e->data);
	return 0;
}

int memenc_ovmf_sev_es_reset_eip(const struct memenc_ovmf_table *t, uint32_t *eip, struct cp_err *err)
{
	return entry_u32(t, MEMENC_GUID_SEV_ES_RESET_BLOCK, "SEV-ES reset block", eip, err);
}

int memenc_ovmf_sev_hashes_gpa(const struct memenc_ovmf_table *t, uint32_t *gpa, struct cp_err *err)
{
	int r = entry_u32(t, MEMENC_GUID_SEV_HASH_TABLE_RV, "SEV hashes table", gpa, err);
	if (r < 0)
		return r;
	if (*gpa == 0)
		return cp_err_set(err, ENOENT, "firmware: SEV hashes table entry has GPA 0 (not supported)");
	return 0;
}

/* Resolve an "offset from the image end" pointer entry to an absolute offset with room for need bytes. */
static int pointer_entry(const uint8_t *img, size_t len, const struct memenc_ovmf_entry *e, size_t need,
			 const char *what, size_t *off, struct cp_err *err)
{
	uint32_t back;

	(void)img;
	if (e->len < 4)
		return cp_err_set(err, EINVAL, "firmware: %s pointer entry at offset 0x%zx holds %zu bytes, need 4",
				  what, e->offset, e->len);
	back = cp_le32(e->data);
	/* The structure starts `back` bytes before the end and needs `need` bytes from there. */
	if (back > len || back < need)
		return cp_err_set(err, EINVAL, "firmware: %s offset-from-end 0x%x (entry at 0x%zx) points "
				  "outside the %zu-byte image", what, back, e->offset, len);
	*off = len - back;
	return 0;
}

const char *memenc_sev_section_name(uint32_t type)
{
	switch (type) {
	case MEMENC_SEV_SEC_SNP_SEC_MEM: return "SNP_SEC_MEM";
	case MEMENC_SEV_SEC_SNP_SECRETS: return "SNP_SECRETS";
	case MEMENC_SEV_SEC_CPUID: return "CPUID";
	case MEMENC_SEV_SEC_SVSM_CAA: return "SVSM_CAA";
	case MEMENC_SEV_SEC_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
	default: return NULL;
	}
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int memenc_sev_metadata_parse(const uint8_t *img, size_t len, const struct memenc_ovmf_table *t,
			      struct memenc_sev_metadata *m, struct cp_err *err)
{
	const struct memenc_ovmf_entry *e = memenc_ovmf_table_find(t, MEMENC_GUID_SEV_METADATA);
	size_t off;
	uint32_t size, version, count;
	int r;

	memset(m, 0, sizeof(*m));
	if (!e)
		return 0;
	r = pointer_entry(img, len, e, 16, "SEV metadata (ASEV)", &off, err);
	if (r < 0)
		return r;
	if (memcmp(img + off, "ASEV", 4) != 0)
		return cp_err_set(err, EINVAL, "firmware: SEV metadata at offset 0x%zx: signature is not 'ASEV'", off);
	size = cp_le32(img + off + 4);
	version = cp_le32(img + off + 8);
	count = cp_le32(img + off + 12);
	if (version != 1)
		return cp_err_set(err, EINVAL, "firmware: SEV metadata at offset 0x%zx: version %u, only 1 known",
				  off, version);
	if (count > MEMENC_SEV_MAX_SECTIONS)
		return cp_err_set(err, E2BIG, "firmware: SEV metadata at offset 0x%zx: %u sections, at most %d",
				  off, count, MEMENC_SEV_MAX_SECTIONS);
	if (size != 16 + 12 * count)
		return cp_err_set(err, EINVAL, "firmware: SEV metadata at offset 0x%zx: size field %u does not "
				  "match %u sections (expected %u)", off, size, count, 16 + 12 * count);
	if (size > len - off)
		return cp_err_set(err, EINVAL, "firmware: SEV metadata at offset 0x%zx: %u bytes run past the "
				  "image end (truncated table)", off, size);
	m->present = true;
	m->offset = off;
	for (uint32_t i = 0; i < count; i++) {
		struct memenc_sev_section *s = &m->s[i];
		size_t d = off + 16 + 12 * (size_t)i;

		s->gpa = cp_le32(img + d);
		s->size = cp_le32(img + d + 4);
		s->type = cp_le32(img + d + 8);
		s->offset = d;
		if (!memenc_sev_section_name(s->type))
			return cp_err_set(err, EINVAL, "firmware: SEV metadata section %u (offset 0x%zx): unknown type "
					  "0x%x", i, d + 8, s->type);
		if (s->size == 0 || s->size % 4096 || s->gpa % 4096)
			return cp_err_set(err, EINVAL, "firmware: SEV metadata section %u (%s, offset 0x%zx): GPA 0x%x "
					  "size 0x%x not a non-empty whole number of 4 KiB pages", i,
					  memenc_sev_section_name(s->type), d, s->gpa, s->size);
		if ((uint64_t)s->gpa + s->size > 0x100000000ull)
			return cp_err_set(err, EINVAL, "firmware: SEV metadata section %u (offset 0x%zx): GPA 0x%x + "
					  "size 0x%x crosses 4 GiB", i, d, s->gpa, s->size);
		if ((s->type == MEMENC_SEV_SEC_SNP_SECRETS || s->type == MEMENC_SEV_SEC_CPUID ||
		     s->type == MEMENC_SEV_SEC_SNP_KERNEL_HASHES) && s->size != 4096)
			return cp_err_set(err, EINVAL, "firmware: SEV metadata section %u (%s, offset 0x%zx): size "
					  "0x%x, this section is exactly one 4 KiB page", i,
					  memenc_sev_section_name(s->type), d, s->size);
		for (uint32_t j = 0; j < i; j++)
			if (ranges_overlap(s->gpa, s->size, m->s[j].gpa, m->s[j].size))
				return cp_err_set(err, EINVAL, "firmware: SEV metadata section %u (offset 0x%zx) "
						  "overlaps section %u", i, d, j);
		m->n++;
	}
	return 0;
}

const char *memenc_tdvf_section_name(uint32_t type)
{
	static const char *const names[] = { "BFV", "CFV", "TD_HOB", "TEMP_MEM", "PERM_MEM",
					     "PAYLOAD", "PAYLOAD_PARAM", "TD_INFO", "TD_PARAMS" };
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

static int tdvf_section_check(const struct memenc_tdvf_section *s, uint32_t i, size_t len,
			      struct cp_err *err)
{
	const char *name = memenc_tdvf_section_name(s->type);

	if (!name)
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (offset 0x%zx): unknown type %u",
				  i, s->offset + 24, s->type);
	if (s->attributes & ~(MEMENC_TDVF_ATTR_MR_EXTEND | MEMENC_TDVF_ATTR_PAGE_AUG))
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): unknown attribute "
				  "bits 0x%x", i, name, s->offset + 28, s->attributes);
	if ((s->attributes & MEMENC_TDVF_ATTR_MR_EXTEND) && (s->attributes & MEMENC_TDVF_ATTR_PAGE_AUG))
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): MR_EXTEND and "
				  "PAGE_AUG together (an augmented page is never measured)", i, name, s->offset + 28);
	if (s->gpa % 4096 || s->mem_size % 4096 || s->mem_size == 0)
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): MemoryAddress "
				  "0x%llx MemoryDataSize 0x%llx not a non-empty whole number of 4 KiB pages", i, name,
				  s->offset + 8, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (s->gpa + s->mem_size < s->gpa || s->gpa + s->mem_size > (1ull << 52))
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): GPA range "
				  "0x%llx+0x%llx beyond the 52-bit address space", i, name, s->offset + 8,
				  (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (s->raw_size > s->mem_size)
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): RawDataSize 0x%x "
				  "exceeds MemoryDataSize 0x%llx", i, name, s->offset + 4, s->raw_size,
				  (unsigned long long)s->mem_size);
	if ((uint64_t)s->data_offset + s->raw_size > len)
		return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): DataOffset 0x%x + "
				  "RawDataSize 0x%x runs past the %zu-byte image", i, name, s->offset,
				  s->data_offset, s->raw_size, len);
	switch (s->type) {
	case MEMENC_TDVF_BFV:
	case MEMENC_TDVF_CFV:
		/* Copied from the image; a short raw part would leave the VMM to choose the rest. */
		if (s->raw_size != s->mem_size)
			return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): RawDataSize "
					  "0x%x differs from MemoryDataSize 0x%llx", i, name, s->offset + 4,
					  s->raw_size, (unsigned long long)s->mem_size);
		if (s->attributes & MEMENC_TDVF_ATTR_PAGE_AUG)
			return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s): PAGE_AUG on a firmware "
					  "volume", i, name);
		break;
	case MEMENC_TDVF_TD_HOB:
	case MEMENC_TDVF_TEMP_MEM:
		if (s->raw_size != 0)
			return cp_err_set(err, EINVAL, "firmware: TDVF section %u (%s, offset 0x%zx): RawDataSize "
					  "0x%x, must be 0", i, name, s->offset + 4, s->raw_size);
		break;
	case MEMENC_TDVF_PERM_MEM:
		if (s->raw_size != 0 || !(s->attributes & MEMENC_TDVF_ATTR_PAGE_AUG))
			return cp_err_set(err, EINVAL, "firmware: TDVF section %u (PERM_MEM, offset 0x%zx): must "
					  "have RawDataSize 0 and PAGE_AUG", i, s->offset);
		break;
	default:
		/* td-shim payload sections: carapace does not launch td-shim. */
		return cp_err_set(err, ENOTSUP, "firmware: TDVF section %u (offset 0x%zx): type %s is not "
				  "supported", i, s->offset + 24, name);
	}
	return 0;
}

int memenc_tdvf_metadata_parse(const uint8_t *img, size_t len, const struct memenc_ovmf_table *t,
			       struct memenc_tdvf_metadata *m, struct cp_err *err)
{
	const struct memenc_ovmf_entry *e = memenc_ovmf_table_find(t, MEMENC_GUID_TDX_METADATA);
	size_t off;
	uint32_t length, count;
	unsigned hobs = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (!e)
		return 0;
	r = pointer_entry(img, len, e, 16, "TDX metadata (TDVF)", &off, err);
	if (r < 0)
		return r;
	if (off < 16 || memcmp(img + off - 16, MEMENC_GUID_TDVF_DESCRIPTOR, 16) != 0)
		return cp_err_set(err, EINVAL, "firmware: TDVF descriptor at offset 0x%zx is not preceded by GUID "
				  "e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae", off);
	if (memcmp(img + off, "TDVF", 4) != 0)
		return cp_err_set(err, EINVAL, "firmware: TDX metadata at offset 0x%zx: signature is not 'TDVF'", off);
	length = cp_le32(img + off + 4);
	m->version = cp_le32(img + off + 8);
	count = cp_le32(img + off + 12);
	if (m->version != 1)
		return cp_err_set(err, EINVAL, "firmware: TDVF descriptor at offset 0x%zx: version %u, only 1 known",
				  off, m->version);
	if (count == 0 || count > MEMENC_TDVF_MAX_SECTIONS)
		return cp_err_set(err, EINVAL, "firmware: TDVF descriptor at offset 0x%zx: %u sections, expected "
				  "1..%d", off, count, MEMENC_TDVF_MAX_SECTIONS);
	if (length != 16 + 32 * count)
		return cp_err_set(err, EINVAL, "firmware: TDVF descriptor at offset 0x%zx: length %u does not match "
				  "%u sections (expected %u)", off, length, count, 16 + 32 * count);
	if (length > len - off)
		return cp_err_set(err, EINVAL, "firmware: TDVF descriptor at offset 0x%zx: %u bytes run past the "
				  "image end (truncated table)", off, length);
	m->present = true;
	m->offset = off;
	for (uint32_t i = 0; i < count; i++) {
		struct memenc_tdvf_section *s = &m->s[i];
		size_t d = off + 16 + 32 * (size_t)i;

		s->data_offset = cp_le32(img + d);
		s->raw_size = cp_le32(img + d + 4);
		s->gpa = cp_le64(img + d + 8);
		s->mem_size = cp_le64(img + d + 16);
		s->type = cp_le32(img + d + 24);
		s->attributes = cp_le32(img + d + 28);
		s->offset = d;
		r = tdvf_section_check(s, i, len, err);
		if (r < 0)
			return r;
		if (s->type == MEMENC_TDVF_TD_HOB && ++hobs > 1)
			return cp_err_set(err, EINVAL, "firmware: TDVF section %u (offset 0x%zx): a second TD_HOB", i, d);
		for (uint32_t j = 0; j < i; j++)
			if (ranges_overlap(s->gpa, s->mem_size, m->s[j].gpa, m->s[j].mem_size))
				return cp_err_set(err, EINVAL, "firmware: TDVF section %u (offset 0x%zx) overlaps "
						  "section %u", i, d, j);
		m->n++;
	}
	return 0;
}

/* Validating readers for OVMF firmware metadata: the footer GUID table, the SEV metadata
 * (`ASEV`) section list and the TDX metadata (`TDVF`) section list. Pure: buffers in, results out. */
#ifndef CARAPACE_MEMENC_OVMF_H
#define CARAPACE_MEMENC_OVMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A GUID in its on-disk (mixed-endian, "bytes_le") form. */
#define MEMENC_GUID_LE(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                                 \
	{ (uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16), (uint8_t)((uint32_t)(a) >> 24), \
	  (uint8_t)(b), (uint8_t)((b) >> 8), (uint8_t)(c), (uint8_t)((c) >> 8),                   \
	  d0, d1, d2, d3, d4, d5, d6, d7 }

extern const uint8_t MEMENC_GUID_OVMF_FOOTER[16];     /* 96b582de-1fb2-45f7-baea-a366c55a082d */
extern const uint8_t MEMENC_GUID_SEV_HASH_TABLE_RV[16]; /* 7255371f-3a3b-4b04-927b-1da6efa8d454 */
extern const uint8_t MEMENC_GUID_SEV_ES_RESET_BLOCK[16]; /* 00f771de-1a7e-4fcb-890e-68c77e2fb44e */
extern const uint8_t MEMENC_GUID_SEV_METADATA[16];    /* dc886566-984a-4798-a75e-5585a7bf67cc */
extern const uint8_t MEMENC_GUID_TDX_METADATA[16];    /* e47a6535-984a-4798-865e-4685a7bf8ec2 */
extern const uint8_t MEMENC_GUID_TDVF_DESCRIPTOR[16]; /* e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae */

/* Format a GUID (on-disk form) as the usual 36-character string; out needs 37 bytes. */
void memenc_guid_format(const uint8_t guid[16], char out[37]);

#define MEMENC_OVMF_MAX_ENTRIES 32

struct memenc_ovmf_entry {
	uint8_t guid[16];
	size_t offset; /* offset of the entry's data in the image */
	size_t len;    /* length of the data (entry size minus the 18-byte trailer) */
	const uint8_t *data;
};

/* The footer GUID table: 32 bytes before the image end sits {u16 size, footer GUID}; the
 * entries precede it, each laid out as data..., u16 size (data + 18), GUID, walked backwards. */
struct memenc_ovmf_table {
	size_t n;
	struct memenc_ovmf_entry e[MEMENC_OVMF_MAX_ENTRIES];
};

int memenc_ovmf_table_parse(const uint8_t *img, size_t len, struct memenc_ovmf_table *t,
			    struct cp_err *err);
const struct memenc_ovmf_entry *memenc_ovmf_table_find(const struct memenc_ovmf_table *t,
						       const uint8_t guid[16]);

/* SEV-ES reset block: the AP reset EIP (u32). -ENOENT when the firmware has none. */
int memenc_ovmf_sev_es_reset_eip(const struct memenc_ovmf_table *t, uint32_t *eip, struct cp_err *err);
/* SEV hashes table GPA (u32) from its footer entry; -ENOENT when absent or zero. */
int memenc_ovmf_sev_hashes_gpa(const struct memenc_ovmf_table *t, uint32_t *gpa, struct cp_err *err);

/* ---- ASEV: OVMF SEV metadata ---- */
enum memenc_sev_section_type {
	MEMENC_SEV_SEC_SNP_SEC_MEM = 1,
	MEMENC_SEV_SEC_SNP_SECRETS = 2,
	MEMENC_SEV_SEC_CPUID = 3,
	MEMENC_SEV_SEC_SVSM_CAA = 4,
	MEMENC_SEV_SEC_SNP_KERNEL_HASHES = 0x10,
};
const char *memenc_sev_section_name(uint32_t type);

#define MEMENC_SEV_MAX_SECTIONS 64
struct memenc_sev_section {
	uint32_t gpa, size, type;
	size_t offset; /* where the descriptor sits in the image */
};
struct memenc_sev_metadata {
	bool present;
	size_t offset; /* of the `ASEV` header */
	size_t n;
	struct memenc_sev_section s[MEMENC_SEV_MAX_SECTIONS];
};
/* Parses the ASEV block the footer table points at. No pointer entry: present = false, 0. */
int memenc_sev_metadata_parse(const uint8_t *img, size_t len, const struct memenc_ovmf_table *t,
			      struct memenc_sev_metadata *m, struct cp_err *err);

/* ---- TDVF: TDX metadata ---- */
enum memenc_tdvf_section_type {
	MEMENC_TDVF_BFV = 0,
	MEMENC_TDVF_CFV = 1,
	MEMENC_TDVF_TD_HOB = 2,
	MEMENC_TDVF_TEMP_MEM = 3,
	MEMENC_TDVF_PERM_MEM = 4,
	MEMENC_TDVF_PAYLOAD = 5,
	MEMENC_TDVF_PAYLOAD_PARAM = 6,
	MEMENC_TDVF_TD_INFO = 7,
	MEMENC_TDVF_TD_PARAMS = 8,
};
#define MEMENC_TDVF_ATTR_MR_EXTEND (1u << 0)
#define MEMENC_TDVF_ATTR_PAGE_AUG (1u << 1)
const char *memenc_tdvf_section_name(uint32_t type);

#define MEMENC_TDVF_MAX_SECTIONS 64
struct memenc_tdvf_section {
	uint32_t data_offset, raw_size;
	uint64_t gpa, mem_size;
	uint32_t type, attributes;
	size_t offset; /* where the descriptor sits in the image */
};
struct memenc_tdvf_metadata {
	bool present;
	size_t offset; /* of the `TDVF` signature */
	uint32_t version;
	size_t n;
	struct memenc_tdvf_section s[MEMENC_TDVF_MAX_SECTIONS];
};
int memenc_tdvf_metadata_parse(const uint8_t *img, size_t len, const struct memenc_ovmf_table *t,
			       struct memenc_tdvf_metadata *m, struct cp_err *err);

#endif

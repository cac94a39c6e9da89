/* The back-end's view of guest memory: regions sent by the front-end, their checks (bounds,
 * overflow, overlap) and translation of guest-physical / front-end-virtual ranges to host
 * pointers. Translation succeeds only when the whole range lies inside ONE region. */
#ifndef CARAPACE_DEVICES_VHOST_MEM_H
#define CARAPACE_DEVICES_VHOST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "devices/vhost/proto.h"

#define VU_REGION_SIZE_MAX (1ull << 40) /* 1 TiB per region: more is a front-end bug or an attack */

struct vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
	uint8_t *host;    /* host address of byte `gpa` (inside map_base) */
	void *map_base;   /* what mmap returned (NULL for tables built by tests) */
	size_t map_len;
};

struct vu_mem {
	unsigned n;
	struct vu_mem_region r[VU_MEM_SLOTS_MAX];
};

/* One region on its own: non-zero size <= VU_REGION_SIZE_MAX, no wrap of gpa, uva or
 * mmap_offset + size. `what` names it in the error ("region 3"). */
int vu_mem_region_check(const struct vu_region *r, const char *what, struct cp_err *err);

/* A region against those already in `mem` (and a free slot): no gpa or uva overlap. */
int vu_mem_region_check_against(const struct vu_mem *mem, const struct vu_region *r,
				const char *what, struct cp_err *err);

/* A whole SET_MEM_TABLE: each region and no two overlapping. */
int vu_mem_table_check(const struct vu_region *r, unsigned n, struct cp_err *err);

/* Host pointer for [gpa, gpa+len) or [uva, uva+len); NULL if len is 0, the range wraps, or it
 * is not entirely inside one region. Trusts nothing about gpa/uva/len. */
void *vu_mem_gpa(const struct vu_mem *mem, uint64_t gpa, uint64_t len);
void *vu_mem_uva(const struct vu_mem *mem, uint64_t uva, uint64_t len);

/* OS shell (mem_os.c): map a checked region from its fd (MAP_SHARED, read/write, never exec)
 * and append it; unmap one / all. The fd is not consumed. */
int vu_mem_map_add(struct vu_mem *mem, const struct vu_region *r, int fd, struct cp_err *err);
int vu_mem_remove(struct vu_mem *mem, const struct vu_region *r, struct cp_err *err);
void vu_mem_unmap_all(struct vu_mem *mem);

#endif

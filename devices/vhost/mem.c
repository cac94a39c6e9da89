/* Pure memory-table checks and address translation (no mmap here: see mem_os.c). */
#include "devices/vhost/mem.h"

#include <errno.h>
#include <stdio.h>

static int vu_range_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vu_mem_region_check(const struct vu_region *r, const char *what, struct cp_err *err)
{
	if (r->size == 0)
		return cp_err_set(err, EINVAL, "%s: size is 0", what);
	if (r->size > VU_REGION_SIZE_MAX)
		return cp_err_set(err, EINVAL, "%s: size 0x%llx exceeds the 0x%llx limit", what,
				  (unsigned long long)r->size, VU_REGION_SIZE_MAX);
	if (r->gpa + r->size < r->gpa)
		return cp_err_set(err, EINVAL, "%s: gpa 0x%llx + size 0x%llx wraps", what,
				  (unsigned long long)r->gpa, (unsigned long long)r->size);
	if (r->uva + r->size < r->uva)
		return cp_err_set(err, EINVAL, "%s: user_addr 0x%llx + size 0x%llx wraps", what,
				  (unsigned long long)r->uva, (unsigned long long)r->size);
	if (r->mmap_offset + r->size < r->mmap_offset || r->mmap_offset + r->size > (uint64_t)INT64_MAX)
		return cp_err_set(err, EINVAL, "%s: mmap_offset 0x%llx + size 0x%llx overflows a file offset",
				  what, (unsigned long long)r->mmap_offset, (unsigned long long)r->size);
	return 0;
}

int vu_mem_region_check_against(const struct vu_mem *mem, const struct vu_region *r,
				const char *what, struct cp_err *err)
{
	int ret = vu_mem_region_check(r, what, err);

	if (ret < 0)
		return ret;
	if (mem->n >= VU_MEM_SLOTS_MAX)
		return cp_err_set(err, ENOSPC, "%s: all %u memory slots are in use", what, VU_MEM_SLOTS_MAX);
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vu_mem_region *o = &mem->r[i];

		if (vu_range_overlap(r->gpa, r->size, o->gpa, o->size))
			return cp_err_set(err, EINVAL, "%s: gpa [0x%llx, +0x%llx) overlaps region %u [0x%llx, +0x%llx)",
					  what, (unsigned long long)r->gpa, (unsigned long long)r->size, i,
					  (unsigned long long)o->gpa, (unsigned long long)o->size);
		if (vu_range_overlap(r->uva, r->size, o->uva, o->size))
			return cp_err_set(err, EINVAL, "%s: user_addr [0x%llx, +0x%llx) overlaps region %u",
					  what, (unsigned long long)r->uva, (unsigned long long)r->size, i);
	}
	return 0;
}

int vu_mem_table_check(const struct vu_region *r, unsigned n, struct cp_err *err)
{
	struct vu_mem tmp = { .n = 0 };
	char what[32];
	int ret;

	if (n == 0 || n > VU_MEM_TABLE_MAX)
		return cp_err_set(err, EINVAL, "memory table: %u regions, expected 1 to %u", n, VU_MEM_TABLE_MAX);
	for (unsigned i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "memory table region %u", i);
		ret = vu_mem_region_check_against(&tmp, &r[i], what, err);
		if (ret < 0)
			return ret;
		tmp.r[tmp.n].gpa = r[i].gpa;
		tmp.r[tmp.n].uva = r[i].uva;
		tmp.r[tmp.n].size = r[i].size;
		tmp.n++;
	}
	return 0;
}

void *vu_mem_gpa(const struct vu_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vu_mem_region *r = &mem->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

void *vu_mem_uva(const struct vu_mem *mem, uint64_t uva, uint64_t len)
{
	if (len == 0 || uva + len < uva)
		return NULL;
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vu_mem_region *r = &mem->r[i];

		if (uva >= r->uva && uva - r->uva < r->size && len <= r->size - (uva - r->uva))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

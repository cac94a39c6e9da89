/* Mapping front-end memory regions into the back-end: MAP_SHARED, read/write, never PROT_EXEC.
 * Trusts only the checks in mem.c; the fd's real size bounds the mapping (mmap fails beyond). */
#include "devices/vhost/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vu_mem_map_add(struct vu_mem *mem, const struct vu_region *r, int fd, struct cp_err *err)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t off_aligned, delta;
	struct stat st;
	void *base;
	int ret;

	ret = vu_mem_region_check_against(mem, r, "memory region", err);
	if (ret < 0)
		return ret;
	/* A region beyond the end of its file would SIGBUS on first touch: refuse it now. */
	if (fstat(fd, &st) < 0)
		return cp_err_set(err, errno, "memory region: fstat of its fd: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->mmap_offset + r->size)
		return cp_err_set(err, EINVAL,
				  "memory region: mmap_offset 0x%llx + size 0x%llx is beyond the fd's size 0x%llx",
				  (unsigned long long)r->mmap_offset, (unsigned long long)r->size,
				  (unsigned long long)st.st_size);
	off_aligned = r->mmap_offset & ~(uint64_t)(page - 1);
	delta = r->mmap_offset - off_aligned;
	base = mmap(NULL, r->size + delta, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		    (off_t)off_aligned);
	if (base == MAP_FAILED)
		return cp_err_set(err, errno, "memory region gpa 0x%llx size 0x%llx: mmap: %s",
				  (unsigned long long)r->gpa, (unsigned long long)r->size, strerror(errno));
	mem->r[mem->n] = (struct vu_mem_region){
		.gpa = r->gpa, .size = r->size, .uva = r->uva, .mmap_offset = r->mmap_offset,
		.host = (uint8_t *)base + delta, .map_base = base, .map_len = r->size + delta,
	};
	mem->n++;
	return 0;
}

int vu_mem_remove(struct vu_mem *mem, const struct vu_region *r, struct cp_err *err)
{
	for (unsigned i = 0; i < mem->n; i++) {
		struct vu_mem_region *m = &mem->r[i];

		if (m->gpa == r->gpa && m->size == r->size && m->uva == r->uva) {
			if (m->map_base)
				munmap(m->map_base, m->map_len);
			mem->r[i] = mem->r[mem->n - 1];
			mem->n--;
			return 0;
		}
	}
	return cp_err_set(err, ENOENT, "REM_MEM_REG: no region gpa 0x%llx size 0x%llx uva 0x%llx",
			  (unsigned long long)r->gpa, (unsigned long long)r->size, (unsigned long long)r->uva);
}

void vu_mem_unmap_all(struct vu_mem *mem)
{
	for (unsigned i = 0; i < mem->n; i++)
		if (mem->r[i].map_base)
			munmap(mem->r[i].map_base, mem->r[i].map_len);
	mem->n = 0;
}

/* Memory hygiene helpers: the OS-facing shell of memenc (madvise, mlock, mmap). */
#include "memenc/hygiene.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18 /* Linux 4.14 */
#endif

static size_t page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	return ps > 0 ? (size_t)ps : 4096;
}

static size_t round_up(size_t len, size_t ps)
{
	return (len + ps - 1) & ~(ps - 1);
}

int memenc_ram_protect(void *addr, size_t len, unsigned flags)
{
	size_t ps = page_size(), rlen;

	if (!addr || len == 0 || ((uintptr_t)addr & (ps - 1)) || (flags & ~MEMENC_RAM_FLAGS_ALL))
		return -EINVAL;
	if (len > SIZE_MAX - ps)
		return -EOVERFLOW;
	rlen = round_up(len, ps);
	/* A core dump of a VMM would otherwise carry guest RAM and keys. */
	if (madvise(addr, rlen, MADV_DONTDUMP) < 0)
		return -errno;
	if ((flags & MEMENC_RAM_WIPEONFORK) && madvise(addr, rlen, MADV_WIPEONFORK) < 0)
		return -errno; /* EINVAL: not a private anonymous mapping */
	if ((flags & MEMENC_RAM_MLOCK) && mlock(addr, rlen) < 0)
		return -errno;
	return 0;
}

void memenc_ram_scrub(void *addr, size_t len)
{
	if (!addr || len == 0)
		return;
	memset(addr, 0, len);
	/* The asm claims to read the memory, so the stores above must happen. */
	__asm__ __volatile__("" : : "r"(addr) : "memory");
}

void *memenc_secret_alloc(size_t len)
{
	size_t ps = page_size(), rlen;
	uint8_t *base;
	int r;

	if (len == 0 || len > SIZE_MAX / 2) {
		errno = EINVAL;
		return NULL;
	}
	rlen = round_up(len, ps);
	base = mmap(NULL, rlen + 2 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base + ps, rlen, PROT_READ | PROT_WRITE) < 0) {
		int e = errno;
		munmap(base, rlen + 2 * ps);
		errno = e;
		return NULL;
	}
	r = memenc_ram_protect(base + ps, rlen, MEMENC_RAM_MLOCK | MEMENC_RAM_WIPEONFORK);
	if (r < 0) {
		munmap(base, rlen + 2 * ps);
		errno = -r;
		return NULL;
	}
	return base + ps;
}

void memenc_secret_free(void *p, size_t len)
{
	size_t ps = page_size(), rlen;

	if (!p)
		return;
	rlen = round_up(len, ps);
	memenc_ram_scrub(p, rlen);
	munlock(p, rlen);
	munmap((uint8_t *)p - ps, rlen + 2 * ps);
}

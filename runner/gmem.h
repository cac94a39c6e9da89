/* A bounds-checked view of guest RAM for pure code (loaders, device models): GPA -> host
 * pointer only when the whole range is RAM. RAM above 3 GiB sits above 4 GiB (runner/layout.h). */
#ifndef CARAPACE_RUNNER_GMEM_H
#define CARAPACE_RUNNER_GMEM_H

#include <stddef.h>
#include <stdint.h>

#include "runner/layout.h"

struct gmem {
	uint8_t *base;     /* host mapping of all guest RAM, contiguous */
	uint64_t size;     /* bytes of guest RAM */
};

static inline uint64_t gmem_low_end(const struct gmem *g)
{
	return g->size < GP_MMIO_HOLE ? g->size : GP_MMIO_HOLE;
}

/* Host pointer for [gpa, gpa+len), or NULL if any byte of it is not guest RAM. */
static inline void *gmem_ptr(const struct gmem *g, uint64_t gpa, uint64_t len)
{
	uint64_t low = gmem_low_end(g);

	if (gpa < low) {
		if (len > low - gpa)
			return NULL;
		return g->base + gpa;
	}
	if (gpa >= GP_4G && g->size > GP_MMIO_HOLE) {
		uint64_t off = gpa - GP_4G, high = g->size - GP_MMIO_HOLE;
		if (off >= high || len > high - off)
			return NULL;
		return g->base + GP_MMIO_HOLE + off;
	}
	return NULL;
}

#endif

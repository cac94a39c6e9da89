/* Memory hygiene for guest RAM and key material: keep it out of core dumps and forked
 * children, optionally locked in RAM, and zeroed in a way the compiler cannot drop. This is
 * the one memenc file that makes system calls (madvise, mlock, mmap). */
#ifndef CARAPACE_MEMENC_HYGIENE_H
#define CARAPACE_MEMENC_HYGIENE_H

#include <stddef.h>

#define MEMENC_RAM_MLOCK (1u << 0)       /* lock the range in RAM (fails under RLIMIT_MEMLOCK) */
#define MEMENC_RAM_WIPEONFORK (1u << 1)  /* private anonymous mappings only: children see zeros */
#define MEMENC_RAM_FLAGS_ALL (MEMENC_RAM_MLOCK | MEMENC_RAM_WIPEONFORK)

/* MADV_DONTDUMP always, plus the flags asked for. addr must be page aligned; len is rounded up
 * to whole pages. Returns 0 or -errno; advice applied before a failure stays applied. */
int memenc_ram_protect(void *addr, size_t len, unsigned flags);

/* Zero len bytes with a barrier the compiler cannot elide (the stores are observed). */
void memenc_ram_scrub(void *addr, size_t len);

/* A page-granular buffer for secrets: private anonymous mapping, mlock'd, MADV_DONTDUMP,
 * MADV_WIPEONFORK, guard pages on both sides. NULL with errno set on failure (an mlock
 * failure is a failure: a secret that can be swapped is not accepted). */
void *memenc_secret_alloc(size_t len);
/* Scrub, unlock and unmap. NULL is fine. len must be the length given to alloc. */
void memenc_secret_free(void *p, size_t len);

#endif

/* Scope-bound cleanup helpers (systemd style): _cleanup_ attributes, TAKE_PTR / TAKE_FD. */
#ifndef CARAPACE_COMMON_CLEANUP_H
#define CARAPACE_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void cp_freep(void *p) { free(*(void **)p); }
static inline void cp_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void cp_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ _cleanup_(cp_freep)
#define _cleanup_close_ _cleanup_(cp_closep)
#define _cleanup_fclose_ _cleanup_(cp_fclosep)

/* Hand ownership out of a scope: the cleanup then sees NULL / -1. */
#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -1; _tf; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif

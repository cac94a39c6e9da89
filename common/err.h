/* Errors that carry a precise message: pure cores fill one in instead of logging. */
#ifndef CARAPACE_COMMON_ERR_H
#define CARAPACE_COMMON_ERR_H

#include <stddef.h>

#define CP_ERR_MSG_MAX 512

struct cp_err {
	int code;                 /* positive errno value, 0 when no error */
	char msg[CP_ERR_MSG_MAX]; /* human-readable, names the field/offset/state at fault */
};

/* Record an error (if err is non-NULL) and return -code, so callers can write
 * `return cp_err_set(err, EINVAL, "...")`. The first error recorded wins unless
 * cp_err_clear() is called: the innermost, most precise message survives. */
int cp_err_set(struct cp_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix context onto an existing message ("config: " + "memory: too small"). */
int cp_err_prefix(struct cp_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void cp_err_clear(struct cp_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

#endif

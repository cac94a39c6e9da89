/* struct cp_err helpers. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cp_err_set(struct cp_err *err, int code, const char *fmt, ...)
{
	if (code <= 0)
		code = code < 0 ? -code : 5 /* EIO */;
	if (err && err->code == 0) {
		va_list ap;
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

int cp_err_prefix(struct cp_err *err, const char *fmt, ...)
{
	char joined[CP_ERR_MSG_MAX];
	size_t n;
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(joined, sizeof(joined), fmt, ap);
	va_end(ap);
	n = strlen(joined);
	if (n < sizeof(joined) - 1) {
		size_t room = sizeof(joined) - 1 - n, len = strlen(err->msg);
		if (len > room)
			len = room;
		memcpy(joined + n, err->msg, len);
		joined[n + len] = '\0';
	}
	memcpy(err->msg, joined, sizeof(err->msg));
	return -err->code;
}

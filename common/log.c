/* stderr logging with a program prefix; async-signal-unsafe, used only from normal context. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

static enum cp_log_level cur_level = CP_LOG_INFO;
static const char *prog_name = "carapace";

void cp_log_set_level(enum cp_log_level lvl) { cur_level = lvl; }
void cp_log_set_prog(const char *prog) { prog_name = prog; }

void cp_log(enum cp_log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char line[2048];
	va_list ap;

	if (lvl > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent threads do not interleave within a line. */
	fprintf(stderr, "%s: %s: %s\n", prog_name, tag[lvl], line);
}

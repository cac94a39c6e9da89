/* Logging for OS-facing shells and main(); pure cores never log (they fill struct cp_err). */
#ifndef CARAPACE_COMMON_LOG_H
#define CARAPACE_COMMON_LOG_H

enum cp_log_level { CP_LOG_ERR, CP_LOG_WARN, CP_LOG_INFO, CP_LOG_DEBUG };

void cp_log_set_level(enum cp_log_level lvl);
void cp_log_set_prog(const char *prog);
void cp_log(enum cp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cp_err(...) cp_log(CP_LOG_ERR, __VA_ARGS__)
#define cp_warn(...) cp_log(CP_LOG_WARN, __VA_ARGS__)
#define cp_info(...) cp_log(CP_LOG_INFO, __VA_ARGS__)
#define cp_debug(...) cp_log(CP_LOG_DEBUG, __VA_ARGS__)

#endif

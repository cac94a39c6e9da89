/* Small pure helpers shared by every module: hex, bounded file reads, integer parsing, wiping. */
#ifndef CARAPACE_COMMON_UTIL_H
#define CARAPACE_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void cp_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decode exactly `len` bytes of hex (optional 0x prefix); -EINVAL with a message otherwise. */
int cp_hex_decode(const char *hex, uint8_t *out, size_t len, struct cp_err *err);
/* Decode hex of any even length up to max; *outlen gets the byte count. */
int cp_hex_decode_var(const char *hex, uint8_t *out, size_t max, size_t *outlen, struct cp_err *err);

/* Read a whole regular file (at most max bytes) into a malloc'd buffer (NUL-terminated
 * for convenience, the NUL not counted in *len). */
int cp_file_read(const char *path, size_t max, uint8_t **data, size_t *len, struct cp_err *err);

/* The same, also naming the file that was read: *real gets the canonical path of the opened file
 * itself (from /proc/self/fd), malloc'd, so a check by name judges exactly what was read and a
 * link swapped after the read changes nothing (issue 18 item 10). */
int cp_file_read_real(const char *path, size_t max, uint8_t **data, size_t *len, char **real, struct cp_err *err);

/* Open path without blocking (a FIFO is refused, not waited on), require a regular file (or a
 * block device when allow_blk), and return the fd (O_CLOEXEC, blocking again) with the canonical
 * path of what was opened in real (len bytes). flags: O_RDONLY or O_RDWR. 0 or -errno. */
int cp_file_open_checked(const char *path, int flags, bool allow_blk, int *fd, char *real, size_t len,
			 struct cp_err *err);

/* Write a short string to an existing file (procfs, cgroupfs) in one write(); 0 or -errno. */
int cp_file_write_str(const char *path, const char *s);

/* Parse an unsigned decimal/hex (0x) integer with nothing trailing. */
int cp_parse_u64(const char *s, uint64_t *out);
/* Parse a size with an optional K/M/G/T suffix (binary units; bare number = MiB when
 * default_unit is 1<<20). */
int cp_parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* The whole of a regular file already open as fd, read from offset 0 (pread: fd's offset is
 * untouched), at most max bytes; errors name it as `what`. A file that is not regular, is larger
 * than max, or shrinks while it is read is refused. */
int cp_fd_read_all(int fd, size_t max, const char *what, uint8_t **data, size_t *len, struct cp_err *err);

/* Zero memory in a way the compiler cannot elide. */
void cp_wipe(void *p, size_t len);

/* Close every fd from 3 up except those in keep[] (sorted in place; entries below 3 are
 * ignored): what a forked helper process keeps. 0 or -errno of the failing close_range(). */
int cp_close_fds_except(int *keep, unsigned n);

/* Little/big-endian loads and stores on byte buffers (no alignment assumptions). */
static inline uint16_t cp_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t cp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t cp_le64(const uint8_t *p) { return cp_le32(p) | (uint64_t)cp_le32(p + 4) << 32; }
static inline uint16_t cp_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t cp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t cp_be64(const uint8_t *p) { return (uint64_t)cp_be32(p) << 32 | cp_be32(p + 4); }
static inline void cp_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void cp_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cp_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cp_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void cp_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline void cp_put_be64(uint8_t *p, uint64_t v)
{
	cp_put_be32(p, (uint32_t)(v >> 32));
	cp_put_be32(p + 4, (uint32_t)v);
}

#endif

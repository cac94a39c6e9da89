/* Pure helpers; cp_file_read is the one function here that touches the OS. */
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"

void cp_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cp_hex_decode_var(const char *hex, uint8_t *out, size_t max, size_t *outlen, struct cp_err *err)
{
	size_t n;

	if (!hex)
		return cp_err_set(err, EINVAL, "missing hex value");
	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	n = strlen(hex);
	if (n % 2)
		return cp_err_set(err, EINVAL, "hex value has an odd number of digits (%zu)", n);
	if (n / 2 > max)
		return cp_err_set(err, EINVAL, "hex value is %zu bytes, at most %zu allowed", n / 2, max);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return cp_err_set(err, EINVAL, "invalid hex digit at position %zu", hi < 0 ? 2 * i : 2 * i + 1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

int cp_hex_decode(const char *hex, uint8_t *out, size_t len, struct cp_err *err)
{
	size_t got = 0;
	int r = cp_hex_decode_var(hex, out, len, &got, err);
	if (r < 0)
		return r;
	if (got != len)
		return cp_err_set(err, EINVAL, "hex value is %zu bytes, expected exactly %zu", got, len);
	return 0;
}

static bool cp_is_dev_null(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

/* The canonical path of an open fd, as the kernel names it. */
static int fd_real_path(int fd, char *out, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int cp_file_open_checked(const char *path, int flags, bool allow_blk, int *fd_out, char *real, size_t len,
			 struct cp_err *err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !(allow_blk && S_ISBLK(st.st_mode)))
		return cp_err_set(err, EINVAL, "%s: not a regular file%s", path, allow_blk ? " or block device" : "");
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cp_err_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return cp_err_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !(allow_blk && S_ISBLK(st.st_mode)))
		return cp_err_set(err, EINVAL, "%s: not a regular file%s", path, allow_blk ? " or block device" : "");
	if (fcntl(fd, F_SETFL, 0) < 0)
		return cp_err_set(err, errno, "%s: clearing O_NONBLOCK: %s", path, strerror(errno));
	if ((r = fd_real_path(fd, real, len)) < 0)
		return cp_err_set(err, -r, "%s: naming the opened file: %s", path, strerror(-r));
	*fd_out = TAKE_FD(fd);
	return 0;
}

static int file_read(const char *path, size_t max, uint8_t **data, size_t *len, char **real, struct cp_err *err);

int cp_file_read(const char *path, size_t max, uint8_t **data, size_t *len, struct cp_err *err)
{
	return file_read(path, max, data, len, NULL, err);
}

int cp_file_read_real(const char *path, size_t max, uint8_t **data, size_t *len, char **real, struct cp_err *err)
{
	return file_read(path, max, data, len, real, err);
}

static int file_read(const char *path, size_t max, uint8_t **data, size_t *len, char **real, struct cp_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t off = 0;

	/* Regular files only (and /dev/null, the usual empty input: sev-snp-measure's own examples
	 * pass --initrd /dev/null): a FIFO blocks open() for ever, a terminal or a socket read(), and
	 * another device is no input anyone means (issue 18 item 9). Checked before the open (which
	 * must not block) and again on what was opened, O_NONBLOCK, so a swap in between is caught. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !cp_is_dev_null(&st))
		return cp_err_set(err, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "%s: %s", path,
				  S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file (a FIFO, socket or device is refused)");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cp_err_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return cp_err_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return cp_err_set(err, EISDIR, "%s: is a directory", path);
	if (!S_ISREG(st.st_mode) && !cp_is_dev_null(&st))
		return cp_err_set(err, EINVAL, "%s: not a regular file (a FIFO, socket or device is refused)", path);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return cp_err_set(err, EFBIG, "%s: %lld bytes is larger than the %zu-byte limit", path,
				  (long long)st.st_size, max);
	/* A file that grows while it is read is still held to the limit. */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
	buf = malloc(cap + 1);
	if (!buf)
		return cp_err_set(err, ENOMEM, "%s: out of memory", path);
	for (;;) {
		if (off == cap) {
			if (cap >= max)
				break;
			size_t ncap = cap * 2 > max ? max : cap * 2;
			if (ncap < 4096)
				ncap = 4096;
			uint8_t *nb = realloc(buf, ncap + 1);
			if (!nb)
				return cp_err_set(err, ENOMEM, "%s: out of memory", path);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + off, cap - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cp_err_set(err, errno, "%s: read failed: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	if (off == cap && cap >= max) {
		char probe;
		if (read(fd, &probe, 1) > 0)
			return cp_err_set(err, EFBIG, "%s: larger than the %zu-byte limit", path, max);
	}
	if (real) {
		char name[PATH_MAX];
		int r = fd_real_path(fd, name, sizeof(name));

		if (r < 0)
			return cp_err_set(err, -r, "%s: naming the opened file: %s", path, strerror(-r));
		if (!(*real = strdup(name)))
			return cp_err_set(err, ENOMEM, "%s: out of memory", path);
	}
	buf[off] = '\0';
	*len = off;
	*data = TAKE_PTR(buf);
	return 0;
}

int cp_file_write_str(const char *path, const char *s)
{
	size_t n = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, n) != (ssize_t)n)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

int cp_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int cp_parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = default_unit;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		case 't': case 'T': mult = 1ull << 40; break;
		default: return -EINVAL;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int cp_fd_read_all(int fd, size_t max, const char *what, uint8_t **data, size_t *len, struct cp_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	*data = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return cp_err_set(err, errno, "%s: fstat: %s", what, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > max)
		return cp_err_set(err, EFBIG, "%s: %lld bytes; it must be a regular file of at most %zu bytes", what,
				  (long long)st.st_size, max);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return cp_err_set(err, ENOMEM, "%s: out of memory", what);
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(buf);
			return cp_err_set(err, e, "%s: read: %s", what,
					  n < 0 ? strerror(e) : "the file shrank while it was read");
		}
		got += (size_t)n;
	}
	*data = buf;
	*len = got;
	return 0;
}

int cp_close_fds_except(int *keep, unsigned n)
{
	unsigned from = 3;

	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (unsigned i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)keep[i] : UINT_MAX;

		if (i < n && keep[i] < 3)
			continue;
		if (to > from && close_range(from, to - 1, 0) < 0)
			return -errno;
		if (to == UINT_MAX)
			break;
		from = to + 1;
	}
	return 0;
}

void cp_wipe(void *p, size_t len)
{
	if (!p || !len)
		return;
	memset(p, 0, len);
	/* The barrier makes the stores observable: the compiler must assume p is read. */
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/* attest/tpm: the one atomic file writer of the attestation state and of the relying party's
 * enrolment files (write to PATH.tmp, fsync, rename). Pure POSIX: carapace-verify links it too. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attest/tpm/launch.h"
#include "common/cleanup.h"
#include "common/err.h"

int attest_file_write_atomic(const char *path, const void *data, size_t len, struct cp_err *err)
{
	char tmp[4200];
	_cleanup_close_ int fd = -1;
	const uint8_t *p = data;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return cp_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cp_err_set(err, errno, "%s: cannot create: %s", tmp, strerror(errno));
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			unlink(tmp);
			return cp_err_set(err, e, "%s: write failed: %s", tmp, strerror(e));
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cp_err_set(err, e, "%s: cannot save: %s", path, strerror(e));
	}
	return 0;
}

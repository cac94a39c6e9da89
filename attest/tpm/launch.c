/* Launch-time recording: the event log on disk and the PCR in the TPM move together, log
 * first, so a crash leaves a log that fails to replay (caught) rather than a silent gap. */
#include "attest/tpm/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/cleanup.h"

static const char *const platform_files[] = {
	[ATTEST_PLATFORM_SNP_REPORT] = "snp-report.bin",
	[ATTEST_PLATFORM_SNP_CERT_TABLE] = "snp-cert-table.bin",
	[ATTEST_PLATFORM_TDX_QUOTE] = "tdx-quote.bin",
};

const char *attest_platform_file(enum attest_platform_kind kind)
{
	return (unsigned)kind < ARRAY_SIZE(platform_files) ? platform_files[kind] : NULL;
}

const char *attest_state_dir(const char *state_dir)
{
	if (!state_dir || !*state_dir)
		state_dir = getenv(ATTEST_STATE_DIR_ENV);
	return state_dir && *state_dir ? state_dir : ATTEST_STATE_DIR_DEFAULT;
}

int attest_launch_vm_dir(const char *state_dir, const char *vm_name, char *out, size_t out_len, struct cp_err *err)
{
	int ret = attest_event_data_check(ATTEST_EVENT_VM_START, (const uint8_t *)vm_name, strlen(vm_name), err);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(out, out_len, "%s/attest/%s", attest_state_dir(state_dir), vm_name) >= out_len)
		return cp_err_set(err, ENAMETOOLONG, "state directory path is too long");
	return 0;
}

static int mkdir_p(const char *path, struct cp_err *err)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return cp_err_set(err, ENAMETOOLONG, "%s: path too long", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return cp_err_set(err, errno, "%s: cannot create: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return cp_err_set(err, errno, "%s: cannot create: %s", buf, strerror(errno));
	return 0;
}

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

static int save_log(struct attest_launch *l, struct cp_err *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	char path[4200];
	size_t len;
	int ret = attest_eventlog_serialize(&l->log, &buf, &len, err);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/eventlog.bin", l->dir);
	return attest_file_write_atomic(path, buf, len, err);
}

int attest_launch_begin(struct attest_launch *l, struct attest_tpm *tpm, const char *state_dir, const char *vm_name,
			uint32_t pcr, struct cp_err *err)
{
	static const char *const stale[] = { "eventlog.bin", "vm-config", "snp-report.bin", "snp-cert-table.bin",
					     "tdx-quote.bin" };
	int ret;

	memset(l, 0, sizeof(*l));
	attest_eventlog_init(&l->log);
	l->tpm = tpm;
	l->pcr = pcr;
	if (pcr > ATTEST_PCR_MAX)
		return cp_err_set(err, EINVAL, "PCR %u out of range 0..%d", pcr, ATTEST_PCR_MAX);
	if ((ret = attest_launch_vm_dir(state_dir, vm_name, l->dir, sizeof(l->dir), err)) < 0 ||
	    (ret = mkdir_p(l->dir, err)) < 0)
		return ret;
	/* Files of an earlier launch of this VM must not end up in the new evidence. */
	for (size_t i = 0; i < ARRAY_SIZE(stale); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", l->dir, stale[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			return cp_err_set(err, errno, "%s: cannot remove: %s", path, strerror(errno));
	}
	if ((ret = attest_tpm_pcr_reset(tpm, pcr, err)) < 0)
		return ret;
	return attest_launch_record(l, ATTEST_EVENT_VM_START, vm_name, strlen(vm_name), err);
}

int attest_launch_record(struct attest_launch *l, enum attest_event_type type, const void *data, size_t len,
			 struct cp_err *err)
{
	int ret = attest_eventlog_append(&l->log, l->pcr, (uint16_t)type, data, len, err);
	if (ret < 0)
		return ret;
	if ((ret = save_log(l, err)) < 0) {
		attest_eventlog_drop_last(&l->log);
		return ret;
	}
	/* Saved but not extended on failure: the log no longer replays, which verification reports. */
	return attest_tpm_pcr_extend(l->tpm, l->pcr, l->log.events[l->log.count - 1].digest, err);
}

int attest_launch_record_config(struct attest_launch *l, const void *config, size_t len, struct cp_err *err)
{
	uint8_t digest[32];
	char path[4200];
	int ret;

	snprintf(path, sizeof(path), "%s/vm-config", l->dir);
	if ((ret = attest_file_write_atomic(path, config, len, err)) < 0)
		return ret;
	SHA256(config, len, digest);
	return attest_launch_record(l, ATTEST_EVENT_VM_CONFIG, digest, sizeof(digest), err);
}

int attest_launch_save_platform(struct attest_launch *l, enum attest_platform_kind kind, const void *data, size_t len,
				struct cp_err *err)
{
	char path[4200];
	const char *name = attest_platform_file(kind);

	if (!name)
		return cp_err_set(err, EINVAL, "unknown platform evidence kind %d", (int)kind);
	snprintf(path, sizeof(path), "%s/%s", l->dir, name);
	return attest_file_write_atomic(path, data, len, err);
}

void attest_launch_end(struct attest_launch *l)
{
	attest_eventlog_free(&l->log);
}

/* Launch-time recording: each VM's launch record, and the host launch log on disk and its PCR
 * moving together under one lock, log first: a crash in between leaves an entry that the next
 * opener extends (recovery), never a silent gap. */
#include "attest/tpm/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/cleanup.h"
#include "common/util.h"

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

static int random_bytes(uint8_t *out, size_t len, struct cp_err *err)
{
	while (len) {
		ssize_t n = getrandom(out, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cp_err_set(err, errno ? errno : EIO, "getrandom: %s", strerror(errno ? errno : EIO));
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

int attest_launch_begin(struct attest_launch *l, struct attest_tpm *tpm, const char *state_dir, const char *vm_name,
			uint32_t pcr, bool allow_resettable, struct cp_err *err)
{
	static const char *const stale[] = { "eventlog.bin", "vm-config", "snp-report.bin", "snp-cert-table.bin",
					     "tdx-quote.bin" };
	int ret;

	memset(l, 0, sizeof(*l));
	attest_eventlog_init(&l->log);
	l->tpm = tpm;
	l->pcr = pcr;
	l->allow_resettable = allow_resettable;
	if ((ret = attest_hostlog_pcr_check(pcr, allow_resettable, err)) < 0)
		return ret;
	if ((size_t)snprintf(l->state_dir, sizeof(l->state_dir), "%s", attest_state_dir(state_dir)) >= sizeof(l->state_dir))
		return cp_err_set(err, ENAMETOOLONG, "state directory path is too long");
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
	if ((ret = random_bytes(l->launch_id, sizeof(l->launch_id), err)) < 0 ||
	    (ret = attest_launch_record(l, ATTEST_EVENT_VM_START, vm_name, strlen(vm_name), err)) < 0)
		return ret;
	return attest_launch_record(l, ATTEST_EVENT_LAUNCH_ID, l->launch_id, sizeof(l->launch_id), err);
}

int attest_launch_record(struct attest_launch *l, enum attest_event_type type, const void *data, size_t len,
			 struct cp_err *err)
{
	int ret;

	if (l->committed)
		return cp_err_set(err, EBUSY, "the launch record is committed to the host launch log: no more events");
	if ((ret = attest_eventlog_append(&l->log, l->pcr, (uint16_t)type, data, len, err)) < 0)
		return ret;
	if ((ret = save_log(l, err)) < 0)
		attest_eventlog_drop_last(&l->log);
	return ret;
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

int attest_launch_commit(struct attest_launch *l, bool *recovered, struct cp_err *err)
{
	struct attest_hostlog_handle h;
	_cleanup_free_ uint8_t *rec = NULL;
	uint8_t digest[32];
	size_t len;
	int ret;

	if (l->committed)
		return cp_err_set(err, EALREADY, "the launch is already committed");
	if ((ret = attest_eventlog_serialize(&l->log, &rec, &len, err)) < 0)
		return ret;
	if (attest_hostlog_launch_digest(rec, len, digest) < 0)
		return cp_err_set(err, EIO, "launch digest: SHA-256 failed");
	if ((ret = attest_hostlog_open(l->tpm, l->state_dir, l->pcr, l->allow_resettable, &h, err)) < 0)
		return ret;
	ret = attest_hostlog_append(l->tpm, &h, ATTEST_HOSTLOG_LAUNCH, digest, err);
	if (recovered)
		*recovered = h.recovered;
	attest_hostlog_close(&h);
	if (ret == 0)
		l->committed = true;
	return ret;
}

int attest_launch_stop(struct attest_tpm *tpm, const char *state_dir, const char *vm_name, bool *recovered,
		       struct cp_err *err)
{
	struct attest_hostlog_handle h;
	struct attest_eventlog rec;
	_cleanup_free_ uint8_t *buf = NULL;
	const uint8_t *id = NULL;
	uint8_t digest[32];
	char dir[4096], path[4200];
	size_t len;
	int ret;

	if ((ret = attest_launch_vm_dir(state_dir, vm_name, dir, sizeof(dir), err)) < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/eventlog.bin", dir);
	if ((ret = cp_file_read(path, ATTEST_EVENTLOG_MAX_BYTES, &buf, &len, err)) < 0 ||
	    (ret = attest_eventlog_parse(buf, len, &rec, err)) < 0)
		return cp_err_prefix(err, "VM %s: launch record: ", vm_name);
	for (size_t i = 0; i < rec.count; i++)
		if (rec.events[i].type == ATTEST_EVENT_LAUNCH_ID)
			id = rec.events[i].data;
	ret = id ? attest_hostlog_stop_digest(id, digest) : cp_err_set(err, EBADMSG, "VM %s: the launch record has no launch-id", vm_name);
	attest_eventlog_free(&rec);
	if (ret < 0)
		return ret;
	if ((ret = attest_hostlog_open(tpm, state_dir, 0, false, &h, err)) < 0)
		return ret;
	ret = attest_hostlog_append(tpm, &h, ATTEST_HOSTLOG_STOP, digest, err);
	if (recovered)
		*recovered = h.recovered;
	attest_hostlog_close(&h);
	return ret;
}

/* ---- the host launch log ---- */

static int hostlog_load(struct attest_hostlog_handle *h, struct cp_err *err)
{
	char path[4300];
	_cleanup_close_ int fd = -1;
	size_t torn = 0;
	int ret;

	free(h->bytes);
	h->bytes = NULL;
	h->len = 0;
	attest_hostlog_free(&h->log);
	snprintf(path, sizeof(path), "%s/launch-log.bin", h->dir);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : cp_err_set(err, errno, "%s: %s", path, strerror(errno));
	if ((ret = cp_fd_read_all(fd, ATTEST_HOSTLOG_MAX_BYTES, "launch log", &h->bytes, &h->len, err)) < 0 ||
	    (ret = attest_hostlog_parse(h->bytes, h->len, &h->log, &torn, err)) < 0)
		return cp_err_prefix(err, "%s: ", path);
	if (torn) {
		/* A crash cut an append short: that entry was never extended (extend follows the
		 * write), so dropping its partial bytes loses nothing that was committed. */
		if (ftruncate(fd, (off_t)(h->len - torn)) < 0 || fsync(fd) < 0)
			return cp_err_set(err, errno, "%s: cannot drop a torn entry: %s", path, strerror(errno));
		h->len -= torn;
		h->recovered = true;
	}
	return 1;
}

int attest_hostlog_open(struct attest_tpm *tpm, const char *state_dir, uint32_t pcr, bool allow_resettable,
			struct attest_hostlog_handle *h, struct cp_err *err)
{
	char path[4300];
	uint8_t value[1][32], expect[32];
	uint32_t reset;
	int ret;

	memset(h, 0, sizeof(*h));
	h->lock_fd = -1;
	/* ".host": no VM can have this name (VM names never start with '.'), so no VM's files mix with it. */
	if ((size_t)snprintf(h->dir, sizeof(h->dir), "%s/attest/.host", attest_state_dir(state_dir)) >= sizeof(h->dir))
		return cp_err_set(err, ENAMETOOLONG, "state directory path is too long");
	if ((ret = mkdir_p(h->dir, err)) < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/lock", h->dir);
	h->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (h->lock_fd < 0)
		return cp_err_set(err, errno, "%s: %s", path, strerror(errno));
	while ((ret = flock(h->lock_fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (ret < 0) {
		ret = cp_err_set(err, errno, "%s: flock: %s", path, strerror(errno));
		goto fail;
	}
	if ((ret = attest_tpm_reset_count(tpm, &reset, err)) < 0 || (ret = hostlog_load(h, err)) < 0)
		goto fail;
	if (ret > 0 && h->log.reset_count != reset) {
		/* The TPM was reset (host reboot): its PCRs started again, so does the log. */
		char old[4300];
		snprintf(path, sizeof(path), "%s/launch-log.bin", h->dir);
		snprintf(old, sizeof(old), "%s/launch-log.%u.bin", h->dir, h->log.reset_count);
		if (rename(path, old) < 0) {
			ret = cp_err_set(err, errno, "%s: cannot archive: %s", path, strerror(errno));
			goto fail;
		}
		ret = 0;
	}
	if (ret == 0) {
		uint8_t hdr[ATTEST_HOSTLOG_HEADER_LEN];
		if (!pcr) {
			ret = cp_err_set(err, ENOENT, "%s: no host launch log for this TPM boot (no VM launched with attestation)",
					 h->dir);
			goto fail;
		}
		if ((ret = attest_hostlog_pcr_check(pcr, allow_resettable, err)) < 0 ||
		    (ret = attest_tpm_pcr_read(tpm, &pcr, 1, value, err)) < 0)
			goto fail;
		attest_hostlog_header(pcr, reset, value[0], hdr);
		snprintf(path, sizeof(path), "%s/launch-log.bin", h->dir);
		if ((ret = attest_file_write_atomic(path, hdr, sizeof(hdr), err)) < 0 || (ret = hostlog_load(h, err)) < 0)
			goto fail;
	}
	if (pcr && h->log.pcr != pcr) {
		ret = cp_err_set(err, EINVAL, "the host launch log of this TPM boot extends PCR %u, not %u: all VMs of a host "
				 "share one log and one PCR", h->log.pcr, pcr);
		goto fail;
	}
	if ((ret = attest_tpm_pcr_read(tpm, &h->log.pcr, 1, value, err)) < 0)
		goto fail;
	attest_hostlog_replay(&h->log, h->log.count, expect);
	if (memcmp(expect, value[0], 32)) {
		attest_hostlog_replay(&h->log, h->log.count ? h->log.count - 1 : 0, expect);
		if (!h->log.count || memcmp(expect, value[0], 32)) {
			ret = cp_err_set(err, EIO, "PCR %u holds extends that the host launch log (%zu entries) does not explain: "
					 "another program extends it, or the log was altered; refusing to record",
					 h->log.pcr, h->log.count);
			goto fail;
		}
		/* Appended, then a crash before the extend: finish the commit now. */
		if ((ret = attest_tpm_pcr_extend(tpm, h->log.pcr, h->log.entries[h->log.count - 1].digest, err)) < 0)
			goto fail;
		h->recovered = true;
	}
	return 0;
fail:
	attest_hostlog_close(h);
	return ret;
}

int attest_hostlog_append(struct attest_tpm *tpm, struct attest_hostlog_handle *h, uint16_t type,
			  const uint8_t digest[32], struct cp_err *err)
{
	uint8_t entry[ATTEST_HOSTLOG_ENTRY_LEN];
	struct attest_hostlog_entry *n;
	char path[4300];
	_cleanup_close_ int fd = -1;
	ssize_t w;

	if (h->len + sizeof(entry) > ATTEST_HOSTLOG_MAX_BYTES)
		return cp_err_set(err, E2BIG, "the host launch log is full (%u bytes)", ATTEST_HOSTLOG_MAX_BYTES);
	n = realloc(h->log.entries, (h->log.count + 1) * sizeof(*n));
	if (!n)
		return cp_err_set(err, ENOMEM, "launch log: out of memory");
	h->log.entries = n;
	attest_hostlog_entry_bytes(type, digest, entry);
	snprintf(path, sizeof(path), "%s/launch-log.bin", h->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cp_err_set(err, errno, "%s: %s", path, strerror(errno));
	/* Log first, then PCR: a crash in between leaves an entry the next open extends. */
	while ((w = write(fd, entry, sizeof(entry))) < 0 && errno == EINTR)
		;
	if (w != (ssize_t)sizeof(entry) || fdatasync(fd) < 0)
		return cp_err_set(err, w < 0 ? errno : EIO, "%s: append failed: %s", path, strerror(w < 0 ? errno : EIO));
#ifdef CARAPACE_TEST_HOOKS
	{
		const char *hook = getenv("CARAPACE_TEST_HOSTLOG_CRASH");
		if (hook && !strcmp(hook, "after-append"))
			_exit(99); /* the crash the recovery is for: appended, not extended */
	}
#endif
	n[h->log.count].type = type;
	memcpy(n[h->log.count].digest, digest, 32);
	h->log.count++;
	h->len += sizeof(entry);
	return attest_tpm_pcr_extend(tpm, h->log.pcr, digest, err);
}

void attest_hostlog_close(struct attest_hostlog_handle *h)
{
	if (h->lock_fd >= 0)
		close(h->lock_fd); /* releases the flock */
	h->lock_fd = -1;
	free(h->bytes);
	h->bytes = NULL;
	attest_hostlog_free(&h->log);
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

/* Launch events for plain VMs (OS shell: TPM, helper binaries on disk). */
#include "runner/launch_record.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "attest/tpm/evidence.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/tpm.h"
#include "common/util.h"
#include "devices/devkinds.h"
#include "memenc/hash.h"

int launch_plain_measurement(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
			     const char *cmdline, uint8_t out[48], struct cp_err *err)
{
	static const char tag[] = "carapace.plain-launch.v1"; /* hashed with its NUL */
	uint8_t buf[sizeof(tag) + 3 * 48];

	memcpy(buf, tag, sizeof(tag));
	if (memenc_sha384(kernel, kernel_len, buf + sizeof(tag), err) < 0 ||
	    memenc_sha384(initrd ? (const void *)initrd : "", initrd ? initrd_len : 0, buf + sizeof(tag) + 48, err) < 0 ||
	    memenc_sha384(cmdline ? cmdline : "", cmdline ? strlen(cmdline) : 0, buf + sizeof(tag) + 96, err) < 0)
		return -EIO;
	return memenc_sha384(buf, sizeof(buf), out, err);
}

int launch_binding(const char *tcti, const uint8_t *policy, size_t policy_len, uint8_t out[32], struct cp_err *err)
{
	struct attest_tpm *tpm = NULL;
	uint8_t *pub = NULL, pd[32] = { 0 };
	size_t pub_len = 0;
	int r;

	if (policy && (r = memenc_sha256(policy, policy_len, pd, err)) < 0)
		return r;
	if ((r = attest_tpm_open(tcti, &tpm, err)) < 0)
		return cp_err_prefix(err, "--attest: ");
	r = attest_tpm_ak_ensure(tpm, ATTEST_AK_ECC_P256, ATTEST_AK_HANDLE_ECC, &pub, &pub_len, err);
	if (r >= 0 && attest_binding_digest(pub, pub_len, pd, out) < 0)
		r = cp_err_set(err, EIO, "binding digest failed");
	free(pub);
	attest_tpm_close(tpm);
	return r < 0 ? r : 0;
}

int launch_record(const struct launch_record_in *in, struct cp_err *err)
{
	struct attest_tpm *tpm = NULL;
	struct attest_launch l;
	uint8_t digest[32];
	bool recovered = false;
	int r;

	memset(&l, 0, sizeof(l));
	if ((r = attest_tpm_open(in->tcti, &tpm, err)) < 0)
		return cp_err_prefix(err, "--attest: ");
	if ((r = attest_launch_begin(&l, tpm, in->state_dir, in->vm_name, in->pcr, in->allow_resettable_pcr, err)) < 0)
		goto out;
	if ((r = attest_launch_record(&l, ATTEST_EVENT_LAUNCH_MEASUREMENT, in->measurement, 48, err)) < 0)
		goto out;
	if ((r = attest_launch_record_config(&l, in->config_json, strlen(in->config_json), err)) < 0)
		goto out;
	if (in->policy) {
		if ((r = memenc_sha256(in->policy, in->policy_len, digest, err)) < 0 ||
		    (r = attest_launch_record(&l, ATTEST_EVENT_LAUNCH_POLICY, digest, 32, err)) < 0)
			goto out;
	}
	/* Each device helper by the digest of the executable that will run, then its name. */
	for (unsigned i = 0; i < in->ndevices; i++) {
		const struct devkind *h = devkind_get(in->devices[i].kind);
		char path[4096];
		uint8_t *bin = NULL, ev[32 + 64];
		size_t len = 0, nlen;
		if (!h) {
			r = cp_err_set(err, EINVAL, "device %u: kind %d is not in the device table", i,
				       (int)in->devices[i].kind);
			goto out;
		}
		nlen = strlen(h->binary);
		if ((r = vdev_helper_path(h->binary, path, sizeof(path), err)) < 0 ||
		    (r = cp_file_read(path, 64u << 20, &bin, &len, err)) < 0)
			goto out;
		r = memenc_sha256(bin, len, ev, err);
		free(bin);
		if (r < 0)
			goto out;
		memcpy(ev + 32, h->binary, nlen < 64 ? nlen : 64);
		if ((r = attest_launch_record(&l, ATTEST_EVENT_DEVICE_HELPER, ev, 32 + (nlen < 64 ? nlen : 64), err)) < 0)
			goto out;
	}
	/* One entry in the host launch log, under its lock; an earlier crash is repaired first. */
	if ((r = attest_launch_commit(&l, &recovered, err)) == 0 && recovered)
		fprintf(stderr, "carapace: repaired the host launch log after an earlier crash\n");
out:
	attest_launch_end(&l);
	attest_tpm_close(tpm);
	return r;
}

int launch_record_stop(const char *tcti, const char *state_dir, const char *vm_name, struct cp_err *err)
{
	struct attest_tpm *tpm = NULL;
	bool recovered = false;
	int r;

	if ((r = attest_tpm_open(tcti, &tpm, err)) < 0)
		return cp_err_prefix(err, "--attest: ");
	r = attest_launch_stop(tpm, state_dir, vm_name, &recovered, err);
	attest_tpm_close(tpm);
	if (recovered)
		fprintf(stderr, "carapace: repaired the host launch log after an earlier crash\n");
	return r;
}

/* ---- the stop recorder (launch_record.h) ---- */

static ssize_t read_byte(int fd, unsigned char *c)
{
	ssize_t n;

	do
		n = read(fd, c, 1);
	while (n < 0 && errno == EINTR);
	return n;
}

static int write_byte(int fd, unsigned char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EPIPE;
}

/* The stop record, its failure said on stderr (the VM process's answer only says "failed").
 * The recorder's exit status: 0 recorded, 1 not. */
static int record_stop_said(const char *tcti, const char *state_dir, const char *vm_name)
{
	struct cp_err err = { 0 };

	if (launch_record_stop(tcti, state_dir, vm_name, &err) < 0) {
		fprintf(stderr, "carapace: recording the stop of '%s': %s\n", vm_name, err.msg);
		return 1;
	}
	return 0;
}

/* The recorder's whole life: the state machine of launch_record.h. Returns its exit status. */
static int stop_recorder_main(int req, int ans, const char *tcti, const char *state_dir, const char *vm_name)
{
	enum { WAIT_ARM, ARMED, VIOLATED } st = WAIT_ARM;
	unsigned char c;
	ssize_t n;

	for (;;) {
		n = read_byte(req, &c);
		if (n < 0) {
			fprintf(stderr, "carapace: stop recorder: read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0) /* the VM process has ended */
			return st == WAIT_ARM ? 0 : record_stop_said(tcti, state_dir, vm_name);
		if (st == VIOLATED)
			continue; /* nothing more is answered; the end of file still records the stop */
		if (st == WAIT_ARM && c == 'A') {
			st = ARMED;
			continue;
		}
		if (st == ARMED && c == 'S') {
			int status = record_stop_said(tcti, state_dir, vm_name);

			write_byte(ans, (unsigned char)status);
			return status;
		}
		fprintf(stderr, "carapace: stop recorder: byte 0x%02x in state %s is not in its table; "
				"the stop is recorded when the VM process ends\n",
			c, st == WAIT_ARM ? "wait-arm" : "armed");
		if (st == WAIT_ARM)
			return 1; /* nothing was launched: nothing to record */
		st = VIOLATED;
	}
}

int launch_stop_recorder_start(const char *tcti, const char *state_dir, const char *vm_name,
			       struct launch_stop_recorder *r, struct cp_err *err)
{
	int req[2], ans[2];
	pid_t pid;

	*r = (struct launch_stop_recorder)LAUNCH_STOP_RECORDER_NONE;
	if (pipe2(req, O_CLOEXEC) < 0)
		return cp_err_set(err, errno, "stop recorder: pipe: %s", strerror(errno));
	if (pipe2(ans, O_CLOEXEC) < 0) {
		int e = errno;
		close(req[0]);
		close(req[1]);
		return cp_err_set(err, e, "stop recorder: pipe: %s", strerror(e));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(req[0]);
		close(req[1]);
		close(ans[0]);
		close(ans[1]);
		return cp_err_set(err, e, "stop recorder: fork: %s", strerror(e));
	}
	if (pid == 0) {
		int keep[2] = { req[0], ans[1] };

		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "stop-recorder", 0, 0, 0);
		if (cp_close_fds_except(keep, 2) < 0)
			_exit(1);
		_exit(stop_recorder_main(req[0], ans[1], tcti, state_dir, vm_name));
	}
	close(ans[1]);
	*r = (struct launch_stop_recorder){ .pid = pid, .req_fd = req[1], .ans_fd = ans[0], .req_rd = req[0] };
	return 0;
}

int launch_stop_recorder_arm(struct launch_stop_recorder *r, struct cp_err *err)
{
	if (r->req_fd < 0 || write_byte(r->req_fd, 'A') < 0)
		return cp_err_set(err, EPIPE, "the stop recorder has ended: the VM's stop could not be recorded");
	return 0;
}

int launch_stop_recorder_stop(struct launch_stop_recorder *r, struct cp_err *err)
{
	unsigned char c = 1;

	if (r->req_fd < 0 || write_byte(r->req_fd, 'S') < 0 || read_byte(r->ans_fd, &c) != 1)
		return cp_err_set(err, EPIPE, "the stop recorder has ended without an answer");
	if (c != 0)
		return cp_err_set(err, EIO, "the stop recorder could not record the stop (above)");
	return 0;
}

void launch_stop_recorder_close(struct launch_stop_recorder *r)
{
	if (r->req_fd >= 0)
		close(r->req_fd);
	if (r->ans_fd >= 0)
		close(r->ans_fd);
	if (r->req_rd >= 0)
		close(r->req_rd);
	r->req_fd = r->ans_fd = r->req_rd = -1;
}

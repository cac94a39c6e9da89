/* Launch events for plain VMs (OS shell: TPM, helper binaries on disk). */
#include "runner/launch_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/evidence.h"
#include "attest/tpm/launch.h"
#include "attest/tpm/tpm.h"
#include "common/util.h"
#include "devices/helpers.h"
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
		const struct carapace_helper_desc *h = &carapace_helpers[vdev_kind_desc(in->devices[i].kind)->helper];
		char path[4096];
		uint8_t *bin = NULL, ev[32 + 64];
		size_t len = 0, nlen = strlen(h->binary);
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

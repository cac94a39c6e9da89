/* What `carapace run --attest` records at launch: the launch measurement of a plain VM, the VM
 * configuration, the launch policy and each device helper's identity, extended into a TPM PCR
 * with an event log beside it (attest/tpm/launch.h), so `carapace attest --vm NAME` can quote it. */
#ifndef CARAPACE_RUNNER_LAUNCH_RECORD_H
#define CARAPACE_RUNNER_LAUNCH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/vdev.h"

/* The plain-VM launch measurement (documented in docs/evidence.md): SHA-384 over
 * "carapace.plain-launch.v1" NUL, SHA-384(kernel image), SHA-384(initrd, empty if none),
 * SHA-384(the guest command line as booted, with the virtio_mmio.device= announcements). */
int launch_plain_measurement(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
			     const char *cmdline, uint8_t out[48], struct cp_err *err);

struct launch_record_in {
	const char *tcti;          /* NULL: $CARAPACE_TCTI, then device:/dev/tpmrm0 */
	const char *state_dir;     /* NULL: $CARAPACE_STATE_DIR, then /var/lib/carapace */
	const char *vm_name;
	uint32_t pcr;              /* the host launch log's PCR (attest_hostlog_pcr_check) */
	bool allow_resettable_pcr;
	uint8_t measurement[48];
	const char *config_json;   /* the effective VM configuration */
	const uint8_t *policy;     /* the launch policy document, or NULL */
	size_t policy_len;
	const struct vdev_spec *devices;
	unsigned ndevices;
};

int launch_record(const struct launch_record_in *in, struct cp_err *err);
/* The VM ended: a stop entry for its launch in the host launch log. */
int launch_record_stop(const char *tcti, const char *state_dir, const char *vm_name, struct cp_err *err);

/* The stop recorder. The VM process cannot record its own stop: by then it is in its empty root
 * under its seccomp filter, with neither the TPM nor the state directory in reach. So
 * `carapace run --attest` forks, before the VM exists, a process that keeps those rights and
 * nothing else (no guest memory, no KVM fd: every fd but its two pipes closed) and reads one byte
 * at a time from the VM process:
 *   'A'  the launch is recorded: from now on the VM's end is recorded as its stop;
 *   'S'  the VM ended: record the stop now and answer one byte (0 recorded, 1 failed: the
 *        recorder printed why on stderr);
 *   end of file  the VM process ended without 'S' (killed, crashed): the stop is recorded all
 *        the same if the launch was, and nothing is recorded otherwise.
 * Any other byte is a protocol violation of a process that should not make one: the recorder
 * says so, answers nothing more, and records the stop when the VM process has really ended (end
 * of file). The recorder ignores SIGINT, SIGTERM and SIGHUP: a Ctrl-C to the process group ends
 * the VM, whose end the recorder must still record. */
struct launch_stop_recorder {
	pid_t pid;   /* 0: none */
	int req_fd;  /* the VM process writes 'A' / 'S' */
	int ans_fd;  /* the recorder's answer to 'S' */
	int req_rd;  /* the request pipe's read end, kept so that a write to a recorder that is
		      * gone fails as a missing answer, not as a SIGPIPE to the VM process */
};

/* A recorder not started (launch_stop_recorder_close does nothing to it). */
#define LAUNCH_STOP_RECORDER_NONE { .pid = 0, .req_fd = -1, .ans_fd = -1, .req_rd = -1 }

int launch_stop_recorder_start(const char *tcti, const char *state_dir, const char *vm_name,
			       struct launch_stop_recorder *r, struct cp_err *err);
int launch_stop_recorder_arm(struct launch_stop_recorder *r, struct cp_err *err);
/* Asks for the stop record and waits for the answer: 0, or -EIO (the recorder said why). */
int launch_stop_recorder_stop(struct launch_stop_recorder *r, struct cp_err *err);
/* Closes the pipes: before 'A' the recorder ends without recording anything. */
void launch_stop_recorder_close(struct launch_stop_recorder *r);

/* The attestation binding of a confidential launch (docs/evidence.md): SHA-256 over
 * "carapace.binding.v1" NUL, the AK's TPM2B_PUBLIC and SHA-256 of the launch policy (32 zero
 * bytes without one). It goes into SNP HOST_DATA (32 bytes) or TDX MRCONFIGID (first 32 of 48),
 * so the hardware report and the TPM quote cannot come from different launches or hosts. */
int launch_binding(const char *tcti, const uint8_t *policy, size_t policy_len, uint8_t out[32], struct cp_err *err);

#endif

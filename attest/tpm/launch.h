/* What the runner calls at launch and stop: build the VM's launch record, then append its
 * digest to the host-wide launch log and extend the log's PCR (one entry per launch, one per
 * stop, never a reset), so that `carapace attest --vm NAME` can quote it. State layout:
 * STATE_DIR/attest/NAME/{eventlog.bin (the record), vm-config, snp-report.bin,
 * snp-cert-table.bin, tdx-quote.bin} and STATE_DIR/attest/.host/{launch-log.bin, lock}.
 * OS shell over the pure record (eventlog.h) and log (hostlog.h). */
#ifndef CARAPACE_ATTEST_TPM_LAUNCH_H
#define CARAPACE_ATTEST_TPM_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/tpm/eventlog.h"
#include "attest/tpm/hostlog.h"
#include "attest/tpm/tpm.h"
#include "common/err.h"

#define ATTEST_STATE_DIR_ENV "CARAPACE_STATE_DIR"
#define ATTEST_STATE_DIR_DEFAULT "/var/lib/carapace"

struct attest_launch {
	struct attest_tpm *tpm; /* borrowed */
	struct attest_eventlog log; /* this launch's record (in the clear, in this VM's directory only) */
	uint32_t pcr;
	bool allow_resettable;
	bool committed;
	uint8_t launch_id[ATTEST_LAUNCH_ID_LEN];
	char state_dir[4096];
	char dir[4096]; /* STATE_DIR/attest/NAME */
};

/* Platform evidence the launch driver may leave for `carapace attest`. */
enum attest_platform_kind { ATTEST_PLATFORM_SNP_REPORT, ATTEST_PLATFORM_SNP_CERT_TABLE, ATTEST_PLATFORM_TDX_QUOTE };

/* state_dir NULL: $CARAPACE_STATE_DIR, then /var/lib/carapace. */
const char *attest_state_dir(const char *state_dir);
/* STATE_DIR/attest/NAME into out (validates the name). */
int attest_launch_vm_dir(const char *state_dir, const char *vm_name, char *out, size_t out_len, struct cp_err *err);

/* Start a VM's launch record: check the PCR (attest_hostlog_pcr_check), clear earlier files of
 * this VM, record vm-start and a fresh random launch-id. Nothing reaches the TPM before commit. */
int attest_launch_begin(struct attest_launch *l, struct attest_tpm *tpm, const char *state_dir, const char *vm_name,
			uint32_t pcr, bool allow_resettable, struct cp_err *err);
/* Append an event to the record and save it (atomically). Refused after commit. */
int attest_launch_record(struct attest_launch *l, enum attest_event_type type, const void *data, size_t len,
			 struct cp_err *err);
/* Save the VM configuration and record its SHA-256 as a vm-config event. */
int attest_launch_record_config(struct attest_launch *l, const void *config, size_t len, struct cp_err *err);
/* Append the record's launch entry to the host launch log and extend the PCR (under the host
 * lock). *recovered (may be NULL) says whether an earlier crash had to be repaired first. */
int attest_launch_commit(struct attest_launch *l, bool *recovered, struct cp_err *err);
/* Save hardware evidence for the bundle (not extended: it is signed by the hardware). */
int attest_launch_save_platform(struct attest_launch *l, enum attest_platform_kind kind, const void *data, size_t len,
				struct cp_err *err);
void attest_launch_end(struct attest_launch *l); /* frees the in-memory record */

/* Record that VM NAME (its current launch record) stopped: a stop entry in the host log. */
int attest_launch_stop(struct attest_tpm *tpm, const char *state_dir, const char *vm_name, bool *recovered,
		       struct cp_err *err);

/* The host launch log, locked: STATE_DIR/attest/.host/{launch-log.bin, lock}. Opening takes an
 * exclusive flock (every writer and every quote serialise on it), starts a new log when the
 * TPM's resetCount changed (a host reboot; the old log is kept as launch-log.RESETCOUNT.bin),
 * drops a torn last entry, and repairs the one inconsistency a crash can leave: an entry
 * appended but not extended (it is extended now: the log is the commit record, never
 * shortened). Any other disagreement between log and PCR is an error. pcr 0 means "the
 * existing log's PCR" (no log: error). */
struct attest_hostlog_handle {
	int lock_fd;
	struct attest_hostlog log;
	uint8_t *bytes; /* the file, after repair */
	size_t len;
	bool recovered;
	char dir[4200];
};
int attest_hostlog_open(struct attest_tpm *tpm, const char *state_dir, uint32_t pcr, bool allow_resettable,
			struct attest_hostlog_handle *h, struct cp_err *err);
int attest_hostlog_append(struct attest_tpm *tpm, struct attest_hostlog_handle *h, uint16_t type,
			  const uint8_t digest[32], struct cp_err *err);
void attest_hostlog_close(struct attest_hostlog_handle *h); /* releases the lock */

/* File helpers shared with the CLI. */
int attest_file_write_atomic(const char *path, const void *data, size_t len, struct cp_err *err);
const char *attest_platform_file(enum attest_platform_kind kind);

#endif

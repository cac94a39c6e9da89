/* What the runner calls at launch: reset the VM's PCR, then record each launch event (append
 * to the event log, extend the PCR, save the log) so that `carapace attest --vm NAME` finds it.
 * State layout: STATE_DIR/attest/NAME/{eventlog.bin, vm-config, snp-report.bin,
 * snp-cert-table.bin, tdx-quote.bin}. OS shell over the pure event log. */
#ifndef CARAPACE_ATTEST_TPM_LAUNCH_H
#define CARAPACE_ATTEST_TPM_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "attest/tpm/eventlog.h"
#include "attest/tpm/tpm.h"
#include "common/err.h"

#define ATTEST_STATE_DIR_ENV "CARAPACE_STATE_DIR"
#define ATTEST_STATE_DIR_DEFAULT "/var/lib/carapace"

struct attest_launch {
	struct attest_tpm *tpm; /* borrowed */
	struct attest_eventlog log;
	uint32_t pcr;
	char dir[4096]; /* STATE_DIR/attest/NAME */
};

/* Platform evidence the launch driver may leave for `carapace attest`. */
enum attest_platform_kind { ATTEST_PLATFORM_SNP_REPORT, ATTEST_PLATFORM_SNP_CERT_TABLE, ATTEST_PLATFORM_TDX_QUOTE };

/* state_dir NULL: $CARAPACE_STATE_DIR, then /var/lib/carapace. */
const char *attest_state_dir(const char *state_dir);
/* STATE_DIR/attest/NAME into out (validates the name). */
int attest_launch_vm_dir(const char *state_dir, const char *vm_name, char *out, size_t out_len, struct cp_err *err);

/* Start a VM's log: reset `pcr` (must be resettable from locality 0: 16 or 23), clear
 * earlier files of this VM, record a vm-start event with its name. One VM per PCR at a time:
 * a later launch on the same PCR makes this VM's log stop replaying (verification fails). */
int attest_launch_begin(struct attest_launch *l, struct attest_tpm *tpm, const char *state_dir, const char *vm_name,
			uint32_t pcr, struct cp_err *err);
/* Append an event, extend the PCR with its digest, save the log (atomically). */
int attest_launch_record(struct attest_launch *l, enum attest_event_type type, const void *data, size_t len,
			 struct cp_err *err);
/* Save the VM configuration and record its SHA-256 as a vm-config event. */
int attest_launch_record_config(struct attest_launch *l, const void *config, size_t len, struct cp_err *err);
/* Save hardware evidence for the bundle (not extended: it is signed by the hardware). */
int attest_launch_save_platform(struct attest_launch *l, enum attest_platform_kind kind, const void *data, size_t len,
				struct cp_err *err);
void attest_launch_end(struct attest_launch *l); /* frees the in-memory log */

/* File helpers shared with the CLI. */
int attest_file_write_atomic(const char *path, const void *data, size_t len, struct cp_err *err);
const char *attest_platform_file(enum attest_platform_kind kind);

#endif

/* The hardware-evidence part of a relying party's policy (JSON, see docs/attest-hw.md):
 * exact-match fields and minimums for SNP reports and TDX quotes. Validating reader, pure. */
#ifndef CARAPACE_ATTEST_HW_POLICY_H
#define CARAPACE_ATTEST_HW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/hw/snp_report.h"
#include "common/err.h"

struct attest_hw_bytes {
	bool set;
	size_t len;
	uint8_t v[64];
};

struct attest_hw_snp_policy {
	struct attest_hw_bytes measurement, host_data, report_data, id_key_digest, author_key_digest;
	struct attest_hw_bytes family_id, image_id, chip_id;
	bool has_min_tcb;
	struct attest_hw_snp_tcb min_tcb; /* compared with reported_tcb and launch_tcb */
	bool has_vmpl;
	uint32_t vmpl;
	bool has_min_guest_svn;
	uint32_t min_guest_svn;
	bool allow_migrate_ma;           /* default false: a migration agent is refused */
	bool allow_smt;                  /* default true */
	bool require_single_socket;      /* default false */
	bool allow_provisional_firmware; /* default false: committed TCB/version must equal current */
};

struct attest_hw_tdx_policy {
	struct attest_hw_bytes mrtd, rtmr[4], mrconfigid, mrowner, mrownerconfig, report_data, mrseam;
	struct attest_hw_bytes xfam, td_attributes; /* the 8 raw quote bytes, as hex */
};

struct attest_hw_policy {
	bool has_snp, has_tdx;
	struct attest_hw_snp_policy snp;
	struct attest_hw_tdx_policy tdx;
};

/* Defaults (allow_smt = true, everything else unset/false). */
void attest_hw_policy_init(struct attest_hw_policy *p);
/* {"snp": {...}, "tdx": {...}}; unknown keys, wrong types and wrong lengths are errors naming
 * the key. */
int attest_hw_policy_parse(const char *text, size_t len, struct attest_hw_policy *out, struct cp_err *err);

#endif

/* Reference values: what a relying party (or the launch policy on its behalf) expects of a
 * confidential VM's hardware evidence, one schema for the launch policy's "reference" object,
 * carapace-verify snp|tdx --policy and the evidence policy's "platform" object (docs/refvals.md).
 * A pure reader over common/jread.c and a pure matcher; the verifiers decide what a mismatch
 * means. */
#ifndef CARAPACE_COMMON_REFVALS_H
#define CARAPACE_COMMON_REFVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/jread.h"

#define CP_REFVALS_DIGESTS_MAX 16 /* accepted launch measurements / MRTDs */
#define CP_REFVALS_DIGEST_LEN 48  /* SHA-384: SNP MEASUREMENT, TDX MRTD and RTMRs */
#define CP_REFVALS_BYTES_MAX 64   /* the longest exact-match field (REPORT_DATA, CHIP_ID) */
#define CP_REFVALS_TDX_RTMRS 4

/* One exact-match field: set when the document names it. */
struct cp_refvals_bytes {
	bool set;
	size_t len;
	uint8_t v[CP_REFVALS_BYTES_MAX];
};

/* Accepted values of a launch digest: n == 0 means "not constrained". */
struct cp_refvals_digests {
	size_t n;
	uint8_t d[CP_REFVALS_DIGESTS_MAX][CP_REFVALS_DIGEST_LEN];
};

/* An SEV-SNP TCB version, component by component (fmc exists on Turin and later only). */
struct cp_refvals_tcb {
	uint8_t bootloader, tee, snp, microcode, fmc;
};

struct cp_refvals_snp {
	struct cp_refvals_digests measurements;
	struct cp_refvals_bytes host_data, report_data, id_key_digest, author_key_digest;
	struct cp_refvals_bytes family_id, image_id, chip_id;
	bool has_min_tcb;
	struct cp_refvals_tcb min_tcb; /* compared with reported_tcb and launch_tcb */
	bool has_vmpl;
	uint32_t vmpl;
	bool has_min_guest_svn;
	uint32_t min_guest_svn;
	bool allow_debug;                /* default false */
	bool allow_migrate_ma;           /* default false: a migration agent is refused */
	bool allow_smt;                  /* default true */
	bool require_single_socket;      /* default false */
	bool allow_provisional_firmware; /* default false: committed TCB/version must equal current */
};

struct cp_refvals_tdx {
	struct cp_refvals_digests mrtd;
	struct cp_refvals_bytes rtmr[CP_REFVALS_TDX_RTMRS];
	struct cp_refvals_bytes mrconfigid, mrowner, mrownerconfig, report_data, mrseam;
	struct cp_refvals_bytes xfam, td_attributes; /* the 8 raw quote bytes */
	bool allow_debug;                             /* default false */
};

struct cp_refvals {
	bool has_snp, has_tdx; /* the section was given */
	struct cp_refvals_snp snp;
	struct cp_refvals_tdx tdx;
};

/* Defaults: nothing constrained, allow_smt true. */
void cp_refvals_init(struct cp_refvals *rv);

/* Read {"snp": {...}, "tdx": {...}} (either optional) at r's current path. Unknown keys, wrong
 * types and wrong lengths are errors naming the field's path; a field given in two spellings
 * (docs/refvals.md) is an error. On error *rv is back to its defaults. */
int cp_refvals_read(struct cp_jread *r, struct json_object *o, struct cp_refvals *rv);

/* The canonical form (first spellings, every default explicit) of the sections asked for;
 * json-c object, the caller puts it. Reading it back gives the same values. */
struct json_object *cp_refvals_to_json(const struct cp_refvals *rv, bool snp, bool tdx);

/* The matcher: true when the evidence's value meets the reference. An unset reference (set
 * false, n == 0) always matches; callers that report PASS/FAIL look at set / n first. */
bool cp_refvals_digest_listed(const struct cp_refvals_digests *want, const uint8_t have[CP_REFVALS_DIGEST_LEN]);
bool cp_refvals_bytes_match(const struct cp_refvals_bytes *want, const uint8_t *have, size_t len);
/* Every component of have is at least min's. */
bool cp_refvals_tcb_meets(const struct cp_refvals_tcb *min, const struct cp_refvals_tcb *have);

#endif

/* The relying party's policy file for carapace-verify snp|tdx --policy: the reference-values
 * schema (common/refvals.h, docs/refvals.md) as a whole document. Pure. */
#ifndef CARAPACE_ATTEST_HW_VERIFY_POLICY_H
#define CARAPACE_ATTEST_HW_VERIFY_POLICY_H

#include <stddef.h>

#include "common/err.h"
#include "common/refvals.h"

/* {"snp": {...}, "tdx": {...}} through the one strict reader and cp_refvals_read(); on error
 * *out holds the defaults (cp_refvals_init) and err names the key. */
int attest_hw_policy_parse(const char *text, size_t len, struct cp_refvals *out, struct cp_err *err);

#endif

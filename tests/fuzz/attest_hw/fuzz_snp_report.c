/* libFuzzer target: the SEV-SNP report reader, its reserved-field check and TCB decoding must
 * never crash or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/hw/snp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_hw_snp_report r;
	struct attest_hw_snp_tcb t;
	struct cp_err err = { 0 };

	if (attest_hw_snp_report_parse(data, size, &r, &err) == 0) {
		(void)attest_hw_snp_report_check_reserved(data, size, &err);
		for (int p = ATTEST_HW_SNP_PRODUCT_UNKNOWN; p <= ATTEST_HW_SNP_PRODUCT_TURIN; p++)
			(void)attest_hw_snp_tcb_decode(r.reported_tcb, (enum attest_hw_snp_product)p, &t, &err);
		(void)attest_hw_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
	}
	return 0;
}

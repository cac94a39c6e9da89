/* libFuzzer target: the PCS collateral readers (response split, TCB info and QE identity
 * evaluation) on arbitrary JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/hw/tdx_collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct attest_hw_tdx_quote q;
	static const struct attest_hw_pck_info pck;
	struct cp_err err = { 0 };
	char *text = NULL, status[48];
	uint8_t sig[64];

	if (attest_hw_collateral_split(data, size, "tcbInfo", &text, sig, &err) == 0)
		(void)attest_hw_tcbinfo_eval(text, &q, &pck, 1687219200, status, sizeof(status), &err);
	free(text);
	text = NULL;
	if (attest_hw_collateral_split(data, size, "enclaveIdentity", &text, sig, &err) == 0)
		(void)attest_hw_qeid_eval(text, &q, 1687219200, status, sizeof(status), &err);
	free(text);
	return 0;
}

/* Test tool: wrap tpm2-tools output (tpm2_quote -m/-s/-o -F values, tpm2_readpublic -f tss
 * and -f pem), a carapace launch record and the host launch log into a carapace evidence bundle, so the verifier can
 * be run on a quote that carapace did not make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/evidence.h"
#include "common/util.h"

static void load(const char *path, struct attest_blob *b)
{
	struct cp_err err = { 0 };
	if (cp_file_read(path, 1 << 20, &b->data, &b->len, &err) < 0) {
		fprintf(stderr, "evidence-assemble: %s\n", err.msg);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct attest_evidence ev = { 0 };
	struct attest_blob pem = { 0 }, values = { 0 };
	struct cp_err err = { 0 };
	char *json, *save = NULL;
	uint32_t n = 0;

	if (argc != 10) {
		fprintf(stderr, "usage: evidence-assemble QUOTE SIG AK-TPM2B-PUBLIC AK-PEM LAUNCH-RECORD HOST-LAUNCH-LOG "
				"PCR-VALUES PCRLIST OUT\n");
		return 2;
	}
	load(argv[1], &ev.quote);
	load(argv[2], &ev.signature);
	load(argv[3], &ev.ak_public);
	load(argv[4], &pem);
	load(argv[5], &ev.event_log);
	load(argv[6], &ev.launch_log);
	argv++; /* the rest as before */
	load(argv[6], &values);
	ev.ak_pem = (char *)pem.data;
	for (char *tok = strtok_r(argv[7], ",", &save); tok && n < ATTEST_EVIDENCE_MAX_PCRS; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (cp_parse_u64(tok, &v) < 0 || (n + 1) * 32 > values.len)
			return 2;
		ev.pcrs[n].index = (uint32_t)v;
		memcpy(ev.pcrs[n].value, values.data + n * 32, 32);
		n++;
	}
	ev.pcr_count = n;
	if (attest_evidence_to_json(&ev, &json, &err) < 0) {
		fprintf(stderr, "evidence-assemble: %s\n", err.msg);
		return 1;
	}
	FILE *f = fopen(argv[8], "w");
	if (!f || fputs(json, f) < 0 || fclose(f) != 0)
		return 1;
	free(json);
	free(values.data);
	attest_evidence_free(&ev);
	return 0;
}

/* Benchmark: in-process verification time per evidence bundle (parse + every check), the cost
 * a relying party's service pays without process start-up. Usage: bench-verify FILE NONCE PIN N */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "attest/tpm/verify.h"
#include "common/util.h"

int main(int argc, char **argv)
{
	struct attest_verify_opts o = { 0 };
	struct attest_verify_result r;
	struct cp_err err = { 0 };
	uint8_t nonce[64], pin[1][32], *data;
	size_t nonce_len, len;
	struct timespec a, b, ca, cb;
	uint64_t n;

	if (argc != 5 || cp_file_read(argv[1], ATTEST_EVIDENCE_MAX_BYTES, &data, &len, &err) < 0 ||
	    cp_hex_decode_var(argv[2], nonce, sizeof(nonce), &nonce_len, &err) < 0 ||
	    cp_hex_decode(argv[3], pin[0], 32, &err) < 0 || cp_parse_u64(argv[4], &n) < 0 || !n) {
		fprintf(stderr, "usage: bench-verify FILE NONCE-HEX PIN-HEX N (%s)\n", err.msg);
		return 2;
	}
	o.nonce = nonce;
	o.nonce_len = nonce_len;
	o.ak_pins = (const uint8_t(*)[32])pin;
	o.n_ak_pins = 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (uint64_t i = 0; i < n; i++)
		if (attest_verify_json((const char *)data, len, &o, &r) < 0 || !r.passed) {
			fprintf(stderr, "bench-verify: the bundle does not verify\n");
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / (double)n;
	double cpu = ((double)(cb.tv_sec - ca.tv_sec) * 1e9 + (double)(cb.tv_nsec - ca.tv_nsec)) / 1e3 / (double)n;
	/* CPU time is the figure to compare on a shared machine: wall time includes waiting for a core. */
	printf("in-process verification: %.1f us wall, %.1f us CPU per bundle (%llu runs, %zu-byte bundle)\n", us, cpu,
	       (unsigned long long)n, len);
	free(data);
	return 0;
}

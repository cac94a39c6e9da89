/* Benchmark of memenc's pure core: time plan build + measurement walk on a firmware file
 * already in memory (file reading excluded), and report the firmware bytes hashed per second.
 * usage: bench-memenc-core FIRMWARE snp|sev|tdx ITERATIONS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "memenc/plan.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct memenc_launch_opts o = { .vcpus = 4, .vcpu_sig = 0x800f12, .guest_features = 1 };
	struct cp_err err = { 0 };
	uint8_t *fw, out[48];
	size_t len, n, hashed = 0;
	double best = 1e9, t0;
	long iters;

	if (argc != 4) {
		fprintf(stderr, "usage: %s FIRMWARE snp|sev|tdx ITERATIONS\n", argv[0]);
		return 2;
	}
	if (cp_file_read(argv[1], 512u << 20, &fw, &len, &err) < 0 ||
	    memenc_platform_parse(argv[2], &o.platform, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	iters = strtol(argv[3], NULL, 10);
	for (long i = 0; i < iters; i++) {
		struct memenc_plan plan;

		t0 = now();
		if (memenc_plan_build(&plan, fw, len, &o, &err) < 0 ||
		    memenc_plan_measure(&plan, out, &n, NULL, NULL, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		t0 = now() - t0;
		if (t0 < best)
			best = t0;
		/* Bytes the walk feeds to SHA: SNP page contents (NORMAL, VMSA) plus a 112-byte
		 * PAGE_INFO per page; TDX 128 bytes per PAGE.ADD plus 16 x (128 + 256) per
		 * measured page; SEV the contents (SHA-256, not comparable with the SHA-384 ceiling). */
		hashed = 0;
		for (size_t k = 0; k < plan.n; k++) {
			const struct memenc_plan_op *op = &plan.ops[k];
			size_t pages = (op->len + 4095) / 4096;
			switch (op->type) {
			case MEMENC_OP_SNP_NORMAL:
			case MEMENC_OP_SNP_VMSA: hashed += op->len + pages * 112; break;
			case MEMENC_OP_SNP_ZERO:
			case MEMENC_OP_SNP_UNMEASURED:
			case MEMENC_OP_SNP_SECRETS:
			case MEMENC_OP_SNP_CPUID: hashed += pages * 112; break;
			case MEMENC_OP_TDX_ADD: hashed += pages * 128; break;
			case MEMENC_OP_TDX_ADD_EXTEND: hashed += pages * (128 + 16 * 384); break;
			case MEMENC_OP_SEV_DATA:
			case MEMENC_OP_SEV_VMSA: hashed += op->len; break;
			}
		}
		memenc_plan_free(&plan);
	}
	printf("%s %s: %zu bytes, best of %ld: %.3f ms, %zu bytes fed to SHA, %.1f MB/s\n", argv[2], argv[1],
	       len, iters, best * 1e3, hashed, (double)hashed / best / 1e6);
	free(fw);
	return 0;
}

/* libFuzzer target: the OVMF footer table, ASEV and TDVF readers and the plan builder on any
 * image. The input is placed at the end of a 4 KiB-aligned buffer so the footer is reachable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memenc/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = (size + 4095) & ~(size_t)4095;
	uint8_t *img;
	struct memenc_ovmf_table t;
	struct memenc_sev_metadata sev;
	struct memenc_tdvf_metadata tdvf;

	if (size == 0 || size > (1u << 20))
		return 0;
	img = calloc(1, len);
	if (!img)
		return 0;
	memcpy(img + len - size, data, size);
	if (memenc_ovmf_table_parse(img, len, &t, NULL) == 0) {
		(void)memenc_sev_metadata_parse(img, len, &t, &sev, NULL);
		(void)memenc_tdvf_metadata_parse(img, len, &t, &tdvf, NULL);
		for (int p = 0; p <= MEMENC_PLATFORM_TDX; p++) {
			struct memenc_launch_opts o = { .platform = (enum memenc_platform)p, .vcpus = 2,
							.vcpu_sig = 0x800f12, .guest_features = 1,
							.vmm = (enum memenc_vmm_type)(size % 3), .kernel = size & 1 };
			struct memenc_plan plan;
			uint8_t out[48];
			size_t n;

			if (memenc_plan_build(&plan, img, len, &o, NULL) == 0) {
				/* bound the work: measuring multi-megabyte TDVF sections would only slow the run */
				uint64_t total = 0;
				for (size_t i = 0; i < plan.n; i++)
					total += plan.ops[i].len;
				if (total <= (4u << 20))
					(void)memenc_plan_measure(&plan, out, &n, NULL, NULL, NULL);
				memenc_plan_free(&plan);
			}
		}
	}
	free(img);
	return 0;
}

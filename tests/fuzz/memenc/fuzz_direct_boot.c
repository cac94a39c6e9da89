/* libFuzzer target: the direct-boot layout's bzImage setup-header reader and layout builder on
 * any kernel bytes. The first input byte picks platform, vCPU count and memory size, so the
 * placement checks (init_size, pref_address, initrd overlap, cmdline_size) see extreme values. */
#include <stdint.h>
#include <stdlib.h>

#include "memenc/direct_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t initrd[8192];
	struct db_layout l;
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	struct db_input in = {
		.platform = (enum db_platform)(sel % 3), .kernel = data + 1, .kernel_len = size - 1,
		.initrd = (sel & 0x04) ? initrd : NULL, .initrd_len = (sel & 0x04) ? sizeof(initrd) : 0,
		.cmdline = (sel & 0x08) ? "console=ttyS0" : NULL, .vcpus = 1u + (sel >> 6) * 100u,
		.mem_size = (sel & 0x10) ? (64ull << 20) : (5ull << 30), .tdx_stub = (sel & 0x20) != 0,
	};
	if (db_layout_build(&in, &l, NULL) == 0)
		db_layout_free(&l);
	return 0;
}

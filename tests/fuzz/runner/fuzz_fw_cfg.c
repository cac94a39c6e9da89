/* libFuzzer target: guest port accesses to fw_cfg (selector, data, DMA address) with DMA
 * descriptors and buffers in a small guest memory whose middle page is refused (as a private
 * page is). Nothing may crash or touch memory the accessor did not hand out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/fw_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[3 * 4096];
static uint8_t *mem(void *ctx, uint64_t gpa, uint64_t len, bool write)
{
	(void)ctx, (void)write;
	if (gpa > sizeof(ram) || len > sizeof(ram) - gpa)
		return NULL;
	if (gpa < 8192 && gpa + len > 4096)
		return NULL; /* the "private" page */
	return ram + gpa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fw_cfg c;
	static uint8_t bz[4096];
	struct cp_err err = { 0 };

	memset(ram, 0, sizeof(ram));
	memcpy(bz + 0x202, "HdrS", 4);
	if (fw_cfg_init(&c, 2, mem, NULL, &err) < 0 || fw_cfg_add_kernel(&c, bz, sizeof(bz), bz, 100, "x", &err) < 0)
		abort();
	/* The first 512 bytes seed guest memory (descriptors live there). */
	if (size > 512) {
		memcpy(ram, data, 512);
		memcpy(ram + 8192, data, 512);
		data += 512;
		size -= 512;
	}
	while (size >= 6) {
		uint8_t buf[4];
		uint16_t port = (uint16_t)(0x50e + data[0] % 16);
		unsigned sz = 1u + data[1] % 4;
		memcpy(buf, data + 2, 4);
		fw_cfg_io(&c, port, data[1] & 0x80, buf, sz);
		data += 6;
		size -= 6;
	}
	fw_cfg_free(&c);
	return 0;
}

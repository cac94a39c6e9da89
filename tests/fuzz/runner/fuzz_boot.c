/* libFuzzer target: the kernel loaders (runner/boot.c: ELF/PVH note, vmlinux, bzImage setup
 * header) on any file. Input: byte 0 = vCPU count, byte 1 = flags (bit 0: an initrd of
 * byte 2 pages, bit 1: a long command line), then the kernel image. On success everything the
 * loader reports must lie in guest RAM: the image, the initrd (page-aligned, above the image)
 * and the entry point. Guest RAM is 4 MiB, so big images fail fast with E2BIG. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/boot.h"
#include "runner/e820.h"
#include "runner/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (4ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram, initrd[256 * 4096];
	static char long_cmdline[4096];
	struct gmem g;
	struct e820_map map;
	struct boot_result r;
	struct cp_err err = { 0 };
	uint8_t *kernel;
	int rc;

	if (size < 3)
		return 0;
	if (!ram) {
		ram = calloc(1, RAM);
		if (!ram)
			abort();
		memset(long_cmdline, 'c', sizeof(long_cmdline) - 1);
	}
	g = (struct gmem){ ram, RAM };
	e820_build(RAM, &map);
	/* the image in a heap block of exactly its size, so any read past it is caught */
	kernel = malloc(size - 3 ? size - 3 : 1);
	if (!kernel)
		return 0;
	memcpy(kernel, data + 3, size - 3);
	struct boot_input in = {
		.kernel = kernel, .kernel_len = size - 3,
		.initrd = (data[1] & 1) ? initrd : NULL, .initrd_len = (data[1] & 1) ? (size_t)data[2] * 4096 + 1 : 0,
		.cmdline = (data[1] & 2) ? long_cmdline : "console=ttyS0",
		.ncpus = data[0],
	};
	rc = boot_load(&g, &map, &in, &r, &err);
	if (rc > 0)
		abort(); /* 0 or -errno only */
	if (rc < 0 && !err.msg[0])
		abort(); /* every refusal says why */
	if (rc == 0) {
		if (r.kernel_start < GP_HIGH_START || r.kernel_end > RAM || r.kernel_start >= r.kernel_end)
			abort();
		if (r.regs.rip >= RAM)
			abort();
		if (r.initrd_gpa && (r.initrd_gpa % 4096 || r.initrd_gpa < r.kernel_end ||
				     r.initrd_gpa + in.initrd_len > RAM))
			abort();
	}
	free(kernel);
	return 0;
}

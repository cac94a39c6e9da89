/* fw_cfg model (runner/fw_cfg.c): the port interface, the file directory, the memory map, the
 * direct-boot split of a bzImage, and DMA with its error reporting and hostile descriptors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "runner/fw_cfg.h"

/* Guest memory for DMA: 64 KiB at GPA 0x10000; the page at 0x18000 is "private" (refused). */
static uint8_t ram[0x10000];
static uint8_t *mem(void *ctx, uint64_t gpa, uint64_t len, bool write)
{
	(void)ctx, (void)write;
	if (gpa < 0x10000 || len > sizeof(ram) || gpa - 0x10000 > sizeof(ram) - len)
		return NULL;
	if (gpa < 0x19000 && gpa + len > 0x18000)
		return NULL;
	return ram + (gpa - 0x10000);
}

static void sel(struct fw_cfg *c, uint16_t key)
{
	uint8_t b[2];
	cp_put_le16(b, key);
	fw_cfg_io(c, FW_CFG_PORT_SEL, true, b, 2);
}

static void pio_read(struct fw_cfg *c, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fw_cfg_io(c, FW_CFG_PORT_DATA, false, out + i, 1);
}

/* Write a DMA descriptor at gpa and kick it; returns the control word written back. */
static uint32_t dma(struct fw_cfg *c, uint64_t gpa, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *d = ram + (gpa - 0x10000), b[4];
	cp_put_be32(d, control);
	cp_put_be32(d + 4, len);
	cp_put_be64(d + 8, addr);
	cp_put_be32(b, (uint32_t)(gpa >> 32));
	fw_cfg_io(c, FW_CFG_PORT_DMA, true, b, 4);
	cp_put_be32(b, (uint32_t)gpa);
	fw_cfg_io(c, FW_CFG_PORT_DMA + 4, true, b, 4);
	return cp_be32(d);
}

static struct fw_cfg *fresh(void)
{
	static struct fw_cfg c;
	struct cp_err err = { 0 };
	memset(ram, 0, sizeof(ram));
	assert_int_equal(fw_cfg_init(&c, 4, mem, NULL, &err), 0);
	return &c;
}

static void test_signature_id_cpus(void **state)
{
	struct fw_cfg *c = fresh();
	uint8_t b[8];
	sel(c, FW_CFG_SIGNATURE);
	pio_read(c, b, 6);
	assert_memory_equal(b, "QEMU\0\0", 6); /* zeros past the end */
	sel(c, FW_CFG_ID);
	pio_read(c, b, 4);
	assert_int_equal(cp_le32(b), 3); /* traditional + DMA */
	sel(c, FW_CFG_NB_CPUS);
	pio_read(c, b, 2);
	assert_int_equal(cp_le16(b), 4);
	sel(c, 0x1234); /* unknown key: zeros */
	pio_read(c, b, 4);
	assert_int_equal(cp_le32(b), 0);
	fw_cfg_io(c, FW_CFG_PORT_DMA, false, b, 4);
	fw_cfg_io(c, FW_CFG_PORT_DMA + 4, false, b + 4, 4);
	assert_memory_equal(b, "QEMU CFG", 8);
	fw_cfg_free(c);
}

static void test_file_dir_and_e820(void **state)
{
	struct fw_cfg *c = fresh();
	struct cp_err err = { 0 };
	const uint64_t r[2][2] = { { 0, 0xc0000000ull }, { 0x100000000ull, 0x40000000ull } };
	uint8_t dir[4 + 64], e[40];

	assert_int_equal(fw_cfg_add_e820(c, r, 2, &err), 0);
	assert_int_equal(fw_cfg_add_file(c, "etc/e820", "x", 1, &err), -EEXIST);
	sel(c, FW_CFG_FILE_DIR);
	pio_read(c, dir, sizeof(dir));
	assert_int_equal(cp_be32(dir), 1);
	assert_int_equal(cp_be32(dir + 4), 40);
	assert_int_equal(dir[8] << 8 | dir[9], FW_CFG_FILE_FIRST);
	assert_string_equal((char *)dir + 12, "etc/e820");
	sel(c, FW_CFG_FILE_FIRST);
	pio_read(c, e, sizeof(e));
	assert_int_equal(cp_le64(e + 20), 0x100000000ull);
	assert_int_equal(cp_le64(e + 28), 0x40000000ull);
	assert_int_equal(cp_le32(e + 36), 1);
	assert_int_equal(fw_cfg_add(c, FW_CFG_FILE_FIRST, "x", 1, &err), -EINVAL); /* file keys are the directory's */
	fw_cfg_free(c);
}

static uint8_t bz[8192];
static void make_bzimage(void)
{
	for (size_t i = 0; i < sizeof(bz); i++)
		bz[i] = (uint8_t)(i * 13 + 1);
	bz[0x1f1] = 3; /* 3 setup sectors + the boot sector = 2048 bytes */
	memcpy(bz + 0x202, "HdrS", 4);
}

static void test_kernel_split_is_the_file(void **state)
{
	struct fw_cfg *c = fresh();
	struct cp_err err = { 0 };
	uint8_t b[4], back[sizeof(bz)], cl[12];

	make_bzimage();
	assert_int_equal(fw_cfg_add_kernel(c, bz, sizeof(bz), (const uint8_t *)"initrd", 6, "quiet", &err), 0);
	sel(c, FW_CFG_SETUP_SIZE);
	pio_read(c, b, 4);
	assert_int_equal(cp_le32(b), 2048);
	sel(c, FW_CFG_KERNEL_SIZE);
	pio_read(c, b, 4);
	assert_int_equal(cp_le32(b), sizeof(bz) - 2048);
	/* Setup then kernel, unmodified: exactly the file the launch measured. */
	sel(c, FW_CFG_SETUP_DATA);
	pio_read(c, back, 2048);
	sel(c, FW_CFG_KERNEL_DATA);
	pio_read(c, back + 2048, sizeof(bz) - 2048);
	assert_memory_equal(back, bz, sizeof(bz));
	sel(c, FW_CFG_CMDLINE_SIZE);
	pio_read(c, b, 4);
	assert_int_equal(cp_le32(b), 6);
	sel(c, FW_CFG_CMDLINE_DATA);
	pio_read(c, cl, 6);
	assert_memory_equal(cl, "quiet", 6);
	/* Not a bzImage. */
	memcpy(bz + 0x202, "HdrX", 4);
	assert_int_equal(fw_cfg_add_kernel(c, bz, sizeof(bz), NULL, 0, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bzImage"));
	fw_cfg_free(c);
}

static void test_dma_read_skip_select(void **state)
{
	struct fw_cfg *c = fresh();
	struct cp_err err = { 0 };

	make_bzimage();
	assert_int_equal(fw_cfg_add_kernel(c, bz, sizeof(bz), NULL, 0, NULL, &err), 0);
	/* Select the kernel, skip 16 bytes, read 100 into 0x12000. */
	assert_int_equal(dma(c, 0x11000, FW_CFG_KERNEL_DATA << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_SKIP, 16, 0), 0);
	assert_int_equal(dma(c, 0x11000, FW_CFG_DMA_READ, 100, 0x12000), 0);
	assert_memory_equal(ram + 0x2000, bz + 2048 + 16, 100);
	/* Reading past the end gives zeros. */
	assert_int_equal(dma(c, 0x11000, FW_CFG_DMA_READ, 0x3000, 0x12000), 0);
	for (size_t i = sizeof(bz) - 2048 - 116; i < 0x3000; i++)
		if (ram[0x2000 + i])
			fail_msg("byte %zu past the kernel is not zero", i);
	assert_int_equal(c->dma_errors, 0);
	fw_cfg_free(c);
}

static void test_dma_refusals(void **state)
{
	struct fw_cfg *c = fresh();
	uint8_t before[0x1000];

	memcpy(before, ram + 0x8000, sizeof(before));
	/* Into a private page, across RAM's end, a write request: the error bit, nothing written. */
	assert_int_equal(dma(c, 0x11000, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x18000),
			 FW_CFG_DMA_ERROR);
	assert_memory_equal(ram + 0x8000, before, sizeof(before));
	assert_int_equal(dma(c, 0x11000, FW_CFG_DMA_READ, 0x100, 0x1ff80), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(c, 0x11000, FW_CFG_DMA_READ, 0xffffffffu, 0x10000), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(c, 0x11000, FW_CFG_DMA_WRITE, 4, 0x12000), FW_CFG_DMA_ERROR);
	assert_int_equal(c->dma_errors, 4);
	/* A descriptor the model cannot reach is dropped: a private page, outside RAM, wrapping. */
	{
		uint8_t b[4];
		cp_put_be32(b, 0);
		fw_cfg_io(c, FW_CFG_PORT_DMA, true, b, 4);
		cp_put_be32(b, 0x18ff8);
		fw_cfg_io(c, FW_CFG_PORT_DMA + 4, true, b, 4);
		cp_put_be32(b, 0xffffffffu);
		fw_cfg_io(c, FW_CFG_PORT_DMA, true, b, 4);
		fw_cfg_io(c, FW_CFG_PORT_DMA + 4, true, b, 4);
	}
	assert_int_equal(c->dma_errors, 4);
	/* Odd sizes and ports: ignored, reads zero. */
	{
		uint8_t b[4] = { 1, 2, 3, 4 };
		fw_cfg_io(c, FW_CFG_PORT_SEL, true, b, 1);
		fw_cfg_io(c, FW_CFG_PORT_DMA + 1, true, b, 4);
		fw_cfg_io(c, 0x512, false, b, 2);
		assert_int_equal(b[0] | b[1], 0);
	}
	fw_cfg_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_id_cpus),
		cmocka_unit_test(test_file_dir_and_e820),
		cmocka_unit_test(test_kernel_split_is_the_file),
		cmocka_unit_test(test_dma_read_skip_select),
		cmocka_unit_test(test_dma_refusals),
	};
	return cmocka_run_group_tests_name("runner-fw_cfg", tests, NULL, NULL);
}

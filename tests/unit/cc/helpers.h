/* Shared by the confidential-launch tests: Debian's OVMF image (a visible skip when absent) and
 * a double with the default configuration. */
#ifndef CARAPACE_TESTS_UNIT_CC_HELPERS_H
#define CARAPACE_TESTS_UNIT_CC_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/cc/cc.h"
#include "tests/unit/cc/kd_ops.h"

#define OVMF_PATH "/usr/share/ovmf/OVMF.fd"

static uint8_t *ovmf;
static size_t ovmf_len;

/* Exit 77 (meson SKIP) with the reason when Debian's OVMF is not installed. */
static inline void ovmf_load_or_skip(void)
{
	struct cp_err err = { 0 };
	if (cp_file_read(OVMF_PATH, 64u << 20, &ovmf, &ovmf_len, &err) < 0) {
		printf("SKIP: %s is not readable (%s): install Debian's 'ovmf' package\n", OVMF_PATH, err.msg);
		exit(77);
	}
}

static inline struct cc_launch_cfg cfg_for(enum cc_platform p, unsigned vcpus)
{
	struct cc_launch_cfg c;
	memset(&c, 0, sizeof(c));
	c.platform = p;
	c.firmware = ovmf;
	c.firmware_len = ovmf_len;
	c.mem_size = 64ull << 20;
	c.vcpus = vcpus;
	for (int i = 0; i < 32; i++)
		c.host_data[i] = (uint8_t)(0xa0 + i);
	return c;
}

static inline struct kvm_double *double_new(void)
{
	struct kd_config c;
	kd_config_default(&c);
	return kd_new(&c);
}

/* A synthetic bzImage in k[0..len): 4 setup sectors, boot protocol `ver`, LOADED_HIGH,
 * XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G, init_size 8 MiB, pref_address 16 MiB, and a
 * patterned payload after the setup sectors. */
static inline void cc_test_bzimage(uint8_t *k, size_t len, uint16_t ver)
{
	memset(k, 0, len);
	k[0x1f1] = 4;
	cp_put_le16(k + 0x1fe, 0xaa55);
	k[0x200] = 0xeb;
	k[0x201] = 0x6a;
	memcpy(k + 0x202, "HdrS", 4);
	cp_put_le16(k + 0x206, ver);
	k[0x211] = 0x01;
	cp_put_le32(k + 0x22c, 0x7fffffff);
	cp_put_le32(k + 0x230, 0x200000);
	k[0x236] = 0x03;
	cp_put_le32(k + 0x238, 2047);
	cp_put_le64(k + 0x258, 0x1000000);
	cp_put_le32(k + 0x260, 8u << 20);
	for (size_t i = 5 * 512; i < len; i++)
		k[i] = (uint8_t)(i * 7);
}

/* A firmware-less (direct-boot) launch of kernel k with command line cmdline. */
static inline struct cc_launch_cfg cc_test_direct_cfg(enum cc_platform p, unsigned vcpus, uint64_t mem,
						      const uint8_t *k, size_t klen, const char *cmdline)
{
	struct cc_launch_cfg c = cfg_for(p, vcpus);
	c.firmware = NULL;
	c.firmware_len = 0;
	c.mem_size = mem;
	c.kernel = k;
	c.kernel_len = klen;
	c.cmdline = cmdline;
	return c;
}

#endif

/* Shared by the confidential-launch tests: Debian's OVMF image (a visible skip when absent) and
 * a double with the default configuration. */
#ifndef CARAPACE_TESTS_UNIT_CC_HELPERS_H
#define CARAPACE_TESTS_UNIT_CC_HELPERS_H

#include <stdio.h>
#include <stdlib.h>

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

#endif

/* libFuzzer target: the run-time exit handlers of confidential guests fed guest-controlled
 * kvm_run contents (exit reason, payload), KVM_RUN's return value and a shared-memory GetQuote
 * buffer, on an SEV-SNP and a TDX VM launched once on the strict double. Nothing may crash,
 * read outside guest RAM or the kvm_run page, or leave the VMM's private-page record out of step
 * with the double's. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>

#include "common/util.h"
#include "runner/cc/cc.h"
#include "runner/kvm_cc_uapi.h"
#include "tests/double/kvm_double.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kvm_double *kd[2];
static struct cc_vm vm[2];
static bool ready[2];
static uint8_t *fw;
static size_t fw_len;

static void launch(int i)
{
	struct kd_config c;
	static struct cc_launch_cfg cfg[2];
	struct cp_err err = { 0 };

	kd_config_default(&c);
	kd[i] = kd_new(&c);
	cfg[i] = (struct cc_launch_cfg){ .platform = i ? CC_TDX : CC_SNP, .firmware = fw, .firmware_len = fw_len,
					 .mem_size = 32ull << 20, .vcpus = 1 };
	ready[i] = kd[i] && cc_launch(&kd_ops, kd[i], &cfg[i], &vm[i], &err) >= 0;
	if (!ready[i])
		fprintf(stderr, "fuzz-cc-exits: launch %d: %s\n", i, err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int rets[] = { 0, -EFAULT, -EINTR, -EHWPOISON };
	static bool init;
	struct cp_err err = { 0 };
	int p, run_ret;
	uint8_t *run;

	if (!init) {
		init = true;
		if (cp_file_read("/usr/share/ovmf/OVMF.fd", 64u << 20, &fw, &fw_len, NULL) == 0) {
			launch(0);
			launch(1);
		}
	}
	if (size < 2)
		return 0;
	p = data[0] & 1;
	if (!ready[p])
		return 0;
	run_ret = rets[(data[0] >> 1) & 3];
	run = vm[p].run[0];
	data++, size--;
	/* The exit: reason (4 bytes at 8) and the union at 32, as the guest/KVM could leave them. */
	memset(run + 8, 0, 256);
	memcpy(run + 8, data, size < 4 ? size : 4);
	if (size > 4)
		memcpy(run + 32, data + 4, size - 4 < 224 ? size - 4 : 224);
	/* And a GetQuote buffer in the first 2 pages at 1 MiB, in case the guest made them shared. */
	if (size > 228)
		memcpy(vm[p].shared + 0x100000, data + 228, size - 228 < 0x2000 ? size - 228 : 0x2000);
	(void)cc_exit_dispatch(&vm[p], 0, run_ret, &err);
	/* The VMM's record of private pages must match the kernel's (the double's). */
	for (uint64_t gpa = 0; gpa < (32ull << 20); gpa += 0x100000)
		if (cc_mem_is_private(&vm[p], gpa) != kd_gpa_private(kd[p], gpa))
			abort();
	return 0;
}

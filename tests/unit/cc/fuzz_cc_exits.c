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
#include <unistd.h>
#include <linux/kvm.h>

#include "common/util.h"
#include "runner/cc/cc.h"
#include "runner/kvm_cc_uapi.h"
#include "tests/unit/cc/kd_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kvm_double *kd[2];
static struct cc_vm vm[2];
static bool ready[2];
static uint8_t *fw;
static size_t fw_len;

/* A well-formed certificate table (VCEK entry + terminator + 100 bytes) so the SNP VM serves
 * KVM_EXIT_SNP_REQ_CERTS too. */
static char certs_path[64];
static void write_certs(void)
{
	static const uint8_t vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
					  0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
	uint8_t t[148] = { 0 };
	int fd;
	memcpy(t, vcek, 16);
	cp_put_le32(t + 16, 48);
	cp_put_le32(t + 20, 100);
	strcpy(certs_path, "/tmp/carapace-fuzz-certs-XXXXXX");
	fd = mkstemp(certs_path);
	if (fd < 0 || write(fd, t, sizeof(t)) != (ssize_t)sizeof(t))
		abort();
	close(fd);
}

static void launch(int i)
{
	struct kd_config c;
	static struct cc_launch_cfg cfg[2];
	struct cp_err err = { 0 };

	kd_config_default(&c);
	kd[i] = kd_new(&c);
	cfg[i] = (struct cc_launch_cfg){ .platform = i ? CC_TDX : CC_SNP, .firmware = fw, .firmware_len = fw_len,
					 .mem_size = 32ull << 20, .vcpus = 1, .snp_certs = i ? NULL : certs_path };
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
			write_certs();
			launch(0);
			launch(1);
			unlink(certs_path); /* the open fd keeps it readable */
			/* The TD's GetQuote goes through the quote thread to a service that is not there. */
			vm[1].quote_socket = "/nonexistent/carapace-fuzz-qgs.sock";
			if (ready[1] && cc_quote_start(&vm[1], NULL, NULL, &err) < 0)
				abort();
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
	cc_vcpu_returned(&vm[p], 0); /* as the run loop does: drops a certificate lock */
	cc_quote_wait_idle(&vm[p]);  /* a queued GetQuote is answered before the next input */
	/* The VMM's record of private pages must match the kernel's (the double's). */
	for (uint64_t gpa = 0; gpa < (32ull << 20); gpa += 0x100000)
		if (cc_mem_is_private(&vm[p], gpa) != kd_gpa_private(kd[p], gpa))
			abort();
	return 0;
}

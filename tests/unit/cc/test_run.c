/* A launched confidential VM driven by carapace's own run loop (vm_adopt_cc + vm_run): vCPU
 * threads, filters, event loop and exit table, with the SNP/TDX exits routed to runner/cc. The
 * double's KVM_RUN returns the scripted exit, then HLT. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "common/cli.h"
#include "runner/cli_run.h"
#include "runner/kvm_cc_uapi.h"
#include "runner/vm.h"

struct outcome {
	int status;
	char msg[512];
};

static struct outcome run_scripted_with(enum cc_platform p, struct kvm_double *kd, uint32_t reason, const void *payload,
					size_t len, int ret, const struct run_opts *ro)
{
	struct cc_launch_cfg cfg = cfg_for(p, 1);
	struct cc_vm cvm;
	struct vm *vm = NULL;
	struct cp_err err = { 0 };
	struct outcome o = { 0 };
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct run_opts plain = { .timeout_ms = 20000 };
	/* The same constructor as `carapace run` (SANDBOX_OFF: this test process goes on afterwards). */
	struct vm_config vc = cli_run_vm_config(ro ? ro : &plain, &(struct run_console){ null_fd, -1, false }, SANDBOX_OFF,
						NULL, NULL, false);

	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
	if (reason)
		assert_int_equal(kd_script_exit(kd, 0, reason, payload, len, ret), 0);
	if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0)
		fail_msg("adopt: %s", err.msg);
	o.status = vm_run(vm);
	snprintf(o.msg, sizeof(o.msg), "%s", vm->end_msg);
	vm_destroy(vm);
	cc_vm_release(&cvm);
	close(null_fd);
	return o;
}

static struct outcome run_scripted(enum cc_platform p, struct kvm_double *kd, uint32_t reason, const void *payload,
				   size_t len, int ret)
{
	return run_scripted_with(p, kd, reason, payload, len, ret, NULL);
}

/* The confidential run path keeps the plain run's options (one vm_config constructor): an unknown
 * port ends the VM under --strict-io, and is ignored without it. Before, the confidential path
 * built its own vm_config and dropped --strict-io, --debug-exit and the test hooks. */
static void test_confidential_run_keeps_strict_io(void **state)
{
	struct {
		uint8_t direction, size;
		uint16_t port;
		uint32_t count;
		uint64_t data_offset;
	} io = { KVM_EXIT_IO_OUT, 1, 0x3e0, 1, 0x1000 };
	struct run_opts strict = { .timeout_ms = 20000, .strict_io = true, .debug_exit = true };
	struct kvm_double *kd = double_new();
	struct outcome o = run_scripted_with(CC_SNP, kd, KVM_EXIT_IO, &io, sizeof(io), 0, &strict);
	struct vm_config vc = cli_run_vm_config(&strict, &(struct run_console){ 1, -1, false }, SANDBOX_ENFORCE, "hook",
						NULL, false);

	kd_free(kd);
	assert_int_equal(o.status, CP_EXIT_GUEST);
	assert_non_null(strstr(o.msg, "unknown I/O port 0x3e0"));
	assert_true(vc.strict_io && vc.debug_exit && vc.sandbox == SANDBOX_ENFORCE);
	assert_string_equal(vc.test_hook, "hook");
	kd = double_new();
	o = run_scripted(CC_SNP, kd, KVM_EXIT_IO, &io, sizeof(io), 0);
	kd_free(kd);
	assert_int_equal(o.status, CP_EXIT_OK); /* ignored, then HLT */
}

static void test_snp_map_gpa_then_halt(void **state)
{
	struct kvm_double *kd = double_new();
	uint64_t p[9] = { CP_KVM_HC_MAP_GPA_RANGE, 0x200000, 4, 0 /* to shared */ };
	struct outcome o = run_scripted(CC_SNP, kd, KVM_EXIT_HYPERCALL, p, sizeof(p), 0);
	/* The page-state change was carried out by the run loop, then the guest halted. */
	assert_false(kd_gpa_private(kd, 0x200000));
	assert_true(kd_gpa_private(kd, 0x204000));
	assert_int_equal(o.status, CP_EXIT_OK);
	assert_non_null(strstr(o.msg, "halted"));
	kd_free(kd);
}

static void test_snp_memory_fault_then_halt(void **state)
{
	struct kvm_double *kd = double_new();
	struct { uint64_t flags, gpa, size; } mf = { 0, 0x300000, 0x1000 };
	struct outcome o = run_scripted(CC_SNP, kd, CP_KVM_EXIT_MEMORY_FAULT, &mf, sizeof(mf), -EFAULT);
	assert_false(kd_gpa_private(kd, 0x300000));
	assert_int_equal(o.status, CP_EXIT_OK);
	kd_free(kd);
}

static void test_snp_sev_term_ends_vm(void **state)
{
	struct kvm_double *kd = double_new();
	struct { uint32_t type, ndata; uint64_t data[2]; } ev = { CP_KVM_SYSTEM_EVENT_SEV_TERM, 1, { 0x31100 } };
	struct outcome o = run_scripted(CC_SNP, kd, KVM_EXIT_SYSTEM_EVENT, &ev, sizeof(ev), 0);
	assert_int_equal(o.status, CP_EXIT_GUEST);
	assert_non_null(strstr(o.msg, "terminated itself"));
	kd_free(kd);
}

static void test_tdx_fatal_ends_vm(void **state)
{
	struct kvm_double *kd = double_new();
	struct { uint32_t type, ndata; uint64_t data[2]; } ev = { CP_KVM_SYSTEM_EVENT_TDX_FATAL, 0, { 0 } };
	struct outcome o = run_scripted(CC_TDX, kd, KVM_EXIT_SYSTEM_EVENT, &ev, sizeof(ev), 0);
	assert_int_equal(o.status, CP_EXIT_GUEST);
	kd_free(kd);
}

static void test_unfinished_launch_cannot_run(void **state)
{
	struct cc_vm cvm;
	struct vm *vm = NULL;
	struct vm_config vc = { .console_out_fd = -1, .console_in_fd = -1 };
	struct cp_err err = { 0 };
	memset(&cvm, 0, sizeof(cvm));
	cvm.state = CC_ST_PAGES;
	assert_int_equal(vm_adopt_cc(&cvm, &vc, &vm, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not finished"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confidential_run_keeps_strict_io),
		cmocka_unit_test(test_snp_map_gpa_then_halt),
		cmocka_unit_test(test_snp_memory_fault_then_halt),
		cmocka_unit_test(test_snp_sev_term_ends_vm),
		cmocka_unit_test(test_tdx_fatal_ends_vm),
		cmocka_unit_test(test_unfinished_launch_cannot_run),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

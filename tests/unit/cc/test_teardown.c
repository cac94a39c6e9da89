/* vm_destroy releases every fd and mapping exactly once, for a plain VM (vm_create) and for one
 * adopted from a confidential launch (vm_adopt_cc), on the strict KVM double: afterwards this
 * process has the fds and guest-memory mappings it had before, the double has no fd and no
 * kvm_run area left open, and nothing was closed or unmapped twice. Real fds closed twice are
 * caught by wrapping close() (-Wl,--wrap=close): a close that fails with EBADF. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/vm.h"

int __real_close(int fd);
int __wrap_close(int fd);

static unsigned ebadf_closes; /* close(fd >= 0) that found no open fd: a double close */

int __wrap_close(int fd)
{
	int r = __real_close(fd);
	if (r < 0 && errno == EBADF && fd >= 0)
		ebadf_closes++;
	return r;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n; /* includes the directory's own fd, every time */
}

/* Lines of /proc/self/maps that name a memfd of guest memory. */
static unsigned count_guest_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	unsigned n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:carapace-guest-ram") || strstr(line, "memfd:carapace-cc-shared");
	fclose(f);
	return n;
}

struct before {
	unsigned fds, maps;
};

static struct before look(void) { return (struct before){ count_fds(), count_guest_maps() }; }

/* Everything released once, nothing twice. The double is freed first: its model of an SNP AP
 * waiting for creation holds a pipe of its own until then. */
static void assert_all_released(struct kvm_double *kd, struct before b)
{
	assert_int_equal(kd_fds_open(kd), 0);
	assert_int_equal(kd_runs_mapped(kd), 0);
	assert_int_equal(kd_bad_closes(kd), 0);
	assert_int_equal(kd_bad_unmaps(kd), 0);
	kd_free(kd);
	assert_int_equal(count_fds(), b.fds);
	assert_int_equal(count_guest_maps(), b.maps);
	assert_int_equal(ebadf_closes, 0);
}

static struct vm_config vm_cfg(int null_fd, const struct vdev_spec *spec)
{
	struct vm_config vc;

	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = null_fd;
	vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_OFF; /* this process goes on after teardown */
	vc.devices = spec;
	vc.ndevices = 1;
	return vc;
}

static void test_plain_vm(void **state)
{
	struct kvm_double *kd = double_new();
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	static uint8_t kernel[64 << 10];
	struct vdev_spec spec;
	struct cp_err err = { 0 };
	struct vm *vm = NULL;
	struct vm_config vc = vm_cfg(null_fd, &spec);
	struct before b;

	(void)state;
	cc_test_bzimage(kernel, sizeof(kernel), 0x20f);
	assert_int_equal(vdev_spec_parse("rng", &spec, &err), 0);
	vc.mem_size = 32 << 20;
	vc.ncpus = 2;
	vc.kernel = kernel;
	vc.kernel_len = sizeof(kernel);
	vc.cmdline = "console=ttyS0";
	ebadf_closes = 0;
	b = look();
	if (vm_create(&kd_ops, kd, &vc, &vm, &err) < 0)
		fail_msg("vm_create: %s (double: %s)", err.msg, kd_last_refusal(kd));
	/* /dev/kvm, the VM, two vCPUs; two kvm_run areas; the RAM memfd and its mapping */
	assert_int_equal(kd_fds_open(kd), 4);
	assert_int_equal(kd_runs_mapped(kd), 2);
	assert_true(count_fds() > b.fds);
	assert_int_equal(count_guest_maps(), b.maps + 1);
	assert_true(vm_vm_fd(vm) >= 0 && vcpu_fd(&vm->vcpus[1]) >= 0 && vcpu_run(&vm->vcpus[1]));
	assert_int_equal(vm_ram(vm).size, 32 << 20);
	vm_destroy(vm);
	assert_all_released(kd, b);
	close(null_fd);
}

static void test_adopted_confidential_vm(void **state, enum cc_platform p)
{
	struct kvm_double *kd = double_new();
	int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct cc_launch_cfg cfg = cfg_for(p, 2);
	struct cc_vm cvm;
	struct vdev_spec spec;
	struct cp_err err = { 0 };
	struct vm *vm = NULL;
	struct vm_config vc = vm_cfg(null_fd, &spec);
	struct before b;
	int vm_fd;

	(void)state;
	assert_int_equal(vdev_spec_parse("rng", &spec, &err), 0);
	ebadf_closes = 0;
	b = look();
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	vm_fd = cvm.vm_fd;
	if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0)
		fail_msg("vm_adopt_cc: %s (double: %s)", err.msg, kd_last_refusal(kd));
	/* No copies: the VM reads the cc_vm's fds, kvm_run areas and shared memory. */
	assert_int_equal(vm_vm_fd(vm), vm_fd);
	assert_int_equal(vcpu_fd(&vm->vcpus[1]), cvm.vcpu_fd[1]);
	assert_ptr_equal(vcpu_run(&vm->vcpus[1]), cvm.run[1]);
	assert_ptr_equal(vm_ram(vm).base, cvm.shared);
	assert_int_equal(vm->kvm.vm_fd, -1);
	assert_int_equal(kd_runs_mapped(kd), 2);
	assert_int_equal(count_guest_maps(), b.maps + 1);
	vm_destroy(vm); /* the VM owns the cc_vm's resources now */
	assert_int_equal(cvm.vm_fd, -1);
	assert_int_equal(cvm.shared_fd, -1);
	cc_vm_release(&cvm); /* nothing left: still nothing closed twice */
	assert_all_released(kd, b);
	close(null_fd);
}

static void test_adopted_snp(void **state) { test_adopted_confidential_vm(state, CC_SNP); }
static void test_adopted_tdx(void **state) { test_adopted_confidential_vm(state, CC_TDX); }

/* A refused adoption releases what it took over too. */
static void test_refused_adoption_releases(void **state)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm cvm;
	struct vdev_spec spec[RUN_MAX_DEVICES + 1];
	struct cp_err err = { 0 };
	struct vm *vm = NULL;
	struct vm_config vc = vm_cfg(-1, spec);
	struct before b;

	(void)state;
	for (unsigned i = 0; i <= RUN_MAX_DEVICES; i++)
		assert_int_equal(vdev_spec_parse("rng", &spec[i], &err), 0);
	vc.ndevices = RUN_MAX_DEVICES + 1;
	ebadf_closes = 0;
	b = look();
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0)
		fail_msg("cc_launch: %s (double: %s)", err.msg, kd_last_refusal(kd));
	assert_true(vm_adopt_cc(&cvm, &vc, &vm, &err) < 0);
	assert_null(vm);
	assert_all_released(kd, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_vm),
		cmocka_unit_test(test_adopted_snp),
		cmocka_unit_test(test_adopted_tdx),
		cmocka_unit_test(test_refused_adoption_releases),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

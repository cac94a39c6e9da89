/* On real /dev/kvm: the boot state lands in the vCPU, the guest runs, and teardown wipes RAM
 * (checked through a second mapping of the guest-RAM memfd). Skips without /dev/kvm. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cli.h"
#include "common/util.h"
#include "runner/guest_cpuid.h"
#include "runner/vm.h"

static uint8_t *guest;
static size_t guest_len;

static struct vm *make_vm(int out_fd, const char *cmdline, unsigned ncpus)
{
	struct vm *vm = NULL;
	struct cp_err err = { 0 };
	struct vm_config c = {
		.mem_size = 32 << 20, .ncpus = ncpus, .kernel = guest, .kernel_len = guest_len,
		.cmdline = cmdline, .console_out_fd = out_fd, .console_in_fd = -1, .timeout_ms = 20000,
		.debug_exit = true,
		/* This test process goes on after vm_run(): it cannot live under the VM's filters. */
		.sandbox = SANDBOX_OFF,
	};
	if (vm_create(&kvm_ops_sys, NULL, &c, &vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	return vm;
}

static void test_boot_state_applied(void **state)
{
	struct vm *vm = make_vm(-1, "hello", 2);
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	assert_int_equal(ioctl(vcpu_fd(&vm->vcpus[0]), KVM_GET_REGS, &regs), 0);
	assert_int_equal(ioctl(vcpu_fd(&vm->vcpus[0]), KVM_GET_SREGS, &sregs), 0);
	assert_true(regs.rip == vm->boot.regs.rip);
	assert_true(regs.rbx == vm->boot.regs.rbx);
	assert_int_equal(sregs.cs.selector, vm->boot.regs.cs.selector);
	assert_int_equal(sregs.cs.db, 1);
	assert_true(sregs.cr0 & 1);
	assert_true(sregs.gdt.base == vm->boot.regs.gdt_base);
	/* The second vCPU waits for INIT/SIPI in the in-kernel LAPIC. */
	struct kvm_mp_state mp;
	assert_int_equal(ioctl(vcpu_fd(&vm->vcpus[1]), KVM_GET_MP_STATE, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	vm_destroy(vm);
}

static void test_runs_and_wipes(void **state)
{
	int pipefd[2];
	char buf[4096] = "";
	assert_int_equal(pipe(pipefd), 0);
	struct vm *vm = make_vm(pipefd[1], "hello", 1);
	int status = vm_run(vm);
	ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "hello"));
	assert_true(status == CP_EXIT_OK || status == 1); /* i8042 reset or debug-exit 0 */

	/* Keep a second handle on guest RAM, plant a secret, tear down, look again. */
	int fd2 = dup(vm->kvm.ram_fd);
	uint64_t size = vm->kvm.ram.size;
	memcpy(vm->kvm.ram.base + (8 << 20), "TOP-SECRET-GUEST-DATA", 21);
	vm_destroy(vm);
	uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd2, 0);
	assert_true(p != MAP_FAILED);
	for (uint64_t off = 0; off < size; off += 4096)
		if (memchr(p + off, 'T', 4096) && memmem(p + off, 4096, "TOP-SECRET", 10))
			fail_msg("guest data survived teardown at 0x%llx", (unsigned long long)off);
	uint8_t zero[4096] = { 0 };
	assert_memory_equal(p + (8 << 20), zero, 4096);
	munmap(p, size);
	close(fd2);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_ram_not_dumpable(void **state)
{
	struct vm *vm = make_vm(-1, "hello", 1);
	char line[512], range[64];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in_ram = 0, found = 0;
	snprintf(range, sizeof(range), "%lx-", (unsigned long)vm->kvm.ram.base);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, range, strlen(range)))
			in_ram = 1;
		else if (in_ram && !strncmp(line, "VmFlags:", 8)) {
			found = strstr(line, " dd") != NULL; /* dd = do not include in core dump */
			break;
		}
	}
	fclose(f);
	assert_true(found);
	vm_destroy(vm);
}

/* ---- sVirt labelling through a fake libselinux in enforcing mode ---- */

static char label_log[] = "/tmp/carapace-label-log-XXXXXX";
static int fake_fail_setfile;

static void log_line(const char *what, const char *a, const char *b)
{
	FILE *f = fopen(label_log, "a");
	if (f) {
		fprintf(f, "%s %s %s\n", what, a ? a : "-", b ? b : "-");
		fclose(f);
	}
}
static int f_enabled(void *c) { return 1; }
static int f_enforcing(void *c) { return 1; }
static int f_set_exec(void *c, const char *con) { log_line("exec", con, NULL); return 0; }
static int f_set_sock(void *c, const char *con) { log_line("sockcreate", con, NULL); return 0; }
static int f_get_file(void *c, const char *path, char **con)
{
	*con = strdup("system_u:object_r:user_home_t:s0");
	return 0;
}
static int f_set_file(void *c, const char *path, const char *con)
{
	log_line("setfile", path, con);
	return fake_fail_setfile ? -EACCES : 0;
}
static void f_notice(void *c, const char *msg) { log_line("notice", msg, NULL); }
static const struct label_ops fake_selinux = { f_enabled, f_enforcing, f_set_exec, f_set_sock, f_get_file, f_set_file, f_notice };

static void test_labels(void **state)
{
	char img[] = "/tmp/carapace-label-img-XXXXXX", buf[8192] = "";
	int fd = mkstemp(img), lf = mkstemp(label_log);
	struct vdev_spec specs[2];
	struct cp_err err = { 0 };
	struct vm *vm = NULL;

	char rundir[] = "/tmp/carapace-run-XXXXXX";
	assert_non_null(mkdtemp(rundir));
	setenv("CARAPACE_RUN_DIR", rundir, 1);
	assert_true(fd >= 0 && lf >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	close(lf);
	assert_int_equal(vdev_spec_parse("rng", &specs[0], &err), 0);
	snprintf(buf, sizeof(buf), "blk,path=%s", img);
	assert_int_equal(vdev_spec_parse(buf, &specs[1], &err), 0);
	struct vm_config c = {
		.mem_size = 32 << 20, .ncpus = 1, .kernel = guest, .kernel_len = guest_len, .cmdline = "hello",
		.console_out_fd = -1, .console_in_fd = -1, .sandbox = SANDBOX_OFF, .label_ops = &fake_selinux,
		.devices = specs, .ndevices = 2,
	};
	if (vm_create(&kvm_ops_sys, NULL, &c, &vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	vm_destroy(vm);
	FILE *f = fopen(label_log, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Each helper's socket and exec get its own domain with one shared category pair; the
	 * writable image gets that pair too, and its old label comes back at teardown. */
	char *rng_exec = strstr(buf, "exec system_u:system_r:carapace_rng_t:s0:c");
	char *blk_exec = strstr(buf, "exec system_u:system_r:carapace_blk_t:s0:c");
	assert_non_null(strstr(buf, "sockcreate system_u:system_r:carapace_rng_t:s0:c"));
	assert_non_null(rng_exec);
	assert_non_null(blk_exec);
	char pair[32] = "";
	sscanf(rng_exec + strlen("exec system_u:system_r:carapace_rng_t:"), "%31s", pair);
	assert_non_null(strstr(blk_exec, pair));
	char want[600];
	snprintf(want, sizeof(want), "setfile %s system_u:object_r:carapace_image_t:%s", img, pair);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "setfile %s system_u:object_r:user_home_t:s0", img);
	assert_non_null(strstr(buf, want));

	/* Enforcing: a labelling failure stops the launch before any helper runs. */
	fake_fail_setfile = 1;
	unlink(label_log);
	assert_true(vm_create(&kvm_ops_sys, NULL, &c, &vm, &err) < 0);
	fake_fail_setfile = 0;
	f = fopen(label_log, "r");
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	assert_null(strstr(buf, "exec system_u:system_r:carapace_blk_t"));
	unlink(label_log);
	unlink(img);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rundir);
	assert_int_equal(system(cmd), 0);
}

/* --cpu reaches KVM_SET_CPUID2: what each vCPU reports back (KVM_GET_CPUID2) lacks the removed
 * features and everything that needs them; an unsupported +feature stops vm_create. */
static bool leaf_bit(struct cpuid_table *t, uint32_t leaf, uint32_t sub, int reg, int bit)
{
	for (unsigned i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->e[i];
		if (e->function == leaf && (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub)) {
			uint32_t r[4] = { e->eax, e->ebx, e->ecx, e->edx };
			return r[reg] >> bit & 1;
		}
	}
	return false;
}

static void test_cpu_model_applied(void **state)
{
	struct vm *vm = NULL;
	struct cp_err err = { 0 };
	struct vm_config c = {
		.mem_size = 32 << 20, .ncpus = 2, .cpu = "host,-xsave,-smap,-popcnt", .kernel = guest,
		.kernel_len = guest_len, .cmdline = "hello", .console_out_fd = -1, .console_in_fd = -1,
		.sandbox = SANDBOX_OFF,
	};
	struct cpuid_table *t = calloc(1, sizeof(*t));
	(void)state;
	assert_non_null(t);
	if (vm_create(&kvm_ops_sys, NULL, &c, &vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	for (unsigned v = 0; v < 2; v++) {
		t->nent = CPUID_MAX_ENTRIES;
		assert_int_equal(ioctl(vcpu_fd(&vm->vcpus[v]), KVM_GET_CPUID2, cpuid_table_kvm(t)), 0);
		assert_false(leaf_bit(t, 1, 0, 2, 26));  /* XSAVE */
		assert_false(leaf_bit(t, 1, 0, 2, 28));  /* AVX went with it */
		assert_false(leaf_bit(t, 1, 0, 2, 23));  /* POPCNT */
		assert_false(leaf_bit(t, 7, 0, 1, 20));  /* SMAP */
		assert_false(leaf_bit(t, 7, 0, 1, 5));   /* AVX2 */
		assert_true(leaf_bit(t, 1, 0, 2, 31));   /* hypervisor */
		assert_true(leaf_bit(t, 1, 0, 3, 25));   /* SSE stays */
	}
	vm_destroy(vm);
	/* A model that cannot be given (here: a feature without its prerequisite) stops vm_create. */
	cp_err_clear(&err);
	c.cpu = "x86-64-v1,+avx512_vpopcntdq";
	assert_true(vm_create(&kvm_ops_sys, NULL, &c, &vm, &err) < 0);
	if (!strstr(err.msg, "avx512_vpopcntdq"))
		fail_msg("%s", err.msg);
	free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_boot_state_applied),
		cmocka_unit_test(test_runs_and_wipes),
		cmocka_unit_test(test_ram_not_dumpable),
		cmocka_unit_test(test_cpu_model_applied),
	};
	struct cp_err err = { 0 };
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP: /dev/kvm is not usable here (%s)\n", strerror(errno));
		return 77;
	}
	close(fd);
	if (argc < 2 || cp_file_read(argv[1], 1 << 24, &guest, &guest_len, &err) < 0)
		return 2;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	free(guest);
	return r;
}

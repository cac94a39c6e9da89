/* The VM process enters its empty root with SELinux on (a fake label_ops that says enforcing)
 * and a device configured: before the label monitor, this configuration kept the host's file
 * system view. A child runs a confidential VM on the strict double with the real, jailed
 * carapace-rng helper and the filters enforced; once vm_run has returned (still confined), the
 * parent looks at it from outside: its own mount namespace, an empty root, and a label-monitor
 * child beside it; then the child tears down (the monitor restores and is collected). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "common/cli.h"
#include "runner/vm.h"

static int f_one(void *ctx) { return 1; }
static int f_set(void *ctx, const char *con) { return 0; }
static int f_get_file(void *ctx, const char *path, char **con)
{
	*con = strdup("system_u:object_r:user_home_t:s0");
	return *con ? 0 : -ENOMEM;
}
static int f_set_file(void *ctx, const char *path, const char *con) { return 0; }
static void f_notice(void *ctx, const char *msg) { }

/* SELinux enabled and enforcing, every call succeeding. */
static const struct label_ops fake_enforcing = { f_one, f_one, f_set, f_set, f_get_file, f_set_file, f_notice };

static char rundir[64];

/* The VM process: run, say so, wait for the parent's look, tear down. */
static void vm_child(int ready, int go)
{
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct kvm_double *kd = double_new();
	struct cc_vm cvm;
	struct vdev_spec spec;
	struct vm_config vc;
	struct vm *vm = NULL;
	struct cp_err err = { 0 };
	char b = 0;
	int status;

	setenv("CARAPACE_RUN_DIR", rundir, 1);
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0 || vdev_spec_parse("rng", &spec, &err) < 0) {
		fprintf(stderr, "set-up: %s\n", err.msg);
		_exit(10);
	}
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_ENFORCE;
	vc.label_ops = &fake_enforcing;
	vc.devices = &spec;
	vc.ndevices = 1;
	if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0) {
		fprintf(stderr, "adopt: %s\n", err.msg);
		_exit(11);
	}
	if (vm->lmon.pid <= 0)
		_exit(12); /* SELinux "on" and a device: there must be a monitor */
	status = vm_run(vm); /* the guest halts */
	if (write(ready, "r", 1) != 1 || read(go, &b, 1) != 1)
		_exit(13);
	vm_destroy(vm);
	_exit(status == CP_EXIT_OK ? 0 : 14);
}

static bool monitor_beside(pid_t vm_pid)
{
	char path[64], list[256], comm[32];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", vm_pid, vm_pid);
	f = fopen(path, "r");
	if (!f || !fgets(list, sizeof(list), f)) {
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	for (char *t = strtok(list, " \n"); t; t = strtok(NULL, " \n")) {
		snprintf(path, sizeof(path), "/proc/%s/comm", t);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, "label-monitor\n"))
			found = true;
		if (f)
			fclose(f);
	}
	return found;
}

static void test_selinux_with_device_enters_empty_root(void **state)
{
	int ready[2], go[2], st;
	char b, a[64], m[64], path[64];
	ssize_t n;
	pid_t pid;
	DIR *d;
	struct dirent *e;
	unsigned entries = 0;

	assert_non_null(mkdtemp(rundir));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		vm_child(ready[1], go[0]);
	}
	close(ready[1]);
	close(go[0]);
	n = read(ready[0], &b, 1);
	if (n != 1) {
		waitpid(pid, &st, 0);
		fail_msg("the VM process ended before its run returned (status 0x%x)", st);
	}
	/* Its own mount namespace, and nothing in its root. */
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	assert_true(readlink(path, a, sizeof(a)) > 0);
	assert_true(readlink("/proc/self/ns/mnt", m, sizeof(m)) > 0);
	assert_string_not_equal(a, m);
	snprintf(path, sizeof(path), "/proc/%d/root/", pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 0);
	/* The right to relabel by path stayed with the monitor. */
	assert_true(monitor_beside(pid));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* torn down under its filters: the monitor asked to restore, then collected */
	rmdir(rundir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selinux_with_device_enters_empty_root),
	};
	pid_t p;
	int st;

#ifdef CARAPACE_SANITIZED
	printf("SKIP: the empty root is taken in 'enforce' mode only, which a sanitizer runtime cannot run under\n");
	return 77;
#endif
	/* The empty root needs unprivileged user namespaces: a visible skip where they are off. */
	p = fork();
	if (p == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("SKIP: unprivileged user namespaces are not available here\n");
		return 77;
	}
	snprintf(rundir, sizeof(rundir), "/tmp/carapace-emptyroot-XXXXXX");
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

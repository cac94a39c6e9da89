/* Block hot-plug as the VMM's device shell does it (runner/vdev_hotplug.c), without KVM: a VM on
 * the strict double with the real, jailed carapace-blk, and a guest driver that programs the
 * device through its registers. A swap request as the API's controller sends it on the control
 * socket ('D', the device index, the file's fd):
 *  - a refused file (size not a multiple of 512) answers "f" with the helper's reason; capacity,
 *    ConfigGeneration and InterruptStatus stay as they were;
 *  - an accepted file answers "k" only once the guest can see it: the config space has the new
 *    capacity, ConfigGeneration moved, InterruptStatus has the configuration bit and the
 *    device's interrupt eventfd was signalled;
 *  - malformed requests (no fd, a device that is not blk) are answered "f" and change nothing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cli.h"
#include "helpers.h"
#include "runner/vm.h"

static char dir[64], img[128], big[128], odd[128];

struct fixture {
	struct kvm_double *kd;
	struct cc_vm cvm;
	struct cc_launch_cfg cfg;
	struct vdev_spec spec[2];
	struct vm *vm;
};

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static struct fixture *start(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cp_err err = { 0 };
	char spec[256];
	struct vm_config vc;

	assert_non_null(f);
	f->cfg = cfg_for(CC_SNP, 1);
	f->kd = double_new();
	if (cc_launch(&kd_ops, f->kd, &f->cfg, &f->cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
	snprintf(spec, sizeof(spec), "blk,path=%s", img);
	if (vdev_spec_parse(spec, &f->spec[0], &err) < 0 || vdev_spec_parse("rng", &f->spec[1], &err) < 0)
		fail_msg("%s", err.msg);
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_OFF;
	vc.devices = f->spec;
	vc.ndevices = 2;
	vc.device_failure_continue = true;
	if (vm_adopt_cc(&f->cvm, &vc, &f->vm, &err) < 0)
		fail_msg("adopt: %s", err.msg);
	return f;
}

static void stop(struct fixture *f)
{
	vm_destroy(f->vm);
	cc_vm_release(&f->cvm);
	kd_free(f->kd);
	free(f);
}

static void wr(struct vdev *d, uint32_t off, uint32_t v)
{
	uint8_t b[4];
	cp_put_le32(b, v);
	vmmio_access(&d->mmio, off, true, b, 4);
}

static uint32_t rd(struct vdev *d, uint32_t off)
{
	uint8_t b[4];
	vmmio_access(&d->mmio, off, false, b, 4);
	return cp_le32(b);
}

static uint64_t capacity(struct vdev *d)
{
	return rd(d, 0x100) | (uint64_t)rd(d, 0x104) << 32;
}

/* The guest's driver: VERSION_1, FEATURES_OK, queue 0 of 8 in shared RAM, QueueReady, DRIVER_OK. */
static void driver_up(struct fixture *f)
{
	struct vdev *d = &f->vm->devs[0];
	struct cp_err err = { 0 };

	assert_int_equal(cc_mem_convert(&f->cvm, 0x400000, 0x20000, false, &err), 0);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 1);
	wr(d, 0x20, 1);
	wr(d, 0x24, 0);
	wr(d, 0x20, 0);
	wr(d, 0x70, 1 | 2 | 8);
	assert_int_equal(rd(d, 0x70) & 8, 8);
	wr(d, 0x30, 0);
	wr(d, 0x38, 8);
	wr(d, 0x80, 0x400000);
	wr(d, 0x90, 0x401000);
	wr(d, 0xa0, 0x402000);
	wr(d, 0x44, 1);
	assert_int_equal(rd(d, 0x44), 1);
	wr(d, 0x70, 1 | 2 | 8 | 4);
	assert_true(rd(d, 0x70) & 4);
}

/* What the controller sends: 'D', the index, the file. */
static size_t control(struct fixture *f, uint8_t idx, const char *path, int flags, unsigned nfds, char *reply,
		      size_t len)
{
	uint8_t msg[2] = { 'D', idx };
	int fd = path ? open(path, flags | O_CLOEXEC) : -1;
	size_t n;

	if (path)
		assert_true(fd >= 0);
	n = vdev_hotplug_control(f->vm->devs, f->vm->ndevs, msg, sizeof(msg), &fd, nfds, false, reply, len);
	if (fd >= 0)
		close(fd);
	reply[n < len ? n : len - 1] = '\0';
	return n;
}

static void test_swap_and_config_interrupt(void **state)
{
	struct fixture *f = start();
	struct vdev *d = &f->vm->devs[0];
	char reply[256];
	eventfd_t v;
	uint32_t gen;

	assert_true(d->swap_fd >= 0);
	assert_true(d->backend_fd >= 0); /* carapace-blk offered BACKEND_REQ; the channel is set up */
	assert_true(f->vm->devs[1].swap_fd < 0);
	driver_up(f);
	assert_int_equal(capacity(d), (1u << 20) / 512);
	gen = rd(d, 0xfc);
	(void)eventfd_read(d->call[0], &v); /* start from a quiet interrupt line */

	/* Refused by the helper: nothing the guest can see changes. */
	control(f, 0, odd, O_RDWR, 1, reply, sizeof(reply));
	assert_int_equal(reply[0], 'f');
	assert_non_null(strstr(reply, "not a multiple of 512"));
	assert_int_equal(capacity(d), (1u << 20) / 512);
	assert_int_equal(rd(d, 0xfc), gen);
	assert_int_equal(rd(d, 0x60) & VMMIO_INT_CONFIG, 0);
	assert_int_equal(eventfd_read(d->call[0], &v), -1);
	/* Malformed or misdirected: answered, nothing changes, the device stays in service. */
	control(f, 0, big, O_RDWR, 0, reply, sizeof(reply));
	assert_non_null(strstr(reply, "fmalformed"));
	control(f, 1, big, O_RDWR, 1, reply, sizeof(reply));
	assert_non_null(strstr(reply, "fdevice 1 is not a block device"));
	control(f, 7, big, O_RDWR, 1, reply, sizeof(reply));
	assert_int_equal(reply[0], 'f');
	assert_false(atomic_load(&d->dead));

	/* Accepted: by the time the answer is "k" the guest has everything. */
	control(f, 0, big, O_RDWR, 1, reply, sizeof(reply));
	assert_string_equal(reply, "k");
	assert_int_equal(capacity(d), (4u << 20) / 512);
	assert_int_equal(rd(d, 0xfc), gen + 1);
	assert_int_equal(rd(d, 0x60) & VMMIO_INT_CONFIG, VMMIO_INT_CONFIG);
	assert_int_equal(eventfd_read(d->call[0], &v), 0);
	assert_true(v >= 1);
	assert_int_equal(d->config_changes, 1);
	assert_int_equal(d->backend_reqs, 1); /* told by the helper on the back-end channel */
	wr(d, 0x64, VMMIO_INT_CONFIG); /* the guest's InterruptACK */
	assert_int_equal(rd(d, 0x60) & VMMIO_INT_CONFIG, 0);
	assert_false(atomic_load(&d->dead));
	assert_int_equal(atomic_load(&f->vm->ended), 0);
	stop(f);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/carapace-hotplug.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/p.img", dir);
	snprintf(big, sizeof(big), "%s/big.img", dir);
	snprintf(odd, sizeof(odd), "%s/odd.img", dir);
	make_file(img, 1u << 20);
	make_file(big, 4u << 20);
	make_file(odd, 1000);
	return 0;
}

static int teardown(void **state)
{
	unlink(img);
	unlink(big);
	unlink(odd);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_and_config_interrupt),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests_name("cc-vdev-hotplug", tests, setup, teardown);
}

/* A misbehaving device helper seen from the VMM's device shell (runner/vdev.c), without KVM: a VM
 * on the strict double with the real, jailed carapace-rng, made stalled or compromised by a test
 * hook, and a guest that programs the device through its registers (issue 18 items 4, 5, 6).
 *  - an fd attached to an ack: the queue is refused with NEEDS_RESET; with --on-device-failure
 *    continue the VM goes on, otherwise it ends naming the device; never a seccomp kill;
 *  - a helper that never answers: the wait ends at its deadline with the same outcome;
 *  - a misaligned ring: refused with NEEDS_RESET before the helper hears of it; the helper stays
 *    in service and the VM goes on (a guest error is not a host error). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cli.h"
#include "helpers.h"
#include "runner/vm.h"

struct fixture {
	struct kvm_double *kd;
	struct cc_vm cvm;
	struct cc_launch_cfg cfg;
	struct vdev_spec spec;
	struct vm *vm;
};

static struct fixture *start(const char *spec, bool keep_going)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cp_err err = { 0 };
	struct vm_config vc;

	assert_non_null(f);
	f->cfg = cfg_for(CC_SNP, 1);
	f->kd = double_new();
	if (cc_launch(&kd_ops, f->kd, &f->cfg, &f->cvm, &err) < 0)
		fail_msg("launch: %s", err.msg);
	if (vdev_spec_parse(spec, &f->spec, &err) < 0)
		fail_msg("%s", err.msg);
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_OFF;
	vc.devices = &f->spec;
	vc.ndevices = 1;
	vc.device_failure_continue = keep_going;
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

/* The guest's driver: features, FEATURES_OK, queue 0 of 8 at ring, QueueReady. */
static void program_queue(struct fixture *f, uint64_t ring, uint64_t avail_off)
{
	struct vdev *d = &f->vm->devs[0];
	struct cp_err err = { 0 };

	assert_int_equal(cc_mem_convert(&f->cvm, 0x400000, 0x20000, false, &err), 0);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 1);
	wr(d, 0x20, 3);
	wr(d, 0x24, 0);
	wr(d, 0x20, 0);
	wr(d, 0x70, 1 | 2 | 8);
	assert_int_equal(rd(d, 0x70) & 8, 8);
	wr(d, 0x30, 0);
	wr(d, 0x38, 8);
	wr(d, 0x80, (uint32_t)ring);
	wr(d, 0x90, (uint32_t)(ring + avail_off));
	wr(d, 0xa0, (uint32_t)(ring + 0x2000));
	wr(d, 0x44, 1);
}

static void expect_device_lost(struct fixture *f, bool keep_going)
{
	struct vdev *d = &f->vm->devs[0];

	assert_int_equal(rd(d, 0x44), 0);            /* QueueReady refused */
	assert_true(rd(d, 0x70) & VMMIO_S_NEEDS_RESET);
	assert_true(atomic_load(&d->dead));          /* not asked anything again */
	if (keep_going) {
		assert_int_equal(atomic_load(&f->vm->ended), 0);
	} else {
		assert_int_equal(atomic_load(&f->vm->ended), 2);
		assert_int_equal(f->vm->end_status, CP_EXIT_FAILURE);
		assert_non_null(strstr(f->vm->end_msg, "device rng0: its helper failed starting a ring"));
	}
}

static void test_fd_in_reply_continue(void **state)
{
	struct fixture *f = start("rng,test-hook=fd-in-reply", true);
	program_queue(f, 0x400000, 0x1000);
	expect_device_lost(f, true);
	stop(f);
}

static void test_fd_in_reply_ends_vm(void **state)
{
	struct fixture *f = start("rng,test-hook=fd-in-reply", false);
	program_queue(f, 0x400000, 0x1000);
	expect_device_lost(f, false);
	stop(f);
}

static void test_stalled_helper_deadline(void **state)
{
	struct fixture *f = start("rng,test-hook=stall-ring-start", true);
	f->vm->devs[0].fe.reply_timeout_ms = 200; /* 10 s in carapace; short here */
	program_queue(f, 0x400000, 0x1000);
	expect_device_lost(f, true);
	stop(f);
}

static void test_misaligned_ring_is_a_guest_error(void **state)
{
	struct fixture *f = start("rng", false);
	struct vdev *d = &f->vm->devs[0];

	program_queue(f, 0x400000, 0x1001); /* avail ring at an odd address */
	assert_int_equal(rd(d, 0x44), 0);
	assert_true(rd(d, 0x70) & VMMIO_S_NEEDS_RESET);
	assert_false(atomic_load(&d->dead));
	assert_false(d->started[0]);
	assert_int_equal(atomic_load(&f->vm->ended), 0);
	/* After a reset the guest may try again, aligned: the helper serves it. */
	wr(d, 0x70, 0);
	program_queue(f, 0x400000, 0x1000);
	assert_int_equal(rd(d, 0x44), 1);
	assert_true(d->started[0]);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_in_reply_continue),
		cmocka_unit_test(test_fd_in_reply_ends_vm),
		cmocka_unit_test(test_stalled_helper_deadline),
		cmocka_unit_test(test_misaligned_ring_is_a_guest_error),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests_name("cc-vdev-hostile", tests, NULL, NULL);
}

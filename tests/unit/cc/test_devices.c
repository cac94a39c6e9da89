/* Virtio devices of a confidential (SEV-SNP) VM, launched on the strict double and served by the
 * real, jailed carapace-rng helper: the back-end is given the shared memfd and nothing else, the
 * guest is offered VIRTIO_F_ACCESS_PLATFORM (and the back-end never sees it), interrupts go
 * through the in-kernel IOAPIC, and a request placed in shared guest memory is answered there. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/kvm_cc_uapi.h"
#include "common/cli.h"
#include "runner/exits.h"
#include "runner/vm.h"

struct fixture {
	struct kvm_double *kd;
	struct cc_vm cvm;
	struct cc_launch_cfg cfg;
	struct vdev_spec spec[RUN_MAX_DEVICES + 1];
	struct vm *vm;
};

static int setup_n(void **state, enum cc_platform p, unsigned ndev)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cp_err err = { 0 };
	struct vm_config vc;

	f->cfg = cfg_for(p, 1);
	f->kd = double_new();
	if (cc_launch(&kd_ops, f->kd, &f->cfg, &f->cvm, &err) < 0) {
		print_error("launch: %s\n", err.msg);
		return -1;
	}
	for (unsigned i = 0; i < ndev; i++)
		if (vdev_spec_parse("rng", &f->spec[i], &err) < 0)
			return -1;
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_OFF;
	vc.devices = f->spec;
	vc.ndevices = ndev;
	if (vm_adopt_cc(&f->cvm, &vc, &f->vm, &err) < 0) {
		print_error("adopt: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}
static int setup(void **state) { return setup_n(state, CC_SNP, 1); }
static int setup_tdx(void **state) { return setup_n(state, CC_TDX, 1); }
static int setup_16(void **state) { return setup_n(state, CC_SNP, RUN_MAX_DEVICES); }
static int setup_16_tdx(void **state) { return setup_n(state, CC_TDX, RUN_MAX_DEVICES); }

static int teardown(void **state)
{
	struct fixture *f = *state;
	vm_destroy(f->vm);
	cc_vm_release(&f->cvm);
	kd_free(f->kd);
	free(f);
	return 0;
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

static void test_backend_gets_only_shared_memory(void **state)
{
	struct fixture *f = *state;
	struct vm_region r[VM_MAX_REGIONS];
	unsigned n = vm_backend_regions(f->vm, r);
	struct stat a, b;

	assert_int_equal(n, 1); /* 64 MiB: one RAM block; the firmware block is never offered */
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 64ull << 20);
	assert_int_equal(r[0].fd, f->cvm.shared_fd);
	assert_ptr_equal(r[0].hva, f->cvm.shared);
	for (unsigned i = 0; i < f->cvm.nblocks; i++)
		assert_int_not_equal(r[0].fd, f->cvm.blocks[i].gmem_fd);
	/* It is the memfd KVM was given as the slot's shared backing. */
	assert_int_equal(fstat(r[0].fd, &a), 0);
	assert_int_equal(fstat(f->cvm.shared_fd, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
}

static void test_interrupts_through_in_kernel_ioapic(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;

	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_true(rec.irqchip);
	assert_int_equal(rec.ioeventfds, 1); /* virtio-rng: one queue */
	assert_int_equal(rec.irqfds, 1);
	assert_int_equal(kd_refusals(f->kd), 0);
}

static void test_access_platform_offered_not_forwarded(void **state)
{
	struct fixture *f = *state;
	struct vdev *d = &f->vm->devs[0];

	assert_int_equal(rd(d, 0x00), 0x74726976); /* "virt" */
	wr(d, 0x14, 1);
	assert_int_equal(rd(d, 0x10) & 3, 3); /* VERSION_1 (32) and ACCESS_PLATFORM (33) */
	wr(d, 0x70, 1 | 2);                   /* ACKNOWLEDGE | DRIVER */
	wr(d, 0x24, 1);
	wr(d, 0x20, 3);
	wr(d, 0x24, 0);
	wr(d, 0x20, 0);
	wr(d, 0x70, 1 | 2 | 8);               /* FEATURES_OK */
	assert_int_equal(rd(d, 0x70) & 8, 8);
	assert_true(d->fe.acked & (1ull << 32));
	assert_false(d->fe.acked & (1ull << VIRTIO_F_ACCESS_PLATFORM_BIT));
}

/* A request in shared guest memory reaches the jailed helper and is answered there. */
static void test_request_served_in_shared_memory(void **state)
{
	struct fixture *f = *state;
	struct vdev *d = &f->vm->devs[0];
	const uint64_t ring = 0x400000, buf = 0x410000;
	uint8_t *g = f->cvm.shared;
	struct cp_err err = { 0 };
	struct pollfd p;
	uint64_t v;

	/* The guest shares the ring and buffer pages (MAP_GPA_RANGE to shared), as a CC guest's
	 * swiotlb pool is shared. */
	assert_int_equal(cc_mem_convert(&f->cvm, ring, 0x20000, false, &err), 0);
	test_access_platform_offered_not_forwarded(state);
	/* Queue 0: 8 entries; descriptor table, then avail ring, then used ring. */
	wr(d, 0x30, 0);
	wr(d, 0x38, 8);
	wr(d, 0x80, (uint32_t)ring);
	wr(d, 0x84, 0);
	wr(d, 0x90, (uint32_t)(ring + 0x1000));
	wr(d, 0x94, 0);
	wr(d, 0xa0, (uint32_t)(ring + 0x2000));
	wr(d, 0xa4, 0);
	wr(d, 0x44, 1);
	wr(d, 0x70, 1 | 2 | 8 | 4); /* DRIVER_OK */
	assert_true(d->started[0]);
	/* One device-writable descriptor of 64 bytes, made available. */
	cp_put_le64(g + ring, buf);
	cp_put_le32(g + ring + 8, 64);
	cp_put_le16(g + ring + 12, 2 /* VIRTQ_DESC_F_WRITE */);
	cp_put_le16(g + ring + 0x1000 + 4, 0);
	__atomic_store_n((uint16_t *)(g + ring + 0x1000 + 2), 1, __ATOMIC_RELEASE);
	wr(d, 0x50, 0); /* QueueNotify (KVM's ioeventfd on real hardware) */
	p = (struct pollfd){ .fd = d->call[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(d->call[0], &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_int_equal(cp_le16(g + ring + 0x2000 + 2), 1);       /* used idx */
	assert_int_equal(cp_le32(g + ring + 0x2000 + 4 + 4), 64);  /* bytes written */
	{
		unsigned nonzero = 0;
		for (int i = 0; i < 64; i++)
			nonzero += g[buf + (unsigned)i] != 0;
		assert_true(nonzero > 32); /* random bytes, written by the helper into shared memory */
	}
}

/* One MMIO access by vCPU 0, through the VMM's exit table (as KVM_RUN would report it). */
static void guest_mmio(struct fixture *f, uint64_t gpa, bool write, uint32_t *val)
{
	struct vcpu *v = &f->vm->vcpus[0];
	struct kvm_run *run = vcpu_run(v);

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = 4;
	run->mmio.is_write = write;
	cp_put_le32(run->mmio.data, write ? *val : 0);
	assert_int_equal(exits_dispatch(v), EXIT_CONTINUE);
	if (!write)
		*val = cp_le32(run->mmio.data);
}

static void ioapic_write(struct fixture *f, uint32_t index, uint32_t v)
{
	guest_mmio(f, IOAPIC_BASE, true, &index);
	guest_mmio(f, IOAPIC_BASE + 0x10, true, &v);
}

/* A TD: split irqchip, so the device's GSI is routed by carapace's user-space IOAPIC as the
 * guest programs it. */
static void test_tdx_device_interrupt_routed_by_user_ioapic(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	uint32_t v = 1;
	unsigned gsi = f->vm->devs[0].gsi;

	assert_true(f->vm->split_irqchip);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_false(rec.irqchip);
	assert_int_equal(rec.irqfds, 1);
	assert_int_equal(rec.gsi_routes, 0); /* every pin masked at reset: no route yet */
	guest_mmio(f, IOAPIC_BASE, true, &v);
	guest_mmio(f, IOAPIC_BASE + 0x10, false, &v);
	assert_int_equal(v, 0x170011); /* version 0x11, 24 pins */
	/* The guest routes the device's pin to vector 0x31 on APIC 1, edge, unmasked. */
	ioapic_write(f, 0x10 + 2 * gsi + 1, 1u << 24);
	ioapic_write(f, 0x10 + 2 * gsi, 0x31);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.gsi_routes, 1);
	assert_int_equal(rec.route_addr[gsi], 0xfee01000u);
	assert_int_equal(rec.route_data[gsi], 0x31);
	/* Masked again: the route is gone. */
	ioapic_write(f, 0x10 + 2 * gsi, 0x31 | 1u << 16);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.gsi_routes, 0);
	assert_int_equal(kd_refusals(f->kd), 0);
}

/* The event loop blocks until a helper's process has ended, and learns it from the pidfd: no
 * spin, no sleep. The guest spins (until kicked) so only the helper's death can end the VM. */
static void test_helper_death_wakes_loop_by_pidfd(void **state)
{
	struct fixture *f = *state;
	struct vdev *d = &f->vm->devs[0];
	int status;

	assert_int_equal(kd_script_wait_ap_blocked(f->kd, 0, 0), 0); /* never: spins until kicked */
	assert_true(d->pid > 0 && d->pidfd >= 0);
	assert_int_equal(kill(d->pid, SIGKILL), 0);
	status = vm_run(f->vm);
	assert_int_equal(status, CP_EXIT_FAILURE);
	assert_non_null(strstr(f->vm->end_msg, "device rng0: its helper killed by signal 9"));
	assert_int_equal(d->death_by, VDEV_DEATH_PIDFD);
	/* The pidfd, perhaps the socket's hang-up before it: never a loop of wake-ups. */
	assert_true(f->vm->loop_wakeups >= 1 && f->vm->loop_wakeups <= 3);
}

/* Sixteen devices (Kata's Firecracker driver: a root drive, 8 placeholders, net, vsock, rng):
 * each its own window, its own GSI on the IOAPIC's 24 pins (none an ISA IRQ a legacy device
 * uses), one ioeventfd and irqfd each, and one virtio_mmio.device= announcement each. */
static void test_sixteen_devices(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	uint32_t seen = 0;
	char want[64];

	assert_int_equal(RUN_MAX_DEVICES, 16);
	assert_int_equal(f->vm->ndevs, 16);
	for (unsigned i = 0; i < 16; i++) {
		const struct vdev *d = &f->vm->devs[i];
		assert_int_equal(d->base, 0xfeb00000ull + 0x200ull * i);
		assert_true(d->gsi < 24);
		assert_true(d->gsi >= 5 && d->gsi != 8 && d->gsi != 14 && d->gsi != 15);
		assert_false(seen & (1u << d->gsi));
		seen |= 1u << d->gsi;
		snprintf(want, sizeof(want), "virtio_mmio.device=512@0x%llx:%u", (unsigned long long)d->base, d->gsi);
		assert_non_null(strstr(f->vm->cmdline, want));
	}
	assert_non_null(strstr(f->vm->cmdline, "virtio_mmio.device=512@0xfeb01e00:23"));
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.ioeventfds, 16);
	assert_int_equal(rec.irqfds, 16);
	assert_int_equal(kd_refusals(f->kd), 0);
}

/* The last device's pin (23) is routed by the user-space IOAPIC of a TD like any other. */
static void test_sixteenth_device_routed_tdx(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	unsigned gsi = f->vm->devs[15].gsi;

	assert_int_equal(gsi, 23);
	ioapic_write(f, 0x10 + 2 * gsi + 1, 1u << 24);
	ioapic_write(f, 0x10 + 2 * gsi, 0x32);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.gsi_routes, 1);
	assert_int_equal(rec.route_data[gsi], 0x32);
	assert_int_equal(kd_refusals(f->kd), 0);
}

/* A seventeenth device is refused before any helper starts. */
static void test_seventeen_refused(void **state)
{
	struct fixture f = { 0 };
	struct cp_err err = { 0 };
	struct vm_config vc;
	struct vm *vm = NULL;

	(void)state;
	f.cfg = cfg_for(CC_SNP, 1);
	f.kd = double_new();
	assert_true(cc_launch(&kd_ops, f.kd, &f.cfg, &f.cvm, &err) >= 0);
	for (unsigned i = 0; i <= RUN_MAX_DEVICES; i++)
		assert_int_equal(vdev_spec_parse("rng", &f.spec[i], &err), 0);
	memset(&vc, 0, sizeof(vc));
	vc.console_out_fd = vc.console_in_fd = -1;
	vc.sandbox = SANDBOX_OFF;
	vc.devices = f.spec;
	vc.ndevices = RUN_MAX_DEVICES + 1;
	assert_true(vm_adopt_cc(&f.cvm, &vc, &vm, &err) < 0);
	assert_non_null(strstr(err.msg, "at most 16"));
	if (vm)
		vm_destroy(vm);
	cc_vm_release(&f.cvm);
	kd_free(f.kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backend_gets_only_shared_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts_through_in_kernel_ioapic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_platform_offered_not_forwarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_served_in_shared_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_device_interrupt_routed_by_user_ioapic, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_access_platform_offered_not_forwarded, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_request_served_in_shared_memory, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_backend_gets_only_shared_memory, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_sixteen_devices, setup_16, teardown),
		cmocka_unit_test_setup_teardown(test_sixteen_devices, setup_16_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_sixteenth_device_routed_tdx, setup_16_tdx, teardown),
		cmocka_unit_test(test_seventeen_refused),
		/* Last: vm_run leaves this process in the VM process's namespaces and empty root
		 * (runner/sandbox.c), where no further helper can be jailed. */
		cmocka_unit_test_setup_teardown(test_helper_death_wakes_loop_by_pidfd, setup, teardown),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests_name("cc-devices", tests, NULL, NULL);
}

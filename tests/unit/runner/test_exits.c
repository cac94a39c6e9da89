/* Exit dispatch against a fake kernel: every exit a hostile guest can cause ends cleanly or is
 * handled; unknown exits fail closed with a message naming the exit and RIP. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/cli.h"
#include "runner/exits.h"
#include "runner/vm.h"

static uint8_t sink[4096];
static size_t sink_len;

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	if (req == KVM_GET_REGS) {
		struct kvm_regs *r = arg;
		memset(r, 0, sizeof(*r));
		r->rip = 0x1234;
		return 0;
	}
	return -ENOTTY;
}
static const struct kvm_ops fake_ops = { .name = "fake", .ioctl = fake_ioctl };

static void out(void *o, const uint8_t *b, size_t n)
{
	memcpy(sink + sink_len, b, n);
	sink_len += n;
}

struct fx {
	struct vm *vm;
	struct vcpu *v;
	struct kvm_run *run;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->vm = calloc(1, sizeof(*f->vm));
	f->vm->ops = &fake_ops;
	f->vm->kvm.run_size = 3 * 4096;
	f->vm->end_fd = -1;
	pthread_mutex_init(&f->vm->kbd_mu, NULL);
	uart_init(&f->vm->uart, out, NULL, NULL);
	f->run = aligned_alloc(4096, 3 * 4096);
	memset(f->run, 0, 3 * 4096);
	f->v = &f->vm->vcpus[0];
	f->v->vm = f->vm;
	f->vm->kvm.run[0] = f->run;
	f->vm->nvcpus = 1;
	sink_len = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	uart_destroy(&f->vm->uart);
	free(f->run);
	free(f->vm);
	free(f);
	return 0;
}

static void io(struct fx *f, uint16_t port, int out_dir, unsigned size, unsigned count, uint32_t off, const void *data)
{
	f->run->exit_reason = KVM_EXIT_IO;
	f->run->io.direction = out_dir ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	f->run->io.port = port;
	f->run->io.size = (uint8_t)size;
	f->run->io.count = count;
	f->run->io.data_offset = off;
	if (data)
		memcpy((uint8_t *)f->run + off, data, (size_t)size * count);
}

static void test_uart_out(void **state)
{
	struct fx *f = *state;
	io(f, 0x3f8, 1, 1, 3, 4096, "ok\n");
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(sink_len, 3);
	assert_memory_equal(sink, "ok\n", 3);
	assert_int_equal(f->vm->ended, 0);
}

static void test_bad_io_offset(void **state)
{
	struct fx *f = *state;
	io(f, 0x3f8, 1, 4, 3000, 4096, NULL); /* data would run past the kvm_run page */
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, CP_EXIT_GUEST);
	assert_non_null(strstr(f->vm->end_msg, "malformed port I/O"));
}

static void test_bad_io_size(void **state)
{
	struct fx *f = *state;
	io(f, 0x3f8, 1, 3, 1, 4096, NULL);
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_non_null(strstr(f->vm->end_msg, "malformed"));
}

/* SendCtrlAltDel: the keys wait in the i8042's output buffer, status bit 0 says so, port 0x60
 * hands them out in order (Firecracker's set 2 make codes), and a full buffer refuses more. */
static void test_i8042_ctrl_alt_del(void **state)
{
	static const uint8_t want[] = { 0x14, 0x11, 0xe0, 0x71 };
	struct fx *f = *state;

	io(f, 0x64, 0, 1, 1, 4096, NULL);
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(((uint8_t *)f->run)[4096], 0); /* nothing waiting */
	assert_true(vm_send_ctrl_alt_del(f->vm));
	assert_true(vm_send_ctrl_alt_del(f->vm));
	assert_false(vm_send_ctrl_alt_del(f->vm)); /* 8 bytes: full */
	for (unsigned k = 0; k < 2 * sizeof(want); k++) {
		io(f, 0x64, 0, 1, 1, 4096, NULL);
		assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
		assert_int_equal(((uint8_t *)f->run)[4096], 1);
		io(f, 0x60, 0, 1, 1, 4096, NULL);
		assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
		assert_int_equal(((uint8_t *)f->run)[4096], want[k % sizeof(want)]);
	}
	io(f, 0x64, 0, 1, 1, 4096, NULL);
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(((uint8_t *)f->run)[4096], 0);
	assert_int_equal(f->vm->ended, 0);
}

static void test_i8042_reset(void **state)
{
	struct fx *f = *state;
	uint8_t b = 0xfe;
	io(f, 0x64, 1, 1, 1, 4096, &b);
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, CP_EXIT_OK);
	assert_non_null(strstr(f->vm->end_msg, "reset"));
}

static void test_debug_exit_off_by_default(void **state)
{
	struct fx *f = *state;
	uint32_t v = 5;
	io(f, 0xf4, 1, 4, 1, 4096, &v);
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(f->vm->ended, 0);
}

static void test_debug_exit(void **state)
{
	struct fx *f = *state;
	uint32_t v = 5;
	f->vm->cfg.debug_exit = true;
	io(f, 0xf4, 1, 4, 1, 4096, &v);
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, 11);
}

static void test_unknown_port(void **state)
{
	struct fx *f = *state;
	uint8_t *d = (uint8_t *)f->run + 4096;
	io(f, 0x1234, 0, 2, 1, 4096, NULL);
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(d[0], 0xff); /* open bus */
	assert_int_equal(f->vm->unknown_pio, 1);
	f->vm->cfg.strict_io = true;
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_non_null(strstr(f->vm->end_msg, "unknown I/O port 0x1234"));
	assert_non_null(strstr(f->vm->end_msg, "0x1234"));
}

static void test_mmio_fails_closed(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_MMIO;
	f->run->mmio.phys_addr = 0xd0000000;
	f->run->mmio.len = 4;
	f->run->mmio.is_write = 1;
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, CP_EXIT_GUEST);
	assert_non_null(strstr(f->vm->end_msg, "wrote to unmapped guest-physical address 0xd0000000"));
	assert_non_null(strstr(f->vm->end_msg, "RIP 0x1234"));
}

static void test_shutdown(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_SHUTDOWN;
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, CP_EXIT_GUEST);
	assert_non_null(strstr(f->vm->end_msg, "triple fault"));
}

static void test_internal_error(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	f->run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	f->run->internal.ndata = 1000; /* hostile count: clamped */
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_non_null(strstr(f->vm->end_msg, "could not emulate"));
}

static void test_unknown_exit(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = 9999;
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_int_equal(f->vm->end_status, CP_EXIT_GUEST);
	assert_non_null(strstr(f->vm->end_msg, "unhandled exit 9999"));
}

static void test_known_but_unhandled_exit(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_HYPERCALL;
	assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
	assert_non_null(strstr(f->vm->end_msg, "(HYPERCALL)"));
}

static void test_first_outcome_wins(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_SHUTDOWN;
	exits_dispatch(f->v);
	f->run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	f->run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	exits_dispatch(f->v);
	assert_int_equal(f->vm->end_status, CP_EXIT_GUEST);
}

static uint64_t count_of(const struct vcpu *v, enum api_vcpu_counter c)
{
	return atomic_load(&v->counters[c]);
}

/* Firecracker's vcpu counters: port I/O by direction, one per exit (a rep string of 3 is one). */
static void test_counts_io(void **state)
{
	struct fx *f = *state;
	io(f, 0x3f8, 1, 1, 3, 4096, "ok\n");
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	io(f, 0x64, 0, 1, 1, 4096, NULL);
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	io(f, 0x1234, 0, 2, 1, 4096, NULL); /* an unknown port is an input exit too */
	assert_int_equal(exits_dispatch(f->v), EXIT_CONTINUE);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_IO_OUT), 1);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_IO_IN), 2);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_MMIO_READ), 0);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_MMIO_WRITE), 0);
	assert_int_equal(count_of(f->v, API_VCPU_FAILURES), 0);
}

static void test_counts_mmio(void **state)
{
	struct fx *f = *state;
	f->run->exit_reason = KVM_EXIT_MMIO;
	f->run->mmio.phys_addr = 0xd0000000;
	f->run->mmio.len = 4;
	f->run->mmio.is_write = 0;
	exits_dispatch(f->v);
	f->run->mmio.is_write = 1;
	exits_dispatch(f->v);
	exits_dispatch(f->v);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_MMIO_READ), 1);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_MMIO_WRITE), 2);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_IO_IN) + count_of(f->v, API_VCPU_EXIT_IO_OUT), 0);
	assert_int_equal(count_of(f->v, API_VCPU_FAILURES), 0);
}

/* failures as Firecracker counts them: a failed entry, an internal error, an exit without a
 * handler; HLT and a triple fault are no failure. */
static void test_counts_failures(void **state)
{
	static const unsigned failing[] = { KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR, 9999, KVM_EXIT_HYPERCALL,
					    KVM_EXIT_DEBUG };
	struct fx *f = *state;

	f->run->exit_reason = KVM_EXIT_HLT;
	exits_dispatch(f->v);
	f->run->exit_reason = KVM_EXIT_SHUTDOWN;
	exits_dispatch(f->v);
	assert_int_equal(count_of(f->v, API_VCPU_FAILURES), 0);
	for (unsigned i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		f->run->exit_reason = failing[i];
		assert_int_equal(exits_dispatch(f->v), EXIT_STOP);
		assert_int_equal(count_of(f->v, API_VCPU_FAILURES), i + 1);
	}
	for (unsigned c = 0; c < API_VCPU_FAILURES; c++)
		assert_int_equal(count_of(f->v, c), 0);
}

/* Each vCPU counts on its own; the main thread's reading is their sum, and it crosses the
 * control socket unchanged. */
static void test_counts_summed(void **state)
{
	struct fx *f = *state;
	struct vcpu *v1 = &f->vm->vcpus[1];
	struct api_vm_metrics m, back;
	uint8_t rec[API_VM_METRICS_MAX];
	struct cp_err err = { 0 };
	size_t n;

	v1->vm = f->vm;
	v1->index = 1;
	f->vm->kvm.run[1] = f->run;
	f->vm->nvcpus = 2;
	io(f, 0x3f8, 1, 1, 1, 4096, "a");
	exits_dispatch(f->v);
	exits_dispatch(v1);
	exits_dispatch(v1);
	io(f, 0x64, 0, 1, 1, 4096, NULL);
	exits_dispatch(v1);
	assert_int_equal(count_of(f->v, API_VCPU_EXIT_IO_OUT), 1);
	assert_int_equal(count_of(v1, API_VCPU_EXIT_IO_OUT), 2);
	vm_metrics_snapshot(f->vm, &m);
	assert_int_equal(m.nvcpus, 2);
	assert_false(m.final);
	assert_int_equal(m.c[API_VCPU_EXIT_IO_OUT], 3);
	assert_int_equal(m.c[API_VCPU_EXIT_IO_IN], 1);
	assert_int_equal(m.c[API_VCPU_FAILURES], 0);
	n = api_vm_metrics_encode(&m, rec);
	assert_int_equal(api_vm_metrics_read(rec, n, 2, NULL, 0, NULL, &back, &err), 0);
	assert_memory_equal(back.c, m.c, sizeof(m.c));
}

int main(void)
{
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_uart_out), T(test_bad_io_offset), T(test_bad_io_size), T(test_i8042_reset), T(test_i8042_ctrl_alt_del),
		T(test_debug_exit_off_by_default), T(test_debug_exit), T(test_unknown_port), T(test_mmio_fails_closed),
		T(test_shutdown), T(test_internal_error), T(test_unknown_exit), T(test_known_but_unhandled_exit),
		T(test_first_outcome_wins), T(test_counts_io), T(test_counts_mmio), T(test_counts_failures), T(test_counts_summed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Exit handlers. Everything here parses state a hostile guest controls: port numbers, sizes,
 * counts and data offsets are checked against the kvm_run page before use. */
#include "runner/exits.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "runner/layout.h"
#include "runner/cc/cc.h"
#include "runner/kvm_cc_uapi.h"

/* ---- port I/O devices ---- */

struct pio_dev {
	uint16_t base, len;
	const char *name;
	/* returns EXIT_STOP when the access ended the VM */
	enum exit_action (*fn)(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write, uint8_t *data,
			       unsigned size);
};

static enum exit_action pio_uart(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write, uint8_t *data,
				 unsigned size)
{
	/* A 16550 has byte registers; wider accesses touch consecutive registers. */
	for (unsigned i = 0; i < size && port + i < d->base + d->len; i++)
		uart_io(&v->vm->uart, port + i - d->base, write, data + i);
	return EXIT_CONTINUE;
}

static enum exit_action pio_i8042(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write, uint8_t *data,
				  unsigned size)
{
	if (!write) {
		/* The keyboard holds bytes only after SendCtrlAltDel; otherwise status 0, buffer empty. */
		memset(data, 0, size);
		data[0] = vm_i8042_read(v->vm, port);
		return EXIT_CONTINUE;
	}
	if (port == 0x64 && data[0] == 0xfe) {
		vm_end(v->vm, CP_EXIT_OK, "guest requested a reset through the i8042 (vCPU %u)", v->index);
		return EXIT_STOP;
	}
	return EXIT_CONTINUE;
}

static enum exit_action pio_debug_exit(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write,
				       uint8_t *data, unsigned size)
{
	uint32_t val = 0;

	if (!v->vm->cfg.debug_exit) {
		if (!write)
			memset(data, 0xff, size);
		return EXIT_CONTINUE;
	}
	if (!write) {
		memset(data, 0, size);
		return EXIT_CONTINUE;
	}
	memcpy(&val, data, size);
	/* isa-debug-exit semantics, so one test guest gives the same status under QEMU. */
	vm_end(v->vm, (int)(((val << 1) | 1) & 0xff), "guest wrote 0x%x to the debug-exit port (vCPU %u)", val,
	       v->index);
	return EXIT_STOP;
}

static enum exit_action pio_absent(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write, uint8_t *data,
				   unsigned size)
{
	if (!write)
		memset(data, 0xff, size); /* open bus */
	return EXIT_CONTINUE;
}

/* Ports with a device, and ports guests and firmware are known to probe, answered as "no device".
 * Anything else is unknown: counted, and with --strict-io it ends the VM. */
static enum exit_action pio_fw_cfg(struct vcpu *v, const struct pio_dev *d, uint16_t port, int write, uint8_t *data,
				   unsigned size)
{
	if (!v->vm->fw_cfg)
		return pio_absent(v, d, port, write, data, size);
	vm_fw_cfg_io(v->vm, port, write, data, size);
	return EXIT_CONTINUE;
}

static const struct pio_dev pio_devs[] = {
	{ 0x3f8, 8, "uart0 (16550A)", pio_uart },
	{ 0x060, 1, "i8042 data", pio_i8042 },
	{ 0x064, 1, "i8042 command", pio_i8042 },
	{ 0x0f4, 4, "debug-exit", pio_debug_exit },
	{ 0x070, 2, "RTC/CMOS (absent)", pio_absent },
	{ 0x061, 1, "speaker/NMI status (absent)", pio_absent },
	{ 0x080, 1, "POST code (absent)", pio_absent },
	{ 0x087, 1, "DMA page (absent)", pio_absent },
	{ 0x0ed, 1, "I/O delay (absent)", pio_absent },
	{ 0x2e8, 8, "uart3 (absent)", pio_absent },
	{ 0x2f8, 8, "uart1 (absent)", pio_absent },
	{ 0x3e8, 8, "uart2 (absent)", pio_absent },
	{ 0x3c0, 0x20, "VGA (absent)", pio_absent },
	{ 0x510, FW_CFG_PORTS, "fw_cfg (confidential VMs; absent otherwise)", pio_fw_cfg },
	{ 0xcf8, 8, "PCI configuration (absent)", pio_absent },
};

static const struct pio_dev *pio_find(uint16_t port)
{
	for (size_t i = 0; i < ARRAY_SIZE(pio_devs); i++)
		if (port >= pio_devs[i].base && port < pio_devs[i].base + pio_devs[i].len)
			return &pio_devs[i];
	return NULL;
}

static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs regs;
	if (v->vm->ops->ioctl(v->vm->ops_ctx, vcpu_fd(v), KVM_GET_REGS, &regs) < 0)
		return UINT64_MAX;
	return regs.rip;
}

static enum exit_action exit_io(struct vcpu *v)
{
	struct kvm_run *run = vcpu_run(v);
	unsigned size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	int write = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *base = (uint8_t *)run;

	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    off < sizeof(*run) || off > vm_run_size(v->vm) || (uint64_t)size * count > vm_run_size(v->vm) - off) {
		vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: malformed port I/O exit (port 0x%x size %u count %u)", v->index,
		       run->io.port, size, count);
		return EXIT_STOP;
	}
	for (unsigned i = 0; i < count; i++) {
		uint16_t port = run->io.port;
		uint8_t *data = base + off + (uint64_t)i * size;
		const struct pio_dev *d = pio_find(port);
		if (!d) {
			atomic_fetch_add(&v->vm->unknown_pio, 1);
			if (v->vm->cfg.strict_io) {
				vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: %s of unknown I/O port 0x%x (%u bytes) at RIP 0x%" PRIx64
				       " (--strict-io)", v->index, write ? "write" : "read", port, size, vcpu_rip(v));
				return EXIT_STOP;
			}
			if (!write)
				memset(data, 0xff, size);
			continue;
		}
		if (d->fn(v, d, port, write, data, size) == EXIT_STOP)
			return EXIT_STOP;
	}
	return EXIT_CONTINUE;
}

static enum exit_action exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = vcpu_run(v);
	uint64_t a = run->mmio.phys_addr;
	unsigned len = run->mmio.len;

	/* A TD's IOAPIC is emulated here (split irqchip). */
	if (v->vm->split_irqchip && a >= IOAPIC_BASE && a - IOAPIC_BASE < IOAPIC_SIZE && len <= 8 &&
	    len <= IOAPIC_SIZE - (a - IOAPIC_BASE)) {
		vm_ioapic_access(v->vm, a - IOAPIC_BASE, run->mmio.is_write, run->mmio.data, len);
		return EXIT_CONTINUE;
	}
	/* The virtio-mmio windows; anything else is outside the guest's world: fail closed. */
	for (unsigned i = 0; i < v->vm->ndevs; i++) {
		struct vdev *d = &v->vm->devs[i];
		if (a >= d->base && a - d->base < GP_VIRTIO_MMIO_SZ && len <= 8 && len <= GP_VIRTIO_MMIO_SZ - (a - d->base)) {
			vmmio_access(&d->mmio, a - d->base, run->mmio.is_write, run->mmio.data, len);
			return EXIT_CONTINUE;
		}
	}
	vm_end(v->vm, CP_EXIT_GUEST,
	       "vCPU %u: guest %s unmapped guest-physical address 0x%llx (%u bytes) at RIP 0x%" PRIx64
	       " (outside RAM and every device)", v->index, run->mmio.is_write ? "wrote to" : "read from",
	       (unsigned long long)run->mmio.phys_addr, run->mmio.len, vcpu_rip(v));
	return EXIT_STOP;
}

/* SEV-SNP / TDX exits go to runner/cc; for a plain VM they cannot happen and fail closed. */
static enum exit_action exit_cc(struct vcpu *v)
{
	struct cp_err e = { 0 };

	if (!v->vm->cc) {
		vcpu_count(v, API_VCPU_FAILURES); /* no handler for a plain VM */
		vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: exit %u (%s) from a VM that is not confidential", v->index,
		       vcpu_run(v)->exit_reason, exits_reason_name(vcpu_run(v)->exit_reason));
		return EXIT_STOP;
	}
	switch (cc_exit_dispatch(v->vm->cc, v->index, v->last_run, &e)) {
	case CC_EXIT_RESUME:
		return EXIT_CONTINUE;
	case CC_EXIT_GUEST_END:
		vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: %s", v->index, e.msg);
		return EXIT_STOP;
	default:
		vm_end(v->vm, CP_EXIT_FAILURE, "vCPU %u: %s", v->index, e.msg);
		return EXIT_STOP;
	}
}

/* Split irqchip: the guest's EOI of a level-triggered vector reaches the user-space IOAPIC. */
static enum exit_action exit_ioapic_eoi(struct vcpu *v)
{
	if (!v->vm->split_irqchip) {
		vm_end(v->vm, CP_EXIT_FAILURE, "vCPU %u: IOAPIC EOI exit without a split irqchip", v->index);
		return EXIT_STOP;
	}
	vm_ioapic_eoi(v->vm, vcpu_run(v)->eoi.vector);
	return EXIT_CONTINUE;
}

static enum exit_action exit_hlt(struct vcpu *v)
{
	vm_end(v->vm, CP_EXIT_OK, "vCPU %u halted", v->index);
	return EXIT_STOP;
}

/* On AMD, KVM re-initialises the vCPU before it reports a shutdown (arch/x86/kvm/svm/svm.c,
 * shutdown_interception: the VMCB is undefined after the intercept), so the RIP read back is the
 * reset vector's and the faulting one is lost: said, so nobody hunts for code at 0xfff0. */
static enum exit_action exit_shutdown(struct vcpu *v)
{
	uint64_t rip = vcpu_rip(v);

	vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: triple fault (shutdown) at RIP 0x%" PRIx64 "%s", v->index, rip,
	       rip == 0xfff0 ? " (the reset vector: on AMD, KVM resets the vCPU before it reports a shutdown, so "
			       "the faulting RIP is not known)" : "");
	return EXIT_STOP;
}

static enum exit_action exit_system_event(struct vcpu *v)
{
	switch (vcpu_run(v)->system_event.type) {
	case CP_KVM_SYSTEM_EVENT_SEV_TERM:
	case CP_KVM_SYSTEM_EVENT_TDX_FATAL:
		return exit_cc(v);
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_end(v->vm, CP_EXIT_OK, "guest powered off (vCPU %u)", v->index);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_end(v->vm, CP_EXIT_OK, "guest requested a reset (vCPU %u)", v->index);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vm_end(v->vm, CP_EXIT_GUEST, "guest reported a crash (vCPU %u)", v->index);
		break;
	default:
		vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: unknown system event type %u", v->index,
		       vcpu_run(v)->system_event.type);
		break;
	}
	return EXIT_STOP;
}

static enum exit_action exit_internal_error(struct vcpu *v)
{
	struct kvm_run *run = vcpu_run(v);
	char data[256] = "";
	size_t n = 0;
	unsigned nd = run->internal.ndata;

	if (nd > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		nd = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (unsigned i = 0; i < nd && n < sizeof(data) - 20; i++)
		n += (size_t)snprintf(data + n, sizeof(data) - n, " 0x%llx", (unsigned long long)run->internal.data[i]);
	vm_end(v->vm, CP_EXIT_GUEST,
	       "vCPU %u: KVM internal error (suberror %u%s) at RIP 0x%" PRIx64 ";%s%s", v->index, run->internal.suberror,
	       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": KVM could not emulate an instruction" : "",
	       vcpu_rip(v), nd ? " data:" : " no data", data);
	return EXIT_STOP;
}

static enum exit_action exit_fail_entry(struct vcpu *v)
{
	vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: VM entry failed (hardware reason 0x%llx on CPU %u) at RIP 0x%" PRIx64,
	       v->index, (unsigned long long)vcpu_run(v)->fail_entry.hardware_entry_failure_reason,
	       vcpu_run(v)->fail_entry.cpu, vcpu_rip(v));
	return EXIT_STOP;
}

/* Which of Firecracker's vcpu counters an exit adds to (runner/api/api_ctl.h). As Firecracker
 * counts: port I/O and MMIO by direction, one per exit (a `rep` string is one exit); `failures`
 * for a failed VM entry, a KVM internal error and an exit with no handler (a failed KVM_RUN is
 * counted in runner/vm.c); HLT, shutdown and system events are no failure. */
enum exit_count { COUNT_NONE, COUNT_IO, COUNT_MMIO, COUNT_FAILURE };

static const struct {
	const char *name;
	enum exit_action (*fn)(struct vcpu *v);
	enum exit_count count;
} exit_handlers[] = {
	[KVM_EXIT_UNKNOWN] = { "UNKNOWN", NULL },
	[KVM_EXIT_EXCEPTION] = { "EXCEPTION", NULL },
	[KVM_EXIT_IO] = { "IO", exit_io, COUNT_IO },
	[KVM_EXIT_HYPERCALL] = { "HYPERCALL", exit_cc },
	[KVM_EXIT_DEBUG] = { "DEBUG", NULL },
	[KVM_EXIT_HLT] = { "HLT", exit_hlt },
	[KVM_EXIT_MMIO] = { "MMIO", exit_mmio, COUNT_MMIO },
	[KVM_EXIT_IRQ_WINDOW_OPEN] = { "IRQ_WINDOW_OPEN", NULL },
	[KVM_EXIT_SHUTDOWN] = { "SHUTDOWN", exit_shutdown },
	[KVM_EXIT_FAIL_ENTRY] = { "FAIL_ENTRY", exit_fail_entry, COUNT_FAILURE },
	[KVM_EXIT_INTR] = { "INTR", NULL },
	[KVM_EXIT_SET_TPR] = { "SET_TPR", NULL },
	[KVM_EXIT_TPR_ACCESS] = { "TPR_ACCESS", NULL },
	[KVM_EXIT_NMI] = { "NMI", NULL },
	[KVM_EXIT_INTERNAL_ERROR] = { "INTERNAL_ERROR", exit_internal_error, COUNT_FAILURE },
	[KVM_EXIT_OSI] = { "OSI", NULL },
	[KVM_EXIT_SYSTEM_EVENT] = { "SYSTEM_EVENT", exit_system_event },
	[KVM_EXIT_IOAPIC_EOI] = { "IOAPIC_EOI", exit_ioapic_eoi },
	[KVM_EXIT_HYPERV] = { "HYPERV", NULL },
	[KVM_EXIT_X86_RDMSR] = { "X86_RDMSR", NULL },
	[KVM_EXIT_X86_WRMSR] = { "X86_WRMSR", NULL },
	[KVM_EXIT_DIRTY_RING_FULL] = { "DIRTY_RING_FULL", NULL },
	[KVM_EXIT_X86_BUS_LOCK] = { "X86_BUS_LOCK", NULL },
	[CP_KVM_EXIT_MEMORY_FAULT] = { "MEMORY_FAULT", exit_cc },
	[CP_KVM_EXIT_TDX] = { "TDX", exit_cc },
	[CP_KVM_EXIT_SNP_REQ_CERTS] = { "SNP_REQ_CERTS", exit_cc },
};

const char *exits_reason_name(unsigned reason)
{
	if (reason < ARRAY_SIZE(exit_handlers) && exit_handlers[reason].name)
		return exit_handlers[reason].name;
	return "not known to carapace";
}

static void exits_count(struct vcpu *v, const struct kvm_run *run, enum exit_count count)
{
	switch (count) {
	case COUNT_IO:
		vcpu_count(v, run->io.direction == KVM_EXIT_IO_OUT ? API_VCPU_EXIT_IO_OUT : API_VCPU_EXIT_IO_IN);
		break;
	case COUNT_MMIO:
		vcpu_count(v, run->mmio.is_write ? API_VCPU_EXIT_MMIO_WRITE : API_VCPU_EXIT_MMIO_READ);
		break;
	case COUNT_FAILURE:
		vcpu_count(v, API_VCPU_FAILURES);
		break;
	case COUNT_NONE:
		break;
	}
}

enum exit_action exits_dispatch(struct vcpu *v)
{
	unsigned reason = vcpu_run(v)->exit_reason;

	if (reason < ARRAY_SIZE(exit_handlers) && exit_handlers[reason].fn) {
		exits_count(v, vcpu_run(v), exit_handlers[reason].count);
		return exit_handlers[reason].fn(v);
	}
	vcpu_count(v, API_VCPU_FAILURES); /* an empty slot: the exit ends the VM */
	vm_end(v->vm, CP_EXIT_GUEST, "vCPU %u: unhandled exit %u (%s) at RIP 0x%" PRIx64, v->index, reason,
	       exits_reason_name(reason), vcpu_rip(v));
	return EXIT_STOP;
}

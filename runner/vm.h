/* A plain KVM virtual machine: creation, vCPU threads, exit dispatch, teardown. */
#ifndef CARAPACE_RUNNER_VM_H
#define CARAPACE_RUNNER_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/run_limits.h"
#include "runner/boot.h"
#include "runner/e820.h"
#include "runner/fw_cfg.h"
#include "runner/gmem.h"
#include "runner/ioapic.h"
#include "runner/kvm_ops.h"
#include "runner/sandbox.h"
#include "runner/uart.h"
#include "runner/vdev.h"
#include "runner/api/api_ctl.h"
#include "label/label.h"
#include "label/label_monitor.h"


struct vm;
struct cc_vm;

struct vm_config {
	uint64_t mem_size;
	unsigned ncpus;
	const char *cpu;          /* guest CPU model (--cpu, runner/guest_cpuid.h); NULL: host */
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;
	int console_out_fd;       /* where UART output goes */
	int console_in_fd;        /* -1: no input */
	bool console_flush_each;  /* interactive: no line buffering */
	uint64_t console_limit;   /* 0 = unlimited */
	uint64_t timeout_ms;      /* 0 = none */
	bool debug_exit;          /* test-only isa-debug-exit compatible port 0xf4 */
	bool strict_io;           /* unknown port I/O ends the VM */
	bool direct_layout;       /* boot_load_direct() instead of boot_load() */
	bool tdx_stub_test;       /* ... through the TDX stub, every vCPU at the reset vector */
	enum sandbox_mode sandbox; /* seccomp filters for the VM process's threads */
	const char *test_hook;    /* test builds only: make a thread misbehave on purpose */
	const struct label_ops *label_ops; /* NULL: libselinux */
	const struct vdev_spec *devices;
	unsigned ndevices;
	bool device_failure_continue; /* a dead helper leaves its device broken; default: stop the VM */
	/* The management API's control socket (carapace run --api-control-fd): one-byte requests
	 * (pause, resume, Ctrl-Alt-Del, metrics) answered in the event loop; as the VM ends, the last
	 * metrics record goes out unasked. Used when > 2 (0..2 are never one). */
	int control_fd;
};

/* A vCPU thread. Its KVM fd and kvm_run area are not here: a plain VM's are in struct vm_kvm, an
 * adopted VM's in its cc_vm; vcpu_fd() and vcpu_run() read whichever holds them. */
struct vcpu {
	struct vm *vm;
	unsigned index;
	pthread_t thread;
	bool started;
	int last_run;             /* what the last KVM_RUN returned (a memory fault comes with -EFAULT) */
	/* Firecracker's vcpu metrics of this vCPU (runner/api/api_ctl.h): written only by its own
	 * thread (vcpu_count), read and summed by the main thread (vm_metrics_snapshot); no lock and no
	 * locked instruction on the exit path. The padding keeps two vCPUs' counters off one cache
	 * line. */
	atomic_uint_fast64_t counters[API_VCPU_COUNTERS];
	uint8_t counters_pad[64];
};

/* One more of counter c for v: called on v's own thread only (one writer, so a plain load and
 * store, atomic only so that the main thread's read is not a data race). */
static inline void vcpu_count(struct vcpu *v, enum api_vcpu_counter c)
{
	atomic_store_explicit(&v->counters[c], atomic_load_explicit(&v->counters[c], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* What a plain VM (vm_create) made and vm_destroy releases: its KVM fds, vCPU fds and kvm_run
 * areas, guest RAM (a sealed memfd and its one mapping) and the TDX stub test's page. Each fd and
 * mapping is held in exactly one field of the whole program: a VM adopted from a confidential
 * launch (vm_adopt_cc) leaves all of this empty (-1, NULL), because its KVM state and memory stay
 * in the cc_vm it took over, which vm_destroy releases (cc_vm_release). Other modules read it
 * through the accessors below, never these fields. */
struct vm_kvm {
	int kvm_fd, vm_fd;
	size_t run_size;
	int vcpu_fd[RUN_MAX_VCPUS];
	struct kvm_run *run[RUN_MAX_VCPUS];
	int ram_fd;               /* the guest RAM memfd */
	struct gmem ram;          /* its mapping (scrubbed, then unmapped) */
	void *stub_page;          /* TDX stub test mode: the page mapped at BOOT_STUB_GPA */
};

struct vm {
	const struct kvm_ops *ops;
	void *ops_ctx;
	struct vm_config cfg;
	struct vm_kvm kvm;         /* a plain VM's KVM state and RAM (above); empty when adopted */
	int end_fd;
	struct e820_map e820;
	struct boot_result boot;
	struct uart uart;
	unsigned nvcpus;
	struct vcpu vcpus[RUN_MAX_VCPUS];
	atomic_bool stopping;
	atomic_int ended;          /* 0 until the first vm_end() */
	int end_status;            /* CP_EXIT_* or the debug-exit status */
	char end_msg[512];
	atomic_uint_fast64_t unknown_pio;
	unsigned ndevs;
	struct vdev devs[RUN_MAX_DEVICES];
	char *cmdline;             /* the guest's, with the virtio_mmio.device= announcements */
	/* A confidential VM launched by runner/cc, taken over by vm_adopt_cc: its fds, kvm_run areas
	 * and memory stay in the cc_vm, which this struct now owns (vm_destroy releases it with
	 * cc_vm_release; the struct's memory stays the caller's); run-time exits go to its handlers. */
	struct cc_vm *cc;
	/* Split irqchip (TDX): KVM has the local APICs, this IOAPIC is ours. Pins reach the guest as
	 * MSIs: irqfds through KVM_SET_GSI_ROUTING, the UART through KVM_SIGNAL_MSI. */
	bool split_irqchip;
	pthread_mutex_t ioapic_mu;
	struct ioapic ioapic;
	/* Firmware boot (confidential VMs): fw_cfg with the CPU count, memory map and a direct-boot
	 * kernel; its DMA reaches shared RAM only. NULL for a plain VM. */
	struct fw_cfg *fw_cfg;
	pthread_mutex_t fw_cfg_mu;
	/* sVirt-style MAC: this VM's MCS category pair and its helpers' domains. Its files' labels
	 * and the pair's claim belong to the label monitor, a process of its own that keeps the
	 * right to relabel by path, so this process enters its empty root in every configuration. */
	struct label_session label;
	bool label_open, have_pair;
	struct label_mcs_alloc mcs;
	struct label_mcs_claims claims;
	struct label_mcs_pair pair;
	struct label_monitor lmon;
	unsigned loop_wakeups;     /* how often the event loop's poll returned (tests: it blocks) */
	/* PATCH /vm {"state": "Paused"}: vCPUs park between KVM_RUNs until resumed (or stopped). */
	atomic_bool paused;
	pthread_mutex_t pause_mu;
	pthread_cond_t pause_cv;
	unsigned parked;
	/* The i8042's keyboard output buffer: only SendCtrlAltDel fills it (vm_send_ctrl_alt_del). */
	pthread_mutex_t kbd_mu;
	uint8_t kbd[8];
	unsigned kbd_len;
};

/* The one reading of each piece of KVM state, whichever struct owns it (a plain VM's vm_kvm or an
 * adopted VM's cc_vm). vm_ram() is guest RAM only (a confidential VM's shared RAM blocks). */
int vm_vm_fd(const struct vm *vm);
size_t vm_run_size(const struct vm *vm);
struct gmem vm_ram(const struct vm *vm);
int vcpu_fd(const struct vcpu *v);
struct kvm_run *vcpu_run(const struct vcpu *v);

int vm_create(const struct kvm_ops *ops, void *ops_ctx, const struct vm_config *cfg, struct vm **out,
	      struct cp_err *err);

/* Guest memory as a vhost-user back-end may map it: for a plain VM the RAM memfd; for a
 * confidential VM only the shared memfd's RAM blocks (never a guest_memfd, never the firmware). */
#define VM_MAX_REGIONS 4
struct vm_region {
	uint64_t gpa, size;
	uint8_t *hva;
	int fd;
	uint64_t fd_offset;
};
unsigned vm_backend_regions(const struct vm *vm, struct vm_region out[VM_MAX_REGIONS]);
/* Wrap a launched confidential VM (runner/cc, state FINISHED) so vm_run() drives its vCPUs: the
 * same threads, filters, event loop and exit table, with the SNP/TDX exits routed to runner/cc.
 * Ownership of what cvm holds moves to the VM whatever the result: on success vm_destroy releases
 * it, on failure it is released before the return. cvm itself (the struct) must outlive the VM;
 * a later cc_vm_release(cvm) by the caller finds nothing left to release. */
int vm_adopt_cc(struct cc_vm *cvm, const struct vm_config *cfg, struct vm **out, struct cp_err *err);

/* The metrics record's counters: the vCPUs' summed (a vCPU's count may move on while it is
 * read) and each device helper's from its counter page (devices/devstats.h), never below what
 * was seen before. The main thread only: it keeps what it saw of each page. */
void vm_metrics_snapshot(struct vm *vm, struct api_vm_metrics *out);

/* Run until the guest or the host ends the VM; returns the exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Record the outcome (first call wins) and ask every vCPU to stop. Callable from any thread. */
void vm_end(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Split irqchip: a guest access to the IOAPIC page, and the guest's EOI for a vector
 * (KVM_EXIT_IOAPIC_EOI). Both program KVM (routing, MSIs) as the model says. */
void vm_ioapic_access(struct vm *vm, uint64_t offset, bool is_write, uint8_t *data, unsigned len);
void vm_ioapic_eoi(struct vm *vm, uint8_t vector);
/* A guest access to the fw_cfg ports (confidential VMs). */
void vm_fw_cfg_io(struct vm *vm, uint16_t port, bool write, uint8_t *data, unsigned size);
/* A guest read of the i8042: port 0x64 is the status (bit 0: a keyboard byte is waiting), port
 * 0x60 takes the next byte (0 when none). */
uint8_t vm_i8042_read(struct vm *vm, uint16_t port);
/* Firecracker's SendCtrlAltDel: the keyboard's Ctrl, Alt and Del make codes (scan code set 2, as
 * Firecracker's i8042 sends them) into the output buffer, then an edge on IRQ 1. The guest
 * decides what to do (Linux reboots, which ends the VM). Returns false if the buffer is full. */
bool vm_send_ctrl_alt_del(struct vm *vm);

/* Wipe every resident page of a plain VM's guest RAM and punch it out of the memfd (exposed for
 * tests; vm_destroy calls it). An adopted VM has none of its own: cc_vm_release punches the
 * shared memfd. */
void vm_scrub_ram(struct vm *vm);

#endif

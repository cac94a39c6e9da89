/* VM lifecycle: create (KVM VM, memfd-backed RAM, irqchip, PIT, vCPUs with filtered CPUID, boot
 * state), run (vCPU threads + an event loop for console input, signals and the timeout), and
 * teardown (stop, join, scrub RAM, release). */
#include "runner/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "runner/guest_cpuid.h"
#include "runner/exits.h"
#include "runner/cc/cc.h"
#include "runner/kvm_cc_uapi.h"
#include "runner/layout.h"

#define KICK_SIGNAL SANDBOX_KICK_SIGNAL /* runner/sandbox.h: the one signal tgkill may send */

static int kioctl(struct vm *vm, int fd, unsigned long req, void *arg)
{
	return vm->ops->ioctl(vm->ops_ctx, fd, req, arg);
}

void vm_end(struct vm *vm, int status, const char *fmt, ...)
{
	int expected = 0;
	uint64_t one = 1;
	va_list ap;

	if (atomic_compare_exchange_strong(&vm->ended, &expected, 1)) {
		vm->end_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->end_msg, sizeof(vm->end_msg), fmt, ap);
		va_end(ap);
		atomic_store(&vm->ended, 2);
	}
	atomic_store(&vm->stopping, true);
	if (vm->end_fd >= 0 && write(vm->end_fd, &one, sizeof(one)) < 0) {
		/* eventfd overflow is impossible with one writer per vCPU; nothing to do */
	}
}

/* ---- guest RAM ---- */

static int ram_create(struct vm *vm, struct cp_err *err)
{
	uint64_t size = vm->cfg.mem_size;
	void *p;

	vm->kvm.ram_fd = memfd_create("carapace-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->kvm.ram_fd < 0)
		return cp_err_set(err, errno, "memfd_create for guest RAM: %s", strerror(errno));
	if (ftruncate(vm->kvm.ram_fd, (off_t)size) < 0)
		return cp_err_set(err, errno, "sizing guest RAM to %" PRIu64 " MiB: %s", size >> 20, strerror(errno));
	/* The size is final: seal it so nothing (not even a helper given the fd) can shrink it
	 * under the guest's feet and turn an access into SIGBUS. */
	if (fcntl(vm->kvm.ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return cp_err_set(err, errno, "sealing guest RAM: %s", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, vm->kvm.ram_fd, 0);
	if (p == MAP_FAILED)
		return cp_err_set(err, errno, "mapping %" PRIu64 " MiB of guest RAM: %s", size >> 20, strerror(errno));
	vm->kvm.ram.base = p;
	vm->kvm.ram.size = size;
	/* Guest RAM never appears in a core dump of carapace. */
	if (madvise(p, size, MADV_DONTDUMP) < 0)
		return cp_err_set(err, errno, "MADV_DONTDUMP on guest RAM: %s", strerror(errno));
	return 0;
}

void vm_scrub_ram(struct vm *vm)
{
	const size_t page = 4096, chunk = 1u << 30;
	uint64_t size = vm->kvm.ram.size;
	unsigned char *vec;

	if (!vm->kvm.ram.base)
		return;
	/* Only resident pages hold guest data; touching the rest would just allocate zeros. */
	vec = malloc(chunk / page);
	for (uint64_t off = 0; off < size; off += chunk) {
		size_t len = size - off < chunk ? (size_t)(size - off) : chunk;
		if (!vec || mincore(vm->kvm.ram.base + off, len, vec) < 0) {
			explicit_bzero(vm->kvm.ram.base + off, len); /* cannot tell: wipe everything */
			continue;
		}
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			if (vec[i] & 1)
				explicit_bzero(vm->kvm.ram.base + off + i * page, page);
	}
	free(vec);
	/* And give the pages back: the memfd holds no guest data once this returns. */
	if (vm->kvm.ram_fd >= 0)
		(void)fallocate(vm->kvm.ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size);
}

/* ---- creation ---- */

static int check_cap(struct vm *vm, int fd, long cap, const char *name, struct cp_err *err)
{
	int r = kioctl(vm, fd, KVM_CHECK_EXTENSION, (void *)cap);
	if (r <= 0)
		return cp_err_set(err, ENOTSUP, "this kernel's KVM lacks %s, which carapace needs", name);
	return r;
}

static void set_seg(struct kvm_segment *k, const struct boot_seg *s)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
}

static int vcpu_set_boot_state(struct vm *vm, struct vcpu *v, struct cp_err *err)
{
	/* TDX stub test mode: ESI = vCPU index, as the TDX module gives it. */
	const uint64_t rsi = vm->boot.all_vcpus_start ? v->index : vm->boot.regs.rsi;
	const struct boot_regs *b = &vm->boot.regs;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	const int fd = vm->kvm.vcpu_fd[v->index];
	int r;

	r = kioctl(vm, fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_GET_SREGS: %s", strerror(-r));
	set_seg(&sregs.cs, &b->cs);
	set_seg(&sregs.ds, &b->ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_seg(&sregs.tr, &b->tr);
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	sregs.cr0 = b->cr0;
	sregs.cr3 = b->cr3;
	sregs.cr4 = b->cr4;
	sregs.efer = b->efer;
	r = kioctl(vm, fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_SREGS: %s", strerror(-r));

	memset(&regs, 0, sizeof(regs));
	regs.rip = b->rip;
	regs.rsp = b->rsp;
	regs.rsi = rsi;
	regs.rbx = b->rbx;
	regs.rflags = b->rflags;
	r = kioctl(vm, fd, KVM_SET_REGS, &regs);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_REGS: %s", strerror(-r));

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	r = kioctl(vm, fd, KVM_SET_FPU, &fpu);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_FPU: %s", strerror(-r));
	return 0;
}

static int vcpu_create(struct vm *vm, unsigned index, const struct cpuid_table *supported, struct cp_err *err)
{
	struct vcpu *v = &vm->vcpus[index];
	_cleanup_free_ struct cpuid_table *t = NULL;
	int r, fd;

	v->vm = vm;
	v->index = index;
	fd = vm->kvm.vcpu_fd[index] = kioctl(vm, vm->kvm.vm_fd, KVM_CREATE_VCPU, (void *)(unsigned long)index);
	if (fd < 0)
		return cp_err_set(err, -fd, "KVM_CREATE_VCPU %u: %s", index, strerror(-fd));
	vm->kvm.run[index] = vm->ops->mmap_run(vm->ops_ctx, fd, vm->kvm.run_size);
	if (!vm->kvm.run[index])
		return cp_err_set(err, errno, "mapping kvm_run of vCPU %u: %s", index, strerror(errno));
	t = malloc(sizeof(*t));
	if (!t)
		return cp_err_set(err, ENOMEM, "out of memory");
	memcpy(t, supported, sizeof(*t));
	cpuid_filter(t, index, vm->nvcpus);
	r = kioctl(vm, fd, KVM_SET_CPUID2, cpuid_table_kvm(t));
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_CPUID2 on vCPU %u: %s", index, strerror(-r));
	/* The boot vCPU starts at the kernel's entry; the others wait in the in-kernel LAPIC
	 * for INIT/SIPI from the guest. */
	if (index == 0)
		return vcpu_set_boot_state(vm, v, err);
	if (vm->boot.all_vcpus_start) {
		/* TDX stub test mode: no INIT-SIPI, every vCPU runs from the reset vector at once. */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
		if ((r = vcpu_set_boot_state(vm, v, err)) < 0)
			return r;
		r = kioctl(vm, fd, KVM_SET_MP_STATE, &mp);
		if (r < 0)
			return cp_err_set(err, -r, "KVM_SET_MP_STATE on vCPU %u: %s", index, strerror(-r));
	}
	return 0;
}

static int memslot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva, struct cp_err *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)hva,
	};
	int r = kioctl(vm, vm->kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_USER_MEMORY_REGION slot %u: %s", slot, strerror(-r));
	return 0;
}

unsigned vm_backend_regions(const struct vm *vm, struct vm_region out[VM_MAX_REGIONS])
{
	unsigned n = 0;

	if (vm->cc) {
		for (unsigned i = 0; i < vm->cc->nblocks && n < VM_MAX_REGIONS; i++) {
			const struct cc_block *b = &vm->cc->blocks[i];
			if (!cc_block_is_ram(b))
				continue; /* no device has business in the firmware image */
			out[n++] = (struct vm_region){ b->gpa, b->size, vm->cc->shared + b->shared_off, vm->cc->shared_fd,
						       b->shared_off };
		}
		return n;
	}
	out[n++] = (struct vm_region){ 0, gmem_low_end(&vm->kvm.ram), vm->kvm.ram.base, vm->kvm.ram_fd, 0 };
	if (vm->kvm.ram.size > GP_MMIO_HOLE)
		out[n++] = (struct vm_region){ GP_4G, vm->kvm.ram.size - GP_MMIO_HOLE, vm->kvm.ram.base + GP_MMIO_HOLE, vm->kvm.ram_fd,
					       GP_MMIO_HOLE };
	return n;
}

/* Label session, MCS pair, one jailed helper per device, and the command-line announcements. */
static int vm_devices_start(struct vm *vm, const struct vm_config *cfg, struct cp_err *err)
{
	int r;

	/* MAC first: a helper must never start in the wrong domain. With SELinux disabled this
	 * says so once and every labelling call is a no-op; in enforcing mode any failure stops us. */
	if (cfg->ndevices) {
		if ((r = label_session_open(&vm->label, cfg->label_ops ? cfg->label_ops : &label_ops_libselinux, NULL, err)) < 0)
			return r;
		vm->label_open = true;
		if (vm->label.mode != LABEL_MODE_DISABLED) {
			/* Category pairs are claimed across every runner on the host in one directory. */
			const char *rundir = getenv("CARAPACE_RUN_DIR") ? getenv("CARAPACE_RUN_DIR") : "/run/carapace";
			char claims[PATH_MAX];
			snprintf(claims, sizeof(claims), "%s/mcs", rundir);
			if (mkdir(rundir, 0700) < 0 && errno != EEXIST)
				return cp_err_set(err, errno, "cannot create %s: %s (set CARAPACE_RUN_DIR)", rundir, strerror(errno));
			if ((r = label_mcs_init(&vm->mcs, 0, 1023, err)) < 0 ||
			    (r = label_claims_open(&vm->claims, claims, err)) < 0 ||
			    (r = label_mcs_acquire(&vm->mcs, (uint32_t)getpid(), label_claims_claim, &vm->claims, &vm->pair, err)) < 0)
				return r;
			vm->have_pair = true;
			/* The monitor, before any helper or guest input: it takes the claim and labels
			 * each device's file when asked by slot (never by a path from this process). */
			struct label_monitor_slot slots[RUN_MAX_DEVICES];
			unsigned nslots = cfg->ndevices < RUN_MAX_DEVICES ? cfg->ndevices : RUN_MAX_DEVICES;
			for (unsigned i = 0; i < nslots; i++) {
				const struct vdev_spec *sp = &cfg->devices[i];
				slots[i] = (struct label_monitor_slot){
					sp->kind == DEVKIND_BLK ? sp->path : NULL,
					sp->readonly ? LABEL_OBJ_IMAGE_RO : LABEL_OBJ_IMAGE };
			}
			/* Its filter follows this process's mode (log in sanitizer builds, none when off). */
			enum lmon_filter lf = cfg->sandbox == SANDBOX_ENFORCE ? LMON_FILTER_KILL
					      : cfg->sandbox == SANDBOX_LOG   ? LMON_FILTER_LOG
									      : LMON_FILTER_OFF;
			if ((r = label_monitor_start(&vm->lmon, &vm->label, &vm->claims, &vm->pair, slots, nslots, lf, err)) < 0)
				return r;
		}
	}

	/* Devices before the kernel. The command line announces them, as QEMU microvm without ACPI
	 * does; the firmware-less direct layout describes them in its DSDT instead (its FADT is
	 * hardware-reduced: Linux then maps a GSI only for a device ACPI names, and a command-line
	 * device fails to probe), so there the command line stays as given. */
	if (cfg->ndevices > RUN_MAX_DEVICES)
		return cp_err_set(err, E2BIG, "%u devices requested; at most %d", cfg->ndevices, RUN_MAX_DEVICES);
	{
		size_t len = (cfg->cmdline ? strlen(cfg->cmdline) : 0) + 64 * cfg->ndevices + 1, off;
		vm->cmdline = calloc(1, len);
		if (!vm->cmdline)
			return cp_err_set(err, ENOMEM, "out of memory");
		off = (size_t)snprintf(vm->cmdline, len, "%s", cfg->cmdline ? cfg->cmdline : "");
		for (unsigned i = 0; i < cfg->ndevices; i++) {
			if ((r = vdev_create(vm, &vm->devs[i], i, &cfg->devices[i], err)) < 0) {
				vm->ndevs = i + 1;
				return r;
			}
			vm->ndevs = i + 1;
			if (cfg->direct_layout || cfg->tdx_stub_test)
				continue;
			off += (size_t)snprintf(vm->cmdline + off, len - off, "%svirtio_mmio.device=512@0x%llx:%u",
						off ? " " : "", (unsigned long long)vm->devs[i].base, vm->devs[i].gsi);
		}
	}

	return 0;
}

/* The one reading of each piece of KVM state: an adopted VM's is its cc_vm's, a plain VM's its own. */
int vm_vm_fd(const struct vm *vm) { return vm->cc ? vm->cc->vm_fd : vm->kvm.vm_fd; }
size_t vm_run_size(const struct vm *vm) { return vm->cc ? vm->cc->run_size : vm->kvm.run_size; }

struct gmem vm_ram(const struct vm *vm)
{
	/* A confidential VM's RAM is its shared memfd's RAM blocks; the firmware block after them is
	 * not RAM. */
	if (vm->cc)
		return (struct gmem){ vm->cc->shared, vm->cc->cfg->mem_size };
	return vm->kvm.ram;
}

int vcpu_fd(const struct vcpu *v)
{
	const struct vm *vm = v->vm;
	return vm->cc ? vm->cc->vcpu_fd[v->index] : vm->kvm.vcpu_fd[v->index];
}

struct kvm_run *vcpu_run(const struct vcpu *v)
{
	const struct vm *vm = v->vm;
	return vm->cc ? (struct kvm_run *)vm->cc->run[v->index] : vm->kvm.run[v->index];
}

/* Everything a VM struct starts with, plain or adopted: no fd, no mapping, nothing to release. */
static struct vm *vm_alloc(const struct kvm_ops *ops, void *ops_ctx, const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	pthread_mutex_init(&vm->pause_mu, NULL); /* stop_vcpus() takes it, with or without vm_run() */
	pthread_cond_init(&vm->pause_cv, NULL);
	pthread_mutex_init(&vm->kbd_mu, NULL);
	vm->ops = ops;
	vm->ops_ctx = ops_ctx;
	vm->cfg = *cfg;
	vm->kvm.kvm_fd = vm->kvm.vm_fd = vm->kvm.ram_fd = vm->end_fd = -1;
	for (unsigned i = 0; i < RUN_MAX_VCPUS; i++) {
		vm->kvm.vcpu_fd[i] = -1;
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].index = i;
	}
	vm->lmon = (struct label_monitor){ -1, -1, -1 };
	uart_init(&vm->uart, NULL, NULL, NULL);
	ioapic_reset(&vm->ioapic);
	pthread_mutex_init(&vm->ioapic_mu, NULL);
	pthread_mutex_init(&vm->fw_cfg_mu, NULL);
	return vm;
}

int vm_create(const struct kvm_ops *ops, void *ops_ctx, const struct vm_config *cfg, struct vm **out,
	      struct cp_err *err)
{
	struct vm *vm;
	_cleanup_free_ struct cpuid_table *supported = NULL;
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t idmap = GP_IDENTITY_MAP;
	struct boot_input bin;
	int r, max_vcpus;

	*out = NULL;
	vm = vm_alloc(ops, ops_ctx, cfg);
	if (!vm)
		return cp_err_set(err, ENOMEM, "out of memory");

	vm->kvm.kvm_fd = ops->open_dev(ops_ctx, "/dev/kvm");
	if (vm->kvm.kvm_fd < 0) {
		r = vm->kvm.kvm_fd;
		if (r == -ENOENT)
			cp_err_set(err, ENOENT, "/dev/kvm does not exist: load the KVM module (modprobe kvm_amd or "
				   "kvm_intel) and enable virtualization in the firmware settings");
		else if (r == -EACCES || r == -EPERM)
			cp_err_set(err, EACCES, "cannot open /dev/kvm: permission denied. Add your user to the 'kvm' "
				   "group (sudo usermod -aG kvm $USER, then log in again); carapace needs no other privilege");
		else
			cp_err_set(err, -r, "cannot open /dev/kvm: %s", strerror(-r));
		goto fail;
	}
	r = kioctl(vm, vm->kvm.kvm_fd, KVM_GET_API_VERSION, NULL);
	if (r != KVM_API_VERSION) {
		cp_err_set(err, ENOTSUP, "KVM API version %d; carapace needs %d", r, KVM_API_VERSION);
		goto fail;
	}
	if ((r = check_cap(vm, vm->kvm.kvm_fd, KVM_CAP_IRQCHIP, "an in-kernel irqchip (KVM_CAP_IRQCHIP)", err)) < 0 ||
	    (r = check_cap(vm, vm->kvm.kvm_fd, KVM_CAP_PIT2, "the in-kernel PIT (KVM_CAP_PIT2)", err)) < 0 ||
	    (r = check_cap(vm, vm->kvm.kvm_fd, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", err)) < 0 ||
	    (r = check_cap(vm, vm->kvm.kvm_fd, KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID", err)) < 0)
		goto fail;
	max_vcpus = kioctl(vm, vm->kvm.kvm_fd, KVM_CHECK_EXTENSION, (void *)KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = kioctl(vm, vm->kvm.kvm_fd, KVM_CHECK_EXTENSION, (void *)KVM_CAP_NR_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = 4;
	if (cfg->ncpus < 1 || cfg->ncpus > RUN_MAX_VCPUS || cfg->ncpus > (unsigned)max_vcpus) {
		cp_err_set(err, EINVAL, "%u vCPUs requested; this host allows 1..%d", cfg->ncpus,
			   max_vcpus < RUN_MAX_VCPUS ? max_vcpus : RUN_MAX_VCPUS);
		goto fail;
	}
	vm->nvcpus = cfg->ncpus;

	vm->kvm.vm_fd = kioctl(vm, vm->kvm.kvm_fd, KVM_CREATE_VM, (void *)0 /* KVM_X86_DEFAULT_VM */);
	if (vm->kvm.vm_fd < 0) {
		cp_err_set(err, -vm->kvm.vm_fd, "KVM_CREATE_VM: %s", strerror(-vm->kvm.vm_fd));
		goto fail;
	}
	if ((r = kioctl(vm, vm->kvm.vm_fd, KVM_SET_TSS_ADDR, (void *)GP_TSS)) < 0 ||
	    (r = kioctl(vm, vm->kvm.vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap)) < 0) {
		cp_err_set(err, -r, "setting the TSS / identity-map addresses: %s", strerror(-r));
		goto fail;
	}
	if ((r = kioctl(vm, vm->kvm.vm_fd, KVM_CREATE_IRQCHIP, NULL)) < 0) {
		cp_err_set(err, -r, "KVM_CREATE_IRQCHIP: %s", strerror(-r));
		goto fail;
	}
	if ((r = kioctl(vm, vm->kvm.vm_fd, KVM_CREATE_PIT2, &pit)) < 0) {
		cp_err_set(err, -r, "KVM_CREATE_PIT2: %s", strerror(-r));
		goto fail;
	}

	if ((r = ram_create(vm, err)) < 0)
		goto fail;
	if ((r = memslot(vm, 0, 0, gmem_low_end(&vm->kvm.ram), vm->kvm.ram.base, err)) < 0)
		goto fail;
	if (vm->kvm.ram.size > GP_MMIO_HOLE &&
	    (r = memslot(vm, 1, GP_4G, vm->kvm.ram.size - GP_MMIO_HOLE, vm->kvm.ram.base + GP_MMIO_HOLE, err)) < 0)
		goto fail;

	if ((r = vm_devices_start(vm, cfg, err)) < 0)
		goto fail;

	e820_build(vm->kvm.ram.size, &vm->e820);
	bin = (struct boot_input){ cfg->kernel, cfg->kernel_len, cfg->initrd, cfg->initrd_len, vm->cmdline,
				   cfg->ncpus, cfg->tdx_stub_test, vm->ndevs };
	if ((r = cfg->direct_layout || cfg->tdx_stub_test ? boot_load_direct(&vm->kvm.ram, &bin, &vm->boot, err)
							   : boot_load(&vm->kvm.ram, &vm->e820, &bin, &vm->boot, err)) < 0)
		goto fail;
	if (vm->boot.all_vcpus_start) {
		/* The stub page at the top of 4 GiB, read-only to the guest's view of it as code. */
		vm->kvm.stub_page = mmap(NULL, sizeof(vm->boot.stub_page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (vm->kvm.stub_page == MAP_FAILED) {
			vm->kvm.stub_page = NULL;
			cp_err_set(err, errno, "mapping the TDX stub page: %s", strerror(errno));
			goto fail;
		}
		memcpy(vm->kvm.stub_page, vm->boot.stub_page, sizeof(vm->boot.stub_page));
		if ((r = memslot(vm, 2, BOOT_STUB_GPA, sizeof(vm->boot.stub_page), vm->kvm.stub_page, err)) < 0)
			goto fail;
	}

	supported = calloc(1, sizeof(*supported));
	if (!supported) {
		cp_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	supported->nent = CPUID_MAX_ENTRIES;
	if ((r = kioctl(vm, vm->kvm.kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid_table_kvm(supported))) < 0) {
		cp_err_set(err, -r, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		goto fail;
	}
	/* The CPU model shapes what every vCPU's KVM_SET_CPUID2 gets (per-vCPU filter in vcpu_create). */
	{
		struct guest_cpu_model model;
		if (guest_cpu_parse(cfg->cpu, &model, err) < 0 || guest_cpu_apply(&model, supported, err) < 0)
			goto fail;
	}
	r = kioctl(vm, vm->kvm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (r < (int)sizeof(struct kvm_run)) {
		cp_err_set(err, r < 0 ? -r : EINVAL, "KVM_GET_VCPU_MMAP_SIZE returned %d", r);
		goto fail;
	}
	vm->kvm.run_size = (size_t)r;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if ((r = vcpu_create(vm, i, supported, err)) < 0)
			goto fail;

	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0) {
		cp_err_set(err, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	vm_destroy(vm);
	return -(err && err->code ? err->code : EIO);
}

static uint8_t *fw_cfg_cc_mem(void *ctx, uint64_t gpa, uint64_t len, bool write)
{
	(void)write;
	return cc_shared_range(ctx, gpa, len);
}

/* fw_cfg for the firmware of a confidential VM: CPUs, the RAM map, a direct-boot kernel. */
static int vm_fw_cfg_create(struct vm *vm, struct cc_vm *cvm, struct cp_err *err)
{
	const struct cc_launch_cfg *c = cvm->cfg;
	struct vm_region regs[VM_MAX_REGIONS];
	uint64_t ram[VM_MAX_REGIONS][2];
	unsigned n = vm_backend_regions(vm, regs); /* the RAM blocks, as devices see them */
	int r;

	vm->fw_cfg = calloc(1, sizeof(*vm->fw_cfg));
	if (!vm->fw_cfg)
		return cp_err_set(err, ENOMEM, "out of memory");
	if ((r = fw_cfg_init(vm->fw_cfg, cvm->nvcpus, fw_cfg_cc_mem, cvm, err)) < 0) {
		free(vm->fw_cfg);
		vm->fw_cfg = NULL;
		return r;
	}
	for (unsigned i = 0; i < n; i++) {
		ram[i][0] = regs[i].gpa;
		ram[i][1] = regs[i].size;
	}
	if ((r = fw_cfg_add_e820(vm->fw_cfg, (const uint64_t(*)[2])ram, n, err)) < 0)
		return r;
	if (c->kernel && (r = fw_cfg_add_kernel(vm->fw_cfg, c->kernel, c->kernel_len, c->initrd, c->initrd_len,
					       c->cmdline, err)) < 0)
		return r;
	return 0;
}

void vm_fw_cfg_io(struct vm *vm, uint16_t port, bool write, uint8_t *data, unsigned size)
{
	pthread_mutex_lock(&vm->fw_cfg_mu);
	fw_cfg_io(vm->fw_cfg, port, write, data, size);
	pthread_mutex_unlock(&vm->fw_cfg_mu);
}

int vm_adopt_cc(struct cc_vm *cvm, const struct vm_config *cfg, struct vm **out, struct cp_err *err)
{
	struct vm *vm;
	int r;

	*out = NULL;
	/* Ownership moves now, whatever follows: every failure below releases what cvm holds. */
	if (cvm->state != CC_ST_FINISHED) {
		cp_err_set(err, EINVAL, "confidential VM is in state %s, not finished: it cannot run",
			   cc_state_name(cvm->state));
		cc_vm_release(cvm);
		return -EINVAL;
	}
	if (cvm->nvcpus == 0 || cvm->nvcpus > RUN_MAX_VCPUS) {
		cp_err_set(err, EINVAL, "confidential VM has %u vCPUs", cvm->nvcpus);
		cc_vm_release(cvm);
		return -EINVAL;
	}
	vm = vm_alloc(cvm->ops, cvm->ctx, cfg);
	if (!vm) {
		cc_vm_release(cvm);
		return cp_err_set(err, ENOMEM, "out of memory");
	}
	/* The KVM state, vCPUs and memory stay where the launch put them: vm->kvm stays empty and
	 * the accessors (vm_vm_fd, vcpu_fd, vcpu_run, vm_ram) read the cc_vm, now this VM's. */
	vm->cc = cvm;
	vm->nvcpus = cvm->nvcpus;
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0) {
		r = cp_err_set(err, errno, "eventfd: %s", strerror(errno));
		vm_destroy(vm);
		return r;
	}
	/* A TD's irqchip is split: the IOAPIC is ours (runner/ioapic.c). */
	vm->split_irqchip = cvm->platform == CC_TDX;
	/* fw_cfg, then devices: their back-ends are given the shared memfd only (vm_backend_regions),
	 * and the guest is offered VIRTIO_F_ACCESS_PLATFORM (runner/vdev.c). */
	if ((r = vm_fw_cfg_create(vm, cvm, err)) < 0 || (r = vm_devices_start(vm, cfg, err)) < 0) {
		vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
}

/* ---- running ---- */

static void kick_handler(int sig) { (void)sig; }

#ifdef CARAPACE_TEST_HOOKS
/* Test builds only: the VM was started with --test-hook hook. */
static bool test_hook_is(const struct vm *vm, const char *hook)
{
	return vm->cfg.test_hook && !strcmp(vm->cfg.test_hook, hook);
}
#endif

/* Test builds only: prove that a thread's filter kills the process on a call outside its list. */
static void test_hook_forbidden(struct vm *vm, const char *hook)
{
#ifdef CARAPACE_TEST_HOOKS
	if (test_hook_is(vm, hook)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* in no allowlist */
		vm_end(vm, CP_EXIT_FAILURE, "test hook %s: socket() was allowed (fd %d): the filter is not in force",
		       hook, fd);
	}
#else
	(void)vm;
	(void)hook;
#endif
}

static int quote_thread_init(void *arg)
{
	struct vm *vm = arg;
	struct cp_err err = { 0 };

	pthread_setname_np(pthread_self(), "cc-quote");
	if (sandbox_thread_apply(SANDBOX_QUOTE, vm->cfg.sandbox, &err) < 0) {
		vm_end(vm, CP_EXIT_FAILURE, "TDX quote thread: %s", err.msg);
		return -1;
	}
	return 0;
}

/* A paused VM's vCPU waits here, out of KVM_RUN, until resumed or stopped. */
static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (!atomic_load(&vm->paused))
		return;
	pthread_mutex_lock(&vm->pause_mu);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cv);
	while (atomic_load(&vm->paused) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cv, &vm->pause_mu);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_mu);
	if (!atomic_load(&vm->stopping))
		__atomic_store_n(&vcpu_run(v)->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* Load this thread's filter with what its argument checks accept: the helpers' pids (kill at
 * teardown), their vhost-user sockets (vCPU threads set devices up), and the children the main
 * thread collects (the helpers, the label monitor). Every helper and the monitor exist by now,
 * and none is started later. */
static int vm_sandbox_apply(struct vm *vm, enum sandbox_thread which, struct cp_err *err)
{
	pid_t pids[RUN_MAX_DEVICES], children[RUN_MAX_DEVICES + 1];
	int socks[3 * RUN_MAX_DEVICES + 1];
	struct sandbox_targets t = { pids, 0, socks, 0, children, 0, NULL, 0 };

	for (unsigned i = 0; i < vm->ndevs && i < RUN_MAX_DEVICES; i++) {
		if (vm->devs[i].pid > 0)
			pids[t.npids++] = children[t.nchildren++] = vm->devs[i].pid;
		if (vm->devs[i].fe.sock >= 0)
			socks[t.nsocks++] = vm->devs[i].fe.sock;
		/* The main thread also swaps drives and hears configuration changes (block hot-plug). */
		if (which == SANDBOX_MAIN && vm->devs[i].swap_fd >= 0)
			socks[t.nsocks++] = vm->devs[i].swap_fd;
		if (which == SANDBOX_MAIN && vm->devs[i].backend_fd >= 0)
			socks[t.nsocks++] = vm->devs[i].backend_fd;
	}
	if (which == SANDBOX_MAIN && vm->cfg.control_fd > 2)
		socks[t.nsocks++] = vm->cfg.control_fd; /* a swap's fd arrives with SCM_RIGHTS */
	/* The label monitor is collected at teardown, never signalled; the main thread sends it
	 * RESTORE. */
	if (vm->lmon.pid > 0)
		children[t.nchildren++] = vm->lmon.pid;
	if (which == SANDBOX_MAIN && vm->lmon.sock >= 0) {
		t.monitor_socks = &vm->lmon.sock;
		t.nmonitor_socks = 1;
	}
	return sandbox_thread_apply_targets(which, vm->cfg.sandbox, &t, err);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	sigset_t set;

	struct cp_err err = { 0 };

	/* Under the management API, Firecracker's names ("fc_vcpu N"): tools that find Firecracker's
	 * vCPU threads by name (Kata's GetThreadIDs, per-vCPU monitors) find carapace's. Those
	 * tools look in the API process, though: docs/kata.md says what that means. */
	if (vm->cfg.control_fd > 2)
		snprintf(name, sizeof(name), "fc_vcpu %u", v->index);
	else
		snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* The filter is in force before the guest runs a single instruction on this vCPU. */
	if (vm_sandbox_apply(vm, vm->cc ? SANDBOX_VCPU_CC : SANDBOX_VCPU, &err) < 0) {
		vm_end(vm, CP_EXIT_FAILURE, "vCPU %u: %s", v->index, err.msg);
		return NULL;
	}
	test_hook_forbidden(vm, "vcpu-forbidden-syscall");

	while (!atomic_load(&vm->stopping)) {
		int r = vm->ops->ioctl(vm->ops_ctx, vcpu_fd(v), KVM_RUN, NULL);
		/* A confidential guest touching memory in the other state: KVM_RUN fails with EFAULT
		 * and a MEMORY_FAULT exit, which the exit table routes to runner/cc. */
		v->last_run = r;
		if (vm->cc)
			cc_vcpu_returned(vm->cc, v->index); /* e.g. drops the SNP certificate table's lock */
		if (r == -EFAULT && vm->cc && vcpu_run(v)->exit_reason == CP_KVM_EXIT_MEMORY_FAULT)
			r = 0;
		if (r < 0) {
			if (r == -EINTR || r == -EAGAIN) {
				vcpu_park(v);
				continue;
			}
			vcpu_count(v, API_VCPU_FAILURES);
			vm_end(vm, CP_EXIT_FAILURE, "vCPU %u: KVM_RUN failed: %s", v->index, strerror(-r));
			break;
		}
		if (exits_dispatch(v) == EXIT_STOP)
			break;
	}
	return NULL;
}

static void uart_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;
	while (len) {
		ssize_t w = write(vm->cfg.console_out_fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* a closed console must not stop the guest */
		}
		buf += w;
		len -= (size_t)w;
	}
}

static int signal_msi(struct vm *vm, const struct ioapic_msi *m)
{
	struct kvm_msi msi = { .address_lo = m->address_lo, .address_hi = m->address_hi, .data = m->data };
	return kioctl(vm, vm_vm_fd(vm), KVM_SIGNAL_MSI, &msi);
}

/* KVM's routing table from the IOAPIC's pins: one MSI route per unmasked pin, so an irqfd on
 * GSI n delivers what redirection entry n says. A masked pin has no route (its edges are lost,
 * as on hardware). Called with ioapic_mu held. */
static void ioapic_program_routes(struct vm *vm)
{
	_Alignas(struct kvm_irq_routing) uint8_t buf[sizeof(struct kvm_irq_routing) +
						      IOAPIC_PINS * sizeof(struct kvm_irq_routing_entry)];
	struct kvm_irq_routing *t = (struct kvm_irq_routing *)buf;
	int rc;

	memset(buf, 0, sizeof(buf));
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		struct ioapic_msi m;
		if (!ioapic_pin_msi(&vm->ioapic, pin, &m))
			continue;
		t->entries[t->nr] = (struct kvm_irq_routing_entry){ .gsi = pin, .type = KVM_IRQ_ROUTING_MSI,
								    .u.msi = { .address_lo = m.address_lo,
									       .address_hi = m.address_hi, .data = m.data } };
		t->nr++;
	}
	rc = kioctl(vm, vm_vm_fd(vm), KVM_SET_GSI_ROUTING, t);
	if (rc < 0)
		vm_end(vm, CP_EXIT_FAILURE, "KVM_SET_GSI_ROUTING (%u IOAPIC routes): %s", t->nr, strerror(-rc));

}

void vm_ioapic_access(struct vm *vm, uint64_t offset, bool is_write, uint8_t *data, unsigned len)
{
	bool changed;

	pthread_mutex_lock(&vm->ioapic_mu);
	(void)ioapic_access(&vm->ioapic, offset, is_write, data, len, &changed);
	if (changed)
		ioapic_program_routes(vm);
	pthread_mutex_unlock(&vm->ioapic_mu);
}

void vm_ioapic_eoi(struct vm *vm, uint8_t vector)
{
	uint32_t again;

	pthread_mutex_lock(&vm->ioapic_mu);
	again = ioapic_eoi(&vm->ioapic, vector);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		struct ioapic_msi m;
		if ((again & (1u << pin)) && ioapic_pin_msi(&vm->ioapic, pin, &m))
			(void)signal_msi(vm, &m);
	}
	pthread_mutex_unlock(&vm->ioapic_mu);
}

static void uart_irq(void *opaque, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = 4, .level = (uint32_t)level };

	if (vm->split_irqchip) {
		struct ioapic_msi m;
		pthread_mutex_lock(&vm->ioapic_mu);
		if (ioapic_set_level(&vm->ioapic, 4, level, &m))
			(void)signal_msi(vm, &m);
		pthread_mutex_unlock(&vm->ioapic_mu);
		return;
	}
	(void)kioctl(vm, vm_vm_fd(vm), KVM_IRQ_LINE, &irq);
}

/* Pause: every running vCPU out of KVM_RUN and parked before this returns (a vCPU in HLT is
 * kicked again until it is). Returns false when the VM is stopping instead. */
static bool vm_pause(struct vm *vm)
{
	unsigned running = 0;

	pthread_mutex_lock(&vm->pause_mu);
	atomic_store(&vm->paused, true);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].started) {
			__atomic_store_n(&vcpu_run(&vm->vcpus[i])->immediate_exit, 1, __ATOMIC_SEQ_CST);
			pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
			running++;
		}
	while (vm->parked < running && !atomic_load(&vm->stopping)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&vm->pause_cv, &vm->pause_mu, &ts) == ETIMEDOUT)
			for (unsigned i = 0; i < vm->nvcpus; i++)
				if (vm->vcpus[i].started)
					pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
	}
	pthread_mutex_unlock(&vm->pause_mu);
	return !atomic_load(&vm->stopping);
}

static void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_mu);
	atomic_store(&vm->paused, false);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_mu);
}

uint8_t vm_i8042_read(struct vm *vm, uint16_t port)
{
	uint8_t b = 0;

	pthread_mutex_lock(&vm->kbd_mu);
	if (port == 0x64) {
		b = vm->kbd_len ? 0x01 : 0x00; /* OBF */
	} else if (vm->kbd_len) {
		b = vm->kbd[0];
		memmove(vm->kbd, vm->kbd + 1, --vm->kbd_len);
	}
	pthread_mutex_unlock(&vm->kbd_mu);
	return b;
}

bool vm_send_ctrl_alt_del(struct vm *vm)
{
	/* Firecracker devices/legacy/i8042.rs trigger_ctrl_alt_del(): KEY_CTRL 0x14, KEY_ALT 0x11,
	 * KEY_DEL 0xe0 0x71 (set 2 make codes). */
	static const uint8_t keys[] = { 0x14, 0x11, 0xe0, 0x71 };
	struct kvm_irq_level irq = { .irq = 1 };

	pthread_mutex_lock(&vm->kbd_mu);
	if (vm->kbd_len + sizeof(keys) > sizeof(vm->kbd)) {
		pthread_mutex_unlock(&vm->kbd_mu);
		return false;
	}
	memcpy(vm->kbd + vm->kbd_len, keys, sizeof(keys));
	vm->kbd_len += sizeof(keys);
	pthread_mutex_unlock(&vm->kbd_mu);
	/* An edge on IRQ 1 for an interrupt-driven driver; a polling one sees the status bit. */
	if (vm->split_irqchip) {
		struct ioapic_msi m;
		pthread_mutex_lock(&vm->ioapic_mu);
		if (ioapic_set_level(&vm->ioapic, 1, 1, &m))
			(void)signal_msi(vm, &m);
		(void)ioapic_set_level(&vm->ioapic, 1, 0, &m);
		pthread_mutex_unlock(&vm->ioapic_mu);
		return true;
	}
	irq.level = 1;
	(void)kioctl(vm, vm_vm_fd(vm), KVM_IRQ_LINE, &irq);
	irq.level = 0;
	(void)kioctl(vm, vm_vm_fd(vm), KVM_IRQ_LINE, &irq);
	return true;
}

void vm_metrics_snapshot(struct vm *vm, struct api_vm_metrics *out)
{
	memset(out, 0, sizeof(*out));
	out->nvcpus = vm->nvcpus;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		for (unsigned c = 0; c < API_VCPU_COUNTERS; c++)
			out->c[c] += atomic_load_explicit(&vm->vcpus[i].counters[c], memory_order_relaxed);
	out->ndevs = vm->ndevs <= RUN_MAX_DEVICES ? vm->ndevs : RUN_MAX_DEVICES;
	for (unsigned d = 0; d < out->ndevs; d++) {
		struct vdev *v = &vm->devs[d];
		const struct devstats_kind *k = devstats_kind(v->spec.kind);

		out->dev[d].kind = v->spec.kind;
		if (!k)
			continue;
		devstats_observe(v->stats, k->n, v->stats_seen);
		memcpy(out->dev[d].c, v->stats_seen, sizeof(out->dev[d].c));
	}
}

/* The vCPU counters to the management API's controller: its request's answer, or (final) the
 * last record, sent unasked once every vCPU has stopped. */
static void vm_send_metrics(struct vm *vm, bool final)
{
	struct api_vm_metrics m;
	uint8_t rec[API_VM_METRICS_MAX];
	size_t len;

	vm_metrics_snapshot(vm, &m);
	m.final = final;
	len = api_vm_metrics_encode(&m, rec);
#ifdef CARAPACE_TEST_HOOKS
	/* A VM process the guest took over: the controller must cut it off. */
	if (!final && (test_hook_is(vm, "vm-bad-metrics-record") || test_hook_is(vm, "vm-bad-metrics-record-and-stay")))
		rec[1] = API_VM_METRICS_VERSION + 1;
#endif
	/* One packet (SOCK_SEQPACKET). MSG_NOSIGNAL: the last record may find the controller gone
	 * (its hang-up is what ended the VM), which must not end this process before its teardown. */
	(void)!send(vm->cfg.control_fd, rec, len, MSG_NOSIGNAL);
}

/* One request on the management API's control socket (runner/api/api_main.h): one byte, or a
 * drive swap ('D', the device index and the new backing file's fd, answered with the reason).
 * The metrics request is answered with a record (runner/api/api_ctl.h), not a reply byte.
 * Returns false when the socket is no longer to be watched. */
static bool vm_control(struct vm *vm)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t msg[8];
	char reply[256] = "k";
	size_t rlen = 1;
	int fds[2];
	unsigned nfds = 0;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t r = recvmsg(vm->cfg.control_fd, &mh, MSG_CMSG_CLOEXEC);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); r > 0 && c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < 2)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (r <= 0) {
#ifdef CARAPACE_TEST_HOOKS
		/* A VM process the guest took over ignores its controller's end (and keeps running):
		 * the controller must not wait for it for ever. */
		if (test_hook_is(vm, "vm-bad-metrics-record-and-stay"))
			return false;
#endif
		vm_end(vm, CP_EXIT_FAILURE, "the management API's controller went away");
		return true;
	}
	if (msg[0] == 'D') {
		rlen = vdev_hotplug_control(vm->devs, vm->ndevs, msg, (size_t)r, fds, nfds,
					    mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC), reply, sizeof(reply));
	} else if (r != 1 || nfds) {
		reply[0] = 'f';
	} else if (msg[0] == 'P') {
		reply[0] = vm_pause(vm) ? 'k' : 'f';
	} else if (msg[0] == 'R') {
		vm_resume(vm);
	} else if (msg[0] == 'C') {
		reply[0] = vm_send_ctrl_alt_del(vm) ? 'k' : 'f'; /* 'f': the keyboard buffer is full */
	} else if (msg[0] == API_CTL_METRICS) {
		vm_send_metrics(vm, false);
		return true;
	} else {
		reply[0] = 'f';
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]); /* the helper holds its own copy of a swapped file */
	(void)!write(vm->cfg.control_fd, reply, rlen);
	return true;
}

static void stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	/* Parked vCPUs see stopping once woken. */
	pthread_mutex_lock(&vm->pause_mu);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_mu);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		/* immediate_exit covers a kick that lands before KVM_RUN is entered. */
		__atomic_store_n(&vcpu_run(v)->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, KICK_SIGNAL);
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		/* A vCPU blocked in HLT wakes for the signal; re-kick until it is out. */
		for (;;) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(v->thread, NULL, &ts) == 0)
				break;
			pthread_kill(v->thread, KICK_SIGNAL);
		}
		v->started = false;
	}
}

/* A helper is gone (its pidfd, its hang-up, or the grace timer said so): collect it without
 * waiting, mark the device broken, and stop the VM or go on as configured. */
static void vm_device_gone(struct vm *vm, struct vdev *d, enum vdev_death_source by)
{
	vdev_helper_died(d, 0);
	d->death_by = by;
	if (vm->cfg.device_failure_continue)
		cp_warn("device %s (%s) %s; it needs a reset, the VM goes on", d->name, vdev_kind_name(d->spec.kind),
			d->death);
	else
		vm_end(vm, CP_EXIT_FAILURE, "device %s: its helper %s", d->name, d->death);
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t block, old;
	_cleanup_close_ int sfd = -1, tfd = -1, gfd = -1;
	struct pollfd pfd[6 + 3 * RUN_MAX_DEVICES];
	bool hung[RUN_MAX_DEVICES] = { false };
	int npfd = 0, status;

	vm->uart.out = uart_out;
	vm->uart.irq = uart_irq;
	vm->uart.opaque = vm;
	vm->uart.limit = vm->cfg.console_limit;
	vm->uart.flush_each_byte = vm->cfg.console_flush_each;

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, KICK_SIGNAL);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigdelset(&block, KICK_SIGNAL);
	sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);

	pfd[npfd++] = (struct pollfd){ .fd = vm->end_fd, .events = POLLIN };
	if (sfd >= 0)
		pfd[npfd++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	if (vm->cfg.timeout_ms) {
		struct itimerspec its = { .it_value = { (time_t)(vm->cfg.timeout_ms / 1000),
							(long)(vm->cfg.timeout_ms % 1000) * 1000000L } };
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd >= 0 && timerfd_settime(tfd, 0, &its, NULL) == 0)
			pfd[npfd++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	}
	if (vm->cfg.console_in_fd >= 0)
		pfd[npfd++] = (struct pollfd){ .fd = vm->cfg.console_in_fd, .events = POLLIN };
	/* A helper that dies or hangs up shows as POLLRDHUP/POLLHUP on its socket; replies to the
	 * vCPUs' requests do not wake the loop (no POLLIN). */
	int dev_pfd0 = npfd;
	for (unsigned i = 0; i < vm->ndevs; i++)
		pfd[npfd++] = (struct pollfd){ .fd = vm->devs[i].fe.sock, .events = POLLRDHUP };
	int pid_pfd0 = npfd;
	for (unsigned i = 0; i < vm->ndevs; i++)
		pfd[npfd++] = (struct pollfd){ .fd = vm->devs[i].pidfd, .events = POLLIN };
	/* A helper's socket can hang up a moment before its process ends: the loop then waits, blocked,
	 * for the pidfd, or for this one-shot grace timer (a helper that closed its socket and lives on
	 * is reported when it fires). No spinning, no sleeping. */
	int grace_pfd = -1;
	gfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (gfd >= 0) {
		grace_pfd = npfd;
		pfd[npfd++] = (struct pollfd){ .fd = gfd, .events = POLLIN };
	}
	/* Back-end channels (a helper's configuration change: block hot-plug's new capacity). */
	int bk_pfd0 = npfd;
	for (unsigned i = 0; i < vm->ndevs; i++)
		pfd[npfd++] = (struct pollfd){ .fd = vm->devs[i].backend_fd, .events = POLLIN };
	int ctl_pfd = -1;
	if (vm->cfg.control_fd > 2) {
		ctl_pfd = npfd;
		pfd[npfd++] = (struct pollfd){ .fd = vm->cfg.control_fd, .events = POLLIN };
	}

	/* The label monitor labels nothing more from here on: this process may be compromised from
	 * the guest's first instruction. */
	if (vm->lmon.sock >= 0) {
		struct cp_err err = { 0 };
		if (label_monitor_seal(&vm->lmon, &err) < 0)
			vm_end(vm, CP_EXIT_FAILURE, "%s", err.msg);
	}
	/* The host's file system out of reach: everything the VM needs is open by now, and what must
	 * touch paths at teardown (SELinux labels) is the label monitor's. Not in an unconfined
	 * (log/off) mode, whose purpose is diagnosis (and whose sanitizer runtime reads /proc at exit). */
	if (vm->cfg.sandbox == SANDBOX_ENFORCE) {
		char why[256];
		const char *keep = vm->cc ? vm->cc->quote_socket : NULL;
		if (sandbox_process_isolate(keep, why, sizeof(why)) < 0)
			cp_warn("the VM process keeps the host's file system view (%s): user namespaces are not "
				"available to this user", why);
		else if (keep)
			vm->cc->quote_socket = SANDBOX_KEPT_SOCKET; /* the same socket, inside the empty root */
	}
	{
		struct cp_err err = { 0 };
		if (sandbox_process_lockdown(&err) < 0)
			vm_end(vm, CP_EXIT_FAILURE, "sandbox: %s", err.msg);
	}
	/* The TDX quote thread, now that the process is one thread in its empty root; it loads
	 * its own filter first. */
	if (vm->cc) {
		struct cp_err err = { 0 };
		if (cc_quote_start(vm->cc, quote_thread_init, vm, &err) < 0)
			vm_end(vm, CP_EXIT_FAILURE, "%s", err.msg);
	}
	for (unsigned i = 0; i < vm->nvcpus && !atomic_load(&vm->stopping); i++) {
		int r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (r) {
			vm_end(vm, CP_EXIT_FAILURE, "cannot start vCPU thread %u: %s", i, strerror(r));
			break;
		}
		vm->vcpus[i].started = true;
	}
	/* Every thread exists now; the main thread's own filter covers the loop and teardown. */
	{
		struct cp_err err = { 0 };
		if (vm_sandbox_apply(vm, SANDBOX_MAIN, &err) < 0)
			vm_end(vm, CP_EXIT_FAILURE, "%s", err.msg);
		test_hook_forbidden(vm, "main-forbidden-syscall");
	}

	while (!atomic_load(&vm->stopping)) {
		int n = poll(pfd, (nfds_t)npfd, -1);
		vm->loop_wakeups++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vm_end(vm, CP_EXIT_FAILURE, "event loop: poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < npfd; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pfd[i].fd == sfd) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == sizeof(si))
					vm_end(vm, 128 + (int)si.ssi_signo, "stopped by signal %u (%s)", si.ssi_signo,
					       strsignal((int)si.ssi_signo));
			} else if (pfd[i].fd == tfd) {
				vm_end(vm, CP_EXIT_TIMEOUT, "timeout: the guest was still running after %" PRIu64 ".%03" PRIu64 " s",
				       vm->cfg.timeout_ms / 1000, vm->cfg.timeout_ms % 1000);
			} else if (i == ctl_pfd) {
				if (!vm_control(vm))
					pfd[i].fd = -1;
			} else if (i >= bk_pfd0 && i < bk_pfd0 + (int)vm->ndevs) {
				if (vdev_backend_ready(&vm->devs[i - bk_pfd0]) < 0)
					pfd[i].fd = -1;
			} else if (i == grace_pfd) {
				uint64_t ticks;
				(void)!read(gfd, &ticks, sizeof(ticks));
				for (unsigned k = 0; k < vm->ndevs; k++)
					if (hung[k] && pfd[pid_pfd0 + (int)k].fd >= 0) {
						hung[k] = false;
						vm_device_gone(vm, &vm->devs[k], VDEV_DEATH_GRACE);
						pfd[pid_pfd0 + (int)k].fd = -1;
					}
			} else if (i >= dev_pfd0) {
				bool by_pid = i >= pid_pfd0;
				unsigned k = (unsigned)(by_pid ? i - pid_pfd0 : i - dev_pfd0);
				struct vdev *d = &vm->devs[k];
				if (d->dead) {
					/* Given up on already (a vCPU's request failed): stop polling its hang-up,
					 * which would otherwise wake this loop for ever. */
					pfd[dev_pfd0 + (int)k].fd = -1;
					pfd[pid_pfd0 + (int)k].fd = -1;
					continue;
				}
				pfd[dev_pfd0 + (int)k].fd = -1;
				if (!by_pid && pfd[pid_pfd0 + (int)k].fd >= 0 &&
				    !(pfd[pid_pfd0 + (int)k].revents & POLLIN) && gfd >= 0) {
					/* Hung up, not ended yet: wait for its pidfd (or the grace timer). */
					struct itimerspec its = { .it_value = { 0, 200 * 1000 * 1000 } };
					hung[k] = true;
					(void)timerfd_settime(gfd, 0, &its, NULL);
					continue;
				}
				hung[k] = false;
				pfd[pid_pfd0 + (int)k].fd = -1;
				vm_device_gone(vm, d, by_pid || (pfd[pid_pfd0 + (int)k].revents & POLLIN) ? VDEV_DEATH_PIDFD
													 : VDEV_DEATH_SOCKET);
			} else if (pfd[i].fd == vm->cfg.console_in_fd) {
				uint8_t buf[UART_RX_FIFO];
				ssize_t r = read(pfd[i].fd, buf, sizeof(buf));
				if (r > 0)
					uart_receive(&vm->uart, buf, (size_t)r);
				else
					pfd[i].fd = -1; /* EOF: stop polling the console */
			}
		}
	}
	stop_vcpus(vm);
	if (vm->cfg.control_fd > 2)
		vm_send_metrics(vm, true); /* the counters are final: no vCPU runs any more */
	uart_flush(&vm->uart);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (atomic_load(&vm->ended) != 2)
		; /* the writer of the outcome is finishing its message */
	status = vm->end_status;
	return status;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	stop_vcpus(vm);
	for (unsigned i = 0; i < vm->ndevs; i++)
		vdev_destroy(&vm->devs[i]);
	/* Labels back and the categories released by the monitor, which is then collected. A claim
	 * never handed to a monitor (its start failed) is released here. */
	{
		struct cp_err lerr = { 0 };
		if (label_monitor_finish(&vm->lmon, &lerr) < 0)
			cp_warn("%s", lerr.msg);
		if (vm->have_pair) {
			(void)label_claims_release(&vm->claims, &vm->pair, &lerr);
			(void)label_mcs_release(&vm->mcs, &vm->pair, &lerr);
		}
	}
	if (vm->have_pair) {
		label_claims_close(&vm->claims);
		label_mcs_fini(&vm->mcs);
	}
	free(vm->cmdline);
	if (vm->fw_cfg) {
		fw_cfg_free(vm->fw_cfg);
		free(vm->fw_cfg);
	}
	/* Each field below is the one owner of what it holds; an empty one (-1, NULL) is skipped.
	 * An adopted VM's vm_kvm is empty: its cc_vm, this VM's too, releases its KVM state and memory. */
	for (unsigned i = 0; i < RUN_MAX_VCPUS; i++) {
		if (vm->kvm.run[i])
			vm->ops->munmap_run(vm->ops_ctx, vm->kvm.run[i], vm->kvm.run_size);
		if (vm->kvm.vcpu_fd[i] >= 0)
			vm->ops->close(vm->ops_ctx, vm->kvm.vcpu_fd[i]);
	}
	if (vm->kvm.vm_fd >= 0)
		vm->ops->close(vm->ops_ctx, vm->kvm.vm_fd);
	if (vm->kvm.kvm_fd >= 0)
		vm->ops->close(vm->ops_ctx, vm->kvm.kvm_fd);
	vm_scrub_ram(vm);
	if (vm->kvm.stub_page)
		munmap(vm->kvm.stub_page, sizeof(vm->boot.stub_page));
	if (vm->kvm.ram.base)
		munmap(vm->kvm.ram.base, vm->kvm.ram.size);
	if (vm->kvm.ram_fd >= 0)
		close(vm->kvm.ram_fd);
	cc_vm_release(vm->cc);
	if (vm->end_fd >= 0)
		close(vm->end_fd);
	uart_destroy(&vm->uart);
	free(vm);
}

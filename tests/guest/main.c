/* Entry of the test guest in C: validates the start info, picks the scenario named by the first
 * command line word from a const table (an unknown name fails), and owns every way of ending. */
#include "guest.h"

static struct guest_boot boot;

static const struct guest_scenario scenarios[] = {
	{ "hello", scenario_hello, "print a greeting, debug-exit 0" },
	{ "demo", scenario_demo, "the built-in demo: banner, RAM, vCPUs, cmdline; i8042 reset" },
	{ "reset", scenario_reset, "i8042 reset (falls back to a triple fault)" },
	{ "ctrl-alt-del", scenario_ctrl_alt_del, "wait for Ctrl-Alt-Del on the i8042, then reset" },
	{ "memmap", scenario_memmap, "print the memory map, check RAM at 1 MiB" },
	{ "cmdline", scenario_cmdline, "echo the command line" },
	{ "cpuid", scenario_cpuid, "vendor, max leaf, hypervisor bit and signature" },
	{ "smp", scenario_smp, "find the CPUs (MP table / MADT), start every AP" },
	{ "triple-fault", scenario_triple_fault, "empty IDT + ud2" },
	{ "ud", scenario_ud, "ud2: the guest reports #UD itself (status 6)" },
	{ "bad-insn", scenario_bad_insn, "jump to unmapped memory (addr=)" },
	{ "mmio-read", scenario_mmio_read, "32-bit read of unmapped MMIO (addr=)" },
	{ "mmio-write", scenario_mmio_write, "32-bit write to unmapped MMIO (addr=)" },
	{ "oob-write", scenario_oob_write, "write 1 MiB past the end of RAM" },
	{ "uart-flood", scenario_uart_flood, "write N bytes (count=, default 100000; poll=1)" },
	{ "spin", scenario_spin, "loop forever with interrupts off" },
	{ "io-loop", scenario_io_loop, "N OUTs to the UART scratch register (count=)" },
	{ "hlt", scenario_hlt, "cli; hlt forever" },
	{ "virtio-blk", scenario_virtio_blk, "virtio-mmio block: read, write, chain, flush, IOERR" },
	{ "virtio-blk-hotplug", scenario_virtio_blk_hotplug, "virtio-mmio block: wait for a new backing file (configuration interrupt), read it" },
	{ "virtio-rng", scenario_virtio_rng, "virtio-mmio entropy: 64 bytes, not all zero" },
	{ "virtio-console", scenario_virtio_console, "virtio-mmio console: write a line" },
	{ "virtio-vsock", scenario_virtio_vsock, "virtio-mmio vsock: connect out (port=), accept (listen=), data and credit" },
};

void guest_debug_exit_write(uint32_t status)
{
	outl(GUEST_DEBUG_EXIT_PORT, status);
}

/* A VMM without the debug-exit device lets the guest go on: a failure then still ends as a
 * failure (triple fault), a pass parks the vCPU (the host's timeout ends it). */
void guest_exit(enum guest_status s)
{
	guest_debug_exit_write((uint32_t)s);
	if (s != GUEST_PASS)
		guest_triple_fault();
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_pass(void)
{
	console_printf("carapace-test-guest: PASS\n");
	guest_exit(GUEST_PASS);
}

void guest_vfail(enum guest_status s, const char *prefix, const char *fmt, va_list ap)
{
	console_lock();
	console_puts("carapace-test-guest: FAIL: ");
	console_puts(prefix);
	console_vprintf(fmt, ap);
	console_puts("\n");
	console_unlock();
	guest_exit(s);
}

void guest_fail(enum guest_status s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	guest_vfail(s, "", fmt, ap);
}

static const char *const exception_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
	"#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

/* Called from entry.S for any exception: the guest never expects one, so it is a failure. The
 * console lock may be held by the faulting code; a dying vCPU takes it over. */
void guest_exception(uint32_t vec, uint32_t err, uint32_t eip);
void guest_exception(uint32_t vec, uint32_t err, uint32_t eip)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	console_unlock();
	/* Addresses change with every edit of the guest: they go on an info line, so the FAIL
	 * line stays comparable across builds. */
	console_printf("info: exception %u error code 0x%x at eip 0x%x cr2 0x%x\n", vec, err, eip, cr2);
	guest_fail(GUEST_EXCEPTION, "exception %u (%s)", vec,
	           vec < 32 && exception_names[vec] ? exception_names[vec] : "reserved");
}

void guest_main(uint32_t start_info);
void guest_main(uint32_t start_info)
{
	size_t i;

	guest_boot_parse(start_info, &boot);
	console_printf("carapace-test-guest: scenario %s\n", boot.scenario);
	console_printf("info: hvm_start_info at 0x%x: version %u, %u memory map entries, %u modules, "
	               "rsdp 0x%llx\n", boot.start_info_paddr, boot.version, boot.memmap_entries,
	               boot.nr_modules, (unsigned long long)boot.rsdp_paddr);
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (str_eq(scenarios[i].name, boot.scenario)) {
			scenarios[i].run(&boot);
			/* Every scenario ends the VM itself; returning is a bug in the scenario. */
			guest_fail(GUEST_CHECK_FAILED, "scenario %s returned", boot.scenario);
		}
	}
	console_printf("info: known scenarios:\n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		console_printf("info:   %s - %s\n", scenarios[i].name, scenarios[i].summary);
	guest_fail(GUEST_UNKNOWN_SCENARIO, "unknown scenario '%s'", boot.scenario);
}

/* Scenarios that report what the VMM gave the guest: hello, demo, reset, ctrl-alt-del, memmap,
 * cmdline, cpuid.
 * Lines starting with "info:" legitimately differ between VMMs; every other line must not. */
#include "guest.h"

extern char __image_start[], __image_end[];

void scenario_hello(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("hello: hello from the carapace test guest\n");
	guest_pass();
}

static void print_ram(const struct guest_boot *boot)
{
	console_printf("info: RAM: %u MiB in %u memory map entries\n",
	               (uint32_t)(guest_boot_ram_total(boot) >> 20), boot->memmap_entries);
}

void scenario_demo(const struct guest_boot *boot)
{
	struct guest_cpus cpus;

	console_printf("demo: This is carapace's built-in demo guest, a few KiB of freestanding C.\n");
	console_printf("demo: It was booted through the PVH ABI and talks over a 16550 UART at 0x3f8.\n");
	print_ram(boot);
	if (guest_cpus_find(boot, &cpus, false))
		console_printf("info: vCPUs: %u (from the %s)\n", cpus.count, cpus.source);
	else
		console_printf("info: vCPUs: no MP table or ACPI MADT found\n");
	console_printf("info: command line: \"%s\"\n", boot->cmdline);
	demo_virtio(boot);
	console_printf("demo: Boot your own kernel with: carapace run --kernel IMAGE\n");
	console_printf("demo: Ending with an i8042 reset (0xfe to port 0x64): a clean exit.\n");
	console_printf("carapace-test-guest: PASS\n");
	outb(GUEST_I8042_CMD_PORT, GUEST_I8042_RESET);
	/* QEMU microvm has no i8042: the debug-exit device ends the run there instead. */
	guest_exit(GUEST_PASS);
}

void scenario_reset(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("reset: requesting a reset through the i8042 (0xfe to port 0x64)\n");
	console_printf("carapace-test-guest: PASS\n");
	outb(GUEST_I8042_CMD_PORT, GUEST_I8042_RESET);
	/* No i8042 (QEMU microvm): a triple fault is the other reset a VMM must handle; with
	 * -no-reboot QEMU then exits with status 0. */
	console_printf("info: the i8042 reset was ignored; falling back to a triple fault\n");
	guest_triple_fault();
}

/* Wait for the VMM's Ctrl-Alt-Del (Firecracker's SendCtrlAltDel: the set 2 make codes of Ctrl,
 * Alt and Del through the i8042), then reset as a Linux guest would. Polls the status port: no
 * interrupt set-up, and the wait is the host's (its test sends the keys once the VM runs). */
void scenario_ctrl_alt_del(const struct guest_boot *boot)
{
	static const uint8_t want[] = { 0x14, 0x11, 0xe0, 0x71 };
	unsigned got = 0;

	(void)boot;
	console_printf("ctrl-alt-del: waiting for Ctrl-Alt-Del on the i8042 keyboard\n");
	while (got < sizeof(want)) {
		uint8_t b;
		if (!(inb(GUEST_I8042_CMD_PORT) & 1))
			continue;
		b = inb(GUEST_I8042_DATA_PORT);
		if (b != want[got])
			guest_fail(GUEST_CHECK_FAILED, "ctrl-alt-del: byte %u is 0x%x, expected 0x%x", got, b, want[got]);
		got++;
	}
	console_printf("ctrl-alt-del: received; resetting through the i8042\n");
	console_printf("carapace-test-guest: PASS\n");
	outb(GUEST_I8042_CMD_PORT, GUEST_I8042_RESET);
	guest_triple_fault();
}

static const char *memmap_type_name(uint32_t type)
{
	switch (type) {
	case 1: return "RAM";
	case 2: return "reserved";
	case 3: return "ACPI";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	default: return "other";
	}
}

void scenario_memmap(const struct guest_boot *boot)
{
	uint32_t i;
	uint32_t image_len = (uint32_t)(__image_end - __image_start);

	console_printf("info: hvm_start_info flags 0x%x\n", boot->flags);
	for (i = 0; i < boot->memmap_entries; i++) {
		const struct guest_memmap_entry *e = &boot->memmap[i];
		if (e->size == 0) {
			/* QEMU's PVH option ROM counts a trailing empty entry; it covers nothing. */
			console_printf("info: memmap[%u] empty (type %u)\n", i, e->type);
			continue;
		}
		console_printf("info: memmap[%u] 0x%016llx-0x%016llx %s (type %u)\n", i,
		               (unsigned long long)e->addr,
		               (unsigned long long)(e->addr + e->size - 1), memmap_type_name(e->type),
		               e->type);
	}
	print_ram(boot);
	if (boot->memmap_entries == 0)
		guest_fail(GUEST_CHECK_FAILED, "the memory map has no entries");
	if (!guest_boot_is_ram(boot, GUEST_IMAGE_BASE, image_len))
		guest_fail(GUEST_CHECK_FAILED, "no RAM entry covers the image at 0x%x-0x%x",
		           GUEST_IMAGE_BASE, GUEST_IMAGE_BASE + image_len - 1);
	console_printf("memmap: RAM covers the guest image at 1 MiB\n");
	guest_pass();
}

void scenario_cmdline(const struct guest_boot *boot)
{
	unsigned i;

	console_printf("cmdline: \"%s\"\n", boot->cmdline);
	for (i = 0; i < boot->nargs; i++) {
		const struct guest_arg *a = &boot->args[i];
		if (a->value)
			console_printf("cmdline: arg %u key \"%.*s\" value \"%.*s\"\n", i, (int)a->key_len,
			               a->key, (int)a->value_len, a->value);
		else
			console_printf("cmdline: arg %u word \"%.*s\"\n", i, (int)a->key_len, a->key);
	}
	guest_pass();
}

static void cpuid_string(uint32_t a, uint32_t b, uint32_t c, char out[13])
{
	mem_copy(out, &a, 4);
	mem_copy(out + 4, &b, 4);
	mem_copy(out + 8, &c, 4);
	out[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = out[i] ? '.' : ' ';
}

void scenario_cpuid(const struct guest_boot *boot)
{
	uint32_t r[4], max, hv;
	char s[13];

	(void)boot;
	cpuid(0, 0, r);
	max = r[0];
	cpuid_string(r[1], r[3], r[2], s);
	console_printf("info: cpuid vendor \"%s\" max leaf 0x%x\n", s, max);
	if (max < 1)
		guest_fail(GUEST_CHECK_FAILED, "cpuid max leaf 0x%x: no leaf 1", max);
	cpuid(1, 0, r);
	hv = r[2] >> 31;
	console_printf("info: cpuid leaf 1 eax 0x%x (family/model/stepping) hypervisor bit %u\n",
	               r[0], hv);
	if (hv) {
		cpuid(0x40000000, 0, r);
		cpuid_string(r[1], r[2], r[3], s);
		console_printf("info: cpuid 0x40000000 signature \"%s\" max leaf 0x%x\n", s, r[0]);
	}
	console_printf("cpuid: leaves 0 and 1 answered\n");
	guest_pass();
}

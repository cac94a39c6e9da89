/* Hostile scenarios: the guest misbehaves on purpose so the host's handling can be tested
 * (triple fault, unemulatable fetch, unmapped MMIO, writes outside RAM, floods, hangs).
 * Each prints what it is about to do as its last line; if control comes back where it should
 * not, the guest says so and exits with GUEST_HOSTILE_SURVIVED. */
#include "guest.h"

/* addr=0x... overrides the default unmapped address; it must be 4-byte aligned. */
static uint32_t hostile_addr(const struct guest_boot *boot)
{
	const struct guest_arg *a = guest_boot_arg(boot, "addr");
	uint32_t v = GUEST_UNMAPPED_ADDR;

	if (a && (!parse_u32(a->value, a->value_len, &v) || (v & 3)))
		guest_fail(GUEST_BAD_ARGUMENT, "addr=%.*s is not a 4-byte aligned 32-bit address",
		           (int)a->value_len, a->value);
	return v;
}

static uint32_t count_arg(const struct guest_boot *boot, uint32_t dflt)
{
	const struct guest_arg *a = guest_boot_arg(boot, "count");
	uint32_t n;

	if (!guest_boot_count(boot, dflt, &n)) {
		if (!a)
			a = &boot->args[0];
		guest_fail(GUEST_BAD_ARGUMENT, "count '%.*s' is not a 32-bit number",
		           (int)(a->value ? a->value_len : a->key_len), a->value ? a->value : a->key);
	}
	return n;
}

void scenario_triple_fault(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("triple-fault: loading an empty IDT and executing ud2\n");
	guest_triple_fault();
}

/* Not hostile to the host: proves the guest's own exception reporting (status GUEST_EXCEPTION). */
void scenario_ud(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("ud: executing ud2 with the guest's IDT loaded\n");
	__asm__ volatile("ud2");
	guest_fail(GUEST_CHECK_FAILED, "ud: ud2 did not raise #UD");
}

void scenario_bad_insn(const struct guest_boot *boot)
{
	uint32_t addr = hostile_addr(boot);
	void (*target)(void) = (void (*)(void))(uintptr_t)addr;

	console_printf("bad-insn: jumping to unmapped memory at 0x%x\n", addr);
	target();
	guest_fail(GUEST_HOSTILE_SURVIVED, "bad-insn: the code at 0x%x returned", addr);
}

void scenario_mmio_read(const struct guest_boot *boot)
{
	uint32_t addr = hostile_addr(boot), v;

	console_printf("mmio-read: reading 32 bits at unmapped 0x%x\n", addr);
	v = *phys32(addr);
	console_printf("info: mmio-read: the read returned 0x%x\n", v);
	guest_fail(GUEST_HOSTILE_SURVIVED, "mmio-read: the read at 0x%x returned to the guest", addr);
}

void scenario_mmio_write(const struct guest_boot *boot)
{
	uint32_t addr = hostile_addr(boot);

	console_printf("mmio-write: writing 32 bits at unmapped 0x%x\n", addr);
	*phys32(addr) = 0xc0ffee00u;
	guest_fail(GUEST_HOSTILE_SURVIVED, "mmio-write: the write at 0x%x returned to the guest", addr);
}

/* The address 1 MiB past the highest end of RAM below 4 GiB, avoiding the APIC window. */
void scenario_oob_write(const struct guest_boot *boot)
{
	uint64_t end = 0, target;
	uint32_t i, v;

	for (i = 0; i < boot->memmap_entries; i++) {
		const struct guest_memmap_entry *e = &boot->memmap[i];
		if (e->type == GUEST_E820_RAM && e->addr < 0x100000000ull &&
		    e->addr + e->size > end)
			end = e->addr + e->size;
	}
	if (end > 0x100000000ull)
		end = 0x100000000ull;
	target = end + 0x100000;
	if (end == 0 || target >= 0xfec00000ull || guest_boot_is_ram(boot, target, 4))
		guest_fail(GUEST_CHECK_FAILED,
		           "oob-write: no address outside RAM 1 MiB past its end 0x%llx below the APIC window",
		           (unsigned long long)end);
	console_printf("info: oob-write: RAM ends at 0x%llx\n", (unsigned long long)end);
	console_printf("oob-write: writing 32 bits 1 MiB past the end of RAM\n");
	*phys32((uint32_t)target) = 0xbad0beefu;
	v = *phys32((uint32_t)target);
	console_printf("info: oob-write: wrote 0xbad0beef at 0x%x, read back 0x%x\n",
	               (uint32_t)target, v);
	guest_fail(GUEST_HOSTILE_SURVIVED, "oob-write: the write outside RAM returned to the guest");
}

/* A fixed 64-byte line, so a flood's transcript is deterministic and easy to check. */
static const char flood_line[64] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

void scenario_uart_flood(const struct guest_boot *boot)
{
	uint32_t n = count_arg(boot, 100000), i;
	const struct guest_arg *poll = guest_boot_arg(boot, "poll");
	bool use_poll = poll && str_eq_n(poll->value, poll->value_len, "1");

	/* As fast as possible by default: rep outsb, no THRE polling, about one instruction and
	 * one exit per 64 bytes, so even 100000 bytes stay far below the emulator's budget. The
	 * host must bound what a string I/O exit may carry. poll=1 writes byte by byte like a
	 * real driver (about 28 instructions and 2 exits a byte). */
	console_printf("uart-flood: writing %u bytes%s\n", n, use_poll ? ", polling THRE" : " with rep outsb");
	console_lock();
	if (!use_poll) {
		for (i = 0; i < n; i += 64) {
			uint32_t len = n - i < 64 ? n - i : 64;
			const char *src = flood_line;
			__asm__ volatile("rep outsb" : "+S"(src), "+c"(len) : "d"(GUEST_UART_THR) : "memory");
		}
	} else {
		for (i = 0; i < n; i++)
			console_putc_raw(flood_line[i & 63]);
	}
	if (n & 63)
		console_putc_raw('\n');
	console_unlock();
	console_printf("uart-flood: done\n");
	guest_pass();
}

void scenario_spin(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("spin: looping forever with interrupts off\n");
	for (;;)
		__asm__ volatile("cli");
}

void scenario_io_loop(const struct guest_boot *boot)
{
	uint32_t n = count_arg(boot, 10000), i;
	uint8_t v;

	console_printf("io-loop: %u writes to the UART scratch register (port 0x%x)\n", n,
	               GUEST_UART_SCR);
	for (i = 0; i < n; i++)
		outb(GUEST_UART_SCR, (uint8_t)i);
	if (n) {
		v = inb(GUEST_UART_SCR);
		if (v != (uint8_t)(n - 1))
			guest_fail(GUEST_CHECK_FAILED, "io-loop: scratch register reads 0x%x, wrote 0x%x last",
			           v, (uint8_t)(n - 1));
	}
	console_printf("io-loop: done\n");
	guest_pass();
}

void scenario_hlt(const struct guest_boot *boot)
{
	(void)boot;
	console_printf("hlt: halting with interrupts off (cli; hlt)\n");
	/* Only NMI/INIT can end this halt; a VMM that just re-enters after KVM_EXIT_HLT brings the
	 * vCPU back here, and it halts again. */
	for (;;)
		__asm__ volatile("cli; hlt");
}

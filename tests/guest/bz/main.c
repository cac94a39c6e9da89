/* The bzImage test guest: entered by carapace's firmware-less direct-boot layout (docs/guest.md
 * "bzImage guest"), it checks boot_params, e820, setup_data and the ACPI tables with bzcheck.c,
 * prints what it found on COM1 and ends through the debug-exit port (0 = pass, 4 = a check
 * failed). Identity-mapped 4 GiB: guest-physical addresses are pointers. */
#include <stdint.h>

#include "bzcheck.h"

void bz_main(uint64_t boot_params);
extern void bz_ap_entry(void);
extern volatile uint32_t bz_ap_arrived;

/* Waits are bounded by iterations, not time: a vCPU that never answers fails the test. */
#define WAIT_ITERATIONS 20000000u

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void uart_print(const char *s)
{
	for (; *s; s++) {
		for (int i = 0; i < 10000 && !(inb(0x3fd) & 0x20); i++)
			;
		outb(0x3f8, (uint8_t)*s);
	}
}

static void debug_exit(uint32_t status)
{
	__asm__ volatile("outl %0, %1" : : "a"(status), "Nd"((uint16_t)0xf4));
}

/* TDX stub test mode: wake every AP through the MADT mailbox (ACPI 6.4 5.2.12.19: APIC ID,
 * wakeup vector, then command 1) and see it acknowledge (command back to 0) and arrive. */
static int wake_aps(const struct bz_report *r)
{
	volatile uint16_t *cmd = (volatile uint16_t *)(uintptr_t)r->mailbox;
	volatile uint32_t *apic_id = (volatile uint32_t *)(uintptr_t)(r->mailbox + 4);
	volatile uint64_t *vector = (volatile uint64_t *)(uintptr_t)(r->mailbox + 8);
	volatile uint32_t *stub_mark = (volatile uint32_t *)(uintptr_t)(r->mailbox + 0x800);

	uart_print(*stub_mark == 0x44544f4eu ? "bz: TDX stub: accept skipped (not a TD)\n"
					     : "bz: TDX stub: no not-a-TD mark\n");
	for (uint32_t id = 1; id < r->cpus; id++) {
		uint32_t i;
		char line[] = "bz: AP 0 woken through the MADT mailbox and arrived\n";
		*apic_id = id;
		*vector = (uint64_t)(uintptr_t)bz_ap_entry;
		__asm__ volatile("" ::: "memory");
		*cmd = 1;
		for (i = 0; i < WAIT_ITERATIONS && *cmd != 0; i++)
			__asm__ volatile("pause");
		if (*cmd != 0) {
			uart_print("bz: FAIL: an AP never acknowledged the mailbox command\n");
			return -1;
		}
		for (i = 0; i < WAIT_ITERATIONS && bz_ap_arrived != id; i++)
			__asm__ volatile("pause");
		if (bz_ap_arrived != id) {
			uart_print("bz: FAIL: the woken AP did not arrive at the wakeup vector\n");
			return -1;
		}
		line[7] = (char)('0' + id % 10); /* the test uses fewer than 10 vCPUs */
		uart_print(line);
	}
	return 0;
}

void bz_main(uint64_t boot_params)
{
	struct bz_mem m = { .base = 0, .limit = 1ull << 32, .print = uart_print };
	struct bz_report r;

	uart_print("carapace-test-bzimage: 64-bit entry reached\n");
	if (bz_check(&m, boot_params, &r) == 0 && (!r.mp_wakeup || wake_aps(&r) == 0)) {
		uart_print("carapace-test-bzimage: PASS\n");
		debug_exit(0);
	}
	debug_exit(4);
}

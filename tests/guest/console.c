/* Console of the test guest: a polled 16550 at 0x3f8 and a small printf. A spinlock keeps the
 * lines of concurrently running vCPUs (smp) whole. */
#include <stdarg.h>
#include "guest.h"

static volatile uint32_t console_lock_word;

/* Bounded so a VMM whose UART never reports THRE cannot hang the guest here: after this many
 * polls the byte is written anyway, and polling stops for good (otherwise every later byte
 * would cost the same number of exits). */
#define UART_POLL_LIMIT 10000u
static bool uart_thre_broken;

void console_putc_raw(char c)
{
	uint32_t i;
	for (i = 0; !uart_thre_broken; i++) {
		if (inb(GUEST_UART_LSR) & GUEST_UART_LSR_THRE)
			break;
		if (i == UART_POLL_LIMIT)
			uart_thre_broken = true;
	}
	outb(GUEST_UART_THR, (uint8_t)c);
}

void console_lock(void)
{
	uint32_t v;
	for (;;) {
		v = 1;
		__asm__ volatile("xchg %0, %1" : "+r"(v), "+m"(console_lock_word) : : "memory");
		if (v == 0)
			return;
		while (console_lock_word)
			cpu_relax();
	}
}

void console_unlock(void)
{
	__asm__ volatile("" ::: "memory");
	console_lock_word = 0;
}

/* 64-by-32 step of a decimal conversion: hi:lo / 10 via divl, whose quotient fits in 32 bits
 * because hi < 10. Avoids __udivdi3, which a -m32 freestanding build does not have. */
static uint32_t div10_step(uint32_t hi, uint32_t lo, uint32_t *rem)
{
	uint32_t q, r;
	__asm__("divl %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(10u));
	*rem = r;
	return q;
}

static void emit_u64(uint64_t v, unsigned base, unsigned width, char pad)
{
	char buf[24];
	unsigned n = 0;

	do {
		if (base == 16) {
			buf[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} else {
			uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v, r;
			uint32_t qhi = hi / 10, rhi = hi % 10;
			uint32_t qlo = div10_step(rhi, lo, &r);
			buf[n++] = (char)('0' + r);
			v = ((uint64_t)qhi << 32) | qlo;
		}
	} while (v && n < sizeof(buf));
	while (width > n) {
		console_putc_raw(pad);
		width--;
	}
	while (n)
		console_putc_raw(buf[--n]);
}

void console_vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned width = 0, longs = 0;
		int prec = -1;
		char pad = ' ';

		if (*fmt != '%') {
			console_putc_raw(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		if (fmt[0] == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		}
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (; *s && prec != 0; s++, prec--)
				console_putc_raw(*s);
			break;
		}
		case 'c':
			console_putc_raw((char)va_arg(ap, int));
			break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				console_putc_raw('-');
				emit_u64((uint64_t)-(int64_t)v, 10, width, pad);
			} else {
				emit_u64((uint64_t)v, 10, width, pad);
			}
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs >= 2 ? va_arg(ap, unsigned long long)
			           : longs == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			emit_u64(v, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		}
		case '%':
			console_putc_raw('%');
			break;
		default:
			/* An unknown conversion is a bug in the guest: make it visible, not silent. */
			console_putc_raw('?');
			if (!*fmt)
				return;
			break;
		}
	}
}

void console_puts(const char *s)
{
	while (*s)
		console_putc_raw(*s++);
}

void console_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	console_lock();
	console_vprintf(fmt, ap);
	console_unlock();
	va_end(ap);
}

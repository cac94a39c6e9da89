/* 16550A model: what Linux's 8250 autoconfig and polling guests rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "runner/uart.h"

static uint8_t sink[65536];
static size_t sink_len;
static int irq_level, irq_changes;

static void out(void *o, const uint8_t *b, size_t n)
{
	memcpy(sink + sink_len, b, n);
	sink_len += n;
}
static void irq(void *o, int level)
{
	irq_level = level;
	irq_changes++;
}

static int setup(void **state)
{
	static struct uart u;
	uart_init(&u, out, irq, NULL);
	sink_len = 0;
	irq_level = 0;
	irq_changes = 0;
	*state = &u;
	return 0;
}
static int teardown(void **state)
{
	uart_destroy(*state);
	return 0;
}

static uint8_t rd(struct uart *u, unsigned off)
{
	uint8_t v = 0;
	uart_io(u, off, false, &v);
	return v;
}
static void wr(struct uart *u, unsigned off, uint8_t v) { uart_io(u, off, true, &v); }

static void test_tx_line_buffered(void **state)
{
	struct uart *u = *state;
	assert_int_equal(rd(u, 5) & 0x60, 0x60); /* THRE | TEMT */
	wr(u, 0, 'h');
	wr(u, 0, 'i');
	assert_int_equal(sink_len, 0);            /* buffered until newline */
	wr(u, 0, '\n');
	assert_int_equal(sink_len, 3);
	assert_memory_equal(sink, "hi\n", 3);
	wr(u, 0, 'x');
	uart_flush(u);
	assert_int_equal(sink_len, 4);
}

static void test_scratch_and_dlab(void **state)
{
	struct uart *u = *state;
	wr(u, 7, 0x5a);
	assert_int_equal(rd(u, 7), 0x5a);
	wr(u, 3, 0x80); /* DLAB */
	wr(u, 0, 0x01);
	wr(u, 1, 0x02);
	assert_int_equal(rd(u, 0), 0x01);
	assert_int_equal(rd(u, 1), 0x02);
	wr(u, 3, 0x03);
	assert_int_equal(sink_len, 0); /* divisor writes are not output */
	assert_int_equal(rd(u, 1), 0); /* IER untouched */
}

static void test_loopback_msr(void **state)
{
	struct uart *u = *state;
	/* Linux 8250 autoconfig: MCR = LOOP|OUT2|RTS → MSR high nibble 0x90. */
	wr(u, 4, 0x1a);
	assert_int_equal(rd(u, 6) & 0xf0, 0x90);
	wr(u, 0, 'L'); /* looped back into RBR, not output */
	assert_true(rd(u, 5) & 0x01);
	assert_int_equal(rd(u, 0), 'L');
	assert_int_equal(sink_len, 0);
	wr(u, 4, 0x08);
	assert_int_equal(rd(u, 6), 0xb0);
}

static void test_fifo_iir(void **state)
{
	struct uart *u = *state;
	wr(u, 2, 0x07); /* enable + clear FIFOs */
	assert_int_equal(rd(u, 2) & 0xc0, 0xc0); /* 16550A */
	assert_int_equal(rd(u, 2) & 0x0f, 0x01); /* nothing pending */
}

static void test_thre_interrupt(void **state)
{
	struct uart *u = *state;
	wr(u, 4, 0x08); /* OUT2 gates the IRQ */
	wr(u, 1, 0x02); /* enable THRE interrupt → pending at once */
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02);
	assert_int_equal(irq_level, 0); /* IIR read acknowledges THRE */
	wr(u, 0, 'a');
	assert_int_equal(irq_level, 1);
	wr(u, 1, 0x00);
	assert_int_equal(irq_level, 0);
}

static void test_rx(void **state)
{
	struct uart *u = *state;
	uint8_t many[100];
	memset(many, 'z', sizeof(many));
	wr(u, 4, 0x08);
	wr(u, 1, 0x01); /* RX data interrupt */
	assert_int_equal(uart_receive(u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(u, 2) & 0x0f, 0x04);
	assert_int_equal(rd(u, 0), 'a');
	assert_int_equal(rd(u, 0), 'b');
	assert_int_equal(irq_level, 0);
	assert_int_equal(rd(u, 5) & 1, 0);
	/* The FIFO is bounded: a flood from the host is cut, not overflowed. */
	assert_int_equal(uart_receive(u, many, sizeof(many)), UART_RX_FIFO);
}

static void test_limit(void **state)
{
	struct uart *u = *state;
	u->limit = 5;
	for (int i = 0; i < 10; i++)
		wr(u, 0, (uint8_t)('0' + i));
	uart_flush(u);
	assert_int_equal(sink_len, 5);
	assert_int_equal(u->tx_dropped, 5);
}

static void test_big_output_flushes(void **state)
{
	struct uart *u = *state;
	for (int i = 0; i < 10000; i++)
		wr(u, 0, 'x');
	assert_true(sink_len >= 8192); /* flushed whenever the buffer fills */
	uart_flush(u);
	assert_int_equal(sink_len, 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_line_buffered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_and_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_iir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_output_flushes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

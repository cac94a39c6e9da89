/* libFuzzer target: the 16550A model (runner/uart.c) under any mix of guest register accesses,
 * host input and flushes. The receive FIFO never holds more than its size, output reaches the
 * sink only as bytes the guest wrote (never past the console limit), and the interrupt line
 * the model reports is the level it last signalled. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/uart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	uint64_t out_bytes;
	int level;
};

static void out(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	if (!len || len > UART_TX_BUF || !buf)
		abort();
	s->out_bytes += len;
}

static void irq(void *opaque, int level)
{
	struct sink *s = opaque;
	if (level == s->level)
		abort(); /* only changes are signalled */
	s->level = level;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uart u;
	struct sink s = { 0, 0 };

	if (size < 2)
		return 0;
	uart_init(&u, out, irq, &s);
	u.limit = data[0] & 0x80 ? (uint64_t)(data[0] & 0x7f) : 0;
	u.flush_each_byte = data[1] & 1;
	data += 2;
	size -= 2;
	while (size >= 2) {
		uint8_t op = data[0], v = data[1];
		switch (op >> 6) {
		case 0:
		case 1:
			uart_io(&u, op & 0xf, op & 0x10, &v);
			break;
		case 2: {
			size_t n = (op & 0x3f) < size - 2 ? (op & 0x3f) : size - 2;
			if (uart_receive(&u, data + 2, n) > n)
				abort();
			data += n;
			size -= n;
			break;
		}
		default:
			uart_flush(&u);
			break;
		}
		if (u.rx_count > UART_RX_FIFO || u.rx_head >= UART_RX_FIFO || u.tx_len >= UART_TX_BUF)
			abort();
		if (u.irq_level != s.level)
			abort();
		data += 2;
		size -= 2;
	}
	uart_flush(&u);
	if (s.out_bytes + u.tx_dropped != u.tx_total)
		abort();
	if (u.limit && s.out_bytes > u.limit)
		abort();
	uart_destroy(&u);
	return 0;
}

/* A 16550A UART model (enough for Linux's 8250 driver and for polling guests). Pure: the
 * owner supplies an output sink and an interrupt line; all guest accesses go through uart_io. */
#ifndef CARAPACE_RUNNER_UART_H
#define CARAPACE_RUNNER_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_RX_FIFO 64
#define UART_TX_BUF 4096

struct uart {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr_extra, scr, dll, dlm, fcr;
	bool thr_ipending;
	int irq_level;
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_count;
	uint8_t tx[UART_TX_BUF];
	size_t tx_len;
	uint64_t tx_total, tx_dropped, limit; /* limit 0 = unlimited */
	bool flush_each_byte;
	void (*out)(void *opaque, const uint8_t *buf, size_t len);
	void (*irq)(void *opaque, int level);
	void *opaque;
};

void uart_init(struct uart *u, void (*out)(void *, const uint8_t *, size_t), void (*irq)(void *, int),
	       void *opaque);
void uart_destroy(struct uart *u);
/* A guest access to register `offset` (0..7); *data is read or written. */
void uart_io(struct uart *u, unsigned offset, bool is_write, uint8_t *data);
/* Host input: queue bytes for the guest; returns how many fit. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);
/* Push buffered output to the sink. */
void uart_flush(struct uart *u);

#endif

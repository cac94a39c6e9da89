/* 16550A model. Transmission is instantaneous, so THR is always empty and LSR always says so. */
#include "runner/uart.h"

#include <string.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define IER_RDA 0x01
#define IER_THRE 0x02
#define IIR_NONE 0x01
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_FIFO 0xc0
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

void uart_init(struct uart *u, void (*out)(void *, const uint8_t *, size_t), void (*irq)(void *, int),
	       void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out = out;
	u->irq = irq;
	u->opaque = opaque;
	u->mcr = 0x08; /* OUT2 */
}

void uart_destroy(struct uart *u)
{
	uart_flush(u);
	pthread_mutex_destroy(&u->lock);
}

static void flush_locked(struct uart *u)
{
	if (u->tx_len && u->out)
		u->out(u->opaque, u->tx, u->tx_len);
	u->tx_len = 0;
}

void uart_flush(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	flush_locked(u);
	pthread_mutex_unlock(&u->lock);
}

static uint8_t iir_locked(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA | fifo;
	if ((u->ier & IER_THRE) && u->thr_ipending)
		return IIR_THRE | fifo;
	return IIR_NONE | fifo;
}

static void update_irq_locked(struct uart *u)
{
	int level = !(iir_locked(u) & IIR_NONE) && (u->mcr & 0x08); /* OUT2 gates the IRQ on PCs */
	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq)
			u->irq(u->opaque, level);
	}
}

static void rx_push_locked(struct uart *u, uint8_t b)
{
	if (u->rx_count == UART_RX_FIFO) {
		u->lsr_extra |= 0x02; /* overrun */
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = b;
	u->rx_count++;
}

static void tx_locked(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		rx_push_locked(u, b);
		return;
	}
	u->tx_total++;
	if (u->limit && u->tx_total > u->limit) {
		u->tx_dropped++;
		return;
	}
	u->tx[u->tx_len++] = b;
	if (u->tx_len == UART_TX_BUF || b == '\n' || u->flush_each_byte)
		flush_locked(u);
}

void uart_io(struct uart *u, unsigned offset, bool is_write, uint8_t *data)
{
	bool dlab;

	pthread_mutex_lock(&u->lock);
	dlab = u->lcr & LCR_DLAB;
	if (is_write) {
		uint8_t v = *data;
		switch (offset & 7) {
		case RBR_THR:
			if (dlab) {
				u->dll = v;
			} else {
				tx_locked(u, v);
				u->thr_ipending = true; /* sent at once: THR empty again */
			}
			break;
		case IER:
			if (dlab) {
				u->dlm = v;
			} else {
				if (!(u->ier & IER_THRE) && (v & IER_THRE))
					u->thr_ipending = true;
				u->ier = v & 0x0f;
			}
			break;
		case IIR_FCR:
			u->fcr = v & 0xc9;
			if (v & FCR_CLEAR_RX)
				u->rx_count = 0;
			break;
		case LCR: u->lcr = v; break;
		case MCR: u->mcr = v & 0x1f; break;
		case LSR: break; /* read-only */
		case MSR: break;
		case SCR: u->scr = v; break;
		}
	} else {
		switch (offset & 7) {
		case RBR_THR:
			if (dlab) {
				*data = u->dll;
			} else if (u->rx_count) {
				*data = u->rx[u->rx_head];
				u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
				u->rx_count--;
			} else {
				*data = 0;
			}
			break;
		case IER: *data = dlab ? u->dlm : u->ier; break;
		case IIR_FCR:
			*data = iir_locked(u);
			if ((*data & 0x0f) == IIR_THRE)
				u->thr_ipending = false; /* reading IIR acknowledges THRE */
			break;
		case LCR: *data = u->lcr; break;
		case MCR: *data = u->mcr; break;
		case LSR:
			*data = (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) | u->lsr_extra);
			u->lsr_extra = 0;
			break;
		case MSR:
			if (u->mcr & MCR_LOOP) /* CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2 */
				*data = (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) |
						  ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
			else
				*data = 0xb0; /* DCD, DSR, CTS */
			break;
		case SCR: *data = u->scr; break;
		}
	}
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_count < UART_RX_FIFO)
		rx_push_locked(u, buf[n++]);
	update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* carapace-console: a jailed vhost-user virtio-console back-end (one port, no multiport):
 * guest output to a file, a pty or a UNIX socket; input from the pty or socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/devkinds.h"
#include "devices/helper_serve.h"

#define CONSOLE_RXQ 0
#define CONSOLE_TXQ 1
#define CONSOLE_CONFIG_SIZE (devkinds[DEVKIND_CONSOLE].config_size) /* devices/devkinds.c */

struct console_dev {
	int out_fd;        /* where guest output goes */
	int in_fd;         /* host input, -1 for --output */
	int pty_slave;     /* held open so the master never sees a hang-up */
	bool rx_starved;   /* input is waiting but the guest gave no buffer: stop polling input */
	bool dropping;     /* output is being dropped (reader not keeping up) */
	struct vu_dev_ops ops;
};

static void console_get_config(void *dev, uint8_t *cfg)
{
	memset(cfg, 0, CONSOLE_CONFIG_SIZE);
	cp_put_le16(cfg + 0, 80);  /* cols */
	cp_put_le16(cfg + 2, 25);  /* rows */
	cp_put_le32(cfg + 4, 1);   /* max_nr_ports */
}

static void console_tx(struct vu_backend *be, struct console_dev *d)
{
	struct vu_chain *c = &be->chain;
	unsigned n = 0;

	while (vu_be_pop(be, CONSOLE_TXQ, c) == 1) {
		if (c->n_out) {
			ssize_t r = writev(d->out_fd, c->iov, c->n_out);

			/* A reader that does not keep up loses output; the device never stalls on it. */
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (!d->dropping)
					cp_warn("console: output reader is not keeping up; dropping output");
				d->dropping = true;
			} else if (r >= 0) {
				d->dropping = false;
			}
		}
		vu_be_push(be, CONSOLE_TXQ, c->head, 0);
		n++;
	}
	if (n)
		vu_be_notify(be, CONSOLE_TXQ);
}

static void console_kick(struct vu_backend *be, unsigned q)
{
	struct console_dev *d = be->dev;

	if (q == CONSOLE_TXQ)
		console_tx(be, d);
	else
		d->rx_starved = false; /* new receive buffers: poll input again */
}

static int console_extra_fd(void *dev)
{
	struct console_dev *d = dev;

	return d->rx_starved ? -1 : d->in_fd;
}

static void console_input(struct vu_backend *be)
{
	struct console_dev *d = be->dev;
	struct vu_chain *c = &be->chain;
	ssize_t r;

	if (vu_be_pop(be, CONSOLE_RXQ, c) != 1) {
		d->rx_starved = true;
		return;
	}
	r = readv(d->in_fd, c->iov + c->n_out, c->n_in);
	if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) {
		cp_info("console: input closed (%s)", r == 0 ? "end of file" : strerror(errno));
		d->in_fd = -1;
	}
	vu_be_push(be, CONSOLE_RXQ, c->head, r > 0 ? (uint32_t)r : 0);
	vu_be_notify(be, CONSOLE_RXQ);
}

static int console_open_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct dev_cli cli;
	struct console_dev d = { .out_fd = -1, .in_fd = -1, .pty_slave = -1 };
	const char *output = NULL, *unix_path = NULL;
	bool pty = false;
	int status, keep[3], nkeep = 0;

	cp_log_set_prog("carapace-console");
	/* Exactly one of --output, --pty, --unix (devices/helper_cli.c). */
	if (!dev_cli_read(DEVKIND_CONSOLE, argc, argv, &cli, &status))
		return status;
	output = cli.str[CONSOLE_CLI_OUTPUT];
	pty = cli.set[CONSOLE_CLI_PTY];
	unix_path = cli.str[CONSOLE_CLI_UNIX];
	/* Everything the device will touch is opened here, before the jail takes open() away. */
	if (output) {
		/* O_NONBLOCK for the open only: a FIFO nobody reads fails (ENXIO) instead of blocking. */
		d.out_fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
		if (d.out_fd >= 0 && fcntl(d.out_fd, F_SETFL, O_APPEND) < 0) {
			cp_err("--output %s: clearing O_NONBLOCK: %s", output, strerror(errno));
			return CP_EXIT_FAILURE;
		}
		if (d.out_fd < 0) {
			cp_err("--output %s: %s", output, strerror(errno));
			return CP_EXIT_FAILURE;
		}
	} else if (pty) {
		d.out_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (d.out_fd < 0 || grantpt(d.out_fd) < 0 || unlockpt(d.out_fd) < 0 || !ptsname(d.out_fd)) {
			cp_err("--pty: %s", strerror(errno));
			return CP_EXIT_FAILURE;
		}
		d.pty_slave = open(ptsname(d.out_fd), O_RDWR | O_NOCTTY | O_CLOEXEC);
		printf("carapace-console: pty %s\n", ptsname(d.out_fd));
		fflush(stdout);
		d.in_fd = d.out_fd;
	} else {
		d.out_fd = console_open_unix(unix_path);
		if (d.out_fd < 0) {
			cp_err("--unix %s: %s", unix_path, strerror(-d.out_fd));
			return CP_EXIT_FAILURE;
		}
		d.in_fd = d.out_fd;
	}
	if (d.in_fd >= 0 && fcntl(d.out_fd, F_SETFL, fcntl(d.out_fd, F_GETFL) | O_NONBLOCK) < 0) {
		cp_err("console: O_NONBLOCK: %s", strerror(errno));
		return CP_EXIT_FAILURE;
	}
	keep[nkeep++] = d.out_fd;
	if (d.pty_slave >= 0)
		keep[nkeep++] = d.pty_slave;
	d.ops = (struct vu_dev_ops){
		.name = "console",
		.features = 1ull << VIRTIO_F_INDIRECT_DESC,
		.protocol_features = VU_PF_IMPLEMENTED,
		.num_queues = devkinds[DEVKIND_CONSOLE].queues,
		.config_size = CONSOLE_CONFIG_SIZE,
		.get_config = console_get_config,
		.queue_kick = console_kick,
		.extra_fd = console_extra_fd,
		.extra_ready = console_input,
	};
	return dev_helper_serve(&cli.common, &devkinds[DEVKIND_CONSOLE], &d.ops, &d, keep, (unsigned)nkeep);
}

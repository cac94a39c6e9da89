/* carapace-blk: a jailed vhost-user virtio-blk back-end on a raw image file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/blk/blk.h"
#include "devices/blk/swap.h"
#include "devices/helper_serve.h"

int main(int argc, char **argv)
{
	struct dev_cli cli;
	/* One queue unless --num-queues says otherwise: the kind's row (devices/devkinds.c), what
	 * the runner starts it with and the launch policy judges. */
	struct blk_dev b = { .fd = -1, .num_queues = (uint16_t)devkinds[DEVKIND_BLK].queues,
			     .swap_fd = -1 };
	struct blk_image_facts facts;
	const char *image = NULL, *serial = "carapace-blk";
	int image_fd = -1;
	struct stat st;
	int status;

	cp_log_set_prog("carapace-blk");
	/* Exactly one of --image FILE and --image-fd N; --num-queues 1..16; --serial of at most the
	 * 20 bytes GET_ID returns (devices/helper_cli.c). */
	if (!dev_cli_read(DEVKIND_BLK, argc, argv, &cli, &status))
		return status;
	image = cli.str[BLK_CLI_IMAGE];
	if (cli.set[BLK_CLI_IMAGE_FD]) {
		/* The runner opened the image and had the launch policy judge that very file. */
		image_fd = (int)cli.num[BLK_CLI_IMAGE_FD];
		image = "(--image-fd)";
	}
	b.readonly = cli.set[BLK_CLI_READONLY];
	if (cli.set[BLK_CLI_NUM_QUEUES])
		b.num_queues = (uint16_t)cli.num[BLK_CLI_NUM_QUEUES];
	if (cli.set[BLK_CLI_SERIAL])
		serial = cli.str[BLK_CLI_SERIAL];
	if (cli.set[BLK_CLI_SWAP_FD]) {
		/* The VM process's end of the swap channel hands over new backing files
		 * (PATCH /drives/{id}); this helper never opens one itself. */
		b.swap_fd = (int)cli.num[BLK_CLI_SWAP_FD];
		if (fcntl(b.swap_fd, F_SETFD, FD_CLOEXEC) < 0) {
			cp_err("--swap-fd %d: %s", b.swap_fd, strerror(errno));
			return CP_EXIT_FAILURE;
		}
	}
	strncpy(b.serial, serial, sizeof(b.serial)); /* virtio-blk ids are not NUL-terminated at 20 */
	if (image_fd >= 0) {
		int fl = fcntl(image_fd, F_GETFL);

		if (fl < 0 || (!b.readonly && (fl & O_ACCMODE) != O_RDWR)) {
			cp_err("--image-fd %d: %s", image_fd, fl < 0 ? strerror(errno) : "not open for reading and writing");
			return CP_EXIT_FAILURE;
		}
		(void)fcntl(image_fd, F_SETFD, FD_CLOEXEC);
		b.fd = image_fd;
	}
	/* A FIFO would block the open (read-only) for ever: refuse what is not a regular file or a
	 * block device before opening, and check what was opened (non-blocking) again. */
	else if (stat(image, &st) == 0 && !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		cp_err("--image %s: not a regular file or block device", image);
		return CP_EXIT_FAILURE;
	}
	if (b.fd < 0) {
		b.fd = open(image, (b.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
		if (b.fd >= 0 && fcntl(b.fd, F_SETFL, 0) < 0) /* O_NONBLOCK only for the open */
			cp_warn("--image %s: clearing O_NONBLOCK: %s", image, strerror(errno));
	}
	if (b.fd < 0) {
		cp_err("--image %s: %s", image, strerror(errno));
		return CP_EXIT_FAILURE;
	}
	if (blk_image_facts_get(b.fd, &facts) < 0 || !(S_ISREG(facts.mode) || S_ISBLK(facts.mode))) {
		cp_err("--image %s: not a regular file or block device", image);
		return CP_EXIT_FAILURE;
	}
	/* A block device's size is its end offset (fstat says 0); a file's tail short of a sector
	 * is not served. */
	b.size = (facts.size / BLK_SECTOR) * BLK_SECTOR;
	/* Which zeroing operations the file system supports, asked before the jail removes the chance
	 * (the swap path asks again for each new file: fallocate beyond the end is allowed). */
	blk_dev_probe(&b);
	blk_dev_setup_ops(&b);
	{
		int keep[2] = { b.fd, b.swap_fd };

		return dev_helper_serve(&cli.common, &devkinds[DEVKIND_BLK], &b.ops, &b, keep, b.swap_fd >= 0 ? 2 : 1);
	}
}

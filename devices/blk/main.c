/* carapace-blk: a jailed vhost-user virtio-blk back-end on a raw image file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

static void usage(FILE *f)
{
	fprintf(f, "usage: carapace-blk (--socket-path PATH | --fd N) (--image FILE | --image-fd N) [--readonly]\n"
		   "                    [--num-queues N] [--serial ID] [--swap-fd N] [--no-jail]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		DEV_COMMON_LONGOPTS,
		{ "image", required_argument, NULL, 'i' },
		{ "image-fd", required_argument, NULL, 'I' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "num-queues", required_argument, NULL, 'q' },
		{ "serial", required_argument, NULL, 's' },
		{ "swap-fd", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dev_opts o = { .fd = -1 };
	/* One queue unless --num-queues says otherwise: the kind's row (devices/devkinds.c), what
	 * the runner starts it with and the launch policy judges. */
	struct blk_dev b = { .fd = -1, .num_queues = (uint16_t)devkinds[DEVKIND_BLK].queues,
			     .swap_fd = -1 };
	struct blk_image_facts facts;
	const char *image = NULL, *serial = "carapace-blk";
	int image_fd = -1;
	struct stat st;
	uint64_t v;
	int opt;

	cp_log_set_prog("carapace-blk");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			image = optarg;
			break;
		case 'I':
			/* The runner opened the image and had the launch policy judge that very file. */
			if (cp_parse_u64(optarg, &v) < 0 || v < 3 || v > INT32_MAX) {
				cp_err("--image-fd %s: expected an open file descriptor", optarg);
				return CP_EXIT_USAGE;
			}
			image_fd = (int)v;
			image = "(--image-fd)";
			break;
		case 'r':
			b.readonly = true;
			break;
		case 'q':
			if (cp_parse_u64(optarg, &v) < 0 || v < 1 || v > VU_QUEUE_MAX) {
				cp_err("--num-queues %s: expected 1 to %u", optarg, VU_QUEUE_MAX);
				return CP_EXIT_USAGE;
			}
			b.num_queues = (uint16_t)v;
			break;
		case 's':
			serial = optarg;
			break;
		case 'S':
			/* The VM process's end of the swap channel hands over new backing files
			 * (PATCH /drives/{id}); this helper never opens one itself. */
			if (cp_parse_u64(optarg, &v) < 0 || v < 3 || v > INT32_MAX) {
				cp_err("--swap-fd %s: expected an open file descriptor", optarg);
				return CP_EXIT_USAGE;
			}
			b.swap_fd = (int)v;
			(void)fcntl(b.swap_fd, F_SETFD, FD_CLOEXEC);
			break;
		case 'h':
			usage(stdout);
			return CP_EXIT_OK;
		default:
			if (opt >= DEV_OPT_BASE && dev_opts_handle(&o, opt, optarg) == 0)
				break;
			usage(stderr);
			return CP_EXIT_USAGE;
		}
	}
	if (optind != argc || !image || (image_fd >= 0 && strcmp(image, "(--image-fd)")) || dev_opts_check(&o, argv[0]) < 0) {
		usage(stderr);
		return CP_EXIT_USAGE;
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

		return dev_helper_serve(&o, &devkinds[DEVKIND_BLK], &b.ops, &b, keep, b.swap_fd >= 0 ? 2 : 1);
	}
}

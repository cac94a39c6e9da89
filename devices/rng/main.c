/* carapace-rng: a jailed vhost-user virtio-rng back-end fed by getrandom(). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/cli.h"
#include "common/log.h"
#include "devices/devkinds.h"
#include "devices/helper_serve.h"

#define RNG_CHAIN_MAX (64u << 10) /* bytes per request: a guest cannot make us spin on one */

static void rng_handle_chain(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written)
{
	uint64_t total = 0;

	for (unsigned i = c->n_out; i < (unsigned)c->n_out + c->n_in && total < RNG_CHAIN_MAX; i++) {
		size_t want = c->iov[i].iov_len, got = 0;

		if (want > RNG_CHAIN_MAX - total)
			want = (size_t)(RNG_CHAIN_MAX - total);
		while (got < want) {
			ssize_t r = getrandom((uint8_t *)c->iov[i].iov_base + got, want - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		total += got;
		if (got < want)
			break;
	}
	*written = (uint32_t)total;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: carapace-rng (--socket-path PATH | --fd N) [--no-jail]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		DEV_COMMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The queue count and config size are the kind's row (devices/devkinds.c): none of either
	 * is written here, so the runner, the policy and this helper cannot disagree. */
	const struct devkind *dk = &devkinds[DEVKIND_RNG];
	const struct vu_dev_ops rng_ops = {
		.name = dk->name,
		.features = 1ull << VIRTIO_F_INDIRECT_DESC,
		.protocol_features = VU_PF_IMPLEMENTED & ~(1ull << VU_PF_CONFIG), /* no config space */
		.num_queues = (uint16_t)dk->queues,
		.config_size = dk->config_size,
		.handle_chain = rng_handle_chain,
	};
	struct dev_opts o = { .fd = -1 };
	int opt;

	cp_log_set_prog("carapace-rng");
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return CP_EXIT_OK;
		}
		if (opt >= DEV_OPT_BASE && dev_opts_handle(&o, opt, optarg) == 0)
			continue;
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	if (optind != argc || dev_opts_check(&o, argv[0]) < 0) {
		usage(stderr);
		return CP_EXIT_USAGE;
	}
	return dev_helper_serve(&o, dk, &rng_ops, NULL, NULL, 0);
}

/* carapace-rng: a jailed vhost-user virtio-rng back-end fed by getrandom(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/cli.h"
#include "common/log.h"
#include "devices/devkinds.h"
#include "devices/devstats.h"
#include "devices/helper_serve.h"

#define RNG_CHAIN_MAX (64u << 10) /* bytes per request: a guest cannot make us spin on one */

/* Counters (devices/devstats.h): every request handled is an entropy event (as Firecracker
 * counts them), its bytes are what the guest got, and a failing getrandom is a host failure. */
static void rng_handle_chain(struct vu_backend *be, unsigned q, struct vu_chain *c, uint32_t *written)
{
	uint64_t total = 0;
	bool host_failed = false;

	for (unsigned i = c->n_out; i < (unsigned)c->n_out + c->n_in && total < RNG_CHAIN_MAX; i++) {
		size_t want = c->iov[i].iov_len, got = 0;

		if (want > RNG_CHAIN_MAX - total)
			want = (size_t)(RNG_CHAIN_MAX - total);
		while (got < want) {
			ssize_t r = getrandom((uint8_t *)c->iov[i].iov_base + got, want - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				host_failed = true;
				break;
			}
			got += (size_t)r;
		}
		total += got;
		if (got < want)
			break;
	}
	*written = (uint32_t)total;
	devstats_add(DS_RNG_EVENT_COUNT, 1);
	devstats_add(DS_RNG_BYTES, total);
	if (host_failed)
		devstats_add(DS_RNG_HOST_FAILS, 1);
}

int main(int argc, char **argv)
{
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
	struct dev_cli cli;
	int status;

	cp_log_set_prog("carapace-rng");
	/* Only the common options (devices/helper_cli.c). */
	if (!dev_cli_read(DEVKIND_RNG, argc, argv, &cli, &status))
		return status;
	return dev_helper_serve(&cli.common, dk, &rng_ops, NULL, NULL, 0);
}

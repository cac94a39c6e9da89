/* What every device helper's main() shares: common options, the listening/connected socket,
 * entering the jail before the first message, serving one front-end, test hooks. */
#ifndef CARAPACE_DEVICES_HELPER_SERVE_H
#define CARAPACE_DEVICES_HELPER_SERVE_H

#include <getopt.h>
#include <stdbool.h>

#include "devices/devkinds.h"
#include "devices/vhost/backend.h"

struct dev_opts {
	const char *socket_path; /* listen here and serve the first front-end */
	int fd;                  /* or serve this connected socket */
	bool no_jail;
	const char *test_hook;   /* only accepted in CARAPACE_TEST_HOOKS builds */
	bool verbose;            /* log every vhost-user request received */
};

#define DEV_OPT_BASE 1000
#ifdef CARAPACE_TEST_HOOKS
#define DEV_COMMON_LONGOPTS                                              \
	{ "socket-path", required_argument, NULL, DEV_OPT_BASE + 0 },    \
	{ "fd", required_argument, NULL, DEV_OPT_BASE + 1 },             \
	{ "no-jail", no_argument, NULL, DEV_OPT_BASE + 2 },              \
	{ "verbose", no_argument, NULL, DEV_OPT_BASE + 4 },              \
	{ "test-hook", required_argument, NULL, DEV_OPT_BASE + 3 }
#else
#define DEV_COMMON_LONGOPTS                                              \
	{ "socket-path", required_argument, NULL, DEV_OPT_BASE + 0 },    \
	{ "fd", required_argument, NULL, DEV_OPT_BASE + 1 },             \
	{ "no-jail", no_argument, NULL, DEV_OPT_BASE + 2 },              \
	{ "verbose", no_argument, NULL, DEV_OPT_BASE + 4 }
#endif

/* Handle a common option (opt >= DEV_OPT_BASE). 0 ok, -1 bad value (message printed). */
int dev_opts_handle(struct dev_opts *o, int opt, const char *arg);
/* After parsing: exactly one of --socket-path / --fd. */
int dev_opts_check(const struct dev_opts *o, const char *prog);

/* Listen (if --socket-path), jail (keeping keep_fds + the socket), accept, serve one front-end.
 * Returns the process exit status. */
int dev_helper_serve(const struct dev_opts *o, const struct devkind *desc,
		     const struct vu_dev_ops *ops, void *dev, const int *keep_fds, unsigned nkeep);

#endif

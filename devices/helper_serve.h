/* What every device helper's main() shares: common options, the listening/connected socket,
 * entering the jail before the first message, serving one front-end, test hooks. */
#ifndef CARAPACE_DEVICES_HELPER_SERVE_H
#define CARAPACE_DEVICES_HELPER_SERVE_H

#include <stdbool.h>

#include "devices/devkinds.h"
#include "devices/helper_cli.h"
#include "devices/vhost/backend.h"

/* For main(): read the command line with the helper's row of dev_cli_specs[] (helper_cli.h);
 * on --help print usage to stdout, on an error the reason and usage to stderr. true: go on with
 * *out (--verbose already in effect); false: main() returns *status (0 for --help,
 * CP_EXIT_USAGE otherwise). */
bool dev_cli_read(enum devkind_id kind, int argc, char *const argv[], struct dev_cli *out, int *status);

/* Listen (if --socket-path), jail (keeping keep_fds + the socket), accept, serve one front-end.
 * Returns the process exit status. */
int dev_helper_serve(const struct dev_opts *o, const struct devkind *desc,
		     const struct vu_dev_ops *ops, void *dev, const int *keep_fds, unsigned nkeep);

#endif

/* The device helpers' command line: one validating reader (dev_cli_parse) driven by a const
 * table of each helper's options (dev_cli_specs[], one row per device kind). Pure: no files,
 * no logging; what it refuses it says why in a buffer, and main() prints it. */
#ifndef CARAPACE_DEVICES_HELPER_CLI_H
#define CARAPACE_DEVICES_HELPER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/devkinds.h"

/* The options every helper takes (the common rows of the reader). */
struct dev_opts {
	const char *socket_path; /* listen here and serve the first front-end */
	int fd;                  /* or serve this connected socket (-1: none) */
	bool no_jail;
	const char *test_hook;   /* only accepted in CARAPACE_TEST_HOOKS builds */
	bool verbose;            /* log every vhost-user request received */
	int stats_fd;            /* the counter page (devices/devstats.h), -1: none */
};

enum dev_cli_type {
	DEV_CLI_FLAG, /* --name alone (a value is refused) */
	DEV_CLI_STR,  /* --name VALUE or --name=VALUE, min..max bytes */
	DEV_CLI_FD,   /* an inherited descriptor number: dev_cli_fd() */
	DEV_CLI_UINT, /* plain decimal min..max (no sign, no 0x, no leading zero) */
};

struct dev_cli_opt {
	const char *name;      /* without "--" */
	enum dev_cli_type type;
	unsigned group;        /* nonzero: the options of one group exclude each other */
	bool required;         /* this option, or one of its group, must be given */
	uint64_t min, max;     /* DEV_CLI_STR: length in bytes; DEV_CLI_UINT: value (inclusive) */
	const char *word;      /* the value's placeholder in usage and messages ("FILE", "N") */
	bool hidden;           /* left out of usage (test hooks, --help) */
};

/* Slots for a helper's own options (dev_cli.set/str/num are indexed by the helper's enum). */
#define DEV_CLI_MAX 8

struct dev_cli_spec {
	enum devkind_id kind;            /* whose options (prog name: devkinds[kind].binary) */
	const struct dev_cli_opt *opts;  /* the helper's own rows, indexed by its enum below */
	unsigned nopts;                  /* at most DEV_CLI_MAX */
};

/* What a command line said: the common options, and per row of the helper's table whether it
 * was given and its value (strings point into argv). */
struct dev_cli {
	struct dev_opts common;
	bool set[DEV_CLI_MAX];
	const char *str[DEV_CLI_MAX];
	uint64_t num[DEV_CLI_MAX];   /* DEV_CLI_UINT and DEV_CLI_FD values */
};

/* Each helper's rows, by the index its main() reads them with. */
enum { BLK_CLI_IMAGE, BLK_CLI_IMAGE_FD, BLK_CLI_READONLY, BLK_CLI_NUM_QUEUES, BLK_CLI_SERIAL, BLK_CLI_SWAP_FD,
       BLK_CLI__N };
enum { CONSOLE_CLI_OUTPUT, CONSOLE_CLI_PTY, CONSOLE_CLI_UNIX, CONSOLE_CLI__N };
enum { NET_CLI_TAP, NET_CLI_TAP_FD, NET_CLI_MAC, NET_CLI__N };
enum { VSOCK_CLI_CID, VSOCK_CLI_UDS_PATH, VSOCK_CLI__N };

/* One row per device kind (indexed by enum devkind_id). */
extern const struct dev_cli_spec dev_cli_specs[DEVKIND__COUNT];
/* The options every helper takes, then -h/--help; rows with hidden set are not in usage. */
extern const struct dev_cli_opt dev_cli_common[];
extern const size_t dev_cli_ncommon;

#define DEV_CLI_HELP 1 /* dev_cli_parse: --help was asked for */

/* Read argv (argv[0] is the program) against the common rows and spec's rows. 0: *out holds the
 * command line; DEV_CLI_HELP: -h/--help came before any error (the rest is not read); -EINVAL:
 * why says which argument and why (unknown or abbreviated option, a value given twice or
 * missing, a value out of range, options that exclude each other, a required one missing, a
 * stray argument). Nothing in *out is meaningful unless 0 is returned. */
int dev_cli_parse(const struct dev_cli_spec *spec, int argc, char *const argv[], struct dev_cli *out, char *why,
		  size_t why_len);

/* An inherited descriptor's number: decimal 3..INT32_MAX, digits only (no sign, space, 0x or
 * leading zero), no trailing junk. 0, 1 and 2 are the standard streams, never a device's.
 * 0 and *fd, or -EINVAL (not a number, junk, overflow) / -ERANGE (0..2, past INT32_MAX). */
int dev_cli_fd(const char *s, int *fd);

/* The usage line(s) made from the table: "usage: carapace-blk (--socket-path PATH | --fd N) ...". */
void dev_cli_usage(const struct dev_cli_spec *spec, FILE *f);

#endif

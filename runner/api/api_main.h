/* `carapace run --api-sock PATH` / `--config-file FILE`: the Firecracker-compatible front end. */
#ifndef CARAPACE_RUNNER_API_MAIN_H
#define CARAPACE_RUNNER_API_MAIN_H

#include <stdbool.h>

struct api_main_opts {
	const char *api_sock;    /* NULL: no API (--config-file alone boots at once) */
	const char *config_file; /* Firecracker's whole-VM JSON document */
	const char *id;          /* --id */
	const char *level;       /* --level */
	const char *log_path;    /* --log-path */
	bool no_seccomp;         /* --no-seccomp: accepted, logged as ignored */
	const char *test_hook;   /* test builds: "api-forbidden-syscall" proves the API thread's filter; a
	                          * "vm-..." hook goes to the VM process ("vm-bad-metrics-record") */
	const char *policy;      /* --policy: every launch is judged by it; the API cannot change it */
};

/* Serve the API until the VM ends; returns the exit status (that of the VM once started). */
int api_main(const struct api_main_opts *o);

/* Messages a VM process exchanges with the API's controller on its control socket
 * (carapace run --api-control-fd, internal): one byte each way. */
#define API_CTL_STARTED 'S'
#define API_CTL_PAUSE 'P'
#define API_CTL_RESUME 'R'
#define API_CTL_CTRL_ALT_DEL 'C'
#define API_CTL_OK 'k'
#define API_CTL_FAILED 'f'

#endif

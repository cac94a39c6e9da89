/* libFuzzer target: the --config JSON reader (runner/config.c run_opts_from_json) on any
 * bytes, applied over options already set, then validated. A refused document must leave the
 * options exactly as they were ("nothing is applied unless the whole document is valid"); an
 * accepted one gives NUL-terminated strings and at most RUN_MAX_DEVICES devices. A command-line-only key
 * (print-launch-request, api-sock, ...) refuses the whole document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/tpm/hostlog.h"
#include "runner/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_opts o;
	struct cp_err err = { 0 };
	int r;

	run_opts_init(&o);
	if (run_opts_set(&o, "kernel", "/k", &err) < 0 || run_opts_set(&o, "device", "rng", &err) < 0 ||
	    run_opts_set(&o, "memory", "64M", &err) < 0)
		abort();
	r = run_opts_from_json(&o, (const char *)data, size, &err);
	if (r > 0)
		abort();
	if (r < 0) {
		if (!err.msg[0] || !same_str(o.kernel, "/k") || o.ndevices != 1 || !same_str(o.devices[0], "rng") ||
		    o.memory != 64ull << 20 || o.vcpus != 1 || o.cmdline || o.seccomp || o.debug_exit || o.quiet ||
		    o.attest || o.tcti || o.state_dir || o.pcr != ATTEST_HOSTLOG_PCR_DEFAULT || o.allow_resettable_pcr)
			abort();
	} else {
		if (o.ndevices < 1 || o.ndevices > RUN_MAX_DEVICES)
			abort();
		for (unsigned i = 0; i < o.ndevices; i++)
			if (!o.devices[i] || !o.devices[i][0])
				abort();
		(void)run_opts_validate(&o, 1ull << 34, &err);
	}
	run_opts_free(&o);
	return 0;
}

/* libFuzzer target: the device helpers' command-line reader (devices/helper_cli.c). The first
 * byte picks the helper, the rest is argv split at NUL bytes. Whatever it is, a command line
 * the reader accepts must keep the table's promises: exactly one of --socket-path and --fd,
 * descriptors >= 3, values within their rows' bounds, no two options of a group. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/helper_cli.h"

#define FUZZ_ARGS_MAX 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[FUZZ_ARGS_MAX + 2], why[256];
	const struct dev_cli_spec *spec;
	struct dev_cli c;
	int argc = 0, r, fd;

	if (size < 1 || size > 4096)
		return 0;
	spec = &dev_cli_specs[data[0] % DEVKIND__COUNT];
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	argv[argc++] = "helper";
	for (size_t i = 0; i < size - 1 && argc < FUZZ_ARGS_MAX + 1;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	r = dev_cli_parse(spec, argc, argv, &c, why, sizeof(why));
	if (strlen(why) >= sizeof(why))
		abort();
	if (r == -EINVAL && !why[0])
		abort(); /* a refusal always says why */
	if (r == 0) {
		if ((c.common.socket_path != NULL) == (c.common.fd >= 0) || (c.common.fd >= 0 && c.common.fd < 3))
			abort();
		for (unsigned i = 0; i < spec->nopts; i++) {
			const struct dev_cli_opt *o = &spec->opts[i];

			if (!c.set[i]) {
				if (o->required && !o->group)
					abort();
				continue;
			}
			for (unsigned j = 0; j < spec->nopts; j++)
				if (j != i && o->group && spec->opts[j].group == o->group && c.set[j])
					abort();
			if (o->type == DEV_CLI_STR && (!c.str[i] || strlen(c.str[i]) < o->min || strlen(c.str[i]) > o->max))
				abort();
			if (o->type == DEV_CLI_UINT && (c.num[i] < o->min || c.num[i] > o->max))
				abort();
			if (o->type == DEV_CLI_FD && (c.num[i] < 3 || c.num[i] > INT32_MAX))
				abort();
		}
	} else if (r != DEV_CLI_HELP && r != -EINVAL) {
		abort();
	}
	/* The descriptor reader alone, on the whole input as one string. */
	if (dev_cli_fd(buf, &fd) == 0 && (fd < 3 || strspn(buf, "0123456789") != strlen(buf)))
		abort();
	free(buf);
	return 0;
}

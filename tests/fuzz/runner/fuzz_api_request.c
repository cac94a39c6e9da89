/* libFuzzer target: the management API's request reader (runner/api/api_core.c). An input is a
 * sequence of requests "M PATH\nBODY\0": M picks the method, the shell's outcome for an action
 * alternates between success and failure, so every state (configuring, running, paused, failed)
 * is reached. The last input chunk is also tried as a --config-file document. Nothing may
 * crash, leak or leave a fault reply without its fault_message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/api/api_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "PUT", "PATCH", "DELETE" };
	struct api_state s;
	struct cp_err err = { 0 };
	size_t off = 0;
	unsigned n = 0;

	api_state_init(&s, "fuzz", "0");
	while (off < size && n++ < 64) {
		const uint8_t *end = memchr(data + off, 0, size - off);
		size_t len = end ? (size_t)(end - (data + off)) : size - off;
		char *chunk = malloc(len + 1), *nl, *path;
		struct api_txn t;

		memcpy(chunk, data + off, len);
		chunk[len] = '\0';
		off += len + 1;
		nl = memchr(chunk, '\n', len);
		path = len ? chunk + 1 : chunk;
		if (nl)
			*nl = '\0';
		api_request(&s, methods[(len ? (uint8_t)chunk[0] : 0) % 4], path, nl ? nl + 1 : "",
			    nl ? len - (size_t)(nl + 1 - chunk) : 0, &t);
		if (t.status == 400 && (!t.body || !strstr(t.body, "\"fault_message\"")))
			abort();
		if (t.status != 400 && t.action != API_ACT_NONE)
			api_txn_finish(&s, &t, (n & 1) ? NULL : "the shell failed");
		api_txn_free(&t);
		if (!end) {
			(void)api_config_file(&s, chunk, strlen(chunk), &err);
			free(chunk);
			break;
		}
		free(chunk);
	}
	{
		char **opts = NULL;
		const struct api_startup_times st = { 1, 1 };
		struct api_metrics_mark prev = { 0 }, next;
		char *m = api_metrics_line(&s, NULL, &st, &prev, &next, 1);
		free(m);
		if (api_config_to_options(&s.cfg, &opts, &err) == 0)
			api_options_free(opts);
	}
	api_state_free(&s);
	return 0;
}

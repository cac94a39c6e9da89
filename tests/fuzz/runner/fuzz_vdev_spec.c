/* libFuzzer target: --device specifications (runner/vdev.c vdev_spec_parse) from any text.
 * An accepted spec names a known kind, has the options that kind requires, and every string
 * field is NUL-terminated inside its array; a refused one says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/vdev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vdev_spec s;
	struct cp_err err = { 0 };
	char *text = malloc(size + 1);
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = vdev_spec_parse(text, &s, &err);
	if (r > 0 || (r < 0 && !err.msg[0]))
		abort();
	if (r == 0) {
		if (!devkind_get(s.kind) || !devkind_get(s.kind)->runner_starts)
			abort();
		if (strnlen(s.path, sizeof(s.path)) == sizeof(s.path) || strnlen(s.tap, sizeof(s.tap)) == sizeof(s.tap) ||
		    strnlen(s.mac, sizeof(s.mac)) == sizeof(s.mac) ||
		    strnlen(s.test_hook, sizeof(s.test_hook)) == sizeof(s.test_hook) ||
		    strnlen(s.uds, sizeof(s.uds)) == sizeof(s.uds))
			abort();
		if (s.kind == DEVKIND_BLK && !s.path[0])
			abort();
		if (s.kind == DEVKIND_NET && !s.tap[0])
			abort();
		if (s.kind != DEVKIND_BLK && s.readonly)
			abort();
		/* a vsock device has a guest CID outside 0-2 and U32_MAX, and a socket path */
		if (s.kind == DEVKIND_VSOCK) {
			uint64_t cid;
			if (strnlen(s.cid, sizeof(s.cid)) == sizeof(s.cid) || cp_parse_u64(s.cid, &cid) < 0 || cid < 3 ||
			    cid >= UINT32_MAX || s.uds[0] != '/')
				abort();
		}
		if (s.kind != DEVKIND_VSOCK && (s.cid[0] || s.uds[0]))
			abort();
	}
	free(text);
	return 0;
}

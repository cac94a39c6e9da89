/* libFuzzer target: the label monitor's reader and state machine, fed a stream of datagrams
 * (each prefixed by one length byte) as a compromised VM process might send them. Whatever
 * arrives, a slot is labelled at most once and only before the seal, labels are restored at
 * most once, and after a refusal (the peer is cut off) nothing more is done. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label/label_monitor.h"

#define NSLOTS 4

struct seen {
	unsigned apply[NSLOTS], restore;
	int sealed;
};

static int f_apply(void *ctx, unsigned slot, struct cp_err *err)
{
	struct seen *s = ctx;

	if (slot >= NSLOTS || s->sealed || s->restore || ++s->apply[slot] > 1)
		abort();
	return slot == 3 ? cp_err_set(err, 13, "slot 3 fails") : 0;
}

static int f_restore(void *ctx, struct cp_err *err)
{
	struct seen *s = ctx;

	if (++s->restore > 1)
		abort();
	return 0;
}

static const struct lmon_actions actions = { f_apply, f_restore };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0 };
	struct lmon_core c;

	lmon_core_init(&c, NSLOTS, &actions, &s);
	while (size) {
		size_t len = data[0];
		struct cp_err err = { 0 };
		struct lmon_req r;
		int status;

		data++;
		size--;
		if (len > size)
			len = size;
		if (lmon_req_read(data, len, NSLOTS, &r, &err) < 0 || lmon_core_dispatch(&c, &r, &status, &err) < 0) {
			if (!err.msg[0])
				abort(); /* every refusal names its reason */
			lmon_core_cut(&c);
			break;
		}
		if (r.type == LMON_REQ_SEAL)
			s.sealed = 1;
		if (c.state == LMON_ST_DONE)
			break;
		data += len;
		size -= len;
	}
	if (c.state == LMON_ST_CUT && s.restore != 1)
		abort();
	return 0;
}

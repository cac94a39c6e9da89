/* The label monitor's request reader and state machine (pure: no fds, no libselinux; the
 * process shell is label_monitor_proc.c). One const table says which request is allowed in
 * which state and whether only once; an empty slot or a request out of place is refused. */
#include "label/label_monitor.h"

#include <errno.h>
#include <string.h>

#define LMON_ONCE 1u

struct lmon_entry {
	const char *name;
	uint32_t states; /* bit per enum lmon_state in which the request is allowed */
	uint32_t flags;  /* LMON_ONCE */
	enum lmon_state next;
};

#define ST(s) (1u << (s))

static const struct lmon_entry lmon_table[LMON_REQ__COUNT] = {
	[LMON_REQ_APPLY] = { "apply", ST(LMON_ST_SETUP), 0 /* once per slot: c->applied */, LMON_ST_SETUP },
	[LMON_REQ_SEAL] = { "seal", ST(LMON_ST_SETUP), LMON_ONCE, LMON_ST_SEALED },
	[LMON_REQ_RESTORE] = { "restore", ST(LMON_ST_SETUP) | ST(LMON_ST_SEALED), LMON_ONCE, LMON_ST_DONE },
};

static const char *const lmon_state_names[LMON_ST__COUNT] = {
	[LMON_ST_SETUP] = "setup",
	[LMON_ST_SEALED] = "sealed",
	[LMON_ST_DONE] = "done",
	[LMON_ST_CUT] = "cut off",
};

const char *lmon_state_name(enum lmon_state s)
{
	return (unsigned)s < LMON_ST__COUNT && lmon_state_names[s] ? lmon_state_names[s] : "?";
}

int lmon_req_read(const void *buf, size_t len, unsigned nslots, struct lmon_req *out, struct cp_err *err)
{
	struct lmon_req r;

	memset(out, 0, sizeof(*out));
	if (len != sizeof(r))
		return cp_err_set(err, EPROTO, "label monitor: a request of %zu bytes (exactly %zu expected)", len,
				  sizeof(r));
	memcpy(&r, buf, sizeof(r));
	if (r.type >= LMON_REQ__COUNT || !lmon_table[r.type].name)
		return cp_err_set(err, EPROTO, "label monitor: request type %u is not in the table", r.type);
	if (r.type == LMON_REQ_APPLY && (r.slot >= nslots || r.slot >= LMON_MAX_SLOTS))
		return cp_err_set(err, EPROTO, "label monitor: apply names slot %u of %u", r.slot, nslots);
	if (r.type != LMON_REQ_APPLY && r.slot)
		return cp_err_set(err, EPROTO, "label monitor: %s carries slot %u (must be 0)", lmon_table[r.type].name,
				  r.slot);
	*out = r;
	return 0;
}

void lmon_core_init(struct lmon_core *c, unsigned nslots, const struct lmon_actions *act, void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->state = LMON_ST_SETUP;
	c->nslots = nslots < LMON_MAX_SLOTS ? nslots : LMON_MAX_SLOTS;
	c->act = act;
	c->ctx = ctx;
}

static int lmon_restore_once(struct lmon_core *c, struct cp_err *err)
{
	if (c->restored)
		return 0;
	c->restored = true;
	return c->act->restore(c->ctx, err);
}

int lmon_core_dispatch(struct lmon_core *c, const struct lmon_req *r, int *status, struct cp_err *err)
{
	const struct lmon_entry *e;

	*status = 0;
	if (r->type >= LMON_REQ__COUNT || !lmon_table[r->type].name)
		return cp_err_set(err, EPROTO, "label monitor: request type %u is not in the table", r->type);
	e = &lmon_table[r->type];
	if (!(e->states & ST(c->state)))
		return cp_err_set(err, EPROTO, "label monitor: %s is not allowed in state %s", e->name,
				  lmon_state_name(c->state));
	if ((e->flags & LMON_ONCE) && (c->once_used & (1u << r->type)))
		return cp_err_set(err, EPROTO, "label monitor: %s was already asked once", e->name);
	switch (r->type) {
	case LMON_REQ_APPLY:
		if (r->slot >= c->nslots)
			return cp_err_set(err, EPROTO, "label monitor: apply names slot %u of %u", r->slot, c->nslots);
		if (c->applied & (1ull << r->slot))
			return cp_err_set(err, EPROTO, "label monitor: slot %u was already labelled", r->slot);
		c->applied |= 1ull << r->slot;
		*status = c->act->apply(c->ctx, r->slot, err);
		break;
	case LMON_REQ_SEAL:
		break;
	case LMON_REQ_RESTORE:
		*status = lmon_restore_once(c, err);
		break;
	default:
		return cp_err_set(err, EPROTO, "label monitor: request type %u has no handler", r->type);
	}
	c->once_used |= (e->flags & LMON_ONCE) ? 1u << r->type : 0;
	c->state = e->next;
	return 0;
}

void lmon_core_cut(struct lmon_core *c)
{
	(void)lmon_restore_once(c, NULL);
	c->state = LMON_ST_CUT;
}

/* What to do with a labelling result, by SELinux mode: disabled = say so once and go on;
 * permissive = report and go on; enforcing = any failure stops the launch. All OS access
 * goes through struct label_ops, so this logic is tested with a fake. */
#include "label/label.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void label_session_say(struct label_session *s, const char *msg)
{
	if (s->ops->notice)
		s->ops->notice(s->ctx, msg);
}

/* The single place that turns a failed step into "stop" or "report and go on". */
static int label_session_failed(struct label_session *s, int ret, struct cp_err *err,
				const char *what)
{
	char line[CP_ERR_MSG_MAX + 64];

	if (s->mode == LABEL_MODE_ENFORCING)
		return cp_err_set(err, -ret, "label: %s failed: %s (SELinux is enforcing: the launch stops)",
				  what, strerror(-ret));
	snprintf(line, sizeof(line), "label: %s failed: %s (SELinux is permissive: going on)", what,
		 strerror(-ret));
	label_session_say(s, line);
	return 0;
}

int label_session_open(struct label_session *s, const struct label_ops *ops, void *ctx,
		       struct cp_err *err)
{
	int en;

	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	en = ops->enabled(ctx);
	if (en < 0)
		return cp_err_set(err, -en, "label: cannot tell whether SELinux is enabled");
	if (!en) {
		s->mode = LABEL_MODE_DISABLED;
		s->told_disabled = true;
		label_session_say(s, "SELinux is disabled on this host: helpers run without MAC domains and VM files are not labelled");
		return 0;
	}
	en = ops->enforcing(ctx);
	if (en < 0)
		/* Unknown mode: assume the strict one, never the lax one. */
		en = 1;
	s->mode = en ? LABEL_MODE_ENFORCING : LABEL_MODE_PERMISSIVE;
	return 0;
}

/* Compute helper h's context and hand it to the exec or the socket-creation setter. */
static int set_helper_context(struct label_session *s, enum label_helper h, const struct label_mcs_pair *p,
			      bool exec, struct cp_err *err)
{
	char con[LABEL_CONTEXT_MAX], what[LABEL_CONTEXT_MAX + 32];
	int ret;

	if (s->mode == LABEL_MODE_DISABLED)
		return 0;
	/* A context we cannot even compute is a bug in the caller, refused in every mode. */
	if ((ret = label_helper_context(h, p, con, sizeof(con), err)))
		return ret;
	if ((ret = (exec ? s->ops->set_exec : s->ops->set_sockcreate)(s->ctx, con))) {
		snprintf(what, sizeof(what), "%s %s", exec ? "setexeccon" : "setsockcreatecon", con);
		return label_session_failed(s, ret, err, what);
	}
	return 0;
}

int label_session_exec_helper(struct label_session *s, enum label_helper h,
			      const struct label_mcs_pair *p, struct cp_err *err)
{
	return set_helper_context(s, h, p, true, err);
}

int label_session_socket_for_helper(struct label_session *s, enum label_helper h,
				    const struct label_mcs_pair *p, struct cp_err *err)
{
	return set_helper_context(s, h, p, false, err);
}

int label_session_socket_reset(struct label_session *s, struct cp_err *err)
{
	int ret;

	if (s->mode == LABEL_MODE_DISABLED)
		return 0;
	if ((ret = s->ops->set_sockcreate(s->ctx, NULL)))
		return label_session_failed(s, ret, err, "resetting the socket creation context");
	return 0;
}

int label_session_file_apply(struct label_session *s, const char *path, enum label_object o,
			     const struct label_mcs_pair *p, struct label_saved *saved,
			     struct cp_err *err)
{
	char con[LABEL_CONTEXT_MAX], what[LABEL_CONTEXT_MAX + 64];
	char *old = NULL;
	int ret;

	memset(saved, 0, sizeof(*saved));
	if (s->mode == LABEL_MODE_DISABLED)
		return 0;
	if ((ret = label_object_context(o, p, con, sizeof(con), err)))
		return ret;
	if ((ret = s->ops->get_file(s->ctx, path, &old))) {
		snprintf(what, sizeof(what), "reading the label of %.40s", path);
		return label_session_failed(s, ret, err, what);
	}
	if ((ret = s->ops->set_file(s->ctx, path, con))) {
		free(old);
		snprintf(what, sizeof(what), "labelling %.40s %s", path, con);
		return label_session_failed(s, ret, err, what);
	}
	saved->old = old;
	if (!(saved->path = strdup(path))) {
		/* Labelled, but we could not remember where: undo now rather than leak a label. */
		s->ops->set_file(s->ctx, path, old);
		free(old);
		saved->old = NULL;
		return cp_err_set(err, ENOMEM, "label: out of memory");
	}
	return 0;
}

int label_session_file_restore(struct label_session *s, struct label_saved *saved,
			       struct cp_err *err)
{
	char what[LABEL_CONTEXT_MAX + 64];
	int ret = 0;

	if (saved->path && saved->old && s->mode != LABEL_MODE_DISABLED) {
		ret = s->ops->set_file(s->ctx, saved->path, saved->old);
		if (ret) {
			snprintf(what, sizeof(what), "restoring %.40s to %.60s", saved->path, saved->old);
			ret = label_session_failed(s, ret, err, what);
		}
	}
	free(saved->path);
	free(saved->old);
	memset(saved, 0, sizeof(*saved));
	return ret;
}

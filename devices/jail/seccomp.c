/* Loading the helpers' allowlists through the one seccomp engine, and their docs. */
#include "devices/jail/seccomp.h"

#include "common/cleanup.h"
#include "devices/devkinds.h"

int jail_seccomp_load(const struct sce_list *policy, struct cp_err *err)
{
	const struct sce_list *set[] = { &sce_list_base, &jail_policy_base, policy };
	/* Worker threads started before the filter get it too, atomically. */
	const struct sce_load_opts o = { .dflt = SCE_DEFAULT_KILL, .tsync = true };

	return sce_load(set, ARRAY_SIZE(set), &o, err);
}

int jail_seccomp_load_reaper(pid_t child, struct cp_err *err)
{
	const struct sce_list *policy = &jail_policy_reaper;
	const struct sce_targets t = { .pids = &child, .npids = 1, .children = &child, .nchildren = 1 };
	const struct sce_load_opts o = { .dflt = SCE_DEFAULT_KILL, .tsync = true, .targets = &t };

	return sce_load(&policy, 1, &o, err);
}

static void doc_list(FILE *out, const struct sce_list *l, const char *note)
{
	fprintf(out, "#### %s%s\n\n", l->name, note);
	sce_print_list(out, l);
	fprintf(out, "\n");
}

void jail_seccomp_doc(FILE *out)
{
	doc_list(out, &sce_list_base, " (every carapace filter: the VM process's threads and every helper)");
	doc_list(out, &jail_policy_base, " (every helper)");
	/* Every device kind's own list, in the order of devices/devkinds.c. */
	for (unsigned k = 0; k < DEVKIND__COUNT; k++)
		doc_list(out, devkinds[k].seccomp, "");
	doc_list(out, &jail_policy_reaper, " (the outer process; neither base included)");
}

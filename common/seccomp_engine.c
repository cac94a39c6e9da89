/* The seccomp engine (see seccomp_engine.h): rule tables -> libseccomp filter, and -> docs. */
#include "common/seccomp_engine.h"

#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

static const struct sce_rule base_rules[] = {
	{ "mmap", SCE_F_PROT_NO_EXEC, "malloc(), and mapping memory the thread was given (never executable)" },
	{ "mprotect", SCE_F_PROT_NO_EXEC, "malloc() arena growth (never executable)" },
	{ "munmap", SCE_F_ANY, "free(); unmapping what was mapped" },
	{ "brk", SCE_F_ANY, "malloc() in the main arena" },
	{ "restart_syscall", SCE_F_ANY,
	  "resume an interrupted wait with a timeout (poll, futex, nanosleep) after SIGSTOP/SIGCONT (Ctrl-Z, cgroup freezer, debugger)" },
};

const struct sce_list sce_list_base = { "base", base_rules, ARRAY_SIZE(base_rules) };

/* glibc's allocator makes two calls on its own that no allowlist holds, both only for a thread's
 * own arena (a heap beside the main one): the first trim of such a heap in a process opens
 * /proc/sys/vm/overcommit_memory (check_may_shrink_heap), and creating arenas past the eighth
 * asks the kernel for the CPU count. A filtered thread that frees enough, or simply ends (its cache is freed at exit),
 * would die of SIGSYS: the VM process with 16 devices did, after its guest had passed. One arena
 * per process avoids both; the main arena grows and trims with brk and mmap (the base list).
 * Every process that loads one of the engine's filters links this file, so this runs before its
 * main() starts a thread. tests/unit/runner/test_sandbox_exit.c fails without it. */
__attribute__((constructor)) static void sce_one_malloc_arena(void)
{
	(void)mallopt(M_ARENA_MAX, 1);
}

/* A comparison of the low 32 bits: what the kernel reads of an int parameter. */
static struct scmp_arg_cmp cmp32(unsigned arg, uint64_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu,
				      .datum_b = v & 0xffffffffu };
}

/* The values a comparison may take, filled from the rule or the targets. */
static unsigned cmp_values(const struct sce_cmp *c, const struct sce_targets *t, pid_t self, uint64_t *out,
			   unsigned max)
{
	unsigned n = 0;

	switch (c->op) {
	case SCE_EQ:
	case SCE_EQ32:
		for (unsigned i = 0; i < c->nv && i < SCE_MAX_VALUES && n < max; i++)
			out[n++] = c->v[i];
		break;
	case SCE_CLEAR:
		out[n++] = c->v[0];
		break;
	case SCE_SELF_TGID:
		out[n++] = (uint64_t)(uint32_t)self;
		break;
	case SCE_TARGET_PIDS:
		for (unsigned i = 0; t && i < t->npids && n < max; i++)
			out[n++] = (uint64_t)(uint32_t)t->pids[i];
		break;
	case SCE_TARGET_FDS:
		for (unsigned i = 0; t && i < t->nfds && n < max; i++)
			out[n++] = (uint64_t)(uint32_t)t->fds[i];
		break;
	case SCE_TARGET_CHILDREN:
		for (unsigned i = 0; t && i < t->nchildren && n < max; i++)
			out[n++] = (uint64_t)(uint32_t)t->children[i];
		break;
	case SCE_TARGET_MONITOR_FDS:
		for (unsigned i = 0; t && i < t->nmonitor_fds && n < max; i++)
			out[n++] = (uint64_t)(uint32_t)t->monitor_fds[i];
		break;
	default:
		break;
	}
	return n;
}

static struct scmp_arg_cmp to_scmp(const struct sce_cmp *c, uint64_t v)
{
	if (c->op == SCE_EQ)
		return (struct scmp_arg_cmp){ .arg = c->arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
	if (c->op == SCE_CLEAR)
		return (struct scmp_arg_cmp){ .arg = c->arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = v, .datum_b = 0 };
	return cmp32(c->arg, v);
}

#define SCE_MAX_SET 64

/* One table line: the cross product of its comparisons' values, each combination a rule
 * (libseccomp ORs the rules of one call). A comparison with no value (an empty target set)
 * means the line allows nothing. */
static int rule_add(scmp_filter_ctx ctx, const struct sce_list *l, const struct sce_rule *r,
		    const struct sce_targets *t, pid_t self, struct cp_err *err)
{
	uint64_t vals[SCE_MAX_CMP][SCE_MAX_SET];
	unsigned nvals[SCE_MAX_CMP], ncmp = 0, idx[SCE_MAX_CMP] = { 0 };
	int nr = seccomp_syscall_resolve_name(r->syscall), rc;

	if (nr == __NR_SCMP_ERROR)
		return cp_err_set(err, EINVAL, "seccomp (%s): unknown system call \"%s\"", l->name, r->syscall);
	for (; ncmp < SCE_MAX_CMP && r->cmp[ncmp].op != SCE_NONE; ncmp++) {
		const struct sce_cmp *c = &r->cmp[ncmp];
		if (c->arg > 5 || c->op > SCE_TARGET_MONITOR_FDS ||
		    ((c->op == SCE_EQ || c->op == SCE_EQ32) && (c->nv == 0 || c->nv > SCE_MAX_VALUES)))
			return cp_err_set(err, EINVAL, "seccomp (%s): %s has a malformed argument filter", l->name,
					  r->syscall);
		nvals[ncmp] = cmp_values(c, t, self, vals[ncmp], SCE_MAX_SET);
		if (nvals[ncmp] == 0)
			return 0; /* an empty set: nothing to allow */
	}
	if (ncmp == 0) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0)
			return cp_err_set(err, -rc, "seccomp (%s): adding %s: %s", l->name, r->syscall, strerror(-rc));
		return 0;
	}
	for (;;) {
		struct scmp_arg_cmp a[SCE_MAX_CMP];
		unsigned k;

		for (k = 0; k < ncmp; k++)
			a[k] = to_scmp(&r->cmp[k], vals[k][idx[k]]);
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, ncmp, a);
		if (rc < 0)
			return cp_err_set(err, -rc, "seccomp (%s): adding %s: %s", l->name, r->syscall, strerror(-rc));
		for (k = 0; k < ncmp; k++) {
			if (++idx[k] < nvals[k])
				break;
			idx[k] = 0;
		}
		if (k == ncmp)
			return 0;
	}
}

int sce_load(const struct sce_list *const *lists, unsigned n, const struct sce_load_opts *o, struct cp_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(o->dflt == SCE_DEFAULT_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	pid_t self = o->targets && o->targets->tgid > 0 ? o->targets->tgid : getpid();
	int rc = 0;

	if (!ctx)
		return cp_err_set(err, ENOMEM, "seccomp_init failed");
	if (o->tsync && (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		seccomp_release(ctx);
		return cp_err_set(err, -rc, "seccomp: TSYNC: %s", strerror(-rc));
	}
	for (unsigned p = 0; p < n && rc == 0; p++)
		for (size_t i = 0; i < lists[p]->n && rc == 0; i++)
			rc = rule_add(ctx, lists[p], &lists[p]->rules[i], o->targets, self, err);
	/* Hints only: the hot path's calls are tested first. */
	for (unsigned i = 0; rc == 0 && o->hot && o->hot[i]; i++) {
		int nr = seccomp_syscall_resolve_name(o->hot[i]);
		if (nr != __NR_SCMP_ERROR)
			(void)seccomp_syscall_priority(ctx, nr, (uint8_t)(255 - i));
	}
	if (rc == 0 && (rc = seccomp_load(ctx)) < 0)
		rc = cp_err_set(err, -rc, "seccomp_load (%s): %s", n ? lists[n - 1]->name : "", strerror(-rc));
	seccomp_release(ctx);
	return rc;
}

void sce_print_list(FILE *out, const struct sce_list *l)
{
	fprintf(out, "| system call | argument filter | why |\n|---|---|---|\n");
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "| `%s` | %s | %s |\n", l->rules[i].syscall,
			l->rules[i].filter && l->rules[i].filter[0] ? l->rules[i].filter : "—", l->rules[i].why);
}

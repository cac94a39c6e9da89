/* Turning jail_policy tables into a libseccomp filter (default KILL_PROCESS), and into docs. */
#include "devices/jail/seccomp.h"

#include "devices/devkinds.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

const char *jail_arg_describe(enum jail_arg a)
{
	static const char *const text[JAIL_ARG_MAX] = {
		[JAIL_ARG_ANY] = "",
		[JAIL_ARG_PROT_NO_EXEC] = "prot without PROT_EXEC",
		[JAIL_ARG_IOCTL_FIONBIO] = "request FIONBIO only",
		[JAIL_ARG_MADV_DONTNEED] = "advice MADV_DONTNEED only",
		[JAIL_ARG_MEMFD_CLOEXEC] = "flags MFD_CLOEXEC only",
		[JAIL_ARG_FALLOC_BLK] = "mode PUNCH_HOLE\\|KEEP_SIZE, ZERO_RANGE or ZERO_RANGE\\|KEEP_SIZE",
		[JAIL_ARG_GETRANDOM_FLAGS] = "flags 0 only",
		[JAIL_ARG_ACCEPT4_CLOEXEC] = "flags SOCK_CLOEXEC only",
		[JAIL_ARG_FSTAT_FD] = "flags AT_EMPTY_PATH only (an fd, never a path)",
		[JAIL_ARG_SOCKET_UNIX_STREAM] = "AF_UNIX non-blocking close-on-exec stream sockets only",
	};

	return (unsigned)a < JAIL_ARG_MAX && text[a] ? text[a] : "?";
}

/* Explicit comparator (libseccomp's SCMP_An macros leave datum_b implicit). */
static struct scmp_arg_cmp jail_cmp(unsigned arg, enum scmp_compare op, uint64_t a, uint64_t b)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = op, .datum_a = a, .datum_b = b };
}

static int jail_rule_add(scmp_filter_ctx ctx, const struct jail_rule *r, struct cp_err *err)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);
	int ret = 0;

	if (nr == __NR_SCMP_ERROR)
		return cp_err_set(err, EINVAL, "seccomp: unknown system call \"%s\"", r->syscall);
	switch (r->arg) {
	case JAIL_ARG_ANY:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		break;
	case JAIL_ARG_PROT_NO_EXEC:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case JAIL_ARG_IOCTL_FIONBIO:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				       jail_cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONBIO));
		break;
	case JAIL_ARG_MADV_DONTNEED:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(2, SCMP_CMP_EQ, MADV_DONTNEED, 0));
		break;
	case JAIL_ARG_MEMFD_CLOEXEC:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(1, SCMP_CMP_EQ, MFD_CLOEXEC, 0));
		break;
	case JAIL_ARG_FALLOC_BLK:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				       jail_cmp(1, SCMP_CMP_EQ, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(1, SCMP_CMP_EQ, FALLOC_FL_ZERO_RANGE, 0));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					       jail_cmp(1, SCMP_CMP_EQ, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0));
		break;
	case JAIL_ARG_GETRANDOM_FLAGS:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(2, SCMP_CMP_EQ, 0, 0));
		break;
	case JAIL_ARG_ACCEPT4_CLOEXEC:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(3, SCMP_CMP_EQ, SOCK_CLOEXEC, 0));
		break;
	case JAIL_ARG_FSTAT_FD:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, jail_cmp(3, SCMP_CMP_EQ, AT_EMPTY_PATH, 0));
		break;
	case JAIL_ARG_SOCKET_UNIX_STREAM:
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 3, jail_cmp(0, SCMP_CMP_EQ, AF_UNIX, 0),
				       jail_cmp(1, SCMP_CMP_EQ, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
				       jail_cmp(2, SCMP_CMP_EQ, 0, 0));
		break;
	default:
		return cp_err_set(err, EINVAL, "seccomp: %s has an unknown argument filter %d", r->syscall, r->arg);
	}
	if (ret < 0)
		return cp_err_set(err, -ret, "seccomp: adding %s: %s", r->syscall, strerror(-ret));
	return 0;
}

static int jail_seccomp_load_set(const struct jail_policy *const *set, unsigned n, struct cp_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret = 0;

	if (!ctx)
		return cp_err_set(err, ENOMEM, "seccomp_init failed");
	/* Worker threads started before the filter get it too, atomically. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret < 0) {
		seccomp_release(ctx);
		return cp_err_set(err, -ret, "seccomp: TSYNC: %s", strerror(-ret));
	}
	for (unsigned p = 0; p < n && ret == 0; p++)
		for (size_t i = 0; i < set[p]->n && ret == 0; i++)
			ret = jail_rule_add(ctx, &set[p]->rules[i], err);
	if (ret == 0) {
		ret = seccomp_load(ctx);
		if (ret < 0)
			ret = cp_err_set(err, -ret, "seccomp_load: %s", strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

int jail_seccomp_load(const struct jail_policy *policy, struct cp_err *err)
{
	const struct jail_policy *set[2] = { &jail_policy_base, policy };

	return jail_seccomp_load_set(set, 2, err);
}

int jail_seccomp_load_only(const struct jail_policy *policy, struct cp_err *err)
{
	return jail_seccomp_load_set(&policy, 1, err);
}

void jail_seccomp_doc(FILE *out)
{
	/* The base, every device kind's allowlist in the order of devices/devkinds.c, the reaper. */
	const struct jail_policy *all[2 + DEVKIND__COUNT];
	size_t n = 0;

	all[n++] = &jail_policy_base;
	for (unsigned k = 0; k < DEVKIND__COUNT; k++)
		all[n++] = devkinds[k].seccomp;
	all[n++] = &jail_policy_reaper;

	for (size_t p = 0; p < n; p++) {
		fprintf(out, "#### %s%s\n\n", all[p]->name,
			p == 0 ? " (every helper)" : all[p] == &jail_policy_reaper ? " (the outer process; base not included)" : "");
		fprintf(out, "| system call | argument filter | why |\n|---|---|---|\n");
		for (size_t i = 0; i < all[p]->n; i++)
			fprintf(out, "| `%s` | %s | %s |\n", all[p]->rules[i].syscall,
				jail_arg_describe(all[p]->rules[i].arg), all[p]->rules[i].why);
		fprintf(out, "\n");
	}
}

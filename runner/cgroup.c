/* cgroup v2 for the VM process: find the unified hierarchy and our place in it, make a leaf
 * beside us, check the controllers, write the limits. Everything that fails is explained. */
#include "runner/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "devices/jail/jail.h"

/* dir/file = val */
static int write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return cp_file_write_str(path, val);
}

static int read_line(const char *path, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}


/* The parent of our leaves: the cgroup v2 mount and our place in it. */
static int cgroup_parent(char *out, size_t len, char *why, size_t why_len)
{
	char mnt[PATH_MAX], self[PATH_MAX];
	int r;

	if ((r = jail_cgroup_root(mnt, sizeof(mnt))) < 0 || (r = jail_cgroup_self(self, sizeof(self))) < 0) {
		snprintf(why, why_len, "no cgroup v2 (unified) hierarchy is mounted, or this process's place in it is "
			 "unknown (%s)", strerror(-r));
		return r;
	}
	r = snprintf(out, len, "%s%s", mnt, strcmp(self, "/") ? self : "");
	if (r < 0 || (size_t)r >= len) {
		snprintf(why, why_len, "the cgroup path under %s is too long", mnt);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The controllers a leaf would get: cpu, memory and pids, or why not (no cgroup v1/v2 hybrid). */
static bool controllers_ok(const char *ctrl)
{
	return strstr(ctrl, "cpu") && strstr(ctrl, "memory") && strstr(ctrl, "pids");
}

static void controllers_why(char *why, size_t len, const char *where, const char *ctrl)
{
	snprintf(why, len, "cgroup v2 at %s offers the controllers \"%s\", not cpu, memory and pids (a hybrid "
		 "cgroup v1/v2 host, or they are not enabled in the parent's cgroup.subtree_control)", where, ctrl);
}

static void not_writable_why(char *why, size_t len, const char *where, int e)
{
	snprintf(why, len, "cannot create %s (%s): cgroup v2 is not writable for this user; delegate a subtree to it "
		 "(systemd: Delegate=yes) or run under a writable one", where, strerror(e));
}

void vm_cgroup_probe(struct vm_cgroup_host *h)
{
	char parent[PATH_MAX], path[PATH_MAX + 32], ctrl[256] = "";

	memset(h, 0, sizeof(*h));
	if (cgroup_parent(parent, sizeof(parent), h->why, sizeof(h->why)) < 0)
		return;
	if (access(parent, W_OK) < 0) {
		not_writable_why(h->why, sizeof(h->why), parent, errno);
		return;
	}
	/* A new leaf's cgroup.controllers is its parent's cgroup.subtree_control. */
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", parent);
	read_line(path, ctrl, sizeof(ctrl));
	if (!controllers_ok(ctrl)) {
		controllers_why(h->why, sizeof(h->why), parent, ctrl);
		return;
	}
	h->usable = true;
}

int vm_cgroup_create(struct vm_cgroup *cg, const char *name, uint64_t cpu_quota_us, uint64_t cpu_period_us,
		     uint64_t memory_max_mib, uint64_t pids_max)
{
	char parent[PATH_MAX], ctrl[256] = "", val[64];
	int r;

	memset(cg, 0, sizeof(*cg));
	if ((r = cgroup_parent(parent, sizeof(parent), cg->why, sizeof(cg->why))) < 0)
		return r;
	/* Leaves of VMs (and helpers) that crashed before removing theirs (issue 18 item 11). */
	(void)jail_cgroup_clean_stale(parent);
	r = snprintf(cg->leaf, sizeof(cg->leaf), "%s/carapace-%.64s.%d", parent, name, (int)getpid());
	if (r < 0 || (size_t)r >= sizeof(cg->leaf)) {
		snprintf(cg->why, sizeof(cg->why), "the cgroup path under %s is too long", parent);
		cg->leaf[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdir(cg->leaf, 0755) < 0) {
		r = -errno;
		not_writable_why(cg->why, sizeof(cg->why), cg->leaf, -r);
		cg->leaf[0] = '\0';
		return r;
	}
	{
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/cgroup.controllers", cg->leaf);
		read_line(path, ctrl, sizeof(ctrl));
	}
	if (!controllers_ok(ctrl)) {
		controllers_why(cg->why, sizeof(cg->why), parent, ctrl);
		vm_cgroup_remove(cg);
		return -ENOTSUP;
	}
	snprintf(val, sizeof(val), "%" PRIu64 " %" PRIu64, cpu_quota_us, cpu_period_us);
	if ((r = write_file(cg->leaf, "cpu.max", val)) < 0)
		goto fail;
	snprintf(val, sizeof(val), "%" PRIu64, memory_max_mib << 20);
	if ((r = write_file(cg->leaf, "memory.max", val)) < 0)
		goto fail;
	/* Guest RAM must not be swapped out to where the host can read it back. */
	(void)write_file(cg->leaf, "memory.swap.max", "0");
	snprintf(val, sizeof(val), "%" PRIu64, pids_max);
	if ((r = write_file(cg->leaf, "pids.max", val)) < 0)
		goto fail;
	cg->active = true;
	cg->cpu_quota_us = cpu_quota_us;
	cg->cpu_period_us = cpu_period_us;
	cg->memory_max_mib = memory_max_mib;
	cg->pids_max = pids_max;
	return 0;
fail:
	snprintf(cg->why, sizeof(cg->why), "writing limits in %s failed: %s", cg->leaf, strerror(-r));
	vm_cgroup_remove(cg);
	return r;
}

int vm_cgroup_enter(struct vm_cgroup *cg, pid_t pid)
{
	char val[32];
	snprintf(val, sizeof(val), "%d", (int)pid);
	return write_file(cg->leaf, "cgroup.procs", val);
}

void vm_cgroup_remove(struct vm_cgroup *cg)
{
	if (cg->leaf[0])
		(void)rmdir(cg->leaf);
	cg->leaf[0] = '\0';
	cg->active = false;
}

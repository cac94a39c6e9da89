/* A cgroup v2 leaf per VM with cpu.max, memory.max and pids.max from the launch policy. */
#ifndef CARAPACE_RUNNER_CGROUP_H
#define CARAPACE_RUNNER_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vm_cgroup {
	bool active;             /* the leaf exists and every limit was written */
	char leaf[PATH_MAX];
	uint64_t cpu_quota_us, cpu_period_us, memory_max_mib, pids_max; /* as applied */
	char why[PATH_MAX + 512]; /* when not active: what is missing, and how to fix it */
};

/* What the host offers for a VM's leaf, found without creating anything (the launch plan's host
 * fact): usable when cgroup v2 is mounted, our cgroup is writable and hands cpu, memory and pids
 * down to its children; otherwise why names what is missing and how to fix it. */
struct vm_cgroup_host {
	bool usable;
	char why[PATH_MAX + 512];
};
void vm_cgroup_probe(struct vm_cgroup_host *h);

/* Create the leaf and write the limits; on any failure remove what was made and say why. */
int vm_cgroup_create(struct vm_cgroup *cg, const char *name, uint64_t cpu_quota_us, uint64_t cpu_period_us,
		     uint64_t memory_max_mib, uint64_t pids_max);
/* Move a process (and so every thread and every later child) into the leaf. */
int vm_cgroup_enter(struct vm_cgroup *cg, pid_t pid);
/* Remove the (empty) leaf. */
void vm_cgroup_remove(struct vm_cgroup *cg);

#endif

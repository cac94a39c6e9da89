/* `carapace run`'s launch plan: options + host facts (+ the launch policy) -> what to launch and
 * what to create, or why not. Pure: it opens no file, creates no cgroup and prints nothing; the
 * shell (runner/cli_run.c) gathers the facts first and carries the plan out afterwards. */
#ifndef CARAPACE_RUNNER_LAUNCH_PLAN_H
#define CARAPACE_RUNNER_LAUNCH_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/policy.h"
#include "runner/config.h"
#include "runner/host_info.h"
#include "runner/vdev.h"

/* What the plan is made from. Every pointer is the caller's and outlives the plan. */
struct launch_plan_in {
	const struct run_opts *o;          /* validated (run_opts_validate) */
	const struct host_assessment *host; /* what the host offers (zeroed: nothing was probed) */
	const struct policy *policy;       /* the launch policy, NULL without --policy */
	const char *kernel_real;           /* the canonical name of the kernel file read, or NULL */
	const struct vdev_spec *specs;     /* o->ndevices parsed --device specs (blk images opened) */
	bool cgroup_usable;                /* vm_cgroup_probe(): a leaf with cpu, memory, pids can be made */
	const char *cgroup_why;            /* ... and when not, why */
	bool tpm_present;                  /* a TPM is configured or /dev/tpmrm0 is usable */
};

#define LAUNCH_PLAN_NOTES 4

struct launch_plan {
	int status;                 /* CP_EXIT_OK: launch as planned; otherwise refuse with this status */
	char why[CP_ERR_MSG_MAX];   /* the refusal (shown after "carapace run: ") */
	/* said before anything is launched, in order (each shown after "carapace: ") */
	char notes[LAUNCH_PLAN_NOTES][CP_ERR_MSG_MAX + 128];
	unsigned nnotes;
	enum policy_isolation requested, obtained; /* --confidential, and what this host gives it */
	bool device_failure_continue;              /* --on-device-failure, else the policy's, else stop */
	uint64_t snp_policy, td_attributes;        /* a confidential launch's (the policy's; 0: runner/cc's default) */
	/* The cgroup v2 leaf to create (with a policy, where the host can), with these limits. */
	bool cgroup;
	uint64_t cg_cpu_quota_us, cg_cpu_period_us, cg_memory_max_mib, cg_pids_max;
	/* With a policy: the request it judged (judged false when the plan was refused earlier). */
	bool judged;
	struct policy_launch_request req;
	struct policy_device_request devs[RUN_MAX_DEVICES]; /* req.devices points here */
};

/* Make the plan. Returns 0 with p->status CP_EXIT_OK or the refusal's exit status; a plan is
 * never half made: every field is set either way. */
int launch_plan_make(const struct launch_plan_in *in, struct launch_plan *p);

/* The first confidential-only option given (the option table's cc column) that does not fit
 * `iso` (a plain VM: any of them), or NULL; *only gets the platform it is for. */
const struct run_opt_def *launch_plan_cc_misfit(const struct run_opts *o, enum policy_isolation iso,
						enum policy_isolation *only);

#endif

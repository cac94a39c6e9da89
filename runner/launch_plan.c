/* The launch plan of `carapace run` (see launch_plan.h): isolation, confidential-only options,
 * the launch policy's request and verdict, the cgroup to create. Pure. */
#include "runner/launch_plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/util.h"
#include "devices/devkinds.h"

/* The platform a confidential-only option is for (the option table's cc column);
 * POLICY_ISO_NONE: either. */
static enum policy_isolation cc_platform(enum run_opt_cc cc)
{
	return cc == RUN_CC_SNP ? POLICY_ISO_SNP : cc == RUN_CC_TDX ? POLICY_ISO_TDX : POLICY_ISO_NONE;
}

const struct run_opt_def *launch_plan_cc_misfit(const struct run_opts *o, enum policy_isolation iso,
						enum policy_isolation *only)
{
	/* The option table says which options are for confidential guests and for which platform:
	 * one table serves the refusal without --confidential, the warning on a fallback and the
	 * wrong-platform refusal. */
	for (size_t i = 0; i < run_opt_count; i++) {
		const struct run_opt_def *d = &run_opt_defs[i];
		enum policy_isolation p = cc_platform(d->cc);
		if (d->cc == RUN_CC_NO || !run_opts_is_set(o, d))
			continue;
		if (iso == POLICY_ISO_NONE || (p != POLICY_ISO_NONE && p != iso)) {
			*only = p;
			return d;
		}
	}
	return NULL;
}

static void note(struct launch_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct launch_plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->nnotes >= LAUNCH_PLAN_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->nnotes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

static int refuse(struct launch_plan *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct launch_plan *p, int status, const char *fmt, ...)
{
	va_list ap;

	p->status = status;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return 0;
}

/* --confidential: which isolation this launch asks for and which it will get. required and
 * unavailable: refused with host-info's reason; preferred and unavailable: a loud warning, and a
 * plain VM follows. The launch policy then judges both values. */
static bool plan_isolation(const struct launch_plan_in *in, struct launch_plan *p)
{
	const struct run_opts *o = in->o;
	const struct host_assessment *ha = in->host;
	bool conf = o->confidential && strcmp(o->confidential, "off");
	bool required = conf && !strcmp(o->confidential, "required");
	bool want_snp = !o->platform || !strcmp(o->platform, "snp"), want_tdx = !o->platform || !strcmp(o->platform, "tdx");
	char why[1100];

	if (!conf)
		return true;
	if (want_snp && ha->snp.available) {
		p->requested = p->obtained = POLICY_ISO_SNP;
		return true;
	}
	if (want_tdx && ha->tdx.available) {
		p->requested = p->obtained = POLICY_ISO_TDX;
		return true;
	}
	p->requested = want_snp ? POLICY_ISO_SNP : POLICY_ISO_TDX;
	snprintf(why, sizeof(why), "%s%s%s", want_snp ? ha->snp.reason : "", want_snp && want_tdx ? "; " : "",
		 want_tdx ? ha->tdx.reason : "");
	if (required) {
		refuse(p, CP_EXIT_FAILURE, "--confidential required: no confidential platform on this host: %.400s", why);
		return false;
	}
	note(p, "WARNING: --confidential preferred, but this host offers none (%.400s).", why);
	note(p, "WARNING: running a PLAIN VM: the host can read and change its memory.");
	return true;
}

/* The launch as the policy sees it. The cgroup limits are what the plan will apply: the
 * policy's ceilings where the host can make the leaf, none where it cannot (the policy then
 * refuses: fail closed). */
static bool plan_request(const struct launch_plan_in *in, struct launch_plan *p)
{
	const struct run_opts *o = in->o;
	const struct policy *pol = in->policy;
	struct policy_launch_request *req = &p->req;

	req->requested = p->requested;
	req->obtained = p->obtained;
	/* What a confidential launch would pass: the policy's own guest policy / TD attributes. */
	req->snp_guest_policy = p->snp_policy = policy_snp_guest_policy(pol);
	req->tdx_attributes = p->td_attributes = pol->tdx_attributes;
	req->host_caps = (in->host->snp.available ? 1u << POLICY_ISO_SNP : 0) |
			 (in->host->tdx.available ? 1u << POLICY_ISO_TDX : 0);
	req->memory_mib = o->memory >> 20;
	req->vcpus = o->vcpus;
	if (in->cgroup_usable) {
		p->cgroup = true;
		req->cg_cpu_quota_us = p->cg_cpu_quota_us = pol->cg_cpu_quota_us;
		req->cg_cpu_period_us = p->cg_cpu_period_us = pol->cg_cpu_period_us;
		req->cg_memory_max_mib = p->cg_memory_max_mib = pol->cg_memory_max_mib;
		req->cg_pids_max = p->cg_pids_max = pol->cg_pids_max;
	} else {
		note(p, "cgroup limits cannot be applied: %s", in->cgroup_why ? in->cgroup_why : "(no reason given)");
	}
	/* The name of the file whose bytes were read (issue 18 item 10), not a fresh resolution of
	 * the path, which a swapped link could point elsewhere by now. */
	req->kernel = in->kernel_real;
	req->cmdline = o->cmdline;
	req->cpu = o->cpu;
	for (unsigned i = 0; i < o->ndevices; i++) {
		/* The policy class, the queue count and size are the kind's row (devices/devkinds.c); a kind
		 * without a policy class is never judged as some other class. */
		const struct devkind *dk = devkind_get(in->specs[i].kind);
		if (!dk || !dk->policy_class) {
			refuse(p, CP_EXIT_USAGE, "device %u: its kind has no launch-policy class", i);
			return false;
		}
		p->devs[i].kind = (enum policy_dev_kind)in->specs[i].kind;
		p->devs[i].queues = dk->queues;
		p->devs[i].queue_size = dk->queue_size;
		if (in->specs[i].kind == DEVKIND_BLK) {
			/* Judge the file that was opened and is handed to the helper as an fd. */
			p->devs[i].image = in->specs[i].image_real;
			p->devs[i].read_only = in->specs[i].readonly;
		}
		if (in->specs[i].kind == DEVKIND_VSOCK)
			p->devs[i].uds_path = in->specs[i].uds; /* canonical since vdev_spec_resolve */
	}
	req->devices = p->devs;
	req->n_devices = o->ndevices;
	req->tpm_present = in->tpm_present;
	p->judged = true;
	return true;
}

int launch_plan_make(const struct launch_plan_in *in, struct launch_plan *p)
{
	const struct run_opts *o = in->o;
	enum policy_isolation only;
	struct policy_violation v = { 0 };
	const struct run_opt_def *what;
	int r;

	memset(p, 0, sizeof(*p));
	p->status = CP_EXIT_OK;
	p->requested = p->obtained = POLICY_ISO_NONE;
	if (o->ndevices > RUN_MAX_DEVICES)
		return refuse(p, CP_EXIT_USAGE, "at most %d devices", RUN_MAX_DEVICES);
	if (!plan_isolation(in, p))
		return 0;
	if (p->obtained == POLICY_ISO_NONE && (what = launch_plan_cc_misfit(o, POLICY_ISO_NONE, &only))) {
		if (p->requested == POLICY_ISO_NONE)
			return refuse(p, CP_EXIT_USAGE, "--%s needs --confidential (it is for confidential guests)", what->name);
		note(p, "WARNING: --%s is unused: this VM fell back to plain KVM", what->name);
	}
	if (in->policy) {
		if (!plan_request(in, p))
			return 0;
		r = policy_eval(in->policy, &p->req, &v);
		if (r == -EPERM)
			return refuse(p, CP_EXIT_POLICY, "refused by launch policy '%s': %s", in->policy->name, v.msg);
		if (r < 0)
			return refuse(p, CP_EXIT_USAGE, "launch policy '%s' cannot judge this launch: %s", in->policy->name,
				      v.msg);
		p->device_failure_continue = o->on_device_failure ? !strcmp(o->on_device_failure, "continue")
								  : in->policy->on_device_failure == POLICY_ON_FAILURE_CONTINUE;
	} else {
		p->device_failure_continue = o->on_device_failure && !strcmp(o->on_device_failure, "continue");
	}
	/* A confidential launch: every confidential-only option must be for this platform. */
	if (p->obtained != POLICY_ISO_NONE && (what = launch_plan_cc_misfit(o, p->obtained, &only)))
		return refuse(p, CP_EXIT_USAGE, "--%s is for %s guests; this launch is %s", what->name,
			      only == POLICY_ISO_SNP ? "SEV-SNP" : "TDX", p->obtained == POLICY_ISO_SNP ? "SEV-SNP" : "TDX");
	return 0;
}

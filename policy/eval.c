/* The launch-policy evaluator: a pure decision over a parsed policy and a launch request.
 * Rules are checked in a fixed order and the first one broken is named; nothing here does I/O. */
#include "policy/policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define POLICY_REQUEST_DEVICES_MAX 256

/* Per-flag rules, in bit order; shared by the SNP and TDX checks below. */
struct flag_rule {
	const char *rule;
	const char *bitname;
	uint64_t bit;
};

static const struct flag_rule snp_flag_rules[] = {
	{ "snp.smt", "SMT (bit 16)", POLICY_SNP_SMT },
	{ "snp.migrate_ma", "MIGRATE_MA (bit 18)", POLICY_SNP_MIGRATE_MA },
	{ "snp.debug", "DEBUG (bit 19)", POLICY_SNP_DEBUG },
	{ "snp.single_socket", "SINGLE_SOCKET (bit 20)", POLICY_SNP_SINGLE_SOCKET },
	{ "snp.cxl_allow", "CXL_ALLOW (bit 21)", POLICY_SNP_CXL_ALLOW },
	{ "snp.mem_aes_256_xts", "MEM_AES_256_XTS (bit 22)", POLICY_SNP_MEM_AES_256_XTS },
	{ "snp.rapl_dis", "RAPL_DIS (bit 23)", POLICY_SNP_RAPL_DIS },
	{ "snp.ciphertext_hiding", "CIPHERTEXT_HIDING_DRAM (bit 24)", POLICY_SNP_CIPHERTEXT_HIDING },
	{ "snp.page_swap_disable", "PAGE_SWAP_DISABLE (bit 25)", POLICY_SNP_PAGE_SWAP_DISABLE },
};

static const struct flag_rule tdx_flag_rules[] = {
	{ "tdx.debug", "DEBUG (bit 0)", POLICY_TDX_DEBUG },
	{ "tdx.lass", "LASS (bit 27)", POLICY_TDX_LASS },
	{ "tdx.sept_ve_disable", "SEPT_VE_DISABLE (bit 28)", POLICY_TDX_SEPT_VE_DISABLE },
	{ "tdx.pks", "PKS (bit 30)", POLICY_TDX_PKS },
	{ "tdx.key_locker", "KeyLocker (bit 31)", POLICY_TDX_KEY_LOCKER },
	{ "tdx.perfmon", "PERFMON (bit 63)", POLICY_TDX_PERFMON },
};

/* Rule names: the fixed ones, with every device class's rules between them. A class's rules are
 * named after its policy class (devices/devkinds.c): "devices.<kind>" and the suffixes below;
 * this file keeps no list of device kinds. */
static const char *const rules_before_devices[] = {
	"isolation.type", "isolation.confidential",
	"snp.abi_min", "snp.reserved", "snp.smt", "snp.migrate_ma", "snp.debug",
	"snp.single_socket", "snp.cxl_allow", "snp.mem_aes_256_xts", "snp.rapl_dis",
	"snp.ciphertext_hiding", "snp.page_swap_disable",
	"tdx.reserved", "tdx.debug", "tdx.lass", "tdx.sept_ve_disable", "tdx.pks",
	"tdx.key_locker", "tdx.perfmon",
	"resources.memory_max_mib", "resources.memory_min_mib", "resources.vcpus_max",
	"resources.cgroup.cpu_quota_us", "resources.cgroup.memory_max_mib",
	"resources.cgroup.pids_max",
	"boot.firmware", "boot.kernel", "boot.allow_cmdline",
};

static const char *const rules_after_devices[] = {
	"attestation.tpm_required",
	"reference.snp.measurements", "reference.snp.host_data", "reference.tdx.mrtd",
};

/* Every class's rules (NULL: the class itself, "a device of this class at all"), then the rules
 * of one class's own keys. */
static const char *const dev_rule_suffixes[] = { NULL, "max", "max_queues", "max_queue_size" };
static const struct {
	enum policy_dev_kind kind;
	const char *suffix;
} dev_class_rules[] = {
	{ POLICY_DEV_BLK, "read_only" },
	{ POLICY_DEV_BLK, "images" },
	{ POLICY_DEV_VSOCK, "uds_paths" },
};

/* "devices.<kind>[.suffix]" into buf. */
static const char *dev_rule(char *buf, size_t len, enum policy_dev_kind k, const char *suffix)
{
	const struct devkind *dk = devkind_get((enum devkind_id)k);
	const char *cls = dk && dk->policy_class ? dk->policy_class : "devices.?";

	snprintf(buf, len, "%s%s%s", cls, suffix ? "." : "", suffix ? suffix : "");
	return buf;
}

int policy_rule_name(size_t i, char *buf, size_t len)
{
	if (i < ARRAY_SIZE(rules_before_devices)) {
		snprintf(buf, len, "%s", rules_before_devices[i]);
		return 0;
	}
	i -= ARRAY_SIZE(rules_before_devices);
	for (unsigned k = 0; k < POLICY_DEV__COUNT; k++) {
		if (i < ARRAY_SIZE(dev_rule_suffixes)) {
			dev_rule(buf, len, (enum policy_dev_kind)k, dev_rule_suffixes[i]);
			return 0;
		}
		i -= ARRAY_SIZE(dev_rule_suffixes);
		for (size_t j = 0; j < ARRAY_SIZE(dev_class_rules); j++) {
			if (dev_class_rules[j].kind != (enum policy_dev_kind)k)
				continue;
			if (i == 0) {
				dev_rule(buf, len, (enum policy_dev_kind)k, dev_class_rules[j].suffix);
				return 0;
			}
			i--;
		}
	}
	if (i < ARRAY_SIZE(rules_after_devices)) {
		snprintf(buf, len, "%s", rules_after_devices[i]);
		return 0;
	}
	return -ENOENT;
}

static int deny(struct policy_violation *v, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int deny(struct policy_violation *v, const char *rule, const char *fmt, ...)
{
	char detail[CP_ERR_MSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	v->rule = rule;
	snprintf(v->msg, sizeof(v->msg), "%.60s: %s", rule, detail);
	return -EPERM;
}

/* deny() for a device class's rule, named in v->rule_buf. */
#define deny_dev(v, kind, suffix, ...) \
	deny((v), dev_rule((v)->rule_buf, sizeof((v)->rule_buf), (kind), (suffix)), __VA_ARGS__)

static int bad_request(struct policy_violation *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad_request(struct policy_violation *v, const char *fmt, ...)
{
	char detail[CP_ERR_MSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	v->rule = "request";
	snprintf(v->msg, sizeof(v->msg), "request: %s", detail);
	return -EINVAL;
}

static bool iso_type_admits(enum policy_iso_type t, enum policy_isolation i)
{
	switch (t) {
	case POLICY_ISOTYPE_NONE: return i == POLICY_ISO_NONE;
	case POLICY_ISOTYPE_SNP: return i == POLICY_ISO_SNP;
	case POLICY_ISOTYPE_TDX: return i == POLICY_ISO_TDX;
	case POLICY_ISOTYPE_ANY_CONFIDENTIAL: return i == POLICY_ISO_SNP || i == POLICY_ISO_TDX;
	}
	return false;
}

static const char *iso_type_name(enum policy_iso_type t)
{
	static const char *const names[] = { "none", "snp", "tdx", "any-confidential" };

	return (unsigned)t < 4 ? names[t] : "?";
}

static int eval_isolation(const struct policy *p, const struct policy_launch_request *q,
			  struct policy_violation *v)
{
	const char *tn = iso_type_name(p->iso_type);

	/* What the configuration asks for must be something this class may run as. A plain
	 * request is acceptable only where confidentiality is merely preferred (or off). */
	if (!iso_type_admits(p->iso_type, q->requested) &&
	    !(q->requested == POLICY_ISO_NONE && p->confidential == POLICY_CONF_PREFERRED))
		return deny(v, "isolation.type", "the VM asks for %s isolation, the policy allows \"%s\"%s",
			    policy_isolation_name(q->requested), tn,
			    p->confidential == POLICY_CONF_PREFERRED ? " or none" : "");

	switch (p->confidential) {
	case POLICY_CONF_REQUIRED:
		if (q->obtained != q->requested || !iso_type_admits(p->iso_type, q->obtained))
			return deny(v, "isolation.confidential",
				    "confidential isolation is required (\"%s\") but the launch would obtain %s",
				    tn, policy_isolation_name(q->obtained));
		break;
	case POLICY_CONF_PREFERRED:
		if (q->obtained != POLICY_ISO_NONE) {
			if (!iso_type_admits(p->iso_type, q->obtained) || q->obtained != q->requested)
				return deny(v, "isolation.confidential",
					    "the launch would obtain %s, the VM asked for %s and the policy admits \"%s\"",
					    policy_isolation_name(q->obtained),
					    policy_isolation_name(q->requested), tn);
			break;
		}
		/* Preferred means "whenever the host can": running plain on a capable host is a
		 * downgrade the policy does not allow. */
		for (int i = POLICY_ISO_SNP; i <= POLICY_ISO_TDX; i++)
			if (q->host_caps & (1u << i) && iso_type_admits(p->iso_type, (enum policy_isolation)i))
				return deny(v, "isolation.confidential",
					    "confidential isolation is preferred and the host supports %s, but the launch would run without it",
					    policy_isolation_name((enum policy_isolation)i));
		break;
	case POLICY_CONF_OFF:
		if (q->obtained != POLICY_ISO_NONE)
			return deny(v, "isolation.confidential",
				    "confidential isolation is off for this class but the launch would obtain %s",
				    policy_isolation_name(q->obtained));
		break;
	}
	return 0;
}

static int eval_flags(const struct flag_rule *rules, size_t n, uint64_t want, uint64_t got,
		      const char *what, struct policy_violation *v)
{
	for (size_t i = 0; i < n; i++) {
		bool w = want & rules[i].bit, g = got & rules[i].bit;

		if (w != g)
			return deny(v, rules[i].rule, "in the %s, %s is %s; the policy requires it %s", what,
				    rules[i].bitname, g ? "set" : "clear", w ? "set" : "clear");
	}
	return 0;
}

static int eval_snp(const struct policy *p, const struct policy_launch_request *q,
		    struct policy_violation *v)
{
	uint64_t gp = q->snp_guest_policy;
	unsigned major = (unsigned)(gp >> 8 & 0xff), minor = (unsigned)(gp & 0xff);

	if (!(gp & POLICY_SNP_RESERVED1) || gp & ~POLICY_SNP_KNOWN_MASK)
		return deny(v, "snp.reserved",
			    "guest policy 0x%016" PRIx64 ": bit 17 must be 1 and bits 26-63 must be 0", gp);
	if (major < p->snp.abi_major_min ||
	    (major == p->snp.abi_major_min && minor < p->snp.abi_minor_min))
		return deny(v, "snp.abi_min", "guest policy asks for ABI %u.%u, the policy's minimum is %u.%u",
			    major, minor, p->snp.abi_major_min, p->snp.abi_minor_min);
	return eval_flags(snp_flag_rules, sizeof(snp_flag_rules) / sizeof(snp_flag_rules[0]),
			  p->snp.flags, gp, "guest policy", v);
}

static int eval_tdx(const struct policy *p, const struct policy_launch_request *q,
		    struct policy_violation *v)
{
	if (q->tdx_attributes & ~POLICY_TDX_KNOWN_MASK)
		return deny(v, "tdx.reserved", "TD attributes 0x%016" PRIx64 " set bits this policy cannot express (0x%016" PRIx64 ")",
			    q->tdx_attributes, (uint64_t)(q->tdx_attributes & ~POLICY_TDX_KNOWN_MASK));
	return eval_flags(tdx_flag_rules, sizeof(tdx_flag_rules) / sizeof(tdx_flag_rules[0]),
			  p->tdx_attributes, q->tdx_attributes, "TD attributes", v);
}

static int eval_resources(const struct policy *p, const struct policy_launch_request *q,
			  struct policy_violation *v)
{
	if (q->memory_mib > p->memory_max_mib)
		return deny(v, "resources.memory_max_mib", "%" PRIu64 " MiB of guest memory, at most %" PRIu64 " allowed",
			    q->memory_mib, p->memory_max_mib);
	if (q->memory_mib < p->memory_min_mib)
		return deny(v, "resources.memory_min_mib", "%" PRIu64 " MiB of guest memory, at least %" PRIu64 " required",
			    q->memory_mib, p->memory_min_mib);
	if (q->vcpus == 0 || q->vcpus > p->vcpus_max)
		return deny(v, "resources.vcpus_max", "%u vCPUs, 1 to %u allowed", q->vcpus, p->vcpus_max);
	/* Compare CPU bandwidth as a ratio (quota/period) without division: a*d <= c*b. Values
	 * are bounded by the parser (policy) and checked here (request) so nothing overflows. */
	if (q->cg_cpu_quota_us == 0 || q->cg_cpu_period_us == 0 ||
	    q->cg_cpu_quota_us > 1000000000ull || q->cg_cpu_period_us > 1000000ull ||
	    (unsigned __int128)q->cg_cpu_quota_us * p->cg_cpu_period_us >
		    (unsigned __int128)p->cg_cpu_quota_us * q->cg_cpu_period_us)
		return deny(v, "resources.cgroup.cpu_quota_us",
			    "cpu.max \"%" PRIu64 " %" PRIu64 "\" exceeds the policy's \"%" PRIu64 " %" PRIu64 "\"%s",
			    q->cg_cpu_quota_us, q->cg_cpu_period_us, p->cg_cpu_quota_us,
			    p->cg_cpu_period_us, q->cg_cpu_quota_us == 0 ? " (unlimited)" : "");
	if (q->cg_memory_max_mib == 0 || q->cg_memory_max_mib > p->cg_memory_max_mib)
		return deny(v, "resources.cgroup.memory_max_mib", "memory.max %" PRIu64 " MiB%s, at most %" PRIu64 " MiB allowed",
			    q->cg_memory_max_mib, q->cg_memory_max_mib == 0 ? " (unlimited)" : "",
			    p->cg_memory_max_mib);
	if (q->cg_pids_max == 0 || q->cg_pids_max > p->cg_pids_max)
		return deny(v, "resources.cgroup.pids_max", "pids.max %" PRIu64 "%s, at most %" PRIu64 " allowed",
			    q->cg_pids_max, q->cg_pids_max == 0 ? " (unlimited)" : "", p->cg_pids_max);
	return 0;
}

/* A path the runner hands us must already be canonical; anything else is refused rather
 * than normalised here, so a pattern can never be dodged with "//" or "/../". */
static bool path_canonical(const char *s)
{
	if (!s || s[0] != '/')
		return false;
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
		if (*c == '/' && (c[1] == '/' || (c[1] == '\0' && c != s) ||
				  (c[1] == '.' && (c[2] == '/' || c[2] == '\0' ||
						   (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))))
			return false;
	}
	return strlen(s) < POLICY_PATH_MAX;
}

static bool globs_match(const struct policy_globs *g, const char *path)
{
	for (size_t i = 0; i < g->n; i++)
		if (fnmatch(g->pat[i], path, FNM_PATHNAME | FNM_PERIOD) == 0)
			return true;
	return false;
}

static int eval_boot(const struct policy *p, const struct policy_launch_request *q,
		     struct policy_violation *v)
{
	if (q->firmware && !globs_match(&p->firmware, q->firmware))
		return deny(v, "boot.firmware", "firmware \"%.200s\" matches no allowed pattern (%zu given)",
			    q->firmware, p->firmware.n);
	if (q->kernel && !globs_match(&p->kernel, q->kernel))
		return deny(v, "boot.kernel", "kernel \"%.200s\" matches no allowed pattern (%zu given)",
			    q->kernel, p->kernel.n);
	if (q->cmdline && q->cmdline[0] && !p->allow_cmdline)
		return deny(v, "boot.allow_cmdline", "a kernel command line is given but the policy does not allow one");
	return 0;
}

static int eval_devices(const struct policy *p, const struct policy_launch_request *q,
			struct policy_violation *v)
{
	uint32_t count[POLICY_DEV__COUNT] = { 0 };
	int r;

	for (size_t i = 0; i < q->n_devices; i++) {
		const struct policy_device_request *d = &q->devices[i];
		const struct policy_device *pd = &p->dev[d->kind];
		const char *kn = policy_dev_kind_name(d->kind);

		if (!pd->allowed)
			return deny_dev(v, d->kind, NULL, "device %zu is a %s device; the policy allows none",
				    i, kn);
		if (++count[d->kind] > pd->max)
			return deny_dev(v, d->kind, "max", "device %zu is %s device number %u, at most %u allowed",
				    i, kn, count[d->kind], pd->max);
		if (d->queues == 0 || d->queues > pd->max_queues)
			return deny_dev(v, d->kind, "max_queues", "device %zu (%s) has %u queues, 1 to %u allowed",
				    i, kn, d->queues, pd->max_queues);
		if (d->queue_size == 0 || d->queue_size > pd->max_queue_size)
			return deny_dev(v, d->kind, "max_queue_size",
				    "device %zu (%s) has queues of %u entries, 1 to %u allowed", i, kn,
				    d->queue_size, pd->max_queue_size);
		if (d->kind == POLICY_DEV_VSOCK && !globs_match(&pd->uds_paths, d->uds_path))
			return deny_dev(v, d->kind, "uds_paths",
				    "device %zu: vsock socket \"%.200s\" matches no allowed pattern", i, d->uds_path);
		if (d->kind == POLICY_DEV_BLK && (r = policy_eval_blk_image(p, i, d->image, d->read_only, v)) < 0)
			return r;
	}
	return 0;
}

int policy_eval_blk_image(const struct policy *p, size_t i, const char *image, bool read_only,
			  struct policy_violation *v)
{
	const struct policy_device *pd = &p->dev[POLICY_DEV_BLK];

	v->rule = NULL;
	v->msg[0] = '\0';
	if (!path_canonical(image))
		return bad_request(v, "device %zu (blk): image path \"%.200s\" is missing or not canonical", i,
				   image ? image : "");
	if (!pd->allowed)
		return deny_dev(v, POLICY_DEV_BLK, NULL, "device %zu is a blk device; the policy allows none", i);
	if (pd->read_only && !read_only)
		return deny_dev(v, POLICY_DEV_BLK, "read_only", "device %zu (blk \"%.200s\") is writable, the policy requires read-only disks",
			    i, image);
	if (!globs_match(&pd->images, image))
		return deny_dev(v, POLICY_DEV_BLK, "images", "device %zu: image \"%.200s\" matches no allowed pattern",
			    i, image);
	return 0;
}

static int eval_reference(const struct policy *p, const struct policy_launch_request *q,
			  struct policy_violation *v)
{
	const struct cp_refvals *r = &p->ref;
	char hex[2 * POLICY_DIGEST_LEN + 1];

	/* The matcher is common/refvals.c's, the one the verifiers use. */
	if (q->obtained == POLICY_ISO_SNP) {
		if (r->snp.measurements.n) {
			if (!q->has_launch_digest)
				return deny(v, "reference.snp.measurements",
					    "the policy lists accepted measurements but the launch predicts none");
			if (!cp_refvals_digest_listed(&r->snp.measurements, q->launch_digest)) {
				cp_hex_encode(q->launch_digest, POLICY_DIGEST_LEN, hex);
				return deny(v, "reference.snp.measurements",
					    "predicted launch measurement %s is not among the %zu accepted",
					    hex, r->snp.measurements.n);
			}
		}
		if (r->snp.host_data.set &&
		    (!q->has_host_data || !cp_refvals_bytes_match(&r->snp.host_data, q->host_data, POLICY_HOST_DATA_LEN)))
			return deny(v, "reference.snp.host_data", "%s",
				    q->has_host_data ? "HOST_DATA differs from the policy's"
						     : "the policy fixes HOST_DATA but the launch gives none");
	}
	if (q->obtained == POLICY_ISO_TDX && r->tdx.mrtd.n) {
		if (!q->has_launch_digest)
			return deny(v, "reference.tdx.mrtd", "the policy lists accepted MRTDs but the launch predicts none");
		if (!cp_refvals_digest_listed(&r->tdx.mrtd, q->launch_digest)) {
			cp_hex_encode(q->launch_digest, POLICY_DIGEST_LEN, hex);
			return deny(v, "reference.tdx.mrtd", "predicted MRTD %s is not among the %zu accepted",
				    hex, r->tdx.mrtd.n);
		}
	}
	return 0;
}

/* The request is data from the runner, but it is still checked before any rule reads it. */
static int eval_request_wellformed(const struct policy_launch_request *q, struct policy_violation *v)
{
	if ((unsigned)q->requested > POLICY_ISO_TDX || (unsigned)q->obtained > POLICY_ISO_TDX)
		return bad_request(v, "isolation out of range");
	if (q->host_caps & ~((1u << POLICY_ISO_SNP) | (1u << POLICY_ISO_TDX)))
		return bad_request(v, "host_caps 0x%x has unknown bits", q->host_caps);
	if (q->n_devices > POLICY_REQUEST_DEVICES_MAX || (q->n_devices && !q->devices))
		return bad_request(v, "%zu devices (at most %d)", q->n_devices, POLICY_REQUEST_DEVICES_MAX);
	if (q->firmware && !path_canonical(q->firmware))
		return bad_request(v, "firmware path \"%.200s\" is not canonical", q->firmware);
	if (q->kernel && !path_canonical(q->kernel))
		return bad_request(v, "kernel path \"%.200s\" is not canonical", q->kernel);
	for (size_t i = 0; i < q->n_devices; i++) {
		const struct policy_device_request *d = &q->devices[i];

		if ((unsigned)d->kind >= POLICY_DEV__COUNT)
			return bad_request(v, "device %zu has unknown kind %u", i, (unsigned)d->kind);
		if (d->kind == POLICY_DEV_BLK && !path_canonical(d->image))
			return bad_request(v, "device %zu (blk): image path \"%.200s\" is missing or not canonical",
					   i, d->image ? d->image : "");
		if (d->kind == POLICY_DEV_VSOCK && !path_canonical(d->uds_path))
			return bad_request(v, "device %zu (vsock): uds_path \"%.200s\" is missing or not canonical",
					   i, d->uds_path ? d->uds_path : "");
	}
	return 0;
}

int policy_eval(const struct policy *p, const struct policy_launch_request *q,
		struct policy_violation *v)
{
	int ret;

	v->rule = NULL;
	v->msg[0] = '\0';
	if ((ret = eval_request_wellformed(q, v)) || (ret = eval_isolation(p, q, v)))
		return ret;
	if (q->obtained == POLICY_ISO_SNP && (ret = eval_snp(p, q, v)))
		return ret;
	if (q->obtained == POLICY_ISO_TDX && (ret = eval_tdx(p, q, v)))
		return ret;
	if ((ret = eval_resources(p, q, v)) || (ret = eval_boot(p, q, v)) ||
	    (ret = eval_devices(p, q, v)))
		return ret;
	if (p->tpm_required && !q->tpm_present)
		return deny(v, "attestation.tpm_required", "the policy requires a TPM and the launch has none");
	return eval_reference(p, q, v);
}

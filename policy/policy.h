/* Launch policy: the parsed form of one policy document (one per VM class), the launch
 * request the runner describes, and the pure evaluator that decides between them. */
#ifndef CARAPACE_POLICY_POLICY_H
#define CARAPACE_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/refvals.h"
#include "devices/devkinds.h"

#define POLICY_SCHEMA_VERSION 1
#define POLICY_DOC_MAX (1u << 20)   /* a policy larger than 1 MiB is refused unread */
#define POLICY_NAME_MAX 64
#define POLICY_GLOBS_MAX 32          /* per list: image, firmware, kernel patterns */
#define POLICY_PATH_MAX 4096
#define POLICY_DIGEST_LEN CP_REFVALS_DIGEST_LEN /* a launch request's predicted digest */
#define POLICY_HOST_DATA_LEN 32
#define POLICY_PCR_MAX 23

/* Isolation a VM can obtain; also the index of bits in policy_launch_request.host_caps. */
enum policy_isolation {
	POLICY_ISO_NONE = 0,
	POLICY_ISO_SNP = 1,
	POLICY_ISO_TDX = 2,
};

/* What the policy requires (isolation.type). */
enum policy_iso_type {
	POLICY_ISOTYPE_NONE,
	POLICY_ISOTYPE_SNP,
	POLICY_ISOTYPE_TDX,
	POLICY_ISOTYPE_ANY_CONFIDENTIAL,
};

/* isolation.confidential: required = refuse to launch without it; preferred = use it when the
 * host offers it, run plain otherwise; off = never confidential. */
enum policy_confidential {
	POLICY_CONF_REQUIRED,
	POLICY_CONF_PREFERRED,
	POLICY_CONF_OFF,
};

enum policy_on_failure { POLICY_ON_FAILURE_STOP, POLICY_ON_FAILURE_CONTINUE };

/* Device classes of a launch policy: the kinds of devices/devkinds.h that have a policy class
 * (those come first in enum devkind_id; devices-kinds checks it). */
enum policy_dev_kind {
	POLICY_DEV_BLK = DEVKIND_BLK,
	POLICY_DEV_RNG = DEVKIND_RNG,
	POLICY_DEV_CONSOLE = DEVKIND_CONSOLE,
	POLICY_DEV_NET = DEVKIND_NET,
	POLICY_DEV_VSOCK = DEVKIND_VSOCK,
	POLICY_DEV__COUNT = DEVKIND__COUNT,
};

/* SNP guest policy bits (u64 passed to SNP_LAUNCH_START). */
#define POLICY_SNP_ABI_MINOR_SHIFT 0
#define POLICY_SNP_ABI_MAJOR_SHIFT 8
#define POLICY_SNP_SMT (1ull << 16)
#define POLICY_SNP_RESERVED1 (1ull << 17) /* must be 1 */
#define POLICY_SNP_MIGRATE_MA (1ull << 18)
#define POLICY_SNP_DEBUG (1ull << 19)
#define POLICY_SNP_SINGLE_SOCKET (1ull << 20)
#define POLICY_SNP_CXL_ALLOW (1ull << 21)
#define POLICY_SNP_MEM_AES_256_XTS (1ull << 22)
#define POLICY_SNP_RAPL_DIS (1ull << 23)
#define POLICY_SNP_CIPHERTEXT_HIDING (1ull << 24)
#define POLICY_SNP_PAGE_SWAP_DISABLE (1ull << 25)
#define POLICY_SNP_FLAGS_MASK 0x3ff0000ull   /* bits 16..25 */
#define POLICY_SNP_KNOWN_MASK 0x3ffffffull   /* bits 0..25; 26..63 must be zero */

/* TDX TD attributes (u64 passed to KVM_TDX_INIT_VM). */
#define POLICY_TDX_DEBUG (1ull << 0)
#define POLICY_TDX_LASS (1ull << 27)
#define POLICY_TDX_SEPT_VE_DISABLE (1ull << 28)
#define POLICY_TDX_PKS (1ull << 30)
#define POLICY_TDX_KEY_LOCKER (1ull << 31)
#define POLICY_TDX_PERFMON (1ull << 63)
#define POLICY_TDX_KNOWN_MASK                                                          \
	(POLICY_TDX_DEBUG | POLICY_TDX_LASS | POLICY_TDX_SEPT_VE_DISABLE | POLICY_TDX_PKS | \
	 POLICY_TDX_KEY_LOCKER | POLICY_TDX_PERFMON)

struct policy_globs {
	size_t n;
	char *pat[POLICY_GLOBS_MAX]; /* absolute fnmatch(3) patterns, matched with FNM_PATHNAME */
};

struct policy_device {
	bool allowed;          /* the class appears under "devices" */
	uint32_t max;          /* how many of this class one VM may have */
	uint32_t max_queues;
	uint32_t max_queue_size;
	/* blk only */
	bool read_only;        /* every disk must be read-only */
	struct policy_globs images;
	/* vsock only: where its hybrid-vsock socket (uds_path) may be; the guest reaches the
	 * host's <uds_path>_P listeners beside it */
	struct policy_globs uds_paths;
};

struct policy_snp {
	uint8_t abi_major_min, abi_minor_min;
	uint64_t flags;        /* POLICY_SNP_* bits 16..25 the guest policy must carry exactly */
};

/* A parsed, validated policy with every default filled in. Owns its strings. */
struct policy {
	char name[POLICY_NAME_MAX + 1];
	char *description;            /* may be NULL */
	enum policy_iso_type iso_type;
	enum policy_confidential confidential;
	struct policy_snp snp;        /* meaningful when iso_type admits SNP */
	uint64_t tdx_attributes;      /* meaningful when iso_type admits TDX */
	struct policy_device dev[POLICY_DEV__COUNT];
	/* resources; 0 in a *_max field never happens after parsing: every limit is explicit */
	uint64_t memory_min_mib, memory_max_mib;
	uint32_t vcpus_max;
	uint64_t cg_cpu_quota_us, cg_cpu_period_us; /* cpu.max */
	uint64_t cg_memory_max_mib;                 /* memory.max */
	uint64_t cg_pids_max;                       /* pids.max */
	/* boot */
	struct policy_globs firmware, kernel;
	bool allow_cmdline;
	/* attestation */
	bool tpm_required;
	uint32_t pcr;
	struct cp_refvals ref;        /* reference values (common/refvals.h, docs/refvals.md) */
	enum policy_on_failure on_device_failure;
};

/* One device of a launch request. */
struct policy_device_request {
	enum policy_dev_kind kind;
	const char *image;     /* blk: canonical absolute path (the runner resolves it first) */
	bool read_only;        /* blk */
	const char *uds_path;  /* vsock: canonical absolute path of its hybrid-vsock socket */
	uint32_t queues;
	uint32_t queue_size;
};

/* What the runner is about to launch, described in data only. The evaluator checks it
 * against a policy; it trusts nothing in it beyond the types. */
struct policy_launch_request {
	enum policy_isolation requested; /* what the VM's configuration asks for */
	enum policy_isolation obtained;  /* what the host will actually give this launch */
	uint32_t host_caps;              /* 1u << POLICY_ISO_SNP / TDX: what the host supports */
	uint64_t snp_guest_policy;       /* when obtained == SNP */
	uint64_t tdx_attributes;         /* when obtained == TDX */
	uint64_t memory_mib;
	uint32_t vcpus;
	/* cgroup limits the runner will apply; 0 = none (unlimited) */
	uint64_t cg_cpu_quota_us, cg_cpu_period_us, cg_memory_max_mib, cg_pids_max;
	const char *firmware;            /* canonical path or NULL */
	const char *kernel;              /* canonical path or NULL */
	const char *cmdline;             /* NULL or "" = none */
	const char *cpu;                 /* the guest CPU model (--cpu), NULL = host; informational: no
					  * rule judges it yet (the SNP CPUID page and TDX CPUID are not
					  * in the launch measurement, so this is where it is recorded) */
	const struct policy_device_request *devices;
	size_t n_devices;
	bool tpm_present;
	bool has_launch_digest;          /* the predicted SNP measurement or TDX MRTD */
	uint8_t launch_digest[POLICY_DIGEST_LEN];
	bool has_host_data;              /* SNP HOST_DATA given at LAUNCH_FINISH */
	uint8_t host_data[POLICY_HOST_DATA_LEN];
};

/* The first rule a launch request breaks. rule is a static string naming the policy field
 * ("devices.blk.read_only"); msg says what was found and what the rule wants. */
#define POLICY_RULE_MAX 64
struct policy_violation {
	const char *rule;               /* a constant, or rule_buf (a device class's rule) */
	char rule_buf[POLICY_RULE_MAX];
	char msg[CP_ERR_MSG_MAX];
};

/* Parse and validate one policy document. Unknown keys, wrong types, out-of-range values and
 * contradictions are refused with the JSON path of the offending field and what was
 * expected. On success *out is filled (release with policy_free); on failure *out is left
 * empty and -EINVAL returned. */
int policy_parse(const char *text, size_t len, struct policy *out, struct cp_err *err);
void policy_free(struct policy *p);

/* Read (at most POLICY_DOC_MAX bytes) and parse a policy file; errors are prefixed with path.
 * The only function of this library that does I/O (policy/load.c). */
int policy_load_file(const char *path, struct policy *p, struct cp_err *err);

/* The effective policy as a JSON document (defaults filled in, derived guest policy and TD
 * attributes shown). malloc'd, NUL-terminated; NULL on allocation failure. */
char *policy_to_json(const struct policy *p);

/* The SNP guest policy u64 the runner should pass to SNP_LAUNCH_START. */
uint64_t policy_snp_guest_policy(const struct policy *p);

/* Decide. 0 = allow; -EPERM = denied, *v names the first violated rule; -EINVAL = the request
 * itself is malformed (v->rule = "request"). Pure: no I/O, no logging. */
int policy_eval(const struct policy *p, const struct policy_launch_request *req,
		struct policy_violation *v);

/* The rules a disk image meets, alone: the same judgement policy_eval gives device i of a launch
 * (devices.blk allowed, read_only, images), for a backing file swapped in after the launch
 * (PATCH /drives/{id}). image: the canonical name of the opened file. 0, -EPERM or -EINVAL as
 * policy_eval. Pure. */
int policy_eval_blk_image(const struct policy *p, size_t i, const char *image, bool read_only,
			  struct policy_violation *v);

/* Every rule name policy_eval can report (tests prove each is reachable and documented): the
 * i-th into buf, 0; -ENOENT past the last. A device class's rules are named after its policy
 * class in devices/devkinds.c ("devices.net.max_queues"). */
int policy_rule_name(size_t i, char *buf, size_t len);

/* Parse a launch request written as JSON (for `carapace policy eval` and the golden tests).
 * Strings inside *out point into storage owned by *store; release with
 * policy_request_free. */
struct policy_request_store;
int policy_request_parse(const char *text, size_t len, struct policy_launch_request *out,
			 struct policy_request_store **store, struct cp_err *err);
void policy_request_free(struct policy_request_store *store);

const char *policy_dev_kind_name(enum policy_dev_kind k);
/* Every class's name in order, then NULL (the devices object's keys, a request's kinds). */
void policy_dev_kind_names(const char *out[POLICY_DEV__COUNT + 1]);
const char *policy_isolation_name(enum policy_isolation i);

#endif

/* `carapace measure`: the thin shell around memenc's pure core. Reads files, builds the launch
 * plan, prints the measurement (last line) and, with --json, every intermediate value.
 * Option names follow sev-snp-measure so its users' scripts port. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "memenc/cli.h"
#include "common/util.h"
#include "memenc/ccel.h"
#include "memenc/hash.h"
#include "memenc/id_block.h"
#include "memenc/plan.h"
#include "memenc/tdx_boot.h"

#define FIRMWARE_MAX (256u << 20)
#define BLOB_MAX (1u << 30)
#define LOG_MAX (64u << 20)
#define KEY_MAX (64u << 10)

enum {
	OPT_PLATFORM = 0x100, OPT_FIRMWARE, OPT_VCPUS, OPT_VCPU_TYPE, OPT_VCPU_SIG, OPT_VCPU_FAMILY,
	OPT_VCPU_MODEL, OPT_VCPU_STEPPING, OPT_VMM_TYPE, OPT_GUEST_FEATURES, OPT_KERNEL, OPT_INITRD,
	OPT_APPEND, OPT_OUTPUT_FORMAT, OPT_JSON, OPT_ID_KEY, OPT_AUTHOR_KEY, OPT_ID_BLOCK_OUT,
	OPT_ID_AUTH_OUT, OPT_POLICY, OPT_FAMILY_ID, OPT_IMAGE_ID, OPT_GUEST_SVN, OPT_CCEL_LOG, OPT_TD_HOB,
	OPT_SNP_OVMF_HASH, OPT_MEMORY, OPT_LAYOUT_OUT, OPT_CBIT, OPT_SNP_VALIDATE, OPT_VIRTIO_DEVICES, OPT_HELP,
};

static const struct option options[] = {
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "mode", required_argument, NULL, OPT_PLATFORM },
	{ "firmware", required_argument, NULL, OPT_FIRMWARE },
	{ "ovmf", required_argument, NULL, OPT_FIRMWARE },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "vcpu-type", required_argument, NULL, OPT_VCPU_TYPE },
	{ "vcpu-sig", required_argument, NULL, OPT_VCPU_SIG },
	{ "vcpu-family", required_argument, NULL, OPT_VCPU_FAMILY },
	{ "vcpu-model", required_argument, NULL, OPT_VCPU_MODEL },
	{ "vcpu-stepping", required_argument, NULL, OPT_VCPU_STEPPING },
	{ "vmm-type", required_argument, NULL, OPT_VMM_TYPE },
	{ "guest-features", required_argument, NULL, OPT_GUEST_FEATURES },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "output-format", required_argument, NULL, OPT_OUTPUT_FORMAT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "id-key", required_argument, NULL, OPT_ID_KEY },
	{ "author-key", required_argument, NULL, OPT_AUTHOR_KEY },
	{ "id-block-out", required_argument, NULL, OPT_ID_BLOCK_OUT },
	{ "id-auth-out", required_argument, NULL, OPT_ID_AUTH_OUT },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "family-id", required_argument, NULL, OPT_FAMILY_ID },
	{ "image-id", required_argument, NULL, OPT_IMAGE_ID },
	{ "guest-svn", required_argument, NULL, OPT_GUEST_SVN },
	{ "ccel-log", required_argument, NULL, OPT_CCEL_LOG },
	{ "td-hob", required_argument, NULL, OPT_TD_HOB },
	{ "snp-ovmf-hash", required_argument, NULL, OPT_SNP_OVMF_HASH },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "layout-out", required_argument, NULL, OPT_LAYOUT_OUT },
	{ "cbit", required_argument, NULL, OPT_CBIT },
	{ "snp-validate", required_argument, NULL, OPT_SNP_VALIDATE },
	{ "virtio-devices", required_argument, NULL, OPT_VIRTIO_DEVICES },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct measure_args {
	const char *platform, *firmware, *vcpu_type, *vmm_type, *kernel, *initrd, *append;
	const char *output_format, *id_key, *author_key, *id_block_out, *id_auth_out;
	const char *family_id, *image_id, *ccel_log, *td_hob, *snp_ovmf_hash;
	const char *vcpus, *vcpu_sig, *vcpu_family, *vcpu_model, *vcpu_stepping, *guest_features;
	const char *policy, *guest_svn, *memory, *layout_out, *cbit, *snp_validate, *virtio_devices;
	bool json, ovmf_hash_mode;
};

static void usage(FILE *f)
{
	fputs("usage: carapace measure --platform snp|sev-es|sev|tdx --firmware FILE [--vcpus N]\n"
	      "         [--vcpu-type NAME | --vcpu-sig HEX | --vcpu-family N --vcpu-model N --vcpu-stepping N]\n"
	      "         [--vmm-type qemu|ec2|gce] [--guest-features HEX] [--kernel F [--initrd F] [--append STR]]\n"
	      "         [--output-format hex|base64] [--json] [--snp-ovmf-hash HEX]\n"
	      "         [--id-key PEM [--author-key PEM] [--id-block-out F] [--id-auth-out F]\n"
	      "          [--policy HEX] [--family-id HEX] [--image-id HEX] [--guest-svn N]]\n"
	      "       carapace measure --platform tdx [--firmware FILE] [--td-hob F] [--ccel-log FILE]\n"
	      "       carapace measure --platform snp|tdx --kernel bzImage [--initrd F] [--append STR] --vcpus N\n"
	      "         --memory SIZE [--cbit N] [--snp-validate zero|stub] [--virtio-devices N] [--json]\n"
	      "         (firmware-less direct boot; N: the VM's --device count, which the measured DSDT describes)\n"
	      "--layout-out DIR (with --firmware too) writes the plan: plan.jsonl, pages.bin, acpi/*.dat.\n"
	      "--mode is an alias of --platform, --ovmf of --firmware (sev-snp-measure's names).\n"
	      "The last line printed is the measurement. See carapace-measure(1).\n", f);
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "carapace measure: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void print_digest(const uint8_t *d, size_t len, bool base64)
{
	if (base64) {
		unsigned char out[4 * ((48 + 2) / 3) + 1];
		EVP_EncodeBlock(out, d, (int)len);
		printf("%s\n", out);
	} else {
		char hex[2 * 48 + 1];
		cp_hex_encode(d, len, hex);
		printf("%s\n", hex);
	}
}

static json_object *jhex(const uint8_t *d, size_t len)
{
	char hex[2 * 4096 + 1];
	if (len > 4096)
		len = 4096;
	cp_hex_encode(d, len, hex);
	return json_object_new_string(hex);
}

static json_object *jhex64(uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	return json_object_new_string(s);
}

struct steps {
	size_t n;
	uint8_t (*running)[48];
	size_t len;
};

static void on_step(void *ctx, size_t op, const uint8_t *running, size_t len)
{
	struct steps *s = ctx;
	if (op < s->n) {
		memcpy(s->running[op], running, len);
		s->len = len;
	}
}

static int parse_u32_opt(const char *name, const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (cp_parse_u64(s, &v) < 0 || v > max) {
		fprintf(stderr, "carapace measure: %s: '%s' is not a number in 0..%u\n", name, s, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "we");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "carapace measure: %s: cannot write: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Adds the ID block outputs; prints key digests. */
static int do_id_block(const struct measure_args *a, const uint8_t ld[48], json_object *j)
{
	struct memenc_id_block_params p = { .policy = MEMENC_SNP_POLICY_DEFAULT };
	_cleanup_free_ uint8_t *pem = NULL, *apem = NULL;
	size_t pem_len = 0, apem_len = 0;
	EVP_PKEY *id = NULL, *author = NULL;
	uint8_t block[MEMENC_ID_BLOCK_LEN], auth[MEMENC_ID_AUTH_LEN], idd[48], ad[48];
	struct cp_err err = { 0 };
	char hex[97];
	int r;

	memcpy(p.launch_digest, ld, 48);
	if (a->policy && cp_parse_u64(a->policy, &p.policy) < 0)
		return fail(CP_EXIT_USAGE, "--policy: '%s' is not a number", a->policy);
	if (a->guest_svn && parse_u32_opt("--guest-svn", a->guest_svn, UINT32_MAX, &p.guest_svn) < 0)
		return CP_EXIT_USAGE;
	if (a->family_id && cp_hex_decode(a->family_id, p.family_id, 16, &err) < 0)
		return fail(CP_EXIT_USAGE, "--family-id: %s", err.msg);
	if (a->image_id && cp_hex_decode(a->image_id, p.image_id, 16, &err) < 0)
		return fail(CP_EXIT_USAGE, "--image-id: %s", err.msg);
	r = cp_file_read(a->id_key, KEY_MAX, &pem, &pem_len, &err);
	if (r == 0)
		r = memenc_id_key_load(pem, pem_len, &id, &err);
	if (pem)
		cp_wipe(pem, pem_len); /* private key material: do not leave it in the heap */
	if (r == 0 && a->author_key) {
		r = cp_file_read(a->author_key, KEY_MAX, &apem, &apem_len, &err);
		if (r == 0)
			r = memenc_id_key_load(apem, apem_len, &author, &err);
		if (apem)
			cp_wipe(apem, apem_len);
		if (r < 0)
			cp_err_prefix(&err, "author key: ");
	}
	if (r == 0)
		r = memenc_id_block_build(&p, id, author, block, auth, idd, ad, &err);
	EVP_PKEY_free(id);
	EVP_PKEY_free(author);
	if (r < 0)
		return fail(CP_EXIT_FAILURE, "%s", err.msg);
	if (a->id_block_out && write_file(a->id_block_out, block, sizeof(block)) < 0)
		return CP_EXIT_FAILURE;
	if (a->id_auth_out && write_file(a->id_auth_out, auth, sizeof(auth)) < 0)
		return CP_EXIT_FAILURE;
	if (j) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id_block", jhex(block, sizeof(block)));
		json_object_object_add(o, "id_key_digest", jhex(idd, 48));
		json_object_object_add(o, "author_key_digest", jhex(ad, 48));
		json_object_object_add(o, "policy", jhex64(p.policy));
		json_object_object_add(j, "id_block", o);
	} else {
		cp_hex_encode(idd, 48, hex);
		printf("id_key_digest: %s\n", hex);
		cp_hex_encode(ad, 48, hex);
		printf("author_key_digest: %s\n", hex);
	}
	return CP_EXIT_OK;
}

static json_object *json_plan(const struct memenc_plan *plan, const struct steps *st)
{
	json_object *ops = json_object_new_array();

	for (size_t i = 0; i < plan->n; i++) {
		const struct memenc_plan_op *op = &plan->ops[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "what", json_object_new_string(op->what));
		json_object_object_add(o, "type", json_object_new_string(memenc_op_type_name(op->type)));
		json_object_object_add(o, "gpa", jhex64(op->gpa));
		json_object_object_add(o, "len", jhex64(op->len));
		if (op->vcpu >= 0)
			json_object_object_add(o, "vcpu", json_object_new_int(op->vcpu));
		if (op->section >= 0)
			json_object_object_add(o, "section", json_object_new_int(op->section));
		/* Single measured pages (VMSAs, the kernel-hashes page): their own digest helps
		 * compare with what a VMM dumps. */
		if (op->data && op->len == MEMENC_PAGE_SIZE) {
			uint8_t d[48];
			if (memenc_sha384(op->data, op->len, d, NULL) == 0)
				json_object_object_add(o, "contents_sha384", jhex(d, 48));
		}
		if (st->len)
			json_object_object_add(o, "running", jhex(st->running[i], st->len));
		json_object_array_add(ops, o);
	}
	return ops;
}

static json_object *json_firmware(const struct memenc_plan *plan, size_t fw_len)
{
	json_object *fw = json_object_new_object(), *tab = json_object_new_array();

	json_object_object_add(fw, "size", jhex64(fw_len));
	json_object_object_add(fw, "gpa", jhex64(plan->fw_gpa));
	for (size_t i = 0; i < plan->table.n; i++) {
		json_object *e = json_object_new_object();
		char g[37];
		memenc_guid_format(plan->table.e[i].guid, g);
		json_object_object_add(e, "guid", json_object_new_string(g));
		json_object_object_add(e, "offset", jhex64(plan->table.e[i].offset));
		json_object_object_add(e, "data", jhex(plan->table.e[i].data, plan->table.e[i].len));
		json_object_array_add(tab, e);
	}
	json_object_object_add(fw, "footer_table", tab);
	if (plan->sev.present) {
		json_object *secs = json_object_new_array();
		for (size_t i = 0; i < plan->sev.n; i++) {
			json_object *s = json_object_new_object();
			json_object_object_add(s, "type", json_object_new_string(memenc_sev_section_name(plan->sev.s[i].type)));
			json_object_object_add(s, "gpa", jhex64(plan->sev.s[i].gpa));
			json_object_object_add(s, "size", jhex64(plan->sev.s[i].size));
			json_object_array_add(secs, s);
		}
		json_object_object_add(fw, "sev_metadata", secs);
	}
	if (plan->tdvf.present) {
		json_object *secs = json_object_new_array();
		for (size_t i = 0; i < plan->tdvf.n; i++) {
			const struct memenc_tdvf_section *t = &plan->tdvf.s[i];
			json_object *s = json_object_new_object();
			json_object_object_add(s, "type", json_object_new_string(memenc_tdvf_section_name(t->type)));
			json_object_object_add(s, "data_offset", jhex64(t->data_offset));
			json_object_object_add(s, "raw_size", jhex64(t->raw_size));
			json_object_object_add(s, "gpa", jhex64(t->gpa));
			json_object_object_add(s, "mem_size", jhex64(t->mem_size));
			json_object_object_add(s, "attributes", jhex64(t->attributes));
			json_object_array_add(secs, s);
		}
		json_object_object_add(fw, "tdvf_metadata", secs);
	}
	return fw;
}

static int do_ccel(const char *path, json_object *j)
{
	_cleanup_free_ uint8_t *log = NULL;
	size_t len = 0, events = 0;
	uint8_t rtmr[4][48];
	struct cp_err err = { 0 };
	int r = cp_file_read(path, LOG_MAX, &log, &len, &err);

	if (r == 0)
		r = memenc_ccel_replay(log, len, rtmr, &events, &err);
	if (r < 0)
		return fail(CP_EXIT_FAILURE, "%s", err.msg);
	if (j) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "events_extended", json_object_new_int64((int64_t)events));
		for (int i = 0; i < 4; i++) {
			char k[8];
			snprintf(k, sizeof(k), "rtmr%d", i);
			json_object_object_add(o, k, jhex(rtmr[i], 48));
		}
		json_object_object_add(j, "ccel", o);
	}
	if (!j)
		for (int i = 0; i < 4; i++) {
			char hex[97];
			cp_hex_encode(rtmr[i], 48, hex);
			printf("rtmr%d: %s\n", i, hex);
		}
	return CP_EXIT_OK;
}

static int parse_args(int argc, char **argv, struct measure_args *a)
{
	int c;

	optind = 0; /* glibc: full re-initialisation, so the entry point can be called repeatedly */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_PLATFORM: a->platform = optarg; break;
		case OPT_FIRMWARE: a->firmware = optarg; break;
		case OPT_VCPUS: a->vcpus = optarg; break;
		case OPT_VCPU_TYPE: a->vcpu_type = optarg; break;
		case OPT_VCPU_SIG: a->vcpu_sig = optarg; break;
		case OPT_VCPU_FAMILY: a->vcpu_family = optarg; break;
		case OPT_VCPU_MODEL: a->vcpu_model = optarg; break;
		case OPT_VCPU_STEPPING: a->vcpu_stepping = optarg; break;
		case OPT_VMM_TYPE: a->vmm_type = optarg; break;
		case OPT_GUEST_FEATURES: a->guest_features = optarg; break;
		case OPT_KERNEL: a->kernel = optarg; break;
		case OPT_INITRD: a->initrd = optarg; break;
		case OPT_APPEND: a->append = optarg; break;
		case OPT_OUTPUT_FORMAT: a->output_format = optarg; break;
		case OPT_JSON: a->json = true; break;
		case OPT_ID_KEY: a->id_key = optarg; break;
		case OPT_AUTHOR_KEY: a->author_key = optarg; break;
		case OPT_ID_BLOCK_OUT: a->id_block_out = optarg; break;
		case OPT_ID_AUTH_OUT: a->id_auth_out = optarg; break;
		case OPT_POLICY: a->policy = optarg; break;
		case OPT_FAMILY_ID: a->family_id = optarg; break;
		case OPT_IMAGE_ID: a->image_id = optarg; break;
		case OPT_GUEST_SVN: a->guest_svn = optarg; break;
		case OPT_CCEL_LOG: a->ccel_log = optarg; break;
		case OPT_TD_HOB: a->td_hob = optarg; break;
		case OPT_SNP_OVMF_HASH: a->snp_ovmf_hash = optarg; break;
		case OPT_MEMORY: a->memory = optarg; break;
		case OPT_LAYOUT_OUT: a->layout_out = optarg; break;
		case OPT_CBIT: a->cbit = optarg; break;
		case OPT_VIRTIO_DEVICES: a->virtio_devices = optarg; break;
		case OPT_SNP_VALIDATE: a->snp_validate = optarg; break;
		case 'h':
		case OPT_HELP: usage(stdout); return 1;
		default:
			fprintf(stderr, "carapace measure: unknown or incomplete option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "carapace measure: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Validates the option combination and fills the launch options. */
static int launch_opts(const struct measure_args *a, struct memenc_launch_opts *o)
{
	struct cp_err err = { 0 };
	uint64_t v;

	if (a->vmm_type && memenc_vmm_type_parse(a->vmm_type, &o->vmm, &err) < 0)
		return fail(CP_EXIT_USAGE, "%s", err.msg);
	if ((a->initrd || a->append) && !a->kernel)
		return fail(CP_EXIT_USAGE, "%s", "--initrd and --append need --kernel");
	o->guest_features = 0x1;
	if (a->guest_features) {
		if (o->platform != MEMENC_PLATFORM_SNP)
			return fail(CP_EXIT_USAGE, "%s", "--guest-features applies to --platform snp only");
		if (cp_parse_u64(a->guest_features, &o->guest_features) < 0)
			return fail(CP_EXIT_USAGE, "--guest-features: '%s' is not a number", a->guest_features);
	}
	if (o->platform != MEMENC_PLATFORM_SNP && o->platform != MEMENC_PLATFORM_SEV_ES) {
		if (a->vcpus || a->vcpu_type || a->vcpu_sig || a->vcpu_family)
			return fail(CP_EXIT_USAGE, "%s", "--vcpus/--vcpu-* apply to --platform snp and sev-es only");
		return 0;
	}
	if (!a->vcpus)
		return fail(CP_EXIT_USAGE, "--vcpus N is required with --platform %s", memenc_platform_name(o->platform));
	if (cp_parse_u64(a->vcpus, &v) < 0 || v < 1 || v > MEMENC_VCPUS_MAX) {
		fprintf(stderr, "carapace measure: --vcpus: '%s' is not a number in 1..%u\n", a->vcpus, MEMENC_VCPUS_MAX);
		return CP_EXIT_USAGE;
	}
	o->vcpus = (unsigned)v;
	if ((a->vcpu_type != NULL) + (a->vcpu_sig != NULL) + (a->vcpu_family != NULL) > 1)
		return fail(CP_EXIT_USAGE, "%s", "give one of --vcpu-type, --vcpu-sig, --vcpu-family");
	if (a->vcpu_family) {
		uint32_t f, m, s;
		if (!a->vcpu_model || !a->vcpu_stepping)
			return fail(CP_EXIT_USAGE, "%s", "--vcpu-family needs --vcpu-model and --vcpu-stepping");
		if (parse_u32_opt("--vcpu-family", a->vcpu_family, 0xff + 0xf, &f) < 0 ||
		    parse_u32_opt("--vcpu-model", a->vcpu_model, 0xff, &m) < 0 ||
		    parse_u32_opt("--vcpu-stepping", a->vcpu_stepping, 0xf, &s) < 0)
			return CP_EXIT_USAGE;
		o->vcpu_sig = memenc_cpu_sig(f, m, s);
	} else if (a->vcpu_sig) {
		if (parse_u32_opt("--vcpu-sig", a->vcpu_sig, UINT32_MAX, &o->vcpu_sig) < 0)
			return CP_EXIT_USAGE;
	} else if (a->vcpu_type) {
		if (memenc_cpu_sig_by_name(a->vcpu_type, &o->vcpu_sig, &err) < 0)
			return fail(CP_EXIT_USAGE, "%s", err.msg);
	} else if (o->vmm == MEMENC_VMM_QEMU) {
		/* QEMU puts the signature in RDX: guessing it would give a wrong digest. */
		return fail(CP_EXIT_USAGE, "missing --vcpu-type, --vcpu-sig or --vcpu-family with --platform %s",
			    memenc_platform_name(o->platform));
	}
	if ((a->vcpu_model || a->vcpu_stepping) && !a->vcpu_family)
		return fail(CP_EXIT_USAGE, "%s", "--vcpu-model/--vcpu-stepping need --vcpu-family");
	return 0;
}

/* --layout-out: the plan as independent checkers read it. plan.jsonl has one object per 4 KiB
 * page in launch order; pages.bin holds each page's contents (page 0 of pages.bin is the zero
 * page every content-less page points at); acpi/<SIG>.dat each ACPI table, acpi/RSDP.dat. */
static const char *layout_type(enum memenc_op_type t)
{
	switch (t) {
	case MEMENC_OP_SNP_NORMAL: return "normal";
	case MEMENC_OP_SNP_ZERO: return "zero";
	case MEMENC_OP_SNP_UNMEASURED: return "unmeasured";
	case MEMENC_OP_SNP_SECRETS: return "secrets";
	case MEMENC_OP_SNP_CPUID: return "cpuid";
	case MEMENC_OP_SNP_VMSA: return "vmsa";
	case MEMENC_OP_TDX_ADD: return "normal";
	case MEMENC_OP_TDX_ADD_EXTEND: return "normal";
	default: return NULL;
	}
}

static int write_layout(const char *dir, const struct memenc_plan *plan)
{
	static const uint8_t zero[MEMENC_PAGE_SIZE];
	char path[4096];
	FILE *jl = NULL, *pb = NULL;
	uint64_t off = MEMENC_PAGE_SIZE;
	int r = -EIO;

	if (plan->platform != MEMENC_PLATFORM_SNP && plan->platform != MEMENC_PLATFORM_TDX)
		return fail(CP_EXIT_USAGE, "--layout-out: the page format exists for snp and tdx, not %s",
			    memenc_platform_name(plan->platform)), -EINVAL;
	snprintf(path, sizeof(path), "%s/acpi", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || (mkdir(path, 0755) < 0 && errno != EEXIST))
		return fail(CP_EXIT_FAILURE, "--layout-out %s: %s", path, strerror(errno)), -EIO;
	snprintf(path, sizeof(path), "%s/plan.jsonl", dir);
	jl = fopen(path, "we");
	snprintf(path, sizeof(path), "%s/pages.bin", dir);
	pb = jl ? fopen(path, "we") : NULL;
	if (!jl || !pb || fwrite(zero, 1, sizeof(zero), pb) != sizeof(zero))
		goto out;
	for (size_t i = 0; i < plan->n; i++) {
		const struct memenc_plan_op *op = &plan->ops[i];
		const char *type = layout_type(op->type);
		/* SNP: every page enters the launch digest; TDX: only MR.EXTENDed pages do. */
		bool measured = plan->platform == MEMENC_PLATFORM_SNP || op->type == MEMENC_OP_TDX_ADD_EXTEND;
		/* The CPUID page is measured as zeros (the VMM fills it, the firmware checks it). */
		bool contents = op->data && op->type != MEMENC_OP_SNP_CPUID;

		if (!type || op->len % MEMENC_PAGE_SIZE) {
			fprintf(stderr, "carapace measure: --layout-out: op %zu (%s) is not whole pages\n", i, op->what);
			goto out;
		}
		for (uint64_t p = 0; p < op->len; p += MEMENC_PAGE_SIZE) {
			uint64_t at = 0;
			if (contents) {
				if (fwrite(op->data + p, 1, MEMENC_PAGE_SIZE, pb) != MEMENC_PAGE_SIZE)
					goto out;
				at = off;
				off += MEMENC_PAGE_SIZE;
			}
			fprintf(jl, "{\"gpa\": %llu, \"type\": \"%s\", \"measured\": %s, \"offset\": %llu}\n",
				(unsigned long long)(op->type == MEMENC_OP_SNP_VMSA ? op->gpa : op->gpa + p), type,
				measured ? "true" : "false", (unsigned long long)at);
		}
	}
	if (plan->direct) {
		const struct db_layout *l = plan->direct;
		for (unsigned i = 0; i < l->acpi.n; i++) {
			const struct acpi_table_ref *t = &l->acpi.t[i];
			snprintf(path, sizeof(path), "%s/acpi/%s.dat", dir, t->sig);
			if (write_file(path, l->low + DB_ACPI + t->off, t->len) < 0)
				goto out;
		}
	}
	r = 0;
out:
	if (jl && fclose(jl) != 0)
		r = -EIO;
	if (pb && fclose(pb) != 0)
		r = -EIO;
	if (r < 0)
		fprintf(stderr, "carapace measure: --layout-out %s: cannot write: %s\n", dir, strerror(errno));
	return r;
}

/* No firmware: the firmware-less direct boot of a bzImage (SNP; TDX with the measured stub). */
static int run_direct(const struct measure_args *a, struct memenc_launch_opts *o, bool base64, json_object *j)
{
	struct db_input in = { 0 };
	struct memenc_plan plan = { 0 };
	struct cp_err err = { 0 };
	_cleanup_free_ uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0, out_len = 0;
	uint8_t out[48];
	uint64_t v;
	int r;

	if (a->vcpu_type || a->vcpu_sig || a->vcpu_family || a->td_hob || a->snp_ovmf_hash)
		return fail(CP_EXIT_USAGE, "%s", "--vcpu-type/--vcpu-sig/--vcpu-family/--td-hob/--snp-ovmf-hash do not "
			    "apply to a firmware-less direct boot (its vCPUs start in long mode)");
	if (a->vmm_type && memenc_vmm_type_parse(a->vmm_type, &o->vmm, &err) < 0)
		return fail(CP_EXIT_USAGE, "%s", err.msg);
	o->guest_features = 0x1;
	if (a->guest_features && (o->platform != MEMENC_PLATFORM_SNP ||
				  cp_parse_u64(a->guest_features, &o->guest_features) < 0))
		return fail(CP_EXIT_USAGE, "--guest-features: '%s' (snp only, a number)", a->guest_features);
	if (!a->vcpus || cp_parse_u64(a->vcpus, &v) < 0 || v < 1 || v > ACPI_MAX_CPUS)
		return fail(CP_EXIT_USAGE, "--vcpus N (1..%u) is required for a direct boot", ACPI_MAX_CPUS);
	o->vcpus = in.vcpus = (unsigned)v;
	if (!a->memory || cp_parse_size(a->memory, 1ull << 20, &in.mem_size) < 0)
		return fail(CP_EXIT_USAGE, "%s", "--memory SIZE (e.g. 512M, 16G) is required for a direct boot");
	if (a->virtio_devices) {
		if (cp_parse_u64(a->virtio_devices, &v) < 0 || v > ACPI_MAX_DEVICES)
			return fail(CP_EXIT_USAGE, "--virtio-devices: '%s' is not a number in 0..%u", a->virtio_devices,
				    ACPI_MAX_DEVICES);
		in.ndevs = (unsigned)v;
	}
	if (a->cbit) {
		if (o->platform != MEMENC_PLATFORM_SNP || cp_parse_u64(a->cbit, &v) < 0 || v < 32 || v > 63)
			return fail(CP_EXIT_USAGE, "--cbit: '%s' (snp only, 32..63)", a->cbit);
		in.cbit = (unsigned)v;
	}
	/* How SNP RAM is validated changes the plan: ZERO pages, or the measured stub's page. */
	if (o->platform == MEMENC_PLATFORM_SNP)
		in.snp_validate = DB_VALIDATE_DEFAULT;
	if (a->snp_validate && (o->platform != MEMENC_PLATFORM_SNP ||
				db_snp_validate_parse(a->snp_validate, &in.snp_validate, &err) < 0))
		return fail(CP_EXIT_USAGE, "--snp-validate: '%s' (snp only: zero or stub)", a->snp_validate);
	r = cp_file_read(a->kernel, BLOB_MAX, &kernel, &kernel_len, &err);
	if (r == 0 && a->initrd)
		r = cp_file_read(a->initrd, BLOB_MAX, &initrd, &initrd_len, &err);
	in.kernel = kernel;
	in.kernel_len = kernel_len;
	in.initrd = a->initrd ? initrd : NULL;
	in.initrd_len = initrd_len;
	in.cmdline = a->append;
	if (r == 0)
		r = memenc_plan_build_direct(&plan, &in, o, &err);
	if (r == 0)
		r = memenc_plan_measure(&plan, out, &out_len, NULL, NULL, &err);
	if (r < 0) {
		memenc_plan_free(&plan);
		return fail(CP_EXIT_FAILURE, "%s", err.msg);
	}
	if (a->layout_out && write_layout(a->layout_out, &plan) < 0) {
		memenc_plan_free(&plan);
		return CP_EXIT_FAILURE;
	}
	if (j) {
		struct steps st = { 0 };
		json_object_object_add(j, "platform", json_object_new_string(memenc_platform_name(o->platform)));
		json_object_object_add(j, "boot", json_object_new_string("direct (no firmware)"));
		json_object_object_add(j, "vcpus", json_object_new_int((int)o->vcpus));
		json_object_object_add(j, "virtio_devices", json_object_new_int((int)in.ndevs));
		json_object_object_add(j, "memory", jhex64(in.mem_size));
		json_object_object_add(j, "kernel_gpa", jhex64(plan.direct->kernel_gpa));
		json_object_object_add(j, "entry", jhex64(plan.direct->entry.rip));
		if (o->platform == MEMENC_PLATFORM_SNP)
			json_object_object_add(j, "snp_validate", json_object_new_string(db_snp_validate_name(in.snp_validate)));
		json_object_object_add(j, "plan", json_plan(&plan, &st));
		json_object_object_add(j, "measurement", jhex(out, out_len));
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	}
	memenc_plan_free(&plan);
	print_digest(out, out_len, base64);
	fflush(stdout);
	return CP_EXIT_OK;
}

static int run(const struct measure_args *a)
{
	struct memenc_launch_opts o = { 0 };
	struct memenc_plan plan = { 0 };
	struct cp_err err = { 0 };
	_cleanup_free_ uint8_t *fw = NULL, *kernel = NULL, *initrd = NULL, *hob = NULL;
	size_t fw_len = 0, kernel_len = 0, initrd_len = 0, hob_len = 0, out_len = 0;
	uint8_t out[48], seed[48];
	struct steps st = { 0 };
	struct memenc_tdx_boot tdx_boot;
	bool have_tdx_boot = false;
	json_object *j = NULL;
	bool base64 = false;
	int r, rc = CP_EXIT_FAILURE;

	if (!a->platform)
		return fail(CP_EXIT_USAGE, "%s", "--platform (or --mode) is required");
	if (strcmp(a->platform, "snp:ovmf-hash") == 0) {
		o.platform = MEMENC_PLATFORM_SNP;
		if (!a->firmware)
			return fail(CP_EXIT_USAGE, "%s", "--firmware FILE is required");
	} else if (memenc_platform_parse(a->platform, &o.platform, &err) < 0) {
		return fail(CP_EXIT_USAGE, "%s", err.msg);
	}
	if (a->output_format) {
		if (strcmp(a->output_format, "base64") == 0)
			base64 = true;
		else if (strcmp(a->output_format, "hex") != 0)
			return fail(CP_EXIT_USAGE, "--output-format: '%s' (hex or base64)", a->output_format);
	}
	if (a->ccel_log && o.platform != MEMENC_PLATFORM_TDX)
		return fail(CP_EXIT_USAGE, "%s", "--ccel-log applies to --platform tdx");
	if (a->td_hob && o.platform != MEMENC_PLATFORM_TDX)
		return fail(CP_EXIT_USAGE, "%s", "--td-hob applies to --platform tdx");
	if (a->id_key && o.platform != MEMENC_PLATFORM_SNP)
		return fail(CP_EXIT_USAGE, "%s", "--id-key applies to --platform snp");
	if ((a->author_key || a->id_block_out || a->id_auth_out || a->policy || a->family_id || a->image_id ||
	     a->guest_svn) && !a->id_key)
		return fail(CP_EXIT_USAGE, "%s", "ID block options need --id-key");
	if (a->snp_ovmf_hash && o.platform != MEMENC_PLATFORM_SNP)
		return fail(CP_EXIT_USAGE, "%s", "--snp-ovmf-hash applies to --platform snp");
	if (a->snp_ovmf_hash && cp_hex_decode(a->snp_ovmf_hash, seed, 48, &err) < 0)
		return fail(CP_EXIT_USAGE, "--snp-ovmf-hash: %s", err.msg);
	if (a->json)
		j = json_object_new_object();

	if (!a->firmware && a->kernel && (o.platform == MEMENC_PLATFORM_SNP || o.platform == MEMENC_PLATFORM_TDX) &&
	    !a->ccel_log) {
		rc = run_direct(a, &o, base64, j);
		json_object_put(j);
		return rc;
	}
	if (a->memory || a->cbit || a->snp_validate || a->virtio_devices) {
		json_object_put(j);
		return fail(CP_EXIT_USAGE, "%s", "--memory, --cbit, --snp-validate and --virtio-devices describe a firmware-less direct boot "
			    "(--kernel without --firmware)");
	}

	if (o.platform == MEMENC_PLATFORM_TDX && !a->firmware) {
		if (!a->ccel_log || a->kernel) {
			json_object_put(j);
			return fail(CP_EXIT_USAGE, "%s", "--platform tdx needs --firmware (and --kernel needs it too) "
				    "and/or --ccel-log");
		}
		rc = do_ccel(a->ccel_log, j);
		if (j && rc == CP_EXIT_OK)
			printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
		return rc;
	}
	if (!a->firmware) {
		json_object_put(j);
		return fail(CP_EXIT_USAGE, "%s", "--firmware FILE is required");
	}
	if (strcmp(a->platform, "snp:ovmf-hash") != 0) {
		rc = launch_opts(a, &o);
		if (rc != 0)
			goto out;
	}
	rc = CP_EXIT_FAILURE;
	r = cp_file_read(a->firmware, FIRMWARE_MAX, &fw, &fw_len, &err);
	if (r == 0 && a->kernel) {
		r = cp_file_read(a->kernel, BLOB_MAX, &kernel, &kernel_len, &err);
		if (r == 0 && a->initrd)
			r = cp_file_read(a->initrd, BLOB_MAX, &initrd, &initrd_len, &err);
		if (r == 0 && o.platform == MEMENC_PLATFORM_TDX) {
			/* TDX: the kernel is not in the launch plan (MRTD); the firmware and the kernel's
			 * EFI stub extend RTMR1/RTMR2 instead. */
			r = memenc_tdx_direct_boot(kernel, kernel_len, a->initrd ? initrd : NULL, initrd_len, a->append,
						   &tdx_boot, &err);
			have_tdx_boot = r == 0;
		} else if (r == 0) {
			r = memenc_sev_hashes_compute(kernel, kernel_len, a->initrd ? initrd : NULL, initrd_len,
						      a->append, &o.hashes, &err);
			o.kernel = true;
		}
	}
	if (r == 0 && a->td_hob) {
		r = cp_file_read(a->td_hob, 64u << 20, &hob, &hob_len, &err);
		o.td_hob = hob;
		o.td_hob_len = hob_len;
	}
	if (r == 0 && strcmp(a->platform, "snp:ovmf-hash") == 0) {
		/* Firmware pages only: the digest sev-snp-measure's --snp-ovmf-hash takes. */
		o.vcpus = 1;
		r = memenc_plan_build(&plan, fw, fw_len, &o, &err);
		if (r == 0) {
			plan.n = 1;
			r = memenc_plan_measure(&plan, out, &out_len, NULL, NULL, &err);
		}
		if (r < 0)
			goto fail_msg;
		print_digest(out, out_len, base64);
		rc = CP_EXIT_OK;
		goto out;
	}
	if (r == 0)
		r = memenc_plan_build(&plan, fw, fw_len, &o, &err);
	if (r < 0)
		goto fail_msg;
	st.n = plan.n;
	st.running = calloc(plan.n ? plan.n : 1, sizeof(*st.running));
	if (!st.running) {
		fprintf(stderr, "carapace measure: out of memory\n");
		goto out;
	}
	if (a->snp_ovmf_hash)
		r = memenc_plan_measure_snp_from(&plan, seed, out, on_step, &st, &err), out_len = 48;
	else
		r = memenc_plan_measure(&plan, out, &out_len, on_step, &st, &err);
	if (r < 0)
		goto fail_msg;
	if (j) {
		json_object_object_add(j, "platform", json_object_new_string(memenc_platform_name(o.platform)));
		json_object_object_add(j, "firmware", json_firmware(&plan, fw_len));
		if (o.platform == MEMENC_PLATFORM_SNP || o.platform == MEMENC_PLATFORM_SEV_ES) {
			json_object_object_add(j, "vcpus", json_object_new_int((int)o.vcpus));
			json_object_object_add(j, "vcpu_sig", jhex64(o.vcpu_sig));
			json_object_object_add(j, "vmm_type", json_object_new_string(memenc_vmm_type_name(o.vmm)));
		}
		if (o.platform == MEMENC_PLATFORM_SNP)
			json_object_object_add(j, "guest_features", jhex64(o.guest_features));
		if (o.kernel) {
			json_object *k = json_object_new_object();
			json_object_object_add(k, "cmdline_sha256", jhex(o.hashes.cmdline, 32));
			json_object_object_add(k, "initrd_sha256", jhex(o.hashes.initrd, 32));
			json_object_object_add(k, "kernel_sha256", jhex(o.hashes.kernel, 32));
			json_object_object_add(j, "kernel_hashes", k);
		}
		json_object_object_add(j, "plan", json_plan(&plan, &st));
		json_object_object_add(j, "measurement", jhex(out, out_len));
	}
	if (a->layout_out && write_layout(a->layout_out, &plan) < 0)
		goto out;
	if (a->id_key) {
		rc = do_id_block(a, out, j);
		if (rc != CP_EXIT_OK)
			goto out;
	}
	if (a->ccel_log) {
		rc = do_ccel(a->ccel_log, j);
		if (rc != CP_EXIT_OK)
			goto out;
	}
	if (have_tdx_boot) {
		char hex[97];
		if (j) {
			json_object *o2 = json_object_new_object(), *evs = json_object_new_array();
			for (size_t i = 0; i < tdx_boot.n; i++) {
				json_object *e = json_object_new_object();
				json_object_object_add(e, "rtmr", json_object_new_int((int)tdx_boot.ev[i].rtmr));
				json_object_object_add(e, "event_type", jhex64(tdx_boot.ev[i].type));
				json_object_object_add(e, "what", json_object_new_string(tdx_boot.ev[i].what));
				json_object_object_add(e, "digest", jhex(tdx_boot.ev[i].digest, 48));
				json_object_array_add(evs, e);
			}
			json_object_object_add(o2, "events", evs);
			json_object_object_add(o2, "rtmr1", jhex(tdx_boot.rtmr1, 48));
			json_object_object_add(o2, "rtmr2", jhex(tdx_boot.rtmr2, 48));
			json_object_object_add(j, "direct_boot", o2);
		} else {
			cp_hex_encode(tdx_boot.rtmr1, 48, hex);
			printf("rtmr1: %s\n", hex);
			cp_hex_encode(tdx_boot.rtmr2, 48, hex);
			printf("rtmr2: %s\n", hex);
		}
	}
	if (j)
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	print_digest(out, out_len, base64);
	rc = CP_EXIT_OK;
	goto out;
fail_msg:
	fprintf(stderr, "carapace measure: %s\n", err.msg);
	rc = CP_EXIT_FAILURE;
out:
	free(st.running);
	memenc_plan_free(&plan);
	json_object_put(j);
	fflush(stdout);
	return rc;
}

int memenc_cli_measure(int argc, char **argv)
{
	struct measure_args a = { 0 };
	int r = parse_args(argc, argv, &a);

	if (r > 0)
		return CP_EXIT_OK;
	if (r < 0)
		return CP_EXIT_USAGE;
	return run(&a);
}

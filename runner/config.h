/* `carapace run` options: one table (run_opt_defs[]) describes every option: its name, its
 * argument, whether a config file may hold it, and the field it sets. getopt's tables are
 * generated from it, and the JSON config file reads the same rows, so the command line and the
 * config map 1:1 for every option of a VM's configuration (struct run_opts); what only the
 * command line takes (struct run_cli) is refused by the config reader with the row's reason.
 * Parsing and validation are pure; files are opened by cli_run.c. */
#ifndef CARAPACE_RUNNER_CONFIG_H
#define CARAPACE_RUNNER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/run_limits.h"

struct run_opts {
	char *kernel, *initrd, *cmdline, *console, *name, *seccomp;
	uint64_t memory;        /* bytes */
	unsigned vcpus;
	char *cpu;              /* guest CPU model (runner/guest_cpuid.h); NULL: host */
	uint64_t timeout_ms;    /* 0 = none */
	uint64_t console_limit; /* bytes, 0 = unlimited */
	bool debug_exit, strict_io, quiet;
	bool attest;            /* record the launch in the host launch log (TPM PCR + event log) */
	char *tcti;             /* the TPM (NULL: $CARAPACE_TCTI, then device:/dev/tpmrm0) */
	unsigned pcr;           /* the host launch log's PCR (attest/tpm/hostlog.c judges it) */
	bool allow_resettable_pcr;
	char *state_dir;        /* event logs (NULL: $CARAPACE_STATE_DIR, then /var/lib/carapace) */
	char *snp_validate;     /* SEV-SNP direct boot: zero (default) | stub (memenc/direct_boot.h) */
	bool snp_cpuid_fixup;   /* SEV-SNP: accept, once, the CPUID page the firmware corrected (each change named) */
	bool direct_layout;  /* boot through the firmware-less direct-boot layout (memenc/direct_boot.h) */
	bool tdx_stub_test;  /* ... through the TDX stub, every vCPU at the reset vector (plain KVM) */
	char *devices[RUN_MAX_DEVICES]; /* --device specs, in order */
	unsigned ndevices;
	char *on_device_failure; /* stop (default) | continue */
	char *policy;           /* launch policy file */
	char *confidential;     /* required | preferred | off (default) */
	char *platform;         /* snp | tdx (default: what the host offers) */
	char *firmware;         /* OVMF/TDVF image for a confidential launch */
	char *id_block;         /* SEV-SNP: 96-byte ID block for SNP_LAUNCH_FINISH (carapace measure --id-block-out) */
	char *id_auth;          /* SEV-SNP: 4096-byte ID authentication block (--id-auth-out) */
	unsigned tsc_khz;       /* TDX: the TD's TSC frequency in kHz (0: the host's) */
	char *quote_service;    /* TDX: UNIX socket of the quote generation service (Intel QGS) for GetQuote */
	char *snp_certs;        /* SEV-SNP: GHCB certificate table handed to the guest's extended requests */
};

/* What only the command line says: one-shot actions, where the configuration comes from, how
 * this invocation is driven, the Firecracker-compatible front end. Never in a config file. */
struct run_cli {
	char *config;                /* --config FILE */
	bool help, print_launch_request, print_seccomp_policy;
	char *test_hook;             /* CARAPACE_TEST_HOOKS builds only */
	int api_control_fd;          /* set by the management API's controller; -1: none */
	char *api_sock, *config_file, *id, *level, *log_path; /* Firecracker-compatible front end */
	bool no_seccomp;
	bool firecracker;            /* not an option: any option of the Firecracker front end was given */
};

/* OPT_SIZE: a bare number is MiB (like --memory elsewhere); OPT_BYTES: a bare number is bytes.
 * OPT_LIST: repeatable; on the command line once per value, in JSON a string or an array.
 * OPT_FD: a descriptor number 3..1024 (whether it is open is the shell's to check). */
enum run_opt_type { OPT_STRING, OPT_SIZE, OPT_BYTES, OPT_UINT, OPT_SECONDS, OPT_FLAG, OPT_LIST, OPT_FD };

/* Where an option belongs. Only RUN_OPT_VM is a config-file key; each other scope has the one
 * reason the config reader gives when it refuses the key (run_opt_scope_why). */
enum run_opt_scope {
	RUN_OPT_VM,          /* a VM's configuration: command line and config file (struct run_opts) */
	RUN_OPT_ACTION,      /* command line only: a one-shot action that launches nothing */
	RUN_OPT_INVOCATION,  /* command line only: how this one invocation is driven */
	RUN_OPT_FIRECRACKER, /* command line only: the Firecracker-compatible front end */
	RUN_OPT__SCOPES,
};

/* Options that only mean something for a confidential guest, and the platform each is for: the
 * launch plan refuses them without --confidential, warns on a fallback to plain KVM, and refuses
 * them on the other platform (runner/launch_plan.c). */
enum run_opt_cc {
	RUN_CC_NO,     /* any VM */
	RUN_CC_EITHER, /* a confidential guest, SEV-SNP or TDX */
	RUN_CC_SNP,    /* an SEV-SNP guest */
	RUN_CC_TDX,    /* a TDX guest */
};

struct run_opt_def {
	const char *name;        /* long option (without "--"); for RUN_OPT_VM also the config key */
	enum run_opt_type type;  /* OPT_FLAG takes no argument, every other type one */
	enum run_opt_scope scope;
	char short_name;         /* -h, -q; 0: none */
	size_t offset;           /* the field it sets: in struct run_opts (RUN_OPT_VM) or struct run_cli */
	enum run_opt_cc cc;      /* RUN_OPT_VM rows: which guests it is for */
};

extern const struct run_opt_def run_opt_defs[];
extern const size_t run_opt_count;

/* The row of an option by its long name; NULL for anything outside the table. */
const struct run_opt_def *run_opt_find(const char *name);
/* Whether a RUN_OPT_VM option holds something in o: a string, a nonzero number, a true flag. */
bool run_opts_is_set(const struct run_opts *o, const struct run_opt_def *d);
/* Why a config file cannot hold an option of this scope; NULL for RUN_OPT_VM. */
const char *run_opt_scope_why(enum run_opt_scope scope);

#define RUN_DEFAULT_MEMORY (128ull << 20)
#define RUN_CONFIG_MAX (1u << 20) /* bytes of a --config file; a larger one is refused unread */

void run_opts_init(struct run_opts *o);
void run_opts_free(struct run_opts *o);

/* Apply one option of a VM's configuration by its long name (as on the command line, without
 * "--"); value is NULL for flags. Errors name the option and what was expected; a command-line-
 * only option is refused with its reason. */
int run_opts_set(struct run_opts *o, const char *name, const char *value, struct cp_err *err);

void run_cli_init(struct run_cli *c);
void run_cli_free(struct run_cli *c);
/* Apply one command-line-only option (scope other than RUN_OPT_VM). */
int run_cli_set(struct run_cli *c, const char *name, const char *value, struct cp_err *err);

/* One option of a VM's configuration as the command line gave it, kept to be applied after
 * the config file (the command line wins). Points into argv. */
struct run_arg {
	const char *name, *value;
};

/* Parse `carapace run`'s arguments (argv[0] is "run") with getopt_long tables generated from
 * run_opt_defs[]. Command-line-only options go to *cli at once, and parsing stops at an action
 * that ends the run (--help, --print-seccomp-policy) as it always did; options of the VM's
 * configuration are returned in order in vm_args (room for argc entries), for
 * run_opts_apply_args() after the config file. Errors are usage errors (an unknown option, a
 * missing value, a stray argument, a bad value) with the message the user sees. */
int run_args_parse(int argc, char **argv, struct run_cli *cli, struct run_arg *vm_args, unsigned *n_vm_args,
		   struct cp_err *err);
/* Apply run_args_parse()'s vm_args in order; an error is prefixed with "--". */
int run_opts_apply_args(struct run_opts *o, const struct run_arg *args, unsigned n, struct cp_err *err);

/* Apply a JSON document (the --config file's contents). Keys are the long option names; an
 * unknown key, a wrong type or a bad value is an error naming the key. Nothing is applied
 * unless the whole document is valid. */
int run_opts_from_json(struct run_opts *o, const char *json, size_t len, struct cp_err *err);

/* Final checks, some needing the host's limits (host_mem bytes of RAM). The first is the host
 * launch log's PCR (attest/tpm/hostlog.c's rule: 8..15, or 16..23 with allow_resettable_pcr):
 * the command line, the config file and the management API's options all meet it here. */
int run_opts_validate(const struct run_opts *o, uint64_t host_mem, struct cp_err *err);

/* Names of every config key (the RUN_OPT_VM rows) for error messages. */
const char *run_opts_known(void);

#endif

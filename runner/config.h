/* `carapace run` options: one table shared by the command line and the JSON config file, so
 * the two map 1:1. Parsing and validation are pure; files are opened by cli_run.c. */
#ifndef CARAPACE_RUNNER_CONFIG_H
#define CARAPACE_RUNNER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runner/layout.h"

struct run_opts {
	char *kernel, *initrd, *cmdline, *console, *name, *seccomp;
	uint64_t memory;        /* bytes */
	unsigned vcpus;
	char *cpu;              /* guest CPU model (runner/guest_cpuid.h); NULL: host */
	uint64_t timeout_ms;    /* 0 = none */
	uint64_t console_limit; /* bytes, 0 = unlimited */
	bool debug_exit, strict_io, quiet;
	bool snp_cpuid_fixup;   /* SEV-SNP: accept, once, the CPUID page the firmware corrected (each change named) */
	bool direct_layout;  /* boot through the firmware-less direct-boot layout (memenc/direct_boot.h) */
	bool tdx_stub_test;  /* ... through the TDX stub, every vCPU at the reset vector (plain KVM) */
	char *devices[GP_VIRTIO_MMIO_COUNT]; /* --device specs, in order */
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

#define RUN_DEFAULT_MEMORY (128ull << 20)

void run_opts_init(struct run_opts *o);
void run_opts_free(struct run_opts *o);

/* Apply one option by its long name (as on the command line, without "--"); value is NULL for
 * flags. Errors name the option and what was expected. */
int run_opts_set(struct run_opts *o, const char *name, const char *value, struct cp_err *err);

/* Apply a JSON document (the --config file's contents). Keys are the long option names; an
 * unknown key, a wrong type or a bad value is an error naming the key. Nothing is applied
 * unless the whole document is valid. */
int run_opts_from_json(struct run_opts *o, const char *json, size_t len, struct cp_err *err);

/* Final checks that need the host's limits (host_mem bytes of RAM). */
int run_opts_validate(const struct run_opts *o, uint64_t host_mem, struct cp_err *err);

/* Names of every option for help and error messages. */
const char *run_opts_known(void);

#endif

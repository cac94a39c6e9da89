/* What `carapace run` builds from its options for the VM layer, shared by the plain and the
 * confidential run paths so that neither can drop an option the other honours. */
#ifndef CARAPACE_RUNNER_CLI_RUN_H
#define CARAPACE_RUNNER_CLI_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "runner/config.h"
#include "runner/vdev.h"
#include "runner/vm.h"

/* `carapace run --help`: every option of runner/config.c's table (runner-config checks). */
void cli_run_usage(FILE *out);

struct run_console {
	int out_fd, in_fd;        /* from open_console() */
	bool interactive;
};

/* The one vm_config constructor: console, limits, --strict-io, --debug-exit, the seccomp mode,
 * test hooks and devices, for both paths. The plain path adds the kernel it loads itself; a
 * confidential VM's memory and boot come from its launch (vm_adopt_cc). Pure. */
struct vm_config cli_run_vm_config(const struct run_opts *o, const struct run_console *con, enum sandbox_mode sbx,
				   const char *test_hook, const struct vdev_spec *specs, bool device_failure_continue);

struct cc_launch_cfg;
struct cp_err;
/* The boot source of a confidential launch, from --kernel / --firmware / --initrd / --cmdline:
 * --kernel without --firmware is the firmware-less direct boot (cfg->firmware NULL); otherwise
 * the firmware image (--firmware, default /usr/share/ovmf/OVMF.fd) is read into *fw (the
 * caller frees it) and a kernel, if any, goes the measured fw_cfg way. Sets cfg's firmware,
 * kernel, initrd, cmdline and snp_validate fields (cfg->platform must be set: an SNP direct boot
 * without --snp-validate gets DB_VALIDATE_DEFAULT, what `carapace measure` assumes). */
int cli_run_cc_boot(const struct run_opts *o, const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
		    size_t initrd_len, struct cc_launch_cfg *cfg, uint8_t **fw, struct cp_err *err);

#endif

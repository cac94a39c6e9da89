/* `carapace run`: options → validated run_opts → VM → run → exit status. */
#include <errno.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "runner/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "policy/policy.h"
#include "runner/api/api_main.h"
#include "runner/cgroup.h"
#include "runner/cc/cc.h"
#include "runner/cli_run.h"
#include "runner/config.h"
#include "attest/tpm/hostlog.h"
#include "runner/launch_plan.h"
#include "runner/launch_record.h"
#include "runner/host_info.h"
#include "runner/kvm_ops.h"
#include "runner/vm.h"

extern unsigned char carapace_demo_guest[];
extern unsigned int carapace_demo_guest_len;

#define KERNEL_MAX (512ull << 20)

void cli_run_usage(FILE *out)
{
	fprintf(out,
		"Usage: carapace run [OPTIONS]\n\n"
		"Boot a virtual machine. Without --kernel, boots the built-in demo guest.\n\n"
		"  --kernel FILE        PVH ELF kernel, Linux bzImage or ELF vmlinux\n"
		"  --initrd FILE        initial ramdisk (with --kernel)\n"
		"  --cmdline STRING     kernel command line\n"
		"  --memory SIZE        guest RAM, e.g. 512M or 2G (default 128M; a bare number is MiB)\n"
		"  --vcpus N            number of vCPUs (default 1)\n"
		"  --cpu MODEL          guest CPU: host (default) or x86-64-v1..v4, then ,-feature / ,+feature\n"
		"                       (e.g. host,-xsave,-smap; names as in /proc/cpuinfo); a confidential launch's\n"
		"                       SNP CPUID page / TDX CPUID configuration come from it too\n"
		"  --console SPEC       stdout (default), file:PATH, unix:PATH (connect) or none\n"
		"  --console-limit SIZE stop writing console output after SIZE (bytes, or K/M/G; default: no limit)\n"
		"  --timeout SECONDS    stop the guest after SECONDS (exit status 4)\n"
		"  --name NAME          a name for this VM (logs, evidence)\n"
		"  --config FILE        JSON object whose keys are these option names\n"
		"  --debug-exit         test-only: port 0xf4 ends the VM with status (value<<1)|1\n"
		"  --strict-io          end the VM on access to an unknown I/O port\n"
		"  --direct-layout      boot the bzImage through the firmware-less confidential layout\n"
		"                       (boot_params, e820, ACPI tables; docs/memenc.md) on a plain VM\n"
		"  --tdx-stub-test      the same through carapace's TDX stub, every vCPU at the reset\n"
		"                       vector as in a TD (test mode: accept is skipped visibly)\n"
		"  --device SPEC        a virtio device in its own jailed helper, repeatable:\n"
		"                       blk,path=FILE[,readonly=on] | rng | console,path=FILE |\n"
		"                       net,tap=NAME[,mac=MAC] | vsock,cid=N,uds=PATH (hybrid vsock)\n"
		"  --on-device-failure stop|continue  when a device helper dies (default: the policy's, else stop)\n"
		"  --policy FILE        refuse to launch anything the launch policy does not allow (see carapace-policy(1))\n"
		"  --print-launch-request  with --policy: print what the policy would judge, launch nothing\n"
		"  --confidential MODE  required: SEV-SNP/TDX or refuse; preferred: fall back to a plain VM, loudly;\n"
		"                       off (default)\n"
		"  --platform snp|tdx   the confidential platform (default: the one this host offers)\n"
		"  --firmware FILE      OVMF/TDVF image for a confidential launch (default /usr/share/ovmf/OVMF.fd;\n"
		"                       --kernel without --firmware: firmware-less measured direct boot)\n"
		"  --snp-certs FILE     SEV-SNP: the GHCB certificate table (VCEK/VLEK, ASK, ARK) given to the guest with\n"
		"                       each extended attestation request; re-read under a shared lock each time\n"
		"  --quote-service SOCK TDX: the quote generation service's UNIX socket (Intel QGS) for GetQuote;\n"
		"                       without it the guest is told the service is unavailable\n"
		"  --tsc-khz N          TDX: the TD's TSC frequency (a multiple of 25000, 100000..10000000;\n"
		"                       default: the host's, which must then be such a multiple)\n"
		"  --id-block FILE      SEV-SNP: the 96-byte ID block for SNP_LAUNCH_FINISH (carapace measure --id-block-out)\n"
		"  --id-auth FILE       SEV-SNP: its 4096-byte ID authentication block (--id-auth-out)\n"
		"  --snp-cpuid-fixup    SEV-SNP: when the firmware refuses the CPUID page, accept its corrected\n"
		"                       page once (every changed entry is named; the launch digest does not cover\n"
		"                       the page's contents, so it is unchanged)\n"
		"  --snp-validate zero|stub  SEV-SNP firmware-less boot: how RAM is validated: stub (default) = carapace's\n"
		"                       measured stub PVALIDATEs it in the guest; zero = every page a ZERO page of the launch\n"
		"  --attest             record the launch in a TPM (PCR + event log) for carapace attest --vm NAME\n"
		"  --tcti STRING        the TPM (default $CARAPACE_TCTI, then device:/dev/tpmrm0)\n"
		"  --pcr N              PCR of the host launch log: 8..15 (default 13; see carapace-attest(1))\n"
		"  --allow-resettable-pcr  let --pcr name a PCR the host can reset (16..23): weaker\n"
		"  --state-dir DIR      where event logs live (default $CARAPACE_STATE_DIR, then /var/lib/carapace)\n"
		"  --seccomp MODE       on (default), log (diagnose a denied call: NOT confined), off (NOT confined)\n"
		"  --print-seccomp-policy  print each thread's system-call allowlist and exit\n"
		"  -q, --quiet          do not print the outcome line when the guest ends normally\n"
		"\nFirecracker-compatible front end (see docs/kata.md; these replace the options above):\n"
		"  --api-sock PATH      serve Firecracker's REST API on a UNIX socket; no VM until InstanceStart\n"
		"  --config-file FILE   Firecracker's whole-VM JSON document: boot at once\n"
		"  --id ID              the instance id (default anonymous-instance)\n"
		"  --level LEVEL        log level: Error, Warning, Info (default), Debug, Trace, Off\n"
		"  --log-path PATH      log file or FIFO\n"
		"  --no-seccomp         accepted and ignored: the seccomp filters stay on\n"
		"  -h, --help           this text\n\n"
		"Exit status: 0 guest reset/powered off, 1 host error, 2 usage/config error,\n"
		"3 guest crashed, 4 timeout, 5 refused by the launch policy, 128+N stopped by signal N.\n"
		"See carapace-run(1).\n");
}

static int open_console(const char *spec, int *out_fd, int *in_fd, bool *interactive, struct cp_err *err)
{
	*in_fd = -1;
	*interactive = false;
	if (!spec || !strcmp(spec, "stdout")) {
		*out_fd = dup(STDOUT_FILENO);
		if (*out_fd < 0)
			return cp_err_set(err, errno, "console: stdout: %s", strerror(errno));
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			*in_fd = STDIN_FILENO;
			*interactive = true;
		}
		return 0;
	}
	if (!strcmp(spec, "none")) {
		*out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		return *out_fd < 0 ? cp_err_set(err, errno, "console: /dev/null: %s", strerror(errno)) : 0;
	}
	if (!strncmp(spec, "file:", 5) && spec[5]) {
		/* O_NONBLOCK for the open only: a FIFO without a reader fails (ENXIO) instead of blocking. */
		*out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
		if (*out_fd >= 0 && fcntl(*out_fd, F_SETFL, 0) < 0)
			return cp_err_set(err, errno, "console: %s: %s", spec + 5, strerror(errno));
		return *out_fd < 0 ? cp_err_set(err, errno, "console: cannot open %s for writing: %s", spec + 5,
						strerror(errno)) : 0;
	}
	if (!strncmp(spec, "unix:", 5) && spec[5]) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd;
		if (strlen(spec + 5) >= sizeof(sa.sun_path))
			return cp_err_set(err, ENAMETOOLONG, "console: socket path is too long");
		strcpy(sa.sun_path, spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return cp_err_set(err, errno, "console: socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			close(fd);
			return cp_err_set(err, e, "console: cannot connect to %s: %s", spec + 5, strerror(e));
		}
		*out_fd = fd;
		*in_fd = fd;
		return 0;
	}
	return cp_err_set(err, EINVAL, "console: '%s' is not stdout, none, file:PATH or unix:PATH", spec);
}

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

/* Run a created VM to its end, say how it ended, release it. */
static int run_and_report(struct vm *vm, bool quiet)
{
	int status = vm_run(vm);

	if (status != CP_EXIT_OK || !quiet)
		fprintf(stderr, "carapace: %s; exit status %d\n", vm->end_msg, status);
	if (vm->uart.tx_dropped)
		fprintf(stderr, "carapace: console limit reached: %" PRIu64 " bytes of guest output were dropped\n",
			vm->uart.tx_dropped);
	vm_destroy(vm);
	return status;
}

struct vm_config cli_run_vm_config(const struct run_opts *o, const struct run_console *con, enum sandbox_mode sbx,
				   const char *test_hook, const struct vdev_spec *specs, bool device_failure_continue)
{
	return (struct vm_config){
		.mem_size = o->memory,
		.ncpus = o->vcpus,
		.cpu = o->cpu,
		.console_out_fd = con->out_fd,
		.console_in_fd = con->in_fd,
		.console_flush_each = con->interactive,
		.console_limit = o->console_limit,
		.timeout_ms = o->timeout_ms,
		.debug_exit = o->debug_exit,
		.strict_io = o->strict_io,
		.direct_layout = o->direct_layout,
		.tdx_stub_test = o->tdx_stub_test,
		.sandbox = sbx,
		.test_hook = test_hook,
		.devices = specs,
		.ndevices = o->ndevices,
		.device_failure_continue = device_failure_continue,
	};
}

int cli_run_cc_boot(const struct run_opts *o, const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
		    size_t initrd_len, struct cc_launch_cfg *cfg, uint8_t **fw, struct cp_err *err)
{
	size_t fw_len = 0;

	*fw = NULL;
	cfg->kernel = kernel;
	cfg->kernel_len = kernel_len;
	cfg->initrd = initrd;
	cfg->initrd_len = initrd_len;
	cfg->cmdline = kernel ? (o->cmdline ? o->cmdline : "") : NULL;
	cfg->ndevs = kernel && !o->firmware ? o->ndevices : 0;
	cfg->firmware = NULL;
	cfg->firmware_len = 0;
	cfg->snp_validate = DB_VALIDATE_ZERO;
	if (o->snp_validate && db_snp_validate_parse(o->snp_validate, &cfg->snp_validate, err) < 0)
		return -EINVAL;
	if (kernel && !o->firmware) {
		/* firmware-less direct boot: the launch plan is memenc_plan_build_direct's; SNP RAM is
		 * validated as `carapace measure` assumes unless --snp-validate says otherwise */
		if (!o->snp_validate && cfg->platform == CC_SNP)
			cfg->snp_validate = DB_VALIDATE_DEFAULT;
		return 0;
	}
	if (cp_file_read(o->firmware ? o->firmware : "/usr/share/ovmf/OVMF.fd", 64u << 20, fw, &fw_len, err) < 0)
		return cp_err_prefix(err, "firmware: ");
	cfg->firmware = *fw;
	cfg->firmware_len = fw_len;
	return 0;
}

/* Launch SEV-SNP or TDX through runner/cc and run it in the ordinary run loop. */
static int confidential_launch(const struct run_opts *o, enum policy_isolation iso, uint64_t snp_policy,
			       uint64_t td_attributes, const struct vdev_spec *specs,
			       bool device_failure_continue, const uint8_t *kernel, size_t kernel_len,
			       const uint8_t *initrd, size_t initrd_len, enum sandbox_mode sbx, const char *test_hook,
			       int control_fd)
{
	struct cc_launch_cfg cfg;
	struct cc_vm cvm;
	struct cp_err err = { 0 };
	_cleanup_free_ uint8_t *fw = NULL, *id_block = NULL, *id_auth = NULL;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.platform = iso == POLICY_ISO_SNP ? CC_SNP : CC_TDX;
	cfg.snp_policy = snp_policy;       /* 0: runner/cc's default (0x30000) */
	cfg.td_attributes = td_attributes; /* from the launch policy when there is one */
	cfg.snp_certs = o->snp_certs;
	cfg.tsc_khz = o->tsc_khz;
	/* Every confidential-only option fits this platform: the launch plan checked. */
	if (o->attest) {
		/* Bind the hardware evidence to this host's AK and this launch policy. */
		uint8_t binding[32], *pol = NULL;
		size_t pol_len = 0;
		char hex[65];
		if ((o->policy && cp_file_read(o->policy, POLICY_DOC_MAX, &pol, &pol_len, &err) < 0) ||
		    launch_binding(o->tcti, pol, pol_len, binding, &err) < 0) {
			free(pol);
			fprintf(stderr, "carapace run: %s\n", err.msg);
			return CP_EXIT_FAILURE;
		}
		free(pol);
		memcpy(cfg.host_data, binding, 32);
		memcpy(cfg.mrconfigid, binding, 32);
		cp_hex_encode(binding, 32, hex);
		fprintf(stderr, "carapace: attestation binding %s goes into %s\n", hex,
			iso == POLICY_ISO_SNP ? "HOST_DATA" : "MRCONFIGID");
	}
	if (o->id_auth && !o->id_block) {
		fprintf(stderr, "carapace run: --id-auth needs --id-block\n");
		return CP_EXIT_USAGE;
	}
	if (o->id_block) {
		struct { const char *path, *what; size_t len; uint8_t **out; } f[] = {
			{ o->id_block, "--id-block", 96, &id_block }, { o->id_auth, "--id-auth", 4096, &id_auth } };
		for (size_t i = 0; i < 2; i++) {
			size_t got = 0;
			if (!f[i].path)
				continue;
			if (cp_file_read(f[i].path, f[i].len + 1, f[i].out, &got, &err) < 0 || got != f[i].len) {
				fprintf(stderr, "carapace run: %s %s: %s\n", f[i].what, f[i].path,
					err.code ? err.msg : "not the size the firmware expects");
				if (!err.code)
					fprintf(stderr, "carapace run: %s must be exactly %zu bytes (it is %zu)\n", f[i].what,
						f[i].len, got);
				return CP_EXIT_USAGE;
			}
		}
		cfg.id_block = id_block;
		cfg.id_auth = id_auth;
		cfg.snp_cpuid_fixup = o->snp_cpuid_fixup;
	}
	/* --kernel without --firmware: the firmware-less direct boot; else the firmware (measured
	 * direct boot through fw_cfg when a kernel is given). docs/CONFIDENTIAL.md. */
	if (cli_run_cc_boot(o, kernel, kernel_len, initrd, initrd_len, &cfg, &fw, &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		return CP_EXIT_USAGE;
	}
	if (cfg.firmware)
		/* Honest about the platform: the firmware gets no QEMU chipset (see docs/CONFIDENTIAL.md). */
		fprintf(stderr, "carapace: note: this confidential VM has fw_cfg but no PCI host bridge or ACPI tables; "
				"firmware built for QEMU (such as Debian's OVMF.fd) stops early on it (docs/CONFIDENTIAL.md, "
				"'Firmware platform')\n");
	else
		fprintf(stderr, "carapace: %s firmware-less direct boot of the kernel (no --firmware); `carapace measure "
				"--platform %s --kernel K [--initrd I] [--append S] --vcpus N --memory M` predicts it\n",
			cfg.platform == CC_SNP ? "SEV-SNP" : "TDX", cfg.platform == CC_SNP ? "snp" : "tdx");
	cfg.mem_size = o->memory;
	cfg.vcpus = o->vcpus;
	cfg.cpu = o->cpu; /* the SNP CPUID page / TDX CPUID configuration derive from the model */
	r = cc_launch(&kvm_ops_sys, NULL, &cfg, &cvm, &err);
	if (r < 0) {
		fprintf(stderr, "carapace run: confidential launch: %s\n", err.msg);
		return CP_EXIT_FAILURE;
	}
	{
		/* The launch is finished (LAUNCH_FINISH / FINALIZE_VM): the same run loop drives it. */
		char hex[97];
		struct vm *vm = NULL;
		int out_fd = -1, in_fd = -1, status;
		bool interactive = false;
		struct vm_config vc;

		cp_hex_encode(cvm.measurement, cvm.measurement_len, hex);
		fprintf(stderr, "carapace: %s launch finished; launch measurement %s\n",
			cfg.platform == CC_SNP ? "SEV-SNP" : "TDX", hex);
		if (open_console(o->console, &out_fd, &in_fd, &interactive, &err) < 0) {
			fprintf(stderr, "carapace run: %s\n", err.msg);
			cc_vm_release(&cvm);
			return CP_EXIT_USAGE;
		}
		vc = cli_run_vm_config(o, &(struct run_console){ out_fd, in_fd, interactive }, sbx, test_hook, specs,
				       device_failure_continue);
		vc.control_fd = control_fd;
		cvm.quote_socket = o->quote_service;
		/* From here the VM owns what cvm holds: vm_destroy (in run_and_report) or a failed
		 * adoption releases it. */
		if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0) {
			fprintf(stderr, "carapace run: %s\n", err.msg);
			status = CP_EXIT_FAILURE;
		} else {
			/* Firmware or the measured layout boots the guest, so its kernel command line
			 * is not ours to extend: it is measured (direct boot) or the firmware's. */
			if (vm->ndevs)
				fprintf(stderr, "carapace: the guest kernel finds its devices with: %s%s\n", vm->cmdline,
					cfg.firmware ? "" : " (give these in --cmdline, and the same to `carapace measure "
					"--append`: the command line is measured)");
			if (control_fd >= 0 && write(control_fd, "S", 1) != 1) /* tell the API the VM runs */
				vm_end(vm, CP_EXIT_FAILURE, "the management API's controller went away");
			status = run_and_report(vm, o->quiet);
		}
		close(out_fd);
		return status;
	}
}

/* The effective configuration as recorded in the event log (and shown by verify --show-log). */
static char *config_json(const struct run_opts *o, const struct vm *vm)
{
	json_object *j = json_object_new_object(), *devs = json_object_new_array();
	char *s;
	json_object_object_add(j, "name", json_object_new_string(o->name ? o->name : "vm"));
	json_object_object_add(j, "kernel", json_object_new_string(o->kernel ? o->kernel : "(built-in demo guest)"));
	if (o->initrd)
		json_object_object_add(j, "initrd", json_object_new_string(o->initrd));
	json_object_object_add(j, "cmdline", json_object_new_string(vm->cmdline ? vm->cmdline : ""));
	json_object_object_add(j, "memory_mib", json_object_new_int64((int64_t)(o->memory >> 20)));
	json_object_object_add(j, "vcpus", json_object_new_int64(o->vcpus));
	json_object_object_add(j, "cpu", json_object_new_string(o->cpu ? o->cpu : "host"));
	/* The isolation actually obtained: a 'preferred' launch that fell back says so here. */
	json_object_object_add(j, "isolation", json_object_new_string("none"));
	for (unsigned i = 0; i < o->ndevices; i++)
		json_object_array_add(devs, json_object_new_string(o->devices[i]));
	json_object_object_add(j, "devices", devs);
	s = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return s;
}

static int record_launch(const struct run_opts *o, const struct vm *vm)
{
	struct launch_record_in in = { .tcti = o->tcti, .state_dir = o->state_dir, .vm_name = o->name ? o->name : "vm",
				       .pcr = o->pcr, .allow_resettable_pcr = o->allow_resettable_pcr,
				       .devices = vm->cfg.devices, .ndevices = vm->cfg.ndevices };
	struct cp_err err = { 0 };
	uint8_t *pol = NULL;
	size_t pol_len = 0;
	char hex[97];
	int r;

	if (launch_plain_measurement(vm->cfg.kernel, vm->cfg.kernel_len, vm->cfg.initrd, vm->cfg.initrd_len, vm->cmdline,
				     in.measurement, &err) < 0 ||
	    (o->policy && cp_file_read(o->policy, POLICY_DOC_MAX, &pol, &pol_len, &err) < 0)) {
		fprintf(stderr, "carapace run: --attest: %s\n", err.msg);
		return CP_EXIT_FAILURE;
	}
	in.policy = pol;
	in.policy_len = pol_len;
	in.config_json = config_json(o, vm);
	r = in.config_json ? launch_record(&in, &err) : cp_err_set(&err, ENOMEM, "out of memory");
	free((void *)in.config_json);
	free(pol);
	if (r < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		return CP_EXIT_FAILURE;
	}
	cp_hex_encode(in.measurement, 48, hex);
	fprintf(stderr, "carapace: launch of '%s' recorded in the host launch log (PCR %u): launch measurement %s\n",
		in.vm_name, o->pcr, hex);
	return CP_EXIT_OK;
}

/* With a cgroup, carapace splits in two: a small parent that only waits, forwards stop signals
 * and removes the leaf afterwards (the VM process's own filters forbid that), and the child that
 * enters the leaf and runs the VM. Returns -1 in the child, the exit status in the parent. */
static pid_t supervised_child;
static void forward_signal(int sig)
{
	if (supervised_child > 0)
		kill(supervised_child, sig);
}

static int supervise_in_cgroup(struct vm_cgroup *cg)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	int st, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "carapace run: fork: %s\n", strerror(errno));
		vm_cgroup_remove(cg);
		return CP_EXIT_FAILURE;
	}
	if (pid == 0) {
		if ((r = vm_cgroup_enter(cg, 0)) < 0) {
			fprintf(stderr, "carapace run: entering cgroup %s: %s\n", cg->leaf, strerror(-r));
			_exit(CP_EXIT_FAILURE);
		}
		return -1;
	}
	supervised_child = pid;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	vm_cgroup_remove(cg);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The launch policy decides before anything is created: describe the launch as data, let the
 * pure evaluator judge it, and refuse with the rule's name. */
/* The request exactly as the evaluator sees it, in the form `carapace policy eval` reads. */
static void print_launch_request(const struct policy_launch_request *q)
{
	json_object *o = json_object_new_object(), *caps = json_object_new_array(), *cg = json_object_new_object(),
		    *devs = json_object_new_array();
	json_object_object_add(o, "requested", json_object_new_string(policy_isolation_name(q->requested)));
	json_object_object_add(o, "obtained", json_object_new_string(policy_isolation_name(q->obtained)));
	if (q->host_caps & (1u << POLICY_ISO_SNP))
		json_object_array_add(caps, json_object_new_string("snp"));
	if (q->host_caps & (1u << POLICY_ISO_TDX))
		json_object_array_add(caps, json_object_new_string("tdx"));
	json_object_object_add(o, "host_caps", caps);
	json_object_object_add(o, "memory_mib", json_object_new_int64((int64_t)q->memory_mib));
	json_object_object_add(o, "vcpus", json_object_new_int64(q->vcpus));
	json_object_object_add(cg, "cpu_quota_us", json_object_new_int64((int64_t)q->cg_cpu_quota_us));
	json_object_object_add(cg, "cpu_period_us", json_object_new_int64((int64_t)q->cg_cpu_period_us));
	json_object_object_add(cg, "memory_max_mib", json_object_new_int64((int64_t)q->cg_memory_max_mib));
	json_object_object_add(cg, "pids_max", json_object_new_int64((int64_t)q->cg_pids_max));
	json_object_object_add(o, "cgroup", cg);
	if (q->kernel)
		json_object_object_add(o, "kernel", json_object_new_string(q->kernel));
	if (q->cmdline)
		json_object_object_add(o, "cmdline", json_object_new_string(q->cmdline));
	json_object_object_add(o, "cpu", json_object_new_string(q->cpu ? q->cpu : "host"));
	for (size_t i = 0; i < q->n_devices; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "kind", json_object_new_string(policy_dev_kind_name(q->devices[i].kind)));
		if (q->devices[i].image)
			json_object_object_add(d, "image", json_object_new_string(q->devices[i].image));
		if (q->devices[i].kind == POLICY_DEV_BLK)
			json_object_object_add(d, "read_only", json_object_new_boolean(q->devices[i].read_only));
		if (q->devices[i].uds_path)
			json_object_object_add(d, "uds_path", json_object_new_string(q->devices[i].uds_path));
		json_object_object_add(d, "queues", json_object_new_int64(q->devices[i].queues));
		json_object_object_add(d, "queue_size", json_object_new_int64(q->devices[i].queue_size));
		json_object_array_add(devs, d);
	}
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "tpm_present", json_object_new_boolean(q->tpm_present));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* The shell around the pure launch plan (runner/launch_plan.c): gather the host facts it needs
 * (the platforms, the launch policy, whether a cgroup leaf can be made, a TPM), make the plan,
 * say its notes and its refusal. Creates nothing. Returns the exit status to stop with, or
 * CP_EXIT_OK to carry the plan out (with --print-launch-request and a judged plan: the request
 * was printed, nothing is to be launched). */
static int plan_launch(const struct run_opts *o, const char *kernel_real, const struct vdev_spec *specs,
		       bool print_request, struct launch_plan *plan)
{
	struct host_assessment host = { 0 };
	struct vm_cgroup_host cgh = { 0 };
	struct policy pol;
	struct cp_err err = { 0 };
	struct launch_plan_in in = { .o = o, .host = &host, .kernel_real = kernel_real, .specs = specs };

	/* What the host offers, probed once for the isolation plan and the policy's request. */
	if (o->policy || (o->confidential && strcmp(o->confidential, "off"))) {
		struct host_facts hf;
		host_info_probe(&kvm_ops_sys, NULL, &hf);
		host_info_assess(&hf, &host);
	}
	if (o->policy) {
		if (policy_load_file(o->policy, &pol, &err) < 0) {
			fprintf(stderr, "carapace run: policy %s: %s\n", o->policy, err.msg);
			return CP_EXIT_USAGE;
		}
		in.policy = &pol;
		vm_cgroup_probe(&cgh);
		in.cgroup_usable = cgh.usable;
		in.cgroup_why = cgh.why;
		in.tpm_present = getenv("CARAPACE_TCTI") || access("/dev/tpmrm0", R_OK | W_OK) == 0;
	}
	launch_plan_make(&in, plan);
	for (unsigned i = 0; i < plan->nnotes; i++)
		fprintf(stderr, "carapace: %s\n", plan->notes[i]);
	if (print_request && plan->judged)
		print_launch_request(&plan->req);
	else if (plan->status != CP_EXIT_OK)
		fprintf(stderr, "carapace run: %s\n", plan->why);
	else if (o->policy && !o->quiet)
		fprintf(stderr, "carapace: launch policy '%s' allows this VM\n", pol.name);
	if (o->policy)
		policy_free(&pol);
	return print_request && plan->judged ? CP_EXIT_OK : plan->status;
}

int runner_cli_run(int argc, char **argv)
{
	struct run_opts opts;
	struct run_cli cli;
	struct cp_err err = { 0 };
	enum sandbox_mode sbx = sandbox_mode_default();
	_cleanup_free_ uint8_t *kernel = NULL, *initrd = NULL, *cfgtext = NULL;
	_cleanup_free_ char *kernel_real = NULL;
	size_t kernel_len = 0, initrd_len = 0, cfglen = 0;
	_cleanup_close_ int out_fd = -1;
	int in_fd = -1, status;
	bool interactive;
	struct vm_config vc;
	struct vdev_spec specs[RUN_MAX_DEVICES];
	bool device_failure_continue = false;
	enum policy_isolation iso_obtained = POLICY_ISO_NONE;
	struct launch_plan plan;
	uint64_t snp_policy = 0, td_attributes = 0;
	struct vm_cgroup cg = { 0 };
	struct vm *vm = NULL;
	struct launch_stop_recorder stop_rec = LAUNCH_STOP_RECORDER_NONE;
	struct run_arg *args = calloc((size_t)argc + 1, sizeof(*args));
	unsigned nargs = 0;
	struct api_main_opts fc = { 0 };
	const char *test_hook = NULL;
	int control_fd = -1;

	run_opts_init(&opts);
	run_cli_init(&cli);
	if (!args) {
		fprintf(stderr, "carapace run: out of memory\n");
		status = CP_EXIT_FAILURE;
		goto out;
	}
	/* getopt's tables come from the option table (runner/config.c run_opt_defs[]). */
	if (run_args_parse(argc, argv, &cli, args, &nargs, &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		status = CP_EXIT_USAGE;
		goto out;
	}
	if (cli.help) {
		cli_run_usage(stdout);
		status = CP_EXIT_OK;
		goto out;
	}
	if (cli.print_seccomp_policy) {
		sandbox_print_policy(stdout);
		status = CP_EXIT_OK;
		goto out;
	}
	test_hook = cli.test_hook;
	if (cli.api_control_fd >= 0) {
		if (fcntl(cli.api_control_fd, F_SETFD, FD_CLOEXEC) < 0) {
			fprintf(stderr, "carapace run: --api-control-fd: '%d' is not an open descriptor\n", cli.api_control_fd);
			status = CP_EXIT_USAGE;
			goto out;
		}
		control_fd = cli.api_control_fd; /* close-on-exec now: device helpers must not inherit it */
	}
	if (cli.firecracker) {
		fc = (struct api_main_opts){ .api_sock = cli.api_sock, .config_file = cli.config_file, .id = cli.id,
					     .level = cli.level, .log_path = cli.log_path, .no_seccomp = cli.no_seccomp };
		/* Firecracker's front end: the VM is described through the API or its config file. */
		/* --policy is the one carapace option kept: the host's launch policy over the API's launches. */
		unsigned kept = 0;
		for (unsigned i = 0; i < nargs; i++) {
			if (!strcmp(args[i].name, "policy")) {
				fc.policy = args[i].value;
				continue;
			}
			args[kept++] = args[i];
		}
		nargs = kept;
		if (nargs || cli.config || control_fd >= 0) {
			fprintf(stderr, "carapace run: --%s cannot be combined with --api-sock/--config-file: configure the VM "
					"through the API (see docs/kata.md)\n",
				nargs ? args[0].name : cli.config ? "config" : "api-control-fd");
			status = CP_EXIT_USAGE;
			goto out;
		}
		if (!fc.api_sock && !fc.config_file) {
			fprintf(stderr, "carapace run: --id, --level, --log-path and --no-seccomp go with --api-sock or "
					"--config-file\n");
			status = CP_EXIT_USAGE;
			goto out;
		}
		fc.test_hook = test_hook;
		status = api_main(&fc);
		goto out;
	}
	if (cli.config) {
		if (cp_file_read(cli.config, RUN_CONFIG_MAX, &cfgtext, &cfglen, &err) < 0 ||
		    run_opts_from_json(&opts, (const char *)cfgtext, cfglen, &err) < 0) {
			fprintf(stderr, "carapace run: config %s: %s\n", cli.config, err.msg);
			status = CP_EXIT_USAGE;
			goto out;
		}
	}
	if (run_opts_apply_args(&opts, args, nargs, &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		status = CP_EXIT_USAGE;
		goto out;
	}
	/* run_opts_validate judges --pcr first (the launch log's own rule), as the API's options are. */
	if (run_opts_validate(&opts, host_memory(), &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		status = CP_EXIT_USAGE;
		goto out;
	}

	if (opts.seccomp)
		(void)sandbox_mode_parse(opts.seccomp, &sbx); /* validated above */
	if (sbx != SANDBOX_ENFORCE)
		fprintf(stderr, "carapace: WARNING: seccomp is '%s': the VM process's threads are %s\n",
			sandbox_mode_name(sbx), sbx == SANDBOX_LOG ? "NOT confined (violations are only logged by the kernel)"
								     : "NOT confined at all");

	if (opts.kernel) {
		if (cp_file_read_real(opts.kernel, KERNEL_MAX, &kernel, &kernel_len, &kernel_real, &err) < 0) {
			fprintf(stderr, "carapace run: kernel: %s\n", err.msg);
			status = CP_EXIT_USAGE;
			goto out;
		}
	}
	if (opts.initrd) {
		uint64_t lim = opts.memory < (2ull << 30) ? opts.memory : (2ull << 30);
		if (cp_file_read(opts.initrd, (size_t)lim, &initrd, &initrd_len, &err) < 0) {
			fprintf(stderr, "carapace run: initrd: %s\n", err.msg);
			status = CP_EXIT_USAGE;
			goto out;
		}
	}
	if (opts.ndevices > RUN_MAX_DEVICES) {
		fprintf(stderr, "carapace run: at most %d devices\n", RUN_MAX_DEVICES);
		status = CP_EXIT_USAGE;
		goto out;
	}
	for (unsigned i = 0; i < opts.ndevices; i++) {
		if (vdev_spec_parse(opts.devices[i], &specs[i], &err) < 0) {
			fprintf(stderr, "carapace run: --%s\n", err.msg);
			status = CP_EXIT_USAGE;
			goto out;
		}
		/* A disk image is opened here, once: the policy judges what was opened and the helper
		 * gets the fd (a FIFO is refused without blocking). */
		if (specs[i].kind == DEVKIND_BLK &&
		    cp_file_open_checked(specs[i].path, specs[i].readonly ? O_RDONLY : O_RDWR, true, &specs[i].image_fd,
					 specs[i].image_real, sizeof(specs[i].image_real), &err) < 0) {
			fprintf(stderr, "carapace run: device %u (blk%u): %s\n", i, i, err.msg);
			status = CP_EXIT_FAILURE;
			goto out;
		}
		if (vdev_spec_resolve(&specs[i], &err) < 0) {
			fprintf(stderr, "carapace run: device %u (%s%u): %s\n", i, vdev_kind_name(specs[i].kind), i, err.msg);
			status = CP_EXIT_FAILURE;
			goto out;
		}
	}
	status = plan_launch(&opts, kernel_real, specs, cli.print_launch_request, &plan);
	if (status != CP_EXIT_OK)
		goto out;
	if (cli.print_launch_request && plan.judged)
		goto out; /* printed, nothing launched */
	if (plan.cgroup) {
		/* The limits the policy judged are the ones the leaf gets, or nothing is launched. */
		if (vm_cgroup_create(&cg, opts.name ? opts.name : "vm", plan.cg_cpu_quota_us, plan.cg_cpu_period_us,
				     plan.cg_memory_max_mib, plan.cg_pids_max) < 0) {
			fprintf(stderr, "carapace run: the cgroup limits the launch policy judged cannot be applied: %s\n",
				cg.why);
			status = CP_EXIT_FAILURE;
			goto out;
		}
		if ((status = supervise_in_cgroup(&cg)) >= 0)
			goto out; /* the parent: the child ran the VM, its status is ours */
	}
	iso_obtained = plan.obtained;
	device_failure_continue = plan.device_failure_continue;
	snp_policy = plan.snp_policy;
	td_attributes = plan.td_attributes;
	if (iso_obtained != POLICY_ISO_NONE) {
		status = confidential_launch(&opts, iso_obtained, snp_policy, td_attributes, specs,
					     device_failure_continue, kernel, kernel_len, initrd, initrd_len, sbx, test_hook,
					     control_fd);
		goto out;
	}
	if (open_console(opts.console, &out_fd, &in_fd, &interactive, &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		status = CP_EXIT_USAGE;
		goto out;
	}

	vc = cli_run_vm_config(&opts, &(struct run_console){ out_fd, in_fd, interactive }, sbx, test_hook, specs,
			       device_failure_continue);
	vc.kernel = kernel ? kernel : carapace_demo_guest;
	vc.kernel_len = kernel ? kernel_len : carapace_demo_guest_len;
	vc.initrd = initrd;
	vc.initrd_len = initrd_len;
	vc.cmdline = opts.cmdline ? opts.cmdline : (kernel ? "" : "demo");
	vc.control_fd = control_fd;
	/* An attested VM's stop is recorded by a process forked now, before the VM exists: the VM
	 * process cannot reach the TPM or the state directory once it is confined. */
	if (opts.attest && launch_stop_recorder_start(opts.tcti, opts.state_dir, opts.name ? opts.name : "vm", &stop_rec,
						      &err) < 0) {
		fprintf(stderr, "carapace run: --attest: %s\n", err.msg);
		status = CP_EXIT_FAILURE;
		goto out;
	}
	if (vm_create(&kvm_ops_sys, NULL, &vc, &vm, &err) < 0) {
		fprintf(stderr, "carapace run: %s\n", err.msg);
		/* A kernel we cannot load, or a size the host refuses, is the user's input. */
		status = (err.code == ENOEXEC || err.code == E2BIG || err.code == EINVAL) ? CP_EXIT_USAGE
											       : CP_EXIT_FAILURE;
		goto out;
	}
	if (opts.attest && (status = record_launch(&opts, vm)) != CP_EXIT_OK) {
		vm_destroy(vm);
		goto out;
	}
	if (opts.attest && launch_stop_recorder_arm(&stop_rec, &err) < 0) {
		fprintf(stderr, "carapace run: --attest: %s\n", err.msg);
		vm_destroy(vm);
		status = CP_EXIT_FAILURE;
		goto out;
	}
	if (control_fd >= 0 && write(control_fd, "S", 1) != 1) { /* tell the API the VM runs */
		vm_destroy(vm);
		status = CP_EXIT_FAILURE;
		goto out;
	}
	status = run_and_report(vm, opts.quiet);
	/* The host launch log says when an attested VM ended (a relaunch is a new launch). */
	if (opts.attest && launch_stop_recorder_stop(&stop_rec, &err) < 0) {
		fprintf(stderr, "carapace run: recording the stop: %s\n", err.msg);
		if (status == CP_EXIT_OK)
			status = CP_EXIT_FAILURE;
	}
out:
	launch_stop_recorder_close(&stop_rec);
	free(args);
	run_opts_free(&opts);
	run_cli_free(&cli);
	return status;
}

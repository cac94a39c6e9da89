/* SEV-SNP page validation, both ways, timed on the strict double (issue 16): --snp-validate zero
 * (every RAM page a ZERO page of SNP_LAUNCH_UPDATE) against --snp-validate stub (RAM out of the
 * launch; the guest's stub asks for each page with a GHCB MSR Page State Change, which reaches
 * carapace's run loop as KVM_EXIT_HYPERCALL(MAP_GPA_RANGE), then PVALIDATEs it). For each memory
 * size it times, wall clock:
 *   launch  cc_launch() on the double: what `carapace run --confidential required --platform snp
 *           --kernel K` executes up to the first KVM_RUN (plan, LAUNCH_UPDATEs, the double's own
 *           digest recomputation, FINISH);
 *   psc     stub only: carapace's run loop answering one PSC exit per RAM page (the VMM's share
 *           of the guest's validation; the guest's VMGEXIT and PVALIDATE cost needs hardware);
 *   measure `carapace measure --platform snp --kernel K --vcpus 2 --memory M --snp-validate V`
 *           (the real command, when its path is given).
 * usage: bench-cc-snp-validate [CARAPACE_BINARY] [SIZES_MIB...]
 * Guest execution, the PSP's per-page cost and PVALIDATE are not here: the double has none. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "memenc/direct_boot.h"
#include "runner/cli_run.h"
#include "runner/vm.h"
#include "tests/unit/cc/helpers.h"

#define KLEN (64 * 1024 + 512 * 5)
#define CMDLINE "console=ttyS0"

static uint8_t kimg[KLEN];

static void make_bzimage(void)
{
	cc_test_bzimage(kimg, sizeof(kimg), 0x020f);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Returns the launch time; *psc gets the run loop's time for every RAM page's PSC (stub), and
 * *pages how many. Exits on any failure: a benchmark of a broken launch is worthless. */
static double launch(enum db_snp_validate val, uint64_t mem, double *psc, uint64_t *pages)
{
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cc_test_direct_cfg(CC_SNP, 2, mem, kimg, KLEN, CMDLINE);
	struct cc_vm cvm;
	struct cp_err err = { 0 };
	struct kd_record rec;
	double t0, t1;

	cfg.snp_validate = val;
	t0 = now();
	if (cc_launch(&kd_ops, kd, &cfg, &cvm, &err) < 0) {
		fprintf(stderr, "launch (%s, %" PRIu64 " MiB): %s\n", db_snp_validate_name(val), mem >> 20, err.msg);
		exit(1);
	}
	t1 = now();
	*psc = 0;
	*pages = 0;
	if (val == DB_VALIDATE_STUB) {
		const struct db_layout *l = cvm.plan.direct;
		int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		struct run_opts plain = { .timeout_ms = 0 };
		struct vm_config vc = cli_run_vm_config(&plain, &(struct run_console){ null_fd, -1, false }, SANDBOX_OFF,
							NULL, NULL, false);
		struct vm *vm = NULL;
		double p0;

		for (size_t i = 0; i < l->n; i++)
			if (l->r[i].kind == DB_ZERO) {
				*pages += l->r[i].len / 4096;
				if (kd_script_snp_psc_msr(kd, 0, l->r[i].gpa, l->r[i].len / 4096, 1) < 0) {
					fprintf(stderr, "script: too many ranges\n");
					exit(1);
				}
			}
		if (vm_adopt_cc(&cvm, &vc, &vm, &err) < 0) {
			fprintf(stderr, "adopt: %s\n", err.msg);
			exit(1);
		}
		p0 = now();
		if (vm_run(vm) != CP_EXIT_OK) {
			fprintf(stderr, "run: %s\n", vm->end_msg);
			exit(1);
		}
		*psc = now() - p0;
		vm_destroy(vm);
		close(null_fd);
		if (kd_record_get(kd, &rec) < 0 || rec.pvalidated != *pages || rec.psc_msr_errors || rec.pvalidate_failed) {
			fprintf(stderr, "the stub's loop did not validate every page (%u of %" PRIu64 ")\n", rec.pvalidated, *pages);
			exit(1);
		}
	}
	cc_vm_release(&cvm);
	kd_free(kd);
	return t1 - t0;
}

static double measure_cli(const char *carapace, const char *kpath, enum db_snp_validate val, uint64_t mem)
{
	char cmd[1024];
	double t0;

	snprintf(cmd, sizeof(cmd), "%s measure --platform snp --kernel %s --append %s --vcpus 2 --memory %" PRIu64 "M "
		 "--snp-validate %s >/dev/null", carapace, kpath, CMDLINE, mem >> 20, db_snp_validate_name(val));
	t0 = now();
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	static const uint64_t defaults[] = { 512, 1024, 2048, 4096, 8192, 16384 };
	const char *carapace = argc > 1 && strcmp(argv[1], "-") ? argv[1] : NULL;
	char kpath[] = "/tmp/carapace-bench-bzXXXXXX";
	int kfd;

	make_bzimage();
	kfd = mkstemp(kpath);
	if (kfd < 0 || write(kfd, kimg, KLEN) != KLEN) {
		perror("kernel file");
		return 1;
	}
	close(kfd);
	printf("| RAM | zero: launch | stub: launch | stub: PSC exits (pages) | measure zero | measure stub |\n"
	       "|---|---|---|---|---|---|\n");
	for (int i = 0; i < (argc > 2 ? argc - 2 : 6); i++) {
		uint64_t mib = argc > 2 ? strtoull(argv[i + 2], NULL, 10) : defaults[i], pages;
		double psc_zero, psc, lz, ls, mz = -1, ms = -1;
		uint64_t pz;

		lz = launch(DB_VALIDATE_ZERO, mib << 20, &psc_zero, &pz);
		ls = launch(DB_VALIDATE_STUB, mib << 20, &psc, &pages);
		if (carapace) {
			mz = measure_cli(carapace, kpath, DB_VALIDATE_ZERO, mib << 20);
			ms = measure_cli(carapace, kpath, DB_VALIDATE_STUB, mib << 20);
		}
		printf("| %" PRIu64 " MiB | %.2f s | %.3f s | %.2f s (%" PRIu64 ") | %.2f s | %.3f s |\n", mib, lz, ls, psc, pages,
		       mz, ms);
		fflush(stdout);
	}
	unlink(kpath);
	return 0;
}

/* SEV-SNP certificate fetching (KVM_SEV_SNP_ENABLE_REQ_CERTS, KVM_EXIT_SNP_REQ_CERTS) against the
 * strict double: enabling it before any vCPU, refusing it on kernels without it, the table
 * written into shared guest memory and nowhere else, the ENOSPC / EAGAIN / EIO answers, and the
 * shared OFD lock held until the request has gone to the firmware. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/kvm_cc_uapi.h"

#define PG 4096u

static const uint8_t guid_vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
				       0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const uint8_t guid_ask[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
				      0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
static const uint8_t guid_ark[16] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
				      0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };

struct fixture {
	struct kvm_double *kd;
	struct cc_vm vm;
	struct cc_launch_cfg cfg;
	char path[64];
	uint8_t table[5000]; /* two pages' worth, so the page count matters */
	size_t table_len;
};

static void put_entry(uint8_t *e, const uint8_t guid[16], uint32_t off, uint32_t len)
{
	memcpy(e, guid, 16);
	cp_put_le32(e + 16, off);
	cp_put_le32(e + 20, len);
}

/* A GHCB certificate table: VCEK, ASK, ARK, terminator, then three "certificates". */
static size_t make_table(uint8_t *t, size_t cap)
{
	size_t hdr = 4 * 24, sz[3] = { 1300, 1600, 1950 }, off = hdr;
	const uint8_t *g[3] = { guid_vcek, guid_ask, guid_ark };
	memset(t, 0, cap);
	for (int i = 0; i < 3; i++) {
		put_entry(t + 24 * i, g[i], (uint32_t)off, (uint32_t)sz[i]);
		memset(t + off, 0x30 + i, sz[i]);
		off += sz[i];
	}
	return off;
}

static void write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* A fresh file under /tmp holding `len` bytes of `t`; path must hold 32 bytes. */
static void temp_table(char *path, const void *t, size_t len)
{
	int fd;
	strcpy(path, "/tmp/carapace-certs-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, t, len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct cp_err err = { 0 };

	f->table_len = make_table(f->table, sizeof(f->table));
	temp_table(f->path, f->table, f->table_len);
	f->cfg = cfg_for(CC_SNP, 2);
	f->cfg.snp_certs = f->path;
	f->kd = double_new();
	if (cc_launch(&kd_ops, f->kd, &f->cfg, &f->vm, &err) < 0) {
		print_error("launch: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cc_vm_release(&f->vm);
	kd_free(f->kd);
	unlink(f->path);
	free(f);
	return 0;
}

static struct cp_kvm_run_snp_req_certs answer(struct fixture *f, unsigned vcpu)
{
	struct cp_kvm_run_snp_req_certs rc;
	memcpy(&rc, (uint8_t *)f->vm.run[vcpu] + CP_KVM_RUN_UNION_OFFSET, sizeof(rc));
	return rc;
}

/* The guest asks: script the exit on vCPU `vcpu`, run it, dispatch it. */
static enum cc_exit_verdict request(struct fixture *f, unsigned vcpu, uint64_t gpa, uint64_t npages)
{
	struct cp_kvm_run_snp_req_certs rc = { .gpa = gpa, .npages = npages };
	struct cp_err err = { 0 };
	enum cc_exit_verdict v;
	int r;

	assert_int_equal(kd_script_exit(f->kd, vcpu, CP_KVM_EXIT_SNP_REQ_CERTS, &rc, sizeof(rc), 0), 0);
	r = kd_ops.ioctl(f->kd, f->vm.vcpu_fd[vcpu], KVM_RUN, NULL);
	assert_int_equal(r, 0);
	v = cc_exit_dispatch(&f->vm, vcpu, r, &err);
	if (v != CC_EXIT_RESUME)
		print_error("dispatch: %s\n", err.msg);
	return v;
}

/* Would an exclusive lock (what a certificate updater takes) be granted right now? */
static bool writer_could_lock(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR);
	bool ok;
	assert_true(fd >= 0);
	ok = fcntl(fd, F_OFD_SETLK, &fl) == 0;
	close(fd); /* drops the lock if it was granted */
	return ok;
}

static void share(struct fixture *f, uint64_t gpa, uint64_t len)
{
	struct cp_err err = { 0 };
	assert_int_equal(cc_mem_convert(&f->vm, gpa, len, false, &err), 0);
}

static void test_enabled_before_vcpus(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_true(rec.req_certs_enabled);
	assert_int_equal(kd_refusals(f->kd), 0);
}

static void test_table_served_and_lock_held_until_sent(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = f->vm.run[0];
	const uint8_t *g = f->vm.shared + 0x300000;
	struct kd_record rec;
	int r;

	share(f, 0x300000, 3 * PG);
	memset(f->vm.shared + 0x300000, 0xee, 3 * PG);
	assert_int_equal(request(f, 0, 0x300000, 3), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, 0);
	assert_memory_equal(g, f->table, f->table_len);
	for (size_t i = f->table_len; i < 2 * PG; i++)
		if (g[i])
			fail_msg("byte %zu after the table is 0x%x, not 0", i, g[i]);
	assert_int_equal(g[2 * PG], 0xee); /* the third page was not needed and is untouched */
	/* Locked for readers until the request has gone to the firmware. */
	assert_int_equal(run->immediate_exit, 1);
	assert_false(writer_could_lock(f->path));
	r = kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL);
	assert_int_equal(r, -EINTR); /* KVM completed the request, then honoured immediate_exit */
	cc_vcpu_returned(&f->vm, 0);
	assert_int_equal(run->immediate_exit, 0);
	assert_true(writer_could_lock(f->path));
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.certs_completions, 1);
	assert_int_equal(rec.certs_ret, 0);
	assert_int_equal(f->vm.certs_served, 1);
}

static void test_two_vcpus_share_the_lock(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;

	share(f, 0x300000, 4 * PG);
	/* vCPU 1 is an AP: it runs once the guest has created it (SNP AP creation, on vCPU 0). */
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(kd_script_snp_ap_creation(f->kd, 0, 1, 1, 0x10000, rec.vmsa_features | 1), 0);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(request(f, 1, 0x302000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 1).ret, 0);
	cc_vcpu_returned(&f->vm, 0);
	assert_false(writer_could_lock(f->path)); /* vCPU 1 still holds it */
	cc_vcpu_returned(&f->vm, 1);
	assert_true(writer_could_lock(f->path));
}

static void test_too_small_gets_enospc_and_the_page_count(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;

	share(f, 0x300000, PG);
	assert_int_equal(request(f, 0, 0x300000, 1), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, ENOSPC);
	assert_int_equal(answer(f, 0).npages, 2);
	assert_int_equal(((struct kvm_run *)f->vm.run[0])->immediate_exit, 0);
	assert_true(writer_could_lock(f->path));
	assert_int_equal(kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL), 0);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.certs_ret, ENOSPC);
	assert_int_equal(rec.certs_npages, 2);
}

static void test_private_or_outside_buffer_gets_eio(void **state)
{
	struct fixture *f = *state;
	const uint8_t *priv = f->vm.shared + 0x300000;

	/* Private pages: the host must not write there (and could not, on real hardware). */
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	for (size_t i = 0; i < 2 * PG; i++)
		if (priv[i])
			fail_msg("the table was written into private memory (byte %zu)", i);
	/* Half shared, half private. */
	share(f, 0x300000, PG);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	/* Beyond RAM, and in the firmware. */
	assert_int_equal(request(f, 0, (64ull << 20) - PG, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	assert_int_equal(request(f, 0, 0xffff0000ull, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	assert_int_equal(request(f, 0, 0xd0000000ull, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	assert_true(writer_could_lock(f->path)); /* no lock left behind */
	assert_int_equal(f->vm.certs_refused, 5);
}

static void test_update_in_progress_gets_eagain(void **state)
{
	struct fixture *f = *state;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(f->path, O_RDWR);

	share(f, 0x300000, 2 * PG);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0); /* an updater holds the table */
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EAGAIN);
	assert_int_equal(f->vm.shared[0x300000], 0);
	close(fd);
	assert_int_equal(kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL), 0);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME); /* the guest retries */
	assert_int_equal(answer(f, 0).ret, 0);
	assert_int_equal(f->vm.certs_busy, 1);
}

static void test_table_corrupted_at_run_time_gets_eio(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[100];

	share(f, 0x300000, 2 * PG);
	memset(junk, 0x41, sizeof(junk)); /* no terminator */
	write_file(f->path, junk, sizeof(junk));
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, EIO);
	assert_int_equal(f->vm.shared[0x300000], 0);
	/* A fixed table is picked up by the next request: it is re-read every time. */
	write_file(f->path, f->table, f->table_len);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	assert_int_equal(answer(f, 0).ret, 0);
}

static void test_bad_answer_is_refused_by_kvm(void **state)
{
	struct fixture *f = *state;
	struct cp_kvm_run_snp_req_certs rc;

	share(f, 0x300000, 2 * PG);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	cc_vcpu_returned(&f->vm, 0);
	rc = answer(f, 0);
	rc.ret = EPERM; /* what KVM would reject: the double is as strict */
	memcpy((uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
	assert_int_equal(kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(f->kd), "snp_req_certs.ret"));
}

static void test_second_request_before_first_sent_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = f->vm.run[0];
	struct cp_kvm_run_snp_req_certs rc = { .gpa = 0x300000, .npages = 2 };
	struct cp_err err = { 0 };

	share(f, 0x300000, 2 * PG);
	assert_int_equal(request(f, 0, 0x300000, 2), CC_EXIT_RESUME);
	/* A kernel that exits again without returning first would break the lock protocol. */
	run->exit_reason = CP_KVM_EXIT_SNP_REQ_CERTS;
	memcpy((uint8_t *)run + CP_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
	assert_int_equal(cc_exit_dispatch(&f->vm, 0, 0, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "second certificate request"));
}

/* ---- launch-time refusals ---- */

static void test_kernel_without_req_certs_is_refused(void **state)
{
	(void)state;
	struct kd_config c;
	struct kvm_double *kd;
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	uint8_t t[5000];
	char path[32];

	temp_table(path, t, make_table(t, sizeof(t)));
	kd_config_default(&c);
	c.snp_req_certs = false; /* a 6.18 kernel */
	kd = kd_new(&c);
	cfg.snp_certs = path;
	assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0);
	assert_non_null(strstr(err.msg, "Linux 7.0"));
	assert_non_null(strstr(err.msg, "KVM_X86_SEV_SNP_REQ_CERTS"));
	kd_free(kd);
	unlink(path);
}

static void test_bad_tables_refused_at_start(void **state)
{
	(void)state;
	static const struct { size_t len; int corrupt; const char *msg; } cases[] = {
		{ 0, 0, "regular file of 1 byte" },     /* empty */
		{ 48, 1, "truncated" },                  /* no terminator */
		{ 5000, 2, "outside data" },             /* an offset past the end */
		{ 5000, 3, "no VCEK or VLEK" },          /* only ASK/ARK */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct kvm_double *kd = double_new();
		struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
		struct cc_vm vm;
		struct cp_err err = { 0 };
		uint8_t t[5000];
		char path[32];

		make_table(t, sizeof(t));
		if (cases[k].corrupt == 1)
			memset(t, 0x41, sizeof(t));
		if (cases[k].corrupt == 2)
			cp_put_le32(t + 24 + 16, 4990);
		if (cases[k].corrupt == 3)
			memset(t, 0xff, 16); /* the VCEK entry becomes an unknown GUID */
		temp_table(path, t, cases[k].len);
		cfg.snp_certs = path;
		assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0);
		if (!strstr(err.msg, cases[k].msg))
			fail_msg("case %zu: '%s' does not say '%s'", k, err.msg, cases[k].msg);
		assert_non_null(strstr(err.msg, path));
		kd_free(kd);
		unlink(path);
	}
}

static void test_tdx_with_certs_refused(void **state)
{
	(void)state;
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_TDX, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };

	cfg.snp_certs = "/nonexistent";
	assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) < 0);
	assert_non_null(strstr(err.msg, "SEV-SNP guests only"));
	kd_free(kd);
}

static void test_enable_after_vcpu_refused_by_double(void **state)
{
	(void)state;
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct cp_kvm_sev_cmd c = { .id = CP_KVM_SEV_SNP_ENABLE_REQ_CERTS };

	assert_int_equal(cc_vm_init(&vm, &kd_ops, kd, &cfg, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_CREATE_VM, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_INIT, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_START, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_MEMORY, &err), 0);
	assert_int_equal(cc_step(&vm, CC_STEP_VCPUS, &err), 0);
	assert_int_equal(kd_ops.ioctl(kd, vm.vm_fd, CP_KVM_MEMORY_ENCRYPT_OP, &c), -EINVAL);
	assert_non_null(strstr(kd_last_refusal(kd), "after KVM_CREATE_VCPU"));
	cc_vm_release(&vm);
	kd_free(kd);
}

static void test_req_certs_exit_without_enable_fails_closed(void **state)
{
	(void)state;
	struct kvm_double *kd = double_new();
	struct cc_launch_cfg cfg = cfg_for(CC_SNP, 1);
	struct cc_vm vm;
	struct cp_err err = { 0 };
	struct kvm_run *run;

	assert_true(cc_launch(&kd_ops, kd, &cfg, &vm, &err) >= 0);
	run = vm.run[0];
	run->exit_reason = CP_KVM_EXIT_SNP_REQ_CERTS;
	assert_int_equal(cc_exit_dispatch(&vm, 0, 0, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "never enabled"));
	cc_vm_release(&vm);
	kd_free(kd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enabled_before_vcpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_served_and_lock_held_until_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_vcpus_share_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_small_gets_enospc_and_the_page_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_or_outside_buffer_gets_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_in_progress_gets_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_corrupted_at_run_time_gets_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_answer_is_refused_by_kvm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_request_before_first_sent_fails_closed, setup, teardown),
		cmocka_unit_test(test_kernel_without_req_certs_is_refused),
		cmocka_unit_test(test_bad_tables_refused_at_start),
		cmocka_unit_test(test_tdx_with_certs_refused),
		cmocka_unit_test(test_enable_after_vcpu_refused_by_double),
		cmocka_unit_test(test_req_certs_exit_without_enable_fails_closed),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests_name("cc-snp-certs", tests, NULL, NULL);
}

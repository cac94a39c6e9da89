/* Run-time handlers of confidential guests, driven by exits the double is scripted to return from
 * KVM_RUN: MAP_GPA_RANGE, memory faults, TDX GetQuote (with and without a quote service),
 * SEV_TERM / TDX_FATAL, and exits the handlers do not know. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <cmocka.h>

#include "helpers.h"
#include "runner/kvm_cc_uapi.h"
#include "runner/sandbox.h"

struct fixture {
	struct kvm_double *kd;
	struct cc_vm vm;
};

static int launch(void **state, enum cc_platform p)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static struct cc_launch_cfg cfg;
	struct cp_err err = { 0 };

	cfg = cfg_for(p, 2);
	f->kd = double_new();
	if (cc_launch(&kd_ops, f->kd, &cfg, &f->vm, &err) < 0) {
		print_error("launch: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}
static int setup_snp(void **state) { return launch(state, CC_SNP); }
static int setup_tdx(void **state) { return launch(state, CC_TDX); }
static int teardown(void **state)
{
	struct fixture *f = *state;
	cc_vm_release(&f->vm);
	kd_free(f->kd);
	free(f);
	return 0;
}

/* Script one exit on vCPU 0, run it, dispatch it. */
static enum cc_exit_verdict run_exit(struct fixture *f, uint32_t reason, const void *payload, size_t len, int ret,
				     struct cp_err *err)
{
	int r;
	assert_int_equal(kd_script_exit(f->kd, 0, reason, payload, len, ret), 0);
	r = kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL);
	assert_int_equal(r, ret);
	return cc_exit_dispatch(&f->vm, 0, r, err);
}

static enum cc_exit_verdict map_gpa(struct fixture *f, uint64_t gpa, uint64_t npages, uint64_t attrs, uint64_t *ret)
{
	uint64_t p[9] = { CP_KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs };
	struct cp_err err = { 0 };
	enum cc_exit_verdict v = run_exit(f, KVM_EXIT_HYPERCALL, p, sizeof(p), 0, &err);
	*ret = ((struct kvm_run *)f->vm.run[0])->hypercall.ret;
	return v;
}

static void test_map_gpa_range_shared_and_back(void **state)
{
	struct fixture *f = *state;
	uint64_t ret;
	uint8_t *hva = f->vm.shared + 0x200000;

	assert_true(kd_gpa_private(f->kd, 0x200000));
	assert_int_equal(map_gpa(f, 0x200000, 4, 0 /* to shared, 4K */, &ret), CC_EXIT_RESUME);
	assert_int_equal(ret, 0);
	assert_false(kd_gpa_private(f->kd, 0x200000));
	assert_false(kd_gpa_private(f->kd, 0x203000));
	assert_true(kd_gpa_private(f->kd, 0x204000));
	assert_false(cc_mem_is_private(&f->vm, 0x203000));
	/* The guest (through a device) writes shared memory; converting back to private punches it. */
	memset(hva, 0x5a, 0x4000);
	assert_int_equal(map_gpa(f, 0x200000, 4, CP_KVM_MAP_GPA_RANGE_ENCRYPTED, &ret), CC_EXIT_RESUME);
	assert_int_equal(ret, 0);
	assert_true(kd_gpa_private(f->kd, 0x200000));
	assert_true(cc_mem_is_private(&f->vm, 0x200000));
	for (size_t i = 0; i < 0x4000; i++)
		if (hva[i])
			fail_msg("shared byte %zu survived the conversion to private", i);
}

/* A request to make private what is private already (the SNP validation stub asks it for every
 * RAM page) changes nothing and costs no KVM call; a range with one shared page in it converts
 * (the attribute is set, the shared copy punched). */
static void test_map_gpa_range_private_already(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	unsigned calls;
	uint64_t ret;
	uint8_t *hva = f->vm.shared + 0x300000;

	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	calls = rec.n_attr_calls;
	assert_int_equal(map_gpa(f, 0x300000, 4, CP_KVM_MAP_GPA_RANGE_ENCRYPTED, &ret), CC_EXIT_RESUME);
	assert_int_equal(ret, 0);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.n_attr_calls, calls);
	assert_int_equal(map_gpa(f, 0x302000, 1, 0 /* to shared */, &ret), CC_EXIT_RESUME);
	memset(hva + 0x2000, 0x77, 0x1000);
	assert_int_equal(map_gpa(f, 0x300000, 4, CP_KVM_MAP_GPA_RANGE_ENCRYPTED, &ret), CC_EXIT_RESUME);
	assert_int_equal(ret, 0);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.n_attr_calls, calls + 2);
	assert_true(kd_gpa_private(f->kd, 0x302000));
	assert_true(cc_mem_is_private(&f->vm, 0x302000));
	assert_int_equal(hva[0x2000], 0);
}

static void test_map_gpa_range_bad_requests(void **state)
{
	struct fixture *f = *state;
	uint64_t ret;

	assert_int_equal(map_gpa(f, 0x200800, 1, 0, &ret), CC_EXIT_RESUME); /* unaligned */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, 0x200000, 0, 0, &ret), CC_EXIT_RESUME); /* no pages */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, 0xd0000000, 1, 0, &ret), CC_EXIT_RESUME); /* MMIO hole, not RAM */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, (64ull << 20) - 0x1000, 2, 0, &ret), CC_EXIT_RESUME); /* runs past RAM */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, 0x200000, 1, 1u << 7, &ret), CC_EXIT_RESUME); /* unknown attribute bit */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, 0x200000, 1, 3, &ret), CC_EXIT_RESUME); /* page size 3 */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_int_equal(map_gpa(f, 0x200000, UINT64_MAX / 2, 0, &ret), CC_EXIT_RESUME); /* overflow */
	assert_int_equal(ret, (uint64_t)-EINVAL);
	assert_true(kd_gpa_private(f->kd, 0x200000)); /* nothing changed */
}

static void test_other_hypercall_fails_closed(void **state)
{
	struct fixture *f = *state;
	uint64_t p[9] = { 5 /* KVM_HC_KICK_CPU */ };
	struct cp_err err = { 0 };

	assert_int_equal(run_exit(f, KVM_EXIT_HYPERCALL, p, sizeof(p), 0, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "only MAP_GPA_RANGE"));
}

static void test_memory_fault_converts(void **state)
{
	struct fixture *f = *state;
	struct cp_kvm_run_memory_fault mf = { .flags = 0, .gpa = 0x300010, .size = 0x10 };
	struct cp_err err = { 0 };

	/* A shared access to a private page: KVM_RUN = -EFAULT with the exit filled in. */
	assert_int_equal(run_exit(f, CP_KVM_EXIT_MEMORY_FAULT, &mf, sizeof(mf), -EFAULT, &err), CC_EXIT_RESUME);
	assert_false(kd_gpa_private(f->kd, 0x300000));
	assert_true(kd_gpa_private(f->kd, 0x301000));
	mf.flags = CP_KVM_MEMORY_EXIT_FLAG_PRIVATE;
	mf.size = 0x1000;
	assert_int_equal(run_exit(f, CP_KVM_EXIT_MEMORY_FAULT, &mf, sizeof(mf), -EFAULT, &err), CC_EXIT_RESUME);
	assert_true(kd_gpa_private(f->kd, 0x300000));
	assert_true(kd_gpa_private(f->kd, 0x301000));
	/* Outside RAM: the guest's problem, the VM ends with the address. */
	mf.gpa = 0xfec00000;
	assert_int_equal(run_exit(f, CP_KVM_EXIT_MEMORY_FAULT, &mf, sizeof(mf), -EFAULT, &err), CC_EXIT_GUEST_END);
	assert_non_null(strstr(err.msg, "0xfec00000"));
}

static void test_run_error_is_host_failure(void **state)
{
	struct fixture *f = *state;
	struct cp_err err = { 0 };
	assert_int_equal(run_exit(f, KVM_EXIT_HLT, NULL, 0, -EIO, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "KVM_RUN failed"));
}

static void test_sev_term(void **state)
{
	struct fixture *f = *state;
	struct { uint32_t type, ndata; uint64_t data[2]; } ev = { CP_KVM_SYSTEM_EVENT_SEV_TERM, 1, { 0x31100 } };
	struct cp_err err = { 0 };

	assert_int_equal(run_exit(f, KVM_EXIT_SYSTEM_EVENT, &ev, sizeof(ev), 0, &err), CC_EXIT_GUEST_END);
	assert_non_null(strstr(err.msg, "terminated itself"));
	assert_non_null(strstr(err.msg, "code 3"));
}

static void test_unknown_exit_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct cp_err err = { 0 };
	assert_int_equal(run_exit(f, KVM_EXIT_IO, NULL, 0, 0, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "not a confidential-computing exit"));
	cp_err_clear(&err);
	/* A KVM_EXIT_TDX on an SNP guest is just as unexpected. */
	assert_int_equal(run_exit(f, CP_KVM_EXIT_TDX, NULL, 0, 0, &err), CC_EXIT_HOST_FAIL);
	cp_err_clear(&err);
	/* A memory fault without KVM_RUN's -EFAULT is not one. */
	assert_int_equal(run_exit(f, CP_KVM_EXIT_MEMORY_FAULT, NULL, 0, 0, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "must come with KVM_RUN = -EFAULT"));
}

/* ---- TDX ---- */

#define QBUF 0x100000ull

static void quote_request(struct fixture *f, uint32_t in_len)
{
	uint8_t *b = f->vm.shared + QBUF;
	struct cp_err err = { 0 };

	assert_int_equal(cc_mem_convert(&f->vm, QBUF, 0x2000, false, &err), 0);
	memset(b, 0, 0x2000);
	cp_put_le64(b, 1);
	cp_put_le32(b + 16, in_len);
	for (uint32_t i = 0; i < in_len; i++)
		b[24 + i] = (uint8_t)i;
}

static enum cc_exit_verdict get_quote(struct fixture *f, uint64_t gpa, uint64_t size, uint64_t *ret, struct cp_err *err)
{
	struct cp_kvm_run_tdx t = { .nr = CP_TDVMCALL_GET_QUOTE, .get_quote = { 0, gpa, size } };
	enum cc_exit_verdict v = run_exit(f, CP_KVM_EXIT_TDX, &t, sizeof(t), 0, err);
	memcpy(&t, (uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	*ret = t.get_quote.ret;
	return v;
}

static void test_get_quote_without_service(void **state)
{
	struct fixture *f = *state;
	struct cp_err err = { 0 };
	uint64_t ret;

	quote_request(f, 1024);
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_SUCCESS);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "no quote generation service is configured"));
}

static void test_get_quote_bad_buffers(void **state)
{
	struct fixture *f = *state;
	struct cp_err err = { 0 };
	uint64_t ret;

	/* Answered as QEMU's tdx_handle_get_quote answers them; nothing is written. */
	quote_request(f, 1024);
	assert_int_equal(get_quote(f, QBUF + 8, 0x1000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_ALIGN_ERROR);
	assert_int_equal(get_quote(f, 0x400000, 0x1000, &ret, &err), CC_EXIT_RESUME); /* private memory */
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(get_quote(f, QBUF, 0x3000, &ret, &err), CC_EXIT_RESUME); /* last page private */
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(get_quote(f, 0xd0000000, 0x1000, &ret, &err), CC_EXIT_RESUME); /* not RAM */
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(get_quote(f, QBUF, 0, &ret, &err), CC_EXIT_RESUME); /* empty */
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	quote_request(f, 0x3000); /* in_len larger than the buffer */
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	quote_request(f, 1024);
	cp_put_le64(f->vm.shared + QBUF, 2); /* header version 2 */
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), 0); /* untouched */
}

/* A fake quote generation service: one connection, checks the request (protocol 1.1), waits for
 * the test's go-ahead (so the test sees the request in flight), answers a quote with the given
 * minor version. */
struct qgs {
	int lfd, go[2];
	uint16_t resp_minor;
	uint32_t report_len;
	bool ok;
};

static void *qgs_thread(void *arg)
{
	struct qgs *q = arg;
	uint8_t len4[4], req[4096], resp[256], go;
	static const char quote[] = "carapace-test-quote";
	int fd = accept(q->lfd, NULL, NULL);
	uint32_t n, total;

	if (fd < 0 || read(fd, len4, 4) != 4)
		return NULL;
	n = cp_be32(len4);
	if (n > sizeof(req) || recv(fd, req, n, MSG_WAITALL) != (ssize_t)n)
		goto out;
	q->report_len = cp_le32(req + 16);
	q->ok = cp_le16(req) == 1 && cp_le16(req + 2) == 1 && cp_le32(req + 4) == 0 && cp_le32(req + 8) == n &&
		req[24] == 0 && req[25] == 1;
	if (read(q->go[0], &go, 1) != 1)
		q->ok = false;
	total = 16 + 8 + (uint32_t)sizeof(quote);
	memset(resp, 0, sizeof(resp));
	cp_put_be32(resp, total);
	cp_put_le16(resp + 4, 1);
	cp_put_le16(resp + 6, q->resp_minor);
	cp_put_le32(resp + 8, 1);
	cp_put_le32(resp + 12, total);
	cp_put_le32(resp + 24, sizeof(quote));
	memcpy(resp + 28, quote, sizeof(quote));
	if (write(fd, resp, 4 + total) != (ssize_t)(4 + total))
		q->ok = false;
out:
	close(fd);
	return NULL;
}

static void qgs_start(struct qgs *q, pthread_t *th, char *dir, struct sockaddr_un *sa, uint16_t resp_minor)
{
	assert_non_null(mkdtemp(dir));
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/qgs.sock", dir);
	q->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	q->resp_minor = resp_minor;
	assert_int_equal(pipe(q->go), 0);
	assert_int_equal(bind(q->lfd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(listen(q->lfd, 1), 0);
	assert_int_equal(pthread_create(th, NULL, qgs_thread, q), 0);
}

static void qgs_end(struct qgs *q, pthread_t th, char *dir, struct sockaddr_un *sa)
{
	pthread_join(th, NULL);
	close(q->lfd);
	close(q->go[0]);
	close(q->go[1]);
	unlink(sa->sun_path);
	rmdir(dir);
}

static void setup_event_notify(struct fixture *f, uint64_t vector, uint64_t *ret)
{
	struct cp_kvm_run_tdx t = { .nr = CP_TDVMCALL_SETUP_EVENT_NOTIFY, .setup_event_notify = { 0, vector } };
	struct cp_err err = { 0 };
	assert_int_equal(run_exit(f, CP_KVM_EXIT_TDX, &t, sizeof(t), 0, &err), CC_EXIT_RESUME);
	memcpy(&t, (uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	*ret = t.setup_event_notify.ret;
}

/* GetQuote is answered at once with the request IN_FLIGHT while the service has not answered (the
 * vCPU does not wait for it: before, it blocked for up to 30 s); the quote lands in the buffer
 * later, followed by the event-notify interrupt the guest set up. */
static void test_get_quote_async(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qgs q = { 0 };
	struct cp_err err = { 0 };
	char dir[] = "/tmp/carapace-qgs-XXXXXX";
	pthread_t th;
	uint64_t ret;
	struct kd_record rec;

	qgs_start(&q, &th, dir, &sa, 1);
	f->vm.quote_socket = sa.sun_path;
	f->vm.quote_timeout_ms = 60000;
	assert_int_equal(cc_quote_start(&f->vm, NULL, NULL, &err), 0);
	setup_event_notify(f, 0x40, &ret);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_SUCCESS);
	quote_request(f, 1024);
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_SUCCESS);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), CP_TDX_GET_QUOTE_IN_FLIGHT); /* the service still waits */
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.msis, 0);
	assert_int_equal(write(q.go[1], "g", 1), 1);
	cc_quote_wait_idle(&f->vm);
	qgs_end(&q, th, dir, &sa);
	assert_true(q.ok);
	assert_int_equal(q.report_len, 1024);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), CP_TDX_GET_QUOTE_SUCCESS);
	assert_int_equal(cp_le32(f->vm.shared + QBUF + 20), sizeof("carapace-test-quote"));
	assert_string_equal((char *)f->vm.shared + QBUF + 24, "carapace-test-quote");
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.msis, 1);
	assert_int_equal(rec.last_msi_data, 0x40);
	assert_int_equal(rec.last_msi_addr, 0xfee00000); /* vCPU 0, which set the vector up */
	assert_int_equal(f->vm.quotes_served, 1);
}

/* A service speaking protocol 1.0 is not the one QEMU (and carapace) speak: the guest gets ERROR. */
static void test_get_quote_old_protocol_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qgs q = { 0 };
	struct cp_err err = { 0 };
	char dir[] = "/tmp/carapace-qgs-XXXXXX";
	pthread_t th;
	uint64_t ret;

	qgs_start(&q, &th, dir, &sa, 0);
	f->vm.quote_socket = sa.sun_path;
	assert_int_equal(cc_quote_start(&f->vm, NULL, NULL, &err), 0);
	quote_request(f, 1024);
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(write(q.go[1], "g", 1), 1);
	cc_quote_wait_idle(&f->vm);
	qgs_end(&q, th, dir, &sa);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), CP_TDX_GET_QUOTE_ERROR);
	assert_int_equal(f->vm.quotes_failed, 1);
}

static void test_get_quote_service_down(void **state)
{
	struct fixture *f = *state;
	struct cp_err err = { 0 };
	uint64_t ret;

	f->vm.quote_socket = "/nonexistent/carapace-qgs.sock";
	assert_int_equal(cc_quote_start(&f->vm, NULL, NULL, &err), 0);
	quote_request(f, 1024);
	assert_int_equal(get_quote(f, QBUF, 0x2000, &ret, &err), CC_EXIT_RESUME);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_SUCCESS);
	cc_quote_wait_idle(&f->vm);
	assert_int_equal(cp_le64(f->vm.shared + QBUF + 8), CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE);
}

static void test_tdx_other_leaves(void **state)
{
	struct fixture *f = *state;
	struct cp_kvm_run_tdx t = { .nr = 0x10005 };
	struct cp_err err = { 0 };
	uint64_t ret;

	assert_int_equal(run_exit(f, CP_KVM_EXIT_TDX, &t, sizeof(t), 0, &err), CC_EXIT_RESUME);
	memcpy(&t, (uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	assert_int_equal(t.unknown.ret, CP_TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED);
	/* GetTdVmCallInfo: leaf 1 only; GetQuote only with a service, event notification always. */
	t = (struct cp_kvm_run_tdx){ .nr = CP_TDVMCALL_GET_TD_VM_CALL_INFO };
	assert_int_equal(run_exit(f, CP_KVM_EXIT_TDX, &t, sizeof(t), 0, &err), CC_EXIT_RESUME);
	memcpy(&t, (uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	assert_int_equal(t.get_tdvmcall_info.ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	t = (struct cp_kvm_run_tdx){ .nr = CP_TDVMCALL_GET_TD_VM_CALL_INFO, .get_tdvmcall_info = { .leaf = 1 } };
	assert_int_equal(run_exit(f, CP_KVM_EXIT_TDX, &t, sizeof(t), 0, &err), CC_EXIT_RESUME);
	memcpy(&t, (uint8_t *)f->vm.run[0] + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	assert_int_equal(t.get_tdvmcall_info.ret, 0);
	assert_int_equal(t.get_tdvmcall_info.r11, 0); /* no GetQuote without a service */
	assert_int_equal(t.get_tdvmcall_info.r12, 2); /* SetupEventNotifyInterrupt */
	setup_event_notify(f, 31, &ret); /* vectors below 32 are exceptions */
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
	setup_event_notify(f, 256, &ret);
	assert_int_equal(ret, CP_TDVMCALL_STATUS_INVALID_OPERAND);
}

static void test_tdx_fatal(void **state)
{
	struct fixture *f = *state;
	struct { uint32_t type, ndata; uint64_t data[2]; } ev = { CP_KVM_SYSTEM_EVENT_TDX_FATAL, 1, { 0x1234 } };
	struct cp_err err = { 0 };

	assert_int_equal(run_exit(f, KVM_EXIT_SYSTEM_EVENT, &ev, sizeof(ev), 0, &err), CC_EXIT_GUEST_END);
	assert_non_null(strstr(err.msg, "fatal error"));
	assert_non_null(strstr(err.msg, "0x1234"));
}

static void test_tdx_map_gpa(void **state)
{
	struct fixture *f = *state;
	uint64_t ret;
	assert_int_equal(map_gpa(f, 0x500000, 16, 0, &ret), CC_EXIT_RESUME);
	assert_int_equal(ret, 0);
	assert_false(kd_gpa_private(f->kd, 0x50f000));
}

/* The quote thread under its own seccomp table (SANDBOX_QUOTE), in a child process: a call the
 * table lacks would kill the child (SIGSYS) instead of answering the guest. Sanitizer builds
 * only log (sandbox_mode_default): the table is proven in the plain build. */
static int quote_thread_filter(void *arg)
{
	struct cp_err err = { 0 };
	(void)arg;
	return sandbox_thread_apply(SANDBOX_QUOTE, sandbox_mode_default(), &err);
}

static void test_get_quote_thread_confined(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int st = 0;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct qgs q = { 0 };
		struct cp_err err = { 0 };
		char dir[] = "/tmp/carapace-qgs-XXXXXX";
		pthread_t th;
		uint64_t ret;

		qgs_start(&q, &th, dir, &sa, 1);
		f->vm.quote_socket = sa.sun_path;
		if (cc_quote_start(&f->vm, quote_thread_filter, NULL, &err) < 0)
			_exit(2);
		setup_event_notify(f, 0x41, &ret);
		quote_request(f, 1024);
		get_quote(f, QBUF, 0x2000, &ret, &err);
		if (write(q.go[1], "g", 1) != 1)
			_exit(3);
		cc_quote_wait_idle(&f->vm);
		qgs_end(&q, th, dir, &sa);
		_exit(q.ok && cp_le64(f->vm.shared + QBUF + 8) == CP_TDX_GET_QUOTE_SUCCESS && f->vm.quotes_notified == 1 ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("the quote thread was killed by signal %d (a system call outside SANDBOX_QUOTE)", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- TDX MapGPA: KVM serves it in 2 MiB chunks (tdx.c tdx_map_gpa) ---- */

/* Run vCPU 0 until it stops exiting for MapGPA; returns the number of chunks carapace answered. */
static unsigned run_map_gpa(struct fixture *f, int *last_run)
{
	struct kvm_run *run = f->vm.run[0];
	unsigned n = 0;

	for (;;) {
		struct cp_err err = { 0 };
		int r = kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL);
		*last_run = r;
		if (r < 0 || run->exit_reason != KVM_EXIT_HYPERCALL)
			return n;
		assert_int_equal(run->hypercall.args[1] <= 512, 1);
		assert_int_equal(cc_exit_dispatch(&f->vm, 0, r, &err), CC_EXIT_RESUME);
		n++;
	}
}

static void test_tdx_map_gpa_chunks(void **state)
{
	struct fixture *f = *state;
	struct kd_record rec;
	int last;

	assert_int_equal(kd_script_tdx_map_gpa(f->kd, 0, 0x500000, 5ull << 20, false), 0);
	assert_int_equal(run_map_gpa(f, &last), 3); /* 2 + 2 + 1 MiB */
	assert_int_equal(last, 0);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.map_gpa_status, CP_TDVMCALL_STATUS_SUCCESS);
	assert_false(kd_gpa_private(f->kd, 0x500000));
	assert_false(kd_gpa_private(f->kd, 0x9ff000));
	assert_true(kd_gpa_private(f->kd, 0xa00000));
	/* Back to private, and a range that is not RAM: the guest gets INVALID_OPERAND. */
	assert_int_equal(kd_script_tdx_map_gpa(f->kd, 0, 0x500000, 2ull << 20, true), 0);
	assert_int_equal(run_map_gpa(f, &last), 1);
	assert_true(kd_gpa_private(f->kd, 0x500000));
	assert_int_equal(kd_script_tdx_map_gpa(f->kd, 0, 0xd0000000, 4ull << 20, false), 0);
	assert_int_equal(run_map_gpa(f, &last), 1);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.map_gpa_status, CP_TDVMCALL_STATUS_INVALID_OPERAND);
}

/* With an interrupt pending KVM stops between chunks: the guest gets RETRY and where to go on. */
static void test_tdx_map_gpa_interrupted(void **state)
{
	struct fixture *f = *state;
	struct kd_config c;
	struct cp_err err = { 0 };
	struct kd_record rec;
	static struct cc_launch_cfg cfg;
	int last;

	cc_vm_release(&f->vm);
	kd_free(f->kd);
	kd_config_default(&c);
	c.map_gpa_interrupt_after = 1;
	f->kd = kd_new(&c);
	cfg = cfg_for(CC_TDX, 1);
	assert_true(cc_launch(&kd_ops, f->kd, &cfg, &f->vm, &err) >= 0);
	assert_int_equal(kd_script_tdx_map_gpa(f->kd, 0, 0x500000, 5ull << 20, false), 0);
	assert_int_equal(run_map_gpa(f, &last), 1);
	assert_int_equal(kd_record_get(f->kd, &rec), 0);
	assert_int_equal(rec.map_gpa_status, CP_TDVMCALL_STATUS_RETRY);
	assert_int_equal(rec.map_gpa_next, 0x700000);
	assert_false(kd_gpa_private(f->kd, 0x6ff000));
	assert_true(kd_gpa_private(f->kd, 0x700000));
}

/* A hypercall.ret KVM does not know fails KVM_RUN (-EINVAL), and carapace names the failure. */
static void test_tdx_map_gpa_bad_ret_fails_run(void **state)
{
	struct fixture *f = *state;
	struct kvm_run *run = f->vm.run[0];
	struct cp_err err = { 0 };
	int r;

	assert_int_equal(kd_script_tdx_map_gpa(f->kd, 0, 0x500000, 4ull << 20, false), 0);
	assert_int_equal(kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	run->hypercall.ret = 5; /* not 0, -EBUSY or -EINVAL */
	r = kd_ops.ioctl(f->kd, f->vm.vcpu_fd[0], KVM_RUN, NULL);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(cc_exit_dispatch(&f->vm, 0, r, &err), CC_EXIT_HOST_FAIL);
	assert_non_null(strstr(err.msg, "KVM_RUN failed: Invalid argument"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_gpa_range_shared_and_back, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_map_gpa_range_private_already, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_map_gpa_range_bad_requests, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_other_hypercall_fails_closed, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_memory_fault_converts, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_run_error_is_host_failure, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_sev_term, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_exit_fails_closed, setup_snp, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_without_service, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_bad_buffers, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_async, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_thread_confined, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_map_gpa_chunks, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_map_gpa_interrupted, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_map_gpa_bad_ret_fails_run, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_old_protocol_refused, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_get_quote_service_down, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_other_leaves, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_fatal, setup_tdx, teardown),
		cmocka_unit_test_setup_teardown(test_tdx_map_gpa, setup_tdx, teardown),
	};
	ovmf_load_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

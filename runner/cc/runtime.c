/* Run-time exits of confidential guests: private<->shared conversion (MAP_GPA_RANGE hypercall,
 * memory faults), TDX GetQuote forwarding, guest termination. Everything read from kvm_run and
 * from shared guest memory is guest-controlled: ranges are checked against RAM before use. */
#include "runner/cc/cc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "attest/hw/snp_report.h"
#include "runner/kvm_cc_uapi.h"

#define PG 4096ull
#define QUOTE_MAX (64u << 10) /* a quote (with its certification data) is well below this */

static struct cc_block *ram_block(struct cc_vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->nblocks; i++) {
		struct cc_block *b = &vm->blocks[i];
		if (len && gpa >= b->gpa && len <= b->size && gpa - b->gpa <= b->size - len)
			return b;
	}
	return NULL;
}

bool cc_mem_is_private(const struct cc_vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->nblocks; i++) {
		const struct cc_block *b = &vm->blocks[i];
		if (gpa >= b->gpa && gpa - b->gpa < b->size && b->private_bits) {
			uint64_t p = (gpa - b->gpa) / PG;
			return b->private_bits[p / 8] & (1u << (p % 8));
		}
	}
	return false;
}

int cc_mem_convert(struct cc_vm *vm, uint64_t gpa, uint64_t len, bool to_private, struct cp_err *err)
{
	struct cp_kvm_memory_attributes a = { .address = gpa, .size = len,
					      .attributes = to_private ? CP_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0 };
	struct cc_block *b = ram_block(vm, gpa, len);
	int r;

	if (gpa % PG || len % PG || !b)
		return cp_err_set(err, EINVAL, "conversion of 0x%" PRIx64 "+0x%" PRIx64 " to %s: not whole pages inside one "
				  "RAM block", gpa, len, to_private ? "private" : "shared");
	if (!b->private_bits)
		return cp_err_set(err, EINVAL, "conversion before the launch bound memory");
	/* Serialized with the quote thread's writes into shared guest buffers. */
	pthread_mutex_lock(&vm->mem_mu);
	if (to_private) {
		/* Already private (every conversion goes through here, and the launch left all RAM
		 * private with the shared copy punched): nothing changes for KVM or the guest. The
		 * SNP validation stub asks this for each RAM page (GHCB MSR PSC), so it is the
		 * common case and must stay cheap (docs/PERFORMANCE.md). */
		uint64_t p = (gpa - b->gpa) / PG, end = (gpa - b->gpa + len) / PG;
		while (p < end && (b->private_bits[p / 8] & (1u << (p % 8))))
			p++;
		if (p == end) {
			pthread_mutex_unlock(&vm->mem_mu);
			return 0;
		}
	}
	r = vm->ops->ioctl(vm->ctx, vm->vm_fd, CP_KVM_SET_MEMORY_ATTRIBUTES, &a);
	if (r < 0) {
		pthread_mutex_unlock(&vm->mem_mu);
		return cp_err_set(err, -r, "KVM_SET_MEMORY_ATTRIBUTES 0x%" PRIx64 "+0x%" PRIx64 " -> %s: %s", gpa, len,
				  to_private ? "private" : "shared", strerror(-r));
	}
	for (uint64_t p = (gpa - b->gpa) / PG; p < (gpa - b->gpa + len) / PG; p++) {
		if (to_private)
			b->private_bits[p / 8] |= (uint8_t)(1u << (p % 8));
		else
			b->private_bits[p / 8] &= (uint8_t)~(1u << (p % 8));
	}
	/* Now private: the shared copy must not keep what the guest put there (back-ends with the
	 * memfd would read it); punching also returns the memory. */
	if (to_private && vm->shared_fd >= 0) {
		uint64_t off = b->shared_off + (gpa - b->gpa);
		explicit_bzero(vm->shared + off, len);
		(void)fallocate(vm->shared_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	}
	pthread_mutex_unlock(&vm->mem_mu);
	return 0;
}

static uint8_t *run_of(struct cc_vm *vm, unsigned vcpu)
{
	return vcpu < vm->nvcpus ? vm->run[vcpu] : NULL;
}

enum cc_exit_verdict cc_exit_hypercall(struct cc_vm *vm, unsigned vcpu, struct cp_err *err)
{
	struct kvm_run *run = (struct kvm_run *)run_of(vm, vcpu);
	uint64_t gpa, npages, attrs, size;
	struct cp_err conv = { 0 };

	if (!run)
		return cp_err_set(err, EINVAL, "hypercall exit on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	if (run->hypercall.nr != CP_KVM_HC_MAP_GPA_RANGE) {
		/* Only MAP_GPA_RANGE was enabled (KVM_CAP_EXIT_HYPERCALL): anything else is a kernel surprise. */
		cp_err_set(err, EPROTO, "vCPU %u: hypercall %llu exited to user space; only MAP_GPA_RANGE (12) is handled",
			   vcpu, (unsigned long long)run->hypercall.nr);
		return CC_EXIT_HOST_FAIL;
	}
	gpa = run->hypercall.args[0];
	npages = run->hypercall.args[1];
	attrs = run->hypercall.args[2];
	size = npages * PG;
	/* Guest errors are answered to the guest (-EINVAL), never trusted, never fatal to the host. */
	if ((attrs & ~(CP_KVM_MAP_GPA_RANGE_PAGE_SZ_MASK | CP_KVM_MAP_GPA_RANGE_ENCRYPTED)) ||
	    (attrs & CP_KVM_MAP_GPA_RANGE_PAGE_SZ_MASK) > 2 || npages == 0 || npages > (UINT64_MAX / PG) ||
	    gpa % PG || !ram_block(vm, gpa, size)) {
		run->hypercall.ret = (uint64_t)-EINVAL;
		return CC_EXIT_RESUME;
	}
	if (cc_mem_convert(vm, gpa, size, attrs & CP_KVM_MAP_GPA_RANGE_ENCRYPTED, &conv) < 0) {
		cp_err_set(err, conv.code, "vCPU %u: MAP_GPA_RANGE: %s", vcpu, conv.msg);
		return CC_EXIT_HOST_FAIL;
	}
	run->hypercall.ret = 0;
	return CC_EXIT_RESUME;
}

enum cc_exit_verdict cc_exit_memory_fault(struct cc_vm *vm, unsigned vcpu, struct cp_err *err)
{
	uint8_t *run = run_of(vm, vcpu);
	struct cp_kvm_run_memory_fault f;
	struct cp_err conv = { 0 };
	uint64_t start, end;

	if (!run)
		return cp_err_set(err, EINVAL, "memory fault on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	memcpy(&f, run + CP_KVM_RUN_UNION_OFFSET, sizeof(f));
	start = f.gpa & ~(PG - 1);
	end = f.gpa + f.size;
	if (f.size == 0 || end < f.gpa || !ram_block(vm, start, ((end + PG - 1) & ~(PG - 1)) - start)) {
		cp_err_set(err, EFAULT, "vCPU %u: the guest accessed 0x%llx+0x%llx (%s), which is not RAM", vcpu,
			   (unsigned long long)f.gpa, (unsigned long long)f.size,
			   (f.flags & CP_KVM_MEMORY_EXIT_FLAG_PRIVATE) ? "private" : "shared");
		return CC_EXIT_GUEST_END;
	}
	/* The guest touched the range as private (or shared) while it is the other: convert it, as an
	 * implicit conversion request, and let KVM retry the access. */
	if (cc_mem_convert(vm, start, ((end + PG - 1) & ~(PG - 1)) - start, f.flags & CP_KVM_MEMORY_EXIT_FLAG_PRIVATE,
			   &conv) < 0) {
		cp_err_set(err, conv.code, "vCPU %u: memory fault: %s", vcpu, conv.msg);
		return CC_EXIT_HOST_FAIL;
	}
	return CC_EXIT_RESUME;
}

/* ---- TDX GetQuote ---- */

/* The quote generation service's framing (Intel QGS, qgs_msg_lib, as QEMU's
 * target/i386/kvm/tdx-quote-generator.c speaks it): a 4-byte big-endian length, then
 * {u16 major 1, u16 minor 1, u32 type, u32 size, u32 error} + body. Request type 0:
 * {u32 report_size, u32 id_list_size, report}; response type 1: {u32 selected_id_size,
 * u32 quote_size, id, quote}. A response must carry version 1.1 too (QEMU checks both). */
enum { QGS_HDR = 16, QGS_MAJOR = 1, QGS_MINOR = 1, QGS_GET_QUOTE_REQ = 0, QGS_GET_QUOTE_RESP = 1 };

/* Whole reads or writes, each wait at most timeout_ms, and given up at once when stop_fd
 * becomes readable (the VM is going away). */
static int io_full(int fd, void *buf, size_t len, bool wr, unsigned timeout_ms, int stop_fd)
{
	uint8_t *p = buf;
	while (len) {
		struct pollfd pfd[2] = { { .fd = fd, .events = wr ? POLLOUT : POLLIN }, { .fd = stop_fd, .events = POLLIN } };
		ssize_t n;
		int pr = poll(pfd, stop_fd >= 0 ? 2 : 1, (int)timeout_ms);
		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (stop_fd >= 0 && (pfd[1].revents & POLLIN))
			return -ECANCELED;
		n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Ask the QGS for a quote of `report`; *quote is malloc'd. */
static int qgs_get_quote(const char *path, unsigned timeout_ms, int stop_fd, const uint8_t *report, uint32_t report_len,
			 uint8_t **quote, uint32_t *quote_len, struct cp_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *msg = NULL, *resp = NULL;
	uint32_t total = QGS_HDR + 8 + report_len, rlen;
	uint8_t len4[4];
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return cp_err_set(err, ENAMETOOLONG, "quote service socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cp_err_set(err, errno, "quote service %s: %s", path, strerror(errno));
	msg = calloc(1, 4 + total);
	if (!msg)
		return cp_err_set(err, ENOMEM, "out of memory");
	cp_put_be32(msg, total);
	cp_put_le16(msg + 4, QGS_MAJOR);
	cp_put_le16(msg + 6, QGS_MINOR);
	cp_put_le32(msg + 8, QGS_GET_QUOTE_REQ);
	cp_put_le32(msg + 12, total);
	cp_put_le32(msg + 20, report_len);
	memcpy(msg + 4 + QGS_HDR + 8, report, report_len);
	if ((r = io_full(fd, msg, 4 + total, true, timeout_ms, stop_fd)) < 0 ||
	    (r = io_full(fd, len4, 4, false, timeout_ms, stop_fd)) < 0)
		return cp_err_set(err, -r, "quote service %s: %s", path, strerror(-r));
	rlen = cp_be32(len4);
	if (rlen < QGS_HDR + 8 || rlen > QUOTE_MAX + 4096)
		return cp_err_set(err, EPROTO, "quote service %s: response length %u", path, rlen);
	resp = malloc(rlen);
	if (!resp)
		return cp_err_set(err, ENOMEM, "out of memory");
	if ((r = io_full(fd, resp, rlen, false, timeout_ms, stop_fd)) < 0)
		return cp_err_set(err, -r, "quote service %s: %s", path, strerror(-r));
	if (cp_le16(resp) != QGS_MAJOR || cp_le16(resp + 2) != QGS_MINOR || cp_le32(resp + 4) != QGS_GET_QUOTE_RESP ||
	    cp_le32(resp + 8) != rlen)
		return cp_err_set(err, EPROTO, "quote service %s: not a GET_QUOTE response of protocol 1.1 (version %u.%u type %u "
				  "size %u)", path, cp_le16(resp), cp_le16(resp + 2), cp_le32(resp + 4), cp_le32(resp + 8));
	if (cp_le32(resp + 12))
		return cp_err_set(err, EIO, "quote service %s: error code 0x%x", path, cp_le32(resp + 12));
	{
		uint32_t idsz = cp_le32(resp + 16), qsz = cp_le32(resp + 20);
		if (idsz > rlen || qsz > QUOTE_MAX || (uint64_t)QGS_HDR + 8 + idsz + qsz != rlen)
			return cp_err_set(err, EPROTO, "quote service %s: id size %u + quote size %u do not fill %u bytes", path,
					  idsz, qsz, rlen);
		*quote = malloc(qsz ? qsz : 1);
		if (!*quote)
			return cp_err_set(err, ENOMEM, "out of memory");
		memcpy(*quote, resp + QGS_HDR + 8 + idsz, qsz);
		*quote_len = qsz;
	}
	return 0;
}

/* ---- TDX GetQuote, answered asynchronously as QEMU does (target/i386/kvm/tdx.c
 * tdx_handle_get_quote): the vCPU gets SUCCESS and an IN_FLIGHT buffer at once; a worker thread
 * talks to the quote service and, when the quote is in the buffer, raises the interrupt the guest
 * asked for with SetupEventNotifyInterrupt. The guest may also poll the status. ---- */

#define QUOTE_BUF_MAX (128u << 10) /* QEMU's TDX_GET_QUOTE_MAX_BUF_LEN: the guest's buffer at most */

struct cc_quote_req {
	uint64_t gpa, size;
	uint8_t *report;   /* the guest's TDREPORT, copied when asked: it cannot change in flight */
	uint32_t report_len;
};

struct cc_quote {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stopping, busy;
	int stop_fd;       /* eventfd: interrupts a wait on the service */
	unsigned head, n;
	struct cc_quote_req q[CC_QUOTE_QUEUE];
	int (*thread_init)(void *arg);
	void *thread_arg;
};

/* The event-notify interrupt: a fixed-delivery MSI to the vCPU that set it up (QEMU's
 * tdx_inject_interrupt), through the in-kernel local APIC. */
static void quote_notify(struct cc_vm *vm)
{
	int vector, apic;
	struct kvm_msi msi = { 0 };

	pthread_mutex_lock(&vm->quote->mu);
	vector = vm->notify_vector;
	apic = vm->notify_apic_id;
	pthread_mutex_unlock(&vm->quote->mu);
	if (vector < 0)
		return;
	msi.address_lo = 0xfee00000u | (uint32_t)(apic & 0xff) << 12;
	msi.data = (uint32_t)vector; /* delivery mode fixed (0), edge */
	if (vm->ops->ioctl(vm->ctx, vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		vm->quote_notify_failed++;
	else
		vm->quotes_notified++;
}

/* Finish one request: the quote (or the error status) into the guest's buffer, if it is still
 * shared RAM (the guest may have converted it meanwhile: then nothing is written), then the
 * notification. The status is written last: a polling guest sees the quote complete. */
static void quote_complete(struct cc_vm *vm, const struct cc_quote_req *r, uint64_t status, const uint8_t *quote,
			   uint32_t quote_len)
{
	uint8_t *buf;

	pthread_mutex_lock(&vm->mem_mu);
	buf = cc_shared_range(vm, r->gpa, r->size);
	if (buf) {
		if (status == CP_TDX_GET_QUOTE_SUCCESS)
			memcpy(buf + 24, quote, quote_len);
		cp_put_le32(buf + 20, status == CP_TDX_GET_QUOTE_SUCCESS ? quote_len : 0);
		__atomic_store_n((uint64_t *)(buf + 8), status, __ATOMIC_RELEASE); /* little-endian host */
	}
	pthread_mutex_unlock(&vm->mem_mu);
	pthread_mutex_lock(&vm->quote->mu);
	if (status == CP_TDX_GET_QUOTE_SUCCESS)
		vm->quotes_served++;
	else
		vm->quotes_failed++;
	pthread_mutex_unlock(&vm->quote->mu);
	if (buf)
		quote_notify(vm);
}

static void *quote_thread(void *arg)
{
	struct cc_vm *vm = arg;
	struct cc_quote *q = vm->quote;

	if (q->thread_init && q->thread_init(q->thread_arg) < 0) {
		/* Not confined as it must be: serve nothing (the caller ended the VM). */
		pthread_mutex_lock(&q->mu);
		q->stopping = true;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		return NULL;
	}
	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct cc_quote_req r;
		struct cp_err qerr = { 0 };
		_cleanup_free_ uint8_t *quote = NULL;
		uint32_t quote_len = 0;
		uint64_t status;
		const char *path;
		int rc;

		while (!q->stopping && q->n == 0)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stopping)
			break;
		r = q->q[q->head];
		q->head = (q->head + 1) % CC_QUOTE_QUEUE;
		q->n--;
		q->busy = true;
		path = vm->quote_socket; /* the kept socket's path inside the empty root, once isolated */
		pthread_mutex_unlock(&q->mu);

		rc = qgs_get_quote(path, vm->quote_timeout_ms, q->stop_fd, r.report, r.report_len, &quote, &quote_len, &qerr);
		if (rc == -ECANCELED) {
			free(r.report);
			pthread_mutex_lock(&q->mu);
			break;
		}
		if (rc < 0)
			/* As QEMU: no connection is QGS_UNAVAILABLE, anything after it an error. */
			status = qerr.code == ECONNREFUSED || qerr.code == ENOENT || qerr.code == ENAMETOOLONG ||
					 qerr.code == EACCES ? CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE : CP_TDX_GET_QUOTE_ERROR;
		else if (quote_len > r.size - 24)
			status = CP_TDX_GET_QUOTE_ERROR, snprintf(qerr.msg, sizeof(qerr.msg), "a quote of %u bytes does not fit the "
								  "guest's buffer of %" PRIu64, quote_len, r.size);
		else
			status = CP_TDX_GET_QUOTE_SUCCESS;
		/* Said on stderr the 1st, 2nd, 4th, 8th... time: a guest retrying in a loop cannot flood it. */
		if (status != CP_TDX_GET_QUOTE_SUCCESS && !(vm->quotes_failed & (vm->quotes_failed + 1)))
			fprintf(stderr, "carapace: TDX GetQuote for the buffer at 0x%" PRIx64 " failed (%u so far): %s\n", r.gpa,
				vm->quotes_failed + 1, qerr.msg);
		quote_complete(vm, &r, status, quote, quote_len);
		free(r.report);
		pthread_mutex_lock(&q->mu);
		q->busy = false;
		pthread_cond_broadcast(&q->cv);
	}
	/* Requests still queued are dropped with the VM. */
	while (q->n) {
		free(q->q[q->head].report);
		q->head = (q->head + 1) % CC_QUOTE_QUEUE;
		q->n--;
	}
	q->busy = false;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int cc_quote_start(struct cc_vm *vm, int (*thread_init)(void *arg), void *arg, struct cp_err *err)
{
	struct cc_quote *q;
	int r;

	if (vm->platform != CC_TDX || !vm->quote_socket || vm->quote)
		return 0;
	q = calloc(1, sizeof(*q));
	if (!q)
		return cp_err_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->thread_init = thread_init;
	q->thread_arg = arg;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd < 0) {
		r = errno;
		free(q);
		return cp_err_set(err, r, "eventfd for the quote thread: %s", strerror(r));
	}
	vm->quote = q;
	if ((r = pthread_create(&q->thread, NULL, quote_thread, vm)) != 0) {
		close(q->stop_fd);
		free(q);
		vm->quote = NULL;
		return cp_err_set(err, r, "cannot start the TDX quote thread: %s", strerror(r));
	}
	q->running = true;
	return 0;
}

void cc_quote_wait_idle(struct cc_vm *vm)
{
	struct cc_quote *q = vm->quote;

	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	while (q->running && !q->stopping && (q->n || q->busy))
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void cc_quote_stop(struct cc_vm *vm)
{
	struct cc_quote *q = vm->quote;
	uint64_t one = 1;

	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	if (write(q->stop_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only on overflow: the thread is woken anyway */
	}
	if (q->running)
		pthread_join(q->thread, NULL);
	close(q->stop_fd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
	vm->quote = NULL;
}

/* The vCPU's part: check the buffer and the header, answer at once, queue the work. Guest mistakes
 * are answered as QEMU answers them; nothing here blocks on the service. */
static void get_quote(struct cc_vm *vm, unsigned vcpu, struct cp_kvm_run_tdx *t, struct cp_err *err)
{
	uint64_t gpa = t->get_quote.gpa, size = t->get_quote.size;
	struct cc_quote *q = vm->quote;
	uint8_t *buf, *report;
	uint32_t in_len;

	t->get_quote.ret = CP_TDVMCALL_STATUS_INVALID_OPERAND;
	if (gpa % PG || size % PG) {
		t->get_quote.ret = CP_TDVMCALL_STATUS_ALIGN_ERROR;
		return;
	}
	if (size == 0 || size > QUOTE_BUF_MAX)
		return;
	pthread_mutex_lock(&vm->mem_mu);
	buf = cc_shared_range(vm, gpa, size); /* shared RAM the host can read and write */
	if (!buf || cp_le64(buf) != 1 || (in_len = cp_le32(buf + 16)) > size - 24 || in_len == 0) {
		pthread_mutex_unlock(&vm->mem_mu);
		return;
	}
	t->get_quote.ret = CP_TDVMCALL_STATUS_SUCCESS;
	if (!vm->quote_socket || !q) {
		/* No quote generation service: the guest learns it at once. */
		cp_put_le32(buf + 20, 0);
		cp_put_le64(buf + 8, CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE);
		pthread_mutex_unlock(&vm->mem_mu);
		cp_err_set(err, ENOTCONN, "vCPU %u: TDX GetQuote: no quote generation service is configured; the guest was "
			   "told SERVICE_UNAVAILABLE", vcpu);
		return;
	}
	report = malloc(in_len);
	if (report)
		memcpy(report, buf + 24, in_len);
	pthread_mutex_lock(&q->mu);
	if (!report || q->n == CC_QUOTE_QUEUE || q->stopping) {
		/* carapace's choice: at most CC_QUOTE_QUEUE requests wait; the guest retries later. */
		pthread_mutex_unlock(&q->mu);
		pthread_mutex_unlock(&vm->mem_mu);
		free(report);
		t->get_quote.ret = CP_TDVMCALL_STATUS_RETRY;
		return;
	}
	cp_put_le64(buf + 8, CP_TDX_GET_QUOTE_IN_FLIGHT);
	q->q[(q->head + q->n) % CC_QUOTE_QUEUE] = (struct cc_quote_req){ gpa, size, report, in_len };
	q->n++;
	vm->quotes_queued++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_mutex_unlock(&vm->mem_mu);
}

enum cc_exit_verdict cc_exit_tdx(struct cc_vm *vm, unsigned vcpu, struct cp_err *err)
{
	uint8_t *run = run_of(vm, vcpu);
	struct cp_kvm_run_tdx t;

	if (!run)
		return cp_err_set(err, EINVAL, "TDX exit on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	memcpy(&t, run + CP_KVM_RUN_UNION_OFFSET, sizeof(t));
	switch (t.nr) {
	case CP_TDVMCALL_GET_QUOTE:
		/* A failure here is reported to the guest; err only informs the log. */
		get_quote(vm, vcpu, &t, err);
		break;
	case CP_TDVMCALL_GET_TD_VM_CALL_INFO:
		/* KVM answers leaf 0 itself and forwards leaf 1 (the user-space TDVMCALLs). What KVM
		 * lets user space offer (KVM_TDX_CAPABILITIES user_tdvmcallinfo_1_r11/r12), and of that
		 * what carapace serves: GetQuote (R11 bit 0) with a quote service, SetupEventNotify-
		 * Interrupt (R12 bit 1) always (QEMU's tdx_handle_get_tdvmcall_info). */
		if (t.get_tdvmcall_info.leaf != 1) {
			t.get_tdvmcall_info.ret = CP_TDVMCALL_STATUS_INVALID_OPERAND;
			break;
		}
		t.get_tdvmcall_info.ret = CP_TDVMCALL_STATUS_SUCCESS;
		t.get_tdvmcall_info.r11 = vm->quote_socket ? vm->tdvmcall_user_r11 & 1u : 0;
		t.get_tdvmcall_info.r12 = vm->tdvmcall_user_r12 & 2u;
		t.get_tdvmcall_info.r13 = t.get_tdvmcall_info.r14 = 0;
		break;
	case CP_TDVMCALL_SETUP_EVENT_NOTIFY:
		/* The vector GetQuote completions are announced with, delivered to this vCPU (QEMU's
		 * tdx_handle_setup_event_notify_interrupt: 32..255). */
		if (t.setup_event_notify.vector < 32 || t.setup_event_notify.vector > 255) {
			t.setup_event_notify.ret = CP_TDVMCALL_STATUS_INVALID_OPERAND;
			break;
		}
		if (vm->quote)
			pthread_mutex_lock(&vm->quote->mu);
		vm->notify_vector = (int)t.setup_event_notify.vector;
		vm->notify_apic_id = (int)vcpu; /* carapace's APIC IDs are the vCPU indices */
		if (vm->quote)
			pthread_mutex_unlock(&vm->quote->mu);
		t.setup_event_notify.ret = CP_TDVMCALL_STATUS_SUCCESS;
		break;
	default:
		t.unknown.ret = CP_TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED;
		break;
	}
	memcpy(run + CP_KVM_RUN_UNION_OFFSET, &t, sizeof(t));
	return CC_EXIT_RESUME;
}

enum cc_exit_verdict cc_exit_system_event(struct cc_vm *vm, unsigned vcpu, struct cp_err *err)
{
	struct kvm_run *run = (struct kvm_run *)run_of(vm, vcpu);
	unsigned nd;

	if (!run)
		return cp_err_set(err, EINVAL, "system event on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	nd = run->system_event.ndata;
	switch (run->system_event.type) {
	case CP_KVM_SYSTEM_EVENT_SEV_TERM: {
		/* GHCB MSR protocol termination: reason set in bits 15:12, reason code in 23:16. */
		uint64_t ghcb = nd ? run->system_event.data[0] : 0;
		cp_err_set(err, ECANCELED, "vCPU %u: the SEV-SNP guest terminated itself (GHCB request 0x%llx: reason set %llu, "
			   "code %llu)", vcpu, (unsigned long long)ghcb, (unsigned long long)((ghcb >> 12) & 0xf),
			   (unsigned long long)((ghcb >> 16) & 0xff));
		return CC_EXIT_GUEST_END;
	}
	case CP_KVM_SYSTEM_EVENT_TDX_FATAL:
		cp_err_set(err, ECANCELED, "vCPU %u: the TDX guest reported a fatal error (TDG.VP.VMCALL<ReportFatalError> "
			   "error code 0x%llx)", vcpu, nd ? (unsigned long long)run->system_event.data[0] : 0ull);
		return CC_EXIT_GUEST_END;
	default:
		cp_err_set(err, EPROTO, "vCPU %u: system event type %u is not a confidential-computing event", vcpu,
			   run->system_event.type);
		return CC_EXIT_HOST_FAIL;
	}
}

/* Exits of confidential guests, indexed by exit reason. An empty slot fails closed. */
/* ---- SNP certificate table (KVM_EXIT_SNP_REQ_CERTS) ---- */

#define CERTS_MAX (1u << 20)

int cc_snp_certs_read(int fd, uint8_t **out, size_t *len, struct cp_err *err)
{
	struct attest_hw_snp_certs certs;
	uint8_t *buf;
	size_t got = 0;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = cp_fd_read_all(fd, CERTS_MAX, "certificate table", &buf, &got, err)) < 0)
		return r == -EFBIG ? -EINVAL : r;
	if (got == 0) {
		free(buf);
		return cp_err_set(err, EINVAL, "certificate table: 0 bytes; it must be a regular file of 1 byte to 1 MiB");
	}
	/* One validating reader: the verifier's parser, plus what a guest needs to use the table. */
	if (attest_hw_snp_certtable_parse(buf, got, &certs, err) < 0) {
		free(buf);
		return -EINVAL;
	}
	if (!certs.vcek.der && !certs.vlek.der) {
		free(buf);
		return cp_err_set(err, EINVAL, "certificate table: no VCEK or VLEK entry, so a guest could not check its report");
	}
	*out = buf;
	*len = got;
	return 0;
}

uint8_t *cc_shared_range(struct cc_vm *vm, uint64_t gpa, uint64_t len)
{
	struct cc_block *b;

	if (len == 0 || gpa + len < gpa)
		return NULL;
	b = ram_block(vm, gpa, len);
	if (!b || !cc_block_is_ram(b) || !vm->shared)
		return NULL;
	for (uint64_t p = gpa & ~(PG - 1); p < gpa + len; p += PG)
		if (cc_mem_is_private(vm, p))
			return NULL;
	return vm->shared + b->shared_off + (gpa - b->gpa);
}

/* A guest buffer for the table: whole pages of shared RAM (never firmware, never private). */
static uint8_t *certs_buffer(struct cc_vm *vm, uint64_t gpa, uint64_t pages)
{
	if (gpa % PG || pages == 0 || pages > CERTS_MAX / PG + 1)
		return NULL;
	return cc_shared_range(vm, gpa, pages * PG);
}

static void certs_unlock_locked(struct cc_vm *vm)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	(void)fcntl(vm->certs_fd, F_OFD_SETLK, &fl);
}

enum cc_exit_verdict cc_exit_snp_req_certs(struct cc_vm *vm, unsigned vcpu, struct cp_err *err)
{
	struct kvm_run *run = (struct kvm_run *)run_of(vm, vcpu);
	struct cp_kvm_run_snp_req_certs rc;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct cp_err rerr = { 0 };
	_cleanup_free_ uint8_t *table = NULL;
	size_t len = 0;
	uint64_t need;
	uint8_t *dst;

	if (!run)
		return cp_err_set(err, EINVAL, "certificate request on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	if (vm->certs_fd < 0) {
		/* KVM only exits so when KVM_SEV_SNP_ENABLE_REQ_CERTS was issued: a kernel surprise. */
		cp_err_set(err, EPROTO, "vCPU %u: KVM_EXIT_SNP_REQ_CERTS, but certificate fetching was never enabled", vcpu);
		return CC_EXIT_HOST_FAIL;
	}
	memcpy(&rc, (uint8_t *)run + CP_KVM_RUN_UNION_OFFSET, sizeof(rc));
	pthread_mutex_lock(&vm->certs_mu);
	if (vm->certs_held[vcpu]) {
		pthread_mutex_unlock(&vm->certs_mu);
		cp_err_set(err, EPROTO, "vCPU %u: a second certificate request before the first one was sent", vcpu);
		return CC_EXIT_HOST_FAIL;
	}
	/* One shared OFD lock for all vCPUs (the lock belongs to the open file, not the thread). */
	if (vm->certs_holders == 0 && fcntl(vm->certs_fd, F_OFD_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EAGAIN || e == EACCES) {
			/* Someone holds the exclusive lock: an update is in progress. The guest retries. */
			rc.ret = EAGAIN;
			vm->certs_busy++;
			pthread_mutex_unlock(&vm->certs_mu);
			memcpy((uint8_t *)run + CP_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
			return CC_EXIT_RESUME;
		}
		pthread_mutex_unlock(&vm->certs_mu);
		cp_err_set(err, e, "vCPU %u: locking the certificate table: %s", vcpu, strerror(e));
		return CC_EXIT_HOST_FAIL;
	}
	vm->certs_holders++;
	if (cc_snp_certs_read(vm->certs_fd, &table, &len, &rerr) < 0) {
		fprintf(stderr, "carapace: vCPU %u: SNP certificate request answered EIO: %s\n", vcpu, rerr.msg);
		rc.ret = EIO;
		goto unlock;
	}
	need = (len + PG - 1) / PG;
	if (rc.npages < need) {
		rc.npages = need;
		rc.ret = ENOSPC;
		goto unlock;
	}
	dst = certs_buffer(vm, rc.gpa, need);
	if (!dst) {
		/* The guest's own mistake: answered, never trusted, never fatal. */
		fprintf(stderr, "carapace: vCPU %u: SNP certificate request answered EIO: buffer 0x%llx (%llu pages) is not "
				"shared guest RAM\n", vcpu, (unsigned long long)rc.gpa, (unsigned long long)rc.npages);
		rc.ret = EIO;
		goto unlock;
	}
	memcpy(dst, table, len);
	memset(dst + len, 0, need * PG - len);
	rc.ret = 0;
	vm->certs_served++;
	vm->certs_held[vcpu] = true;
	/* Come back right after KVM has sent the request to the firmware, to drop the lock. */
	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->certs_mu);
	memcpy((uint8_t *)run + CP_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
	return CC_EXIT_RESUME;
unlock:
	if (rc.ret != 0)
		vm->certs_refused++;
	if (--vm->certs_holders == 0)
		certs_unlock_locked(vm);
	pthread_mutex_unlock(&vm->certs_mu);
	memcpy((uint8_t *)run + CP_KVM_RUN_UNION_OFFSET, &rc, sizeof(rc));
	return CC_EXIT_RESUME;
}

void cc_vcpu_returned(struct cc_vm *vm, unsigned vcpu)
{
	struct kvm_run *run;

	if (vcpu >= vm->nvcpus || vm->certs_fd < 0)
		return;
	pthread_mutex_lock(&vm->certs_mu);
	if (vm->certs_held[vcpu]) {
		vm->certs_held[vcpu] = false;
		if (--vm->certs_holders == 0)
			certs_unlock_locked(vm);
		run = (struct kvm_run *)vm->run[vcpu];
		/* The VMM's stop path sets immediate_exit too; it sets its own flag first, and the run
		 * loop checks that flag after this, so clearing here loses no stop. */
		__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&vm->certs_mu);
}

static const struct {
	const char *name;
	enum cc_exit_verdict (*fn)(struct cc_vm *vm, unsigned vcpu, struct cp_err *err);
	bool snp, tdx;       /* which platforms produce it */
	bool with_efault;    /* arrives with KVM_RUN = -EFAULT */
} cc_exits[] = {
	[KVM_EXIT_HYPERCALL] = { "HYPERCALL", cc_exit_hypercall, true, true, false },
	[KVM_EXIT_SYSTEM_EVENT] = { "SYSTEM_EVENT", cc_exit_system_event, true, true, false },
	[CP_KVM_EXIT_MEMORY_FAULT] = { "MEMORY_FAULT", cc_exit_memory_fault, true, true, true },
	[CP_KVM_EXIT_TDX] = { "TDX", cc_exit_tdx, false, true, false },
	[CP_KVM_EXIT_SNP_REQ_CERTS] = { "SNP_REQ_CERTS", cc_exit_snp_req_certs, true, false, false },
};

enum cc_exit_verdict cc_exit_dispatch(struct cc_vm *vm, unsigned vcpu, int run_ret, struct cp_err *err)
{
	uint8_t *run = run_of(vm, vcpu);
	uint32_t reason;
	bool known;

	if (!run)
		return cp_err_set(err, EINVAL, "exit on unknown vCPU %u", vcpu), CC_EXIT_HOST_FAIL;
	reason = ((struct kvm_run *)run)->exit_reason;
	known = reason < ARRAY_SIZE(cc_exits) && cc_exits[reason].fn &&
		(vm->platform == CC_SNP ? cc_exits[reason].snp : cc_exits[reason].tdx);
	/* A memory fault arrives as KVM_RUN = -EFAULT with the exit filled in; any other error is
	 * the kernel's, not the guest's. */
	if (run_ret < 0 && !(run_ret == -EFAULT && known && cc_exits[reason].with_efault)) {
		cp_err_set(err, -run_ret, "vCPU %u: KVM_RUN failed: %s", vcpu, strerror(-run_ret));
		return CC_EXIT_HOST_FAIL;
	}
	if (!known || (run_ret == 0 && cc_exits[reason].with_efault)) {
		cp_err_set(err, EPROTO, "vCPU %u: exit %u is not a confidential-computing exit of a %s guest%s", vcpu, reason,
			   vm->platform == CC_SNP ? "SEV-SNP" : "TDX",
			   known ? " (a memory fault must come with KVM_RUN = -EFAULT)" : "");
		return CC_EXIT_HOST_FAIL;
	}
	return cc_exits[reason].fn(vm, vcpu, err);
}

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
	r = vm->ops->ioctl(vm->ctx, vm->vm_fd, CP_KVM_SET_MEMORY_ATTRIBUTES, &a);
	if (r < 0)
		return cp_err_set(err, -r, "KVM_SET_MEMORY_ATTRIBUTES 0x%" PRIx64 "+0x%" PRIx64 " -> %s: %s", gpa, len,
				  to_private ? "private" : "shared", strerror(-r));
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

/* The quote generation service's framing (Intel QGS over a stream socket): a 4-byte big-endian
 * length, then {u16 major 1, u16 minor 0, u32 type, u32 size, u32 error} + body.
 * Request type 0: {u32 report_size, u32 id_list_size, report}; response type 1:
 * {u32 selected_id_size, u32 quote_size, id, quote}. */
enum { QGS_HDR = 16, QGS_GET_QUOTE_REQ = 0, QGS_GET_QUOTE_RESP = 1 };

static int io_full(int fd, void *buf, size_t len, bool wr, unsigned timeout_ms)
{
	uint8_t *p = buf;
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
		ssize_t n;
		int pr = poll(&pfd, 1, (int)timeout_ms);
		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
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
static int qgs_get_quote(const char *path, unsigned timeout_ms, const uint8_t *report, uint32_t report_len,
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
	cp_put_le16(msg + 4, 1);
	cp_put_le32(msg + 8, QGS_GET_QUOTE_REQ);
	cp_put_le32(msg + 12, total);
	cp_put_le32(msg + 20, report_len);
	memcpy(msg + 4 + QGS_HDR + 8, report, report_len);
	if ((r = io_full(fd, msg, 4 + total, true, timeout_ms)) < 0 || (r = io_full(fd, len4, 4, false, timeout_ms)) < 0)
		return cp_err_set(err, -r, "quote service %s: %s", path, strerror(-r));
	rlen = cp_be32(len4);
	if (rlen < QGS_HDR + 8 || rlen > QUOTE_MAX + 4096)
		return cp_err_set(err, EPROTO, "quote service %s: response length %u", path, rlen);
	resp = malloc(rlen);
	if (!resp)
		return cp_err_set(err, ENOMEM, "out of memory");
	if ((r = io_full(fd, resp, rlen, false, timeout_ms)) < 0)
		return cp_err_set(err, -r, "quote service %s: %s", path, strerror(-r));
	if (cp_le16(resp) != 1 || cp_le32(resp + 4) != QGS_GET_QUOTE_RESP || cp_le32(resp + 8) != rlen)
		return cp_err_set(err, EPROTO, "quote service %s: not a GET_QUOTE response (version %u type %u size %u)", path,
				  cp_le16(resp), cp_le32(resp + 4), cp_le32(resp + 8));
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

static void get_quote(struct cc_vm *vm, unsigned vcpu, struct cp_kvm_run_tdx *t, struct cp_err *err)
{
	uint64_t gpa = t->get_quote.gpa, size = t->get_quote.size;
	uint8_t *buf;
	uint32_t in_len;
	_cleanup_free_ uint8_t *quote = NULL;
	uint32_t quote_len = 0;
	struct cp_err qerr = { 0 };

	if (gpa % PG || size % PG || size == 0) {
		t->get_quote.ret = CP_TDVMCALL_STATUS_ALIGN_ERROR;
		return;
	}
	buf = cc_shared_range(vm, gpa, size);
	if (!buf) {
		t->get_quote.ret = CP_TDVMCALL_STATUS_INVALID_OPERAND; /* must be shared RAM the host can read */
		return;
	}
	in_len = cp_le32(buf + 16);
	t->get_quote.ret = CP_TDVMCALL_STATUS_SUCCESS;
	if (cp_le64(buf) != 1 || in_len > size - 24) {
		cp_put_le64(buf + 8, CP_TDX_GET_QUOTE_ERROR);
		return;
	}
	if (!vm->quote_socket) {
		/* No quote generation service configured: the guest learns it at once. */
		cp_put_le64(buf + 8, CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE);
		cp_put_le32(buf + 20, 0);
		cp_err_set(err, ENOTCONN, "vCPU %u: TDX GetQuote: no quote generation service is configured; the guest was "
			   "told SERVICE_UNAVAILABLE", vcpu);
		return;
	}
	if (qgs_get_quote(vm->quote_socket, vm->quote_timeout_ms, buf + 24, in_len, &quote, &quote_len, &qerr) < 0 ||
	    quote_len > size - 24) {
		cp_put_le64(buf + 8, qerr.code ? CP_TDX_GET_QUOTE_SERVICE_UNAVAILABLE : CP_TDX_GET_QUOTE_ERROR);
		cp_put_le32(buf + 20, 0);
		cp_err_set(err, qerr.code ? qerr.code : E2BIG, "vCPU %u: TDX GetQuote: %s", vcpu,
			   qerr.code ? qerr.msg : "the quote does not fit the guest's buffer");
		return;
	}
	memcpy(buf + 24, quote, quote_len);
	cp_put_le32(buf + 20, quote_len);
	cp_put_le64(buf + 8, CP_TDX_GET_QUOTE_SUCCESS);
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
		/* A failure here is reported to the guest in the buffer; err only informs the log. */
		get_quote(vm, vcpu, &t, err);
		break;
	case CP_TDVMCALL_GET_TD_VM_CALL_INFO:
		t.get_tdvmcall_info.ret = CP_TDVMCALL_STATUS_SUCCESS;
		t.get_tdvmcall_info.r11 = vm->quote_socket ? 1 : 0; /* bit 0: GetQuote */
		t.get_tdvmcall_info.r12 = t.get_tdvmcall_info.r13 = t.get_tdvmcall_info.r14 = 0;
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
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return cp_err_set(err, errno, "certificate table: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > CERTS_MAX)
		return cp_err_set(err, EINVAL, "certificate table: %lld bytes; it must be a regular file of 1 byte to 1 MiB",
				  (long long)st.st_size);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return cp_err_set(err, ENOMEM, "out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return cp_err_set(err, n < 0 ? errno : EIO, "certificate table: read: %s",
					  n < 0 ? strerror(errno) : "the file shrank while it was read");
		}
		got += (size_t)n;
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

/* The VM process's metrics record (runner/api/api_ctl.h). What the controller reads here comes
 * from the VM process, which a guest may have taken over: every field is checked before use and
 * nothing is applied from a record that fails one check. */
#include "runner/api/api_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/util.h"

static const char *const names[API_VCPU_COUNTERS] = {
	[API_VCPU_EXIT_IO_IN] = "exit_io_in",
	[API_VCPU_EXIT_IO_OUT] = "exit_io_out",
	[API_VCPU_EXIT_MMIO_READ] = "exit_mmio_read",
	[API_VCPU_EXIT_MMIO_WRITE] = "exit_mmio_write",
	[API_VCPU_FAILURES] = "failures",
};

const char *api_vcpu_counter_name(enum api_vcpu_counter c)
{
	return (unsigned)c < API_VCPU_COUNTERS ? names[c] : "?";
}

void api_vm_metrics_encode(const struct api_vm_metrics *m, uint8_t out[API_VM_METRICS_SIZE])
{
	memset(out, 0, API_VM_METRICS_SIZE);
	out[0] = API_CTL_METRICS;
	out[1] = API_VM_METRICS_VERSION;
	out[2] = m->final ? API_VM_METRICS_FINAL : 0;
	cp_put_le32(out + 4, m->nvcpus);
	for (unsigned i = 0; i < API_VCPU_COUNTERS; i++)
		cp_put_le64(out + 8 + 8 * i, m->c[i]);
}

int api_vm_metrics_read(const uint8_t *buf, size_t len, unsigned max_vcpus, const struct api_vm_metrics *prev,
			struct api_vm_metrics *out, struct cp_err *err)
{
	struct api_vm_metrics m = { 0 };

	if (len < API_VM_METRICS_SIZE)
		return cp_err_set(err, EPROTO, "metrics record: %zu bytes, truncated (a record is %u)", len,
				  API_VM_METRICS_SIZE);
	if (len > API_VM_METRICS_SIZE)
		return cp_err_set(err, EPROTO, "metrics record: %zu bytes, oversized (a record is %u)", len,
				  API_VM_METRICS_SIZE);
	if (buf[0] != API_CTL_METRICS)
		return cp_err_set(err, EPROTO, "metrics record: type 0x%02x, not 'M'", buf[0]);
	if (buf[1] != API_VM_METRICS_VERSION)
		return cp_err_set(err, EPROTO, "metrics record: version %u, this controller reads version %u", buf[1],
				  API_VM_METRICS_VERSION);
	if (buf[2] & ~API_VM_METRICS_FINAL)
		return cp_err_set(err, EPROTO, "metrics record: unknown flags 0x%02x", buf[2]);
	if (buf[3])
		return cp_err_set(err, EPROTO, "metrics record: reserved byte 3 is 0x%02x, not 0", buf[3]);
	m.final = buf[2] & API_VM_METRICS_FINAL;
	m.nvcpus = cp_le32(buf + 4);
	if (m.nvcpus < 1 || m.nvcpus > max_vcpus)
		return cp_err_set(err, EPROTO, "metrics record: %u vCPUs, the VM has 1 to %u", m.nvcpus, max_vcpus);
	if (prev && prev->final)
		return cp_err_set(err, EPROTO, "metrics record: another record after the VM process's last one");
	if (prev && m.nvcpus != prev->nvcpus)
		return cp_err_set(err, EPROTO, "metrics record: %u vCPUs, the earlier record counted %u", m.nvcpus,
				  prev->nvcpus);
	for (unsigned i = 0; i < API_VCPU_COUNTERS; i++) {
		m.c[i] = cp_le64(buf + 8 + 8 * i);
		if (m.c[i] > (uint64_t)INT64_MAX)
			return cp_err_set(err, EPROTO, "metrics record: %s %" PRIu64 " is out of range (at most %" PRId64 ")",
					  names[i], m.c[i], INT64_MAX);
		if (prev && m.c[i] < prev->c[i])
			return cp_err_set(err, EPROTO, "metrics record: %s went back from %" PRIu64 " to %" PRIu64
					  " (the totals only grow)", names[i], prev->c[i], m.c[i]);
	}
	*out = m;
	return 0;
}

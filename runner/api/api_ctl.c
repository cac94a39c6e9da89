/* The VM process's metrics record (runner/api/api_ctl.h). What the controller reads here comes
 * from the VM process, which a guest may have taken over: every field is checked before use and
 * nothing is applied from a record that fails one check. */
#include "runner/api/api_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

size_t api_vm_metrics_encode(const struct api_vm_metrics *m, uint8_t out[API_VM_METRICS_MAX])
{
	unsigned ndevs = m->ndevs <= RUN_MAX_DEVICES ? m->ndevs : RUN_MAX_DEVICES;
	size_t len = API_VM_METRICS_HEAD + (size_t)ndevs * API_VM_DEV_SIZE;

	memset(out, 0, len);
	out[0] = API_CTL_METRICS;
	out[1] = API_VM_METRICS_VERSION;
	out[2] = m->final ? API_VM_METRICS_FINAL : 0;
	out[3] = (uint8_t)ndevs;
	cp_put_le32(out + 4, m->nvcpus);
	for (unsigned i = 0; i < API_VCPU_COUNTERS; i++)
		cp_put_le64(out + 8 + 8 * i, m->c[i]);
	for (unsigned d = 0; d < ndevs; d++) {
		uint8_t *e = out + API_VM_METRICS_HEAD + (size_t)d * API_VM_DEV_SIZE;
		const struct devstats_kind *k = devstats_kind(m->dev[d].kind);
		unsigned n = k ? k->n : 0;
		e[0] = (uint8_t)m->dev[d].kind;
		e[1] = (uint8_t)n;
		for (unsigned i = 0; i < n; i++)
			cp_put_le64(e + 8 + 8 * i, m->dev[d].c[i]);
	}
	return len;
}

static int too_big(const char *what, uint64_t v, struct cp_err *err)
{
	return cp_err_set(err, EPROTO, "metrics record: %s %" PRIu64 " is out of range (at most %" PRId64 ")", what, v,
			  INT64_MAX);
}

static int went_back(const char *what, uint64_t was, uint64_t now, struct cp_err *err)
{
	return cp_err_set(err, EPROTO, "metrics record: %s went back from %" PRIu64 " to %" PRIu64
			  " (the totals only grow)", what, was, now);
}

/* One device's entry (at e) of the VM's device d, expected of kind want. */
static int read_dev(const uint8_t *e, unsigned d, enum devkind_id want, const struct api_vm_metrics *prev,
		    struct api_vm_dev_metrics *out, struct cp_err *err)
{
	const struct devstats_kind *k = devstats_kind(want);
	unsigned n = k ? k->n : 0;
	char what[64];

	if (e[0] != (uint8_t)want)
		return cp_err_set(err, EPROTO, "metrics record: device %u is of kind %u, the VM's device %u is %s", d,
				  e[0], d, devkinds[want].name);
	if (e[1] != n)
		return cp_err_set(err, EPROTO, "metrics record: device %u has %u counters, a %s device has %u", d, e[1],
				  devkinds[want].name, n);
	for (unsigned i = 2; i < 8; i++)
		if (e[i])
			return cp_err_set(err, EPROTO, "metrics record: device %u: reserved byte %u is 0x%02x, not 0", d,
					  i, e[i]);
	out->kind = want;
	for (unsigned i = 0; i < DEVSTATS_MAX; i++) {
		uint64_t v = cp_le64(e + 8 + 8 * i);
		if (i >= n) {
			if (v)
				return cp_err_set(err, EPROTO, "metrics record: device %u: counter %u is not a %s counter "
						  "but holds %" PRIu64, d, i, devkinds[want].name, v);
			out->c[i] = 0;
			continue;
		}
		snprintf(what, sizeof(what), "device %u (%s) %s", d, devkinds[want].name, k->names[i]);
		if (v > (uint64_t)INT64_MAX)
			return too_big(what, v, err);
		if (prev && v < prev->dev[d].c[i])
			return went_back(what, prev->dev[d].c[i], v, err);
		out->c[i] = v;
	}
	return 0;
}

int api_vm_metrics_read(const uint8_t *buf, size_t len, unsigned max_vcpus, const enum devkind_id *kinds,
			unsigned nkinds, const struct api_vm_metrics *prev, struct api_vm_metrics *out,
			struct cp_err *err)
{
	struct api_vm_metrics m;
	size_t want;

	if (nkinds > RUN_MAX_DEVICES)
		return cp_err_set(err, EINVAL, "metrics record: the VM has %u devices, more than %d", nkinds,
				  RUN_MAX_DEVICES);
	want = API_VM_METRICS_HEAD + (size_t)nkinds * API_VM_DEV_SIZE;
	memset(&m, 0, sizeof(m));
	if (len < API_VM_METRICS_HEAD)
		return cp_err_set(err, EPROTO, "metrics record: %zu bytes, truncated (a record is %zu)", len, want);
	if (buf[0] != API_CTL_METRICS)
		return cp_err_set(err, EPROTO, "metrics record: type 0x%02x, not 'M'", buf[0]);
	if (buf[1] != API_VM_METRICS_VERSION)
		return cp_err_set(err, EPROTO, "metrics record: version %u, this controller reads version %u", buf[1],
				  API_VM_METRICS_VERSION);
	if (buf[2] & ~API_VM_METRICS_FINAL)
		return cp_err_set(err, EPROTO, "metrics record: unknown flags 0x%02x", buf[2]);
	if (buf[3] != nkinds)
		return cp_err_set(err, EPROTO, "metrics record: %u devices, the VM has %u", buf[3], nkinds);
	if (len != want)
		return cp_err_set(err, EPROTO, "metrics record: %zu bytes, %s (a record of %u devices is %zu)", len,
				  len < want ? "truncated" : "oversized", nkinds, want);
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
			return too_big(names[i], m.c[i], err);
		if (prev && m.c[i] < prev->c[i])
			return went_back(names[i], prev->c[i], m.c[i], err);
	}
	m.ndevs = nkinds;
	for (unsigned d = 0; d < nkinds; d++) {
		if ((unsigned)kinds[d] >= DEVKIND__COUNT)
			return cp_err_set(err, EINVAL, "metrics record: the VM's device %u has no kind", d);
		if (read_dev(buf + API_VM_METRICS_HEAD + (size_t)d * API_VM_DEV_SIZE, d, kinds[d],
			     prev && prev->ndevs == nkinds ? prev : NULL, &m.dev[d], err) < 0)
			return -EPROTO;
	}
	*out = m;
	return 0;
}

/* libFuzzer target: the API controller's reader of the VM process's metrics record
 * (runner/api/api_ctl.c), fed what a compromised VM process could send. An input is the VM's
 * vCPU count (first byte), its device count (second byte) and that many device kinds (a byte
 * each), then a sequence of messages, each a 16-bit little-endian length and that many bytes,
 * read in order with the last accepted record as the earlier one. An accepted record is exactly
 * one that re-encodes to the bytes received, within every range the reader promises; a refused
 * one leaves the output untouched and says why. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/api/api_ctl.h"
#include "runner/run_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_vm_metrics prev, out, sentinel;
	static uint8_t re[API_VM_METRICS_MAX];
	enum devkind_id kinds[RUN_MAX_DEVICES];
	bool have_prev = false;
	unsigned max_vcpus, nkinds;
	size_t off = 2;

	if (size < 2)
		return 0;
	max_vcpus = data[0] % (RUN_MAX_VCPUS + 1); /* 0 too: then nothing is accepted */
	nkinds = data[1] % (RUN_MAX_DEVICES + 1);
	for (unsigned i = 0; i < nkinds; i++)
		kinds[i] = off < size ? (enum devkind_id)(data[off++] % DEVKIND__COUNT) : DEVKIND_BLK;
	memset(&prev, 0, sizeof(prev));
	while (off + 2 <= size) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		struct cp_err err = { 0 };

		off += 2;
		if (len > size - off)
			len = size - off;
		memset(&out, 0xa5, sizeof(out));
		sentinel = out;
		if (api_vm_metrics_read(data + off, len, max_vcpus, kinds, nkinds, have_prev ? &prev : NULL, &out,
					&err) < 0) {
			if (memcmp(&out, &sentinel, sizeof(out)) || !err.msg[0] || err.code != EPROTO)
				abort(); /* half-applied, or refused without a reason */
		} else {
			if (len != API_VM_METRICS_HEAD + nkinds * API_VM_DEV_SIZE || out.nvcpus < 1 ||
			    out.nvcpus > max_vcpus || out.ndevs != nkinds)
				abort();
			if (api_vm_metrics_encode(&out, re) != len || memcmp(re, data + off, len))
				abort(); /* took something the record format does not say */
			for (unsigned i = 0; i < API_VCPU_COUNTERS; i++)
				if (out.c[i] > (uint64_t)INT64_MAX || (have_prev && out.c[i] < prev.c[i]))
					abort();
			for (unsigned d = 0; d < nkinds; d++) {
				if (out.dev[d].kind != kinds[d])
					abort();
				for (unsigned i = 0; i < DEVSTATS_MAX; i++)
					if (out.dev[d].c[i] > (uint64_t)INT64_MAX ||
					    (have_prev && out.dev[d].c[i] < prev.dev[d].c[i]))
						abort();
			}
			if (have_prev && (prev.final || out.nvcpus != prev.nvcpus))
				abort();
			prev = out;
			have_prev = true;
		}
		off += len;
	}
	return 0;
}

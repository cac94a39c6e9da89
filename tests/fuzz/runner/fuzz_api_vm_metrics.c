/* libFuzzer target: the API controller's reader of the VM process's metrics record
 * (runner/api/api_ctl.c), fed what a compromised VM process could send. An input is the VM's
 * vCPU count (first byte) and a sequence of messages, each a length byte and that many bytes,
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
	struct api_vm_metrics prev = { 0 };
	bool have_prev = false;
	unsigned max_vcpus;
	size_t off = 1;

	if (size < 1)
		return 0;
	max_vcpus = data[0] % (RUN_MAX_VCPUS + 1); /* 0 too: then nothing is accepted */
	while (off < size) {
		size_t len = data[off++];
		uint8_t re[API_VM_METRICS_SIZE];
		struct api_vm_metrics out, sentinel;
		struct cp_err err = { 0 };

		if (len > size - off)
			len = size - off;
		memset(&out, 0xa5, sizeof(out));
		sentinel = out;
		if (api_vm_metrics_read(data + off, len, max_vcpus, have_prev ? &prev : NULL, &out, &err) < 0) {
			if (memcmp(&out, &sentinel, sizeof(out)) || !err.msg[0] || err.code != EPROTO)
				abort(); /* half-applied, or refused without a reason */
		} else {
			if (len != API_VM_METRICS_SIZE || out.nvcpus < 1 || out.nvcpus > max_vcpus)
				abort();
			api_vm_metrics_encode(&out, re);
			if (memcmp(re, data + off, API_VM_METRICS_SIZE))
				abort(); /* took something the record format does not say */
			for (unsigned i = 0; i < API_VCPU_COUNTERS; i++)
				if (out.c[i] > (uint64_t)INT64_MAX || (have_prev && out.c[i] < prev.c[i]))
					abort();
			if (have_prev && (prev.final || out.nvcpus != prev.nvcpus))
				abort();
			prev = out;
			have_prev = true;
		}
		off += len;
	}
	return 0;
}

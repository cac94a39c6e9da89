/* libFuzzer target: the split-ring walker over guest memory the fuzzer controls entirely
 * (descriptor table, avail ring, indirect tables, buffers). Every pop must either produce a
 * chain whose buffers lie inside the region or break the queue; ASan catches any access
 * outside. Input: 2 bytes config (queue size, indirect), then the region's contents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vhost/virtq.h"

#define REGION 0x4000u
#define GPA 0x10000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_chain c;
	uint8_t *mem;
	struct vu_mem m = { .n = 1 };
	struct vu_vq vq = { 0 };
	struct cp_err err = { 0 };
	uint32_t num;

	if (size < 2)
		return 0;
	num = 1u << (data[0] % 7); /* 1 .. 64 */
	mem = aligned_alloc(4096, REGION);
	if (!mem)
		return 0;
	memset(mem, 0, REGION);
	memcpy(mem, data + 2, size - 2 < REGION ? size - 2 : REGION);
	m.r[0] = (struct vu_mem_region){ .gpa = GPA, .size = REGION, .uva = GPA, .host = mem };
	/* avail first, then descriptors, used last: short inputs already reach the walker. */
	if (vu_vq_setup(&vq, &m, num, GPA + 0x100, GPA, GPA + 0x600, &err) == 0) {
		vq.indirect = data[1] & 1;
		vq.last_avail = data[1] >> 1;
		for (unsigned i = 0; i < 2 * num + 2; i++) {
			int r = vu_vq_pop(&vq, &m, &c, &err);

			if (r <= 0)
				break;
			for (unsigned k = 0; k < (unsigned)c.n_out + c.n_in; k++) {
				uint8_t *p = c.iov[k].iov_base;

				if (p < mem || p + c.iov[k].iov_len > mem + REGION)
					abort();
				/* touch both ends so ASan checks them */
				p[0] ^= 0;
				p[c.iov[k].iov_len - 1] ^= 0;
			}
			vu_vq_push(&vq, c.head, (uint32_t)c.in_bytes);
		}
	}
	free(mem);
	return 0;
}

/* libFuzzer target: the vhost-user message reader (vu_msg_check) and, for messages it accepts,
 * the memory-table checks. Input: 12-byte header, 1 byte fd count, payload. */
#include <stdint.h>
#include <string.h>

#include "devices/vhost/mem.h"
#include "devices/vhost/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[VU_MAX_PAYLOAD];
	struct vu_hdr hdr;
	struct cp_err err = { 0 };
	unsigned nfds;

	if (size < sizeof(hdr) + 1)
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	nfds = data[sizeof(hdr)] % (VU_MAX_FDS + 2);
	data += sizeof(hdr) + 1;
	size -= sizeof(hdr) + 1;
	if (vu_msg_check_header(&hdr, &err) < 0)
		return 0;
	/* The socket layer reads exactly hdr.size bytes; a short input is a short read. */
	if (size < hdr.size)
		return 0;
	memset(payload, 0, sizeof(payload));
	memcpy(payload, data, hdr.size);
	cp_err_clear(&err);
	if (vu_msg_check(&hdr, payload, nfds, &err) < 0)
		return 0;
	if (hdr.request == VU_REQ_SET_MEM_TABLE) {
		struct vu_mem_table_msg m;

		memcpy(&m, payload, sizeof(m));
		(void)vu_mem_table_check(m.regions, m.nregions, &err);
	} else if (hdr.request == VU_REQ_ADD_MEM_REG) {
		struct vu_mem_reg_msg m;
		struct vu_mem mem = { .n = 1 };

		memcpy(&m, payload, sizeof(m));
		mem.r[0] = (struct vu_mem_region){ .gpa = 0x100000, .size = 0x100000, .uva = 0x7f0000000000 };
		(void)vu_mem_region_check_against(&mem, &m.region, "region", &err);
	}
	return 0;
}

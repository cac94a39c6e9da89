/* libFuzzer target: the readers of carapace-blk's swap channel (devices/blk/swap.c: the helper's
 * request reader, the VM process's reply reader, the judgement of a handed-over file) and the
 * front-end's back-end-channel header reader (vu_msg_check_backend_req). Input: 1 selector byte,
 * 1 fd-count byte, 1 flags byte, then the message bytes. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/blk/swap.h"
#include "devices/vhost/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_err err = { 0 };
	unsigned sel, nfds;
	bool trunc;

	if (size < 3)
		return 0;
	sel = data[0] % 4;
	nfds = data[1] % 4;
	trunc = data[2] & 1;
	data += 3;
	size -= 3;
	if (sel == 0) {
		struct blk_swap_req req;
		(void)blk_swap_req_read(data, size, nfds, trunc, &req, &err);
	} else if (sel == 1) {
		struct blk_swap_reply rep;
		uint64_t serial = 0;
		if (size >= 8)
			memcpy(&serial, data, 8), data += 8, size -= 8;
		if (blk_swap_reply_read(data, size, nfds, trunc, serial, &rep, &err) == 0 &&
		    (!memchr(rep.msg, '\0', sizeof(rep.msg)) || rep.status > 0))
			__builtin_trap(); /* accepted a reply its contract says it refuses */
	} else if (sel == 2) {
		struct blk_image_facts f = { 0 };
		if (size < sizeof(f.mode) + sizeof(f.size) + 2)
			return 0;
		memcpy(&f.mode, data, sizeof(f.mode));
		memcpy(&f.size, data + sizeof(f.mode), sizeof(f.size));
		f.accmode = data[sizeof(f.mode) + sizeof(f.size)] % 4;
		if (blk_image_judge(&f, data[sizeof(f.mode) + sizeof(f.size) + 1] & 1, &err) == 0 &&
		    (f.size % 512 || f.size > BLK_SWAP_SIZE_MAX || !(S_ISREG(f.mode) || S_ISBLK(f.mode))))
			__builtin_trap();
	} else {
		struct vu_hdr hdr;
		if (size < sizeof(hdr))
			return 0;
		memcpy(&hdr, data, sizeof(hdr));
		if (vu_msg_check_backend_req(&hdr, nfds, &err) == 0 &&
		    (hdr.request != VU_BREQ_CONFIG_CHANGE_MSG || hdr.size || nfds))
			__builtin_trap();
	}
	return 0;
}

/* devices/vsock/proto.c: the packet header reader (every field checked, each error named), the
 * hybrid CONNECT line, and credit: a guest that ignores or lies about credit cannot make the
 * back-end buffer more than it advertised. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/vsock/proto.h"

#define GUEST 3

static struct vsock_hdr good(void)
{
	return (struct vsock_hdr){ .src_cid = GUEST, .dst_cid = VSOCK_CID_HOST, .src_port = 1024, .dst_port = 52,
				   .len = 100, .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RW, .buf_alloc = 65536,
				   .fwd_cnt = 7 };
}

static void expect_bad(struct vsock_hdr h, const char *needle)
{
	uint8_t b[VSOCK_HDR_SIZE];
	struct vsock_hdr out;
	struct cp_err err = { 0 };
	vsock_hdr_write(&h, b);
	assert_true(vsock_hdr_read(b, sizeof(b), GUEST, &out, &err) < 0);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' lacks '%s'", err.msg, needle);
}

static void test_hdr(void **state)
{
	struct vsock_hdr h = good(), out, t;
	uint8_t b[VSOCK_HDR_SIZE];
	struct cp_err err = { 0 };

	vsock_hdr_write(&h, b);
	/* the layout of struct virtio_vsock_hdr: le64 cids, le32 ports and len, le16 type and op */
	assert_int_equal(b[0], GUEST);
	assert_int_equal(b[8], 2);
	assert_int_equal(b[20], 52);
	assert_int_equal(b[24], 100);
	assert_int_equal(b[28], 1);
	assert_int_equal(b[30], 5);
	assert_int_equal(b[38], 1); /* 65536 = 0x00010000 */
	assert_int_equal(vsock_hdr_read(b, sizeof(b), GUEST, &out, &err), 0);
	/* field by field: the struct has tail padding */
	assert_true(out.src_cid == h.src_cid && out.dst_cid == h.dst_cid && out.src_port == h.src_port &&
		    out.dst_port == h.dst_port && out.len == h.len && out.type == h.type && out.op == h.op &&
		    out.flags == h.flags && out.buf_alloc == h.buf_alloc && out.fwd_cnt == h.fwd_cnt);
	assert_true(vsock_hdr_read(b, sizeof(b) - 1, GUEST, &out, &err) < 0);

	t = good(), t.src_cid = 4, expect_bad(t, "src_cid 4");
	t = good(), t.dst_cid = 3, expect_bad(t, "dst_cid 3");
	t = good(), t.type = 2, expect_bad(t, "type 2");
	t = good(), t.op = 0, expect_bad(t, "op 0");
	t = good(), t.op = 8, expect_bad(t, "op 8");
	t = good(), t.op = VSOCK_OP_REQUEST, expect_bad(t, "carries no payload");
	t = good(), t.len = VSOCK_MAX_PAYLOAD + 1, expect_bad(t, "len 65537");
	t = good(), t.flags = 1, expect_bad(t, "flags 0x1");
	t = good(), t.op = VSOCK_OP_SHUTDOWN, t.len = 0, t.flags = 4, expect_bad(t, "flags 0x4");
	t = good(), t.op = VSOCK_OP_SHUTDOWN, t.len = 0, t.flags = 3;
	vsock_hdr_write(&t, b);
	assert_int_equal(vsock_hdr_read(b, sizeof(b), GUEST, &out, &err), 0);
}

static void test_connect_line(void **state)
{
	struct cp_err err = { 0 };
	uint32_t port = 0;
	size_t used = 0;
	char ok[VSOCK_CONNECT_LINE_MAX];
	const char *l = "CONNECT 52\nhello";

	assert_int_equal(vsock_connect_line_read(l, strlen(l), &port, &used, &err), 0);
	assert_int_equal(port, 52);
	assert_int_equal(used, 11); /* "hello" is the client's first data */
	assert_int_equal(vsock_connect_line_read("CONNECT 4294967295\n", 19, &port, &used, &err), 0);
	assert_true(port == 4294967295u);
	assert_int_equal(vsock_connect_line_read("CONN", 4, &port, &used, &err), -EAGAIN);
	assert_int_equal(vsock_connect_line_read("CONNECT 5", 9, &port, &used, &err), -EAGAIN);
	assert_int_equal(vsock_connect_line_read("GET / HTTP", 10, &port, &used, &err), -EINVAL);
	assert_int_equal(vsock_connect_line_read("CONNECT 4294967296\n", 19, &port, &used, &err), -ERANGE);
	assert_int_equal(vsock_connect_line_read("CONNECT 052\n", 12, &port, &used, &err), -EINVAL);
	assert_int_equal(vsock_connect_line_read("CONNECT -1\n", 11, &port, &used, &err), -EINVAL);
	assert_int_equal(vsock_connect_line_read("CONNECT \n", 9, &port, &used, &err), -EINVAL);
	assert_int_equal(vsock_connect_line_read("CONNECT 1111111111111111111111111", 32, &port, &used, &err), -EINVAL);
	assert_int_equal(vsock_ok_line(1073741824, ok), 14);
	assert_string_equal(ok, "OK 1073741824\n");
}

static void test_credit(void **state)
{
	struct vsock_credit c = { .buf_alloc = 4096 };

	/* The guest may fill what we advertised and no more. */
	assert_int_equal(vsock_credit_rx(&c, 4000), 0);
	assert_int_equal(vsock_credit_rx_free(&c), 96);
	assert_int_equal(vsock_credit_rx(&c, 97), -ENOBUFS);
	assert_int_equal(vsock_credit_rx(&c, 96), 0);
	assert_int_equal(vsock_credit_rx(&c, 1), -ENOBUFS);
	vsock_credit_forwarded(&c, 1000);
	assert_int_equal(vsock_credit_rx_free(&c), 1000);
	vsock_credit_forwarded(&c, 100000); /* never more than is buffered */
	assert_int_equal(vsock_credit_rx_free(&c), 4096);

	/* Counters are free-running: the arithmetic holds across the wrap. */
	c = (struct vsock_credit){ .buf_alloc = 4096, .rx_cnt = UINT32_MAX - 10, .fwd_cnt = UINT32_MAX - 10 };
	assert_int_equal(vsock_credit_rx(&c, 4096), 0);
	assert_int_equal(vsock_credit_rx_free(&c), 0);
	vsock_credit_forwarded(&c, 4096);
	assert_int_equal(vsock_credit_rx_free(&c), 4096);

	/* Sending: the guest's window, and a guest that lies about what it consumed. */
	c = (struct vsock_credit){ 0 };
	assert_int_equal(vsock_credit_tx_window(&c), 0); /* no credit before the guest advertises any */
	assert_int_equal(vsock_credit_peer(&c, 8192, 0), 0);
	assert_int_equal(vsock_credit_tx_window(&c), 8192);
	vsock_credit_sent(&c, 8192);
	assert_int_equal(vsock_credit_tx_window(&c), 0);
	assert_int_equal(vsock_credit_peer(&c, 8192, 9000), -EPROTO); /* consumed more than was sent */
	assert_int_equal(c.peer_fwd_cnt, 0);
	assert_int_equal(vsock_credit_peer(&c, 8192, 4096), 0);
	assert_int_equal(vsock_credit_tx_window(&c), 4096);
	assert_int_equal(vsock_credit_peer(&c, 8192, 100), -EPROTO); /* going backwards */
	assert_int_equal(vsock_credit_peer(&c, 1024, 4096), 0);    /* shrank below what is in flight */
	assert_int_equal(vsock_credit_tx_window(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr),
		cmocka_unit_test(test_connect_line),
		cmocka_unit_test(test_credit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

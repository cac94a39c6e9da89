/* Unit tests for the vhost-user message reader (devices/vhost/msg.c) and the memory-table
 * checks (devices/vhost/mem.c): every request type, wrong sizes, wrong fd counts, bad regions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/vhost/mem.h"
#include "devices/vhost/msg.h"

struct req_case {
	uint32_t req;
	uint32_t size;   /* the one valid size (for exact-size requests) */
	unsigned fds;    /* fds for a valid message of that size with a zeroed payload */
};

/* Exact-size requests and their fd counts with a zero payload (ring index 0, fd present). */
static const struct req_case exact[] = {
	{ VU_REQ_GET_FEATURES, 0, 0 }, { VU_REQ_SET_FEATURES, 8, 0 }, { VU_REQ_SET_OWNER, 0, 0 },
	{ VU_REQ_RESET_OWNER, 0, 0 }, { VU_REQ_SET_VRING_NUM, 8, 0 }, { VU_REQ_SET_VRING_ADDR, 40, 0 },
	{ VU_REQ_SET_VRING_BASE, 8, 0 }, { VU_REQ_GET_VRING_BASE, 8, 0 }, { VU_REQ_SET_VRING_KICK, 8, 1 },
	{ VU_REQ_SET_VRING_CALL, 8, 1 }, { VU_REQ_SET_VRING_ERR, 8, 1 },
	{ VU_REQ_GET_PROTOCOL_FEATURES, 0, 0 }, { VU_REQ_SET_PROTOCOL_FEATURES, 8, 0 },
	{ VU_REQ_GET_QUEUE_NUM, 0, 0 }, { VU_REQ_SET_VRING_ENABLE, 8, 0 }, { VU_REQ_GET_INFLIGHT_FD, 24, 0 },
	{ VU_REQ_SET_INFLIGHT_FD, 24, 1 }, { VU_REQ_GET_MAX_MEM_SLOTS, 0, 0 }, { VU_REQ_ADD_MEM_REG, 40, 1 },
	{ VU_REQ_REM_MEM_REG, 40, 0 }, { VU_REQ_SET_STATUS, 8, 0 }, { VU_REQ_GET_STATUS, 0, 0 },
	{ VU_REQ_SET_BACKEND_REQ_FD, 0, 1 },
};

static int check(uint32_t req, uint32_t flags, uint32_t size, const void *payload, unsigned nfds,
		 struct cp_err *err)
{
	struct vu_hdr h = { .request = req, .flags = flags, .size = size };

	cp_err_clear(err);
	return vu_msg_check(&h, payload, nfds, err);
}

static void test_every_exact_request(void **state)
{
	uint8_t zero[VU_MAX_PAYLOAD] = { 0 };
	struct cp_err err;

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		const struct req_case *c = &exact[i];

		assert_int_equal(check(c->req, 1, c->size, zero, c->fds, &err), 0);
		/* NEED_REPLY is allowed on every request. */
		assert_int_equal(check(c->req, 1 | VU_FLAG_NEED_REPLY, c->size, zero, c->fds, &err), 0);
		/* One byte more or less is refused, naming the request and the expected size. */
		assert_int_equal(check(c->req, 1, c->size + 1, zero, c->fds, &err), -EPROTO);
		assert_non_null(strstr(err.msg, vu_req_name(c->req)));
		assert_non_null(strstr(err.msg, "expected exactly"));
		if (c->size) {
			assert_int_equal(check(c->req, 1, c->size - 1, zero, c->fds, &err), -EPROTO);
		}
		/* One fd too many is refused. */
		assert_int_equal(check(c->req, 1, c->size, zero, c->fds + 1 + (c->req == VU_REQ_REM_MEM_REG), &err),
				 -EPROTO);
		assert_non_null(strstr(err.msg, "fds"));
		/* Missing fd refused where one is required. */
		if (c->fds) {
			assert_int_equal(check(c->req, 1, c->size, zero, 0, &err), -EPROTO);
		}
	}
}

static void test_header_flags(void **state)
{
	struct cp_err err;

	assert_int_equal(check(VU_REQ_GET_FEATURES, 0, 0, NULL, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "version"));
	assert_int_equal(check(VU_REQ_GET_FEATURES, 2, 0, NULL, 0, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_GET_FEATURES, 1 | VU_FLAG_REPLY, 0, NULL, 0, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_GET_FEATURES, 1 | 0x100, 0, NULL, 0, &err), -EPROTO);
}

/* The back-end channel's reader (front-end side): only CONFIG_CHANGE_MSG, empty, no fd. */
static int bcheck(const struct vu_hdr *h, unsigned nfds, struct cp_err *err)
{
	cp_err_clear(err);
	return vu_msg_check_backend_req(h, nfds, err);
}

static void test_backend_requests(void **state)
{
	struct vu_hdr h = { .request = VU_BREQ_CONFIG_CHANGE_MSG, .flags = VU_FLAG_VERSION, .size = 0 };
	struct cp_err err = { 0 };

	assert_int_equal(bcheck(&h, 0, &err), 0);
	h.flags |= VU_FLAG_NEED_REPLY;
	assert_int_equal(bcheck(&h, 0, &err), 0);
	assert_int_equal(bcheck(&h, 1, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "fds"));
	h.size = 8;
	assert_int_equal(bcheck(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "payload size 8"));
	h.size = 0;
	h.flags = VU_FLAG_VERSION | VU_FLAG_REPLY;
	assert_int_equal(bcheck(&h, 0, &err), -EPROTO);
	h.flags = 2;
	assert_int_equal(bcheck(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "version"));
	h.flags = VU_FLAG_VERSION;
	for (uint32_t r = 0; r < VU_BREQ_MAX + 2; r++) {
		h.request = r;
		assert_int_equal(bcheck(&h, 0, &err), r == VU_BREQ_CONFIG_CHANGE_MSG ? 0 : -EPROTO);
	}
	h.request = VU_BREQ_IOTLB_MSG;
	assert_int_equal(bcheck(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "BACKEND_IOTLB_MSG"));
}

static void test_unknown_and_refused(void **state)
{
	uint8_t zero[64] = { 0 };
	struct cp_err err;

	assert_int_equal(check(0, 1, 0, zero, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "unknown"));
	assert_int_equal(check(VU_REQ_MAX, 1, 0, zero, 0, &err), -EPROTO);
	assert_int_equal(check(0xffffffffu, 1, 0, zero, 0, &err), -EPROTO);
	/* Known but never offered: refused by name. */
	static const uint32_t refused[] = { VU_REQ_SET_LOG_BASE, VU_REQ_SET_LOG_FD, VU_REQ_SEND_RARP,
					    VU_REQ_NET_SET_MTU, VU_REQ_IOTLB_MSG,
					    VU_REQ_SET_VRING_ENDIAN, VU_REQ_POSTCOPY_ADVISE, VU_REQ_RESET_DEVICE,
					    VU_REQ_VRING_KICK };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(check(refused[i], 1, 8, zero, 0, &err), -EOPNOTSUPP);
		assert_non_null(strstr(err.msg, vu_req_name(refused[i])));
	}
}

static void test_vring_fd_bit(void **state)
{
	uint64_t v;
	struct cp_err err;

	v = 3 | VU_VRING_NOFD; /* no fd announced: none may come */
	assert_int_equal(check(VU_REQ_SET_VRING_CALL, 1, 8, &v, 0, &err), 0);
	assert_int_equal(check(VU_REQ_SET_VRING_CALL, 1, 8, &v, 1, &err), -EPROTO);
	v = 3;
	assert_int_equal(check(VU_REQ_SET_VRING_KICK, 1, 8, &v, 0, &err), -EPROTO);
	v = 1ull << 40; /* reserved bits */
	assert_int_equal(check(VU_REQ_SET_VRING_ERR, 1, 8, &v, 1, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "bits"));
}

static void test_mem_table_sizes(void **state)
{
	struct vu_mem_table_msg m;
	struct cp_err err;

	memset(&m, 0, sizeof(m));
	for (uint32_t n = 1; n <= VU_MEM_TABLE_MAX; n++) {
		m.nregions = n;
		assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32 * n, &m, n, &err), 0);
		assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32 * n, &m, n - 1, &err), -EPROTO);
		assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32 * n, &m, n + 1, &err), -EPROTO);
	}
	m.nregions = 2; /* size says 3 regions */
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32 * 3, &m, 2, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "nregions"));
	m.nregions = 0;
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32, &m, 0, &err), -EPROTO);
	m.nregions = 9;
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32, &m, 1, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 32 * 9, &m, 8, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 8 + 31, &m, 1, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_SET_MEM_TABLE, 1, 0, &m, 0, &err), -EPROTO);
}

static void test_config_sizes(void **state)
{
	struct vu_config_msg c;
	struct cp_err err;

	memset(&c, 0, sizeof(c));
	c.size = 60;
	assert_int_equal(check(VU_REQ_GET_CONFIG, 1, 12 + 60, &c, 0, &err), 0);
	assert_int_equal(check(VU_REQ_GET_CONFIG, 1, 12 + 61, &c, 0, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_GET_CONFIG, 1, 12 + 60, &c, 1, &err), -EPROTO);
	c.size = VU_CONFIG_MAX + 1;
	assert_int_equal(check(VU_REQ_SET_CONFIG, 1, 12 + VU_CONFIG_MAX + 1, &c, 0, &err), -EPROTO);
	assert_int_equal(check(VU_REQ_SET_CONFIG, 1, 11, &c, 0, &err), -EPROTO);
}

static void test_region_checks(void **state)
{
	struct vu_region r[3];
	struct cp_err err = { 0 };

	r[0] = (struct vu_region){ .gpa = 0, .size = 0x100000, .uva = 0x7f0000000000, .mmap_offset = 0 };
	r[1] = (struct vu_region){ .gpa = 0x100000, .size = 0x100000, .uva = 0x7f0000100000, .mmap_offset = 0 };
	assert_int_equal(vu_mem_table_check(r, 2, &err), 0);
	/* gpa overlap */
	r[1].gpa = 0xff000;
	assert_int_equal(vu_mem_table_check(r, 2, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "overlaps"));
	cp_err_clear(&err);
	/* uva overlap */
	r[1].gpa = 0x100000;
	r[1].uva = 0x7f00000ff000;
	assert_int_equal(vu_mem_table_check(r, 2, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "user_addr"));
	cp_err_clear(&err);
	/* zero size, oversize, wraps */
	r[2] = (struct vu_region){ .gpa = 0x10000000, .size = 0, .uva = 0x1000 };
	assert_int_equal(vu_mem_region_check(&r[2], "r", &err), -EINVAL);
	cp_err_clear(&err);
	r[2].size = VU_REGION_SIZE_MAX + 1;
	assert_int_equal(vu_mem_region_check(&r[2], "r", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exceeds"));
	cp_err_clear(&err);
	r[2] = (struct vu_region){ .gpa = UINT64_MAX - 0xfff, .size = 0x2000, .uva = 0x1000 };
	assert_int_equal(vu_mem_region_check(&r[2], "r", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "wraps"));
	cp_err_clear(&err);
	r[2] = (struct vu_region){ .gpa = 0, .size = 0x2000, .uva = UINT64_MAX - 0xfff };
	assert_int_equal(vu_mem_region_check(&r[2], "r", &err), -EINVAL);
	cp_err_clear(&err);
	r[2] = (struct vu_region){ .gpa = 0, .size = 0x2000, .uva = 0, .mmap_offset = INT64_MAX };
	assert_int_equal(vu_mem_region_check(&r[2], "r", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mmap_offset"));
	cp_err_clear(&err);
	assert_int_equal(vu_mem_table_check(r, 0, &err), -EINVAL);
}

static void test_translation_one_region(void **state)
{
	static uint8_t a[0x1000], b[0x1000];
	struct vu_mem m = { .n = 2 };

	/* Two regions adjacent in gpa but not on the host: a range across them must fail. */
	m.r[0] = (struct vu_mem_region){ .gpa = 0x1000, .size = 0x1000, .uva = 0x10000, .host = a };
	m.r[1] = (struct vu_mem_region){ .gpa = 0x2000, .size = 0x1000, .uva = 0x20000, .host = b };
	assert_ptr_equal(vu_mem_gpa(&m, 0x1000, 0x1000), a);
	assert_ptr_equal(vu_mem_gpa(&m, 0x2ff0, 0x10), b + 0xff0);
	assert_null(vu_mem_gpa(&m, 0x1ff0, 0x20));   /* spans regions */
	assert_null(vu_mem_gpa(&m, 0x2ff0, 0x11));   /* past the end */
	assert_null(vu_mem_gpa(&m, 0x0, 0x10));      /* before */
	assert_null(vu_mem_gpa(&m, 0x1000, 0));      /* empty */
	assert_null(vu_mem_gpa(&m, UINT64_MAX, 2));  /* wraps */
	assert_null(vu_mem_gpa(&m, 0x1800, UINT64_MAX));
	assert_ptr_equal(vu_mem_uva(&m, 0x20010, 0x10), b + 0x10);
	assert_null(vu_mem_uva(&m, 0x1000, 0x10));   /* a gpa is not a uva */
	assert_null(vu_mem_uva(&m, 0x10ff0, 0x20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_exact_request),
		cmocka_unit_test(test_header_flags),
		cmocka_unit_test(test_unknown_and_refused),
		cmocka_unit_test(test_vring_fd_bit),
		cmocka_unit_test(test_mem_table_sizes),
		cmocka_unit_test(test_config_sizes),
		cmocka_unit_test(test_backend_requests),
		cmocka_unit_test(test_region_checks),
		cmocka_unit_test(test_translation_one_region),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

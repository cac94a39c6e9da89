/* Unit tests for the split-ring walker (devices/vhost/virtq.c): each hostile descriptor case
 * breaks the queue with a message naming it, and a broken queue stays broken. No sockets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/vhost/virtq.h"

#define GPA 0x100000ull
#define UVA 0x7f0000000000ull
#define MEMSZ 0x10000u
#define NUM 8u
/* layout inside the region */
#define DESC_OFF 0x0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define BUF_OFF 0x4000

struct fx {
	uint8_t *mem;
	struct vu_mem m;
	struct vu_vq vq;
	struct vu_chain c;
	struct cp_err err;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->mem = aligned_alloc(4096, MEMSZ);
	memset(f->mem, 0, MEMSZ);
	f->m.n = 1;
	f->m.r[0] = (struct vu_mem_region){ .gpa = GPA, .size = MEMSZ, .uva = UVA, .host = f->mem };
	assert_int_equal(vu_vq_setup(&f->vq, &f->m, NUM, UVA + DESC_OFF, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), 0);
	f->vq.indirect = true;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	free(f->mem);
	free(f);
	return 0;
}

static void set_desc(struct fx *f, unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc_le d = { gpa, len, flags, next };

	memcpy(f->mem + DESC_OFF + 16 * i, &d, 16);
}

static void set_ind(struct fx *f, uint64_t table_off, unsigned i, uint64_t gpa, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	struct vring_desc_le d = { gpa, len, flags, next };

	memcpy(f->mem + table_off + 16 * i, &d, 16);
}

static void make_avail(struct fx *f, uint16_t head)
{
	uint16_t idx;

	memcpy(&idx, f->mem + AVAIL_OFF + 2, 2);
	memcpy(f->mem + AVAIL_OFF + 4 + 2 * (idx % NUM), &head, 2);
	idx++;
	memcpy(f->mem + AVAIL_OFF + 2, &idx, 2);
}

static void expect_broken(struct fx *f, const char *needle)
{
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), -EIO);
	assert_true(f->vq.broken);
	if (!strstr(f->err.msg, needle))
		fail_msg("message \"%s\" lacks \"%s\"", f->err.msg, needle);
	/* Broken for good: even a now-valid ring is not walked again. */
	set_desc(f, 0, GPA + BUF_OFF, 16, 0, 0);
	make_avail(f, 0);
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), -EIO);
	assert_non_null(strstr(f->err.msg, "broken"));
}

static void test_good_chain_and_push(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint16_t used_idx;

	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), 0); /* empty */
	set_desc(f, 2, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 5);
	set_desc(f, 5, GPA + BUF_OFF + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(f, 1, GPA + BUF_OFF + 0x400, 1, VRING_DESC_F_WRITE, 0);
	make_avail(f, 2);
	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), 1);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->c.n_out, 1);
	assert_int_equal(f->c.n_in, 2);
	assert_int_equal(f->c.out_bytes, 16);
	assert_int_equal(f->c.in_bytes, 513);
	assert_ptr_equal(f->c.iov[0].iov_base, f->mem + BUF_OFF);
	assert_ptr_equal(f->c.iov[2].iov_base, f->mem + BUF_OFF + 0x400);
	/* copy helpers and slicing */
	memset(f->mem + BUF_OFF, 0x11, 16);
	uint8_t tmp[32] = { 0 };
	assert_int_equal(vu_chain_read(&f->c, 4, tmp, 32), 12);
	assert_int_equal(tmp[0], 0x11);
	uint8_t st = 7;
	assert_int_equal(vu_chain_write(&f->c, 512, &st, 1), 1);
	assert_int_equal(f->mem[BUF_OFF + 0x400], 7);
	struct iovec iov[4];
	assert_int_equal(vu_chain_iov(&f->c, true, 0, 512, iov, 4), 1);
	assert_int_equal(vu_chain_iov(&f->c, true, 0, 514, iov, 4), -ERANGE);
	assert_int_equal(vu_chain_iov(&f->c, true, 500, 13, iov, 4), 2);
	assert_int_equal(vu_chain_iov(&f->c, true, 500, 13, iov, 1), -E2BIG);

	vu_vq_push(&f->vq, 2, 513);
	memcpy(&used_idx, f->mem + USED_OFF + 2, 2);
	memcpy(&id, f->mem + USED_OFF + 4, 4);
	memcpy(&len, f->mem + USED_OFF + 8, 4);
	assert_int_equal(used_idx, 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 513);
	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), 0);
	assert_true(vu_vq_want_call(&f->vq));
	uint16_t no_int = VRING_AVAIL_F_NO_INTERRUPT;
	memcpy(f->mem + AVAIL_OFF, &no_int, 2);
	assert_false(vu_vq_want_call(&f->vq));
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	make_avail(f, NUM);
	expect_broken(f, "head 8");
}

static void test_avail_idx_jump(void **state)
{
	struct fx *f = *state;
	uint16_t idx = NUM + 1;

	memcpy(f->mem + AVAIL_OFF + 2, &idx, 2);
	expect_broken(f, "ahead");
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, GPA + BUF_OFF + 16, 16, VRING_DESC_F_NEXT, 0);
	make_avail(f, 0);
	/* Revisiting a descriptor revisits its buffer: the overlap check fires before the length
	 * bound does. Either way the queue breaks at descriptor 0's second visit. */
	expect_broken(f, "descriptor 0 buffer");
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, NUM);
	make_avail(f, 0);
	expect_broken(f, "next 8");
}

static void test_zero_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 0, 0, 0);
	make_avail(f, 0);
	expect_broken(f, "length 0");
}

static void test_huge_length(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 0xffffffffu, 0, 0);
	make_avail(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_out_of_bounds(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + MEMSZ - 8, 16, 0, 0); /* straddles the end */
	make_avail(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_below_region(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x1000, 16, 0, 0);
	make_avail(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_wrapping_address(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, UINT64_MAX - 4, 16, 0, 0);
	make_avail(f, 0);
	expect_broken(f, "outside guest memory");
}

static void test_overlap(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 64, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, GPA + BUF_OFF + 32, 64, VRING_DESC_F_WRITE, 0);
	make_avail(f, 0);
	expect_broken(f, "overlaps");
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(f, 1, GPA + BUF_OFF + 16, 16, 0, 0);
	make_avail(f, 0);
	expect_broken(f, "readable after");
}

static void test_indirect_good(void **state)
{
	struct fx *f = *state;
	uint64_t t = 0x3000;

	set_ind(f, t, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 2);
	set_ind(f, t, 2, GPA + BUF_OFF + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_ind(f, t, 1, GPA + BUF_OFF + 0x400, 1, VRING_DESC_F_WRITE, 0);
	set_desc(f, 3, GPA + t, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 3);
	assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.n_out, 1);
	assert_int_equal(f->c.n_in, 2);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = false;
	set_ind(f, 0x3000, 0, GPA + BUF_OFF, 16, 0, 0);
	set_desc(f, 0, GPA + 0x3000, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "not negotiated");
}

static void test_indirect_with_next(void **state)
{
	struct fx *f = *state;

	set_ind(f, 0x3000, 0, GPA + BUF_OFF, 16, 0, 0);
	set_desc(f, 0, GPA + 0x3000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	make_avail(f, 0);
	expect_broken(f, "also has NEXT");
}

static void test_indirect_bad_len(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + 0x3000, 24, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "multiple of 16");
}

static void test_indirect_too_many(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + 0x3000, 16 * (NUM + 1), VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "more than the queue size");
}

static void test_indirect_out_of_bounds(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, GPA + MEMSZ - 16, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "indirect table");
}

static void test_indirect_nested(void **state)
{
	struct fx *f = *state;

	set_ind(f, 0x3000, 0, GPA + 0x3000, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(f, 0, GPA + 0x3000, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "nested");
}

static void test_indirect_loop(void **state)
{
	struct fx *f = *state;

	set_ind(f, 0x3000, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
	set_ind(f, 0x3000, 1, GPA + BUF_OFF + 16, 16, VRING_DESC_F_NEXT, 0);
	set_desc(f, 0, GPA + 0x3000, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "loops");
}

static void test_indirect_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_ind(f, 0x3000, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 2);
	set_desc(f, 0, GPA + 0x3000, 32, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "beyond the table");
}

static void test_indirect_not_head(void **state)
{
	struct fx *f = *state;

	set_ind(f, 0x3000, 0, GPA + BUF_OFF + 64, 16, 0, 0);
	set_desc(f, 0, GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, GPA + 0x3000, 16, VRING_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	expect_broken(f, "not the chain's head");
}

static void test_setup_checks(void **state)
{
	struct fx *f = *state;
	struct vu_vq q = { 0 };

	assert_int_equal(vu_vq_setup(&q, &f->m, 3, UVA, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), -EINVAL);
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_setup(&q, &f->m, 2048, UVA, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), -EINVAL);
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_setup(&q, &f->m, NUM, UVA + MEMSZ - 16, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err),
			 -EFAULT);
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_setup(&q, &f->m, NUM, GPA, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), -EFAULT);
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_setup(&q, &f->m, NUM, UVA + 8, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), -EINVAL);
	assert_non_null(strstr(f->err.msg, "misaligned"));
}

static void test_inflight_resume(void **state)
{
	struct fx *f = *state;
	size_t sz = sizeof(struct vu_inflight_queue) + NUM * sizeof(struct vu_inflight_desc);
	struct vu_inflight_queue *q = calloc(1, sz);
	uint16_t heads[NUM];

	f->vq.inflight = q;
	/* Three requests popped, the middle one completed. */
	for (unsigned i = 0; i < 3; i++) {
		set_desc(f, i, GPA + BUF_OFF + 64 * i, 16, 0, 0);
		make_avail(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vu_vq_pop(&f->vq, &f->m, &f->c, &f->err), 1);
	vu_vq_push(&f->vq, 1, 0);
	/* A restarted back-end: fresh queue state, same rings and region. */
	struct vu_vq fresh = { 0 };
	assert_int_equal(vu_vq_setup(&fresh, &f->m, NUM, UVA + DESC_OFF, UVA + AVAIL_OFF, UVA + USED_OFF, &f->err), 0);
	fresh.inflight = q;
	assert_int_equal(vu_vq_inflight_resume(&fresh, heads, NUM, &f->err), 2);
	assert_int_equal(heads[0], 0);
	assert_int_equal(heads[1], 2);
	assert_int_equal(fresh.used_idx, 1);
	assert_int_equal(fresh.last_avail, 3);
	/* A corrupt state byte is refused. */
	q->desc[4].inflight = 7;
	cp_err_clear(&f->err);
	assert_int_equal(vu_vq_inflight_resume(&fresh, heads, NUM, &f->err), -EINVAL);
	f->vq.inflight = NULL;
	free(q);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_chain_and_push), T(test_head_out_of_range), T(test_avail_idx_jump), T(test_loop),
		T(test_next_out_of_range), T(test_zero_length), T(test_huge_length), T(test_out_of_bounds),
		T(test_below_region), T(test_wrapping_address), T(test_overlap), T(test_readable_after_writable),
		T(test_indirect_good), T(test_indirect_not_negotiated), T(test_indirect_with_next),
		T(test_indirect_bad_len), T(test_indirect_too_many), T(test_indirect_out_of_bounds),
		T(test_indirect_nested), T(test_indirect_loop), T(test_indirect_next_out_of_range),
		T(test_indirect_not_head), T(test_setup_checks), T(test_inflight_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

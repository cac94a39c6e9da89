/* devices-devstats: the helpers' counter page (devices/devstats.c): every kind's names table is
 * complete, the page is sealed at its size, a helper refuses a page of the wrong size, what a
 * helper adds is what the VM process reads, and the reader keeps the largest value seen, capped
 * at 2^63-1. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/devstats.h"

static void test_names_complete(void **state)
{
	static const struct {
		enum devkind_id k;
		unsigned n;
		const char *group;
	} want[] = {
		{ DEVKIND_BLK, DS_BLK__N, "block" },
		{ DEVKIND_NET, DS_NET__N, "net" },
		{ DEVKIND_RNG, DS_RNG__N, "entropy" },
		{ DEVKIND_VSOCK, DS_VSOCK__N, "vsock" },
	};
	unsigned with = 0;

	(void)state;
	for (unsigned w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		const struct devstats_kind *k = devstats_kind(want[w].k);

		assert_non_null(k);
		assert_string_equal(k->group, want[w].group);
		assert_int_equal(k->n, want[w].n);
		assert_true(k->n > 0 && k->n <= DEVSTATS_MAX);
		for (unsigned i = 0; i < k->n; i++) {
			assert_non_null(k->names[i]);
			assert_true(k->names[i][0] != '\0');
			for (unsigned j = i + 1; j < k->n; j++) {
				assert_non_null(k->names[j]);
				assert_string_not_equal(k->names[i], k->names[j]);
			}
		}
	}
	/* Every kind but those above has none (console: Firecracker has no such device); outside
	 * the table, nothing. */
	for (unsigned k = 0; k < DEVKIND__COUNT; k++)
		with += devstats_kind((enum devkind_id)k) != NULL;
	assert_int_equal(with, sizeof(want) / sizeof(want[0]));
	assert_null(devstats_kind(DEVKIND_CONSOLE));
	assert_null(devstats_kind(DEVKIND__COUNT));
	assert_null(devstats_kind((enum devkind_id)-1));
}

static void test_create_sealed(void **state)
{
	struct cp_err err = { 0 };
	const uint64_t *page = NULL;
	struct stat st;
	int fd = -1;

	(void)state;
	assert_int_equal(devstats_create(&fd, &page, &err), 0);
	assert_true(fd >= 0);
	assert_non_null(page);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, DEVSTATS_SIZE);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Neither side can shrink it (the reader would fault), grow it, or lift the seals. */
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, DEVSTATS_SIZE * 2), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	for (unsigned i = 0; i < DEVSTATS_SIZE / sizeof(uint64_t); i++)
		assert_int_equal(page[i], 0);
	close(fd);
	devstats_unmap(page);
	devstats_unmap(NULL);
}

/* The helper's side: a wrong page is refused (and its fd closed), counts then go nowhere; the
 * right one receives them where the VM process reads. */
static void test_attach(void **state)
{
	struct cp_err err = { 0 };
	const uint64_t *page = NULL;
	int fd = -1, bad;

	(void)state;
	assert_int_equal(devstats_create(&fd, &page, &err), 0);
	/* Wrong sizes: one byte short, one page more, empty. */
	static const off_t sizes[] = { DEVSTATS_SIZE - 1, DEVSTATS_SIZE * 2, 0 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		bad = memfd_create("wrong", MFD_CLOEXEC);
		assert_true(bad >= 0);
		assert_int_equal(ftruncate(bad, sizes[i]), 0);
		cp_err_clear(&err);
		assert_true(devstats_attach(bad, &err) < 0);
		assert_non_null(strstr(err.msg, "--stats-fd"));
		assert_int_equal(fcntl(bad, F_GETFD), -1); /* closed */
		assert_int_equal(errno, EBADF);
	}
	/* Not open at all. */
	cp_err_clear(&err);
	assert_true(devstats_attach(bad, &err) < 0);
	/* Counts before a page is attached go to a private page. */
	devstats_add(DS_BLK_READ_COUNT, 7);
	assert_int_equal(page[DS_BLK_READ_COUNT], 0);

	int mine = dup(fd);
	assert_true(mine >= 0);
	cp_err_clear(&err);
	assert_int_equal(devstats_attach(mine, &err), 0);
	assert_int_equal(fcntl(mine, F_GETFD), -1); /* mapped, then closed: the jail keeps no fd */
	devstats_add(DS_BLK_READ_COUNT, 3);
	devstats_add(DS_BLK_READ_COUNT, 4);
	devstats_add(DS_BLK_READ_BYTES, 4096);
	devstats_add(DEVSTATS_MAX - 1, 1);
	devstats_add(DEVSTATS_MAX, 99);   /* out of range: ignored */
	devstats_add(UINT32_MAX, 99);
	assert_int_equal(page[DS_BLK_READ_COUNT], 7);
	assert_int_equal(page[DS_BLK_READ_BYTES], 4096);
	assert_int_equal(page[DEVSTATS_MAX - 1], 1);
	for (unsigned i = DEVSTATS_MAX; i < DEVSTATS_SIZE / sizeof(uint64_t); i++)
		assert_int_equal(page[i], 0);
	uint64_t seen[DEVSTATS_MAX] = { 0 };
	devstats_observe(page, DS_BLK__N, seen);
	assert_int_equal(seen[DS_BLK_READ_COUNT], 7);
	assert_int_equal(seen[DS_BLK_READ_BYTES], 4096);
	close(fd);
	devstats_unmap(page);
}

/* The VM process's side: the largest value ever seen, capped at INT64_MAX; only n counters. */
static void test_observe(void **state)
{
	uint64_t page[DEVSTATS_MAX] = { 0 }, seen[DEVSTATS_MAX] = { 0 };

	(void)state;
	page[0] = 5;
	page[1] = UINT64_MAX;
	page[2] = (uint64_t)INT64_MAX + 1;
	page[3] = 9;
	devstats_observe(page, 3, seen);
	assert_int_equal(seen[0], 5);
	assert_true(seen[1] == (uint64_t)INT64_MAX);
	assert_true(seen[2] == (uint64_t)INT64_MAX);
	assert_int_equal(seen[3], 0); /* beyond n */
	/* A counter that goes back (a lying helper) changes nothing; one that goes on counts. */
	page[0] = 3;
	page[1] = 1;
	devstats_observe(page, 4, seen);
	assert_int_equal(seen[0], 5);
	assert_true(seen[1] == (uint64_t)INT64_MAX);
	assert_int_equal(seen[3], 9);
	page[0] = 6;
	devstats_observe(page, 4, seen);
	assert_int_equal(seen[0], 6);
	/* No page: seen stays; n beyond the page is bounded. */
	devstats_observe(NULL, 4, seen);
	assert_int_equal(seen[0], 6);
	page[DEVSTATS_MAX - 1] = 11;
	devstats_observe(page, UINT32_MAX, seen);
	assert_int_equal(seen[DEVSTATS_MAX - 1], 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_complete),
		cmocka_unit_test(test_create_sealed),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_observe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

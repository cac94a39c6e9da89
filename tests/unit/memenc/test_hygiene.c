/* Memory hygiene, tested for real: the scrub is observed through a second mapping of the same
 * memfd, MADV_DONTDUMP / WIPEONFORK / mlock show up in /proc/self/smaps, and a forked child sees
 * zeros in a wipe-on-fork secret buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "memenc/hygiene.h"

/* ASan intercepts mlock and does nothing, so "locked" can only be checked without it. */
#if defined(__SANITIZE_ADDRESS__)
#define MEMENC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMENC_TEST_ASAN 1
#endif
#endif
#ifndef MEMENC_TEST_ASAN
#define MEMENC_TEST_ASAN 0
#endif

/* VmFlags of the mapping that contains addr ("dd" = dontdump, "wf" = wipeonfork, "lo" = locked). */
static bool vmflag(const void *addr, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false, found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			char pat[8];
			snprintf(pat, sizeof(pat), " %s", flag);
			found = strstr(line, pat) != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_scrub_through_second_mapping(void **state)
{
	const size_t len = 3 * 4096;
	int fd = memfd_create("memenc-hygiene", MFD_CLOEXEC);
	uint8_t *a, *b;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(a != MAP_FAILED && b != MAP_FAILED && a != b);
	memset(a, 0x5a, len);
	assert_int_equal(b[len - 1], 0x5a); /* the second view sees writes through the first */
	assert_false(vmflag(a, "dd")); /* the flag reader can say no */
	assert_int_equal(memenc_ram_protect(a, len, 0), 0);
	assert_true(vmflag(a, "dd"));
	assert_false(vmflag(a, "wf"));
	/* a shared file mapping is not private anonymous: wipe-on-fork is refused */
	assert_int_equal(memenc_ram_protect(a, len, MEMENC_RAM_WIPEONFORK), -EINVAL);
	memenc_ram_scrub(a + 100, len - 200);
	for (size_t i = 0; i < len; i++)
		if (b[i] != (i < 100 || i >= len - 100 ? 0x5a : 0))
			fail_msg("byte %zu is 0x%02x after the scrub", i, b[i]);
	munmap(a, len);
	munmap(b, len);
	close(fd);
}

static void test_protect_args(void **state)
{
	uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(memenc_ram_protect(NULL, 4096, 0), -EINVAL);
	assert_int_equal(memenc_ram_protect(p + 1, 4096, 0), -EINVAL);
	assert_int_equal(memenc_ram_protect(p, 0, 0), -EINVAL);
	assert_int_equal(memenc_ram_protect(p, 4096, 1u << 7), -EINVAL);
	assert_int_equal(memenc_ram_protect(p, 100, MEMENC_RAM_WIPEONFORK), 0); /* rounded to a page */
	assert_true(vmflag(p, "dd"));
	assert_true(vmflag(p, "wf"));
	munmap(p, 8192);
}

static void test_secret_buffer(void **state)
{
	const size_t len = 100;
	uint8_t *s = memenc_secret_alloc(len);
	pid_t pid;
	int status;

	assert_non_null(s);
	assert_true(vmflag(s, "dd"));
	assert_true(vmflag(s, "wf"));
#if !MEMENC_TEST_ASAN
	assert_true(vmflag(s, "lo"));
#endif
	memset(s, 0xc3, len);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* wipe-on-fork: the child must see zeros where the parent keeps its secret */
		for (size_t i = 0; i < len; i++)
			if (s[i] != 0)
				_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(s[0], 0xc3);
	memenc_secret_free(s, len);
	memenc_secret_free(NULL, 0);
	errno = 0;
	assert_null(memenc_secret_alloc(0));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrub_through_second_mapping),
		cmocka_unit_test(test_protect_args),
		cmocka_unit_test(test_secret_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

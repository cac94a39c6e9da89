/* A filtered thread that frees memory and ends must not die of what glibc's allocator does on
 * its own. Found on KVM with 16 devices: the vCPU thread's own malloc arena grew while it set the
 * devices up; at thread exit glibc freed the thread's cache, trimmed that arena, and the first
 * trim of a thread heap in a process opens /proc/sys/vm/overcommit_memory (glibc's
 * check_may_shrink_heap), which no thread list allows: SIGSYS for the whole VM after the guest
 * had passed. The seccomp engine keeps every filtered process on glibc's one main arena
 * (common/seccomp_engine.c), whose trim is brk() alone.
 *
 * Each case: a child process starts a thread that allocates in small blocks (its own arena when
 * there is more than one), loads one real filter of the VM process in kill mode, frees it all and
 * returns. The child must exit 0, never by SIGSYS. Runs without KVM.
 *
 * The filter's mode is sandbox_mode_default(): kill in the plain build, where the finding is
 * proven; log in sanitizer builds, whose runtime replaces glibc's allocator and tears a thread
 * down with calls of its own that no VM list holds. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runner/sandbox.h"

#define BLOCKS 96
#define BLOCK_SIZE (8 * 1024) /* below the mmap threshold: from the arena, not mmap */

static void *filtered_thread(void *arg)
{
	enum sandbox_thread which = *(enum sandbox_thread *)arg;
	struct cp_err err = { 0 };
	void *blocks[BLOCKS];

	for (unsigned i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK_SIZE);
		if (!blocks[i])
			syscall(SYS_exit_group, 5);
		memset(blocks[i], 0x5a, BLOCK_SIZE);
	}
	if (sandbox_thread_apply(which, sandbox_mode_default(), &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		syscall(SYS_exit_group, 3);
	}
	/* Frees large enough together to trim the arena's top (the default threshold is 128 KiB). */
	for (unsigned i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	return NULL;
}

static void free_and_exit(enum sandbox_thread which)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, filtered_thread, &which) != 0 || pthread_join(t, NULL) != 0)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("filter %d: killed by signal %d%s", which, WTERMSIG(status),
			 WTERMSIG(status) == SIGSYS ? " (SIGSYS: glibc's allocator made a call the list does not hold)"
						    : "");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_vcpu(void **state) { free_and_exit(SANDBOX_VCPU); }
static void test_vcpu_cc(void **state) { free_and_exit(SANDBOX_VCPU_CC); }
static void test_quote(void **state) { free_and_exit(SANDBOX_QUOTE); }
static void test_api(void **state) { free_and_exit(SANDBOX_API); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu),
		cmocka_unit_test(test_vcpu_cc),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

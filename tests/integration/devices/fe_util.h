/* Test/bench front-end environment: shared memfd "guest memory", rings, spawning helpers. */
#ifndef CARAPACE_TESTS_DEVICES_FE_UTIL_H
#define CARAPACE_TESTS_DEVICES_FE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/devkinds.h"
#include "devices/vhost/frontend.h"

#define FE_GPA_BASE 0x40000000ull /* not 0, so gpa/uva mix-ups show */
#define FE_MAX_Q 4

struct fe_env {
	struct vu_fe fe;
	int memfd;
	uint8_t *mem;
	uint64_t size;
	uint64_t bump;             /* next free offset for buffers */
	unsigned nq;
	uint16_t qsize;
	struct vu_drvq q[FE_MAX_Q];
	uint64_t hdr_gpa, st_gpa;  /* scratch for fe_blk_rw */
	struct cp_err err;
};

/* Start a helper: argv[0] is a path; waits up to 5 s for `sock` to accept. Returns pid. */
pid_t fe_spawn(char *const argv[], const char *sock);
/* Same, with the helper's stderr sent to `log`. */
pid_t fe_spawn_log(char *const argv[], const char *sock, const char *log);
/* The jailed process of a helper started as pid (the reaper's child), -1 if none. */
pid_t fe_jailed_pid(pid_t pid);
/* State letter of /proc/PID/stat ('S', 'T', 'Z', ...), 0 when gone. */
char fe_proc_state(pid_t pid);
/* Stop pid with SIGSTOP once it sleeps (in a system call), then continue it with SIGCONT and wait
 * until it runs or sleeps again (or died). Polls /proc; nothing is asserted about time. */
void fe_stop_continue(pid_t pid);
/* Wait for pid; returns the raw wait status. */
int fe_wait(pid_t pid);

/* A scratch directory for a helper under test: a 1 MiB disk image, the vhost-user socket's
 * path, a console output file and the helper's log. */
struct fe_scratch {
	char dir[256], img[300], sock[300], out[300], log[300];
};
/* Make it under /tmp (tag names the test). -errno on failure. */
int fe_scratch_open(struct fe_scratch *s, const char *tag);
void fe_scratch_close(struct fe_scratch *s);
/* Start a kind's helper from $CARAPACE_BUILD_ROOT/devices on s->sock, with the one file it
 * needs from s (blk: --image, console: --output), its stderr in s->log. Returns pid. */
pid_t fe_spawn_kind(const struct devkind *dk, const struct fe_scratch *s);

/* A counter page for a helper under test (devices/devstats.h), made as the VM process makes it:
 * give the helper `--stats-fd` s->arg. The fd crosses exec until fe_stats_sent() closes ours. */
struct fe_stats {
	int fd;
	const uint64_t *page;
	char arg[16];
};
int fe_stats_open(struct fe_stats *s);
void fe_stats_sent(struct fe_stats *s);
void fe_stats_close(struct fe_stats *s);
/* Counter i as the VM process reads it (devstats_observe). */
uint64_t fe_stats_get(const struct fe_stats *s, unsigned i);
/* Counter i once it has reached want, waiting up to 5 s (a helper may count just after the
 * guest sees the completion); the value then, which the caller checks. */
uint64_t fe_stats_await(const struct fe_stats *s, unsigned i, uint64_t want);

/* Connect (or, with sock NULL, use the connected socket already in e->fe.sock), negotiate,
 * give memory, start nq rings of qsize. -errno with env->err. */
int fe_env_open(struct fe_env *e, const char *sock, uint64_t mem_size, unsigned nq, uint16_t qsize,
		uint64_t want_features, uint64_t want_protocol);
void fe_env_close(struct fe_env *e);
/* Guest buffer allocation (bump, 64-byte aligned). */
uint64_t fe_alloc(struct fe_env *e, uint64_t len);
/* Host address of a guest address inside the environment's memory. */
void *fe_host(struct fe_env *e, uint64_t gpa);

/* One virtio-blk request, synchronous. data is gpa of len bytes (0 for none). */
int fe_blk_rw(struct fe_env *e, unsigned q, uint32_t type, uint64_t sector, uint64_t data_gpa,
	      uint32_t len, uint8_t *status, uint32_t *used_len);

#endif

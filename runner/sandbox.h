/* The VM process's own confinement: per-thread seccomp allowlists (vCPU threads, main/event
 * thread), no capabilities, no new privileges, not dumpable. */
#ifndef CARAPACE_RUNNER_SANDBOX_H
#define CARAPACE_RUNNER_SANDBOX_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"

enum sandbox_mode {
	SANDBOX_ENFORCE, /* a call outside the list kills the whole process (SIGSYS) */
	SANDBOX_LOG,     /* calls outside the list are allowed and logged by the kernel: diagnosis only */
	SANDBOX_OFF,     /* no filter: development only, announced loudly */
};

enum sandbox_thread { SANDBOX_VCPU, SANDBOX_MAIN, SANDBOX_VCPU_CC /* SANDBOX_VCPU + runner/cc's run-time calls */,
		      SANDBOX_QUOTE /* runner/cc's TDX quote thread */,
		      SANDBOX_API /* the management API's HTTP thread (runner/api) */ };

int sandbox_mode_parse(const char *s, enum sandbox_mode *m);
const char *sandbox_mode_name(enum sandbox_mode m);
/* The default: enforce, except in sanitizer builds whose runtime needs calls (ptrace for the
 * leak checker, ...) no production thread makes. */
enum sandbox_mode sandbox_mode_default(void);

/* Process-wide, before any thread is started: no new privileges, drop every capability (effective,
 * permitted, inheritable, ambient, bounding), not dumpable. */
int sandbox_process_lockdown(struct cp_err *err);

/* Before any thread exists and after every file the VM needs is open: a new user and mount
 * namespace whose root is an empty read-only tmpfs (the host's files are out of reach), and
 * rlimits (no core dumps, no more files than now open plus a margin). *why gets the reason
 * when the namespaces are not available (the caller warns and goes on). */
/* Where keep_socket (a UNIX socket the VM must still reach, e.g. the TDX quote generation
 * service) appears inside the empty root; NULL: none. */
#define SANDBOX_KEPT_SOCKET "/service.sock"
int sandbox_process_isolate(const char *keep_socket, char *why, size_t why_len);

/* The one signal the main thread may send its vCPU threads (tgkill): it interrupts KVM_RUN. */
#define SANDBOX_KICK_SIGNAL SIGUSR1

/* What the filters' argument checks accept, known when a thread loads its filter: the device
 * helpers' pids (the main thread's kill), their vhost-user sockets (the vCPU threads'
 * sendmsg/recvmsg/sendto/recvfrom), the children the main thread may collect (wait4: the
 * helpers and the label monitor) and the label monitor's socket (the main thread's sendto).
 * With none, those calls are not allowed at all. */
struct sandbox_targets {
	const pid_t *helper_pids;
	unsigned npids;
	const int *helper_socks;
	unsigned nsocks;
	const pid_t *children;
	unsigned nchildren;
	const int *monitor_socks;
	unsigned nmonitor_socks;
};

/* Load the calling thread's filter (only this thread: no TSYNC). */
int sandbox_thread_apply_targets(enum sandbox_thread which, enum sandbox_mode mode, const struct sandbox_targets *t,
				 struct cp_err *err);
/* The same with no helpers (no kill, no vhost-user socket calls). */
int sandbox_thread_apply(enum sandbox_thread which, enum sandbox_mode mode, struct cp_err *err);

/* The allowlists as a markdown table, for docs/HARDENING.md (tested to match). */
void sandbox_print_policy(FILE *out);

#endif

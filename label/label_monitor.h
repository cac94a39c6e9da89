/* The label monitor (docs/HARDENING.md, "The label monitor"): a small process, forked by the
 * runner before the VM process confines itself, that keeps the right to relabel files by path.
 * It owns this VM's file labels and category claims; the VM process only asks, over a
 * socketpair, from a fixed request table, each request allowed once or only in a given state
 * (OpenSSH's privsep monitor, monitor.c mon_dispatch_proto20[]). A request outside the table, of
 * the wrong size, out of state or repeated cuts the VM process off: the monitor restores every
 * label it set and exits. No path crosses the socket: the monitor labels the paths it was
 * forked with, by slot number. */
#ifndef CARAPACE_LABEL_LABEL_MONITOR_H
#define CARAPACE_LABEL_LABEL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/seccomp_engine.h"
#include "label/label.h"

/* ---- the wire: one fixed-size message per SOCK_SEQPACKET datagram ---- */

enum lmon_req_type {
	LMON_REQ_APPLY = 1,   /* label slot N's file as this VM's (setup only, each slot once) */
	LMON_REQ_SEAL = 2,    /* the VM process enters its empty root: no more APPLY (once) */
	LMON_REQ_RESTORE = 3, /* teardown: put every label back, release the categories (once) */
	LMON_REQ__COUNT,
};

struct lmon_req {
	uint32_t type; /* enum lmon_req_type */
	uint32_t slot; /* APPLY: the slot; 0 for the others */
};

struct lmon_reply {
	int32_t status; /* 0 or -errno (the launch stops on an error in enforcing mode) */
	char msg[CP_ERR_MSG_MAX];
};

enum lmon_state {
	LMON_ST_SETUP,   /* helpers are being started: APPLY, SEAL, RESTORE */
	LMON_ST_SEALED,  /* the VM process is confined: RESTORE only */
	LMON_ST_DONE,    /* restored: the monitor exits */
	LMON_ST_CUT,     /* a protocol violation: restored, the VM process cut off */
	LMON_ST__COUNT,
};

/* Slots (one per device) and requests are bounded by these. */
#define LMON_MAX_SLOTS 32

const char *lmon_state_name(enum lmon_state s);

/* The typed reader: exactly sizeof(struct lmon_req) bytes, a type in the table, a slot below
 * nslots for APPLY and 0 otherwise. -EPROTO (message named in err) for anything else. */
int lmon_req_read(const void *buf, size_t len, unsigned nslots, struct lmon_req *out, struct cp_err *err);

/* ---- the state machine (pure: the work is behind two callbacks) ---- */

struct lmon_actions {
	int (*apply)(void *ctx, unsigned slot, struct cp_err *err);
	int (*restore)(void *ctx, struct cp_err *err); /* every label back, the categories released */
};

struct lmon_core {
	enum lmon_state state;
	unsigned nslots;
	uint32_t once_used; /* bit per request type */
	uint64_t applied;   /* bit per slot */
	bool restored;
	const struct lmon_actions *act;
	void *ctx;
};

void lmon_core_init(struct lmon_core *c, unsigned nslots, const struct lmon_actions *act, void *ctx);
/* Answer one request read by lmon_req_read. Returns 0 with *status set to the action's result
 * (the reply), or -EPROTO when the request is not allowed now: the caller cuts the peer off
 * (lmon_core_cut). */
int lmon_core_dispatch(struct lmon_core *c, const struct lmon_req *r, int *status, struct cp_err *err);
/* The peer is cut off or gone: restore (once) and enter LMON_ST_CUT. */
void lmon_core_cut(struct lmon_core *c);

/* ---- the process (label/label_monitor_proc.c) ---- */

/* What the monitor may label: slot i is device i; path NULL = nothing to label for it. */
struct label_monitor_slot {
	const char *path;
	enum label_object obj;
};

struct label_monitor {
	pid_t pid; /* -1: not running */
	int sock;
	int exit_status; /* after label_monitor_finish: what label_monitor_serve returned, -1 if unknown */
};

/* ---- its confinement (label/label_monitor_filter.c) ---- */

/* The monitor's seccomp filter follows the VM process's mode (runner/sandbox.h): kill on a call
 * outside its list, log it (diagnosis, sanitizer builds), or none (--seccomp off). */
enum lmon_filter { LMON_FILTER_KILL, LMON_FILTER_LOG, LMON_FILTER_OFF };

/* Its allowlist, on top of the engine's base (docs/HARDENING.md prints it). */
extern const struct sce_list lmon_seccomp_list;

/* Load the monitor's filter in the calling (single-threaded) process: no_new_privs, then the
 * engine's base + lmon_seccomp_list with every fd argument bound to fds[] (what it was forked
 * with). The monitor calls it after closing every other fd and before its first request. */
int label_monitor_confine(const int *fds, unsigned nfds, enum lmon_filter f, struct cp_err *err);

/* Fork the monitor. It takes over the category claims (claims: the VM process's copies are
 * closed, without releasing, when this returns) and the session's file-labelling work. Every
 * other fd of the caller is closed in the monitor, which then confines itself (filter) before
 * it reads a request; if it cannot, it exits and every request to it fails. */
int label_monitor_start(struct label_monitor *m, const struct label_session *s, struct label_mcs_claims *claims,
			const struct label_mcs_pair *pair, const struct label_monitor_slot *slots, unsigned nslots,
			enum lmon_filter filter, struct cp_err *err);
int label_monitor_apply(struct label_monitor *m, unsigned slot, struct cp_err *err);
int label_monitor_seal(struct label_monitor *m, struct cp_err *err);
/* Teardown: RESTORE, then collect the monitor (waitpid). Safe on a monitor never started. */
int label_monitor_finish(struct label_monitor *m, struct cp_err *err);

/* The monitor's side, exposed for tests: serve requests on sock until done or cut off; returns
 * the process's exit status (0 done or peer gone after a restore, 2 cut off). */
int label_monitor_serve(int sock, struct lmon_core *c);

#endif

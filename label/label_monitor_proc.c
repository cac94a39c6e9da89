/* The label monitor's process: forked by the runner before the VM process confines itself, it
 * keeps the host's file system view and the category claims, labels device files when asked
 * (by slot, never by a path the VM process sends) and restores them at teardown or when the VM
 * process goes away. It trusts nothing it reads from the socket beyond lmon_req_read's checks. */
#include "label/label_monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

/* The monitor's own state, in the forked copy of the runner's memory. */
struct lmon_proc {
	struct label_session session;
	struct label_mcs_claims *claims;
	struct label_mcs_pair pair;
	bool have_pair;
	const struct label_monitor_slot *slots;
	unsigned nslots;
	struct label_saved saved[LMON_MAX_SLOTS];
};

static int lmon_proc_apply(void *ctx, unsigned slot, struct cp_err *err)
{
	struct lmon_proc *p = ctx;

	if (!p->slots[slot].path)
		return cp_err_set(err, EINVAL, "label monitor: slot %u has no file to label", slot);
	return label_session_file_apply(&p->session, p->slots[slot].path, p->slots[slot].obj, &p->pair,
					&p->saved[slot], err);
}

static int lmon_proc_restore(void *ctx, struct cp_err *err)
{
	struct lmon_proc *p = ctx;
	int ret = 0, r;

	for (unsigned i = 0; i < p->nslots; i++)
		if ((r = label_session_file_restore(&p->session, &p->saved[i], err)) < 0 && !ret)
			ret = r;
	if (p->have_pair && p->claims) {
		(void)label_claims_release(p->claims, &p->pair, NULL);
		label_claims_close(p->claims);
		p->have_pair = false;
	}
	return ret;
}

static const struct lmon_actions lmon_proc_actions = {
	.apply = lmon_proc_apply,
	.restore = lmon_proc_restore,
};

int label_monitor_serve(int sock, struct lmon_core *c)
{
	/* One byte more than a request: a longer datagram shows as too long, not truncated to fit. */
	uint8_t buf[sizeof(struct lmon_req) + 1];

	for (;;) {
		struct cp_err err = { 0 };
		struct lmon_reply rep;
		struct lmon_req req;
		int status = 0;
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The VM process is gone (or the socket broke) without a RESTORE: restore anyway. */
			lmon_core_cut(c);
			return 1;
		}
		if (lmon_req_read(buf, (size_t)n, c->nslots, &req, &err) < 0 ||
		    lmon_core_dispatch(c, &req, &status, &err) < 0) {
			fprintf(stderr, "carapace: %s: the VM process is cut off, its labels restored\n", err.msg);
			lmon_core_cut(c);
			return 2;
		}
		memset(&rep, 0, sizeof(rep));
		rep.status = status;
		snprintf(rep.msg, sizeof(rep.msg), "%s", status < 0 ? err.msg : "");
		if (send(sock, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep)) {
			lmon_core_cut(c);
			return 1;
		}
		if (c->state == LMON_ST_DONE)
			return 0;
	}
}

int label_monitor_start(struct label_monitor *m, const struct label_session *s, struct label_mcs_claims *claims,
			const struct label_mcs_pair *pair, const struct label_monitor_slot *slots, unsigned nslots,
			enum lmon_filter filter, struct cp_err *err)
{
	int sv[2];
	pid_t pid;

	m->pid = -1;
	m->sock = -1;
	m->exit_status = -1;
	if (nslots > LMON_MAX_SLOTS)
		return cp_err_set(err, E2BIG, "label monitor: %u slots (at most %d)", nslots, LMON_MAX_SLOTS);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cp_err_set(err, errno, "label monitor: socketpair: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return cp_err_set(err, e, "label monitor: fork: %s", strerror(e));
	}
	if (pid == 0) {
		static struct lmon_proc p; /* the child's only instance */
		struct lmon_core core;
		int keep[2 + LABEL_CLAIMS_MAX];
		unsigned nk = 0;

		/* Ctrl-C reaches the whole process group: the runner ends the VM and asks for the
		 * restore; the monitor must live until then (or until the VM process is gone). */
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		prctl(PR_SET_NAME, "label-monitor", 0, 0, 0);
		close(sv[0]);
		keep[nk++] = sv[1];
		if (claims && claims->dirfd >= 0) {
			keep[nk++] = claims->dirfd;
			for (size_t i = 0; i < claims->n; i++)
				keep[nk++] = claims->held[i].fd;
		}
		cp_close_fds_except(keep, nk);
		/* Confined before the first request: from here on it can only answer its table. */
		{
			struct cp_err cerr = { 0 };
			if (label_monitor_confine(keep, nk, filter, &cerr) < 0) {
				fprintf(stderr, "carapace: %s: the label monitor does not serve\n", cerr.msg);
				_exit(3);
			}
		}
		p.session = *s;
		p.claims = claims;
		p.have_pair = claims && claims->dirfd >= 0;
		p.pair = pair ? *pair : (struct label_mcs_pair){ 0, 0 };
		p.slots = slots;
		p.nslots = nslots;
		lmon_core_init(&core, nslots, &lmon_proc_actions, &p);
		_exit(label_monitor_serve(sv[1], &core));
	}
	close(sv[1]);
	m->pid = pid;
	m->sock = sv[0];
	/* The claims are the monitor's now: the VM process's copies go, the locks stay (shared). */
	if (claims) {
		for (size_t i = 0; i < claims->n; i++)
			close(claims->held[i].fd);
		claims->n = 0;
		if (claims->dirfd >= 0)
			close(claims->dirfd);
		claims->dirfd = -1;
	}
	return 0;
}

static int lmon_call(struct label_monitor *m, enum lmon_req_type type, unsigned slot, struct cp_err *err)
{
	struct lmon_req req = { .type = type, .slot = slot };
	struct lmon_reply rep;
	ssize_t n;

	if (m->sock < 0)
		return cp_err_set(err, EPIPE, "label monitor: not running");
	/* MSG_NOSIGNAL: a monitor that cut us off is an error to report, not a SIGPIPE. */
	if (send(m->sock, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
		return cp_err_set(err, EPIPE, "label monitor: request lost: %s", strerror(errno));
	do
		n = read(m->sock, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rep))
		return cp_err_set(err, EPIPE, "label monitor: no answer (it cut this process off)");
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (rep.status > 0 || rep.status < -4095)
		return cp_err_set(err, EPROTO, "label monitor: answer status %d", rep.status);
	if (rep.status < 0)
		return cp_err_set(err, -rep.status, "%s", rep.msg);
	return 0;
}

int label_monitor_apply(struct label_monitor *m, unsigned slot, struct cp_err *err)
{
	return lmon_call(m, LMON_REQ_APPLY, slot, err);
}

int label_monitor_seal(struct label_monitor *m, struct cp_err *err)
{
	return lmon_call(m, LMON_REQ_SEAL, 0, err);
}

int label_monitor_finish(struct label_monitor *m, struct cp_err *err)
{
	int r = 0, st = 0;

	if (m->pid <= 0 && m->sock < 0)
		return 0;
	if (m->sock >= 0) {
		r = lmon_call(m, LMON_REQ_RESTORE, 0, err);
		close(m->sock);
		m->sock = -1;
	}
	/* The socket is closed: a monitor that was still waiting sees EOF, restores and exits. */
	m->exit_status = -1;
	if (m->pid > 0) {
		pid_t w;
		do
			w = waitpid(m->pid, &st, 0);
		while (w < 0 && errno == EINTR);
		if (w == m->pid && WIFEXITED(st))
			m->exit_status = WEXITSTATUS(st);
	}
	m->pid = -1;
	return r;
}

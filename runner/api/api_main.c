/* The API's OS shell: an HTTP/1.1 server (libmicrohttpd) on a UNIX socket in its own thread under
 * its own seccomp list, and the controller (the main thread) that opens the logger and metrics
 * files and runs the VM as a child `carapace run` process built from the same options the command
 * line takes, steered over a control socket (pause, resume, Ctrl-Alt-Del).
 *
 * Trust: the API thread parses what any local client with access to the socket sends; it only
 * reads and writes sockets, its own eventfds and the log file, and hands every other step to the
 * controller through api_core's transaction (nothing is applied before the step succeeded). */
#include "runner/api/api_main.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/util.h"
#include "policy/policy.h"
#include "runner/api/api_core.h"
#include "runner/sandbox.h"

#define API_MAX_CONNECTIONS 16
#define API_CONNECTION_TIMEOUT_S 30
/* Firecracker writes its metrics every 60 s besides FlushMetrics (vmm: WRITE_METRICS_PERIOD_MS). */
#define API_METRICS_PERIOD_S 60
/* How long a metrics line waits for the VM process's vCPU counters before it goes without them. */
#define API_VM_METRICS_WAIT_MS 500
/* How long the VM process has to end once its control channel closed (its VM ending, or the
 * controller cutting it off) before it is killed: a VM process the guest took over may ignore
 * its controller's end, and carapace must still stop. Its own teardown (vCPUs, helpers, the stop
 * record) takes well under a second on a real host. */
#define API_VM_END_GRACE_MS 10000

struct srv {
	pthread_mutex_t mu;        /* the API state and the work slot */
	pthread_cond_t cv;
	struct api_state st;
	struct api_txn *work;      /* a step the controller must do; NULL when none */
	bool work_done;
	char failure[CP_ERR_MSG_MAX + 128];
	bool failed;
	int work_efd, stop_efd;
	struct MHD_Daemon *mhd;
	int listen_fd;
	pthread_t thread;
	bool thread_started;
	/* the controller's */
	pid_t child;
	int ctl_fd, err_fd;
	char errbuf[2048];
	size_t errlen;
	char last_err[512];
	int start_status;          /* the exit status of a VM process that ended before it ran */
	/* The VM process's vCPU counters (runner/api/api_ctl.h), read on the controller only. */
	bool vm_ran;               /* InstanceStart succeeded: a VM process has counted */
	unsigned vm_vcpus;         /* its configured vCPUs: a record's upper bound */
	enum devkind_id vm_kinds[API_DEVICES_MAX]; /* its devices' kinds, in its order */
	unsigned vm_ndevs;
	struct api_vm_metrics vm_metrics; /* the last record accepted */
	bool have_vm_metrics;
	struct api_metrics_mark metrics_mark; /* the totals the last metrics line written covered */
	struct api_startup_times startup;     /* Firecracker's api_server group */
	unsigned metrics_asked;    /* requests not answered yet: a late answer is still taken */
	bool ctl_cut;              /* the VM process sent a bad message: its channel is shut down */
	char *attest_body;         /* the evidence an API_ACT_ATTEST produced, for its 200 reply */
	struct policy pol;         /* the launch policy as InstanceStart found it: it judges swapped drives */
	bool have_pol;
	char pol_err[CP_ERR_MSG_MAX];
	int sig_fd;                /* SIGINT/TERM/HUP, also while a start is awaited */
	int stop_sig;              /* such a signal came during a start: carapace ends after it */
	pthread_mutex_t log_mu;
	int log_fd, metrics_fd;
	enum api_log_level level;
	bool show_level, show_origin;
	bool api_log_default_stderr;
	const char *api_sock;
	const char *test_hook;
};

/* ---- logging as Firecracker writes it: "<UTC time> [<id>:<thread>(:<level>)(:<origin>)] <msg>" ---- */

static void api_log(struct srv *s, enum api_log_level lvl, const char *thread, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void api_log(struct srv *s, enum api_log_level lvl, const char *thread, const char *origin, const char *fmt, ...)
{
	char msg[1024], line[1400], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int fd, n;

	pthread_mutex_lock(&s->log_mu);
	fd = s->log_fd >= 0 ? s->log_fd : (s->api_log_default_stderr ? STDERR_FILENO : -1);
	if (fd < 0 || lvl == API_LOG_OFF || lvl > s->level) {
		pthread_mutex_unlock(&s->log_mu);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%09ld [%s:%s%s%s%s%s] %s\n", ts, now.tv_nsec, s->st.id, thread,
		     s->show_level ? ":" : "", s->show_level ? api_log_level_name(lvl) : "", s->show_origin ? ":" : "",
		     s->show_origin ? origin : "", msg);
	if (n > (int)sizeof(line))
		n = (int)sizeof(line);
	(void)!write(fd, line, (size_t)n); /* a full FIFO loses the line, never blocks the API */
	pthread_mutex_unlock(&s->log_mu);
}

/* ---- the controller's steps ---- */

static int open_sink(const char *path, int *fd, char *why, size_t why_len)
{
	/* Read-write and non-blocking, as Firecracker opens its log and metrics FIFOs: the open does
	 * not wait for a reader, and a write to a full FIFO fails instead of stalling. */
	int f = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (f < 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	*fd = f;
	return 0;
}

/* ---- the VM process's control channel (the controller's thread only) ---- */

enum ctl_got { CTL_GONE, CTL_TIMEOUT, CTL_REPLY, CTL_METRICS };

/* A message from the VM process failed its check: the process is no longer trusted. The
 * channel is shut down both ways; the VM process sees the hang-up and ends its VM (as when the
 * controller goes away), and the controller's loop collects it. */
static void ctl_cut_off(struct srv *s, const char *why)
{
	s->ctl_cut = true;
	(void)shutdown(s->ctl_fd, SHUT_RDWR);
	fprintf(stderr, "carapace: %s: the VM process's control channel is cut off\n", why);
	api_log(s, API_LOG_ERROR, "main", "runner/api/api_main.c", "%s: the VM process's control channel is cut off.",
		why);
}

/* CLOCK_MONOTONIC now plus ms (ms <= 0: now): a deadline for ms_left. */
static struct timespec deadline_in(int ms)
{
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	if (ms > 0) {
		end.tv_sec += ms / 1000;
		end.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (end.tv_nsec >= 1000000000L)
			end.tv_sec++, end.tv_nsec -= 1000000000L;
	}
	return end;
}

static int ms_left(const struct timespec *end)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* The one reader of what the VM process sends after it started. A metrics record is judged
 * (api_vm_metrics_read) and kept whatever the caller waits for: the answer to a request that timed
 * out may come late, and the last record (FINAL) comes unasked as the VM ends. A record nobody
 * asked for, a bad record, or a reply while only metrics are awaited cuts the VM process off.
 * timeout_ms < 0: wait for ever (the one-byte requests, as before). Returns CTL_REPLY with the
 * reply's first bytes in reply/len, CTL_METRICS when want_metrics and the counters came (in
 * s->vm_metrics), CTL_TIMEOUT, or CTL_GONE (closed or cut off). */
static enum ctl_got ctl_recv(struct srv *s, char *reply, size_t cap, size_t *len, int timeout_ms, bool want_metrics)
{
	const struct timespec end = deadline_in(timeout_ms);

	for (;;) {
		uint8_t buf[API_VM_METRICS_MAX + 1];
		struct api_vm_metrics m;
		struct cp_err err = { 0 };
		ssize_t n;

		if (s->ctl_fd < 0 || s->ctl_cut)
			return CTL_GONE;
		if (timeout_ms >= 0) {
			struct pollfd p = { .fd = s->ctl_fd, .events = POLLIN };
			int r = poll(&p, 1, ms_left(&end));
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				return CTL_TIMEOUT;
			if (r < 0)
				return CTL_GONE;
		}
		/* MSG_TRUNC: n is the message's real length, so an oversized one is seen as such. */
		n = recv(s->ctl_fd, buf, sizeof(buf), MSG_TRUNC | (timeout_ms >= 0 ? MSG_DONTWAIT : 0));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return CTL_GONE;
		if (buf[0] != API_CTL_METRICS) {
			if (want_metrics) {
				ctl_cut_off(s, "a reply nobody asked for came instead of the metrics record");
				return CTL_GONE;
			}
			*len = (size_t)n < cap ? (size_t)n : cap;
			memcpy(reply, buf, *len < sizeof(buf) ? *len : sizeof(buf));
			return CTL_REPLY;
		}
		if (api_vm_metrics_read(buf, (size_t)n, s->vm_vcpus, s->vm_kinds, s->vm_ndevs,
					s->have_vm_metrics ? &s->vm_metrics : NULL, &m,
					&err) < 0) {
			ctl_cut_off(s, err.msg);
			return CTL_GONE;
		}
		if (!m.final) {
			if (!s->metrics_asked) {
				ctl_cut_off(s, "metrics record: an answer nobody asked for");
				return CTL_GONE;
			}
			s->metrics_asked--;
		}
		s->vm_metrics = m;
		s->have_vm_metrics = true;
		if (want_metrics && (m.final || !s->metrics_asked))
			return CTL_METRICS;
		/* a late answer to an earlier request, or the last record while a reply is awaited:
		 * kept, and the wait goes on */
	}
}

/* The vCPU counters for a metrics line, or NULL when they are not known (the log says why):
 * asked of the VM process, which has API_VM_METRICS_WAIT_MS to answer. */
static const struct api_vm_metrics *vm_metrics(struct srv *s)
{
	static const struct api_vm_metrics zero;
	const char req = API_CTL_METRICS;

	if (!s->vm_ran)
		return &zero; /* no vCPU has run: every count is 0 */
	if (s->have_vm_metrics && s->vm_metrics.final)
		return &s->vm_metrics;
	if (!s->child || s->ctl_cut) {
		api_log(s, API_LOG_WARNING, "main", "runner/api/api_main.c", "The VM process ended without its last vCPU "
			"counters: this metrics line has no vcpu group.");
		return NULL;
	}
	if (send(s->ctl_fd, &req, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
		api_log(s, API_LOG_WARNING, "main", "runner/api/api_main.c", "The metrics request to the VM process "
			"failed (%s): this metrics line has no vcpu group.", strerror(errno));
		return NULL;
	}
	s->metrics_asked++;
	switch (ctl_recv(s, NULL, 0, NULL, API_VM_METRICS_WAIT_MS, true)) {
	case CTL_METRICS:
		return &s->vm_metrics;
	case CTL_TIMEOUT:
		api_log(s, API_LOG_WARNING, "main", "runner/api/api_main.c", "The VM process did not answer the metrics "
			"request within %d ms: this metrics line has no vcpu group.", API_VM_METRICS_WAIT_MS);
		return NULL;
	default:
		api_log(s, API_LOG_WARNING, "main", "runner/api/api_main.c", "The VM process is gone or cut off: this "
			"metrics line has no vcpu group.");
		return NULL;
	}
}

/* Write one metrics line; vm: the vCPU counters (vm_metrics), NULL if not known. Each counter is
 * its change since the last line written whole; a line that could not be (a FIFO without a
 * reader) moves no mark, so the next line carries its counts. */
static void flush_metrics(struct srv *s, const struct api_vm_metrics *vm)
{
	struct api_metrics_mark next;
	struct timespec now;
	char *line;

	if (s->metrics_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	line = api_metrics_line(&s->st, vm, &s->startup, &s->metrics_mark, &next,
				(uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
	if (line) {
		size_t n = strlen(line);
		ssize_t w;
		line[n] = '\n';
		w = write(s->metrics_fd, line, n + 1);
		if (w == (ssize_t)(n + 1))
			s->metrics_mark = next;
		else
			api_log(s, API_LOG_WARNING, "main", "runner/api/api_main.c", "A metrics line was not written (%s): "
				"the next one carries its counts.", w < 0 ? strerror(errno) : "written in part");
		free(line);
	}
}

/* When carapace started (CLOCK_MONOTONIC, before main): the origin of api_server's startup times. */
static struct timespec process_start;

__attribute__((constructor)) static void note_process_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &process_start);
}

static uint64_t ts_us(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000u + (uint64_t)t->tv_nsec / 1000u;
}

/* Forward the VM process's stderr: to ours as it is, into the log, and keep the last line for a
 * failed start's fault message. */
static void drain_child_stderr(struct srv *s, bool final)
{
	for (;;) {
		ssize_t r = read(s->err_fd, s->errbuf + s->errlen, sizeof(s->errbuf) - 1 - s->errlen);
		char *nl;
		if (r <= 0)
			break;
		s->errlen += (size_t)r;
		while ((nl = memchr(s->errbuf, '\n', s->errlen)) || s->errlen == sizeof(s->errbuf) - 1) {
			size_t n = nl ? (size_t)(nl - s->errbuf) : s->errlen;
			s->errbuf[n] = '\0';
			fprintf(stderr, "%s\n", s->errbuf);
			api_log(s, API_LOG_INFO, "vmm", "runner/cli_run.c", "%s", s->errbuf);
			if (n)
				snprintf(s->last_err, sizeof(s->last_err), "%.500s", s->errbuf);
			n = nl ? n + 1 : n;
			memmove(s->errbuf, s->errbuf + n, s->errlen - n);
			s->errlen -= n;
		}
		if (!final)
			break;
	}
}

static char **child_argv(struct srv *s, const struct api_config *c, struct cp_err *err)
{
	char **opts = NULL, **argv;
	size_t n = 0, k = 0;

	/* Every setting, extensions included, through the one conversion (api_config_to_options). */
	if (api_config_to_options(c, &opts, err) < 0)
		return NULL;
	while (opts[n])
		n += 2;
	argv = calloc(n + 10, sizeof(char *));
	if (!argv) {
		api_options_free(opts);
		cp_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	argv[k++] = strdup("carapace");
	argv[k++] = strdup("run");
	for (size_t i = 0; i < n; i += 2) {
		char **o = opts + i;
		size_t len = strlen(o[0]) + 3;
		argv[k] = malloc(len);
		if (argv[k])
			snprintf(argv[k], len, "--%s", o[0]);
		k++;
		if (o[1])
			argv[k++] = strdup(o[1]);
	}
	argv[k++] = strdup("--name");
	argv[k++] = strdup(s->st.id);
	argv[k++] = strdup("--api-control-fd");
	argv[k++] = strdup("3");
#ifdef CARAPACE_TEST_HOOKS
	/* test builds: a hook named vm-... makes the VM process misbehave (runner/vm.c) */
	if (s->test_hook && !strncmp(s->test_hook, "vm-", 3)) {
		argv[k++] = strdup("--test-hook");
		argv[k++] = strdup(s->test_hook);
	}
#endif
	api_options_free(opts);
	for (size_t i = 0; i < k; i++)
		if (!argv[i]) {
			for (size_t j = 0; j < k; j++)
				free(argv[j]);
			free(argv);
			cp_err_set(err, ENOMEM, "out of memory");
			return NULL;
		}
	return argv;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* Exit status of a reaped child as `carapace run` reports it. */
static int child_status(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : CP_EXIT_FAILURE;
}

/* InstanceStart: fork + exec `carapace run` with the configuration's options and wait for it to
 * say the VM runs (or to end). */
static int start_vm(struct srv *s, const struct api_config *c, char *why, size_t why_len)
{
	struct cp_err err = { 0 };
	char **argv = child_argv(s, c, &err);
	int sp[2], ep[2];
	sigset_t none;
	pid_t pid;

	if (!argv) {
		snprintf(why, why_len, "InstanceStart: %s", err.msg);
		return -EINVAL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		snprintf(why, why_len, "InstanceStart: socketpair: %s", strerror(errno));
		free_argv(argv);
		return -errno;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "InstanceStart: pipe: %s", strerror(errno));
		close(sp[0]), close(sp[1]);
		free_argv(argv);
		return -errno;
	}
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls until exec: the parent has other threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sp[1], 3) < 0 || dup2(ep[1], STDERR_FILENO) < 0)
			_exit(CP_EXIT_FAILURE);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free_argv(argv);
	close(sp[1]);
	close(ep[1]);
	if (pid < 0) {
		snprintf(why, why_len, "InstanceStart: fork: %s", strerror(errno));
		close(sp[0]), close(ep[0]);
		return -EAGAIN;
	}
	s->child = pid;
	s->ctl_fd = sp[0];
	s->err_fd = ep[0];
	fcntl(s->err_fd, F_SETFL, O_NONBLOCK);
	s->last_err[0] = '\0';
	for (;;) {
		struct pollfd p[3] = { { .fd = s->ctl_fd, .events = POLLIN }, { .fd = s->err_fd, .events = POLLIN },
				       { .fd = s->sig_fd, .events = POLLIN } };
		char b = 0;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			drain_child_stderr(s, false);
		if (p[2].revents) {
			/* Stopped while starting: the VM process is told, and its end is the start's failure. */
			struct signalfd_siginfo si;
			if (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				kill(pid, (int)si.ssi_signo);
				s->stop_sig = (int)si.ssi_signo;
			}
		}
		if (!p[0].revents)
			continue;
		if (read(s->ctl_fd, &b, 1) == 1 && b == 'S') {
			struct api_device devs[API_DEVICES_MAX];
			s->vm_ran = true;
			s->vm_vcpus = c->vcpus;
			s->vm_ndevs = api_config_devices(c, devs);
			for (unsigned i = 0; i < s->vm_ndevs; i++)
				s->vm_kinds[i] = devs[i].kind;
			return 0;
		}
		break;
	}
	/* It ended before the VM ran: its last message says why (a launch policy's refusal too). */
	{
		int ws = 0;
		drain_child_stderr(s, true);
		(void)waitpid(pid, &ws, 0);
		s->child = 0;
		close(s->ctl_fd), close(s->err_fd);
		s->ctl_fd = s->err_fd = -1;
		s->start_status = child_status(ws);
		snprintf(why, why_len, "InstanceStart: the VM did not start (exit status %d): %s", child_status(ws),
			 s->last_err[0] ? s->last_err : "no message");
	}
	return -EIO;
}

/* Evidence for a nonce: `carapace attest --vm ID --nonce HEX -o -` (the same path as the command
 * line), its standard output (at most the evidence format's 8 MiB) becomes the reply. */
#define API_EVIDENCE_MAX (8u << 20)
static int attest_vm(struct srv *s, const struct api_config *c, const char *nonce, char *why, size_t why_len)
{
	char pcr[16];
	const char *argv[16];
	int k = 0, op[2], ep[2], ws = 0;
	size_t len = 0, cap = 0;
	char *out = NULL, errtxt[512] = "";
	size_t elen = 0;
	pid_t pid;

	argv[k++] = "carapace";
	argv[k++] = "attest";
	argv[k++] = "--vm";
	argv[k++] = s->st.id;
	argv[k++] = "--nonce";
	argv[k++] = nonce;
	argv[k++] = "-o";
	argv[k++] = "-";
	if (c->tcti)
		argv[k++] = "--tcti", argv[k++] = c->tcti;
	if (c->state_dir)
		argv[k++] = "--state-dir", argv[k++] = c->state_dir;
	if (c->pcr) {
		snprintf(pcr, sizeof(pcr), "%u", c->pcr);
		argv[k++] = "--pcr", argv[k++] = pcr;
	}
	argv[k] = NULL;
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "attestation: pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(op[1], STDOUT_FILENO) < 0 || dup2(ep[1], STDERR_FILENO) < 0)
			_exit(CP_EXIT_FAILURE);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	if (pid < 0) {
		close(op[0]), close(ep[0]);
		snprintf(why, why_len, "attestation: fork: %s", strerror(errno));
		return -EAGAIN;
	}
	for (bool o_open = true, e_open = true; o_open || e_open;) {
		struct pollfd p[2] = { { .fd = o_open ? op[0] : -1, .events = POLLIN }, { .fd = e_open ? ep[0] : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			if (len + 65536 > cap && cap <= API_EVIDENCE_MAX) {
				char *n = realloc(out, cap + 65536 + 1);
				if (n)
					out = n, cap += 65536;
			}
			ssize_t r = len < cap ? read(op[0], out + len, cap - len) : -1;
			if (r <= 0) {
				/* the end, or past the limit: closing makes a writer that goes on fail */
				o_open = false;
				close(op[0]);
				op[0] = -1;
			} else {
				len += (size_t)r;
			}
		}
		if (p[1].revents) {
			ssize_t r = elen < sizeof(errtxt) - 1 ? read(ep[0], errtxt + elen, sizeof(errtxt) - 1 - elen) : 0;
			if (r <= 0) {
				char sink[256];
				if (r == 0 && elen == sizeof(errtxt) - 1 && read(ep[0], sink, sizeof(sink)) > 0)
					continue; /* keep draining, keep the first part */
				e_open = false;
			} else {
				elen += (size_t)r;
			}
		}
	}
	if (op[0] >= 0)
		close(op[0]);
	close(ep[0]);
	if (len > API_EVIDENCE_MAX)
		kill(pid, SIGKILL); /* it wrote more than any evidence can be: stop it */
	(void)waitpid(pid, &ws, 0);
	errtxt[elen] = '\0';
	if (child_status(ws) != 0 || !len || len > API_EVIDENCE_MAX) {
		char *nl;
		while (elen && errtxt[elen - 1] == '\n')
			errtxt[--elen] = '\0';
		nl = strrchr(errtxt, '\n');
		snprintf(why, why_len, "attestation: carapace attest failed (exit status %d): %s", child_status(ws),
			 len > API_EVIDENCE_MAX ? "the evidence is larger than 8 MiB" : nl ? nl + 1 : elen ? errtxt : "no message");
		free(out);
		return -EIO;
	}
	out[len] = '\0';
	free(s->attest_body);
	s->attest_body = out;
	return 0;
}

/* One byte to the VM process, one back. */
static int vm_control(struct srv *s, char cmd, const char *what, char *why, size_t why_len)
{
	char b = 0;
	size_t n = 0;
	if (s->ctl_fd < 0 || s->ctl_cut || write(s->ctl_fd, &cmd, 1) != 1 ||
	    ctl_recv(s, &b, 1, &n, -1, false) != CTL_REPLY || n != 1) {
		snprintf(why, why_len, "%s: the VM process is gone", what);
		return -EPIPE;
	}
	if (b != 'k') {
		snprintf(why, why_len, "%s: %s", what,
			 cmd == 'C' ? "the guest has not read the keys of the previous Ctrl-Alt-Del yet (the i8042's "
				      "buffer is full)"
				    : "refused by the VM process");
		return -ENOTSUP;
	}
	return 0;
}

/* PATCH /drives/{id} with path_on_host (block hot-plug): open the file as the drive's
 * is_read_only says (a FIFO is refused without blocking), let the launch policy judge the file
 * that was opened, and hand the fd to the VM process, which gives it to the drive's jailed helper.
 * The helper validates it too and answers; a refusal anywhere leaves the old file serving. */
static int swap_drive(struct srv *s, const struct api_txn *t, char *why, size_t why_len)
{
	const struct api_drive *d = &t->cfg.drives[t->drive];
	unsigned idx = api_drive_device_index(&t->cfg, t->drive);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t msg[2] = { 'D', (uint8_t)idx };
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	char real[4096], reply[256];
	struct policy_violation v;
	struct cp_err err = { 0 };
	struct cmsghdr *c;
	_cleanup_close_ int fd = -1;
	size_t n = 0;

	if (cp_file_open_checked(d->path, d->read_only ? O_RDONLY : O_RDWR, true, &fd, real, sizeof(real), &err) < 0) {
		snprintf(why, why_len, "PATCH /drives/%s: path_on_host: %s", d->id, err.msg);
		return -EINVAL;
	}
	if (t->cfg.policy && !s->have_pol) {
		snprintf(why, why_len, "PATCH /drives/%s: path_on_host: the launch policy cannot judge it: %s", d->id,
			 s->pol_err[0] ? s->pol_err : "not read");
		return -EPERM;
	}
	if (t->cfg.policy && policy_eval_blk_image(&s->pol, idx, real, d->read_only, &v) < 0) {
		snprintf(why, why_len, "PATCH /drives/%s: path_on_host: refused by launch policy '%s': %s", d->id,
			 s->pol.name, v.msg);
		return -EPERM;
	}
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (s->ctl_fd < 0 || s->ctl_cut || sendmsg(s->ctl_fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg) ||
	    ctl_recv(s, reply, sizeof(reply) - 1, &n, -1, false) != CTL_REPLY || n == 0) {
		snprintf(why, why_len, "PATCH /drives/%s: the VM process is gone", d->id);
		return -EPIPE;
	}
	reply[n] = '\0';
	if (reply[0] != 'k') {
		snprintf(why, why_len, "PATCH /drives/%s: path_on_host: %.200s: %.240s", d->id, real, reply + 1);
		return -EINVAL;
	}
	return 0;
}

static void do_work(struct srv *s, struct api_txn *t)
{
	char why[sizeof(s->failure)];
	int r = 0;

	why[0] = '\0';
	switch (t->action) {
	case API_ACT_OPEN_LOGGER: {
		int fd = -1;
		r = open_sink(t->cfg.log_path, &fd, why, sizeof(why));
		if (r == 0) {
			pthread_mutex_lock(&s->log_mu);
			if (s->log_fd >= 0)
				close(s->log_fd);
			s->log_fd = fd;
			s->level = t->cfg.level;
			s->show_level = t->cfg.show_level;
			s->show_origin = t->cfg.show_origin;
			pthread_mutex_unlock(&s->log_mu);
		} else {
			char m[sizeof(why)];
			snprintf(m, sizeof(m), "log_path: %s", why);
			snprintf(why, sizeof(why), "%s", m);
		}
		break;
	}
	case API_ACT_OPEN_METRICS:
		r = open_sink(t->cfg.metrics_path, &s->metrics_fd, why, sizeof(why));
		if (r < 0) {
			char m[sizeof(why)];
			snprintf(m, sizeof(m), "metrics_path: %s", why);
			snprintf(why, sizeof(why), "%s", m);
		}
		break;
	case API_ACT_FLUSH_METRICS:
		flush_metrics(s, s->metrics_fd >= 0 ? vm_metrics(s) : NULL);
		break;
	case API_ACT_START:
		r = start_vm(s, &t->cfg, why, sizeof(why));
		/* The policy the VM was judged by judges the drives swapped in later (its file as it
		 * was when the VM started). */
		if (r == 0 && t->cfg.policy) {
			struct cp_err perr = { 0 };
			s->have_pol = policy_load_file(t->cfg.policy, &s->pol, &perr) == 0;
			snprintf(s->pol_err, sizeof(s->pol_err), "%s", s->have_pol ? "" : perr.msg);
		}
		break;
	case API_ACT_SWAP_DRIVE:
		r = swap_drive(s, t, why, sizeof(why));
		break;
	case API_ACT_PAUSE:
		r = vm_control(s, 'P', "Paused", why, sizeof(why));
		break;
	case API_ACT_RESUME:
		r = vm_control(s, 'R', "Resumed", why, sizeof(why));
		break;
	case API_ACT_CTRL_ALT_DEL:
		r = vm_control(s, 'C', "SendCtrlAltDel", why, sizeof(why));
		break;
	case API_ACT_ATTEST:
		r = attest_vm(s, &s->st.cfg, t->nonce, why, sizeof(why));
		break;
	case API_ACT_NONE:
		break;
	}
	s->failed = r < 0;
	snprintf(s->failure, sizeof(s->failure), "%s", why);
}

/* ---- the HTTP side (API thread) ---- */

struct body {
	char *buf;
	size_t len;
	bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *json)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(json ? strlen(json) : 0, (void *)(json ? json : ""),
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (json)
		MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	struct body *b = *con_cls;
	struct api_txn t;
	enum MHD_Result ret;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		/* Bounded: past the limit the rest is read and dropped, and the request refused. */
		if (!b->too_big && b->len + *upload_size > API_BODY_MAX) {
			b->too_big = true;
			free(b->buf);
			b->buf = NULL;
		} else if (!b->too_big) {
			char *n = realloc(b->buf, b->len + *upload_size + 1);
			if (!n)
				return MHD_NO;
			memcpy(n + b->len, upload, *upload_size);
			b->buf = n;
			b->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->mu);
	api_request(&s->st, method, url, b->buf, b->too_big ? API_BODY_MAX + 1 : b->len, &t);
	api_log(s, API_LOG_INFO, "fc_api", "runner/api/api_main.c", "The API server received a %s request on \"%.200s\".",
		method, url);
	if (t.status != 400 && t.action != API_ACT_NONE) {
		uint64_t one = 1;
		s->work = &t;
		s->work_done = false;
		(void)!write(s->work_efd, &one, sizeof(one));
		while (!s->work_done)
			pthread_cond_wait(&s->cv, &s->mu);
		s->work = NULL;
		api_txn_finish(&s->st, &t, s->failed ? s->failure : NULL);
		if (t.status != 400 && s->attest_body) {
			/* PUT /carapace/attestation: 200 with the evidence document */
			t.body = TAKE_PTR(s->attest_body);
			t.status = 200;
		}
	}
	if (t.status == 400)
		api_log(s, API_LOG_ERROR, "fc_api", "runner/api/api_main.c", "Received Error. Status code: 400 Bad Request. "
			"Message: %s", t.body ? t.body : "");
	pthread_mutex_unlock(&s->mu);
	ret = reply(c, t.status, t.body);
	api_txn_free(&t);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code)
{
	struct body *b = *con_cls;
	if (b) {
		free(b->buf);
		free(b);
		*con_cls = NULL;
	}
}

static void *api_thread(void *arg)
{
	struct srv *s = arg;
	const union MHD_DaemonInfo *ei = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	struct cp_err err = { 0 };

	pthread_setname_np(pthread_self(), "fc_api");
	/* From here on this thread parses untrusted requests: its list is in force first. */
	if (sandbox_thread_apply(SANDBOX_API, sandbox_mode_default(), &err) < 0) {
		fprintf(stderr, "carapace: API thread: %s\n", err.msg);
		return NULL;
	}
#ifdef CARAPACE_TEST_HOOKS
	if (s->test_hook && !strcmp(s->test_hook, "api-forbidden-syscall")) {
		int fd = socket(AF_INET, SOCK_STREAM, 0); /* in no allowlist: the process dies here */
		fprintf(stderr, "carapace: test hook api-forbidden-syscall: socket() was allowed (fd %d): the API "
				"thread's filter is not in force\n", fd);
		_exit(CP_EXIT_FAILURE);
	}
#endif
	for (;;) {
		struct pollfd p[2] = { { .fd = ei->epoll_fd, .events = POLLIN }, { .fd = s->stop_efd, .events = POLLIN } };
		MHD_UNSIGNED_LONG_LONG to = 0;
		int ms = MHD_get_timeout(s->mhd, &to) == MHD_YES && to < 1000 ? (int)to : 1000;
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		/* Twice: at the connection limit libmicrohttpd takes the listening socket out of its
		 * epoll set and puts it back only in the run after connections closed, which nothing
		 * would wake. The 1 s cap on the wait is the same guarantee for any other such case. */
		MHD_run(s->mhd);
		MHD_run(s->mhd);
	}
	return NULL;
}

static int listen_unix(const char *path, struct cp_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r, e;

	/* Bound and listening under a temporary name, then linked to its own: a client that sees
	 * the path can connect. The link fails on an existing path, which is refused (as
	 * Firecracker does): it may be another VM's socket. */
	if (strlen(path) + 24 >= sizeof(sa.sun_path))
		return cp_err_set(err, ENAMETOOLONG, "--api-sock %s: the path is too long for a UNIX socket", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d.tmp", path, (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cp_err_set(err, errno, "--api-sock: socket: %s", strerror(errno));
	/* Only this user may drive the VM: the socket is created 0600. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, API_MAX_CONNECTIONS) < 0 || link(sa.sun_path, path) < 0) {
		e = errno;
		if (r == 0)
			unlink(sa.sun_path);
		close(fd);
		return cp_err_set(err, e, "--api-sock %s: %s%s", path, strerror(e),
				  e == EEXIST ? " (remove a stale socket first)" : "");
	}
	unlink(sa.sun_path);
	return fd;
}

static int start_api(struct srv *s, struct cp_err *err)
{
	int fd = listen_unix(s->api_sock, err), r;

	if (fd < 0)
		return fd;
	s->listen_fd = fd;
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_END);
	if (!s->mhd) {
		unlink(s->api_sock);
		return cp_err_set(err, EIO, "--api-sock %s: the HTTP server (libmicrohttpd) did not start", s->api_sock);
	}
	/* glibc reads /etc/localtime on the first time conversion (libmicrohttpd's Date header, the
	 * log's time stamps): here, before the API thread's filter, which allows no open. */
	tzset();
	{
		struct tm tm;
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
	}
	r = pthread_create(&s->thread, NULL, api_thread, s);
	if (r) {
		MHD_stop_daemon(s->mhd);
		s->mhd = NULL;
		unlink(s->api_sock);
		return cp_err_set(err, r, "API thread: %s", strerror(r));
	}
	s->thread_started = true;
	return 0;
}

/* ---- the controller ---- */

/* The VM process's end, once its control channel closed: waited for at most API_VM_END_GRACE_MS
 * (its stderr forwarded meanwhile), then killed. Returns waitpid's result. */
static pid_t wait_vm_process(struct srv *s, int *ws)
{
	const struct timespec end = deadline_in(API_VM_END_GRACE_MS);
	pid_t r;

	while ((r = waitpid(s->child, ws, WNOHANG)) == 0) {
		int left = ms_left(&end);
		struct pollfd p = { .fd = s->err_fd, .events = POLLIN };
		if (!left) {
			fprintf(stderr, "carapace: the VM process did not end within %d s after its control channel "
				"closed: killed\n", API_VM_END_GRACE_MS / 1000);
			api_log(s, API_LOG_ERROR, "main", "runner/api/api_main.c", "The VM process did not end within %d s "
				"after its control channel closed: killed.", API_VM_END_GRACE_MS / 1000);
			kill(s->child, SIGKILL);
			return waitpid(s->child, ws, 0);
		}
		if (poll(&p, 1, left < 100 ? left : 100) > 0)
			drain_child_stderr(s, false);
	}
	return r;
}

static int controller(struct srv *s, int sfd)
{
	struct itimerspec every = { .it_interval = { API_METRICS_PERIOD_S, 0 }, .it_value = { API_METRICS_PERIOD_S, 0 } };
	_cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int status = -1;

	if (tfd >= 0)
		(void)timerfd_settime(tfd, 0, &every, NULL);
	for (;;) {
		if (s->stop_sig && !s->child)
			return 128 + s->stop_sig; /* stopped while a start was awaited */
		struct pollfd p[5] = {
			{ .fd = s->work_efd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = s->child ? s->err_fd : -1, .events = POLLIN },
			{ .fd = s->child ? s->ctl_fd : -1, .events = POLLRDHUP },
			{ .fd = tfd, .events = POLLIN },
		};
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			return CP_EXIT_FAILURE;
		}
		if (p[0].revents) {
			uint64_t v;
			(void)!read(s->work_efd, &v, sizeof(v));
			pthread_mutex_lock(&s->mu);
			if (s->work && !s->work_done) {
				do_work(s, s->work);
				s->work_done = true;
				pthread_cond_broadcast(&s->cv);
			}
			pthread_mutex_unlock(&s->mu);
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				api_log(s, API_LOG_INFO, "main", "runner/api/api_main.c", "Received signal %u.", si.ssi_signo);
				if (!s->child)
					return 128 + (int)si.ssi_signo;
				kill(s->child, (int)si.ssi_signo); /* the VM process reports and ends */
			}
		}
		if (p[2].revents)
			drain_child_stderr(s, false);
		if (p[4].revents) {
			uint64_t n;
			(void)!read(tfd, &n, sizeof(n));
			if (s->metrics_fd >= 0) {
				/* Asked without the lock: the API thread goes on meanwhile. */
				const struct api_vm_metrics *vm = vm_metrics(s);
				pthread_mutex_lock(&s->mu); /* the counters are the API thread's too */
				flush_metrics(s, vm);
				pthread_mutex_unlock(&s->mu);
			}
		}
		if (s->child && (p[3].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			int ws = 0;
			/* The last record the VM process sent as its VM ended, for the last line. */
			while (!(s->have_vm_metrics && s->vm_metrics.final) &&
			       ctl_recv(s, NULL, 0, NULL, 0, true) == CTL_METRICS)
				;
			drain_child_stderr(s, true);
			if (wait_vm_process(s, &ws) == s->child) {
				/* and what it wrote after a hang-up that came first (the controller cut it off) */
				drain_child_stderr(s, true);
				status = child_status(ws);
				s->child = 0;
				api_log(s, API_LOG_INFO, "main", "runner/api/api_main.c", "The VM process ended with status %d.",
					status);
				return status;
			}
		}
	}
}

int api_main(const struct api_main_opts *o)
{
	struct srv s;
	struct cp_err err = { 0 };
	sigset_t sigs;
	_cleanup_close_ int sfd = -1;
	int status = CP_EXIT_FAILURE;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	pthread_mutex_init(&s.log_mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	s.listen_fd = s.log_fd = s.metrics_fd = s.ctl_fd = s.err_fd = s.work_efd = s.stop_efd = s.sig_fd = -1;
	s.api_sock = o->api_sock;
	s.test_hook = o->test_hook;
	api_state_init(&s.st, o->id, CARAPACE_VERSION);
	s.level = s.st.cfg.level;
	s.api_log_default_stderr = false;

	if (o->id && (strlen(o->id) > API_ID_MAX || !*o->id || strspn(o->id, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != strlen(o->id))) {
		fprintf(stderr, "carapace run: --id: 1 to %u letters, digits, '-' or '_'\n", API_ID_MAX);
		status = CP_EXIT_USAGE;
		goto out;
	}
	if (o->policy) {
		/* The node's policy, set before any client speaks: InstanceStart is judged by it. */
		s.st.cfg.policy = strdup(o->policy);
		s.st.policy_locked = true;
	}
	if (o->level && api_log_level_parse(o->level, &s.level) < 0) {
		fprintf(stderr, "carapace run: --level: '%s' is not Error, Warning, Info, Debug, Trace or Off\n", o->level);
		status = CP_EXIT_USAGE;
		goto out;
	}
	s.st.cfg.level = s.level;
	if (o->log_path) {
		char why[512];
		if (open_sink(o->log_path, &s.log_fd, why, sizeof(why)) < 0) {
			fprintf(stderr, "carapace run: --log-path %s\n", why);
			goto out;
		}
		s.st.cfg.logger = true;
		s.st.cfg.log_path = strdup(o->log_path);
	}
	if (o->no_seccomp) {
		fprintf(stderr, "carapace: --no-seccomp is ignored: carapace's seccomp filters always stay on\n");
		api_log(&s, API_LOG_WARNING, "main", "runner/api/api_main.c",
			"--no-seccomp is ignored: carapace's seccomp filters always stay on.");
	}
	if (o->config_file) {
		_cleanup_free_ uint8_t *text = NULL;
		size_t len = 0;
		if (cp_file_read(o->config_file, 1u << 20, &text, &len, &err) < 0 ||
		    api_config_file(&s.st, (const char *)text, len, &err) < 0) {
			fprintf(stderr, "carapace run: --config-file %s: %s\n", o->config_file, err.msg);
			status = CP_EXIT_USAGE;
			goto out;
		}
		if (!s.st.cfg.kernel) {
			fprintf(stderr, "carapace run: --config-file %s: no boot-source: the VM cannot start\n", o->config_file);
			status = CP_EXIT_USAGE;
			goto out;
		}
	}
	/* Signals reach the controller as events (they stop the VM process first); every thread
	 * started from here inherits the blocked set. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	s.sig_fd = sfd;
	s.work_efd = eventfd(0, EFD_CLOEXEC);
	s.stop_efd = eventfd(0, EFD_CLOEXEC);
	if (sfd < 0 || s.work_efd < 0 || s.stop_efd < 0) {
		fprintf(stderr, "carapace run: signalfd/eventfd: %s\n", strerror(errno));
		goto out;
	}
	/* Files named in the config file are opened as their PUTs would open them. */
	if (s.st.cfg.log_path && s.log_fd < 0) {
		char why[512];
		if (open_sink(s.st.cfg.log_path, &s.log_fd, why, sizeof(why)) < 0) {
			fprintf(stderr, "carapace run: logger: %s\n", why);
			goto out;
		}
		s.level = s.st.cfg.level;
		s.show_level = s.st.cfg.show_level;
		s.show_origin = s.st.cfg.show_origin;
	}
	if (s.st.cfg.metrics_path) {
		char why[512];
		if (open_sink(s.st.cfg.metrics_path, &s.metrics_fd, why, sizeof(why)) < 0) {
			fprintf(stderr, "carapace run: metrics: %s\n", why);
			goto out;
		}
	}
	if (o->config_file) {
		struct api_txn t;
		const char *start = "{\"action_type\": \"InstanceStart\"}";
		api_request(&s.st, "PUT", "/actions", start, strlen(start), &t);
		if (t.status != 400) {
			do_work(&s, &t);
			api_txn_finish(&s.st, &t, s.failed ? s.failure : NULL);
		}
		if (t.status == 400) {
			fprintf(stderr, "carapace run: --config-file %s: %s\n", o->config_file, t.body);
			api_txn_free(&t);
			/* The VM process's own status (5: refused by the launch policy), else a usage error. */
			status = s.start_status ? s.start_status : CP_EXIT_USAGE;
			goto out;
		}
		api_txn_free(&t);
	}
	if (o->api_sock) {
		if (start_api(&s, &err) < 0) {
			fprintf(stderr, "carapace run: %s\n", err.msg);
			if (s.child)
				kill(s.child, SIGTERM);
			goto out;
		}
		api_log(&s, API_LOG_INFO, "main", "runner/api/api_main.c", "API server listening on %s.", o->api_sock);
	}
	{
		/* Ready: the API answers (or, with --config-file alone, the VM was started). */
		struct timespec now, cpu;
		clock_gettime(CLOCK_MONOTONIC, &now);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		s.startup.wall_us = ts_us(&now) - ts_us(&process_start);
		s.startup.cpu_us = ts_us(&cpu);
	}
	status = controller(&s, sfd);
	if (s.metrics_fd >= 0) {
		const struct api_vm_metrics *vm = vm_metrics(&s);
		pthread_mutex_lock(&s.mu);
		flush_metrics(&s, vm);
		pthread_mutex_unlock(&s.mu);
	}
out:
	if (s.thread_started) {
		uint64_t one = 1;
		(void)!write(s.stop_efd, &one, sizeof(one));
		pthread_join(s.thread, NULL);
	}
	if (s.mhd)
		MHD_stop_daemon(s.mhd); /* closes the listening socket it was given */
	else if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.listen_fd >= 0)
		unlink(o->api_sock); /* may fail once the VM process left the host's file system: it is ours */
	if (s.child) {
		kill(s.child, SIGKILL);
		waitpid(s.child, NULL, 0);
	}
	{
		int fds[] = { s.log_fd, s.metrics_fd, s.ctl_fd, s.err_fd, s.work_efd, s.stop_efd };
		for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	api_state_free(&s.st);
	if (s.have_pol)
		policy_free(&s.pol);
	free(s.attest_body);
	return status;
}

/* Shared main() plumbing for device helpers: socket, jail, serve (see helper_serve.h). */
#include "devices/helper_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/devstats.h"
#include "devices/jail/jail.h"
#include "devices/vhost/pool.h"

bool dev_cli_read(enum devkind_id kind, int argc, char *const argv[], struct dev_cli *out, int *status)
{
	const struct dev_cli_spec *spec = (unsigned)kind < DEVKIND__COUNT ? &dev_cli_specs[kind] : NULL;
	char why[256];
	int r = dev_cli_parse(spec, argc, argv, out, why, sizeof(why));

	if (r == 0) {
		if (out->common.verbose)
			cp_log_set_level(CP_LOG_DEBUG);
		return true;
	}
	if (r == DEV_CLI_HELP) {
		dev_cli_usage(spec, stdout);
		*status = CP_EXIT_OK;
		return false;
	}
	cp_err("%s", why);
	dev_cli_usage(spec, stderr);
	*status = CP_EXIT_USAGE;
	return false;
}

static int dev_listen(const char *path, struct cp_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (strlen(path) + 5 >= sizeof(sa.sun_path))
		return cp_err_set(err, ENAMETOOLONG, "--socket-path %s is too long", path);
	/* Replace a stale socket, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return cp_err_set(err, EEXIST, "--socket-path %s exists and is not a socket", path);
		unlink(path);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	strcpy(sa.sun_path, tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cp_err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cp_err_set(err, errno, "bind %s: %s", tmp, strerror(errno));
	if (listen(fd, 1) < 0)
		return cp_err_set(err, errno, "listen: %s", strerror(errno));
	/* The path appears only once connecting to it works. */
	if (rename(tmp, path) < 0)
		return cp_err_set(err, errno, "rename %s to %s: %s", tmp, path, strerror(errno));
	return TAKE_FD(fd);
}

#ifdef CARAPACE_TEST_HOOKS
#include <dirent.h>
#include <sys/syscall.h>

/* Test hook "probe": report, from inside the jail just before seccomp, what the helper sees. */
static void dev_probe(void)
{
	char line[256], ifaces[256] = "";
	unsigned npid = 0;
	DIR *d;
	FILE *f;

	fprintf(stderr, "probe: /etc/passwd %s\n", access("/etc/passwd", F_OK) == 0 ? "visible" : "absent");
	d = opendir("/proc");
	if (d) {
		struct dirent *e;

		while ((e = readdir(d)))
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
				npid++;
				fprintf(stderr, "probe: /proc pid %s\n", e->d_name);
			}
		closedir(d);
	}
	fprintf(stderr, "probe: /proc pids %u\n", npid);
	f = fopen("/proc/self/net/dev", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (!colon)
				continue;
			*colon = '\0';
			char *name = line + strspn(line, " ");
			if (strlen(ifaces) + strlen(name) + 2 < sizeof(ifaces)) {
				strcat(ifaces, name);
				strcat(ifaces, " ");
			}
		}
		fclose(f);
	}
	fprintf(stderr, "probe: net interfaces: %s\n", ifaces);
	fprintf(stderr, "probe: uid %u euid %u\n", (unsigned)getuid(), (unsigned)geteuid());
}
#endif

struct dev_prepare {
	struct vu_backend *be;
	const struct vu_dev_ops *ops;
	void *dev;
};

/* In the jail, before the filter: the back-end and its worker threads. */
static int dev_prepare(void *arg, struct cp_err *err)
{
	struct dev_prepare *p = arg;

	p->be = calloc(1, sizeof(*p->be));
	if (!p->be)
		return cp_err_set(err, ENOMEM, "out of memory");
	vu_be_init(p->be, p->ops, p->dev, -1);
	return vu_be_start_workers(p->be, err);
}

int dev_helper_serve(const struct dev_opts *o, const struct devkind *desc,
		     const struct vu_dev_ops *ops, void *dev, const int *keep_fds, unsigned nkeep)
{
	struct jail_config jc = {
		.name = ops->name, .policy = desc->seccomp, .keep_network = !desc->new_netns,
		.no_jail = o->no_jail, .max_files = 128, .max_threads = 1 + ops->workers,
		.memory_max = 256ull << 20, .pids_max = 2 + ops->workers,
		.cleanup_path = o->socket_path,
	};
	struct dev_prepare prep = { .ops = ops, .dev = dev };
	struct cp_err err = { 0 };
	struct vu_backend *be;
	int keep[16], n = 0, sock = o->fd, conn, r;

	cp_log_set_prog(desc->binary);
	/* A number the reader accepted is not yet an open descriptor: say so before the jail. */
	if (!o->socket_path && fcntl(o->fd, F_GETFD) < 0) {
		cp_err("--fd %d: %s", o->fd, strerror(errno));
		return CP_EXIT_FAILURE;
	}
	/* The counter page the VM process reads (devices/devstats.h): mapped now, so the jail keeps
	 * no fd for it. */
	if (o->stats_fd >= 0 && devstats_attach(o->stats_fd, &err) < 0) {
		cp_err("%s", err.msg);
		return CP_EXIT_FAILURE;
	}
	if (o->socket_path) {
		sock = dev_listen(o->socket_path, &err);
		if (sock < 0) {
			cp_err("%s", err.msg);
			return CP_EXIT_FAILURE;
		}
	}
	keep[n++] = sock;
	for (unsigned i = 0; i < nkeep && n < 16; i++)
		keep[n++] = keep_fds[i];
	jc.keep_fds = keep;
	jc.nkeep = (unsigned)n;
	jc.prepare = dev_prepare;
	jc.prepare_arg = &prep;
#ifdef CARAPACE_TEST_HOOKS
	if (o->test_hook && strcmp(o->test_hook, "probe") == 0)
		jc.before_seccomp = dev_probe;
#endif
	if (jail_enter(&jc, &err) < 0) {
		cp_err("%s", err.msg);
		return CP_EXIT_FAILURE;
	}
	/* From here on the filter is in force: nothing untrusted has been read yet. */
#ifdef CARAPACE_TEST_HOOKS
	if (o->test_hook && strcmp(o->test_hook, "forbidden-syscall") == 0) {
		fprintf(stderr, "test hook: calling socket(AF_INET), which no helper may do\n");
		(void)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		cp_err("test hook: forbidden system call was NOT killed");
		return 99;
	}
#endif
	if (o->socket_path) {
		conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			cp_err("accept: %s", strerror(errno));
			jail_exit_now(CP_EXIT_FAILURE);
			return CP_EXIT_FAILURE;
		}
		close(sock);
	} else {
		conn = sock;
	}
	be = prep.be;
	be->sock = conn;
#ifdef CARAPACE_TEST_HOOKS
	/* Widen the window between a worker's completion and its interrupt (race tests). */
	if (o->test_hook && strcmp(o->test_hook, "slow-completion") == 0 && be->pool)
		be->pool->test_spin = 200000;
	/* A stalled helper (stops answering when a ring is started), and a compromised one (an fd
	 * the front-end did not ask for, attached to that reply). */
	if (o->test_hook && strcmp(o->test_hook, "stall-ring-start") == 0)
		be->test_stall_req = VU_REQ_SET_VRING_KICK;
	if (o->test_hook && strcmp(o->test_hook, "fd-in-reply") == 0)
		be->test_fd_req = VU_REQ_SET_VRING_KICK;
#endif
	r = vu_be_run(be, &err);
	if (r < 0) {
		cp_err("front-end cut off: %s", err.msg);
		jail_exit_now(CP_EXIT_FAILURE);
		return CP_EXIT_FAILURE;
	}
	cp_info("front-end disconnected");
	jail_exit_now(CP_EXIT_OK);
	return CP_EXIT_OK;
}

/* carapace_helper_spawn (see spawn.h). */
#include "devices/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_MAX_ARGS 32

int carapace_helper_spawn(const struct devkind *desc, const char *path,
			  const char *const *args, const int *pass_fds, unsigned npass, int *sock,
			  pid_t *pid, struct cp_err *err)
{
	return carapace_helper_spawn_hook(desc, path, args, pass_fds, npass, NULL, NULL, sock, pid, err);
}

int carapace_helper_spawn_hook(const struct devkind *desc, const char *path,
			       const char *const *args, const int *pass_fds, unsigned npass,
			       int (*before_exec)(void *ctx), void *ctx, int *sock, pid_t *pid,
			       struct cp_err *err)
{
	const char *argv[SPAWN_MAX_ARGS + 4];
	char fdarg[16];
	unsigned n = 0;
	int sv[2];
	pid_t p;

	argv[n++] = path;
	argv[n++] = "--fd";
	argv[n++] = fdarg;
	for (unsigned i = 0; args && args[i]; i++) {
		if (n >= SPAWN_MAX_ARGS + 3)
			return cp_err_set(err, E2BIG, "%s: more than %u arguments", desc->binary, SPAWN_MAX_ARGS);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cp_err_set(err, errno, "%s: socketpair: %s", desc->binary, strerror(errno));
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	p = fork();
	if (p < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return cp_err_set(err, e, "%s: fork: %s", desc->binary, strerror(e));
	}
	if (p == 0) {
		/* Child: everything close-on-exec except the helper's socket and its own fds. */
		if (close_range(3, UINT_MAX, CLOSE_RANGE_CLOEXEC) < 0)
			_exit(127);
		if (fcntl(sv[1], F_SETFD, 0) < 0)
			_exit(127);
		for (unsigned i = 0; i < npass; i++)
			if (fcntl(pass_fds[i], F_SETFD, 0) < 0)
				_exit(127);
		if (before_exec && before_exec(ctx) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	*sock = sv[0];
	*pid = p;
	return 0;
}

int carapace_helper_stop(pid_t pid, unsigned grace_ms)
{
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	int status = 0;
	pid_t r;

	if (pid <= 0)
		return -EINVAL;
	kill(pid, SIGTERM);
	kill(pid, SIGCONT); /* a stopped reaper would never handle the SIGTERM */
	for (unsigned waited = 0; waited < grace_ms; waited += 5) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -errno;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? status : -errno;
}

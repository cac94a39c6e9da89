/* swtpm life cycle for integration tests (see swtpm_fixture.h). */
#include "swtpm_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL;
	if (!path || strlen(path) >= sizeof(buf))
		return 0;
	strcpy(buf, path);
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/%s", d, prog);
		if (access(p, X_OK) == 0)
			return 1;
	}
	return 0;
}

int swtpm_start(struct swtpm *s)
{
	char state[300], server[340], ctrl[360], sock[300], log[300];
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (!in_path("swtpm")) {
		fprintf(stderr, "SKIP: swtpm is not installed (Debian package swtpm)\n");
		return 77;
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/carapace-swtpm-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/tpm.sock", s->dir);
	snprintf(state, sizeof(state), "dir=%s", s->dir);
	snprintf(server, sizeof(server), "type=unixio,path=%s", sock);
	snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s.ctrl", sock);
	snprintf(log, sizeof(log), "%s/swtpm.log", s->dir);
	snprintf(s->tcti, sizeof(s->tcti), "swtpm:path=%s", sock);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("swtpm", "swtpm", "socket", "--tpmstate", state, "--tpm2", "--server", server, "--ctrl", ctrl,
		       "--flags", "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* up to 5 s */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		if (stat(sock, &st) == 0)
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			fprintf(stderr, "swtpm exited early; see %s\n", log);
			s->pid = 0;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "swtpm did not create %s\n", sock);
	swtpm_stop(s);
	return -1;
}

void swtpm_stop(struct swtpm *s)
{
	char cmd[300];
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0]) {
		/* the directory is ours (mkdtemp), its name has no shell metacharacters */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", s->dir);
		s->dir[0] = '\0';
	}
}

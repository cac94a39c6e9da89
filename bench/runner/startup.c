/* Boot benchmark: time from process start to the first byte on stdout and to exit, and peak
 * RSS (wait4's ru_maxrss, what /usr/bin/time -v reports), for any command. Alternates the
 * commands given after "--" separators so both see the same machine state.
 *   startup ITERATIONS NAME -- CMD... [--- NAME -- CMD...]
 * Prints one line per command with medians, then ratios against the last command. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 4
#define MAX_ITERS 1000

struct cmd {
	const char *name;
	char **argv;
	double first[MAX_ITERS], exit_[MAX_ITERS];
	long rss[MAX_ITERS];
	int status;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static int cmpl(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static void run_once(struct cmd *c, int i)
{
	int p[2];
	char buf[65536];
	double t0, first = -1;
	pid_t pid;
	struct rusage ru;
	int st;

	if (pipe(p) < 0)
		exit(1);
	t0 = now();
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		dup2(devnull, 2);
		close(p[0]);
		close(p[1]);
		execvp(c->argv[0], c->argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n > 0 && first < 0)
			first = now() - t0;
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	close(p[0]);
	if (wait4(pid, &st, 0, &ru) < 0)
		exit(1);
	c->exit_[i] = now() - t0;
	c->first[i] = first < 0 ? c->exit_[i] : first;
	c->rss[i] = ru.ru_maxrss;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	struct cmd cmds[MAX_CMDS];
	int ncmd = 0, iters;

	if (argc < 5 || (iters = atoi(argv[1])) < 1 || iters > MAX_ITERS) {
		fprintf(stderr, "usage: startup ITERATIONS NAME -- CMD... [--- NAME -- CMD...]\n");
		return 2;
	}
	for (int i = 2; i < argc && ncmd < MAX_CMDS;) {
		struct cmd *c = &cmds[ncmd++];
		memset(c, 0, sizeof(*c));
		c->name = argv[i++];
		if (i >= argc || strcmp(argv[i], "--"))
			return 2;
		c->argv = &argv[++i];
		while (i < argc && strcmp(argv[i], "---"))
			i++;
		if (i < argc)
			argv[i++] = NULL;
	}
	for (int it = 0; it < iters; it++)
		for (int k = 0; k < ncmd; k++)
			run_once(&cmds[k], it);
	printf("%-12s %14s %14s %14s %8s\n", "command", "first byte ms", "exit ms", "peak RSS KiB", "status");
	for (int k = 0; k < ncmd; k++) {
		struct cmd *c = &cmds[k];
		qsort(c->first, (size_t)iters, sizeof(double), cmp);
		qsort(c->exit_, (size_t)iters, sizeof(double), cmp);
		qsort(c->rss, (size_t)iters, sizeof(long), cmpl);
		printf("%-12s %14.2f %14.2f %14ld %8d\n", c->name, c->first[iters / 2] * 1e3, c->exit_[iters / 2] * 1e3,
		       c->rss[iters / 2], c->status);
	}
	if (ncmd >= 2) {
		struct cmd *ref = &cmds[ncmd - 1];
		for (int k = 0; k < ncmd - 1; k++)
			printf("ratio %s/%s: first byte %.3f, exit %.3f, peak RSS %.3f\n", cmds[k].name, ref->name,
			       cmds[k].first[iters / 2] / ref->first[iters / 2], cmds[k].exit_[iters / 2] / ref->exit_[iters / 2],
			       (double)cmds[k].rss[iters / 2] / (double)ref->rss[iters / 2]);
	}
	return 0;
}

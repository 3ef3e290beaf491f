/* Inventory benchmark: `sriovctl -j list` and text `list` next to the
 * baseline walker (bench/walker.c: the same facts, one open/read/close per
 * attribute), on generated trees on tmpfs, side by side in one run:
 *   bench-inventory [-n RUNS] [--before SRIOVCTL] SRIOVCTL WALKER [SHAPE...]
 * SHAPE is PFSxVFS (isolated IOMMU groups: one per function) or PFSxVFSs
 * (each PF shares one group with its VFs, a host without ACS); by default
 * 1x64 64x64 256x64 64x256 64x64s 64x256s. Each command runs RUNS times
 * (default 11) as its own process; printed: the median CPU time (user +
 * system, from wait4), the peak RSS, the system calls per device (one
 * more run under strace -f -c, when strace is installed) and the bytes
 * written. --before adds the same rows for another sriovctl (the previous
 * build) so that before and after stand side by side. One tree at a time
 * exists (a 64x256 tree is about 500k inodes). Figures, not pass/fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakesysfs.h"

struct cmd {
	const char *label;
	const char *argv[8];
};

struct result {
	double cpu_ms;  /* median */
	long rss_kib;   /* largest of the runs */
	double syscalls; /* per device; < 0 unknown */
	long bytes;
	int status;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Runs argv once with stdout into a pipe we count; *ret_cpu_ms, *ret_rss_kib. */
static int run_once(const char *const *argv, double *ret_cpu_ms, long *ret_rss_kib, long *ret_bytes)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	char buf[65536];
	long bytes = 0;
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			bytes += n;
	close(p[0]);
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -errno;
	*ret_cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	*ret_rss_kib = ru.ru_maxrss;
	*ret_bytes = bytes;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The system calls of one run (strace -f -c's total), or -1. */
static long count_syscalls(const char *const *argv)
{
	static int have = -1;
	if (have < 0)
		have = access("/usr/bin/strace", X_OK) == 0;
	if (!have)
		return -1;
	char out[] = "/tmp/bench-strace-XXXXXX";
	int fd = mkstemp(out);
	if (fd < 0)
		return -1;
	close(fd);
	const char *sargv[16] = {"/usr/bin/strace", "-f", "-c", "-o", out};
	size_t k = 5;
	for (size_t i = 0; argv[i] && k < 15; i++)
		sargv[k++] = argv[i];
	sargv[k] = NULL;
	double ms;
	long rss, bytes;
	long total = -1;
	if (run_once(sargv, &ms, &rss, &bytes) >= 0) {
		FILE *f = fopen(out, "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f)) {
			double pct, secs;
			long usecs, calls;
			/* "100.00    0.578296           4    122953      8330 total" */
			if (strstr(line, " total") && sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs, &calls) == 4)
				total = calls;
		}
		if (f)
			fclose(f);
	}
	unlink(out);
	return total;
}

static void measure(const struct cmd *c, unsigned runs, size_t devices, struct result *r)
{
	double *ms = calloc(runs, sizeof(*ms));
	*r = (struct result){.syscalls = -1};
	for (unsigned i = 0; i < runs; i++) {
		long rss, bytes;
		r->status = run_once(c->argv, &ms[i], &rss, &bytes);
		if (rss > r->rss_kib)
			r->rss_kib = rss;
		r->bytes = bytes;
	}
	qsort(ms, runs, sizeof(*ms), cmp_double);
	r->cpu_ms = ms[runs / 2];
	free(ms);
	long calls = count_syscalls(c->argv);
	if (calls >= 0 && devices)
		r->syscalls = (double)calls / (double)devices;
}

static void print_row(const char *shape, const char *label, const struct result *r)
{
	char sc[32];
	if (r->syscalls >= 0)
		snprintf(sc, sizeof(sc), "%.1f", r->syscalls);
	else
		snprintf(sc, sizeof(sc), "-");
	printf("| %-8s | %-24s | %9.1f | %9.1f | %9s | %12ld |%s\n", shape, label, r->cpu_ms,
	       (double)r->rss_kib / 1024.0, sc, r->bytes, r->status ? " (exit status not 0)" : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	unsigned runs = 11;
	const char *before = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			runs = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--before") == 0 && i + 1 < argc)
			before = argv[++i];
		else
			break;
	}
	if (argc - i < 2 || runs == 0) {
		fprintf(stderr, "usage: bench-inventory [-n RUNS] [--before SRIOVCTL] SRIOVCTL WALKER [SHAPE...]\n");
		return 2;
	}
	const char *ctl = argv[i], *walker = argv[i + 1];
	static const char *const default_shapes[] = {"1x64", "64x64", "256x64", "64x256", "64x64s", "64x256s"};
	const char *const *shapes = default_shapes;
	size_t n_shapes = sizeof(default_shapes) / sizeof(default_shapes[0]);
	if (argc - i > 2) {
		shapes = (const char *const *)argv + i + 2;
		n_shapes = (size_t)(argc - i - 2);
	}
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	printf("%u runs per command, medians of CPU time (user + system); peak RSS the largest; trees on %s\n\n",
	       runs, tmp);
	printf("| %-8s | %-24s | %9s | %9s | %9s | %12s |\n", "tree", "command", "CPU ms", "RSS MiB",
	       "calls/dev", "output bytes");
	printf("|----------|--------------------------|-----------|-----------|-----------|--------------|\n");
	for (size_t s = 0; s < n_shapes; s++) {
		unsigned pfs, vfs;
		char shared = 0;
		if (sscanf(shapes[s], "%ux%u%c", &pfs, &vfs, &shared) < 2 || (shared && shared != 's')) {
			fprintf(stderr, "bench-inventory: %s: not PFSxVFS[s]\n", shapes[s]);
			return 2;
		}
		char root[512];
		snprintf(root, sizeof(root), "%s/sriovd-bench-XXXXXX", tmp);
		if (!mkdtemp(root)) {
			perror("mkdtemp");
			return 1;
		}
		int r = fakesysfs_build_grid_ex(root, pfs, vfs, shared ? FAKESYSFS_SHARED_GROUPS : 0);
		if (r < 0) {
			fprintf(stderr, "bench-inventory: cannot build %s: %s\n", shapes[s], strerror(-r));
			fakesysfs_rmtree(root);
			return 1;
		}
		size_t devices = (size_t)pfs * (1 + vfs);
		struct cmd cmds[] = {
			{"baseline walker", {walker, root, NULL}},
			{"sriovctl -j list", {ctl, "--sysfs-root", root, "-j", "list", NULL}},
			{"sriovctl list", {ctl, "--sysfs-root", root, "list", NULL}},
			{"before: sriovctl -j list", {before, "--sysfs-root", root, "-j", "list", NULL}},
			{"before: sriovctl list", {before, "--sysfs-root", root, "list", NULL}},
		};
		size_t n_cmds = before ? 5 : 3;
		for (size_t k = 0; k < n_cmds; k++) {
			struct result res;
			/* the quadratic old output of large shared trees: fewer runs */
			unsigned n = k >= 3 && devices > 8192 ? (runs < 3 ? runs : 3) : runs;
			measure(&cmds[k], n, devices, &res);
			print_row(shapes[s], cmds[k].label, &res);
		}
		fakesysfs_rmtree(root);
	}
	return 0;
}

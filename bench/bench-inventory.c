/* Inventory benchmark: how long a full scan of a large host takes and how
 * much memory it needs, next to the by-hand shell baseline that reads the
 * same sysfs files with cat/readlink.
 *   bench-inventory [PFS VFS [ITERATIONS [BASELINE_SCRIPT]]]
 * The tree is generated on tmpfs (/dev/shm, or $TMPDIR). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "output/output.h"
#include "util/util.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* One `sriovctl -j list` worth of work, minus process start-up. */
static int one_list(const char *root, size_t *n_pfs, size_t *n_vfs, size_t *json_bytes)
{
	struct inventory_opts o = {.sysfs_root = root, .names = true};
	struct pci_tree *t;
	int r = inventory_load(&o, &t);
	if (r < 0)
		return r;
	json_t *j = json_inventory(t);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	*json_bytes = s ? strlen(s) : 0;
	*n_pfs = pci_tree_count_pfs(t);
	*n_vfs = pci_tree_count_vfs(t);
	free(s);
	json_decref(j);
	pci_tree_free(t);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned pfs = argc > 1 ? (unsigned)atoi(argv[1]) : 64;
	unsigned vfs = argc > 2 ? (unsigned)atoi(argv[2]) : 64;
	unsigned iters = argc > 3 ? (unsigned)atoi(argv[3]) : 20;
	const char *baseline = argc > 4 ? argv[4] : NULL;
	if (pfs == 0 || vfs == 0 || iters == 0) {
		fprintf(stderr, "usage: bench-inventory [PFS VFS [ITERATIONS [BASELINE_SCRIPT]]]\n");
		return 2;
	}

	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char root[512];
	snprintf(root, sizeof(root), "%s/sriovd-bench-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	double t0 = now_ms();
	int r = fakesysfs_build_grid(root, pfs, vfs);
	if (r < 0) {
		fprintf(stderr, "cannot build the tree: %s\n", strerror(-r));
		fakesysfs_rmtree(root);
		return 1;
	}
	printf("tree: %u PFs x %u VFs under %s (generated in %.0f ms)\n", pfs, vfs, root, now_ms() - t0);

	long rss_before = peak_rss_kib();
	double *ms = calloc(iters, sizeof(*ms));
	size_t n_pfs = 0, n_vfs = 0, bytes = 0;
	for (unsigned i = 0; i < iters; i++) {
		double s = now_ms();
		if ((r = one_list(root, &n_pfs, &n_vfs, &bytes)) < 0) {
			fprintf(stderr, "inventory failed: %s\n", strerror(-r));
			return 1;
		}
		ms[i] = now_ms() - s;
	}
	long rss_after = peak_rss_kib();
	qsort(ms, iters, sizeof(*ms), cmp_double);
	printf("found: %zu PFs, %zu VFs; JSON document %zu bytes\n\n", n_pfs, n_vfs, bytes);

	double base_ms = -1;
	if (baseline) {
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "bash '%s' '%s' >/dev/null", baseline, root);
		double s = now_ms();
		int st = system(cmd);
		base_ms = now_ms() - s;
		if (st != 0)
			fprintf(stderr, "baseline script failed (status %d)\n", st);
	}

	printf("%-44s %12s %12s\n", "inventory of the whole tree", "median ms", "min ms");
	printf("%-44s %12.1f %12.1f\n", "sriovd (scan + names + JSON, in-process)", ms[iters / 2], ms[0]);
	if (base_ms >= 0)
		printf("%-44s %12.1f %12s   (%.0fx slower than sriovd's median)\n",
		       "baseline: by-hand shell (cat/readlink/ls)", base_ms, "1 run", base_ms / ms[iters / 2]);
	printf("\npeak RSS: %ld KiB after building the tree, %ld KiB after %u inventories "
	       "(%.1f KiB per VF held at once)\n",
	       rss_before, rss_after, iters, n_vfs ? (double)(rss_after - rss_before) / (double)n_vfs : 0.0);
	free(ms);
	fakesysfs_rmtree(root);
	return 0;
}

/* API benchmark: sriovd on a generated tree of many VFs (netlink off), its
 * ledger on a real disk, asked through its socket (client/):
 *   - claim+release pairs per second with 1 and with 16 concurrent clients
 *     (each pair: POST /v1/claims for a new consumer, DELETE
 *     /v1/consumers/{uuid}; two durable commits), with the p50/p99 latency
 *     of a claim;
 *   - SQLite's own durable single-row transactions (WAL, synchronous=FULL)
 *     in the same folder, the ceiling of the pairs (2 transactions each);
 *   - GET /v1/inventory (the document from sriovd's model) against
 *     `sriovctl -j list` reading the tree (a process per run), p50/p99.
 * bench-claims gives the same pairs in-process.
 *   bench-api SRIOVD SRIOVCTL [PFS VFS [PAIRS [LEDGER_DIR]]]
 * Figures, not pass/fail. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "fakesysfs.h"
#include "ledger/ledger.h"
#include "sriovd-run.h"
#include "util/util.h"

#define MAX_CLIENTS 16
#define INVENTORY_RUNS 50
#define LIST_RUNS 10

static const char *sock_path;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return n ? v[i] : 0;
}

/* One request; its status, or -errno without an answer. */
static long ask(const char *method, const char *path, const char *body)
{
	struct client_response rs = {0};
	_cleanup_free_ char *error = NULL;
	int r = client_send(sock_path, NULL, method, path, body, body ? strlen(body) : 0, &rs, &error);
	long st = r < 0 ? r : rs.status;
	if (r < 0)
		fprintf(stderr, "bench-api: %s %s: %s\n", method, path, error ? error : strerror(-r));
	client_response_done(&rs);
	return st;
}

struct worker {
	pthread_t thread;
	unsigned index, pairs, round;
	double *claim_s; /* the latency of each claim */
	unsigned failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (unsigned i = 0; i < w->pairs; i++) {
		char consumer[64], body[160], path[128];
		snprintf(consumer, sizeof(consumer), "%04x%04x-0000-4000-8000-%012x", w->round, w->index + 1, i);
		snprintf(body, sizeof(body), "{\"consumer\": \"%s\", \"request\": \"nic:1\"}", consumer);
		snprintf(path, sizeof(path), "/v1/consumers/%s", consumer);
		double t0 = now_s();
		long st = ask("POST", "/v1/claims", body);
		w->claim_s[i] = now_s() - t0;
		if (st != 201 || ask("DELETE", path, NULL) != 200)
			w->failed++;
	}
	return NULL;
}

/* pairs split over n clients: pairs per second, claim p50/p99 in ms. */
static int run_pairs(unsigned n, unsigned pairs, unsigned round, double *ret_rate, double *ret_p50, double *ret_p99)
{
	struct worker w[MAX_CLIENTS] = {0};
	double *lat = calloc(pairs, sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	unsigned per = pairs / n, failed = 0;
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct worker){.index = i, .pairs = per, .round = round, .claim_s = lat + (size_t)i * per};
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			return -EAGAIN;
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		failed += w[i].failed;
	}
	double dt = now_s() - t0;
	*ret_rate = per * n / dt;
	*ret_p50 = pct(lat, (size_t)per * n, 0.50) * 1e3;
	*ret_p99 = pct(lat, (size_t)per * n, 0.99) * 1e3;
	free(lat);
	if (failed) {
		fprintf(stderr, "bench-api: %u pairs were not answered 201/200\n", failed);
		return -EIO;
	}
	return 0;
}

/* `sriovctl -j list` on the tree: one run's seconds, or < 0. */
static double run_list(const char *ctl, const char *tree)
{
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 1) < 0)
			_exit(127);
		execl(ctl, ctl, "-j", "--sysfs-root", tree, "list", (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? now_s() - t0 : -1;
}

static int parse_arg(const char *s, uint32_t *ret)
{
	return parse_u32(s, 10, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	uint32_t pfs = 64, vfs = 64, pairs = 320;
	if (argc < 3 || (argc > 3 && parse_arg(argv[3], &pfs) < 0) || (argc > 4 && parse_arg(argv[4], &vfs) < 0) ||
	    (argc > 5 && parse_arg(argv[5], &pairs) < 0) || argc > 7 || pairs < MAX_CLIENTS) {
		fprintf(stderr, "usage: bench-api SRIOVD SRIOVCTL [PFS VFS [PAIRS [LEDGER_DIR]]]\n");
		return 2;
	}
	const char *ledger_dir = argc > 6 ? argv[6] : "/var/tmp";
	signal(SIGPIPE, SIG_IGN);
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	_cleanup_free_ char *root = NULL, *state = NULL;
	if (asprintf(&root, "%s/sriovd-bench-api-XXXXXX", tmp) < 0 ||
	    asprintf(&state, "%s/sriovd-bench-api-XXXXXX", ledger_dir) < 0 || !mkdtemp(root) || !mkdtemp(state)) {
		perror("bench-api: mkdtemp");
		return 1;
	}
	_cleanup_free_ char *tree = path_join(root, "tree"), *conf = path_join(root, "sriovd.conf"),
			     *status = path_join(root, "status.json"), *log = path_join(root, "sriovd.log"),
			     *sock = path_join(root, "api.sock"), *ledger_state = path_join(state, "sriovd"),
			     *scratch = path_join(state, "sqlite-rate.db");
	if (!tree || !conf || !status || !log || !sock || !ledger_state || !scratch)
		return 1;
	sock_path = sock;
	int r = fakesysfs_build_grid(tree, pfs, vfs);
	FILE *f = r == 0 ? fopen(conf, "we") : NULL;
	if (!f) {
		fprintf(stderr, "bench-api: cannot build the tree: %s\n", strerror(r < 0 ? -r : errno));
		return 1;
	}
	fputs("version: 1\naliases:\n  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}\n", f);
	fclose(f);
	struct sriovd_run d = {.exe = argv[1], .tree = tree, .config = conf, .state = ledger_state, .status = status,
			       .log = log, .socket = sock};
	double t0 = now_s();
	if (sriovd_run_start(&d) < 0 || !sriovd_run_wait(&d, 300000, true)) {
		fprintf(stderr, "bench-api: %s does not serve (its log: %s)\n", argv[1], log);
		sriovd_run_stop(&d, SIGKILL);
		return 1;
	}
	printf("tree: %u PFs x %u VFs = %u VFs; sriovd ready in %.2f s; its ledger in %s\n", pfs, vfs, pfs * vfs,
	       now_s() - t0, ledger_state);

	/* A warm-up pair reads the model; then the two runs. */
	double rate1, p50_1, p99_1, rate16, p50_16, p99_16, warm, w50, w99;
	if ((r = run_pairs(1, 1, 0, &warm, &w50, &w99)) < 0 || (r = run_pairs(1, pairs, 1, &rate1, &p50_1, &p99_1)) < 0 ||
	    (r = run_pairs(MAX_CLIENTS, pairs, 2, &rate16, &p50_16, &p99_16)) < 0) {
		sriovd_run_stop(&d, SIGTERM);
		return 1;
	}

	/* GET /v1/inventory: the first makes the document, the others are
	 * served from it. */
	double inv[INVENTORY_RUNS];
	for (unsigned i = 0; i < INVENTORY_RUNS; i++) {
		double s0 = now_s();
		if (ask("GET", "/v1/inventory", NULL) != 200) {
			sriovd_run_stop(&d, SIGTERM);
			return 1;
		}
		inv[i] = now_s() - s0;
	}
	double inv_first = inv[0];
	double inv50 = pct(inv + 1, INVENTORY_RUNS - 1, 0.5) * 1e3, inv99 = pct(inv + 1, INVENTORY_RUNS - 1, 0.99) * 1e3;
	sriovd_run_stop(&d, SIGTERM);

	double list[LIST_RUNS];
	for (unsigned i = 0; i < LIST_RUNS; i++)
		if ((list[i] = run_list(argv[2], tree)) < 0) {
			fprintf(stderr, "bench-api: %s -j list failed\n", argv[2]);
			return 1;
		}
	double list50 = pct(list, LIST_RUNS, 0.5) * 1e3, list99 = pct(list, LIST_RUNS, 0.99) * 1e3;

	/* SQLite alone on the same disk: as many transactions as the pairs
	 * of one run committed. */
	struct ledger *l = NULL;
	_cleanup_free_ char *error = NULL;
	if ((r = ledger_open_file(scratch, &l, &error)) < 0) {
		fprintf(stderr, "bench-api: %s\n", error ? error : strerror(-r));
		return 1;
	}
	unsigned rows = 2 * pairs;
	t0 = now_s();
	if ((r = ledger_bench_single_rows(l, rows)) < 0) {
		fprintf(stderr, "bench-api: %s\n", ledger_error(l));
		return 1;
	}
	double row_rate = rows / (now_s() - t0);
	ledger_close(l);

	printf("claim+release pairs through the API, 1 client:   %8.1f /s  (%u pairs; claim p50 %.2f ms, p99 %.2f ms)\n",
	       rate1, pairs, p50_1, p99_1);
	printf("claim+release pairs through the API, %u clients: %8.1f /s  (%u pairs; claim p50 %.2f ms, p99 %.2f ms)\n",
	       MAX_CLIENTS, rate16, pairs / MAX_CLIENTS * MAX_CLIENTS, p50_16, p99_16);
	printf("SQLite single-row transactions:                 %8.1f /s  (%u; WAL, synchronous=FULL, same disk;\n"
	       "                                                           a pair is 2: %.1f pairs/s is the ceiling)\n",
	       row_rate, rows, row_rate / 2);
	printf("ratio pairs / transactions:                     %8.1f %% (1 client), %.1f %% (%u clients)\n",
	       100.0 * rate1 / row_rate, 100.0 * rate16 / row_rate, MAX_CLIENTS);
	printf("GET /v1/inventory (%u VFs, from the model):    p50 %7.2f ms, p99 %7.2f ms  (the first, made: %.2f ms)\n",
	       pfs * vfs, inv50, inv99, inv_first * 1e3);
	printf("sriovctl -j list (reads the tree, a process):   p50 %7.2f ms, p99 %7.2f ms  (%u runs)\n", list50, list99,
	       LIST_RUNS);
	fakesysfs_rmtree(root);
	fakesysfs_rmtree(state);
	return 0;
}

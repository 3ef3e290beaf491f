/* Claims benchmark: claim+release pairs per second through claim/ (the
 * ledger, the host lock and the matcher) on a generated tree of many VFs,
 * with the netlink part off (claim_env.no_host), next to SQLite's own rate
 * of durable single-row transactions (WAL, synchronous=FULL) in the same
 * folder, on the same disk.
 *   bench-claims [PFS VFS [PAIRS [LEDGER_DIR]]]
 * The tree is generated on tmpfs (/dev/shm, or $TMPDIR); the ledger goes in
 * LEDGER_DIR (default /var/tmp), so that its commits reach a real disk.
 * Figures, not pass/fail. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "claim/claim.h"
#include "config/config.h"
#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "util/util.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_arg(const char *s, uint32_t *ret)
{
	return parse_u32(s, 10, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	uint32_t pfs = 64, vfs = 64, pairs = 200;
	const char *ledger_dir = argc > 4 ? argv[4] : "/var/tmp";
	if ((argc > 1 && parse_arg(argv[1], &pfs) < 0) || (argc > 2 && parse_arg(argv[2], &vfs) < 0) ||
	    (argc > 3 && parse_arg(argv[3], &pairs) < 0)) {
		fprintf(stderr, "usage: bench-claims [PFS VFS [PAIRS [LEDGER_DIR]]]\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char root[512], state[512], conf[600];
	snprintf(root, sizeof(root), "%s/sriovd-bench-claims-XXXXXX", tmp);
	snprintf(state, sizeof(state), "%s/sriovd-bench-ledger-XXXXXX", ledger_dir);
	if (!mkdtemp(root) || !mkdtemp(state)) {
		perror("mkdtemp");
		return 1;
	}
	int r = fakesysfs_build_grid(root, pfs, vfs);
	if (r < 0) {
		fprintf(stderr, "cannot build the tree: %s\n", strerror(-r));
		return 1;
	}
	/* The alias the requests name: any 8086:10ca VF. */
	snprintf(conf, sizeof(conf), "%s/sriovd.conf", state);
	FILE *f = fopen(conf, "we");
	if (!f) {
		perror("config");
		return 1;
	}
	fputs("version: 1\naliases:\n  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}\n", f);
	fclose(f);
	struct config *cfg = NULL;
	_cleanup_free_ char *error = NULL;
	if ((r = config_load(conf, NULL, &cfg, &error)) < 0) {
		fprintf(stderr, "config: %s\n", error ? error : strerror(-r));
		return 1;
	}
	struct ledger *l = NULL;
	if ((r = ledger_open(root, state, &l, &error)) < 0) {
		fprintf(stderr, "%s\n", error ? error : strerror(-r));
		return 1;
	}
	struct inventory_opts io = {.sysfs_root = root};
	struct pci_tree *t = NULL;
	double t0 = now_s();
	if ((r = inventory_load(&io, &t)) < 0) {
		fprintf(stderr, "scan: %s\n", strerror(-r));
		return 1;
	}
	double scan_s = now_s() - t0;
	char bind_dir[600];
	snprintf(bind_dir, sizeof(bind_dir), "%s/bind", state);
	struct claim_env env = {
		.apply = {.lifecycle = {.sysfs_root = root, .state_dir = bind_dir}},
		.cfg = cfg,
		.ledger = l,
		.no_host = true,
		.tree = t,
	};
	printf("tree: %u PFs x %u VFs = %zu VFs (scan %.1f ms, done once); ledger in %s\n", pfs, vfs,
	       pci_tree_count_vfs(t), scan_s * 1e3, state);

	/* Each pair: one consumer claims one VF by alias, then releases it;
	 * a few consumers keep holding VFs so that matching has holds to
	 * step over. */
	static const char *const held[] = {"00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"};
	for (size_t i = 0; i < ARRAY_SIZE(held); i++) {
		struct claim_request req = {.consumer = held[i], .kind = LEDGER_KIND_ALIAS, .what = "nic:16", .vlan = -1};
		struct claim_result res;
		if ((r = claim_run(&env, &req, &res, &error)) < 0) {
			fprintf(stderr, "claim: %s\n", error ? error : strerror(-r));
			return 1;
		}
		claim_result_done(&res);
	}
	double claim_total = 0;
	t0 = now_s();
	for (uint32_t i = 0; i < pairs; i++) {
		double c0 = now_s();
		char consumer[40];
		snprintf(consumer, sizeof(consumer), "10000000-0000-4000-8000-%012x", i);
		struct claim_request req = {.consumer = consumer, .kind = LEDGER_KIND_ALIAS, .what = "nic:1", .vlan = -1};
		struct claim_result res;
		if ((r = claim_run(&env, &req, &res, &error)) < 0) {
			fprintf(stderr, "claim %u: %s\n", i, error ? error : strerror(-r));
			return 1;
		}
		claim_result_done(&res);
		claim_total += now_s() - c0;
		struct release_result rel;
		if ((r = release_run(&env, consumer, 0, &rel, &error)) < 0 || rel.n != 1) {
			fprintf(stderr, "release %u: %s\n", i, error ? error : "nothing released");
			return 1;
		}
		release_result_done(&rel);
	}
	double pairs_s = now_s() - t0;
	double pair_rate = pairs / pairs_s;

	/* SQLite alone: as many single-row transactions as the pairs made
	 * (each pair commits twice: the claim, the release). */
	unsigned rows = pairs * 2;
	t0 = now_s();
	if ((r = ledger_bench_single_rows(l, rows)) < 0) {
		fprintf(stderr, "%s\n", ledger_error(l));
		return 1;
	}
	double rows_s = now_s() - t0;
	double row_rate = rows / rows_s;

	printf("claim+release pairs:            %8.1f /s  (%u pairs in %.2f s; 2 durable commits each;\n"
	       "                                            claim %.2f ms, release %.2f ms on average)\n",
	       pair_rate, pairs, pairs_s, claim_total * 1e3 / pairs, (pairs_s - claim_total) * 1e3 / pairs);
	printf("SQLite single-row transactions: %8.1f /s  (%u in %.2f s; WAL, synchronous=FULL, same disk)\n", row_rate,
	       rows, rows_s);
	printf("ratio pairs / transactions:     %8.1f %%  (a pair is 2 transactions: 50%% is the ceiling)\n",
	       100.0 * pair_rate / row_rate);
	printf("ratio commits / transactions:   %8.1f %%  (the pairs' 2 commits each against SQLite's rate)\n",
	       200.0 * pair_rate / row_rate);
	pci_tree_free(t);
	ledger_close(l);
	config_free(cfg);
	fakesysfs_rmtree(root);
	fakesysfs_rmtree(state);
	return 0;
}

/* Crash and load test of sriovd's claims API: CLIENTS concurrent clients
 * (threads, each with its own consumers) claim one VF and release it, over
 * and over, through the API socket (client/), against sriovd on a
 * generated tree of PFS x VFS VFs (netlink off), while sriovd is killed
 * with SIGKILL about once a second and started again. A client whose
 * request got no answer (the connection failed or was cut) counts that
 * request as unknown, never as acknowledged, and asks again: a claim is
 * idempotent per consumer (200 for a repeat), a release of what is
 * released answers 200 with nothing released.
 *
 * Afterwards sriovd is started once more (it rolls back what a kill left
 * pending) and stopped, and the ledger's SQLite file is read directly
 * (sqlite3, not sriovd's answers), checking:
 *   - no VF held by two consumers;
 *   - every claim acknowledged (201/200) and not released is active, with
 *     the consumer and the VF the answer gave;
 *   - every release acknowledged left its claim released;
 *   - every claim in the ledger is one that a client was answered for;
 *   - the audit history agrees with the claims table: one claim and one
 *     active line per claim, one release line per released claim and none
 *     for an active one, in that order of seq; seq and time never go back;
 *   - no claim is still pending.
 * Prints the operations done, the kills survived (and how long a restart
 * took until sriovd served claims) and the violations found;
 * exits 0 only with no violation (1 with some, 2 for bad usage, 3 when it
 * could not run at all).
 *   api-crash SRIOVD [SECONDS [CLIENTS [PFS VFS]]]   (30 s, 64 clients, 64 x 64)
 * The tree, the ledger and the socket go in a fresh folder in $TMPDIR
 * (else /dev/shm when it has the inodes for the tree, else /var/tmp). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "client/client.h"
#include "fakesysfs.h"
#include "sriovd-run.h"
#include "util/util.h"

/* How long the clients may go on after the deadline to get their last
 * answer (sriovd is up and no longer killed then). */
#define GRACE_S 120
/* How long a start may take until sriovd serves claims (its first apply). */
#define START_TIMEOUT_MS 120000
#define RETRY_SLEEP_MS 10
#define MAX_LISTED 20 /* violations printed one by one */

/* One consumer's life: its claim, then its release. */
struct op {
	int64_t claim;          /* the acknowledged claim's id; 0 none */
	char address[64];       /* the VF the answer gave */
	bool claim_acked;       /* 201/200 with the claim */
	bool release_tried;     /* a release was sent (answered or not) */
	bool release_acked;     /* 200 */
};

struct worker {
	pthread_t thread;
	unsigned index;
	struct op *ops; /* by consumer sequence number */
	size_t n_ops, cap;
	uint64_t acked, unknown, refused, busy;
};

static const char *sock_path;
static atomic_bool stop;       /* the deadline passed: finish the pair in hand */
static atomic_bool give_up;    /* the grace ran out */

static void consumer_of(unsigned client, size_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%08x-0000-4000-8000-%012zx", client + 1, seq);
}

/* Client and sequence number back from a consumer this test made. */
static bool consumer_parse(const char *s, unsigned *ret_client, size_t *ret_seq)
{
	unsigned c;
	unsigned long long q;
	int end = 0;
	if (sscanf(s, "%8x-0000-4000-8000-%12llx%n", &c, &q, &end) != 2 || end != 36 || s[end] || c == 0)
		return false;
	*ret_client = c - 1;
	*ret_seq = (size_t)q;
	return true;
}

/* One request until it is answered with something other than 503 (or the
 * grace runs out: 0). Each request without an answer counts as unknown. */
static long ask(struct worker *w, const char *method, const char *path, const char *body, json_t **ret_doc)
{
	struct client_opts o = {.connect_timeout_ms = 2000, .timeout_ms = 60000};
	*ret_doc = NULL;
	while (!atomic_load(&give_up)) {
		struct client_response rs = {0};
		_cleanup_free_ char *error = NULL;
		int r = client_send(sock_path, &o, method, path, body, body ? strlen(body) : 0, &rs, &error);
		if (r < 0) {
			w->unknown++;
			sriovd_run_sleep_ms(RETRY_SLEEP_MS);
			continue;
		}
		long status = rs.status;
		if (status == 503 || status == 429) {
			w->busy++;
			client_response_done(&rs);
			sriovd_run_sleep_ms(RETRY_SLEEP_MS);
			continue;
		}
		*ret_doc = json_loadb(rs.body ? rs.body : "", rs.len, 0, NULL);
		client_response_done(&rs);
		return status;
	}
	return 0;
}

static struct op *op_new(struct worker *w)
{
	if (w->n_ops == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct op *v = realloc(w->ops, cap * sizeof(*v));
		if (!v)
			return NULL;
		w->ops = v;
		w->cap = cap;
	}
	struct op *o = &w->ops[w->n_ops++];
	*o = (struct op){0};
	return o;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load(&stop)) {
		size_t seq = w->n_ops;
		struct op *o = op_new(w);
		if (!o)
			break;
		char consumer[64], body[160], path[128];
		consumer_of(w->index, seq, consumer, sizeof(consumer));
		snprintf(body, sizeof(body), "{\"consumer\": \"%s\", \"request\": \"nic:1\"}", consumer);
		json_t *doc;
		long st = ask(w, "POST", "/v1/claims", body, &doc);
		json_t *claim = json_object_get(doc, "claim");
		json_t *dev = json_array_get(json_object_get(claim, "devices"), 0);
		const char *addr = json_string_value(json_object_get(dev, "address"));
		if ((st == 201 || st == 200) && json_is_integer(json_object_get(claim, "id")) && addr) {
			o->claim = json_integer_value(json_object_get(claim, "id"));
			snprintf(o->address, sizeof(o->address), "%s", addr);
			o->claim_acked = true;
			w->acked++;
		} else if (st) {
			w->refused++; /* answered, no claim: nothing to release */
		}
		json_decref(doc);
		if (!o->claim_acked)
			continue;
		/* Half by the claim's id, half by the consumer. */
		if (seq % 2)
			snprintf(path, sizeof(path), "/v1/claims/%" PRId64, o->claim);
		else
			snprintf(path, sizeof(path), "/v1/consumers/%s", consumer);
		o->release_tried = true;
		st = ask(w, "DELETE", path, NULL, &doc);
		json_decref(doc);
		if (st == 200) {
			o->release_acked = true;
			w->acked++;
		} else if (st) {
			w->refused++;
		}
	}
	return NULL;
}

/* --- the ledger, read directly -------------------------------------------------------------- */

struct checks {
	sqlite3 *db;
	struct worker *w;
	unsigned n_workers;
	uint64_t violations;
	uint64_t claims, released, audit_lines;
};

static void violation(struct checks *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct checks *c, const char *fmt, ...)
{
	if (c->violations++ < MAX_LISTED) {
		va_list ap;
		va_start(ap, fmt);
		fputs("violation: ", stdout);
		vprintf(fmt, ap);
		putchar('\n');
		va_end(ap);
	}
}

static sqlite3_stmt *query(struct checks *c, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
		violation(c, "the ledger cannot be read: %s: %s", sql, sqlite3_errmsg(c->db));
		return NULL;
	}
	return s;
}

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

/* What the audit history says of one claim. */
struct claim_audit {
	int64_t claim_seq, active_seq, release_seq;
	unsigned n_claim, n_active, n_release;
};

static void check_ledger(struct checks *c)
{
	sqlite3_stmt *s;
	/* No VF held by two consumers. */
	if ((s = query(c, "SELECT d.address, COUNT(DISTINCT k.consumer) FROM claim_devices d JOIN claims k"
			  " ON k.id = d.claim WHERE k.state IN ('pending', 'active', 'lost', 'unclean')"
			  " GROUP BY d.address HAVING COUNT(DISTINCT k.consumer) > 1"))) {
		while (sqlite3_step(s) == SQLITE_ROW)
			violation(c, "%s is held by %d consumers", col(s, 0), sqlite3_column_int(s, 1));
		sqlite3_finalize(s);
	}
	if ((s = query(c, "SELECT id, consumer FROM claims WHERE state = 'pending'"))) {
		while (sqlite3_step(s) == SQLITE_ROW)
			violation(c, "claim %s of %s is still pending after a restart", col(s, 0), col(s, 1));
		sqlite3_finalize(s);
	}

	/* The audit history, by claim id. */
	int64_t max_id = 0;
	if ((s = query(c, "SELECT COALESCE(MAX(id), 0) FROM claims"))) {
		if (sqlite3_step(s) == SQLITE_ROW)
			max_id = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	struct claim_audit *au = calloc((size_t)max_id + 1, sizeof(*au));
	if (!au) {
		violation(c, "out of memory");
		return;
	}
	if ((s = query(c, "SELECT seq, time, event, claim FROM audit ORDER BY seq"))) {
		int64_t last_seq = 0, last_time = 0;
		while (sqlite3_step(s) == SQLITE_ROW) {
			int64_t seq = sqlite3_column_int64(s, 0), t = sqlite3_column_int64(s, 1);
			const char *ev = col(s, 2);
			int64_t id = sqlite3_column_int64(s, 3);
			c->audit_lines++;
			if (seq <= last_seq)
				violation(c, "audit seq %" PRId64 " follows %" PRId64, seq, last_seq);
			if (t < last_time)
				violation(c, "audit seq %" PRId64 " is older (%" PRId64 ") than the line before (%" PRId64 ")",
					  seq, t, last_time);
			last_seq = seq;
			last_time = t;
			if (sqlite3_column_type(s, 3) == SQLITE_NULL)
				continue;
			if (id < 1 || id > max_id) {
				/* A claim deleted after its host steps failed keeps its lines. */
				if (strcmp(ev, "failed") != 0 && strcmp(ev, "claim") != 0)
					violation(c, "audit seq %" PRId64 " (%s) names claim %" PRId64 ", which is not recorded",
						  seq, ev, id);
				continue;
			}
			struct claim_audit *a = &au[id];
			if (strcmp(ev, "claim") == 0) {
				a->n_claim++;
				a->claim_seq = seq;
			} else if (strcmp(ev, "active") == 0) {
				a->n_active++;
				a->active_seq = seq;
			} else if (strcmp(ev, "release") == 0) {
				a->n_release++;
				a->release_seq = seq;
			}
		}
		sqlite3_finalize(s);
	}

	/* Every claim of the ledger against its history and against what the
	 * clients were answered. */
	if ((s = query(c, "SELECT k.id, k.consumer, k.state, (SELECT group_concat(address) FROM claim_devices"
			  " WHERE claim = k.id) FROM claims k ORDER BY k.id"))) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(s, 0);
			const char *consumer = col(s, 1), *state = col(s, 2), *devs = col(s, 3);
			bool released = strcmp(state, "released") == 0;
			c->claims++;
			c->released += released;
			const struct claim_audit *a = &au[id];
			if (a->n_claim != 1 || a->n_active != 1 || a->claim_seq > a->active_seq)
				violation(c, "claim %" PRId64 " has %u claim and %u active lines in the history (want 1 each, in order)",
					  id, a->n_claim, a->n_active);
			if (a->n_release != (released ? 1u : 0u) || (released && a->release_seq < a->active_seq))
				violation(c, "claim %" PRId64 " is %s and has %u release lines in the history", id, state,
					  a->n_release);
			unsigned client;
			size_t seq;
			const struct op *o = NULL;
			if (consumer_parse(consumer, &client, &seq) && client < c->n_workers && seq < c->w[client].n_ops)
				o = &c->w[client].ops[seq];
			if (!o || !o->claim_acked || o->claim != id) {
				violation(c, "claim %" PRId64 " of %s (%s) was never acknowledged to its client", id, consumer,
					  state);
				continue;
			}
			if (strcmp(devs, o->address) != 0)
				violation(c, "claim %" PRId64 " holds %s, the answer said %s", id, devs, o->address);
			if (o->release_acked && !released)
				violation(c, "claim %" PRId64 " of %s: its release was acknowledged, the ledger has it %s", id,
					  consumer, state);
			if (!o->release_tried && strcmp(state, "active") != 0)
				violation(c, "claim %" PRId64 " of %s: acknowledged and never released, the ledger has it %s",
					  id, consumer, state);
		}
		sqlite3_finalize(s);
	}
	/* Every acknowledged claim is in the ledger. */
	for (unsigned i = 0; i < c->n_workers; i++)
		for (size_t q = 0; q < c->w[i].n_ops; q++) {
			const struct op *o = &c->w[i].ops[q];
			if (o->claim_acked && (o->claim < 1 || o->claim > max_id)) {
				char consumer[64];
				consumer_of(i, q, consumer, sizeof(consumer));
				violation(c, "claim %" PRId64 " of %s was acknowledged and is not in the ledger", o->claim,
					  consumer);
			}
		}
	free(au);
}

/* --- main --------------------------------------------------------------------------------- */

static int parse_arg(const char *s, uint32_t *ret)
{
	return parse_u32(s, 10, ret) < 0 || *ret == 0 ? -EINVAL : 0;
}

static const char *pick_tmp(unsigned vfs)
{
	const char *tmp = getenv("TMPDIR");
	if (tmp && *tmp)
		return tmp;
	struct statvfs sv;
	/* About 40 inodes a VF. */
	if (statvfs("/dev/shm", &sv) == 0 && sv.f_favail > (fsfilcnt_t)vfs * 80 && access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/var/tmp";
}

/* How long each restart of the killer's took until sriovd served claims. */
#define MAX_RESTARTS 4096
static uint64_t restart_ms[MAX_RESTARTS];
static size_t n_restart_ms;

static void restart_ms_add(uint64_t ms)
{
	if (n_restart_ms < MAX_RESTARTS)
		restart_ms[n_restart_ms++] = ms;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t restart_ms_pct(double p)
{
	if (!n_restart_ms)
		return 0;
	qsort(restart_ms, n_restart_ms, sizeof(*restart_ms), cmp_u64);
	return restart_ms[(size_t)(p * (double)(n_restart_ms - 1) + 0.5)];
}

int main(int argc, char **argv)
{
	uint32_t seconds = 30, clients = 64, pfs = 64, vfs = 64;
	if (argc < 2 || (argc > 2 && parse_arg(argv[2], &seconds) < 0) ||
	    (argc > 3 && parse_arg(argv[3], &clients) < 0) || (argc > 4 && parse_arg(argv[4], &pfs) < 0) ||
	    (argc > 5 && parse_arg(argv[5], &vfs) < 0) || argc > 6 || clients > 4096) {
		fprintf(stderr, "usage: api-crash SRIOVD [SECONDS [CLIENTS [PFS VFS]]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	_cleanup_free_ char *base = NULL;
	if (asprintf(&base, "%s/sriovd-crash-XXXXXX", pick_tmp(pfs * vfs)) < 0 || !mkdtemp(base)) {
		perror("api-crash: mkdtemp");
		return 3;
	}
	_cleanup_free_ char *tree = path_join(base, "tree"), *state = path_join(base, "state"),
			     *conf = path_join(base, "sriovd.conf"), *status = path_join(base, "status.json"),
			     *log = path_join(base, "sriovd.log"), *sock = path_join(base, "api.sock"),
			     *db_path = path_join(base, "state/ledger.db");
	if (!tree || !state || !conf || !status || !log || !sock || !db_path)
		return 3;
	sock_path = sock;
	int r = fakesysfs_build_grid(tree, pfs, vfs);
	FILE *f = r == 0 ? fopen(conf, "we") : NULL;
	if (!f) {
		fprintf(stderr, "api-crash: cannot build the tree in %s: %s\n", base, strerror(r < 0 ? -r : errno));
		fakesysfs_rmtree(base);
		return 3;
	}
	fputs("version: 1\naliases:\n  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}\n", f);
	fclose(f);
	printf("api-crash: %u clients for %u s on %u PFs x %u VFs = %u VFs in %s\n", clients, seconds, pfs, vfs,
	       pfs * vfs, base);
	fflush(stdout);

	struct sriovd_run d = {.exe = argv[1], .tree = tree, .config = conf, .state = state, .status = status, .log = log,
			       .socket = sock};
	if ((r = sriovd_run_start(&d)) < 0 || !sriovd_run_wait(&d, START_TIMEOUT_MS, true)) {
		fprintf(stderr, "api-crash: %s does not serve on %s (its log: %s)\n", argv[1], sock, log);
		sriovd_run_stop(&d, SIGKILL);
		return 3;
	}
	struct worker *w = calloc(clients, sizeof(*w));
	if (!w)
		return 3;
	for (unsigned i = 0; i < clients; i++) {
		w[i].index = i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "api-crash: cannot start client %u\n", i);
			return 3;
		}
	}

	/* The killer: SIGKILL 0.2-1 s after sriovd serves claims (its first
	 * apply is over), then a new sriovd at once: about once a second when
	 * a start takes a few tenths of a second. */
	uint64_t kills = 0, failed_starts = 0, exits = 0;
	uint64_t t0 = sriovd_run_now_ms(), deadline = t0 + (uint64_t)seconds * 1000;
	unsigned seed = (unsigned)t0;
	while (sriovd_run_now_ms() < deadline) {
		unsigned wait = 200 + (unsigned)(rand_r(&seed) % 800);
		uint64_t until = sriovd_run_now_ms() + wait;
		if (until > deadline)
			until = deadline;
		while (sriovd_run_now_ms() < until && d.pid > 0) {
			int st;
			if (sriovd_run_exited(&d, &st)) {
				fprintf(stderr, "api-crash: sriovd exited by itself (status %d); see %s\n", st, log);
				exits++;
			}
			sriovd_run_sleep_ms(10);
		}
		if (sriovd_run_now_ms() >= deadline)
			break;
		if (d.pid > 0) {
			sriovd_run_stop(&d, SIGKILL);
			kills++;
		}
		uint64_t s0 = sriovd_run_now_ms();
		if (sriovd_run_start(&d) < 0 || !sriovd_run_wait(&d, START_TIMEOUT_MS, true))
			failed_starts++;
		else
			restart_ms_add(sriovd_run_now_ms() - s0);
	}
	/* The deadline: sriovd runs until the clients have their last answers. */
	atomic_store(&stop, true);
	if (d.pid <= 0 && (sriovd_run_start(&d) < 0 || !sriovd_run_wait(&d, START_TIMEOUT_MS, true)))
		failed_starts++;
	uint64_t grace_end = sriovd_run_now_ms() + GRACE_S * 1000;
	for (unsigned i = 0; i < clients; i++) {
		/* Joining in turn; the grace is shared. */
		while (pthread_tryjoin_np(w[i].thread, NULL) != 0) {
			if (sriovd_run_now_ms() > grace_end)
				atomic_store(&give_up, true);
			sriovd_run_sleep_ms(20);
		}
	}
	double run_s = (double)(sriovd_run_now_ms() - t0) / 1000.0;
	/* Once more after the last kill, then a clean stop: what a kill left
	 * pending is rolled back at start. */
	sriovd_run_stop(&d, SIGKILL);
	kills++;
	int final_status = -1;
	if (sriovd_run_start(&d) == 0 && sriovd_run_wait(&d, START_TIMEOUT_MS, true))
		final_status = sriovd_run_stop(&d, SIGTERM);
	else
		failed_starts++;

	uint64_t acked = 0, unknown = 0, refused = 0, busy = 0;
	for (unsigned i = 0; i < clients; i++) {
		acked += w[i].acked;
		unknown += w[i].unknown;
		refused += w[i].refused;
		busy += w[i].busy;
	}
	struct checks c = {.w = w, .n_workers = clients};
	if (sqlite3_open_v2(db_path, &c.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		violation(&c, "the ledger %s cannot be opened: %s", db_path, c.db ? sqlite3_errmsg(c.db) : "out of memory");
	} else {
		sqlite3_busy_timeout(c.db, 10000);
		check_ledger(&c);
	}
	sqlite3_close(c.db);
	if (refused)
		violation(&c, "%" PRIu64 " requests were answered with an error (see %s)", refused, log);
	if (atomic_load(&give_up))
		violation(&c, "the clients had no answer %d s after the deadline", GRACE_S);
	if (exits)
		violation(&c, "sriovd exited by itself %" PRIu64 " times (see %s)", exits, log);
	if (failed_starts)
		violation(&c, "sriovd did not come up %" PRIu64 " times (see %s)", failed_starts, log);
	if (final_status != 0)
		violation(&c, "the last sriovd did not stop cleanly on SIGTERM (status %d)", final_status);

	printf("operations: %" PRIu64 " acknowledged (%.1f /s over %.1f s): claims and releases; "
	       "%" PRIu64 " requests without an answer (retried), %" PRIu64 " answered 503 (retried)\n",
	       acked, (double)acked / run_s, run_s, unknown, busy);
	printf("ledger: %" PRIu64 " claims (%" PRIu64 " released), %" PRIu64 " audit lines\n", c.claims, c.released,
	       c.audit_lines);
	printf("kills survived: %" PRIu64 " (%.2f /s); a restart until it served claims: median %" PRIu64
	       " ms, longest %" PRIu64 " ms (%zu restarts)\n",
	       kills, (double)kills / run_s, restart_ms_pct(0.5), restart_ms_pct(1.0), n_restart_ms);
	printf("violations: %" PRIu64 "\n", c.violations);
	for (unsigned i = 0; i < clients; i++)
		free(w[i].ops);
	free(w);
	if (c.violations == 0)
		fakesysfs_rmtree(base);
	else
		printf("api-crash: kept %s (the ledger, sriovd's log)\n", base);
	return c.violations ? 1 : 0;
}

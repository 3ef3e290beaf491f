/* GET /metrics: the Prometheus text exposition format, version 0.0.4. */
#include <fcntl.h>
#include <stdio.h>

#include "api-private.h"
#include "ledger/ledger.h"
#include "util/fs.h"
#include "util/util.h"

const double api_claim_bucket_s[API_CLAIM_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 10};

void api_stats_claim(struct api_stats *s, double secs)
{
	for (size_t i = 0; i < API_CLAIM_BUCKETS; i++)
		if (secs <= api_claim_bucket_s[i])
			s->claim_le[i]++;
	s->claim_count++;
	s->claim_sum_s += secs;
}

char *api_prom_label_escape(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == '\\' || *p == '"' || *p == '\n' ? 2 : 1;
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* name{kind="...",message="..."} TIME: the last error of a kind, if any. */
static int last_error(FILE *f, const char *kind, const char *msg, time_t at)
{
	if (!msg)
		return 0;
	_cleanup_free_ char *m = api_prom_label_escape(msg);
	if (!m)
		return -ENOMEM;
	fprintf(f, "sriovd_last_error_timestamp_seconds{kind=\"%s\",message=\"%s\"} %lld\n", kind, m, (long long)at);
	return 0;
}

/* The per-VF counters, from two places the kernel keeps them (the label
 * source says which): the PF driver's IFLA_VF_STATS (source="pf"; a driver
 * without ndo_get_vf_stats, igb among them, leaves them at 0: the kernel
 * sends zeros), and the VF's own netdev, ROOT/bus/pci/devices/VF/net/NAME/
 * statistics/ (source="vf_netdev"; only while a kernel driver is bound and
 * the netdev is in sriovd's network namespace). */
#define VF_COUNTER_HELP \
	" source=\"pf\": the PF driver's IFLA_VF_STATS; source=\"vf_netdev\": the VF's own netdev."
static const struct {
	const char *name, *help, *file;
	size_t off;
} vf_counters[] = {
	{"sriovd_vf_rx_packets_total", "Packets the VF received." VF_COUNTER_HELP,
	 "rx_packets", offsetof(struct vf_stats, rx_packets)},
	{"sriovd_vf_tx_packets_total", "Packets the VF sent." VF_COUNTER_HELP,
	 "tx_packets", offsetof(struct vf_stats, tx_packets)},
	{"sriovd_vf_rx_bytes_total", "Bytes the VF received." VF_COUNTER_HELP,
	 "rx_bytes", offsetof(struct vf_stats, rx_bytes)},
	{"sriovd_vf_tx_bytes_total", "Bytes the VF sent." VF_COUNTER_HELP,
	 "tx_bytes", offsetof(struct vf_stats, tx_bytes)},
	{"sriovd_vf_rx_dropped_total", "Received packets dropped." VF_COUNTER_HELP,
	 "rx_dropped", offsetof(struct vf_stats, rx_dropped)},
	{"sriovd_vf_tx_dropped_total", "Packets to send dropped." VF_COUNTER_HELP,
	 "tx_dropped", offsetof(struct vf_stats, tx_dropped)},
};

static uint64_t *counter_of(struct vf_stats *s, size_t c)
{
	return (uint64_t *)((char *)s + vf_counters[c].off);
}

static uint64_t counter_value(const struct vf_stats *s, size_t c)
{
	return *(const uint64_t *)((const char *)s + vf_counters[c].off);
}

/* The counters of vf's netdev (its first, in this namespace): all of them
 * or none (false). rootfd: the sysfs root. */
static bool vf_netdev_stats(int rootfd, const struct pci_function *vf, struct vf_stats *ret)
{
	if (rootfd < 0 || !vf->netdevs || !vf->netdevs[0])
		return false;
	_cleanup_free_ char *rel = NULL;
	if (asprintf(&rel, "bus/pci/devices/%s/net/%s/statistics", vf->addr, vf->netdevs[0]) < 0)
		return false;
	_cleanup_close_ int dfd = fs_open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return false;
	struct vf_stats s = {0};
	for (size_t c = 0; c < ARRAY_SIZE(vf_counters); c++)
		if (read_u64_at(dfd, vf_counters[c].file, 10, counter_of(&s, c)) < 0)
			return false;
	*ret = s;
	return true;
}

/* One VF's rows: its labels and the counters of each source it has. */
struct vf_row {
	const struct pci_function *vf;
	char *consumer; /* escaped */
	struct vf_stats netdev;
	bool has_pf, has_netdev;
};

static void vf_rows_free(struct vf_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].consumer);
	free(rows);
}

static int vf_rows(const char *root, const struct pci_tree *t, const struct ledger_holds *h, struct vf_row **ret,
		   size_t *ret_n)
{
	size_t n = t ? pci_tree_count_vfs(t) : 0, k = 0;
	struct vf_row *rows = n ? calloc(n, sizeof(*rows)) : NULL;
	if (n && !rows)
		return -ENOMEM;
	_cleanup_close_ int rootfd = fs_open_root(root ? root : SYSFS_DEFAULT_ROOT);
	for (size_t i = 0; t && i < t->n_devs; i++) {
		const struct pci_function *pf = t->devs[i];
		for (size_t j = 0; pf->is_pf && j < pf->n_vfs && k < n; j++) {
			struct vf_row *w = &rows[k++];
			w->vf = pf->vfs[j];
			const struct ledger_hold *hold = h ? ledger_holds_find(h, w->vf->addr) : NULL;
			w->consumer = api_prom_label_escape(hold ? hold->consumer : "");
			if (!w->consumer) {
				vf_rows_free(rows, k);
				return -ENOMEM;
			}
			w->has_pf = w->vf->link && vf_has(w->vf->link, VF_FIELD_STATS);
			w->has_netdev = vf_netdev_stats(rootfd, w->vf, &w->netdev);
		}
	}
	*ret = rows;
	*ret_n = k;
	return 0;
}

static void vf_counter_lines(FILE *f, const struct vf_row *rows, size_t n)
{
	for (size_t c = 0; c < ARRAY_SIZE(vf_counters); c++) {
		family(f, vf_counters[c].name, "counter", vf_counters[c].help);
		for (size_t i = 0; i < n; i++) {
			const struct vf_row *w = &rows[i];
			const struct {
				bool has;
				const char *source;
				uint64_t v;
			} src[] = {{w->has_pf, "pf", w->has_pf ? counter_value(&w->vf->link->stats, c) : 0},
				   {w->has_netdev, "vf_netdev", counter_value(&w->netdev, c)}};
			for (size_t s = 0; s < ARRAY_SIZE(src); s++)
				if (src[s].has)
					fprintf(f, "%s{pf=\"%s\",vf=\"%u\",vf_pci=\"%s\",consumer=\"%s\",source=\"%s\"} %llu\n",
						vf_counters[c].name, w->vf->pf->addr, w->vf->vf_index, w->vf->addr,
						w->consumer, src[s].source, (unsigned long long)src[s].v);
		}
	}
}

/* The VFs of PF pf out of the pool, by state. */
static void pf_states(const struct ledger_holds *h, const char *pf, unsigned *claimed, unsigned *lost,
		      unsigned *unclean)
{
	for (size_t i = 0; h && i < h->n; i++) {
		if (strcmp(h->v[i].pf, pf) != 0)
			continue;
		if (h->v[i].state == LEDGER_LOST)
			(*lost)++;
		else if (h->v[i].state == LEDGER_UNCLEAN)
			(*unclean)++;
		else
			(*claimed)++;
	}
}

static int write_metrics(struct api *a, FILE *f, const struct pci_tree *t, const struct ledger_holds *h)
{
	const struct api_stats *st = a->src.stats;
	static const struct api_stats none;
	if (!st)
		st = &none;
	family(f, "sriovd_ready", "gauge", "1 once the first apply is done.");
	one(f, "sriovd_ready", *a->src.ready);

	family(f, "sriovd_vfs", "gauge", "VFs of each PF by state: free, claimed, lost, unclean.");
	for (size_t i = 0; t && i < t->n_devs; i++) {
		const struct pci_function *pf = t->devs[i];
		if (!pf->is_pf)
			continue;
		unsigned claimed = 0, lost = 0, unclean = 0;
		pf_states(h, pf->addr, &claimed, &lost, &unclean);
		unsigned held = claimed + unclean;
		unsigned n = (unsigned)pf->n_vfs, free_ = n > held ? n - held : 0;
		_cleanup_free_ char *netdev = api_prom_label_escape(pf->netdevs ? pf->netdevs[0] : "");
		if (!netdev)
			return -ENOMEM;
		const struct {
			const char *state;
			unsigned n;
		} rows[] = {{"free", free_}, {"claimed", claimed}, {"lost", lost}, {"unclean", unclean}};
		for (size_t k = 0; k < ARRAY_SIZE(rows); k++)
			fprintf(f, "sriovd_vfs{pf=\"%s\",pf_netdev=\"%s\",state=\"%s\"} %u\n", pf->addr, netdev,
				rows[k].state, rows[k].n);
	}

	family(f, "sriovd_claims_total", "counter", "Claims made (idempotent repeats not counted).");
	one(f, "sriovd_claims_total", st->claims);
	family(f, "sriovd_releases_total", "counter", "Claims released.");
	one(f, "sriovd_releases_total", st->releases);
	family(f, "sriovd_claim_duration_seconds", "histogram", "Time a claim took, until recorded.");
	for (size_t i = 0; i < API_CLAIM_BUCKETS; i++)
		fprintf(f, "sriovd_claim_duration_seconds_bucket{le=\"%g\"} %llu\n", api_claim_bucket_s[i],
			(unsigned long long)st->claim_le[i]);
	fprintf(f, "sriovd_claim_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)st->claim_count);
	fprintf(f, "sriovd_claim_duration_seconds_sum %.6f\n", st->claim_sum_s);
	fprintf(f, "sriovd_claim_duration_seconds_count %llu\n", (unsigned long long)st->claim_count);

	family(f, "sriovd_applies_total", "counter", "Apply runs (start, reload, repairs).");
	one(f, "sriovd_applies_total", st->applies);
	family(f, "sriovd_apply_errors_total", "counter", "Apply runs that failed or were refused.");
	one(f, "sriovd_apply_errors_total", st->apply_errors);
	family(f, "sriovd_heals_total", "counter", "Repairs of drift (applies after a change behind sriovd's back).");
	one(f, "sriovd_heals_total", st->heals);
	family(f, "sriovd_heal_errors_total", "counter", "Repairs that failed or were refused.");
	one(f, "sriovd_heal_errors_total", st->heal_errors);
	family(f, "sriovd_last_error_timestamp_seconds", "gauge",
	       "When the last apply (kind=apply) or repair (kind=heal) error happened, with its message.");
	if (last_error(f, "apply", st->last_apply_error, st->last_apply_error_at) < 0 ||
	    last_error(f, "heal", st->last_heal_error, st->last_heal_error_at) < 0)
		return -ENOMEM;
	family(f, "sriovd_drift", "gauge", "Changes still wanted after the last reconcile (missing PFs included).");
	one(f, "sriovd_drift", st->drift);

	struct vf_row *rows = NULL;
	size_t n = 0;
	int r = vf_rows(a->src.env->lifecycle.sysfs_root, t, h, &rows, &n);
	if (r == 0)
		vf_counter_lines(f, rows, n);
	vf_rows_free(rows, n);
	return r;
}

int api_metrics(struct api *a, char **ret, size_t *ret_len)
{
	const char *root = a->src.env->lifecycle.sysfs_root;
	struct inventory_opts o = {.sysfs_root = root, .netlink = inventory_root_is_live(root), .stats = true};
	struct pci_tree *t = NULL;
	/* An unreadable tree: the daemon's own counters still count. */
	if ((a->src.load ? a->src.load(&o, &t) : inventory_load(&o, &t)) < 0)
		t = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		pci_tree_free(t);
		return -ENOMEM;
	}
	/* No ledger (none yet, or unreadable): nothing is held. */
	struct ledger_holds holds = {0};
	_cleanup_free_ char *error = NULL;
	struct ledger *l = a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL;
	bool have = l && ledger_holds(l, &holds) == 0;
	int r = write_metrics(a, f, t, have ? &holds : NULL);
	if (have)
		ledger_holds_done(&holds);
	pci_tree_free(t);
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

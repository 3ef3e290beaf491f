/* sriovctl stats DEV: per-VF counters as the PF's driver keeps them
 * (IFLA_VF_STATS): of every VF when DEV is a PF, of one VF otherwise. */
#include "cli.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

static json_t *json_stats(const struct pci_tree *t, const struct pci_function *const *vfs, size_t n)
{
	json_t *o = json_document();
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct pci_function *vf = vfs[i];
		json_t *j = json_object();
		json_object_set_new(j, "address", json_string(vf->addr));
		json_object_set_new(j, "pf", json_string(vf->pf->addr));
		json_object_set_new(j, "vf_index", json_integer(vf->vf_index));
		json_t *link = vf->link ? json_vf_settings(vf->link) : NULL;
		json_t *st = link ? json_object_get(link, "stats") : NULL;
		json_object_set(j, "stats", st ? st : json_null());
		json_decref(link);
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "vfs", a);
	json_object_set_new(o, "warnings", json_warnings(t));
	return o;
}

static void text_stats(FILE *out, const struct pci_function *const *vfs, size_t n)
{
	text_printf(out, "%-4s %-12s %12s %14s %12s %14s %10s %10s %10s %10s\n", "VF", "ADDRESS", "RX_PACKETS",
		"RX_BYTES", "TX_PACKETS", "TX_BYTES", "BROADCAST", "MULTICAST", "RX_DROP", "TX_DROP");
	for (size_t i = 0; i < n; i++) {
		const struct pci_function *vf = vfs[i];
		if (!vf->link || !vf_has(vf->link, VF_FIELD_STATS)) {
			text_printf(out, "%-4u %-12s %s\n", vf->vf_index, vf->addr, "(no counters reported)");
			continue;
		}
		const struct vf_stats *s = &vf->link->stats;
		text_printf(out, "%-4u %-12s %12llu %14llu %12llu %14llu %10llu %10llu %10llu %10llu\n", vf->vf_index,
			vf->addr, (unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
			(unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes,
			(unsigned long long)s->broadcast, (unsigned long long)s->multicast,
			(unsigned long long)s->rx_dropped, (unsigned long long)s->tx_dropped);
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first >= argc)
		return cli_usage_error("stats: missing DEV (a PF, or a VF as PF#N, PCI address or netdev)");
	if (first + 1 < argc)
		return cli_usage_error("stats: unexpected argument '%s'", QUOTE(argv[first + 1]));

	struct pci_tree *t;
	if ((r = cli_load_inventory(cli, false, true, &t)))
		return r;
	struct pci_function *d;
	_cleanup_free_ char *error = NULL;
	if ((r = inventory_resolve(t, argv[first], &d, &error)) < 0) {
		r = cli_error("stats: %s", error ? error : strerror(-r));
		goto out;
	}
	const struct pci_function *const *vfs;
	size_t n;
	if (d->is_pf) {
		vfs = (const struct pci_function *const *)d->vfs;
		n = d->n_vfs;
	} else if (d->pf) {
		vfs = (const struct pci_function *const *)&d;
		n = 1;
	} else {
		r = cli_error("stats: %s (%s) is neither an SR-IOV PF nor a VF", QUOTE(argv[first]), d->addr);
		goto out;
	}
	const struct pci_function *pf = d->is_pf ? d : d->pf;
	if (!pf->netdevs) {
		r = cli_error("stats: %s (%s, driver %s) has no network interface: its VFs have no counters over "
			      "rtnetlink", pf->addr, pf->addr, pf->driver ? pf->driver : "none");
		goto out;
	}
	cli_print_warnings(cli, t);
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("stats", json_stats(t, vfs, n));
	else
		text_stats(stdout, vfs, n);
out:
	pci_tree_free(t);
	return r;
}

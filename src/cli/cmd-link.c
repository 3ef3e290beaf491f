/* sriovctl mtu DEV N and sriovctl link DEV up|down: a PF's or a VF's own
 * netdev, over rtnetlink (IFLA_MTU; IFF_UP). DEV is a netdev, a PCI address
 * or PF#N. A VF's MTU cannot exceed its PF's: refused before anything is
 * sent, as bad input. The kernel's own refusal (a driver's max_mtu...) is
 * reported as it is, and an EOPNOTSUPP is remembered in the driver
 * capability table (caps/). */
#include "caps/caps.h"
#include "cli.h"
#include "config/config.h"
#include "netlink/rtnl.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

#ifndef IFF_UP
#define IFF_UP 0x1
#endif

struct link_want {
	const char *verb;    /* "mtu", "link" */
	const char *setting; /* "mtu", "up" */
	uint32_t mtu;        /* mtu */
	bool up;             /* link */
	const char *value;   /* as typed */
};

static json_t *json_link(const struct pci_function *d, const struct link_want *w, const char *previous, bool changed)
{
	json_t *o = json_document();
	json_object_set_new(o, "address", json_string(d->addr));
	json_object_set_new(o, "netdev", json_string(d->netdevs[0]));
	json_object_set_new(o, "setting", json_string(w->setting));
	json_object_set_new(o, "previous", previous ? json_string(previous) : json_null());
	json_object_set_new(o, "value", json_string(w->mtu ? w->value : w->up ? "up" : "down"));
	json_object_set_new(o, "changed", json_boolean(changed));
	return o;
}

static int link_set(struct cli *cli, const struct link_want *w, const char *spec)
{
	struct pci_tree *t;
	int r = cli_load_inventory(cli, false, false, &t);
	if (r)
		return r;
	struct pci_function *d;
	_cleanup_free_ char *error = NULL;
	if ((r = inventory_resolve(t, spec, &d, &error)) < 0) {
		r = cli_error("%s: %s", w->verb, error ? error : strerror(-r));
		goto out;
	}
	r = EXIT_FAILED;
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(d, label);
	if (!d->netdevs) {
		cli_error("%s %s: %s (driver %s) has no network interface here%s", w->verb, QUOTE(spec), d->addr,
			  d->driver ? d->driver : "none",
			  d->driver && strcmp(d->driver, "vfio-pci") == 0 ? " (a VM's driver sets its MTU)" : "");
		goto out;
	}
	if (w->mtu && d->pf && d->pf->netdevs && d->pf->netdev_mtu && w->mtu > d->pf->netdev_mtu) {
		r = cli_usage_error("%s %s %u: above the MTU %u of its PF %s; a VF's MTU cannot exceed its PF's (sriovctl mtu %s %u "
				    "first)", w->verb, QUOTE(spec), w->mtu, d->pf->netdev_mtu, d->pf->netdevs[0], d->pf->netdevs[0],
				    w->mtu);
		goto out;
	}
	if (!inventory_root_is_live(cli->sysfs_root)) {
		cli_error("%s: --sysfs-root %s is not this kernel's /sys: netdevs can be changed only on the live host", w->verb,
			  QUOTE(cli->sysfs_root));
		goto out;
	}
	if ((r = cli_host_lock(cli, w->verb)))
		goto out;
	char previous[16] = "";
	bool known = w->mtu ? d->netdev_mtu != 0 : d->netdev_flags_valid;
	if (w->mtu)
		snprintf(previous, sizeof(previous), "%u", d->netdev_mtu);
	else
		snprintf(previous, sizeof(previous), "%s", d->netdev_flags & IFF_UP ? "up" : "down");
	bool same = known && (w->mtu ? d->netdev_mtu == w->mtu : !!(d->netdev_flags & IFF_UP) == w->up);

	struct rtnl *nl = NULL;
	if (!same && (r = rtnl_open(&nl)) < 0) {
		r = cli_error("%s: cannot open rtnetlink: %s", w->verb, strerror(-r));
		goto out;
	}
	if (!same) {
		r = w->mtu ? rtnl_set_link_mtu(nl, d->netdevs[0], w->mtu) : rtnl_set_link_up(nl, d->netdevs[0], w->up);
		if (r < 0) {
			const char *ack = rtnl_last_error_message(nl), *name = strerrorname_np(-r);
			/* A driver that lacks the setting: the table remembers it. */
			const char *driver = d->driver;
			if (r == -EOPNOTSUPP && driver) {
				struct lifecycle_env env;
				struct lifecycle_rtnl rt = {0};
				cli_lifecycle_env(cli, &env, &rt);
				(void)caps_learn(&env, driver, w->setting, r);
				lifecycle_rtnl_done(&rt);
			}
			r = cli_error("%s %s %s: %s (%s, driver %s): %s [%s]%s%s", w->verb, QUOTE(spec), w->value, d->netdevs[0],
				      d->addr, driver ? driver : "none", strerror(-r), name ? name : "?", ack ? "; kernel: " : "",
				      ack ? ack : "");
			rtnl_close(nl);
			goto out;
		}
		rtnl_close(nl);
	}
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json(w->verb, json_link(d, w, known ? previous : NULL, !same));
	else if (same)
		text_printf(stdout, "%s: %s is already %s\n", label, w->setting, w->mtu ? w->value : w->up ? "up" : "down");
	else
		text_printf(stdout, "%s: %s %s -> %s\n", label, w->setting, known ? previous : "?",
			    w->mtu ? w->value : w->up ? "up" : "down");
out:
	pci_tree_free(t);
	return r;
}

int cmd_mtu(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first + 2 > argc)
		return cli_usage_error("mtu: missing %s (mtu DEV N)", first >= argc ? "DEV" : "N");
	if (first + 2 < argc)
		return cli_usage_error("mtu: unexpected argument '%s'", QUOTE(argv[first + 2]));
	struct link_want w = {.verb = "mtu", .setting = "mtu", .value = argv[first + 1]};
	if (parse_u32(w.value, 10, &w.mtu) < 0 || w.value[0] == '+' || w.mtu < CONFIG_MTU_MIN || w.mtu > CONFIG_MTU_MAX)
		return cli_usage_error("mtu %s: '%s' is not an MTU (%u-%u)", QUOTE(argv[first]), QUOTE(w.value), CONFIG_MTU_MIN,
				       CONFIG_MTU_MAX);
	return link_set(cli, &w, argv[first]);
}

int cmd_link(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first + 2 > argc)
		return cli_usage_error("link: missing %s (link DEV up|down)", first >= argc ? "DEV" : "up or down");
	if (first + 2 < argc)
		return cli_usage_error("link: unexpected argument '%s'", QUOTE(argv[first + 2]));
	struct link_want w = {.verb = "link", .setting = "up", .value = argv[first + 1]};
	if (strcmp(w.value, "up") == 0)
		w.up = true;
	else if (strcmp(w.value, "down") != 0)
		return cli_usage_error("link %s: '%s' is not up or down", QUOTE(argv[first]), QUOTE(w.value));
	return link_set(cli, &w, argv[first]);
}

/* sriovctl vf set VF SETTING VALUE...: one VF's L2 settings, all or nothing.
 *
 * The settings of one call go to the kernel as one batch of RTM_SETLINK
 * messages, each answered on its own; when any is refused, the ones already
 * accepted are put back and the output says so. */
#include "cli.h"
#include "apply/apply.h"
#include "apply/vf-mac.h"
#include "caps/caps.h"
#include "netlink/rtnl.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

/* Why a driver may answer this, in words an operator can act on. */
static const char *hint(enum vf_field f, int error, const char *driver)
{
	static char buf[RTNL_VF_HINT_MAX];
	return rtnl_vf_error_hint(f, error, driver, buf);
}

static const char *field_status(const struct vf_apply_report *rep, enum vf_field f)
{
	if (rep->result.field[f].error)
		return "failed";
	if (!rep->failed)
		return "ok";
	return rep->rolled_back & VF_HAS(f) ? "rolled_back" : "rollback_failed";
}

static json_t *json_field_error(const struct vf_field_result *res)
{
	if (!res->error)
		return json_null();
	const char *name = strerrorname_np(-res->error);
	return json_string(name ? name : "unknown");
}

static json_t *json_report(const struct pci_function *vf, const struct vf_apply_report *rep, unsigned asked)
{
	json_t *o = json_document();
	json_object_set_new(o, "address", json_string(vf->addr));
	json_object_set_new(o, "pf", json_string(vf->pf->addr));
	json_object_set_new(o, "pf_netdev", json_string(vf->pf->netdevs[0]));
	json_object_set_new(o, "vf_index", json_integer(vf->vf_index));
	json_object_set_new(o, "applied", json_boolean(!rep->failed));
	json_t *a = json_array();
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!(asked & VF_HAS(f)))
			continue;
		const struct vf_field_result *res = &rep->result.field[f];
		char value[VF_MAC_STRLEN], before[VF_MAC_STRLEN];
		vf_field_format(&rep->sent, f, value, sizeof(value));
		vf_field_format(&rep->before, f, before, sizeof(before));
		json_t *j = json_object();
		json_object_set_new(j, "setting", json_string(vf_field_name(f)));
		json_object_set_new(j, "value", json_string(value));
		json_object_set_new(j, "previous", vf_has(&rep->before, f) ? json_string(before) : json_null());
		json_object_set_new(j, "status", json_string(field_status(rep, f)));
		json_object_set_new(j, "error", json_field_error(res));
		json_object_set_new(j, "message", res->error ? json_string(strerror(-res->error)) : json_null());
		const char *h = res->error ? hint(f, res->error, vf->pf->driver) : NULL;
		json_object_set_new(j, "hint", h ? json_string(h) : json_null());
		json_object_set_new(j, "kernel_message", res->message ? json_string(res->message) : json_null());
		if (rep->failed && !res->error && !(rep->rolled_back & VF_HAS(f)))
			json_object_set_new(j, "rollback_error", json_field_error(&rep->rollback.field[f]));
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "settings", a);
	return o;
}

static json_t *json_netdev_mac(json_t *o, const struct vf_netdev_mac_result *m, int r)
{
	json_t *j = json_null();
	if (r == 0 && m->netdev[0]) {
		j = json_object();
		json_object_set_new(j, "netdev", json_string(m->netdev));
		json_object_set_new(j, "changed", json_boolean(m->changed));
		json_object_set_new(j, "driver_reloaded", json_boolean(m->reloaded));
	}
	json_object_set_new(o, "netdev_mac", j);
	return o;
}

static void text_report(FILE *out, const char *spec, const struct pci_function *vf,
			const struct vf_apply_report *rep, unsigned asked)
{
	text_printf(out, "%s (%s, VF %u of %s, driver %s):\n", spec, vf->addr, vf->vf_index, vf->pf->netdevs[0],
		vf->pf->driver ? vf->pf->driver : "-");
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!(asked & VF_HAS(f)))
			continue;
		const struct vf_field_result *res = &rep->result.field[f];
		char value[VF_MAC_STRLEN], before[VF_MAC_STRLEN] = "?";
		vf_field_format(&rep->sent, f, value, sizeof(value));
		if (vf_has(&rep->before, f))
			vf_field_format(&rep->before, f, before, sizeof(before));
		text_printf(out, "  %-10s %-18s ", vf_field_name(f), value);
		if (res->error) {
			const char *name = strerrorname_np(-res->error);
			const char *h = hint(f, res->error, vf->pf->driver);
			text_printf(out, "FAILED: %s [%s]%s%s%s%s\n", strerror(-res->error), name ? name : "?",
				h ? ": " : "", h ? h : "", res->message ? "; kernel: " : "",
				res->message ? res->message : "");
		} else if (!rep->failed)
			text_printf(out, "ok (was %s)\n", before);
		else if (rep->rolled_back & VF_HAS(f))
			text_printf(out, "rolled back to %s\n", before);
		else if (rep->rollback.field[f].error == -ENODATA)
			text_printf(out, "applied, and cannot be put back: the driver never reported its previous value\n");
		else {
			const struct vf_field_result *rb = &rep->rollback.field[f];
			const char *name = strerrorname_np(-rb->error);
			text_printf(out, "applied, and putting it back to %s FAILED: %s [%s]%s%s\n", before, strerror(-rb->error),
				name ? name : "?", rb->message ? "; kernel: " : "", rb->message ? rb->message : "");
		}
	}
	if (!rep->failed)
		return;
	unsigned stuck = 0;
	for (int f = 0; f < _VF_FIELD_MAX; f++)
		if ((asked & VF_HAS(f)) && !rep->result.field[f].error && !(rep->rolled_back & VF_HAS(f)))
			stuck++;
	if (!stuck)
		text_printf(out, "not applied: a setting was refused, so the accepted ones were put back\n");
	else
		text_printf(out, "not applied: a setting was refused, and %u accepted setting%s could not be put back: the VF "
			"is left changed\n", stuck, stuck == 1 ? "" : "s");
}

static int vf_set(struct cli *cli, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage_error("vf set: missing VF (PF#N, a VF's PCI address or netdev)");
	const char *spec = argv[0];
	struct vf_settings want = {0};
	_cleanup_free_ char *error = NULL, *merr = NULL;
	if (vf_settings_parse(argc - 1, argv + 1, &want, &error) < 0)
		return cli_usage_error("vf set %s: %s", QUOTE(spec), error ? error : "invalid settings");

	struct pci_tree *t = cli->vf_tree;
	int r;
	/* Only the live host takes VF settings (a foreign root is refused below). */
	if (inventory_root_is_live(cli->sysfs_root) && (r = cli_host_lock(cli, "vf set")))
		return r;
	if (!t) {
		/* The PFs' view of every VF's MAC, for the uniqueness check. */
		struct inventory_opts o = {.sysfs_root = cli->sysfs_root,
					   .netlink = inventory_root_is_live(cli->sysfs_root)};
		if ((r = inventory_load(&o, &t)) < 0)
			return cli_error("cannot read PCI devices under %s/bus/pci/devices: %s",
					 cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
		if (cli->batch)
			cli->vf_tree = t;
	}
	struct pci_function *vf;
	if ((r = inventory_resolve(t, spec, &vf, &error)) < 0) {
		r = cli_error("vf set: %s", error ? error : strerror(-r));
		goto out;
	}
	r = EXIT_FAILED;
	if (!vf->pf) {
		cli_error("vf set: %s (%s) is not a VF%s", QUOTE(spec), vf->addr,
			  vf->is_pf ? "; name one of its VFs as PF#N" : "");
		goto out;
	}
	if (!vf->pf->netdevs) {
		cli_error("vf set: %s: its PF %s (driver %s) has no network interface, so its VFs have no "
			  "rtnetlink settings", QUOTE(spec), vf->pf->addr, vf->pf->driver ? vf->pf->driver : "none");
		goto out;
	}
	if (vf_has(&want, VF_FIELD_MAC)) {
		const struct pci_function *other = NULL;
		bool on_netdev = false;
		if (inventory_find_vf_mac(t, want.mac, vf, &other, &on_netdev)) {
			char mac[VF_MAC_STRLEN];
			vf_mac_format(want.mac, 6, mac);
			cli_error("vf set %s: mac %s: VF %u of %s (%s) already has it (%s%s%s); two VFs cannot share a MAC",
				  spec, mac, other->vf_index, other->pf->netdevs ? other->pf->netdevs[0] : other->pf->addr,
				  other->addr, on_netdev ? "its netdev " : "its PF gave it",
				  on_netdev ? other->netdevs[0] : "", on_netdev ? " carries it" : "");
			goto out;
		}
	}
	if (!inventory_root_is_live(cli->sysfs_root)) {
		cli_error("vf set: --sysfs-root %s is not this kernel's /sys: VFs can be changed only on the live host",
			  QUOTE(cli->sysfs_root));
		goto out;
	}
	want.index = vf->vf_index;

	struct rtnl *nl = cli->nl;
	if (!nl && (r = rtnl_open(&nl)) < 0) {
		r = cli_error("vf set: cannot open rtnetlink: %s", strerror(-r));
		goto out;
	}
	if (cli->batch)
		cli->nl = nl;
	/* A VF count change or a link change has just reset the PF link
	 * (igb), which refuses rates until its carrier is back: wait for it. */
	if (vf_has(&want, VF_FIELD_MIN_RATE) || vf_has(&want, VF_FIELD_MAX_RATE)) {
		struct apply_env aenv = {.lifecycle = {.sysfs_root = cli->sysfs_root}};
		bool up;
		(void)apply_wait_pf_carrier(&aenv, vf->pf->netdevs[0], &up);
	}
	struct vf_apply_report rep;
	r = rtnl_apply_vf(nl, vf->pf->netdevs[0], &want, &rep, &error);
	if (r < 0) {
		const char *ack = rtnl_last_error_message(nl);
		r = cli_error("vf set %s: %s%s%s", QUOTE(spec), error ? error : strerror(-r), ack ? ": " : "", ack ? ack : "");
		if (!cli->batch)
			rtnl_close(nl);
		goto out;
	}
	/* What the PF driver lacks, the capability table remembers. */
	if (rep.failed) {
		struct lifecycle_env cenv;
		struct lifecycle_rtnl crt = {0};
		cli_lifecycle_env(cli, &cenv, &crt);
		for (int f = 0; f < _VF_FIELD_MAX; f++)
			if (vf_has(&rep.sent, (enum vf_field)f) && rep.result.field[f].error == -EOPNOTSUPP && vf->pf->driver)
				(void)caps_learn(&cenv, vf->pf->driver, vf_field_name((enum vf_field)f), -EOPNOTSUPP);
		lifecycle_rtnl_done(&crt);
	}
	/* The VF's own netdev takes the MAC too (see apply/vf-mac.h). */
	struct vf_netdev_mac_result mres = {0};
	int mr = 0;
	if (!rep.failed && vf_has(&want, VF_FIELD_MAC)) {
		struct lifecycle_env env;
		struct lifecycle_rtnl rt = {0};
		cli_lifecycle_env(cli, &env, &rt);
		mr = apply_vf_netdev_mac(&env, nl, NULL, vf, want.mac, &mres, &merr);
		lifecycle_rtnl_done(&rt);
	}
	bool put_back = false;
	if (mr < 0) {
		/* All or nothing: the PF gets back what this call changed. */
		struct vf_settings before = rep.before;
		before.has = rep.sent.has & rep.before.has;
		struct vf_set_result res;
		put_back = rtnl_set_vf(nl, rep.pf_ifindex, &before, &res) == 0;
		for (int f = 0; put_back && f < _VF_FIELD_MAX; f++)
			if (vf_has(&before, (enum vf_field)f) && res.field[f].error)
				put_back = false;
		vf_set_result_done(&res);
	}
	if (!cli->batch)
		rtnl_close(nl);
	if (mr == 0 && !rep.failed && vf_has(&want, VF_FIELD_MAC) && vf->link) {
		/* Later lines of a batch see the MAC this one gave. */
		memcpy(vf->link->mac, want.mac, 6);
		vf->link->mac_len = 6;
		vf->link->has |= VF_HAS(VF_FIELD_MAC);
	}
	if (mr == 0 && mres.changed) {
		memcpy(vf->netdev_mac, want.mac, 6);
		vf->netdev_mac_len = 6;
	}
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("vf set", json_netdev_mac(json_report(vf, &rep, want.has), &mres, mr));
	else
		text_report(stdout, spec, vf, &rep, want.has);
	if (r == EXIT_OK && rep.failed)
		r = EXIT_FAILED;
	if (mr < 0)
		r = cli_error("vf set %s: mac: %s; %s", QUOTE(spec), merr ? merr : strerror(-mr),
			      put_back ? "the settings of this call were put back" : "putting the settings of this call back FAILED");
	else if (mres.changed && !cli->json)
		text_printf(stdout, "  netdev %s now carries it too%s\n", mres.netdev, mres.reloaded ? " (its driver was reloaded)" : "");
	vf_apply_report_done(&rep);
out:
	if (t != cli->vf_tree)
		pci_tree_free(t);
	return r;
}

int cmd_vf(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse_ordered(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first >= argc)
		return cli_usage_error("vf: missing subcommand (set)");
	if (strcmp(argv[first], "set") == 0)
		return vf_set(cli, argc - first - 1, argv + first + 1);
	return cli_usage_error("vf: '%s' is not a subcommand (set)", QUOTE(argv[first]));
}

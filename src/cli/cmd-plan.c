/* sriovctl plan [FILE] and sriovctl apply [FILE] (--config FILE, --config-dir DIR,
 * --allow-missing): the difference between the
 * desired state and the host, and making the host match it. */
#include "apply/apply.h"
#include "claim/claim.h"
#include "cli.h"
#include "relayctl/relayctl-sync.h"
#include "daemon/claims.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

enum { OPT_CONFIG = 0x200, OPT_CONFIG_DIR, OPT_ALLOW_MISSING, OPT_FORCE, OPT_TIMEOUT, OPT_SETTLE };

#define TIMEOUT_MAX_S 3600
#define SETTLE_MAX_S 60

struct plan_opts {
	const char *config;
	const char *config_dir; /* NULL: FILE.d */
	bool allow_missing;
	bool force;
	unsigned timeout_ms; /* 0: the config's timeout:, else 30 s plus 1 s per VF */
	unsigned settle_ms;  /* lifecycle_env.settle_ms: 0 the default window, or LIFECYCLE_SETTLE_NONE */
};

static int plan_opt(int opt, const char *arg, void *data)
{
	struct plan_opts *o = data;
	switch (opt) {
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_CONFIG_DIR:
		o->config_dir = arg;
		return 0;
	case OPT_ALLOW_MISSING:
		o->allow_missing = true;
		return 0;
	case OPT_FORCE:
		o->force = true;
		return 0;
	case OPT_TIMEOUT:
		if (cli_parse_seconds_ms(arg, TIMEOUT_MAX_S, &o->timeout_ms) < 0 || o->timeout_ms == 0)
			return cli_usage_error("apply: --timeout wants seconds, more than 0 and at most %d (e.g. 60 or 2.5), not '%s'",
					       TIMEOUT_MAX_S, QUOTE(arg));
		return 0;
	case OPT_SETTLE:
		if (cli_parse_seconds_ms(arg, SETTLE_MAX_S, &o->settle_ms) < 0)
			return cli_usage_error("apply: --settle wants seconds from 0 to %d (e.g. 1 or 0.5), not '%s'",
					       SETTLE_MAX_S, QUOTE(arg));
		if (o->settle_ms == 0)
			o->settle_ms = LIFECYCLE_SETTLE_NONE;
		return 0;
	default:
		return cli_usage_error("option not known");
	}
}

static const struct option plan_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{"allow-missing", no_argument, NULL, OPT_ALLOW_MISSING},
	{NULL, 0, NULL, 0},
};

/* apply --force: count changes go ahead although they destroy VFs in use
 * (the numvfs meaning); --settle: how long a driver that took a VF must
 * keep it (vfio-pci, pci-stub, igbvf and ixgbevf are not watched: they never let go). */
static const struct option apply_options[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{"allow-missing", no_argument, NULL, OPT_ALLOW_MISSING},
	{"force", no_argument, NULL, OPT_FORCE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"settle", required_argument, NULL, OPT_SETTLE},
	{NULL, 0, NULL, 0},
};

/* FILE (or --config FILE; default /etc/sriovd/sriovd.conf) and its drop-in
 * folder (FILE.d, or --config-dir): the rule sriovd follows too. */
static int load_config(const char *verb, int argc, char **argv, int first, const struct plan_opts *o,
		       struct config **ret)
{
	if (first + 1 < argc)
		return cli_usage_error("%s: unexpected argument '%s'", verb, QUOTE(argv[first + 1]));
	if (first < argc && o->config)
		return cli_usage_error("%s: give the config as FILE or --config FILE, not both", verb);
	const char *file = first < argc ? argv[first] : o->config;
	char *error = NULL;
	int r = config_load_rule(file, o->config_dir, ret, &error);
	if (r < 0) {
		cli_error("%s: %s", verb, error ? error : strerror(-r));
		free(error);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

void cli_text_plan_changes(FILE *out, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		char who[64], vf[16] = "";
		snprintf(who, sizeof(who), "%s%s%s%s", c->pf_netdev[0] ? c->pf_netdev : c->pf, c->pf_netdev[0] ? " (" : "",
			 c->pf_netdev[0] ? c->pf : "", c->pf_netdev[0] ? ")" : "");
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), "VF %d", c->vf);
		const char *field = c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind);
		text_printf(out, "%-22s %-6s %-10s %s -> %s%s\n", who, vf, field, c->now, c->want,
			c->conditional ? " (unless the driver's default is that)" : "");
	}
}

static void print_warnings(const struct cli *cli, char *const *warnings)
{
	if (cli->json)
		return;
	for (size_t i = 0; warnings && warnings[i]; i++)
		text_printf(stderr, "warning: %s\n", warnings[i]);
}

/* The consumers' claims over the config (daemon/claims.h): a VF a claim
 * holds keeps the MAC, VLAN and driver it was given, as sriovd keeps it. */
static int load_claims(struct cli *cli, const char *verb, struct apply_env *env)
{
	struct apply_overlay *v = NULL;
	size_t n = 0;
	_cleanup_free_ char *error = NULL;
	int r = claim_consumers_ledger(cli->consumers, &error);
	if (r > 0)
		r = daemon_claims_overlay(cli->consumers->ledger, &v, &n, &error);
	if (r < 0)
		return cli_error("%s: %s", verb, error ? error : strerror(-r));
	env->overlay = v;
	env->n_overlay = n;
	return EXIT_OK;
}

static void apply_env_init(const struct cli *cli, const struct plan_opts *o, struct apply_env *env,
			   struct lifecycle_rtnl *rt)
{
	*env = (struct apply_env){.allow_missing = o->allow_missing};
	cli_lifecycle_env(cli, &env->lifecycle, rt);
}

/* What plan and apply both start with: options, the config, the env.
 * Returns -1 when the verb goes on, else the exit status to return now. */
static int prepare(struct cli *cli, const char *verb, int argc, char **argv, struct config **cfg,
		   struct apply_env *env, struct lifecycle_rtnl *rt)
{
	struct plan_opts o = {0};
	int first;
	bool is_apply = strcmp(verb, "apply") == 0;
	int r = cli_parse(cli, argc, argv, is_apply ? apply_options : plan_options, NULL, plan_opt, &o, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if ((r = load_config(verb, argc, argv, first, &o, cfg)))
		return r;
	apply_env_init(cli, &o, env, rt);
	env->force = o.force;
	env->settle_timeout_ms = o.timeout_ms;
	if (o.settle_ms)
		env->lifecycle.settle_ms = o.settle_ms;
	return -1;
}

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct lifecycle_rtnl rt = {0};
	struct apply_env env;
	int r = prepare(cli, "plan", argc, argv, &cfg, &env, &rt);
	if (r >= 0)
		return r;
	struct plan p;
	char *error = NULL;
	if ((r = load_claims(cli, "plan", &env)) != EXIT_OK) {
		config_free(cfg);
		lifecycle_rtnl_done(&rt);
		return r;
	}
	r = plan_compute(cfg, &env, &p, &error);
	config_free(cfg);
	lifecycle_rtnl_done(&rt);
	free((void *)env.overlay);
	if (r < 0) {
		/* A config that can never hold (a VF's MTU above its PF's) is bad input. */
		int status = r == -EDOM ? EXIT_USAGE : EXIT_FAILED;
		cli_error("plan: %s", error ? error : strerror(-r));
		free(error);
		return status;
	}
	print_warnings(cli, p.warnings);
	if (env.allow_missing)
		print_warnings(cli, p.missing);
	r = EXIT_OK;
	if (cli->json) {
		r = cli_print_json("plan", json_plan(&p));
	} else {
		cli_text_plan_changes(stdout, &p);
		size_t cond = 0;
		for (size_t i = 0; i < p.n; i++)
			cond += p.changes[i].conditional;
		if (cond)
			text_printf(stdout, "%zu change%s (%zu conditional)\n", p.n, p.n == 1 ? "" : "s", cond);
		else
			text_printf(stdout, "%zu change%s\n", p.n, p.n == 1 ? "" : "s");
	}
	/* A PF the config names must exist, unless told otherwise. */
	if (p.missing && !env.allow_missing) {
		for (size_t i = 0; p.missing[i]; i++)
			cli_error("plan: %s", p.missing[i]);
		cli_error("plan: %zu PF%s of the config missing (--allow-missing plans the rest)",
			  strv_length(p.missing), strv_length(p.missing) == 1 ? "" : "s");
		r = EXIT_FAILED;
	}
	plan_done(&p);
	return r;
}

/* The config's relays on the running sriov-relay ($SRIOV_RELAY_SOCKET or
 * its default socket), after the host changes: relayctl_sync(). */
static int apply_relays(const struct cli *cli, const struct config *cfg, struct relayctl_sync_report *rep,
			char **ret_error)
{
	struct pci_tree *t;
	int r = pci_tree_scan(cli->sysfs_root, &t);
	if (r < 0)
		return error_set(ret_error, r, "cannot read PCI devices: %s", strerror(-r));
	const char *sock = relayctl_socket();
	_cleanup_free_ char *err = NULL;
	r = relayctl_sync(cfg, t, sock, rep, &err);
	pci_tree_free(t);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return error_set(ret_error, r, "sriov-relay does not run at %s (%s)", sock, strerror(-r));
	if (r < 0 && r != -EINVAL)
		return error_set(ret_error, r, "no answer from sriov-relay at %s: %s", sock, err ? err : strerror(-r));
	return r;
}

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	struct config *cfg;
	struct lifecycle_rtnl rt = {0};
	struct apply_env env;
	int r = prepare(cli, "apply", argc, argv, &cfg, &env, &rt);
	if (r >= 0)
		return r;
	/* apply_run scans under the lock: its refusals rest on the host as it is. */
	if ((r = cli_host_lock(cli, "apply")) || (r = load_claims(cli, "apply", &env))) {
		config_free(cfg);
		lifecycle_rtnl_done(&rt);
		return r;
	}
	struct apply_report rep;
	struct cli_progress progress;
	cli_progress_attach(cli, &env.lifecycle, &progress);
	int ar = apply_run(cfg, &env, &rep);
	cli_progress_end(&progress);
	/* Then the config's relays, now that their VFs are on vfio-pci. */
	struct relayctl_sync_report relays = {0};
	_cleanup_free_ char *relay_error = NULL;
	bool has_relays = ar == 0 && relayctl_config_has_relays(cfg);
	int rr = has_relays ? apply_relays(cli, cfg, &relays, &relay_error) : 0;
	config_free(cfg);
	lifecycle_rtnl_done(&rt);
	free((void *)env.overlay);
	print_warnings(cli, rep.warnings);
	if (env.allow_missing)
		print_warnings(cli, rep.missing);
	r = EXIT_OK;
	if (cli->json) {
		json_t *j = json_object();
		json_object_set_new(j, "schema_version", json_integer(OUTPUT_SCHEMA_VERSION));
		json_object_set_new(j, "applied", json_boolean(ar == 0));
		json_object_set_new(j, "writes", json_integer(rep.writes));
		json_object_set_new(j, "done", json_plan_changes(&rep.done));
		json_object_set_new(j, "not_done", json_plan_changes(&rep.not_done));
		json_object_set_new(j, "rolled_back", json_integer(rep.rolled_back));
		json_object_set_new(j, "rollback", json_strv(rep.rollback));
		json_object_set_new(j, "error", rep.error ? json_string(rep.error) : json_null());
		json_object_set_new(j, "missing", json_strv(rep.missing));
		json_object_set_new(j, "warnings", json_strv(rep.warnings));
		if (has_relays) {
			json_t *o = json_object();
			json_object_set_new(o, "added", json_strv(relays.added));
			json_object_set_new(o, "present", json_strv(relays.present));
			json_object_set_new(o, "errors", json_strv(relays.errors));
			json_object_set_new(j, "relays", o);
		}
		r = cli_print_json("apply", j);
	} else {
		cli_text_plan_changes(stdout, &rep.done);
		if (ar < 0) {
			text_printf(stdout, "\nstopped: %s\n", rep.error ? rep.error : strerror(-ar));
			if (rep.rolled_back)
				text_printf(stdout, "put back %u VF setting%s changed in this run\n", rep.rolled_back,
					rep.rolled_back == 1 ? "" : "s");
			for (size_t i = 0; rep.rollback && rep.rollback[i]; i++)
				text_printf(stdout, "  %s\n", rep.rollback[i]);
			if (rep.not_done.n) {
				text_printf(stdout, "not applied:\n");
				cli_text_plan_changes(stdout, &rep.not_done);
			}
		}
		text_printf(stdout, "%zu change%s applied, %u write%s\n", rep.done.n, rep.done.n == 1 ? "" : "s", rep.writes,
		       rep.writes == 1 ? "" : "s");
		for (size_t i = 0; relays.added && relays.added[i]; i++)
			text_printf(stdout, "relay %s added\n", relays.added[i]);
		size_t n_present = strv_length(relays.present);
		if (n_present)
			text_printf(stdout, "%zu relay%s there already\n", n_present, n_present == 1 ? "" : "s");
	}
	if (ar < 0 && !cli->json)
		cli_error("apply: %s", rep.error ? rep.error : strerror(-ar));
	for (size_t i = 0; relays.errors && relays.errors[i]; i++)
		cli_error("apply: %s", relays.errors[i]);
	if (rr < 0 && rr != -EINVAL)
		cli_error("apply: relays: %s", relay_error ? relay_error : strerror(-rr));
	relayctl_sync_report_done(&relays);
	apply_report_done(&rep);
	return ar == -EDOM ? EXIT_USAGE : ar < 0 || rr < 0 ? EXIT_FAILED : r;
}

/* sriovctl claim | release | claims: giving devices to consumers through
 * the ledger (claim/), and taking them back scrubbed. */
#include <time.h>

#include "claim/claim.h"
#include "cli.h"
#include "config/config.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"
#include "vf/vf.h"

enum {
	OPT_CONSUMER = 0x400,
	OPT_REQUEST,
	OPT_NETWORK,
	OPT_COUNT,
	OPT_DEVICE,
	OPT_MAC,
	OPT_VLAN,
	OPT_VFIO,
	OPT_NUMA,
	OPT_CLAIM,
	OPT_CONFIG,
	OPT_CONFIG_DIR,
};

struct claim_opts {
	const char *verb;
	struct claim_request req;
	const char *request, *network, *device;
	bool has_count;
	int64_t claim_id;
	const char *config, *config_dir;
};

static int parse_numa(struct claim_opts *o, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	if (!copy)
		return cli_error("%s: out of memory", o->verb);
	char *save = NULL;
	o->req.n_numa_nodes = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t n;
		if (parse_u32(tok, 10, &n) < 0 || n > 1023)
			return cli_usage_error("%s: --numa-node: '%s' is not a NUMA node (0-1023)", o->verb, QUOTE(tok));
		if (o->req.n_numa_nodes == CLAIM_MAX_NUMA_NODES)
			return cli_usage_error("%s: --numa-node: more than %d nodes", o->verb, CLAIM_MAX_NUMA_NODES);
		o->req.numa_nodes[o->req.n_numa_nodes++] = (int32_t)n;
	}
	if (!o->req.n_numa_nodes)
		return cli_usage_error("%s: --numa-node: give N[,M...]", o->verb);
	return 0;
}

static int claim_opt(int opt, const char *arg, void *data)
{
	struct claim_opts *o = data;
	uint32_t n;
	switch (opt) {
	case OPT_CONSUMER:
		o->req.consumer = arg;
		return 0;
	case OPT_REQUEST:
		o->request = arg;
		return 0;
	case OPT_NETWORK:
		o->network = arg;
		return 0;
	case OPT_DEVICE:
		o->device = arg;
		return 0;
	case OPT_COUNT:
		if (parse_u32(arg, 10, &n) < 0 || n < 1 || n > CLAIM_MAX_COUNT)
			return cli_usage_error("%s: --count: '%s' is not a number of devices (1-%u)", o->verb, QUOTE(arg),
					       CLAIM_MAX_COUNT);
		o->req.count = n;
		o->has_count = true;
		return 0;
	case OPT_MAC:
		if (vf_mac_parse(arg, o->req.mac) < 0 || (o->req.mac[0] & 1))
			return cli_usage_error("%s: --mac: '%s' is not a unicast MAC (aa:bb:cc:dd:ee:ff)", o->verb, QUOTE(arg));
		o->req.has_mac = true;
		return 0;
	case OPT_VLAN:
		if (parse_u32(arg, 10, &n) < 0 || n > 4094)
			return cli_usage_error("%s: --vlan: '%s' is not a VLAN (0-4094)", o->verb, QUOTE(arg));
		o->req.vlan = (int32_t)n;
		return 0;
	case OPT_VFIO:
		o->req.vfio = true;
		return 0;
	case OPT_NUMA:
		return parse_numa(o, arg);
	case OPT_CLAIM:
		if (parse_u32(arg, 10, &n) < 0 || n < 1)
			return cli_usage_error("%s: --claim: '%s' is not a claim id", o->verb, QUOTE(arg));
		o->claim_id = n;
		return 0;
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_CONFIG_DIR:
		o->config_dir = arg;
		return 0;
	default:
		return cli_usage_error("%s: option not known", o->verb);
	}
}

static const struct option claim_options[] = {
	{"consumer", required_argument, NULL, OPT_CONSUMER},
	{"request", required_argument, NULL, OPT_REQUEST},
	{"network", required_argument, NULL, OPT_NETWORK},
	{"count", required_argument, NULL, OPT_COUNT},
	{"device", required_argument, NULL, OPT_DEVICE},
	{"mac", required_argument, NULL, OPT_MAC},
	{"vlan", required_argument, NULL, OPT_VLAN},
	{"vfio", no_argument, NULL, OPT_VFIO},
	{"numa-node", required_argument, NULL, OPT_NUMA},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{NULL, 0, NULL, 0},
};

static const struct option release_options[] = {
	{"consumer", required_argument, NULL, OPT_CONSUMER},
	{"claim", required_argument, NULL, OPT_CLAIM},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{NULL, 0, NULL, 0},
};

static const struct option claims_options[] = {
	{"consumer", required_argument, NULL, OPT_CONSUMER},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{NULL, 0, NULL, 0},
};

/* What claim, release and claims share: the config (when given, or when
 * the default file exists), the ledger, the host lock. */
struct claim_ctx {
	struct config *cfg;
	struct ledger *ledger;
	struct claim_env env;
	struct lifecycle_rtnl rt;
};

static void ctx_done(struct claim_ctx *c)
{
	ledger_close(c->ledger);
	config_free(c->cfg);
	lifecycle_rtnl_done(&c->rt);
}

static int ctx_open(struct cli *cli, const struct claim_opts *o, bool lock, struct claim_ctx *c)
{
	*c = (struct claim_ctx){0};
	if (o->config || o->config_dir || access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		_cleanup_free_ char *error = NULL;
		int r = config_load_rule(o->config, o->config_dir, &c->cfg, &error);
		if (r < 0)
			return cli_error("%s: %s", o->verb, error ? error : strerror(-r));
	}
	_cleanup_free_ char *error = NULL;
	int r = ledger_open(cli->sysfs_root, cli->state_dir, &c->ledger, &error);
	if (r < 0)
		return cli_error("%s: %s", o->verb, error ? error : strerror(-r));
	if (lock && (r = cli_host_lock(cli, o->verb)) != EXIT_OK)
		return r;
	cli_lifecycle_env(cli, &c->env.apply.lifecycle, &c->rt);
	c->env.cfg = c->cfg;
	c->env.ledger = c->ledger;
	c->env.lock_held = lock;
	return EXIT_OK;
}

/* The exit status of a claim/ error: bad input 2, everything else 1. */
static int fail_status(const char *verb, int r, const char *error)
{
	cli_error("%s: %s", verb, error ? error : strerror(-r));
	return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
}

static void text_device(const struct claim_device *d)
{
	text_printf(stdout, "  %s %s", d->address, ledger_role_to_string(d->role));
	if (*d->pf)
		text_printf(stdout, " pf %s vf %d", d->pf, d->vf_index);
	if (*d->mac)
		text_printf(stdout, " mac %s", d->mac);
	if (d->vlan >= 0)
		text_printf(stdout, " vlan %d", d->vlan);
	if (d->vfio)
		text_printf(stdout, " vfio %s", *d->vfio_node ? d->vfio_node : "yes");
	fputc('\n', stdout);
}

int cmd_claim(struct cli *cli, int argc, char **argv)
{
	struct claim_opts o = {.verb = "claim", .req = {.vlan = -1}};
	int first;
	int r = cli_parse(cli, argc, argv, claim_options, NULL, claim_opt, &o, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("claim: unexpected argument '%s'", QUOTE(argv[first]));
	if (!o.req.consumer)
		return cli_usage_error("claim: --consumer UUID is required");
	int kinds = !!o.request + !!o.network + !!o.device;
	if (kinds != 1)
		return cli_usage_error("claim: give one of --request ALIAS:N, --network NAME, --device ADDR");
	if (o.has_count && !o.network)
		return cli_usage_error("claim: --count goes with --network");
	o.req.kind = o.request ? LEDGER_KIND_ALIAS : o.network ? LEDGER_KIND_NETWORK : LEDGER_KIND_DEVICE;
	o.req.what = o.request ? o.request : o.network ? o.network : o.device;
	o.req.uid = getuid();
	o.req.pid = getpid();
	if (!claim_consumer_valid(o.req.consumer))
		return cli_usage_error("claim: --consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)", QUOTE(o.req.consumer));

	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, true, &c)) != EXIT_OK) {
		ctx_done(&c);
		return r;
	}
	struct claim_result res;
	_cleanup_free_ char *error = NULL;
	int cr = claim_run(&c.env, &o.req, &res, &error);
	if (cr < 0) {
		r = fail_status("claim", cr, error);
		if (cli->json && cr == -ENOSPC) {
			int pr = cli_print_json("claim", json_claim_result(o.req.consumer, cr, &res, error));
			r = pr == EXIT_OK ? r : pr;
		}
	} else if (cli->json) {
		r = cli_print_json("claim", json_claim_result(o.req.consumer, 0, &res, NULL));
	} else {
		text_printf(stdout, "claim %lld consumer %s%s\n", (long long)res.id, o.req.consumer,
			    res.repeat ? " (already held: the same request again)" : "");
		for (size_t i = 0; i < res.n_devs; i++)
			text_device(&res.devs[i]);
		r = EXIT_OK;
	}
	claim_result_done(&res);
	ctx_done(&c);
	return r;
}

int cmd_release(struct cli *cli, int argc, char **argv)
{
	struct claim_opts o = {.verb = "release"};
	int first;
	int r = cli_parse(cli, argc, argv, release_options, NULL, claim_opt, &o, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("release: unexpected argument '%s'", QUOTE(argv[first]));
	if (!o.req.consumer)
		return cli_usage_error("release: --consumer UUID is required");
	if (!claim_consumer_valid(o.req.consumer))
		return cli_usage_error("release: --consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)",
				       QUOTE(o.req.consumer));
	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, true, &c)) != EXIT_OK) {
		ctx_done(&c);
		return r;
	}
	struct release_result res;
	_cleanup_free_ char *error = NULL;
	int rr = release_run(&c.env, o.req.consumer, o.claim_id, &res, &error);
	if (rr < 0) {
		r = fail_status("release", rr, error);
		ctx_done(&c);
		return r;
	}
	bool unclean = false;
	for (size_t i = 0; i < res.n; i++)
		unclean |= res.v[i].state == LEDGER_UNCLEAN;
	if (cli->json) {
		r = cli_print_json("release", json_release_result(o.req.consumer, &res));
	} else {
		if (!res.n)
			text_printf(stdout, "consumer %s holds nothing: nothing to release\n", o.req.consumer);
		for (size_t i = 0; i < res.n; i++) {
			_cleanup_free_ char *devs = strv_join(res.v[i].devices, " ");
			text_printf(stdout, "claim %lld %s: %s%s%s\n", (long long)res.v[i].id,
				    ledger_state_to_string(res.v[i].state), devs ? devs : "", res.v[i].reason ? ": " : "",
				    res.v[i].reason ? res.v[i].reason : "");
		}
		r = EXIT_OK;
	}
	if (unclean && r == EXIT_OK) {
		cli_error("release: a device did not come back clean; it stays out of the pool (sriovctl claims)");
		r = EXIT_FAILED;
	}
	release_result_done(&res);
	ctx_done(&c);
	return r;
}

static void format_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, 32, "%lld", (long long)t);
}

int cmd_claims(struct cli *cli, int argc, char **argv)
{
	struct claim_opts o = {.verb = "claims"};
	int first;
	int r = cli_parse(cli, argc, argv, claims_options, NULL, claim_opt, &o, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("claims: unexpected argument '%s'", QUOTE(argv[first]));
	if (o.req.consumer && !claim_consumer_valid(o.req.consumer))
		return cli_usage_error("claims: --consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)",
				       QUOTE(o.req.consumer));
	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, false, &c)) != EXIT_OK) {
		ctx_done(&c);
		return r;
	}
	struct ledger_claims list;
	_cleanup_free_ char *error = NULL;
	int lr = claims_list(&c.env, o.req.consumer, &list, &error);
	if (lr < 0) {
		r = fail_status("claims", lr, error);
		ctx_done(&c);
		return r;
	}
	if (cli->json) {
		r = cli_print_json("claims", json_claims(&list));
	} else {
		for (size_t i = 0; i < list.n; i++) {
			const struct ledger_claim *cl = &list.v[i];
			char when[32];
			format_time(cl->created, when);
			text_printf(stdout, "claim %lld %s consumer %s %s %s since %s%s%s\n", (long long)cl->id,
				    ledger_state_to_string(cl->state), cl->consumer, ledger_kind_to_string(cl->kind),
				    cl->request, when, cl->reason ? ": " : "", cl->reason ? cl->reason : "");
			struct claim_device *cd = calloc(cl->n_devs ? cl->n_devs : 1, sizeof(*cd));
			if (!cd)
				continue;
			claim_devices_of(cl, cd);
			for (size_t k = 0; k < cl->n_devs; k++)
				text_device(&cd[k]);
			free(cd);
		}
		r = EXIT_OK;
	}
	ledger_claims_done(&list);
	ctx_done(&c);
	return r;
}

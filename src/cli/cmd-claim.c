/* sriovctl claim | release | claims: giving devices to consumers through
 * the ledger (claim/), and taking them back scrubbed. */
#include <time.h>

#include "claim/claim.h"
#include "cli.h"
#include "client/client.h"
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
	const char *mac; /* as given */
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
		o->mac = arg;
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

/* The config and the ledger for a verb; lock: the host lock too. A verb
 * that only reads (!create) leaves c->ledger NULL when there is no ledger
 * yet, rather than creating an empty one. */
static int ctx_open(struct cli *cli, const struct claim_opts *o, bool lock, bool create, struct claim_ctx *c)
{
	*c = (struct claim_ctx){0};
	if (o->config || o->config_dir || access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		_cleanup_free_ char *error = NULL;
		int r = config_load_rule(o->config, o->config_dir, &c->cfg, &error);
		if (r < 0)
			return cli_error("%s: %s", o->verb, error ? error : strerror(-r));
	}
	_cleanup_free_ char *error = NULL, *path = NULL;
	int r;
	if (!create && (r = ledger_exists(cli->sysfs_root, cli->state_dir, &path)) <= 0) {
		if (r < 0)
			return cli_error("%s: ledger %s: %s", o->verb, path ? path : "", strerror(-r));
		return EXIT_OK;
	}
	if ((r = ledger_open(cli->sysfs_root, cli->state_dir, &c->ledger, &error)) < 0)
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

/* The text of the documents, for both paths (in-process and through
 * sriovd): one printer each, from the -j document. */
static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void text_device(const json_t *d)
{
	text_printf(stdout, "  %s %s", jstr(d, "address"), jstr(d, "role"));
	if (jstr(d, "pf"))
		text_printf(stdout, " pf %s vf %lld", jstr(d, "pf"), jint(d, "vf_index"));
	if (jstr(d, "mac"))
		text_printf(stdout, " mac %s", jstr(d, "mac"));
	if (json_is_integer(json_object_get(d, "vlan")))
		text_printf(stdout, " vlan %lld", jint(d, "vlan"));
	if (json_is_true(json_object_get(d, "vfio")))
		text_printf(stdout, " vfio %s", jstr(d, "vfio_device") ? jstr(d, "vfio_device") : "yes");
	fputc('\n', stdout);
}

static void text_devices(const json_t *devs)
{
	size_t i;
	json_t *d;
	json_array_foreach(devs, i, d)
		text_device(d);
}

/* claim's document: -j prints it, else its text; steals doc. */
static int print_claim(const struct cli *cli, json_t *doc)
{
	if (cli->json)
		return cli_print_json("claim", doc);
	const json_t *c = json_object_get(doc, "claim");
	text_printf(stdout, "claim %lld consumer %s%s\n", jint(c, "id"), jstr(c, "consumer"),
		    json_is_true(json_object_get(doc, "repeat")) ? " (already held: the same request again)" : "");
	text_devices(json_object_get(c, "devices"));
	json_decref(doc);
	return EXIT_OK;
}

/* release's document; a VF that did not come back clean is exit 1. */
static int print_release(const struct cli *cli, json_t *doc)
{
	const json_t *list = json_object_get(doc, "released");
	bool unclean = false;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
		unclean |= streq_ptr(jstr(c, "state"), ledger_state_to_string(LEDGER_UNCLEAN));
	int r = EXIT_OK;
	if (cli->json) {
		r = cli_print_json("release", json_incref(doc));
	} else {
		if (!json_array_size(list))
			text_printf(stdout, "consumer %s holds nothing: nothing to release\n", jstr(doc, "consumer"));
		json_array_foreach(list, i, c) {
			const json_t *devs = json_object_get(c, "devices");
			text_printf(stdout, "claim %lld %s: ", jint(c, "id"), jstr(c, "state"));
			for (size_t k = 0; k < json_array_size(devs); k++)
				text_printf(stdout, "%s%s", k ? " " : "", json_string_value(json_array_get(devs, k)));
			text_printf(stdout, "%s%s\n", jstr(c, "reason") ? ": " : "", jstr(c, "reason") ? jstr(c, "reason") : "");
		}
	}
	json_decref(doc);
	if (unclean && r == EXIT_OK) {
		cli_error("release: a device did not come back clean; it stays out of the pool (sriovctl claims)");
		r = EXIT_FAILED;
	}
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

static int print_claims(const struct cli *cli, json_t *doc)
{
	if (cli->json)
		return cli_print_json("claims", doc);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "claims"), i, c) {
		char when[32];
		format_time(jint(c, "created"), when);
		text_printf(stdout, "claim %lld %s consumer %s %s %s since %s%s%s\n", jint(c, "id"), jstr(c, "state"),
			    jstr(c, "consumer"), jstr(c, "kind"), jstr(c, "request"), when, jstr(c, "reason") ? ": " : "",
			    jstr(c, "reason") ? jstr(c, "reason") : "");
		text_devices(json_object_get(c, "devices"));
	}
	json_decref(doc);
	return EXIT_OK;
}

/* ---- through sriovd: the same documents from its API ---- */

/* A request without a body, its document printed as in-process. */
static int daemon_print(const struct cli *cli, const char *verb, const char *socket, const char *method, const char *path,
			int (*print)(const struct cli *cli, json_t *doc))
{
	json_t *doc;
	int r = cli_daemon_request(verb, socket, method, path, NULL, &doc);
	if (r != EXIT_OK) {
		json_decref(doc);
		return r;
	}
	return print(cli, doc);
}

static int claim_daemon(const struct cli *cli, const struct claim_opts *o, const char *socket)
{
	json_t *body = json_object();
	json_object_set_new(body, "consumer", json_string(o->req.consumer));
	json_object_set_new(body, o->request ? "request" : o->network ? "network" : "device", json_string(o->req.what));
	if (o->has_count)
		json_object_set_new(body, "count", json_integer(o->req.count));
	if (o->mac)
		json_object_set_new(body, "mac", json_string(o->mac));
	if (o->req.vlan >= 0)
		json_object_set_new(body, "vlan", json_integer(o->req.vlan));
	if (o->req.vfio)
		json_object_set_new(body, "vfio", json_true());
	if (o->req.n_numa_nodes) {
		json_t *nodes = json_array();
		for (size_t i = 0; i < o->req.n_numa_nodes; i++)
			json_array_append_new(nodes, json_integer(o->req.numa_nodes[i]));
		json_object_set_new(body, "numa_nodes", nodes);
	}
	json_t *doc;
	int r = cli_daemon_request("claim", socket, "POST", "/v1/claims", body, &doc);
	json_decref(body);
	if (r == EXIT_OK)
		return print_claim(cli, doc);
	/* A claim that cannot be met: -j prints the refusal, as in-process. */
	const json_t *ref = json_object_get(doc, "refused");
	const char *message = NULL;
	if (cli->json && json_is_object(ref) && client_error_doc(doc, NULL, &message, NULL)) {
		struct claim_result res = {
			.wanted = (uint32_t)jint(ref, "wanted"),
			.free = (uint32_t)jint(ref, "free"),
			.claimed = (uint32_t)jint(ref, "claimed"),
			.wrong_numa = (uint32_t)jint(ref, "wrong_numa"),
			.not_matched = (uint32_t)jint(ref, "not_matched"),
		};
		int pr = cli_print_json("claim", json_claim_result(o->req.consumer, -ENOSPC, &res, message));
		r = pr == EXIT_OK ? r : pr;
	}
	json_decref(doc);
	return r;
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

	_cleanup_free_ char *socket = NULL;
	if ((r = cli_daemon(cli, "claim", &socket)) != EXIT_OK)
		return r;
	if (socket)
		return claim_daemon(cli, &o, socket);
	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, true, true, &c)) != EXIT_OK) {
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
	} else {
		r = print_claim(cli, json_claim_result(o.req.consumer, 0, &res, NULL));
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
	_cleanup_free_ char *socket = NULL;
	if ((r = cli_daemon(cli, "release", &socket)) != EXIT_OK)
		return r;
	if (socket) {
		_cleanup_free_ char *path = NULL;
		int n = o.claim_id ? asprintf(&path, "/v1/consumers/%s?claim=%lld", o.req.consumer, (long long)o.claim_id)
				   : asprintf(&path, "/v1/consumers/%s", o.req.consumer);
		if (n < 0)
			return cli_error("release: out of memory");
		return daemon_print(cli, "release", socket, "DELETE", path, print_release);
	}
	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, true, true, &c)) != EXIT_OK) {
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
	r = print_release(cli, json_release_result(o.req.consumer, &res));
	release_result_done(&res);
	ctx_done(&c);
	return r;
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
	_cleanup_free_ char *socket = NULL;
	if ((r = cli_daemon(cli, "claims", &socket)) != EXIT_OK)
		return r;
	if (socket) {
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "/v1/claims%s%s", o.req.consumer ? "?consumer=" : "",
			     o.req.consumer ? o.req.consumer : "") < 0)
			return cli_error("claims: out of memory");
		return daemon_print(cli, "claims", socket, "GET", path, print_claims);
	}
	struct claim_ctx c;
	if ((r = ctx_open(cli, &o, false, false, &c)) != EXIT_OK) {
		ctx_done(&c);
		return r;
	}
	if (!c.ledger) { /* none yet: nothing is held */
		r = print_claims(cli, json_claims(&(struct ledger_claims){0}));
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
	r = print_claims(cli, json_claims(&list));
	ledger_claims_done(&list);
	ctx_done(&c);
	return r;
}

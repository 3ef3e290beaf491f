/* sriovctl relay add|del|list|stats: the relays of a running sriov-relay
 * (docs/relay.md), asked over its control socket (--relay-socket PATH,
 * default RELAY_CONTROL_SOCKET) through client/. The relay checks what it
 * is asked; this file builds the requests, resolves --vf DEV to a PCI
 * address, and prints the answers as text or, with -j, as the relay gave
 * them. */
#include "cli.h"
#include "client/client.h"
#include "output/output.h"
#include "relayctl/relayctl.h"
#include "util/input.h"
#include "util/util.h"

enum {
	OPT_RELAY_SOCKET = 0x200,
	OPT_VF,
	OPT_SOCKET,
	OPT_MODE,
	OPT_QUEUES,
	OPT_LCORES,
	OPT_MTU,
	OPT_NAME,
};

struct relay_args {
	const char *relay_socket;
	const char *vf, *socket, *mode, *name;
	uint32_t queues, mtu;
	bool has_queues, has_mtu;
	uint32_t lcores[RELAYCTL_MAX_LCORES];
	size_t n_lcores;
};

static const struct option relay_opts[] = {
	{"relay-socket", required_argument, NULL, OPT_RELAY_SOCKET},
	{"vf", required_argument, NULL, OPT_VF},
	{"vhost-socket", required_argument, NULL, OPT_SOCKET},
	{"mode", required_argument, NULL, OPT_MODE},
	{"queues", required_argument, NULL, OPT_QUEUES},
	{"lcores", required_argument, NULL, OPT_LCORES},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"name", required_argument, NULL, OPT_NAME},
	{0},
};

static int relay_opt(int opt, const char *arg, void *data)
{
	struct relay_args *a = data;
	_cleanup_free_ char *err = NULL;
	switch (opt) {
	case OPT_RELAY_SOCKET:
		if (str_empty(arg))
			return cli_usage_error("relay: --relay-socket: give the path of sriov-relay's control socket");
		a->relay_socket = arg;
		return 0;
	case OPT_VF:
		a->vf = arg;
		return 0;
	case OPT_SOCKET:
		a->socket = arg;
		return 0;
	case OPT_NAME:
		a->name = arg;
		return 0;
	case OPT_MODE:
		if (relayctl_mode(arg) < 0)
			return cli_usage_error("relay: --mode: '%s' is not server or client", QUOTE(arg));
		a->mode = arg;
		return 0;
	case OPT_QUEUES:
		if (relayctl_queues(arg, &a->queues, &err) < 0)
			return cli_usage_error("relay: --queues: %s", err);
		a->has_queues = true;
		return 0;
	case OPT_MTU:
		if (relayctl_mtu(arg, &a->mtu, &err) < 0)
			return cli_usage_error("relay: --mtu: %s", err);
		a->has_mtu = true;
		return 0;
	case OPT_LCORES:
		if (relayctl_lcores(arg, a->lcores, &a->n_lcores, &err) < 0)
			return cli_usage_error("relay: --lcores: %s", err);
		return 0;
	}
	return cli_usage_error("relay: unexpected option");
}

/* One request to the relay. 0 with *ret_doc (NULL for an empty answer,
 * 204) when the relay said yes; else EXIT_FAILED with the reason printed. */
static int relay_call(const struct relay_args *a, const char *what, const char *method, const char *path,
		      const json_t *body, json_t **ret_doc)
{
	_cleanup_free_ char *text = NULL, *err = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return cli_error("relay %s: out of memory", what);
	struct client_response res = {0};
	int r = client_send(a->relay_socket, NULL, method, path, text, text ? strlen(text) : 0, &res, &err);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return cli_error("relay %s: sriov-relay does not run at %s (%s)", what, QUOTE(a->relay_socket),
				 strerror(-r));
	if (r < 0)
		return cli_error("relay %s: no answer from sriov-relay at %s: %s", what, QUOTE(a->relay_socket),
				 err ? err : strerror(-r));
	json_t *doc = NULL;
	if (res.len) {
		doc = json_loadb(res.body, res.len, 0, NULL);
		if (!json_is_object(doc)) {
			json_decref(doc);
			client_response_done(&res);
			return cli_error("relay %s: sriov-relay at %s answered %s %s (status %ld) with no JSON object",
					 what, QUOTE(a->relay_socket), method, path, res.status);
		}
	}
	long status = res.status;
	client_response_done(&res);
	if (status >= 400) {
		const char *message = NULL;
		client_error_doc(doc, NULL, &message, NULL);
		r = cli_error("relay %s: %s", what, message ? message : "refused");
		json_decref(doc);
		return r;
	}
	*ret_doc = doc;
	return 0;
}

/* --vf DEV: a PCI address or a DPDK vdev goes as it is; a netdev or PF#N
 * is resolved to its PCI address on the sysfs root. */
static int resolve_vf(const struct cli *cli, const char *dev, char **ret)
{
	if (relayctl_vf_passes(dev)) {
		*ret = strdup(dev);
		return *ret ? 0 : cli_error("relay add: out of memory");
	}
	struct pci_tree *t;
	int r = cli_load_inventory(cli, false, false, &t);
	if (r)
		return r;
	struct pci_function *d;
	_cleanup_free_ char *err = NULL;
	if (inventory_resolve(t, dev, &d, &err) < 0) {
		pci_tree_free(t);
		return cli_usage_error("relay add: --vf: %s", err ? err : "no such device");
	}
	if (!d->pf) {
		pci_tree_free(t);
		return cli_usage_error("relay add: --vf: %s is not a VF", QUOTE(dev));
	}
	*ret = strdup(d->addr);
	pci_tree_free(t);
	return *ret ? 0 : cli_error("relay add: out of memory");
}

/* One relay's line: NAME VF <-> SOCKET (MODE) [STATE]. */
static void text_relay(const json_t *j)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *vf = json_string_value(json_object_get(j, "vf"));
	const char *sock = json_string_value(json_object_get(j, "socket"));
	const char *mode = json_string_value(json_object_get(j, "mode"));
	const char *state = json_string_value(json_object_get(j, "state"));
	text_printf(stdout, "%-12s %s <-> %s (%s)", name ? name : "-", vf ? vf : "-", sock ? sock : "-",
		    mode ? mode : "-");
	if (state)
		text_printf(stdout, " %s", state);
	json_t *q = json_object_get(j, "queues");
	if (json_is_integer(q))
		printf(", %lld queue%s", (long long)json_integer_value(q), json_integer_value(q) == 1 ? "" : "s");
	json_t *l = json_object_get(j, "lcores");
	if (json_is_array(l) && json_array_size(l)) {
		size_t i;
		json_t *v;
		printf(", lcores");
		json_array_foreach(l, i, v)
			printf("%s%lld", i ? "," : " ", (long long)json_integer_value(v));
	}
	printf("\n");
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* The counters of a stats document: each member that is a counter
 * ({"packets", "bytes", "drops", "*_per_s"}) on its own line, one level of
 * nesting followed (a direction's rx and tx, say). */
static void text_counters(const json_t *o, const char *prefix, unsigned depth)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		if (!json_is_object(v))
			continue;
		if (json_object_get(v, "packets")) {
			text_printf(stdout, "  %s%s%-*s %.0f packets, %.0f bytes, %.0f drops; %.0f pkt/s, %.0f B/s, %.0f drops/s\n",
				    prefix, *prefix ? "." : "", (int)(20 - strlen(prefix)), key, num(v, "packets"),
				    num(v, "bytes"), num(v, "drops"), num(v, "packets_per_s"), num(v, "bytes_per_s"),
				    num(v, "drops_per_s"));
		} else if (depth == 0) {
			text_counters(v, key, depth + 1);
		}
	}
}

static void text_stats(const json_t *j, const char *name)
{
	const char *state = json_string_value(json_object_get(j, "state"));
	text_printf(stdout, "%s%s%s\n", name, state ? ": " : "", state ? state : "");
	text_counters(j, "", 0);
}

static int relay_add(struct cli *cli, const struct relay_args *a)
{
	if (!a->vf || !a->socket || !a->n_lcores)
		return cli_usage_error("relay add: give --vf DEV, --vhost-socket PATH and --lcores L");
	_cleanup_free_ char *vf = NULL;
	int r = resolve_vf(cli, a->vf, &vf);
	if (r)
		return r;
	struct relayctl_spec s = {
		.name = a->name,
		.vf = vf,
		.socket = a->socket,
		.mode = a->mode,
		.queues = a->has_queues ? a->queues : 0,
		.mtu = a->has_mtu ? a->mtu : 0,
		.n_lcores = a->n_lcores,
	};
	memcpy(s.lcores, a->lcores, sizeof(s.lcores));
	json_t *body = relayctl_body(&s);
	if (!body)
		return cli_error("relay add: out of memory");
	json_t *doc;
	r = relay_call(a, "add", "POST", "/v1/relays", body, &doc);
	json_decref(body);
	if (r)
		return r;
	if (cli->json)
		return cli_print_json("relay", doc ? doc : json_object());
	if (doc)
		text_relay(doc);
	json_decref(doc);
	return EXIT_OK;
}

static int relay_del(struct cli *cli, const struct relay_args *a, const char *name)
{
	_cleanup_free_ char *path = relayctl_path(name, NULL);
	if (!path)
		return cli_error("relay del: out of memory");
	json_t *doc;
	int r = relay_call(a, "del", "DELETE", path, NULL, &doc);
	if (r)
		return r;
	json_decref(doc);
	if (cli->json) {
		json_t *o = json_document();
		json_object_set_new(o, "name", json_text(name));
		json_object_set_new(o, "deleted", json_true());
		return cli_print_json("relay", o);
	}
	text_printf(stdout, "relay %s removed\n", name);
	return EXIT_OK;
}

static int relay_list(struct cli *cli, const struct relay_args *a)
{
	json_t *doc;
	int r = relay_call(a, "list", "GET", "/v1/relays", NULL, &doc);
	if (r)
		return r;
	if (!doc)
		doc = json_object();
	if (cli->json)
		return cli_print_json("relay", doc);
	json_t *list = json_object_get(doc, "relays"), *v;
	size_t i;
	if (!json_array_size(list))
		printf("no relays\n");
	json_array_foreach(list, i, v)
		text_relay(v);
	json_decref(doc);
	return EXIT_OK;
}

static int relay_stats_one(const struct relay_args *a, const char *name, json_t **ret)
{
	_cleanup_free_ char *path = relayctl_path(name, "stats");
	if (!path)
		return cli_error("relay stats: out of memory");
	return relay_call(a, "stats", "GET", path, NULL, ret);
}

static int relay_stats(struct cli *cli, const struct relay_args *a, const char *name)
{
	json_t *doc;
	int r;
	if (name) {
		if ((r = relay_stats_one(a, name, &doc)))
			return r;
		if (!doc)
			doc = json_object();
		if (cli->json)
			return cli_print_json("relay", doc);
		text_stats(doc, name);
		json_decref(doc);
		return EXIT_OK;
	}
	/* Every relay's. */
	json_t *list;
	if ((r = relay_call(a, "stats", "GET", "/v1/relays", NULL, &list)))
		return r;
	json_t *all = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(list, "relays"), i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));
		if (!n)
			continue;
		if ((r = relay_stats_one(a, n, &doc))) {
			json_decref(all);
			json_decref(list);
			return r;
		}
		if (!cli->json)
			text_stats(doc, n);
		json_array_append_new(all, doc ? doc : json_object());
	}
	json_decref(list);
	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "relays", all);
		return cli_print_json("relay", o);
	}
	if (!json_array_size(all))
		printf("no relays\n");
	json_decref(all);
	return EXIT_OK;
}

int cmd_relay(struct cli *cli, int argc, char **argv)
{
	struct relay_args a = {.relay_socket = RELAYCTL_DEFAULT_SOCKET};
	int first;
	int r = cli_parse(cli, argc, argv, relay_opts, NULL, relay_opt, &a, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first >= argc)
		return cli_usage_error("relay: give add, del, list or stats");
	const char *sub = argv[first];
	int n = argc - first - 1;
	char **rest = argv + first + 1;
	bool adds = a.vf || a.socket || a.mode || a.name || a.has_queues || a.has_mtu || a.n_lcores;
	if (strcmp(sub, "add") == 0) {
		if (n)
			return cli_usage_error("relay add: unexpected argument '%s'", QUOTE(rest[0]));
		return relay_add(cli, &a);
	}
	if (adds)
		return cli_usage_error("relay %s: --vf, --vhost-socket, --mode, --queues, --lcores, --mtu and --name are add's",
				       QUOTE(sub));
	if (strcmp(sub, "del") == 0) {
		if (n != 1)
			return cli_usage_error("relay del: give one relay NAME");
		if (relayctl_name_ok(rest[0]) < 0)
			return cli_usage_error("relay del: '%s' is not a relay name ([A-Za-z0-9_.-], at most %u)",
					       QUOTE(rest[0]), RELAYCTL_NAME_MAX);
		return relay_del(cli, &a, rest[0]);
	}
	if (strcmp(sub, "list") == 0) {
		if (n)
			return cli_usage_error("relay list: unexpected argument '%s'", QUOTE(rest[0]));
		return relay_list(cli, &a);
	}
	if (strcmp(sub, "stats") == 0) {
		if (n > 1)
			return cli_usage_error("relay stats: give at most one relay NAME");
		if (n == 1 && relayctl_name_ok(rest[0]) < 0)
			return cli_usage_error("relay stats: '%s' is not a relay name ([A-Za-z0-9_.-], at most %u)",
					       QUOTE(rest[0]), RELAYCTL_NAME_MAX);
		return relay_stats(cli, &a, n ? rest[0] : NULL);
	}
	return cli_usage_error("relay: '%s' is not add, del, list or stats", QUOTE(sub));
}

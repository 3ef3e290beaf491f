/* sriovctl match --spec JSON | --alias JSON... --request REQ | --network NAME
 * [--config FILE] [--config-dir DIR]: what the inventory offers for a device
 * spec, a request or a network, free or claimed. Through sriovd's POST
 * /v1/match when it serves (its model, its config), in-process otherwise
 * with the same rule for the config (as claim: given, or the default file
 * when it exists) and the same printer. */
#include <unistd.h>

#include "alloc/alloc.h"
#include "apply/apply.h"
#include "config/config.h"
#include "cli.h"
#include "client/client.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

enum { OPT_SPEC = 0x300, OPT_ALIAS, OPT_REQUEST, OPT_NETWORK, OPT_CONFIG, OPT_CONFIG_DIR };

/* Bounds on one JSON argument. */
#define MATCH_MAX_JSON_LEN 65536u
#define MATCH_MAX_JSON_DEPTH 16u
#define MATCH_MAX_OBJECTS 256u

struct match_opts {
	struct alloc_spec *specs[MATCH_MAX_OBJECTS];
	size_t n_specs;
	struct alloc_aliases aliases;
	size_t n_alias_args;
	json_t *spec_list, *alias_list; /* what was given, for sriovd's POST /v1/match */
	const char *request;
	const char *network;
	const char *config, *config_dir;
	struct config *cfg; /* loaded when --config or --network */
	int status; /* EXIT_USAGE once an argument was refused */
};

/* One line, exit 2: the key and the reason. */
static int refuse(struct match_opts *o, const char *opt, const char *error)
{
	cli_error("match: %s: %s", opt, error ? error : strerror(ENOMEM));
	o->status = EXIT_USAGE;
	return EXIT_USAGE;
}

/* A JSON object, or a list of them (as Nova's device_spec takes). */
static int load_json(struct match_opts *o, const char *opt, const char *text, json_t **ret)
{
	if (strlen(text) > MATCH_MAX_JSON_LEN) {
		char msg[64];
		snprintf(msg, sizeof(msg), "longer than %u bytes", MATCH_MAX_JSON_LEN);
		return refuse(o, opt, msg);
	}
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		_cleanup_free_ char *msg = NULL;
		if (asprintf(&msg, "not JSON: %s (column %d)", err.text, err.column) < 0)
			msg = NULL;
		return refuse(o, opt, msg);
	}
	if (!json_depth_ok(j, MATCH_MAX_JSON_DEPTH)) {
		json_decref(j);
		char msg[64];
		snprintf(msg, sizeof(msg), "nested deeper than %u levels", MATCH_MAX_JSON_DEPTH);
		return refuse(o, opt, msg);
	}
	*ret = j;
	return 0;
}

static int add_objects(struct match_opts *o, int opt, const char *text)
{
	const char *name = opt == OPT_SPEC ? "--spec" : "--alias";
	json_t *j;
	int r = load_json(o, name, text, &j);
	if (r)
		return r;
	json_t *one = j;
	size_t n = json_is_array(j) ? json_array_size(j) : 1;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (json_is_array(j))
			one = json_array_get(j, i);
		_cleanup_free_ char *error = NULL;
		if (opt == OPT_SPEC) {
			if (o->n_specs == MATCH_MAX_OBJECTS) {
				r = refuse(o, name, "too many device specs");
				break;
			}
			int pr = alloc_spec_parse(one, &o->specs[o->n_specs], &error);
			if (pr < 0)
				r = refuse(o, name, pr == -ENOMEM ? NULL : error);
			else
				o->n_specs++;
			if (pr == 0)
				json_array_append(o->spec_list, one);
		} else {
			if (++o->n_alias_args > MATCH_MAX_OBJECTS) {
				r = refuse(o, name, "too many aliases");
				break;
			}
			int pr = alloc_aliases_add(&o->aliases, one, &error);
			if (pr < 0)
				r = refuse(o, name, pr == -ENOMEM ? NULL : error);
			else
				json_array_append(o->alias_list, one);
		}
	}
	json_decref(j);
	return r;
}

static int match_opt(int opt, const char *arg, void *data)
{
	struct match_opts *o = data;
	switch (opt) {
	case OPT_SPEC:
	case OPT_ALIAS:
		return add_objects(o, opt, arg);
	case OPT_REQUEST:
		if (o->request)
			return cli_usage_error("match: --request is given twice");
		o->request = arg;
		return 0;
	case OPT_NETWORK:
		if (o->network)
			return cli_usage_error("match: --network is given twice");
		o->network = arg;
		return 0;
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_CONFIG_DIR:
		o->config_dir = arg;
		return 0;
	default:
		return cli_usage_error("option not known");
	}
}

static const struct option match_options[] = {
	{"spec", required_argument, NULL, OPT_SPEC},
	{"alias", required_argument, NULL, OPT_ALIAS},
	{"request", required_argument, NULL, OPT_REQUEST},
	{"network", required_argument, NULL, OPT_NETWORK},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
	{NULL, 0, NULL, 0},
};

/* One printer for both paths, from the document: -j prints it, the text
 * is a line per device (address, role, PF, tags, holder). */
static int print_match(const struct cli *cli, json_t *doc)
{
	if (cli->json)
		return cli_print_json("match", doc);
	size_t i;
	json_t *dev;
	json_array_foreach(json_object_get(doc, "devices"), i, dev) {
		const char *pf = json_string_value(json_object_get(dev, "pf"));
		text_printf(stdout, "%s %-3s pf %s", json_string_value(json_object_get(dev, "address")),
			    json_string_value(json_object_get(dev, "role")), pf ? pf : "-");
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(dev, "tags"), k, v) {
			if (json_is_string(v)) {
				text_printf(stdout, " %s=%s", k, json_string_value(v));
			} else {
				_cleanup_free_ char *str = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
				text_printf(stdout, " %s=%s", k, str ? str : "?");
			}
		}
		const char *holder = json_string_value(json_object_get(dev, "claimed_by"));
		if (holder)
			text_printf(stdout, " claimed-by %s\n", holder);
		else
			text_printf(stdout, " free\n");
	}
	json_decref(doc);
	return EXIT_OK;
}

/* POST /v1/match with what was given; the API names the body's keys
 * ("request: ..."), printed as the options in-process names them
 * ("--request: ..."). */
static int match_daemon(const struct cli *cli, const struct match_opts *o, const char *socket)
{
	json_t *body = json_object();
	if (json_array_size(o->spec_list))
		json_object_set(body, "spec", o->spec_list);
	if (json_array_size(o->alias_list))
		json_object_set(body, "alias", o->alias_list);
	if (o->request)
		json_object_set_new(body, "request", json_string(o->request));
	if (o->network)
		json_object_set_new(body, "network", json_string(o->network));
	long status;
	json_t *doc;
	_cleanup_free_ char *error = NULL;
	int r = client_request(socket, "POST", "/v1/match", body, &status, &doc, &error);
	json_decref(body);
	if (r < 0)
		return cli_error("match: %s", error ? error : strerror(-r));
	if (status == 200)
		return print_match(cli, doc);
	const char *message = NULL, *field = NULL;
	client_error_doc(doc, NULL, &message, &field);
	size_t n = field ? strlen(field) : 0;
	if (status == 400 && message && n && strncmp(message, field, n) == 0 && strncmp(message + n, ": ", 2) == 0) {
		cli_error("match: --%s", message);
		r = EXIT_USAGE;
	} else if (message) {
		cli_error("match: %s", message);
		r = status == 400 ? EXIT_USAGE : EXIT_FAILED;
	} else {
		r = cli_error("match: sriovd answered POST /v1/match with status %ld", status);
	}
	json_decref(doc);
	return r;
}

int cmd_match(struct cli *cli, int argc, char **argv)
{
	struct match_opts o = {.spec_list = json_array(), .alias_list = json_array()};
	int first;
	int r = cli_parse(cli, argc, argv, match_options, NULL, match_opt, &o, &first);
	struct pci_tree *t = NULL;
	struct alloc_result res = {0};
	char *error = NULL;
	_cleanup_free_ char *socket = NULL; /* before the first goto out */
	if (r) {
		r = CLI_PARSE_EXIT(r);
		goto out;
	}
	if (first < argc) {
		r = cli_usage_error("match: unexpected argument '%s'", QUOTE(argv[first]));
		goto out;
	}
	if (o.aliases.n && !o.request) {
		r = cli_usage_error("match: --alias needs --request alias:count");
		goto out;
	}
	if (o.network && (o.request || o.n_specs)) {
		r = cli_usage_error("match: --network takes no --spec, --alias or --request");
		goto out;
	}
	if (!o.n_specs && !o.request && !o.network && !o.config) {
		r = cli_usage_error("match: give --spec JSON, --alias JSON... --request REQ, or --network NAME");
		goto out;
	}
	if ((r = cli_daemon(cli, "match", &socket)) != EXIT_OK)
		goto out;
	if (socket) {
		r = match_daemon(cli, &o, socket);
		goto out;
	}
	/* The config, as sriovd has its own: given, or the default file when
	 * it exists (--network needs one); its device specs and aliases stand
	 * in for --spec and --alias not given, its labels tag the PFs. */
	if (o.network || o.config || o.config_dir || access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		int cr = config_load_rule(o.config, o.config_dir, &o.cfg, &error);
		if (cr < 0) {
			r = cli_error("match: %s", error ? error : strerror(-cr));
			goto out;
		}
	}
	struct alloc_spec *const *specs = o.specs;
	size_t n_specs = o.n_specs;
	const struct alloc_aliases *aliases = &o.aliases;
	if (o.cfg && !n_specs) {
		specs = o.cfg->specs;
		n_specs = o.cfg->n_specs;
	}
	if (o.cfg && !o.aliases.n)
		aliases = &o.cfg->aliases;
	const struct alloc_network *net = NULL;
	if (o.network && !(net = alloc_networks_find(&o.cfg->networks, o.network))) {
		cli_error("match: --network: '%s' is not a network of the config", QUOTE(o.network));
		r = EXIT_USAGE;
		goto out;
	}
	if (!n_specs && !o.request && !net) {
		r = refuse(&o, "--spec", "none given and the config has no device-specs");
		goto out;
	}
	if (cli->consumers)
		cli->consumers->readonly = true; /* who holds what: read only */
	if ((r = cli_load_inventory(cli, false, false, &t)))
		goto out;
	cli_print_warnings(cli, t);
	struct alloc_query q = {
		.specs = specs,
		.n_specs = n_specs,
		.aliases = aliases,
		.request = o.request,
		.network = net,
		.labels = apply_pf_labels,
		.labels_data = o.cfg,
	};
	if ((r = alloc_match_query(t, &q, &res, &error)) < 0) {
		if (r == -EINVAL && error)
			r = refuse(&o, "--request", error);
		else
			r = cli_error("match: %s", strerror(-r));
		goto out;
	}
	r = print_match(cli, json_match(&res, net));
out:
	json_decref(o.spec_list);
	json_decref(o.alias_list);
	free(error);
	config_free(o.cfg);
	alloc_result_done(&res);
	pci_tree_free(t);
	for (size_t i = 0; i < o.n_specs; i++)
		alloc_spec_free(o.specs[i]);
	alloc_aliases_done(&o.aliases);
	return r;
}

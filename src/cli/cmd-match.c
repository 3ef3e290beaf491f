/* sriovctl match --spec JSON | --alias JSON... --request REQ | --network NAME
 * [--config FILE] [--config-dir DIR]: what the inventory offers for a device
 * spec, a request or a network, free or claimed. */
#include "alloc/alloc.h"
#include "apply/apply.h"
#include "config/config.h"
#include "cli.h"
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
	const char *request;
	const char *network;
	const char *config, *config_dir;
	struct config *cfg; /* loaded when --config or --network */
	int status; /* EXIT_USAGE once an argument was refused */
};

static bool json_depth_ok(const json_t *j, unsigned depth)
{
	if (depth > MATCH_MAX_JSON_DEPTH)
		return false;
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (!json_depth_ok(v, depth + 1))
				return false;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (!json_depth_ok(v, depth + 1))
				return false;
	}
	return true;
}

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
	if (!json_depth_ok(j, 0)) {
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
		} else {
			if (++o->n_alias_args > MATCH_MAX_OBJECTS) {
				r = refuse(o, name, "too many aliases");
				break;
			}
			int pr = alloc_aliases_add(&o->aliases, one, &error);
			if (pr < 0)
				r = refuse(o, name, pr == -ENOMEM ? NULL : error);
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

static json_t *json_tags(const struct alloc_row *row, const struct alloc_network *net)
{
	json_t *tags = row->spec && row->spec->tags ? json_deep_copy(row->spec->tags) : json_object();
	if (net) {
		json_object_set_new(tags, "network", json_string(net->name));
		json_object_set_new(tags, "vlan", net->vlan >= 0 ? json_integer(net->vlan) : json_null());
	}
	return tags;
}

static void print_text(const struct alloc_result *res, const struct alloc_network *net)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct alloc_row *row = &res->rows[i];
		if (!row->ok)
			continue;
		const struct pci_function *d = row->dev;
		text_printf(stdout, "%s %-3s pf %s", d->addr, alloc_role(d), d->pf ? d->pf->addr : "-");
		const char *k;
		json_t *v, *tags = json_tags(row, net);
		json_object_foreach(tags, k, v) {
				if (json_is_string(v)) {
					text_printf(stdout, " %s=%s", k, json_string_value(v));
				} else {
					_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
					text_printf(stdout, " %s=%s", k, s ? s : "?");
				}
			}
		json_decref(tags);
		text_printf(stdout, " free\n");
	}
}

static json_t *json_result(const struct alloc_result *res, const struct alloc_network *net)
{
	json_t *devs = json_array();
	for (size_t i = 0; i < res->n; i++) {
		const struct alloc_row *row = &res->rows[i];
		if (!row->ok)
			continue;
		const struct pci_function *d = row->dev;
		json_t *j = json_object();
		json_object_set_new(j, "address", json_string(d->addr));
		json_object_set_new(j, "role", json_string(alloc_role(d)));
		json_object_set_new(j, "pf", json_str_or_null(d->pf ? d->pf->addr : NULL));
		json_object_set_new(j, "tags", json_tags(row, net));
		json_object_set_new(j, "claimed_by", json_null());
		json_array_append_new(devs, j);
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "schema_version", json_integer(OUTPUT_SCHEMA_VERSION));
	json_object_set_new(doc, "devices", devs);
	return doc;
}

/* The request's devices: those of each alias, in tree order, once each. */
static int match_request(const struct pci_tree *t, struct match_opts *o, struct alloc_spec *const *specs,
			 size_t n_specs, const struct alloc_aliases *aliases, struct alloc_result *ret)
{
	struct alloc_request req;
	_cleanup_free_ char *error = NULL;
	int r = alloc_request_parse(o->request, aliases, &req, &error);
	if (r < 0)
		return refuse(o, "--request", r == -ENOMEM ? NULL : error);
	/* No device spec given: every device is in the pool. */
	struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY};
	struct alloc_spec *anyp = &any;
	struct alloc_result all = {0};
	bool have_specs = n_specs > 0;
	r = alloc_match_specs(t, have_specs ? specs : &anyp, have_specs ? n_specs : 1, &all);
	if (r < 0)
		goto out;
	struct alloc_row *ok = calloc(all.n ? all.n : 1, sizeof(*ok));
	if (!ok) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t q = 0; q < req.n; q++) {
		struct alloc_result one = {.rows = malloc((all.n ? all.n : 1) * sizeof(*one.rows)), .n = all.n};
		if (!one.rows) {
			free(ok);
			r = -ENOMEM;
			goto out;
		}
		memcpy(one.rows, all.rows, all.n * sizeof(*one.rows));
		alloc_result_filter_alias(&one, alloc_aliases_find(aliases, req.items[q].alias));
		for (size_t i = 0; i < one.n; i++)
			if (one.rows[i].ok && !ok[i].ok)
				ok[i] = one.rows[i];
		alloc_result_done(&one);
	}
	for (size_t i = 0; i < all.n; i++)
		if (!ok[i].ok) {
			ok[i] = all.rows[i];
			ok[i].ok = false;
		} else if (!have_specs) {
			ok[i].spec = NULL;
		}
	free(all.rows);
	all.rows = ok;
	*ret = all;
	all = (struct alloc_result){0};
out:
	alloc_result_done(&all);
	alloc_request_done(&req);
	return r < 0 ? cli_error("match: %s", strerror(-r)) : 0;
}

int cmd_match(struct cli *cli, int argc, char **argv)
{
	struct match_opts o = {0};
	int first;
	int r = cli_parse(cli, argc, argv, match_options, NULL, match_opt, &o, &first);
	struct pci_tree *t = NULL;
	struct alloc_result res = {0};
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
	/* The config: for --network, and for --config (its device specs and
	 * aliases stand in for --spec and --alias not given). */
	if (o.network || o.config || o.config_dir) {
		_cleanup_free_ char *error = NULL;
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
		r = cli_usage_error("match: the config has no device-specs; give --spec JSON");
		goto out;
	}
	if ((r = cli_load_inventory(cli, false, false, &t)))
		goto out;
	cli_print_warnings(cli, t);
	if (o.request) {
		if ((r = match_request(t, &o, specs, n_specs, aliases, &res)))
			goto out;
	} else {
		/* A network takes the VFs the config's device specs offer (every
		 * device when it has none) on the PFs it allows. */
		struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY}, *anyp = &any;
		bool pool = n_specs > 0;
		if ((r = alloc_match_specs(t, pool ? specs : &anyp, pool ? n_specs : 1, &res)) < 0) {
			r = cli_error("match: %s", strerror(-r));
			goto out;
		}
		if (net)
			alloc_result_filter_network(&res, net, apply_pf_labels, o.cfg);
		for (size_t i = 0; !pool && i < res.n; i++)
			res.rows[i].spec = NULL;
	}
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("match", json_result(&res, net));
	else
		print_text(&res, net);
out:
	config_free(o.cfg);
	alloc_result_done(&res);
	pci_tree_free(t);
	for (size_t i = 0; i < o.n_specs; i++)
		alloc_spec_free(o.specs[i]);
	alloc_aliases_done(&o.aliases);
	return r;
}

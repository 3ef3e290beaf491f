/* The routes of the API: one request in, one response out. Nothing here
 * knows HTTP framing (api-http.c) or sockets. */
#include <grp.h>
#include <stdarg.h>
#include <time.h>

#include "alloc/alloc.h"
#include "api-private.h"
#include "claim/claim.h"
#include "ledger/ledger.h"
#include "vf/vf.h"
#include "config.h"
#include "daemon/log.h"
#include "output/export.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

uint64_t api_now_ms(const struct api *a)
{
	if (a->o.now_ms)
		return a->o.now_ms();
	return mono_now_ms();
}

int api_new(const struct api_opts *o, const struct api_source *src, struct api **ret)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->o = *o;
	a->src = *src;
	a->listen_fd = a->ep_fd = a->timer_fd = -1;
	a->gid = (gid_t)-1;
	a->event_seq = -1;
	a->ledger_version = -1;
	if (!a->o.max_connections)
		a->o.max_connections = API_MAX_CONNECTIONS_DEFAULT;
	if (!a->o.timeout_s)
		a->o.timeout_s = API_TIMEOUT_S_DEFAULT;
	if (!a->o.rate)
		a->o.rate = API_RATE_DEFAULT;
	if (!a->o.group)
		a->o.group = API_DEFAULT_GROUP;
	if (!a->o.proc_root)
		a->o.proc_root = "/proc";
	*ret = a;
	return 0;
}

void api_response_done(struct api_response *r)
{
	free(r->body);
	r->body = NULL;
}

/* ---- authorization ---------------------------------------------------- */

bool api_peer_may_write(const struct api_peer *p, gid_t gid)
{
	if (!p->known)
		return false;
	if (p->uid == 0)
		return true;
	if (gid == (gid_t)-1)
		return false;
	if (p->gid == gid)
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

int api_parse_proc_status(const char *text, struct api_peer *p)
{
	bool have_groups = false, have_uid = false;
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > 4 && strncmp(line, "Uid:", 4) == 0) {
			char *e;
			errno = 0;
			unsigned long v = strtoul(line + 4, &e, 10);
			if (errno || e == line + 4 || v > UINT32_MAX)
				return -EINVAL;
			p->uid = (uid_t)v;
			have_uid = true;
		} else if (len >= 7 && strncmp(line, "Groups:", 7) == 0) {
			p->n_groups = 0;
			const char *s = line + 7, *stop = line + len;
			while (s < stop) {
				while (s < stop && (*s == ' ' || *s == '\t'))
					s++;
				if (s >= stop)
					break;
				char *e;
				errno = 0;
				unsigned long v = strtoul(s, &e, 10);
				if (errno || e == s || v > UINT32_MAX || e > stop)
					return -EINVAL;
				if (p->n_groups < API_MAX_PEER_GROUPS)
					p->groups[p->n_groups++] = (gid_t)v;
				s = e;
			}
			have_groups = true;
		}
		line = end ? end + 1 : NULL;
	}
	return have_groups && have_uid ? 0 : -EINVAL;
}

/* ---- rate -------------------------------------------------------------- */

bool api_bucket_take(struct api_bucket *b, unsigned rate, uint64_t now_ms)
{
	if (!b->at_ms) {
		b->tokens = rate;
		b->at_ms = now_ms;
	} else if (now_ms > b->at_ms) {
		b->tokens += (double)(now_ms - b->at_ms) * rate / 1000.0;
		if (b->tokens > rate)
			b->tokens = rate;
		b->at_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* ---- responses --------------------------------------------------------- */

/* The document as `sriovctl -j` prints it (json_print), steals j. */
static int reply_json(struct api_response *rs, unsigned status, json_t *j)
{
	if (!j)
		return -ENOMEM;
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	size_t n = strlen(text);
	char *body = realloc(text, n + 2);
	if (!body) {
		free(text);
		return -ENOMEM;
	}
	body[n] = '\n';
	body[n + 1] = '\0';
	rs->status = status;
	rs->body = body;
	rs->body_len = n + 1;
	rs->content_type = "application/json";
	return 0;
}

static const char *status_code_name(unsigned status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 413:
		return "body_too_large";
	case 415:
		return "unsupported_media_type";
	case 429:
		return "too_many_requests";
	case 502:
		return "bad_gateway"; /* /v1/relays: sriov-relay did not answer */
	case 503:
		return "unavailable";
	default:
		return "internal";
	}
}

int api_reply_error(struct api_response *rs, unsigned status, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	json_t *e = json_object();
	json_object_set_new(e, "code", json_string(status_code_name(status)));
	json_object_set_new(e, "message", json_text(msg));
	json_object_set_new(e, "field", json_str_or_null(field));
	free(msg);
	json_t *j = json_object();
	json_object_set_new(j, "error", e);
	return reply_json(rs, status, j);
}

/* ---- the model --------------------------------------------------------- */

static int load_tree(struct api *a, bool names, struct api_response *rs, struct pci_tree **ret)
{
	const char *root = a->src.env->lifecycle.sysfs_root;
	struct inventory_opts o = {
		.sysfs_root = root,
		.names = names,
		.netlink = inventory_root_is_live(root),
	};
	int r = a->src.load ? a->src.load(&o, ret) : inventory_load(&o, ret);
	if (r < 0) {
		*ret = NULL;
		return api_reply_error(rs, 500, NULL, "cannot read PCI devices under %s/bus/pci/devices: %s",
				   root ? root : SYSFS_DEFAULT_ROOT, strerror(-r));
	}
	/* Who holds each device (claimed_by), as sriovctl's documents say. */
	_cleanup_free_ char *error = NULL;
	struct claim_consumers c = {.ledger = a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL};
	if (c.ledger && (r = claim_annotate_tree(&c, *ret)) < 0) {
		pci_tree_free(*ret);
		*ret = NULL;
		return r;
	}
	return 0;
}

void api_model_docs_drop(struct api *a)
{
	free(a->inventory_doc);
	a->inventory_doc = NULL;
	a->inventory_len = 0;
	free(a->inventory_text);
	a->inventory_text = NULL;
	a->inventory_text_len = 0;
}

void api_model_drop(struct api *a)
{
	pci_tree_free(a->model);
	a->model = NULL;
	api_model_docs_drop(a);
}

void api_model_changed(struct api *a)
{
	if (a)
		api_model_drop(a);
}

/* The ledger's data version now (-1: unknown, or no ledger). */
static int64_t ledger_version_of(struct api *a)
{
	_cleanup_free_ char *error = NULL;
	struct ledger *l = a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL;
	int64_t v;
	return l && ledger_data_version(l, &v) == 0 ? v : -1;
}

/* claimed_by of the model as the ledger says now, when a claim or release
 * of ours or another process's write may have changed it; the inventory
 * document is made again then. */
static int model_holds_check(struct api *a)
{
	int64_t v = ledger_version_of(a);
	if (!a->holds_stale && v >= 0 && v == a->ledger_version)
		return 0;
	_cleanup_free_ char *error = NULL;
	struct claim_consumers c = {.ledger = a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL};
	if (!c.ledger)
		return 0;
	a->holds_stale = false;
	a->ledger_version = v;
	for (size_t i = 0; i < a->model->n_devs; i++) {
		free(a->model->devs[i]->claimed_by);
		a->model->devs[i]->claimed_by = NULL;
	}
	api_model_docs_drop(a);
	return claim_annotate_tree(&c, a->model);
}

/* A claim or release of ours was written: who holds what is read again;
 * on the real host its MAC and VLAN writes changed the VFs too (the link
 * event that says so may come after the next request), so the model is
 * read again. */
static void model_wrote(struct api *a)
{
	a->holds_stale = true;
	if (inventory_root_is_live(a->src.env->lifecycle.sysfs_root))
		api_model_drop(a);
}

/* The model (read now when there is none): 1 with *ret, or the answer
 * made (0) when the host's devices cannot be read. holds: its claimed_by
 * as the ledger says now (the documents; claims and releases ask the
 * ledger itself). */
static int model_of(struct api *a, bool holds, struct api_response *rs, const struct pci_tree **ret)
{
	int r;
	if (a->model && holds && (r = model_holds_check(a)) < 0)
		return r;
	if (!a->model) {
		/* Read before the holds: a write in between is seen next time. */
		int64_t v = ledger_version_of(a);
		struct pci_tree *t;
		if ((r = load_tree(a, true, rs, &t)) < 0 || !t)
			return r;
		a->model = t;
		a->ledger_version = v;
		a->holds_stale = false;
	}
	*ret = a->model;
	return 1;
}

static const struct config *config_of(const struct api *a)
{
	return *a->src.cfg;
}

/* ---- routes ------------------------------------------------------------ */

typedef int (*route_fn)(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs);

/* The text of `sriovctl list` from the model: its warnings first (the
 * lines sriovctl prints on stderr, each "warning: ..."), then the list. */
static int inventory_text(const struct pci_tree *t, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	text_print_warnings(f, t);
	text_print_list(f, t);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* ?format=json (the default): the -j list document; ?format=text: what
 * `sriovctl list` prints. Each made once from the model, kept until the
 * host or the claims change. */
static int r_inventory(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)param;
	const char *format = rq->arg ? rq->arg(rq->arg_ctx, "format") : NULL;
	bool text = format && strcmp(format, "text") == 0;
	if (format && !text && strcmp(format, "json") != 0)
		return api_reply_error(rs, 400, "format", "format: '%s' is not known (json, text)", format);
	const struct pci_tree *t = NULL;
	int r = model_of(a, true, rs, &t);
	if (r <= 0)
		return r;
	char **doc = text ? &a->inventory_text : &a->inventory_doc;
	size_t *len = text ? &a->inventory_text_len : &a->inventory_len;
	if (!*doc) {
		if (text)
			r = inventory_text(t, doc, len);
		else {
			struct api_response made = {0};
			if ((r = reply_json(&made, 200, json_inventory(t))) == 0) {
				*doc = made.body;
				*len = made.body_len;
			}
		}
		if (r < 0)
			return r;
	}
	char *body = malloc(*len + 1);
	if (!body)
		return -ENOMEM;
	memcpy(body, *doc, *len + 1);
	rs->status = 200;
	rs->body = body;
	rs->body_len = *len;
	rs->content_type = text ? "text/plain" : "application/json";
	return 0;
}

static int r_device(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	struct pci_tree *t;
	int r = load_tree(a, true, rs, &t);
	if (r < 0 || !t)
		return r;
	struct pci_function *d;
	_cleanup_free_ char *error = NULL;
	r = inventory_resolve(t, param, &d, &error);
	if (r == -ENOMEM)
		;
	else if (r < 0)
		r = api_reply_error(rs, r == -EINVAL ? 400 : 404, "address", "%s", error ? error : strerror(-r));
	else
		r = reply_json(rs, 200, json_show(t, d));
	pci_tree_free(t);
	return r;
}

static int r_plan(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	struct plan p;
	_cleanup_free_ char *error = NULL;
	int r = plan_compute(config_of(a), a->src.env, &p, &error);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return api_reply_error(rs, 409, NULL, "%s", error ? error : strerror(-r));
	r = reply_json(rs, 200, json_plan(&p));
	plan_done(&p);
	return r;
}

static int r_status(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	const struct config *cfg = config_of(a);
	struct plan p = {0};
	_cleanup_free_ char *error = NULL;
	int pr = plan_compute(cfg, a->src.env, &p, &error);
	if (pr == -ENOMEM)
		return pr;
	json_t *daemon = a->src.status ? a->src.status(a->src.data) : NULL;
	const char *config = cfg && cfg->files ? cfg->files[0] : CONFIG_DEFAULT_PATH;
	int r = reply_json(rs, 200, json_status(true, daemon, config, cfg, pr, &p, error,
						       json_incref(json_object_get(daemon, "lost_claims")), NULL));
	json_decref(daemon);
	plan_done(&p);
	return r;
}

static int r_config_list(struct api_response *rs, const char *key, json_t *list)
{
	json_t *j = json_document();
	json_object_set_new(j, key, list ? list : json_array());
	return reply_json(rs, 200, j);
}

static int r_specs(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	const struct config *cfg = config_of(a);
	json_t *list = json_array();
	for (size_t i = 0; cfg && i < cfg->n_specs; i++)
		json_array_append(list, cfg->specs[i]->obj);
	return r_config_list(rs, "device_specs", list);
}

static int r_aliases(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	const struct config *cfg = config_of(a);
	return r_config_list(rs, "aliases", cfg && cfg->alias_objs ? json_deep_copy(cfg->alias_objs) : NULL);
}

/* The networks as the config gives them, from the parsed model (a VLAN is a number). */
static int r_networks(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	const struct config *cfg = config_of(a);
	json_t *list = json_array();
	for (size_t i = 0; cfg && i < cfg->networks.n; i++) {
		const struct alloc_network *n = &cfg->networks.v[i];
		json_t *j = json_object();
		json_object_set_new(j, "name", json_string(n->name));
		json_object_set_new(j, "vlan", n->vlan >= 0 ? json_integer(n->vlan) : json_null());
		json_object_set_new(j, "pfs", json_strv(n->pfs));
		json_object_set_new(j, "labels", json_strv(n->labels));
		json_array_append_new(list, j);
	}
	return r_config_list(rs, "networks", list);
}

/* A JSON object body: 415 unless application/json, 413 above the limit,
 * 400 when it is not JSON, not an object or nested too deep. *ret NULL and
 * 0 returned: the response is made. */
static int parse_body(const struct api_request *rq, struct api_response *rs, json_t **ret)
{
	*ret = NULL;
	if (rq->body_too_large)
		return api_reply_error(rs, 413, NULL, "the body is larger than %u bytes", API_MAX_BODY);
	const char *ct = rq->content_type;
	size_t n = strlen("application/json");
	if (!ct || strncasecmp(ct, "application/json", n) != 0 || (ct[n] && ct[n] != ';' && ct[n] != ' '))
		return api_reply_error(rs, 415, NULL, "the body must be application/json, not %s", ct ? ct : "(no Content-Type)");
	if (!rq->body || !rq->body_len)
		return api_reply_error(rs, 400, NULL, "the body is empty; expected a JSON object");
	json_error_t err;
	json_t *j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		return api_reply_error(rs, 400, NULL, "the body is not JSON: %s (line %d, column %d)", err.text, err.line,
				   err.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return api_reply_error(rs, 400, NULL, "the body must be a JSON object");
	}
	if (!json_depth_ok(j, API_MAX_DEPTH)) {
		json_decref(j);
		return api_reply_error(rs, 400, NULL, "the body is nested deeper than %u levels", API_MAX_DEPTH);
	}
	*ret = j;
	return 0;
}

int api_parse_body(const struct api_request *rq, struct api_response *rs, json_t **ret)
{
	return parse_body(rq, rs, ret);
}

int api_reply_json(struct api_response *rs, unsigned status, json_t *j)
{
	return reply_json(rs, status, j);
}

struct match_body {
	struct alloc_spec **specs;
	size_t n_specs;
	struct alloc_aliases aliases;
};

static void match_body_done(struct match_body *m)
{
	for (size_t i = 0; i < m->n_specs; i++)
		alloc_spec_free(m->specs[i]);
	free(m->specs);
	alloc_aliases_done(&m->aliases);
}

/* "spec" or "alias": an object or a list of them. */
static int match_objects(struct match_body *m, const char *key, json_t *v, struct api_response *rs)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	if (json_is_array(v) && n == 0)
		return api_reply_error(rs, 400, key, "%s: an empty list", key);
	for (size_t i = 0; i < n; i++) {
		json_t *one = json_is_array(v) ? json_array_get(v, i) : v;
		_cleanup_free_ char *error = NULL;
		int r;
		if (key[0] == 's') {
			struct alloc_spec *spec, **specs = realloc(m->specs, (m->n_specs + 1) * sizeof(*specs));
			if (!specs)
				return -ENOMEM;
			m->specs = specs;
			if ((r = alloc_spec_parse(one, &spec, &error)) == 0)
				m->specs[m->n_specs++] = spec;
		} else
			r = alloc_aliases_add(&m->aliases, one, &error);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return api_reply_error(rs, 400, key, "%s: %s", key, error ? error : strerror(-r));
	}
	return 1;
}

static int r_match(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)param;
	json_t *body;
	int r = parse_body(rq, rs, &body);
	if (r < 0 || !body)
		return r;
	struct match_body m = {0};
	const struct pci_tree *t = NULL;
	struct alloc_result res = {0};
	_cleanup_free_ char *error = NULL; /* before the first goto out */
	const char *request = NULL, *network = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "spec") == 0 || strcmp(key, "alias") == 0) {
			if ((r = match_objects(&m, key, v, rs)) <= 0)
				goto out;
		} else if (strcmp(key, "request") == 0 || strcmp(key, "network") == 0) {
			if (!json_is_string(v)) {
				r = api_reply_error(rs, 400, key, "%s: expected a string", key);
				goto out;
			}
			*(key[0] == 'r' ? &request : &network) = json_string_value(v);
		} else {
			r = api_reply_error(rs, 400, key, "%s: unknown key; expected spec, alias, request or network", key);
			goto out;
		}
	}
	const struct config *cfg = config_of(a);
	if (m.aliases.n && !request) {
		r = api_reply_error(rs, 400, "alias", "alias: needs a request (\"alias:count\")");
		goto out;
	}
	if (network && (request || m.n_specs)) {
		r = api_reply_error(rs, 400, "network", "network: takes no spec, alias or request");
		goto out;
	}
	/* As `sriovctl match --config`: the config's specs and aliases stand
	 * in for those not given. */
	struct alloc_spec *const *specs = m.specs;
	size_t n_specs = m.n_specs;
	if (!n_specs && cfg) {
		specs = cfg->specs;
		n_specs = cfg->n_specs;
	}
	const struct alloc_aliases *aliases = m.aliases.n || !cfg ? &m.aliases : &cfg->aliases;
	const struct alloc_network *net = NULL;
	if (network && !(cfg && (net = alloc_networks_find(&cfg->networks, network)))) {
		r = api_reply_error(rs, 400, "network", "network: '%s' is not a network of the config", network);
		goto out;
	}
	if (!n_specs && !request && !net) {
		r = api_reply_error(rs, 400, "spec", "spec: none given and the config has no device-specs");
		goto out;
	}
	/* The daemon's model, as claims match on it. */
	if ((r = model_of(a, true, rs, &t)) <= 0)
		goto out;
	struct alloc_query q = {
		.specs = specs,
		.n_specs = n_specs,
		.aliases = aliases,
		.request = request,
		.network = net,
		.labels = apply_pf_labels,
		.labels_data = (void *)cfg,
	};
	r = alloc_match_query(t, &q, &res, &error);
	if (r == -EINVAL && error)
		r = api_reply_error(rs, 400, "request", "request: %s", error);
	else if (r == 0)
		r = reply_json(rs, 200, json_match(&res, net));
out:
	alloc_result_done(&res);
	match_body_done(&m);
	json_decref(body);
	return r < 0 ? r : 0;
}


/* ---- claims (claim/: the functions sriovctl claim, release, claims call) ---- */

static int claim_env_of(struct api *a, struct api_response *rs, struct claim_env *ret)
{
	_cleanup_free_ char *error = NULL;
	struct ledger *l = a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL;
	if (!l) {
		*ret = (struct claim_env){0};
		return api_reply_error(rs, 503, NULL, "the claim ledger cannot be opened: %s",
				       error ? error : "this sriovd has none");
	}
	*ret = (struct claim_env){.apply = *a->src.env, .cfg = config_of(a), .ledger = l};
	ret->apply.only_pfs = NULL;
	return 1;
}

/* claim/'s -errno as a status; key names the field of a request's kind. */
static int claim_error(struct api_response *rs, int r, const char *key, const char *error)
{
	const char *msg = error ? error : strerror(-r);
	switch (r) {
	case -ENOMEM:
		return r;
	case -EINVAL:
		return api_reply_error(rs, 400, key, "%s", msg);
	case -ENOENT:
		return api_reply_error(rs, 404, key, "%s", msg);
	case -EBUSY:
	case -ENOSPC:
		return api_reply_error(rs, 409, NULL, "%s", msg);
	case -EAGAIN:
	case -ETIMEDOUT:
		return api_reply_error(rs, 503, NULL, "%s", msg);
	default:
		return api_reply_error(rs, 500, NULL, "%s", msg);
	}
}

/* Adds "refused" (the counts of a claim that cannot be met) to a 409. */
static int add_refused(struct api_response *rs, const struct claim_result *res)
{
	json_t *j = json_loadb(rs->body, rs->body_len, 0, NULL);
	json_t *doc = j ? json_claim_result("", -ENOSPC, res, NULL) : NULL;
	if (!doc) {
		json_decref(j);
		return -ENOMEM;
	}
	json_object_set(j, "refused", json_object_get(doc, "refused"));
	json_decref(doc);
	api_response_done(rs);
	return reply_json(rs, 409, j);
}

static int r_claim_post(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)param;
	json_t *body;
	int r = parse_body(rq, rs, &body);
	if (r < 0 || !body)
		return r;
	struct claim_request req = {.vlan = -1, .uid = rq->peer->uid, .pid = rq->peer->pid};
	_cleanup_free_ char *error = NULL; /* before the first goto out */
	struct claim_result res = {0};
	const char *kind_key = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "consumer") == 0 || strcmp(key, "request") == 0 || strcmp(key, "network") == 0 ||
		    strcmp(key, "device") == 0 || strcmp(key, "mac") == 0) {
			if (!json_is_string(v)) {
				r = api_reply_error(rs, 400, key, "%s: expected a string", key);
				goto out;
			}
			const char *str = json_string_value(v);
			if (key[0] == 'c') {
				if (!claim_consumer_valid(str)) {
					r = api_reply_error(rs, 400, key, "consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)", str);
					goto out;
				}
				req.consumer = str;
			} else if (key[0] == 'm') {
				if (vf_mac_parse(str, req.mac) < 0 || (req.mac[0] & 1)) {
					r = api_reply_error(rs, 400, key, "mac: '%s' is not a unicast MAC (aa:bb:cc:dd:ee:ff)", str);
					goto out;
				}
				req.has_mac = true;
			} else {
				if (kind_key) {
					r = api_reply_error(rs, 400, key, "%s: give one of request, network, device (%s is given too)",
							    key, kind_key);
					goto out;
				}
				kind_key = key;
				req.what = str;
				req.kind = key[0] == 'r' ? LEDGER_KIND_ALIAS : key[0] == 'n' ? LEDGER_KIND_NETWORK : LEDGER_KIND_DEVICE;
			}
		} else if (strcmp(key, "count") == 0 || strcmp(key, "vlan") == 0) {
			json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
			bool count = key[0] == 'c';
			if (count ? n < 1 || n > CLAIM_MAX_COUNT : n < 0 || n > 4094) {
				r = count ? api_reply_error(rs, 400, key, "count: expected a number of devices (1-%u)", CLAIM_MAX_COUNT)
					  : api_reply_error(rs, 400, key, "vlan: expected a VLAN (0-4094)");
				goto out;
			}
			if (count)
				req.count = (uint32_t)n;
			else
				req.vlan = (int32_t)n;
		} else if (strcmp(key, "vfio") == 0) {
			if (!json_is_boolean(v)) {
				r = api_reply_error(rs, 400, key, "vfio: expected true or false");
				goto out;
			}
			req.vfio = json_is_true(v);
		} else if (strcmp(key, "numa_nodes") == 0) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > CLAIM_MAX_NUMA_NODES) {
				r = api_reply_error(rs, 400, key, "numa_nodes: expected a list of 1-%d NUMA nodes",
						    CLAIM_MAX_NUMA_NODES);
				goto out;
			}
			json_array_foreach(v, i, e) {
				json_int_t n = json_is_integer(e) ? json_integer_value(e) : -1;
				if (n < 0 || n > 1023) {
					r = api_reply_error(rs, 400, key, "numa_nodes: expected NUMA nodes (0-1023)");
					goto out;
				}
				req.numa_nodes[req.n_numa_nodes++] = (int32_t)n;
			}
		} else {
			r = api_reply_error(rs, 400, key,
					    "%s: unknown key; expected consumer, request, network, device, count, mac, vlan, "
					    "vfio or numa_nodes", key);
			goto out;
		}
	}
	if (!req.consumer) {
		r = api_reply_error(rs, 400, "consumer", "consumer: required (a UUID)");
		goto out;
	}
	if (!kind_key) {
		r = api_reply_error(rs, 400, "request", "give one of request (\"alias:count\"), network, device");
		goto out;
	}
	if (req.count && req.kind != LEDGER_KIND_NETWORK) {
		r = api_reply_error(rs, 400, "count", "count: goes with network");
		goto out;
	}
	struct claim_env env;
	const struct pci_tree *model = NULL;
	if ((r = claim_env_of(a, rs, &env)) <= 0 || (r = model_of(a, false, rs, &model)) <= 0)
		goto out;
	/* Matched on the daemon's model, not on a fresh scan per claim. */
	env.tree = model;
	uint64_t start = api_now_ms(a);
	int cr = claim_run(&env, &req, &res, &error);
	if (req.vfio) /* drivers were (un)bound */
		api_model_drop(a);
	if (cr == 0) {
		model_wrote(a);
		if (!res.repeat && a->src.stats) {
			a->src.stats->claims++;
			api_stats_claim(a->src.stats, (double)(api_now_ms(a) - start) / 1000.0);
		}
		r = reply_json(rs, res.repeat ? 200 : 201, json_claim_result(req.consumer, 0, &res, NULL));
	} else {
		r = claim_error(rs, cr, kind_key, error);
		if (r == 0 && cr == -ENOSPC)
			r = add_refused(rs, &res);
	}
out:
	claim_result_done(&res);
	json_decref(body);
	return r < 0 ? r : 0;
}

/* The claims of consumer (NULL: every one): 1 with *ret, or the answer
 * made (0). */
static int consumer_claims(struct api *a, const char *consumer, struct api_response *rs, struct claim_env *env,
			   struct ledger_claims *ret)
{
	if (consumer && !claim_consumer_valid(consumer))
		return api_reply_error(rs, 400, "consumer", "consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)", consumer);
	int r = claim_env_of(a, rs, env);
	if (r <= 0)
		return r;
	_cleanup_free_ char *error = NULL;
	if ((r = claims_list(env, consumer, ret, &error)) < 0)
		return claim_error(rs, r, "consumer", error);
	return 1;
}

static int r_claims_get(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)param;
	struct claim_env env;
	struct ledger_claims list;
	int r = consumer_claims(a, rq->arg ? rq->arg(rq->arg_ctx, "consumer") : NULL, rs, &env, &list);
	if (r <= 0)
		return r;
	r = reply_json(rs, 200, json_claims(&list));
	ledger_claims_done(&list);
	return r;
}

/* The claim {id}: 1 with *ret, or the answer made (0). */
static int claim_of(struct claim_env *env, const char *param, struct api_response *rs, struct ledger_claim *ret)
{
	uint32_t id;
	if (parse_u32(param, 10, &id) < 0 || id < 1)
		return api_reply_error(rs, 400, "id", "'%s' is not a claim id", param);
	int r = ledger_claim_get(env->ledger, id, ret); /* 1 found, 0 not */
	if (r == 0)
		return api_reply_error(rs, 404, "id", "no claim %u", id);
	if (r < 0)
		return api_reply_error(rs, 500, NULL, "claim %u: %s", id, ledger_error(env->ledger));
	return 1;
}

static int r_claim_get(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	struct claim_env env;
	struct ledger_claim c;
	int r = claim_env_of(a, rs, &env);
	if (r <= 0 || (r = claim_of(&env, param, rs, &c)) <= 0)
		return r;
	json_t *doc = json_document();
	json_object_set_new(doc, "claim", json_claim(&c));
	ledger_claim_done(&c);
	return reply_json(rs, 200, doc);
}

static int release(struct api *a, struct claim_env *env, const char *consumer, int64_t id, struct api_response *rs)
{
	struct release_result res;
	_cleanup_free_ char *error = NULL;
	const struct pci_tree *model = NULL;
	int r = model_of(a, false, rs, &model);
	if (r <= 0)
		return r;
	env->tree = model;
	r = release_run(env, consumer, id, &res, &error);
	if (r < 0)
		return claim_error(rs, r, "consumer", error);
	if (a->src.stats)
		a->src.stats->releases += res.n;
	r = reply_json(rs, 200, json_release_result(consumer, &res));
	release_result_done(&res);
	model_wrote(a);
	return r;
}

/* Whether a claim's release rebinds drivers (the model changes). */
static bool claim_has_vfio(const struct ledger_claim *c)
{
	for (size_t i = 0; i < c->n_devs; i++)
		if (c->devs[i].vfio)
			return true;
	return c->vfio;
}

/* event=api uid= pid= route= decision= [reason=]: every decision on a
 * mutating route, the group's and the claim owner's. */
static void log_decision(const struct api_peer *p, const char *method, const char *path, bool ok, const char *reason)
{
	char uid[16] = "-", pid[16] = "-";
	if (p && p->known) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
	}
	char route[80];
	snprintf(route, sizeof(route), "%s %s", method, path);
	log_kv(LOG_LVL_INFO, "api", "uid", uid, "pid", pid, "route", route, "decision", ok ? "allow" : "deny",
	       reason ? "reason" : NULL, reason, NULL);
}

/* Only root or the uid that made a claim may release it (a refusal is
 * logged: the group's allow was not the last word). */
static bool may_release(const struct api_request *rq, const struct ledger_claim *c)
{
	const struct api_peer *p = rq->peer;
	if (p->uid == 0 || p->uid == c->uid)
		return true;
	log_decision(p, rq->method, rq->path, false, "claim of another uid");
	return false;
}

static int r_claim_delete(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	struct claim_env env;
	struct ledger_claim c;
	int r = claim_env_of(a, rs, &env);
	if (r <= 0 || (r = claim_of(&env, param, rs, &c)) <= 0)
		return r;
	if (!may_release(rq, &c))
		r = api_reply_error(rs, 403, NULL, "claim %lld was made by uid %u: only root or that uid may release it",
				    (long long)c.id, (unsigned)c.uid);
	else
		r = release(a, &env, c.consumer, c.id, rs);
	if (claim_has_vfio(&c))
		api_model_drop(a);
	ledger_claim_done(&c);
	return r;
}

/* ?claim=ID: only that claim of the consumer (sriovctl release --claim). */
static int r_consumer_delete(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	const char *claim = rq->arg ? rq->arg(rq->arg_ctx, "claim") : NULL;
	uint32_t id = 0;
	if (claim && (parse_u32(claim, 10, &id) < 0 || id < 1))
		return api_reply_error(rs, 400, "claim", "claim: '%s' is not a claim id", claim);
	struct claim_env env;
	struct ledger_claims list;
	int r = consumer_claims(a, param, rs, &env, &list);
	if (r <= 0)
		return r;
	bool vfio = false;
	for (size_t i = 0; i < list.n; i++)
		vfio |= claim_has_vfio(&list.v[i]);
	for (size_t i = 0; i < list.n; i++)
		if ((!id || list.v[i].id == id) && !may_release(rq, &list.v[i])) {
			r = api_reply_error(rs, 403, NULL,
					    "claim %lld of consumer %s was made by uid %u: only root or that uid may release it",
					    (long long)list.v[i].id, param, (unsigned)list.v[i].uid);
			ledger_claims_done(&list);
			return r;
		}
	ledger_claims_done(&list);
	r = release(a, &env, param, id, rs);
	if (vfio)
		api_model_drop(a);
	return r;
}

/* ---- GET /v1/claims/{id}/export: what `sriovctl export ID --format F` prints ---- */

static const char *export_content_type(enum export_format f)
{
	switch (f) {
	case EXPORT_LIBVIRT:
	case EXPORT_LIBVIRT_HOSTDEV:
		return "application/xml";
	case EXPORT_JSON:
		return "application/json";
	default:
		return "text/plain";
	}
}

static int r_claim_export(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	const char *name = rq->arg ? rq->arg(rq->arg_ctx, "format") : NULL;
	enum export_format fmt = EXPORT_JSON;
	if (name && export_format_from_string(name, &fmt) < 0)
		return api_reply_error(rs, 400, "format", "format: '%s' is not known (" EXPORT_FORMATS ")", name);
	_cleanup_free_ char *id = strndup(param, strcspn(param, "/")); /* "{id}/export" */
	if (!id)
		return -ENOMEM;
	struct claim_env env;
	struct ledger_claim c;
	int r = claim_env_of(a, rs, &env);
	if (r <= 0 || (r = claim_of(&env, id, rs, &c)) <= 0)
		return r;
	struct pci_tree *t = NULL;
	struct export_set set = {0};
	_cleanup_free_ char *error = NULL, *text = NULL;
	size_t len = 0;
	if ((r = load_tree(a, false, rs, &t)) < 0 || !t)
		goto out;
	if ((r = export_claim_inputs(t, &c, &set, &error)) < 0) {
		r = r == -ENOMEM ? r : api_reply_error(rs, 409, "id", "%s", error ? error : strerror(-r));
		goto out;
	}
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	r = export_render(f, fmt, set.in, set.n, &error);
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r == -EINVAL)
		r = api_reply_error(rs, 400, "format", "%s", error ? error : strerror(-r));
	else if (r == 0) {
		rs->status = 200;
		rs->body = TAKE_PTR(text);
		rs->body_len = len;
		rs->content_type = export_content_type(fmt);
	}
out:
	export_set_done(&set);
	pci_tree_free(t);
	ledger_claim_done(&c);
	return r < 0 ? r : 0;
}

/* ---- events: the ledger's audit history, then what follows ---- */

static struct ledger *ledger_of(struct api *a)
{
	_cleanup_free_ char *error = NULL;
	return a->src.ledger ? a->src.ledger(a->src.data, &error) : NULL;
}

int64_t api_event_seq(struct api *a)
{
	if (a->event_seq >= 0)
		return a->event_seq;
	struct ledger *l = ledger_of(a);
	if (!l)
		return 0;
	int64_t seq = 0;
	for (;;) {
		struct ledger_events ev;
		if (ledger_events_since(l, seq, 1000, &ev) < 0)
			return seq;
		if (ev.n)
			seq = ev.v[ev.n - 1].seq;
		size_t n = ev.n;
		ledger_events_done(&ev);
		if (n < 1000)
			break;
	}
	a->event_seq = seq;
	return seq;
}

static json_t *json_event(const struct ledger_event *e)
{
	json_t *j = json_object();
	json_object_set_new(j, "seq", json_integer(e->seq));
	json_object_set_new(j, "time", json_integer(e->time));
	json_object_set_new(j, "event", json_text(e->event));
	json_object_set_new(j, "consumer", json_str_or_null(e->consumer));
	json_object_set_new(j, "claim", e->claim ? json_integer(e->claim) : json_null());
	json_object_set_new(j, "device", json_str_or_null(e->device));
	json_object_set_new(j, "detail", e->detail ? json_text(e->detail) : json_null());
	return j;
}

int api_stream_fill(struct api *a, struct api_stream *s)
{
	struct ledger *l = ledger_of(a);
	if (!l)
		return 0;
	for (;;) {
		struct ledger_events ev;
		int r = ledger_events_since(l, s->seq, 256, &ev);
		if (r < 0)
			return r;
		for (size_t i = 0; i < ev.n; i++) {
			json_t *j = json_event(&ev.v[i]);
			char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
			json_decref(j);
			size_t n = line ? strlen(line) : 0;
			char *b = line ? realloc(s->buf, s->len + n + 1) : NULL;
			if (!b) {
				free(line);
				ledger_events_done(&ev);
				return -ENOMEM;
			}
			memcpy(b + s->len, line, n);
			b[s->len + n] = '\n';
			s->buf = b;
			s->len += n + 1;
			free(line);
			s->seq = ev.v[i].seq;
			if (s->seq > a->event_seq)
				a->event_seq = s->seq;
		}
		size_t n = ev.n;
		ledger_events_done(&ev);
		if (n < 256)
			return 0;
	}
}

void api_event(struct api *a, const char *event, const char *device, const char *detail)
{
	struct ledger *l = a ? ledger_of(a) : NULL;
	if (l)
		(void)ledger_audit(l, (int64_t)time(NULL), event, NULL, 0, device, detail);
}

static int r_events(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)param;
	const char *since = rq->arg ? rq->arg(rq->arg_ctx, "since") : NULL;
	uint32_t n = 0;
	if (since && parse_u32(since, 10, &n) < 0)
		return api_reply_error(rs, 400, "since", "since: '%s' is not an event number (0, 1, ...)", since);
	_cleanup_free_ char *error = NULL;
	if (!a->src.ledger || !a->src.ledger(a->src.data, &error))
		return api_reply_error(rs, 503, NULL, "the claim ledger cannot be opened: %s",
				       error ? error : "this sriovd has none");
	rs->status = 200;
	rs->stream = true;
	rs->since = since ? (int64_t)n : -1;
	rs->content_type = "application/x-ndjson";
	return 0;
}

static int r_apply(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	if (!a->src.apply)
		return api_reply_error(rs, 503, NULL, "this sriovd applies nothing");
	return reply_json(rs, 200, a->src.apply(a->src.data));
}

static int r_health(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	bool ready = *a->src.ready;
	json_t *j = json_document();
	json_object_set_new(j, "status", json_string(ready ? "ok" : "starting"));
	json_object_set_new(j, "version", json_string(SRIOVD_VERSION));
	json_object_set_new(j, "pid", json_integer(getpid()));
	return reply_json(rs, ready ? 200 : 503, j);
}

static int r_metrics(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)rq;
	(void)param;
	char *text;
	size_t len;
	int r = api_metrics(a, &text, &len);
	if (r < 0)
		return r;
	rs->status = 200;
	rs->body = text;
	rs->body_len = len;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

static const struct route {
	const char *method;
	const char *path;  /* ending in '/': a prefix, the rest is the parameter */
	route_fn fn;
	bool mutating;     /* needs uid 0 or the group */
	bool before_ready; /* answers while the first apply runs */
} routes[] = {
	{"GET", "/v1/inventory", r_inventory, false, false},
	{"GET", "/v1/devices/", r_device, false, false},
	{"GET", "/v1/plan", r_plan, false, false},
	{"GET", "/v1/status", r_status, false, false},
	{"GET", "/v1/specs", r_specs, false, false},
	{"GET", "/v1/aliases", r_aliases, false, false},
	{"GET", "/v1/networks", r_networks, false, false},
	{"POST", "/v1/match", r_match, false, false},
	{"POST", "/v1/apply", r_apply, true, false},
	{"GET", "/v1/claims", r_claims_get, false, false},
	{"POST", "/v1/claims", r_claim_post, true, false},
	{"GET", "/v1/claims/", r_claim_get, false, false},
	{"GET", "/v1/claims/*/export", r_claim_export, false, false},
	{"DELETE", "/v1/claims/", r_claim_delete, true, false},
	{"DELETE", "/v1/consumers/", r_consumer_delete, true, false},
	{"GET", "/v1/events", r_events, false, false},
	{"GET", "/v1/relays", api_relay_forward, false, false},
	{"POST", "/v1/relays", api_relay_forward, true, false},
	{"GET", "/v1/relays/", api_relay_forward, false, false},
	{"DELETE", "/v1/relays/", api_relay_forward, true, false},
	{"GET", "/v1/relays/*/stats", api_relay_forward, false, false},
	{"GET", "/v1/health", r_health, false, true},
	{"GET", "/metrics", r_metrics, false, true},
};

/* The parameter of path under route pattern p, or NULL when it is not
 * that route ("" for a route without a parameter). A pattern ends in '/'
 * (the rest is the parameter) or has one '*' segment. */
static const char *route_param(const char *p, const char *path)
{
	/* A '*' in the pattern stands for one segment, the parameter: the
	 * rest of the path must be the pattern's rest; the parameter is
	 * returned where it starts (it ends at the next '/'). */
	const char *star = strchr(p, '*');
	if (star) {
		size_t pre = (size_t)(star - p);
		if (strncmp(p, path, pre) != 0)
			return NULL;
		const char *seg = path + pre, *end = strchr(seg, '/');
		return end && end > seg && strcmp(end, star + 1) == 0 ? seg : NULL;
	}
	size_t n = strlen(p);
	if (p[n - 1] != '/')
		return strcmp(p, path) == 0 ? path + n : NULL;
	if (strncmp(p, path, n) != 0 || !path[n] || strchr(path + n, '/'))
		return NULL;
	return path + n;
}

int api_handle(struct api *a, const struct api_request *rq, struct api_response *rs)
{
	*rs = (struct api_response){0};
	if (a->o.handle) {
		if (strcmp(rq->method, "GET") != 0 && !(rq->peer && api_peer_may_write(rq->peer, a->gid)))
			return api_reply_error(rs, 403, NULL, "%s %s needs uid 0 or membership of the group %s", rq->method,
					       rq->path, a->gid == (gid_t)-1 ? "(none: root only)" : a->o.group);
		return a->o.handle(a->o.handle_data, rq, rs);
	}
	const struct route *hit = NULL;
	const char *param = NULL;
	static char allow[64];
	allow[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const char *pp = route_param(routes[i].path, rq->path);
		if (!pp)
			continue;
		if (strcmp(routes[i].method, rq->method) == 0) {
			hit = &routes[i];
			param = pp;
			break;
		}
		if (!strstr(allow, routes[i].method))
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", allow[0] ? ", " : "",
				 routes[i].method);
	}
	if (!hit && allow[0]) {
		rs->allow = allow;
		return api_reply_error(rs, 405, NULL, "%s %s: method not allowed (allowed: %s)", rq->method, rq->path, allow);
	}
	if (!hit)
		return api_reply_error(rs, 404, NULL, "%s: no such route", rq->path);
	if (hit->mutating) {
		const struct api_peer *p = rq->peer;
		bool ok = p && api_peer_may_write(p, a->gid);
		log_decision(p, hit->method, hit->path, ok, NULL);
		if (!ok)
			return api_reply_error(rs, 403, NULL, "%s %s needs uid 0 or membership of the group %s", hit->method,
					   hit->path, a->gid == (gid_t)-1 ? "(none: root only)" : a->o.group);
	}
	if (!hit->before_ready && !*a->src.ready)
		return api_reply_error(rs, 503, NULL, "sriovd is applying its config for the first time; try again shortly");
	if (hit->mutating && a->src.busy && *a->src.busy)
		return api_reply_error(rs, 503, NULL, "sriovd is applying a change and waiting for the kernel; try again shortly");
	return hit->fn(a, rq, param, rs);
}

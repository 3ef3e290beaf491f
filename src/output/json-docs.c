/* The documents of plan, status and match: one mapping from their models
 * to JSON, for `sriovctl -j` and the daemon's API alike. */
#include "alloc/alloc.h"
#include "apply/apply.h"
#include "output.h"
#include "util/util.h"

json_t *json_plan_changes(const struct plan *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		json_t *j = json_object();
		json_object_set_new(j, "pf", json_string(c->pf));
		json_object_set_new(j, "pf_netdev", c->pf_netdev[0] ? json_string(c->pf_netdev) : json_null());
		json_object_set_new(j, "vf", c->vf >= 0 ? json_integer(c->vf) : json_null());
		json_object_set_new(j, "kind", json_string(change_kind_to_string(c->kind)));
		const char *field = c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind);
		json_object_set_new(j, "field", json_string(field));
		json_object_set_new(j, "now", json_string(c->now));
		json_object_set_new(j, "want", json_string(c->want));
		json_object_set_new(j, "source", json_string(c->source));
		json_object_set_new(j, "conditional", json_boolean(c->conditional));
		json_array_append_new(a, j);
	}
	return a;
}

json_t *json_plan(const struct plan *p)
{
	json_t *j = json_document();
	json_object_set_new(j, "changes", json_plan_changes(p));
	json_object_set_new(j, "missing", json_strv(p->missing));
	json_object_set_new(j, "warnings", json_strv(p->warnings));
	return j;
}

json_t *json_status(bool running, json_t *daemon, const char *config, const struct config *cfg, int plan_r,
		    const struct plan *p, const char *plan_error, json_t *lost_claims, const char *ledger_error)
{
	size_t drift = p->n + strv_length(p->missing);
	json_t *j = json_document();
	json_object_set_new(j, "running", json_boolean(running));
	json_object_set_new(j, "daemon", daemon ? json_incref(daemon) : json_null());
	json_object_set_new(j, "config", json_string(config));
	json_object_set_new(j, "config_dir", cfg && cfg->dropin_dir ? json_string(cfg->dropin_dir) : json_null());
	json_object_set_new(j, "config_files", json_strv(cfg ? cfg->files : NULL));
	json_object_set_new(j, "drift", plan_r == 0 ? json_integer((json_int_t)drift) : json_null());
	json_object_set_new(j, "changes", plan_r == 0 ? json_plan_changes(p) : json_array());
	json_object_set_new(j, "missing", json_strv(p->missing));
	json_object_set_new(j, "plan_error",
			    plan_r < 0 ? json_string(plan_error ? plan_error : strerror(-plan_r)) : json_null());
	json_object_set_new(j, "lost_claims", lost_claims ? lost_claims : json_array());
	json_object_set_new(j, "ledger_error", json_str_or_null(ledger_error));
	return j;
}

json_t *json_match_tags(const struct alloc_row *row, const struct alloc_network *net)
{
	json_t *tags = row->spec && row->spec->tags ? json_deep_copy(row->spec->tags) : json_object();
	if (net) {
		json_object_set_new(tags, "network", json_string(net->name));
		json_object_set_new(tags, "vlan", net->vlan >= 0 ? json_integer(net->vlan) : json_null());
	}
	return tags;
}

json_t *json_match(const struct alloc_result *res, const struct alloc_network *net)
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
		json_object_set_new(j, "tags", json_match_tags(row, net));
		json_object_set_new(j, "claimed_by", json_str_or_null(d->claimed_by));
		json_array_append_new(devs, j);
	}
	json_t *doc = json_document();
	json_object_set_new(doc, "devices", devs);
	return doc;
}

bool json_depth_ok(const json_t *j, unsigned max_depth)
{
	const char *k;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (max_depth == 0 || !json_depth_ok(v, max_depth - 1))
				return false;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (max_depth == 0 || !json_depth_ok(v, max_depth - 1))
				return false;
	}
	return true;
}

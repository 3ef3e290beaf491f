/* The documents of claim, release and claims: one mapping from claim/'s
 * results and ledger/'s records to JSON, for `sriovctl -j` and the API. */
#include "claim/claim.h"
#include "output.h"
#include "util/util.h"

json_t *json_claim_device(const struct claim_device *d)
{
	json_t *j = json_object();
	json_object_set_new(j, "address", json_string(d->address));
	json_object_set_new(j, "role", json_string(ledger_role_to_string(d->role)));
	json_object_set_new(j, "pf", json_str_or_null(*d->pf ? d->pf : NULL));
	json_object_set_new(j, "vf_index", d->vf_index >= 0 ? json_integer(d->vf_index) : json_null());
	json_object_set_new(j, "mac", json_str_or_null(*d->mac ? d->mac : NULL));
	json_object_set_new(j, "vlan", d->vlan >= 0 ? json_integer(d->vlan) : json_null());
	json_object_set_new(j, "vfio", json_boolean(d->vfio));
	json_object_set_new(j, "vfio_device", json_str_or_null(*d->vfio_node ? d->vfio_node : NULL));
	return j;
}

void claim_devices_of(const struct ledger_claim *c, struct claim_device *out)
{
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct ledger_device *d = &c->devs[i];
		struct claim_device *o = &out[i];
		*o = (struct claim_device){.role = d->role, .vf_index = d->vf_index, .vlan = d->vlan, .vfio = d->vfio};
		memcpy(o->address, d->address, sizeof(o->address));
		memcpy(o->pf, d->pf, sizeof(o->pf));
		memcpy(o->mac, d->mac, sizeof(o->mac));
		memcpy(o->vfio_node, d->vfio_node, sizeof(o->vfio_node));
	}
}

json_t *json_claim(const struct ledger_claim *c)
{
	json_t *j = json_object(), *devs = json_array();
	json_object_set_new(j, "id", json_integer(c->id));
	json_object_set_new(j, "consumer", json_string(c->consumer));
	json_object_set_new(j, "kind", json_string(ledger_kind_to_string(c->kind)));
	json_object_set_new(j, "request", json_text(c->request));
	json_object_set_new(j, "count", json_integer(c->count));
	json_object_set_new(j, "state", json_string(ledger_state_to_string(c->state)));
	json_object_set_new(j, "reason", json_str_or_null(c->reason));
	json_object_set_new(j, "mac", json_str_or_null(*c->mac ? c->mac : NULL));
	json_object_set_new(j, "vlan", c->vlan >= 0 ? json_integer(c->vlan) : json_null());
	json_object_set_new(j, "vfio", json_boolean(c->vfio));
	json_object_set_new(j, "numa_nodes", json_str_or_null(c->numa_nodes));
	json_object_set_new(j, "uid", json_integer(c->uid));
	json_object_set_new(j, "pid", json_integer(c->pid));
	json_object_set_new(j, "created", json_integer(c->created));
	json_object_set_new(j, "updated", json_integer(c->updated));
	struct claim_device *cd = calloc(c->n_devs ? c->n_devs : 1, sizeof(*cd));
	if (cd) {
		claim_devices_of(c, cd);
		for (size_t i = 0; i < c->n_devs; i++)
			json_array_append_new(devs, json_claim_device(&cd[i]));
		free(cd);
	}
	json_object_set_new(j, "devices", devs);
	return j;
}

json_t *json_claims(const struct ledger_claims *list)
{
	json_t *doc = json_document(), *arr = json_array();
	for (size_t i = 0; i < list->n; i++)
		json_array_append_new(arr, json_claim(&list->v[i]));
	json_object_set_new(doc, "claims", arr);
	return doc;
}

json_t *json_claim_result(const char *consumer, int r, const struct claim_result *res, const char *error)
{
	json_t *doc = json_document();
	if (r < 0) {
		json_object_set_new(doc, "claim", json_null());
		json_object_set_new(doc, "repeat", json_false());
		json_t *ref = json_object();
		json_object_set_new(ref, "wanted", json_integer(res->wanted));
		json_object_set_new(ref, "free", json_integer(res->free));
		json_object_set_new(ref, "claimed", json_integer(res->claimed));
		json_object_set_new(ref, "wrong_numa", json_integer(res->wrong_numa));
		json_object_set_new(ref, "not_matched", json_integer(res->not_matched));
		json_object_set_new(doc, "refused", ref);
		json_object_set_new(doc, "error", json_text(error ? error : strerror(-r)));
		return doc;
	}
	json_t *j = json_object(), *devs = json_array();
	json_object_set_new(j, "id", json_integer(res->id));
	json_object_set_new(j, "consumer", json_string(consumer));
	for (size_t i = 0; i < res->n_devs; i++)
		json_array_append_new(devs, json_claim_device(&res->devs[i]));
	json_object_set_new(j, "devices", devs);
	json_object_set_new(doc, "claim", j);
	json_object_set_new(doc, "repeat", json_boolean(res->repeat));
	json_object_set_new(doc, "refused", json_null());
	json_object_set_new(doc, "error", json_null());
	return doc;
}

json_t *json_release_result(const char *consumer, const struct release_result *res)
{
	json_t *doc = json_document(), *list = json_array();
	json_object_set_new(doc, "consumer", json_string(consumer));
	for (size_t i = 0; i < res->n; i++) {
		json_t *j = json_object(), *devs = json_array();
		json_object_set_new(j, "id", json_integer(res->v[i].id));
		json_object_set_new(j, "state", json_string(ledger_state_to_string(res->v[i].state)));
		json_object_set_new(j, "reason", json_str_or_null(res->v[i].reason));
		for (size_t k = 0; res->v[i].devices && res->v[i].devices[k]; k++)
			json_array_append_new(devs, json_string(res->v[i].devices[k]));
		json_object_set_new(j, "devices", devs);
		json_array_append_new(list, j);
	}
	json_object_set_new(doc, "released", list);
	return doc;
}

#include "output.h"

#include "util/input.h"
#include "util/util.h"

json_t *json_text(const char *s)
{
	if (!s)
		return NULL;
	json_t *j = json_string(s);
	if (j)
		return j;
	_cleanup_free_ char *escaped = text_escape(s);
	return escaped ? json_string(escaped) : NULL;
}

json_t *json_str_or_null(const char *s)
{
	return s ? json_text(s) : json_null();
}

json_t *json_strv(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_text(v[i]));
	return a;
}

json_t *json_time_utc(time_t t)
{
	if (!t)
		return json_null();
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static void put_bool_if(struct jw *w, const char *key, const struct vf_settings *s, enum vf_field f, bool v)
{
	if (vf_has(s, f))
		jw_bool(w, key, v);
	else
		jw_null(w, key);
}

static void put_uint_if(struct jw *w, const char *key, const struct vf_settings *s, enum vf_field f, long long v)
{
	if (vf_has(s, f))
		jw_int(w, key, v);
	else
		jw_null(w, key);
}

static void put_vf_settings(struct jw *w, const char *key, const struct vf_settings *s)
{
	char mac[VF_MAC_STRLEN];
	vf_mac_format(s->mac, s->mac_len, mac);
	const char *proto = vf_vlan_proto_to_string(s->vlan_proto);
	const char *state = vf_link_state_to_string(s->link_state);

	jw_object_begin(w, key);
	jw_str(w, "mac", vf_has(s, VF_FIELD_MAC) ? mac : NULL);
	put_uint_if(w, "vlan", s, VF_FIELD_VLAN, s->vlan);
	put_uint_if(w, "qos", s, VF_FIELD_QOS, s->qos);
	jw_str(w, "vlan_protocol", vf_has(s, VF_FIELD_VLAN_PROTO) ? proto : NULL);
	put_bool_if(w, "spoof_check", s, VF_FIELD_SPOOFCHK, s->spoofchk);
	put_bool_if(w, "trust", s, VF_FIELD_TRUST, s->trust);
	jw_str(w, "link_state", vf_has(s, VF_FIELD_LINK_STATE) ? state : NULL);
	put_uint_if(w, "min_tx_rate", s, VF_FIELD_MIN_RATE, s->min_tx_rate);
	put_uint_if(w, "max_tx_rate", s, VF_FIELD_MAX_RATE, s->max_tx_rate);
	put_bool_if(w, "query_rss", s, VF_FIELD_QUERY_RSS, s->query_rss);
	if (vf_has(s, VF_FIELD_STATS)) {
		jw_object_begin(w, "stats");
		jw_int(w, "rx_packets", (long long)s->stats.rx_packets);
		jw_int(w, "tx_packets", (long long)s->stats.tx_packets);
		jw_int(w, "rx_bytes", (long long)s->stats.rx_bytes);
		jw_int(w, "tx_bytes", (long long)s->stats.tx_bytes);
		jw_int(w, "broadcast", (long long)s->stats.broadcast);
		jw_int(w, "multicast", (long long)s->stats.multicast);
		jw_int(w, "rx_dropped", (long long)s->stats.rx_dropped);
		jw_int(w, "tx_dropped", (long long)s->stats.tx_dropped);
		jw_object_end(w);
	}
	jw_object_end(w);
}

json_t *json_vf_settings(const struct vf_settings *s)
{
	struct jw w;
	jw_init_tree(&w);
	put_vf_settings(&w, NULL, s);
	return jw_take(&w);
}

static void put_u32_if(struct jw *w, const char *key, bool valid, uint32_t v)
{
	if (valid)
		jw_int(w, key, v);
	else
		jw_null(w, key);
}

static void put_sriov(struct jw *w, const struct sriov_info *s)
{
	jw_object_begin(w, "sriov");
	put_u32_if(w, "totalvfs", s->valid, s->totalvfs);
	put_u32_if(w, "numvfs", s->valid, s->numvfs);
	put_u32_if(w, "vf_offset", s->offset_valid, s->offset);
	put_u32_if(w, "vf_stride", s->stride_valid, s->stride);
	if (s->vf_device_id)
		jw_hex(w, "vf_device_id", s->vf_device_id, 4);
	else
		jw_null(w, "vf_device_id");
	if (s->autoprobe < 0)
		jw_null(w, "drivers_autoprobe");
	else
		jw_bool(w, "drivers_autoprobe", s->autoprobe);
	jw_object_end(w);
}

static void put_hex_if(struct jw *w, const char *key, bool valid, unsigned v, int width)
{
	if (valid)
		jw_hex(w, key, v, width);
	else
		jw_null(w, key);
}

static void put_int_or_null(struct jw *w, const char *key, long long v)
{
	if (v >= 0)
		jw_int(w, key, v);
	else
		jw_null(w, key);
}

static const char *role(const struct pci_function *d)
{
	return d->is_pf ? "pf" : d->pf ? "vf" : "none";
}

/* How a document shows IOMMU groups: each DEVICE with its members
 * (schema_version 1: show, numvfs), or each group once, beside the devices
 * (the list document, schema_version 2). */
enum groups { GROUPS_PER_DEVICE, GROUPS_ONCE };

/* The keys every DEVICE has. */
static void put_function(struct jw *w, const struct pci_function *d, enum groups groups)
{
	jw_str(w, "address", d->addr);
	jw_str(w, "role", role(d));
	put_hex_if(w, "vendor_id", d->ids_valid, d->vendor_id, 4);
	put_hex_if(w, "device_id", d->ids_valid, d->device_id, 4);
	put_hex_if(w, "subsystem_vendor_id", d->subsys_ids_valid, d->subsys_vendor_id, 4);
	put_hex_if(w, "subsystem_device_id", d->subsys_ids_valid, d->subsys_device_id, 4);
	jw_str(w, "vendor", d->vendor_name);
	jw_str(w, "device", d->device_name);
	put_hex_if(w, "class", d->class_valid, d->class_code, 6);
	jw_str(w, "driver", d->driver);
	jw_str(w, "driver_override", d->driver_override);
	jw_strv(w, "netdevs", d->netdevs);
	/* netdevs in other network namespaces: [{"name": "eth4", "netns": "c1"}] */
	jw_array_begin(w, "netns_netdevs");
	for (size_t i = 0; d->netns_netdevs && d->netns_netdevs[i]; i++) {
		jw_object_begin(w, NULL);
		jw_str(w, "name", d->netns_netdevs[i]);
		jw_str(w, "netns", d->netns_names[i]);
		jw_object_end(w);
	}
	jw_array_end(w);
	put_int_or_null(w, "numa_node", d->numa_node);
	put_int_or_null(w, "iommu_group", d->iommu_group);
	if (groups == GROUPS_PER_DEVICE) {
		jw_array_begin(w, "iommu_group_members");
		for (size_t i = 0; i < d->n_group_peers; i++)
			jw_str(w, NULL, d->group_peers[i]->addr);
		jw_array_end(w);
	}
	jw_str(w, "claimed_by", d->claimed_by);
}

/* The keys of a VF: its PF is named by address, never printed again. The
 * MAC the VF's own netdev carries (it may differ from link.mac, the one
 * its PF gave it) is null without a netdev. */
static void put_vf(struct jw *w, const struct pci_function *vf)
{
	jw_int(w, "vf_index", vf->vf_index);
	jw_str(w, "pf", vf->pf->addr);
	if (vf->link)
		put_vf_settings(w, "link", vf->link);
	else
		jw_null(w, "link");
	char mac[VF_MAC_STRLEN];
	if (vf->netdev_mac_len == 6)
		vf_mac_format(vf->netdev_mac, 6, mac);
	jw_str(w, "netdev_mac", vf->netdev_mac_len == 6 ? mac : NULL);
}

/* A PF's VFs: each one's own keys and VF keys only, whatever the model
 * says about its VFs, so no data can make the printer descend further. */
static void put_vf_list(struct jw *w, const struct pci_function *pf, enum groups groups)
{
	jw_array_begin(w, "vfs");
	for (size_t i = 0; i < pf->n_vfs; i++) {
		const struct pci_function *vf = pf->vfs[i];
		jw_object_begin(w, NULL);
		put_function(w, vf, groups);
		if (vf->pf)
			put_vf(w, vf);
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void put_device(struct jw *w, const struct pci_function *d, enum groups groups)
{
	put_function(w, d, groups);
	if (d->is_pf) {
		put_sriov(w, &d->sriov);
		put_vf_list(w, d, groups);
	}
	if (d->pf)
		put_vf(w, d);
}

json_t *json_pci_function(const struct pci_function *d)
{
	struct jw w;
	jw_init_tree(&w);
	jw_object_begin(&w, NULL);
	put_device(&w, d, GROUPS_PER_DEVICE);
	jw_object_end(&w);
	return jw_take(&w);
}

json_t *json_document(void)
{
	json_t *o = json_object();
	json_object_set_new(o, "schema_version", json_integer(OUTPUT_SCHEMA_VERSION));
	return o;
}

json_t *json_warnings(const struct pci_tree *t)
{
	return json_strv(t->warnings);
}

json_t *json_show(const struct pci_tree *t, const struct pci_function *d)
{
	struct jw w;
	jw_init_tree(&w);
	jw_object_begin(&w, NULL);
	jw_int(&w, "schema_version", OUTPUT_SCHEMA_VERSION);
	put_device(&w, d, GROUPS_PER_DEVICE);
	jw_strv(&w, "warnings", t->warnings);
	/* What its driver answered EOPNOTSUPP to (caps_annotate()). */
	jw_array_begin(&w, "unsupported_settings");
	for (size_t i = 0; i < d->n_unsupported; i++) {
		const struct unsupported_setting *u = &d->unsupported[i];
		const char *name = strerrorname_np(-u->error);
		jw_object_begin(&w, NULL);
		jw_str(&w, "setting", u->setting);
		jw_str(&w, "driver", u->driver);
		jw_str(&w, "error", name ? name : "unknown");
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	return jw_take(&w);
}

/* Whether a function is printed in the list: a PF or a VF. */
static bool listed(const struct pci_function *d)
{
	return d->is_pf || d->pf;
}

/* "iommu_groups": each group with a listed member, once, with all its
 * members (a host bridge sharing a PF's group included). */
static void put_groups(struct jw *w, const struct pci_tree *t)
{
	jw_array_begin(w, "iommu_groups");
	for (size_t i = 0; i < t->n_by_group;) {
		size_t j = i;
		bool any = false;
		for (; j < t->n_by_group && t->by_group[j]->iommu_group == t->by_group[i]->iommu_group; j++)
			any |= listed(t->by_group[j]);
		if (any) {
			jw_object_begin(w, NULL);
			jw_int(w, "group", t->by_group[i]->iommu_group);
			jw_array_begin(w, "members");
			for (size_t k = i; k < j; k++)
				jw_str(w, NULL, t->by_group[k]->addr);
			jw_array_end(w);
			jw_object_end(w);
		}
		i = j;
	}
	jw_array_end(w);
}

static void put_inventory(struct jw *w, const struct pci_tree *t)
{
	jw_object_begin(w, NULL);
	jw_int(w, "schema_version", OUTPUT_INVENTORY_SCHEMA_VERSION);
	jw_str(w, "sysfs_root", t->root);
	jw_array_begin(w, "pfs");
	for (size_t i = 0; i < t->n_devs; i++)
		if (t->devs[i]->is_pf) {
			jw_object_begin(w, NULL);
			put_device(w, t->devs[i], GROUPS_ONCE);
			jw_object_end(w);
		}
	jw_array_end(w);
	put_groups(w, t);
	jw_strv(w, "warnings", t->warnings);
	jw_object_end(w);
}

json_t *json_inventory(const struct pci_tree *t)
{
	struct jw w;
	jw_init_tree(&w);
	put_inventory(&w, t);
	return jw_take(&w);
}

int json_inventory_print(FILE *f, const struct pci_tree *t)
{
	struct jw w;
	jw_init_stream(&w, f);
	put_inventory(&w, t);
	return jw_finish(&w);
}

int json_print(FILE *f, json_t *j)
{
	if (!j)
		return -ENOMEM;
	if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

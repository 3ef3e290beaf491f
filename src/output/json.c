#include "output.h"

#include "util/input.h"
#include "util/util.h"

static json_t *json_hex(unsigned v, int width)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%0*x", width, v);
	return json_string(buf);
}

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

static json_t *json_bool_if(const struct vf_settings *s, enum vf_field f, bool v)
{
	return vf_has(s, f) ? json_boolean(v) : json_null();
}

static json_t *json_uint_if(const struct vf_settings *s, enum vf_field f, json_int_t v)
{
	return vf_has(s, f) ? json_integer(v) : json_null();
}

json_t *json_vf_settings(const struct vf_settings *s)
{
	char mac[VF_MAC_STRLEN];
	vf_mac_format(s->mac, s->mac_len, mac);
	const char *proto = vf_vlan_proto_to_string(s->vlan_proto);
	const char *state = vf_link_state_to_string(s->link_state);

	json_t *o = json_object();
	json_object_set_new(o, "mac", vf_has(s, VF_FIELD_MAC) ? json_string(mac) : json_null());
	json_object_set_new(o, "vlan", json_uint_if(s, VF_FIELD_VLAN, s->vlan));
	json_object_set_new(o, "qos", json_uint_if(s, VF_FIELD_QOS, s->qos));
	json_object_set_new(o, "vlan_protocol",
			    vf_has(s, VF_FIELD_VLAN_PROTO) ? json_str_or_null(proto) : json_null());
	json_object_set_new(o, "spoof_check", json_bool_if(s, VF_FIELD_SPOOFCHK, s->spoofchk));
	json_object_set_new(o, "trust", json_bool_if(s, VF_FIELD_TRUST, s->trust));
	json_object_set_new(o, "link_state",
			    vf_has(s, VF_FIELD_LINK_STATE) ? json_str_or_null(state) : json_null());
	json_object_set_new(o, "min_tx_rate", json_uint_if(s, VF_FIELD_MIN_RATE, s->min_tx_rate));
	json_object_set_new(o, "max_tx_rate", json_uint_if(s, VF_FIELD_MAX_RATE, s->max_tx_rate));
	json_object_set_new(o, "query_rss", json_bool_if(s, VF_FIELD_QUERY_RSS, s->query_rss));
	if (vf_has(s, VF_FIELD_STATS)) {
		json_t *st = json_object();
		json_object_set_new(st, "rx_packets", json_integer((json_int_t)s->stats.rx_packets));
		json_object_set_new(st, "tx_packets", json_integer((json_int_t)s->stats.tx_packets));
		json_object_set_new(st, "rx_bytes", json_integer((json_int_t)s->stats.rx_bytes));
		json_object_set_new(st, "tx_bytes", json_integer((json_int_t)s->stats.tx_bytes));
		json_object_set_new(st, "broadcast", json_integer((json_int_t)s->stats.broadcast));
		json_object_set_new(st, "multicast", json_integer((json_int_t)s->stats.multicast));
		json_object_set_new(st, "rx_dropped", json_integer((json_int_t)s->stats.rx_dropped));
		json_object_set_new(st, "tx_dropped", json_integer((json_int_t)s->stats.tx_dropped));
		json_object_set_new(o, "stats", st);
	}
	return o;
}

static json_t *json_u32_if(bool valid, uint32_t v)
{
	return valid ? json_integer(v) : json_null();
}

static json_t *json_sriov(const struct sriov_info *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "totalvfs", json_u32_if(s->valid, s->totalvfs));
	json_object_set_new(o, "numvfs", json_u32_if(s->valid, s->numvfs));
	json_object_set_new(o, "vf_offset", json_u32_if(s->offset_valid, s->offset));
	json_object_set_new(o, "vf_stride", json_u32_if(s->stride_valid, s->stride));
	json_object_set_new(o, "vf_device_id", s->vf_device_id ? json_hex(s->vf_device_id, 4) : json_null());
	json_object_set_new(o, "drivers_autoprobe", s->autoprobe < 0 ? json_null() : json_boolean(s->autoprobe));
	return o;
}

/* The MAC the VF's own netdev carries (it may differ from link.mac, the
 * one its PF gave it); null without a netdev. */
static json_t *json_netdev_mac(const struct pci_function *d)
{
	char mac[VF_MAC_STRLEN];
	if (d->netdev_mac_len != 6)
		return json_null();
	vf_mac_format(d->netdev_mac, 6, mac);
	return json_string(mac);
}

static const char *role(const struct pci_function *d)
{
	return d->is_pf ? "pf" : d->pf ? "vf" : "none";
}

/* The keys every DEVICE has. */
static void put_function(json_t *o, const struct pci_function *d)
{
	json_object_set_new(o, "address", json_string(d->addr));
	json_object_set_new(o, "role", json_string(role(d)));
	json_object_set_new(o, "vendor_id", d->ids_valid ? json_hex(d->vendor_id, 4) : json_null());
	json_object_set_new(o, "device_id", d->ids_valid ? json_hex(d->device_id, 4) : json_null());
	json_object_set_new(o, "subsystem_vendor_id",
			    d->subsys_ids_valid ? json_hex(d->subsys_vendor_id, 4) : json_null());
	json_object_set_new(o, "subsystem_device_id",
			    d->subsys_ids_valid ? json_hex(d->subsys_device_id, 4) : json_null());
	json_object_set_new(o, "vendor", json_str_or_null(d->vendor_name));
	json_object_set_new(o, "device", json_str_or_null(d->device_name));
	json_object_set_new(o, "class", d->class_valid ? json_hex(d->class_code, 6) : json_null());
	json_object_set_new(o, "driver", json_str_or_null(d->driver));
	json_object_set_new(o, "driver_override", json_str_or_null(d->driver_override));
	json_object_set_new(o, "netdevs", json_strv(d->netdevs));
	/* netdevs in other network namespaces: [{"name": "eth4", "netns": "c1"}] */
	json_t *elsewhere = json_array();
	for (size_t i = 0; d->netns_netdevs && d->netns_netdevs[i]; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "name", json_text(d->netns_netdevs[i]));
		json_object_set_new(e, "netns", json_text(d->netns_names[i]));
		json_array_append_new(elsewhere, e);
	}
	json_object_set_new(o, "netns_netdevs", elsewhere);
	json_object_set_new(o, "numa_node", d->numa_node >= 0 ? json_integer(d->numa_node) : json_null());
	json_object_set_new(o, "iommu_group", d->iommu_group >= 0 ? json_integer(d->iommu_group) : json_null());
	json_t *peers = json_array();
	for (size_t i = 0; i < d->n_group_peers; i++)
		json_array_append_new(peers, json_string(d->group_peers[i]->addr));
	json_object_set_new(o, "iommu_group_members", peers);
	json_object_set_new(o, "claimed_by", json_str_or_null(d->claimed_by));
}

/* The keys of a VF: its PF is named by address, never printed again. */
static void put_vf(json_t *o, const struct pci_function *vf)
{
	json_object_set_new(o, "vf_index", json_integer(vf->vf_index));
	json_object_set_new(o, "pf", json_string(vf->pf->addr));
	json_object_set_new(o, "link", vf->link ? json_vf_settings(vf->link) : json_null());
	json_object_set_new(o, "netdev_mac", json_netdev_mac(vf));
}

/* A PF's VFs: each one's own keys and VF keys only, whatever the model
 * says about its VFs, so no data can make the printer descend further. */
static json_t *json_vf_list(const struct pci_function *pf)
{
	json_t *a = json_array();
	for (size_t i = 0; i < pf->n_vfs; i++) {
		const struct pci_function *vf = pf->vfs[i];
		json_t *o = json_object();
		put_function(o, vf);
		if (vf->pf)
			put_vf(o, vf);
		json_array_append_new(a, o);
	}
	return a;
}

static void put_device(json_t *o, const struct pci_function *d)
{
	put_function(o, d);
	if (d->is_pf) {
		json_object_set_new(o, "sriov", json_sriov(&d->sriov));
		json_object_set_new(o, "vfs", json_vf_list(d));
	}
	if (d->pf)
		put_vf(o, d);
}

json_t *json_pci_function(const struct pci_function *d)
{
	json_t *o = json_object();
	put_device(o, d);
	return o;
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
	json_t *o = json_document();
	put_device(o, d);
	json_object_set_new(o, "warnings", json_warnings(t));
	/* What its driver answered EOPNOTSUPP to (caps_annotate()). */
	json_t *a = json_array();
	for (size_t i = 0; i < d->n_unsupported; i++) {
		const struct unsupported_setting *u = &d->unsupported[i];
		const char *name = strerrorname_np(-u->error);
		json_t *e = json_object();
		json_object_set_new(e, "setting", json_string(u->setting));
		json_object_set_new(e, "driver", json_string(u->driver));
		json_object_set_new(e, "error", json_string(name ? name : "unknown"));
		json_array_append_new(a, e);
	}
	json_object_set_new(o, "unsupported_settings", a);
	return o;
}

json_t *json_inventory(const struct pci_tree *t)
{
	json_t *o = json_document();
	json_object_set_new(o, "sysfs_root", json_string(t->root));
	json_t *pfs = json_array();
	for (size_t i = 0; i < t->n_devs; i++)
		if (t->devs[i]->is_pf)
			json_array_append_new(pfs, json_pci_function(t->devs[i]));
	json_object_set_new(o, "pfs", pfs);
	json_object_set_new(o, "warnings", json_warnings(t));
	return o;
}

int json_print(FILE *f, json_t *j)
{
	if (!j)
		return -ENOMEM;
	if (json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

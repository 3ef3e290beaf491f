#include "output.h"

#include <stdarg.h>

#include "util/input.h"
#include "util/util.h"

static const char *or_dash(const char *s)
{
	return str_empty(s) ? "-" : s;
}

static void format_int(char *buf, size_t len, long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%ld", v);
}

static const char *on_off(const struct vf_settings *s, enum vf_field f, bool v)
{
	return !vf_has(s, f) ? "-" : v ? "on" : "off";
}

static void join_netdevs(const struct pci_function *d, char *buf, size_t len)
{
	buf[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; d->netdevs && d->netdevs[i]; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", d->netdevs[i]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	/* and those in other network namespaces, with the namespace */
	for (size_t i = 0; d->netns_netdevs && d->netns_netdevs[i]; i++) {
		int n = snprintf(buf + used, len - used, "%s%s (netns %s)", used ? "," : "", d->netns_netdevs[i],
				 d->netns_names[i]);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void device_title(const struct pci_function *d, char *buf, size_t len)
{
	if (d->vendor_name || d->device_name)
		snprintf(buf, len, "%s %s", or_dash(d->vendor_name), or_dash(d->device_name));
	else if (d->ids_valid)
		snprintf(buf, len, "[%04x:%04x]", d->vendor_id, d->device_id);
	else
		snprintf(buf, len, "[unknown device]");
}

/* "  netdev-mac 12:16:16:e0:89:67" when the VF's own netdev carries
 * another MAC than the one its PF gave it, else "". */
static void vf_netdev_mac_note(const struct pci_function *vf, char *buf, size_t len)
{
	buf[0] = '\0';
	const struct vf_settings *s = vf->link;
	if (vf->netdev_mac_len != 6 || !s || !vf_has(s, VF_FIELD_MAC) ||
	    (s->mac_len == 6 && memcmp(s->mac, vf->netdev_mac, 6) == 0))
		return;
	char mac[VF_MAC_STRLEN];
	vf_mac_format(vf->netdev_mac, 6, mac);
	snprintf(buf, len, "  netdev-mac %s", mac);
}

void text_print_list(FILE *f, const struct pci_tree *t)
{
	size_t n_pfs = 0;
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *pf = t->devs[i];
		if (!pf->is_pf)
			continue;
		char net[128], numa[16], group[16], title[300], vfs[32];
		join_netdevs(pf, net, sizeof(net));
		format_int(numa, sizeof(numa), pf->numa_node);
		format_int(group, sizeof(group), pf->iommu_group);
		device_title(pf, title, sizeof(title));
		if (pf->sriov.valid)
			snprintf(vfs, sizeof(vfs), "%u/%u", pf->sriov.numvfs, pf->sriov.totalvfs);
		else
			snprintf(vfs, sizeof(vfs), "?");
		const char *autoprobe = pf->sriov.autoprobe < 0 ? "?" : pf->sriov.autoprobe ? "on" : "off";
		if (n_pfs++)
			fputc('\n', f);
		text_printf(f, "PF %s  %s  driver %s  VFs %s  autoprobe %s  numa %s  iommu %s  [%04x:%04x] %s%s%s\n", pf->addr,
			net, or_dash(pf->driver), vfs, autoprobe, numa, group, pf->vendor_id, pf->device_id, title,
			pf->claimed_by ? "  claimed-by " : "", pf->claimed_by ? pf->claimed_by : "");
		if (pf->n_vfs == 0)
			continue;
		text_printf(f, "  %-3s %-12s %-10s %-9s %-5s %-17s %-4s %-3s %-8s %-5s %-7s %-6s %-6s\n", "VF",
			"ADDRESS", "NETDEV", "DRIVER", "IOMMU", "MAC", "VLAN", "QOS", "SPOOFCHK", "TRUST",
			"STATE", "MINTX", "MAXTX");
		for (size_t k = 0; k < pf->n_vfs; k++) {
			const struct pci_function *vf = pf->vfs[k];
			const struct vf_settings *s = vf->link;
			char vnet[128], vgroup[16], mac[VF_MAC_STRLEN] = "-", vlan[8] = "-", qos[8] = "-";
			char minr[16] = "-", maxr[16] = "-";
			const char *spoof = "-", *trust = "-", *state = "-";
			join_netdevs(vf, vnet, sizeof(vnet));
			format_int(vgroup, sizeof(vgroup), vf->iommu_group);
			if (s) {
				if (vf_has(s, VF_FIELD_MAC))
					vf_mac_format(s->mac, s->mac_len, mac);
				if (vf_has(s, VF_FIELD_VLAN))
					snprintf(vlan, sizeof(vlan), "%u", s->vlan);
				if (vf_has(s, VF_FIELD_QOS))
					snprintf(qos, sizeof(qos), "%u", s->qos);
				if (vf_has(s, VF_FIELD_MIN_RATE))
					snprintf(minr, sizeof(minr), "%u", s->min_tx_rate);
				if (vf_has(s, VF_FIELD_MAX_RATE))
					snprintf(maxr, sizeof(maxr), "%u", s->max_tx_rate);
				spoof = on_off(s, VF_FIELD_SPOOFCHK, s->spoofchk);
				trust = on_off(s, VF_FIELD_TRUST, s->trust);
				if (vf_has(s, VF_FIELD_LINK_STATE))
					state = or_dash(vf_link_state_to_string(s->link_state));
			}
			char netdev_mac[VF_MAC_STRLEN + 32];
			vf_netdev_mac_note(vf, netdev_mac, sizeof(netdev_mac));
			text_printf(f, "  %-3u %-12s %-10s %-9s %-5s %-17s %-4s %-3s %-8s %-5s %-7s %-6s %-6s%s%s%s\n",
				vf->vf_index, vf->addr, vnet, or_dash(vf->driver), vgroup, mac, vlan, qos, spoof,
				trust, state, minr, maxr, netdev_mac, vf->claimed_by ? "  claimed-by " : "",
				vf->claimed_by ? vf->claimed_by : "");
		}
	}
	if (n_pfs == 0)
		text_printf(f, "no SR-IOV physical functions under %s\n", t->root);
	else
		text_printf(f, "\n%zu PFs, %zu VFs\n", n_pfs, pci_tree_count_vfs(t));
}

static void kv(FILE *f, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv(FILE *f, const char *key, const char *fmt, ...)
{
	va_list ap;
	text_printf(f, "%-20s ", key);
	va_start(ap, fmt);
	text_vprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void text_print_show(FILE *f, const struct pci_function *d)
{
	char net[256], title[300], numa[16], group[16];
	join_netdevs(d, net, sizeof(net));
	device_title(d, title, sizeof(title));
	format_int(numa, sizeof(numa), d->numa_node);
	format_int(group, sizeof(group), d->iommu_group);

	kv(f, "address:", "%s", d->addr);
	kv(f, "role:", "%s", d->is_pf ? "physical function (PF)" : d->pf ? "virtual function (VF)" : "no SR-IOV");
	kv(f, "device:", "%s", title);
	if (d->ids_valid)
		kv(f, "ids:", "%04x:%04x subsystem %04x:%04x class %06x", d->vendor_id, d->device_id,
		   d->subsys_vendor_id, d->subsys_device_id, d->class_code);
	kv(f, "driver:", "%s", or_dash(d->driver));
	if (d->driver_override)
		kv(f, "driver_override:", "%s", d->driver_override);
	kv(f, "netdevs:", "%s", net);
	kv(f, "numa_node:", "%s", numa);
	kv(f, "iommu_group:", "%s", group);
	kv(f, "claimed_by:", "%s", d->claimed_by ? d->claimed_by : "- (free)");
	if (d->n_group_peers) {
		text_printf(f, "%-20s ", "iommu_group_members:");
		for (size_t i = 0; i < d->n_group_peers; i++)
			text_printf(f, "%s%s", i ? " " : "", d->group_peers[i]->addr);
		fputc('\n', f);
	}
	if (d->n_unsupported) {
		text_printf(f, "%-20s ", "driver cannot:");
		for (size_t i = 0; i < d->n_unsupported; i++) {
			const char *name = strerrorname_np(-d->unsupported[i].error);
			text_printf(f, "%s%s (%s: %s)", i ? ", " : "", d->unsupported[i].setting, d->unsupported[i].driver,
				    name ? name : "?");
		}
		fputc('\n', f);
	}
	if (d->is_pf) {
		const struct sriov_info *s = &d->sriov;
		if (s->valid)
			kv(f, "sriov:", "%u of %u VFs, offset %u stride %u, VF device %04x, autoprobe %s",
			   s->numvfs, s->totalvfs, s->offset, s->stride, s->vf_device_id,
			   s->autoprobe < 0 ? "?" : s->autoprobe ? "on" : "off");
		else
			kv(f, "sriov:", "unreadable");
		for (size_t i = 0; i < d->n_vfs; i++) {
			const struct pci_function *vf = d->vfs[i];
			char vnet[128];
			join_netdevs(vf, vnet, sizeof(vnet));
			char key[32];
			snprintf(key, sizeof(key), "vf %u:", vf->vf_index);
			kv(f, key, "%s %s driver %s", vf->addr, vnet, or_dash(vf->driver));
		}
	}
	if (d->pf) {
		kv(f, "pf:", "%s (VF %u)", d->pf->addr, d->vf_index);
		const struct vf_settings *s = d->link;
		if (!s) {
			kv(f, "link:", "not known (no netlink view of the PF)");
			return;
		}
		char mac[VF_MAC_STRLEN];
		vf_mac_format(s->mac, s->mac_len, mac);
		if (vf_has(s, VF_FIELD_MAC))
			kv(f, "mac:", "%s", mac);
		if (d->netdev_mac_len == 6) {
			vf_mac_format(d->netdev_mac, 6, mac);
			bool differs = vf_has(s, VF_FIELD_MAC) && (s->mac_len != 6 || memcmp(s->mac, d->netdev_mac, 6) != 0);
			kv(f, "netdev_mac:", "%s%s", mac, differs ? " (differs from the MAC the PF gave it)" : "");
		}
		if (vf_has(s, VF_FIELD_VLAN))
			kv(f, "vlan:", "%u qos %u proto %s", s->vlan, s->qos,
			   or_dash(vf_vlan_proto_to_string(s->vlan_proto)));
		kv(f, "spoof_check:", "%s", on_off(s, VF_FIELD_SPOOFCHK, s->spoofchk));
		kv(f, "trust:", "%s", on_off(s, VF_FIELD_TRUST, s->trust));
		kv(f, "link_state:", "%s",
		   vf_has(s, VF_FIELD_LINK_STATE) ? or_dash(vf_link_state_to_string(s->link_state)) : "-");
		if (vf_has(s, VF_FIELD_MIN_RATE) || vf_has(s, VF_FIELD_MAX_RATE))
			kv(f, "tx_rate:", "min %u max %u (Mbit/s, 0 = unlimited)", s->min_tx_rate, s->max_tx_rate);
		kv(f, "query_rss:", "%s", on_off(s, VF_FIELD_QUERY_RSS, s->query_rss));
	}
}

void text_print_warnings(FILE *f, const struct pci_tree *t)
{
	for (size_t i = 0; t->warnings && t->warnings[i]; i++)
		text_printf(f, "warning: %s\n", t->warnings[i]);
}

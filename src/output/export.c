/* export: hand-off documents and the pre-flight report (see export.h). */
#include "output/export.h"

#include <linux/vfio.h>

#include "output/output.h"
#include "util/input.h"
#include "util/util.h"
#include "lifecycle/lifecycle.h"
#include "vf/vf.h"

static const char *iommu_type_name(unsigned long t)
{
	return t == VFIO_TYPE1v2_IOMMU ? "type1v2" : t == VFIO_TYPE1_IOMMU ? "type1" : NULL;
}

static json_t *text_or_null(const char *s)
{
	return s ? json_text(s) : json_null();
}

static json_t *hex4(uint16_t v)
{
	char s[5];
	snprintf(s, sizeof(s), "%04x", v);
	return json_string(s);
}

json_t *json_vfio_preflight(const struct vfio_preflight_result *res, int r, const char *error)
{
	json_t *o = json_object();
	bool read = res->steps[VFIO_STEP_READ_CONFIG].done && res->failed != VFIO_STEP_READ_CONFIG;
	bool sysfs_ids = res->steps[VFIO_STEP_DRIVER].done && res->failed != VFIO_STEP_DRIVER;
	json_object_set_new(o, "ok", json_boolean(r == 0));
	json_object_set_new(o, "address", text_or_null(res->addr[0] ? res->addr : NULL));
	json_object_set_new(o, "iommu_group", res->iommu_group >= 0 ? json_integer(res->iommu_group) : json_null());
	json_object_set_new(o, "api_version", res->api_version >= 0 ? json_integer(res->api_version) : json_null());
	json_object_set_new(o, "iommu_type", json_str_or_null(iommu_type_name(res->iommu_type)));
	bool info = res->steps[VFIO_STEP_DEVICE_INFO].done && res->failed != VFIO_STEP_DEVICE_INFO;
	json_object_set_new(o, "regions", info ? json_integer(res->num_regions) : json_null());
	json_object_set_new(o, "irqs", info ? json_integer(res->num_irqs) : json_null());
	bool region = res->steps[VFIO_STEP_REGION_INFO].done && res->failed != VFIO_STEP_REGION_INFO;
	json_object_set_new(o, "config_size", region ? json_integer((json_int_t)res->config_size) : json_null());
	json_object_set_new(o, "vendor_id", read ? hex4(res->vendor_id) : json_null());
	json_object_set_new(o, "device_id", read ? hex4(res->device_id) : json_null());
	json_object_set_new(o, "sysfs_vendor_id", sysfs_ids ? hex4(res->sysfs_vendor_id) : json_null());
	json_object_set_new(o, "sysfs_device_id", sysfs_ids ? hex4(res->sysfs_device_id) : json_null());
	json_t *steps = json_array();
	for (int s = 0; s < VFIO_STEP_MAX; s++) {
		const struct vfio_step_result *st = &res->steps[s];
		if (!st->done)
			continue;
		json_t *j = json_object();
		json_object_set_new(j, "step", json_string(vfio_step_name(s)));
		json_object_set_new(j, "ok", json_boolean(st->r == 0));
		json_object_set_new(j, "duration_ns", json_integer((json_int_t)st->ns));
		const char *name = st->r < 0 ? strerrorname_np(-st->r) : NULL;
		json_object_set_new(j, "errno", st->r < 0 ? json_string(name ? name : "unknown") : json_null());
		json_array_append_new(steps, j);
	}
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "total_ns", json_integer((json_int_t)res->total_ns));
	json_object_set_new(o, "error", r < 0 ? text_or_null(error ? error : strerror(-r)) : json_null());
	return o;
}

/* What a step that passed learnt, for the text line. */
static void step_detail(const struct vfio_preflight_result *res, enum vfio_step s, char *buf, size_t len)
{
	buf[0] = 0;
	switch (s) {
	case VFIO_STEP_DRIVER:
		snprintf(buf, len, VFIO_DRIVER);
		break;
	case VFIO_STEP_IOMMU_GROUP:
		snprintf(buf, len, "group %d", res->iommu_group);
		break;
	case VFIO_STEP_API_VERSION:
		snprintf(buf, len, "version %d", res->api_version);
		break;
	case VFIO_STEP_CHECK_EXTENSION:
	case VFIO_STEP_SET_IOMMU:
		snprintf(buf, len, "%s", iommu_type_name(res->iommu_type) ? iommu_type_name(res->iommu_type) : "");
		break;
	case VFIO_STEP_GROUP_STATUS:
		snprintf(buf, len, "viable");
		break;
	case VFIO_STEP_DEVICE_INFO:
		snprintf(buf, len, "%u regions, %u irqs", res->num_regions, res->num_irqs);
		break;
	case VFIO_STEP_REGION_INFO:
		snprintf(buf, len, "config space %llu bytes", (unsigned long long)res->config_size);
		break;
	case VFIO_STEP_READ_CONFIG:
		snprintf(buf, len, "%04x:%04x (sysfs %04x:%04x)", res->vendor_id, res->device_id, res->sysfs_vendor_id,
			 res->sysfs_device_id);
		break;
	default:
		break;
	}
}

void text_print_vfio_preflight(FILE *f, const struct vfio_preflight_result *res, int r, const char *error)
{
	text_printf(f, "vfio pre-flight of %s:\n", res->addr[0] ? res->addr : "?");
	for (int s = 0; s < VFIO_STEP_MAX; s++) {
		const struct vfio_step_result *st = &res->steps[s];
		if (!st->done)
			continue;
		char detail[96];
		step_detail(res, s, detail, sizeof(detail));
		/* The failed step: the sentence without its "vfio: STEP: ". */
		const char *why = error ? error : strerror(-st->r);
		const char *colon = error ? strstr(error, ": ") : NULL;
		if (colon && (colon = strstr(colon + 2, ": ")))
			why = colon + 2;
		const char *tail = st->r == 0 ? detail : why;
		text_printf(f, "  %-6s %-28s %9.3f ms%s%s\n", st->r == 0 ? "ok" : "FAILED", vfio_step_name(s),
			    (double)st->ns / 1e6, *tail ? "  " : "", tail);
	}
	/* A failure is the caller's one error line. */
	if (r == 0)
		text_printf(f, "pre-flight passed in %.3f ms: ready for a hypervisor\n", (double)res->total_ns / 1e6);
}

/* --- sriovctl export ---------------------------------------------------------------- */

static const char *const format_names[EXPORT_FORMAT_MAX] = {
	[EXPORT_LIBVIRT] = "libvirt",
	[EXPORT_LIBVIRT_HOSTDEV] = "libvirt-hostdev",
	[EXPORT_QEMU] = "qemu",
	[EXPORT_XEN] = "xen",
	[EXPORT_JSON] = "json",
};

int export_format_from_string(const char *s, enum export_format *ret)
{
	for (int f = 0; s && f < EXPORT_FORMAT_MAX; f++)
		if (streq_ptr(s, format_names[f])) {
			*ret = f;
			return 0;
		}
	return -EINVAL;
}

const char *export_format_to_string(enum export_format f)
{
	return (unsigned)f < EXPORT_FORMAT_MAX ? format_names[f] : NULL;
}

char *export_xml_attr(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += strchr("&<>'\"", *p) ? 6 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		const char *e = NULL;
		switch (*p) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '\'': e = "&apos;"; break;
		case '"': e = "&quot;"; break;
		}
		if (e) {
			size_t l = strlen(e);
			memcpy(o, e, l);
			o += l;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
	return out;
}

const char *export_device_id(const struct export_input *in, char buf[32])
{
	/* the canonical address: the short form names the same function */
	struct pci_addr a;
	char canon[PCI_ADDR_STRLEN];
	const char *addr = in->addr;
	if (pci_addr_parse(in->addr, &a) == 0) {
		pci_addr_format(&a, canon);
		addr = canon;
	}
	int n = snprintf(buf, 32, "sriov-%s", addr);
	if (n < 0 || n >= 32)
		buf[31] = 0;
	for (char *p = buf + 6; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			*p = '-';
	return buf;
}

static void format_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* name='value' with value escaped; false on ENOMEM. */
static bool xml_attr(FILE *f, const char *name, const char *value)
{
	_cleanup_free_ char *v = export_xml_attr(value);
	if (!v)
		return false;
	fprintf(f, " %s='%s'", name, v);
	return true;
}

/* <address [type='pci'] domain='0x0000' bus='0x01' slot='0x10' function='0x0'/> */
static int xml_pci_address(FILE *f, const char *indent, bool with_type, const struct pci_addr *a)
{
	char dom[8], bus[8], slot[8], fn[8];
	snprintf(dom, sizeof(dom), "0x%04x", a->domain);
	snprintf(bus, sizeof(bus), "0x%02x", a->bus);
	snprintf(slot, sizeof(slot), "0x%02x", a->slot);
	snprintf(fn, sizeof(fn), "0x%x", a->function);
	fprintf(f, "%s<address", indent);
	if ((with_type && !xml_attr(f, "type", "pci")) || !xml_attr(f, "domain", dom) || !xml_attr(f, "bus", bus) ||
	    !xml_attr(f, "slot", slot) || !xml_attr(f, "function", fn))
		return -ENOMEM;
	fprintf(f, "/>\n");
	return 0;
}

static int render_libvirt(FILE *f, const struct export_input *in, const struct pci_addr *a)
{
	fprintf(f, "<interface type='hostdev' managed='no'>\n");
	fprintf(f, "  <source>\n");
	int r = xml_pci_address(f, "    ", true, a);
	if (r < 0)
		return r;
	fprintf(f, "  </source>\n");
	if (in->has_mac) {
		char mac[18];
		format_mac(in->mac, mac);
		fprintf(f, "  <mac");
		if (!xml_attr(f, "address", mac))
			return -ENOMEM;
		fprintf(f, "/>\n");
	}
	if (in->vlan_known && in->vlan) {
		char id[8];
		snprintf(id, sizeof(id), "%u", in->vlan);
		fprintf(f, "  <vlan>\n    <tag");
		if (!xml_attr(f, "id", id))
			return -ENOMEM;
		fprintf(f, "/>\n  </vlan>\n");
	}
	fprintf(f, "  <driver name='vfio'/>\n");
	fprintf(f, "</interface>\n");
	return 0;
}

static int render_libvirt_hostdev(FILE *f, const struct pci_addr *a)
{
	fprintf(f, "<hostdev mode='subsystem' type='pci' managed='no'>\n");
	fprintf(f, "  <driver name='vfio'/>\n");
	fprintf(f, "  <source>\n");
	int r = xml_pci_address(f, "    ", false, a);
	if (r < 0)
		return r;
	fprintf(f, "  </source>\n");
	fprintf(f, "</hostdev>\n");
	return 0;
}

/* The keys of one device (the document's first device, and each of "devices"). */
static void json_export_device(json_t *o, const struct export_input *in)
{
	char mac[18];
	if (in->has_mac)
		format_mac(in->mac, mac);
	json_object_set_new(o, "address", json_string(in->addr));
	json_object_set_new(o, "pf", json_str_or_null(in->pf_addr));
	json_object_set_new(o, "vf_index", in->vf_index >= 0 ? json_integer(in->vf_index) : json_null());
	json_object_set_new(o, "vendor_id", in->ids_valid ? hex4(in->vendor_id) : json_null());
	json_object_set_new(o, "device_id", in->ids_valid ? hex4(in->device_id) : json_null());
	json_object_set_new(o, "kind", json_string(in->is_nic ? "net" : "pci"));
	json_object_set_new(o, "mac", in->has_mac ? json_string(mac) : json_null());
	json_object_set_new(o, "vlan", in->vlan_known ? json_integer(in->vlan) : json_null());
	json_object_set_new(o, "driver", text_or_null(in->driver));
	json_object_set_new(o, "iommu_group", in->iommu_group >= 0 ? json_integer(in->iommu_group) : json_null());
	json_object_set_new(o, "vfio_device", text_or_null(in->vfio_device));
}

json_t *json_export(const struct export_input *in, size_t n)
{
	if (!n)
		return NULL;
	json_t *o = json_document();
	json_export_device(o, &in[0]);
	json_object_set_new(o, "consumer", text_or_null(in[0].consumer));
	json_object_set_new(o, "claim_id", in[0].claim_id > 0 ? json_integer((json_int_t)in[0].claim_id) : json_null());
	json_t *devs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_object();
		json_export_device(d, &in[i]);
		json_array_append_new(devs, d);
	}
	json_object_set_new(o, "devices", devs);
	return o;
}

/* Whether fmt suits in: 0, or -EINVAL with the reason. */
static int export_check(enum export_format fmt, const struct export_input *in, char **ret_error)
{
	struct pci_addr a;
	if (pci_addr_parse(in->addr, &a) < 0)
		return error_set(ret_error, -EINVAL, "'%s' is not a PCI address", in->addr);
	if (fmt == EXPORT_LIBVIRT && !in->is_nic) {
		char cls[16] = "unknown";
		if (in->class_valid)
			snprintf(cls, sizeof(cls), "0x%06x", in->class_code);
		return error_set(ret_error, -EINVAL, "%s is not a network function (PCI class %s): libvirt's "
				 "<interface type='hostdev'> is for NICs; use --format libvirt-hostdev", in->addr, cls);
	}
	/* libvirt sets the MAC and VLAN through the PF: only a VF has one. */
	if (fmt == EXPORT_LIBVIRT && !in->pf_addr)
		return error_set(ret_error, -EINVAL, "%s is not an SR-IOV VF: libvirt's <interface type='hostdev'> is "
				 "for VFs; use --format libvirt-hostdev", in->addr);
	if ((unsigned)fmt >= EXPORT_FORMAT_MAX)
		return error_set(ret_error, -EINVAL, "unknown format");
	return 0;
}

int export_render(FILE *f, enum export_format fmt, const struct export_input *in, size_t n, char **ret_error)
{
	if (!n)
		return error_set(ret_error, -EINVAL, "nothing to export");
	/* Every device is checked before anything is written. */
	for (size_t i = 0; i < n; i++) {
		int r = export_check(fmt, &in[i], ret_error);
		if (r < 0)
			return r;
	}
	int r = 0;
	if (fmt == EXPORT_JSON) {
		json_t *j = json_export(in, n);
		r = json_print(f, j);
		json_decref(j);
	} else if (fmt == EXPORT_XEN) {
		fprintf(f, "pci = [ ");
		for (size_t i = 0; i < n; i++) {
			struct pci_addr a;
			char host[PCI_ADDR_STRLEN];
			(void)pci_addr_parse(in[i].addr, &a);
			pci_addr_format(&a, host);
			fprintf(f, "%s'%s'", i ? ", " : "", host);
		}
		fprintf(f, " ]\n");
	}
	for (size_t i = 0; r == 0 && i < n && fmt != EXPORT_JSON && fmt != EXPORT_XEN; i++) {
		struct pci_addr a;
		char host[PCI_ADDR_STRLEN], id[32];
		(void)pci_addr_parse(in[i].addr, &a);
		pci_addr_format(&a, host);
		if (fmt == EXPORT_LIBVIRT)
			r = render_libvirt(f, &in[i], &a);
		else if (fmt == EXPORT_LIBVIRT_HOSTDEV)
			r = render_libvirt_hostdev(f, &a);
		else
			fprintf(f, "-device vfio-pci,host=%s,id=%s\n", host, export_device_id(&in[i], id));
	}
	if (r < 0)
		return r;
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

void export_input_of(const struct pci_function *d, struct export_input *in, char vfio_buf[64])
{
	*in = (struct export_input){.vf_index = -1, .iommu_group = d->iommu_group};
	snprintf(in->addr, sizeof(in->addr), "%s", d->addr);
	if (d->pf) {
		in->pf_addr = d->pf->addr;
		in->vf_index = (int32_t)d->vf_index;
	}
	in->ids_valid = d->ids_valid;
	in->vendor_id = d->vendor_id;
	in->device_id = d->device_id;
	in->class_valid = d->class_valid;
	in->class_code = d->class_code;
	in->is_nic = d->class_valid && (d->class_code >> 16) == PCI_CLASS_NETWORK;
	in->driver = d->driver;
	if (streq_ptr(d->driver, "vfio-pci") && d->iommu_group >= 0) {
		snprintf(vfio_buf, 64, LIFECYCLE_VFIO_DIR "/%d", d->iommu_group);
		in->vfio_device = vfio_buf;
	}
	const struct vf_settings *s = d->link;
	if (s && vf_has(s, VF_FIELD_MAC) && s->mac_len == 6) {
		static const uint8_t zero[6];
		/* igb shows a VF no MAC was given as all zeros: none */
		if (memcmp(s->mac, zero, 6)) {
			in->has_mac = true;
			memcpy(in->mac, s->mac, 6);
		}
	}
	if (s && vf_has(s, VF_FIELD_VLAN)) {
		in->vlan_known = true;
		in->vlan = s->vlan;
	}
}

void export_set_done(struct export_set *s)
{
	if (!s)
		return;
	free(s->in);
	free(s->vfio);
	*s = (struct export_set){0};
}

int export_claim_inputs(const struct pci_tree *t, const struct ledger_claim *c, struct export_set *ret,
			char **ret_error)
{
	if (c->state != LEDGER_ACTIVE)
		return error_set(ret_error, -EINVAL, "claim %lld of %s is %s, not active: its devices are not the consumer's",
				 (long long)c->id, c->consumer, ledger_state_to_string(c->state));
	if (!c->n_devs)
		return error_set(ret_error, -EINVAL, "claim %lld holds no device", (long long)c->id);
	struct export_set set = {.in = calloc(c->n_devs, sizeof(*set.in)), .vfio = calloc(c->n_devs, sizeof(*set.vfio)),
				 .n = c->n_devs};
	if (!set.in || !set.vfio) {
		export_set_done(&set);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct ledger_device *ld = &c->devs[i];
		const struct pci_function *d = pci_tree_find_addr(t, ld->address);
		if (!d) {
			export_set_done(&set);
			return error_set(ret_error, -ENODEV, "claim %lld: its device %s is not on this host any more",
					 (long long)c->id, ld->address);
		}
		struct export_input *in = &set.in[i];
		export_input_of(d, in, set.vfio[i]);
		/* What the claim gave it, not what netlink says now. */
		in->has_mac = ld->mac[0] && vf_mac_parse(ld->mac, in->mac) == 0;
		in->vlan_known = d->pf != NULL;
		in->vlan = ld->vlan > 0 ? (uint16_t)ld->vlan : 0;
		in->consumer = c->consumer;
		in->claim_id = c->id;
	}
	*ret = set;
	return 0;
}

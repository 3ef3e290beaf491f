/* export: hand-off documents and the pre-flight report (see export.h). */
#include "output/export.h"

#include <linux/vfio.h>

#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

static const char *iommu_type_name(unsigned long t)
{
	return t == VFIO_TYPE1v2_IOMMU ? "type1v2" : t == VFIO_TYPE1_IOMMU ? "type1" : NULL;
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
	json_object_set_new(o, "address", json_text(res->addr[0] ? res->addr : NULL));
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
	json_object_set_new(o, "error", r < 0 ? json_text(error ? error : strerror(-r)) : json_null());
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

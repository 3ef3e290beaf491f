/* Unit tests for output/export.c: every format of `sriovctl export` rendered
 * from one input, byte for byte; MAC and VLAN missing; the refusals (the
 * nvme VF and a NIC that is not a VF for libvirt's <interface>); escaping
 * (XML attributes, JSON strings, the QEMU id); exact format names; a stream
 * that fails; and the pre-flight's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/vfio.h>

#include "output/export.h"
#include "util/util.h"

/* An igb VF on vfio-pci, MAC and VLAN given. */
static struct export_input igb_vf(void)
{
	struct export_input in = {
		.addr = "0000:01:10.0",
		.pf_addr = "0000:01:00.0",
		.vf_index = 0,
		.vendor_id = 0x8086,
		.device_id = 0x10ca,
		.ids_valid = true,
		.is_nic = true,
		.class_code = 0x020000,
		.class_valid = true,
		.driver = "vfio-pci",
		.iommu_group = 11,
		.vfio_device = "/dev/vfio/11",
		.has_mac = true,
		.mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55},
		.vlan_known = true,
		.vlan = 42,
	};
	return in;
}

/* The nvme VF: not a NIC, no netlink view. */
static struct export_input nvme_vf(void)
{
	struct export_input in = {
		.addr = "0000:00:04.1",
		.pf_addr = "0000:00:04.0",
		.vf_index = 0,
		.vendor_id = 0x1b36,
		.device_id = 0x0010,
		.ids_valid = true,
		.class_code = 0x010802,
		.class_valid = true,
		.driver = "vfio-pci",
		.iommu_group = 7,
		.vfio_device = "/dev/vfio/7",
	};
	return in;
}

/* Renders in as fmt; returns the text (freed by the caller) and sets *r. */
static char *render(enum export_format fmt, const struct export_input *in, int *r, char **error)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*r = export_render(f, fmt, in, 1, error);
	fclose(f);
	return buf;
}

static void assert_render(enum export_format fmt, const struct export_input *in, const char *want)
{
	int r;
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *out = render(fmt, in, &r, &error);
	assert_int_equal(r, 0);
	assert_null(error);
	assert_string_equal(out, want);
}

static void assert_refused(enum export_format fmt, const struct export_input *in, const char *want)
{
	int r;
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *out = render(fmt, in, &r, &error);
	assert_int_equal(r, -EINVAL);
	assert_non_null(error);
	assert_string_equal(error, want);
	assert_string_equal(out, ""); /* nothing half-written */
}

static void test_libvirt(void **state)
{
	(void)state;
	struct export_input in = igb_vf();
	assert_render(EXPORT_LIBVIRT, &in,
		      "<interface type='hostdev' managed='no'>\n"
		      "  <source>\n"
		      "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>\n"
		      "  </source>\n"
		      "  <mac address='02:11:22:33:44:55'/>\n"
		      "  <vlan>\n"
		      "    <tag id='42'/>\n"
		      "  </vlan>\n"
		      "  <driver name='vfio'/>\n"
		      "</interface>\n");
}

static void test_libvirt_no_mac_vlan(void **state)
{
	(void)state;
	struct export_input in = igb_vf();
	in.has_mac = false;
	in.vlan_known = false;
	static const char want[] = "<interface type='hostdev' managed='no'>\n"
				   "  <source>\n"
				   "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>\n"
				   "  </source>\n"
				   "  <driver name='vfio'/>\n"
				   "</interface>\n";
	assert_render(EXPORT_LIBVIRT, &in, want);
	/* untagged (VLAN 0) has no <vlan> either */
	in.vlan_known = true;
	in.vlan = 0;
	assert_render(EXPORT_LIBVIRT, &in, want);
}

static void test_libvirt_address_fields(void **state)
{
	(void)state;
	struct export_input in = igb_vf();
	snprintf(in.addr, sizeof(in.addr), "abcd:fe:1f.7");
	int r;
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *out = render(EXPORT_LIBVIRT, &in, &r, &error);
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "<address type='pci' domain='0xabcd' bus='0xfe' slot='0x1f' function='0x7'/>"));
}

static void test_libvirt_refusals(void **state)
{
	(void)state;
	struct export_input in = nvme_vf();
	assert_refused(EXPORT_LIBVIRT, &in,
		       "0000:00:04.1 is not a network function (PCI class 0x010802): libvirt's <interface "
		       "type='hostdev'> is for NICs; use --format libvirt-hostdev");
	in.class_valid = false;
	assert_refused(EXPORT_LIBVIRT, &in,
		       "0000:00:04.1 is not a network function (PCI class unknown): libvirt's <interface "
		       "type='hostdev'> is for NICs; use --format libvirt-hostdev");
	/* a NIC that is not a VF (the e1000e): libvirt cannot give it a MAC through a PF */
	struct export_input nic = igb_vf();
	snprintf(nic.addr, sizeof(nic.addr), "0000:00:03.0");
	nic.pf_addr = NULL;
	nic.vf_index = -1;
	assert_refused(EXPORT_LIBVIRT, &nic,
		       "0000:00:03.0 is not an SR-IOV VF: libvirt's <interface type='hostdev'> is for VFs; use "
		       "--format libvirt-hostdev");
	struct export_input bad = igb_vf();
	snprintf(bad.addr, sizeof(bad.addr), "01:10");
	assert_refused(EXPORT_QEMU, &bad, "'01:10' is not a PCI address");
}

static void test_libvirt_hostdev(void **state)
{
	(void)state;
	struct export_input in = nvme_vf();
	static const char want[] = "<hostdev mode='subsystem' type='pci' managed='no'>\n"
				   "  <driver name='vfio'/>\n"
				   "  <source>\n"
				   "    <address domain='0x0000' bus='0x00' slot='0x04' function='0x1'/>\n"
				   "  </source>\n"
				   "</hostdev>\n";
	assert_render(EXPORT_LIBVIRT_HOSTDEV, &in, want);
	/* a NIC VF may go as a plain hostdev too (libvirt then sets no MAC) */
	struct export_input nic = igb_vf();
	int r;
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *out = render(EXPORT_LIBVIRT_HOSTDEV, &nic, &r, &error);
	assert_int_equal(r, 0);
	assert_null(strstr(out, "<mac"));
}

static void test_qemu_xen(void **state)
{
	(void)state;
	struct export_input in = igb_vf();
	assert_render(EXPORT_QEMU, &in, "-device vfio-pci,host=0000:01:10.0,id=sriov-0000-01-10-0\n");
	assert_render(EXPORT_XEN, &in, "pci = [ '0000:01:10.0' ]\n");
	/* the short form is written in full */
	snprintf(in.addr, sizeof(in.addr), "01:10.4");
	assert_render(EXPORT_QEMU, &in, "-device vfio-pci,host=0000:01:10.4,id=sriov-0000-01-10-4\n");
	assert_render(EXPORT_XEN, &in, "pci = [ '0000:01:10.4' ]\n");
	struct export_input nvme = nvme_vf();
	assert_render(EXPORT_QEMU, &nvme, "-device vfio-pci,host=0000:00:04.1,id=sriov-0000-00-04-1\n");
}

static void test_json(void **state)
{
	(void)state;
	struct export_input in = igb_vf();
	in.consumer = "7d8f3a2e-1c4b-4e5f-9a6b-0c1d2e3f4a5b";
	in.claim_id = 12;
	assert_render(EXPORT_JSON, &in,
		      "{\n"
		      "  \"schema_version\": 1,\n"
		      "  \"address\": \"0000:01:10.0\",\n"
		      "  \"pf\": \"0000:01:00.0\",\n"
		      "  \"vf_index\": 0,\n"
		      "  \"vendor_id\": \"8086\",\n"
		      "  \"device_id\": \"10ca\",\n"
		      "  \"kind\": \"net\",\n"
		      "  \"mac\": \"02:11:22:33:44:55\",\n"
		      "  \"vlan\": 42,\n"
		      "  \"driver\": \"vfio-pci\",\n"
		      "  \"iommu_group\": 11,\n"
		      "  \"vfio_device\": \"/dev/vfio/11\",\n"
		      "  \"consumer\": \"7d8f3a2e-1c4b-4e5f-9a6b-0c1d2e3f4a5b\",\n"
		      "  \"claim_id\": 12,\n"
		      "  \"devices\": [\n"
		      "    {\n"
		      "      \"address\": \"0000:01:10.0\",\n"
		      "      \"pf\": \"0000:01:00.0\",\n"
		      "      \"vf_index\": 0,\n"
		      "      \"vendor_id\": \"8086\",\n"
		      "      \"device_id\": \"10ca\",\n"
		      "      \"kind\": \"net\",\n"
		      "      \"mac\": \"02:11:22:33:44:55\",\n"
		      "      \"vlan\": 42,\n"
		      "      \"driver\": \"vfio-pci\",\n"
		      "      \"iommu_group\": 11,\n"
		      "      \"vfio_device\": \"/dev/vfio/11\"\n"
		      "    }\n"
		      "  ]\n"
		      "}\n");
}

static void test_json_unknowns(void **state)
{
	(void)state;
	struct export_input in = nvme_vf();
	in.driver = NULL;
	in.vfio_device = NULL;
	in.iommu_group = -1;
	in.ids_valid = false;
	json_t *j = json_export(&in, 1);
	assert_non_null(j);
	static const char *const nulls[] = {"mac", "vlan", "driver", "iommu_group", "vfio_device", "consumer",
					    "claim_id", "vendor_id", "device_id"};
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++) {
		json_t *v = json_object_get(j, nulls[i]);
		assert_non_null(v); /* the key is there... */
		assert_true(json_is_null(v)); /* ...and null */
	}
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "pci");
	assert_int_equal(json_object_size(j), 15);
	json_decref(j);
	/* a PF: no pf, no index */
	in.pf_addr = NULL;
	in.vf_index = -1;
	j = json_export(&in, 1);
	assert_true(json_is_null(json_object_get(j, "pf")));
	assert_true(json_is_null(json_object_get(j, "vf_index")));
	json_decref(j);
	/* untagged is 0, not null */
	struct export_input vf = igb_vf();
	vf.vlan = 0;
	j = json_export(&vf, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "vlan")), 0);
	json_decref(j);
}

/* A claim holding two VFs: every format has both; a refusal of one
 * writes nothing at all. */
static void test_several(void **state)
{
	(void)state;
	struct export_input two[2] = {igb_vf(), igb_vf()};
	snprintf(two[1].addr, sizeof(two[1].addr), "0000:01:10.2");
	two[1].vf_index = 1;
	two[1].has_mac = false;
	int r;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	_cleanup_free_ char *error = NULL;
	assert_int_equal(export_render(f, EXPORT_XEN, two, 2, &error), 0);
	assert_int_equal(export_render(f, EXPORT_QEMU, two, 2, &error), 0);
	fclose(f);
	assert_string_equal(out, "pci = [ '0000:01:10.0', '0000:01:10.2' ]\n"
				 "-device vfio-pci,host=0000:01:10.0,id=sriov-0000-01-10-0\n"
				 "-device vfio-pci,host=0000:01:10.2,id=sriov-0000-01-10-2\n");
	free(out);
	json_t *j = json_export(two, 2);
	json_t *devs = json_object_get(j, "devices");
	assert_int_equal(json_array_size(devs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(devs, 1), "address")), "0000:01:10.2");
	assert_true(json_is_null(json_object_get(json_array_get(devs, 1), "mac")));
	assert_string_equal(json_string_value(json_object_get(j, "address")), "0000:01:10.0");
	json_decref(j);
	/* one of them the nvme VF: libvirt refuses before writing the first */
	struct export_input mixed[2] = {igb_vf(), nvme_vf()};
	_cleanup_free_ char *out2 = NULL;
	len = 0;
	f = open_memstream(&out2, &len);
	r = export_render(f, EXPORT_LIBVIRT, mixed, 2, &error);
	fclose(f);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(out2, "");
	assert_int_equal(export_render(stdout, EXPORT_JSON, mixed, 0, &error), -EINVAL);
}

static void test_escaping(void **state)
{
	(void)state;
	_cleanup_free_ char *x = export_xml_attr("a&b<c>d'e\"f");
	assert_string_equal(x, "a&amp;b&lt;c&gt;d&apos;e&quot;f");
	_cleanup_free_ char *y = export_xml_attr("");
	assert_string_equal(y, "");
	_cleanup_free_ char *z = export_xml_attr("&&''");
	assert_string_equal(z, "&amp;&amp;&apos;&apos;");
	/* JSON: a consumer with quotes, a newline and bytes that are not UTF-8 */
	struct export_input in = igb_vf();
	in.consumer = "vm \"web\"\n\xff";
	json_t *j = json_export(&in, 1);
	_cleanup_free_ char *s = json_dumps(json_object_get(j, "consumer"), JSON_ENCODE_ANY);
	assert_string_equal(s, "\"vm \\\"web\\\"\\\\x0a\\\\xff\""); /* json_text: control bytes as \xHH too */
	json_decref(j);
	/* the id: letters, digits and '-' only */
	char id[32];
	assert_string_equal(export_device_id(&in, id), "sriov-0000-01-10-0");
	for (const char *p = id; *p; p++)
		assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
}

static void test_format_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int want;
	} rows[] = {
		{"libvirt", EXPORT_LIBVIRT}, {"libvirt-hostdev", EXPORT_LIBVIRT_HOSTDEV}, {"qemu", EXPORT_QEMU},
		{"xen", EXPORT_XEN}, {"json", EXPORT_JSON}, {"LIBVIRT", -1}, {"libvirt ", -1}, {"lib", -1},
		{"hostdev", -1}, {"", -1}, {"qemu,", -1}, {NULL, -1},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		enum export_format f = EXPORT_FORMAT_MAX;
		int r = export_format_from_string(rows[i].name, &f);
		if (rows[i].want < 0) {
			assert_int_equal(r, -EINVAL);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(f, rows[i].want);
			assert_string_equal(export_format_to_string(f), rows[i].name);
		}
	}
	assert_null(export_format_to_string(EXPORT_FORMAT_MAX));
}

static void test_stream_fails(void **state)
{
	(void)state;
	FILE *f = fopen("/dev/full", "we");
	if (!f)
		skip();
	struct export_input in = igb_vf();
	_cleanup_free_ char *error = NULL;
	assert_int_equal(export_render(f, EXPORT_LIBVIRT, &in, 1, &error), -EIO);
	fclose(f);
}

static void test_preflight_json(void **state)
{
	(void)state;
	struct vfio_preflight_result res = {.addr = "0000:01:10.0", .iommu_group = 11, .api_version = 0,
					    .sysfs_vendor_id = 0x8086, .sysfs_device_id = 0x10ca,
					    .failed = VFIO_STEP_GROUP_STATUS, .total_ns = 5000};
	for (int s = 0; s <= VFIO_STEP_GROUP_STATUS; s++)
		res.steps[s] = (struct vfio_step_result){.done = true, .ns = 100 * (unsigned)(s + 1)};
	res.steps[VFIO_STEP_GROUP_STATUS].r = -EPERM;
	res.iommu_type = VFIO_TYPE1v2_IOMMU;
	json_t *j = json_vfio_preflight(&res, -EPERM, "vfio: VFIO_GROUP_GET_STATUS: group 11 not viable (x)");
	assert_false(json_is_true(json_object_get(j, "ok")));
	json_t *steps = json_object_get(j, "steps");
	assert_int_equal(json_array_size(steps), VFIO_STEP_GROUP_STATUS + 1);
	json_t *last = json_array_get(steps, VFIO_STEP_GROUP_STATUS);
	assert_string_equal(json_string_value(json_object_get(last, "step")), "VFIO_GROUP_GET_STATUS");
	assert_string_equal(json_string_value(json_object_get(last, "errno")), "EPERM");
	assert_int_equal(json_integer_value(json_object_get(last, "duration_ns")), 700);
	assert_true(json_is_null(json_object_get(json_array_get(steps, 0), "errno")));
	assert_string_equal(json_string_value(json_object_get(j, "iommu_type")), "type1v2");
	assert_true(json_is_null(json_object_get(j, "vendor_id"))); /* read_config never ran */
	assert_true(json_is_null(json_object_get(j, "regions")));
	assert_string_equal(json_string_value(json_object_get(j, "sysfs_device_id")), "10ca");
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "vfio: VFIO_GROUP_GET_STATUS: group 11 not viable (x)");
	json_decref(j);

	/* text: one line per step, the failed one with the sentence's tail */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	text_print_vfio_preflight(f, &res, -EPERM, "vfio: VFIO_GROUP_GET_STATUS: group 11 not viable (x)");
	fclose(f);
	assert_non_null(strstr(buf, "  ok     driver                           0.000 ms  vfio-pci\n"));
	assert_non_null(strstr(buf, "  FAILED VFIO_GROUP_GET_STATUS            0.001 ms  group 11 not viable (x)\n"));
	assert_null(strstr(buf, "passed"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt),
		cmocka_unit_test(test_libvirt_no_mac_vlan),
		cmocka_unit_test(test_libvirt_address_fields),
		cmocka_unit_test(test_libvirt_refusals),
		cmocka_unit_test(test_libvirt_hostdev),
		cmocka_unit_test(test_qemu_xen),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_unknowns),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_stream_fails),
		cmocka_unit_test(test_preflight_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

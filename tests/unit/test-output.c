/* Unit tests for output/json.c on models built in memory: unreadable values
 * print as null (never 0, "0000", "000000"), every document carries
 * schema_version, and no model, however its links loop, makes the printer
 * recurse (a PF listed as its own VF, two PFs listing each other). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "output/output.h"
#include "util/util.h"

static void function_init(struct pci_function *d, const char *addr)
{
	*d = (struct pci_function){.numa_node = -1, .iommu_group = -1};
	snprintf(d->addr, sizeof(d->addr), "%s", addr);
}

static void pf_init(struct pci_function *pf, const char *addr)
{
	function_init(pf, addr);
	pf->is_pf = true;
	pf->sriov = (struct sriov_info){.totalvfs = 7, .numvfs = 1, .offset = 128, .stride = 2, .autoprobe = 1,
					.valid = true, .offset_valid = true, .stride_valid = true};
}

static void link_vf(struct pci_function *pf, struct pci_function **slot, struct pci_function *vf, uint32_t index)
{
	*slot = vf;
	pf->vfs = slot;
	pf->n_vfs = 1;
	vf->pf = pf;
	vf->vf_index = index;
}

/* The object at key path "a.b" (NULL when absent). */
static json_t *get(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);
	return k2 ? json_object_get(v, k2) : v;
}

static void assert_null_value(json_t *o, const char *k1, const char *k2)
{
	json_t *v = get(o, k1, k2);
	assert_non_null(v); /* the key is there ... */
	assert_true(json_is_null(v)); /* ... and says "unknown" */
}

static void test_unreadable_values_are_null(void **state)
{
	(void)state;
	struct pci_function pf, vf, *slot;
	pf_init(&pf, "0000:01:00.0");
	/* nothing readable: the validity flags stay false */
	pf.sriov.offset_valid = pf.sriov.stride_valid = false;
	function_init(&vf, "0000:01:10.0");
	link_vf(&pf, &slot, &vf, 0);

	json_t *j = json_pci_function(&pf);
	assert_null_value(j, "vendor_id", NULL);
	assert_null_value(j, "device_id", NULL);
	assert_null_value(j, "subsystem_vendor_id", NULL);
	assert_null_value(j, "subsystem_device_id", NULL);
	assert_null_value(j, "class", NULL);
	assert_null_value(j, "numa_node", NULL);
	assert_null_value(j, "iommu_group", NULL);
	assert_null_value(j, "sriov", "vf_offset");
	assert_null_value(j, "sriov", "vf_stride");
	assert_null_value(j, "sriov", "vf_device_id");
	assert_int_equal(json_integer_value(get(j, "sriov", "totalvfs")), 7);
	json_t *v = json_array_get(json_object_get(j, "vfs"), 0);
	assert_null_value(v, "subsystem_vendor_id", NULL);
	assert_null_value(v, "class", NULL);
	assert_null_value(v, "link", NULL);
	json_decref(j);

	/* readable: the values, zero included */
	pf.subsys_ids_valid = pf.class_valid = pf.ids_valid = true;
	pf.subsys_vendor_id = 0x8086;
	pf.class_code = 0x020000;
	pf.sriov.offset_valid = true;
	pf.sriov.offset = 0;
	j = json_pci_function(&pf);
	assert_string_equal(json_string_value(get(j, "subsystem_vendor_id", NULL)), "8086");
	assert_string_equal(json_string_value(get(j, "subsystem_device_id", NULL)), "0000");
	assert_string_equal(json_string_value(get(j, "class", NULL)), "020000");
	assert_true(json_is_integer(get(j, "sriov", "vf_offset")));
	assert_int_equal(json_integer_value(get(j, "sriov", "vf_offset")), 0);
	assert_null_value(j, "sriov", "vf_stride");
	json_decref(j);
}

static void test_sriov_unreadable(void **state)
{
	(void)state;
	struct pci_function pf;
	pf_init(&pf, "0000:01:00.0");
	pf.sriov.valid = false;
	pf.sriov.autoprobe = -1;
	json_t *j = json_pci_function(&pf);
	assert_null_value(j, "sriov", "totalvfs");
	assert_null_value(j, "sriov", "numvfs");
	assert_null_value(j, "sriov", "drivers_autoprobe");
	json_decref(j);
}

/* Depth of nested objects/arrays: bounded whatever the model. */
static size_t depth(json_t *j)
{
	size_t d = 0, i;
	const char *k;
	json_t *v;
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if (depth(v) > d)
				d = depth(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (depth(v) > d)
				d = depth(v);
	} else
		return 0;
	return d + 1;
}

static void test_self_listing_pf_does_not_recurse(void **state)
{
	(void)state;
	struct pci_function pf, *slot;
	pf_init(&pf, "0000:01:00.0");
	link_vf(&pf, &slot, &pf, 5); /* its own VF 5 */

	json_t *j = json_pci_function(&pf);
	assert_non_null(j);
	json_t *vfs = json_object_get(j, "vfs");
	assert_int_equal(json_array_size(vfs), 1);
	json_t *v = json_array_get(vfs, 0);
	assert_string_equal(json_string_value(json_object_get(v, "address")), "0000:01:00.0");
	assert_null(json_object_get(v, "vfs")); /* one level, never more */
	assert_null(json_object_get(v, "sriov"));
	assert_string_equal(json_string_value(json_object_get(v, "pf")), "0000:01:00.0");
	assert_true(depth(j) <= 4);
	json_decref(j);
}

static void test_mutually_listing_pfs_do_not_recurse(void **state)
{
	(void)state;
	struct pci_function a, b, *slot_a, *slot_b;
	pf_init(&a, "0000:01:00.0");
	pf_init(&b, "0000:02:00.0");
	link_vf(&a, &slot_a, &b, 0);
	link_vf(&b, &slot_b, &a, 0);

	struct pci_function *devs[] = {&a, &b};
	struct pci_tree t = {.root = "/fake", .devs = devs, .n_devs = 2};
	json_t *j = json_inventory(&t);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "pfs")), 2);
	assert_true(depth(j) <= 6);
	json_decref(j);

	j = json_show(&t, &a);
	assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), OUTPUT_SCHEMA_VERSION);
	assert_true(depth(j) <= 4);
	json_decref(j);
}

static void test_documents_carry_schema_version_and_warnings(void **state)
{
	(void)state;
	struct pci_function pf;
	pf_init(&pf, "0000:01:00.0");
	struct pci_function *devs[] = {&pf};
	char *warnings[] = {"0000:01:00.0: cannot read class: Invalid argument", NULL};
	struct pci_tree t = {.root = "/fake", .devs = devs, .n_devs = 1, .warnings = warnings};

	json_t *j = json_show(&t, &pf);
	assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
	json_t *w = json_object_get(j, "warnings");
	assert_int_equal(json_array_size(w), 1);
	assert_string_equal(json_string_value(json_array_get(w, 0)), warnings[0]);
	assert_string_equal(json_string_value(json_object_get(j, "address")), "0000:01:00.0");
	json_decref(j);

	j = json_inventory(&t);
	assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
	json_decref(j);

	j = json_document();
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
	json_decref(j);
}

/* What json_inventory_print() streams for t, and what jansson prints for
 * the tree json_inventory() builds: the same bytes. */
static void assert_stream_is_dump(const struct pci_tree *t)
{
	char *streamed = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&streamed, &len);
	assert_non_null(f);
	assert_int_equal(json_inventory_print(f, t), 0);
	assert_int_equal(fclose(f), 0);
	json_t *j = json_inventory(t);
	assert_non_null(j);
	char *dumped = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(dumped);
	assert_int_equal(len, strlen(dumped) + 1);
	assert_memory_equal(streamed, dumped, strlen(dumped));
	assert_int_equal(streamed[len - 1], '\n');
	free(dumped);
	free(streamed);
}

/* The streamed list document is jansson's, byte for byte: nulls, empty
 * arrays and objects, nesting, numbers, and strings that need escaping
 * (quotes, backslashes, control characters, UTF-8, bytes that are not
 * UTF-8, which come out as "\xHH" text). Each IOMMU group is printed once. */
static void test_stream_matches_tree(void **state)
{
	(void)state;
	struct pci_function pf, vf, other, *slot;
	pf_init(&pf, "0000:01:00.0");
	pf.ids_valid = true;
	pf.vendor_id = 0x8086;
	pf.device_id = 0x10c9;
	pf.vendor_name = "Intel \"Corp\" \\ ünïcode";
	pf.driver = "igb";
	char *netdevs[] = {"eth0", "we\tird\x01\x7f\n", "bad\xff\xfe", "ov\xc0\xaf" "er", "\xed\xa0\x80" "s", "\xf0\x9f\x98\x80", NULL};
	pf.netdevs = netdevs;
	pf.numa_node = 1;
	function_init(&vf, "0000:01:10.0");
	link_vf(&pf, &slot, &vf, 3);
	vf.driver_override = "vfio-pci";
	vf.netdev_mac_len = 6;
	memcpy(vf.netdev_mac, "\x02\x00\x00\x00\x00\x01", 6);
	struct vf_settings link = {0};
	vf.link = &link;
	function_init(&other, "0000:00:00.0");
	/* one group for all three, the host bridge (not listed) included */
	pf.iommu_group = vf.iommu_group = other.iommu_group = 7;
	struct pci_function *by_group[] = {&other, &pf, &vf};
	for (size_t i = 0; i < 3; i++) {
		by_group[i]->group_peers = by_group;
		by_group[i]->n_group_peers = 3;
	}
	struct pci_function *devs[] = {&other, &pf, &vf};
	char *warnings[] = {"a \"warning\"", NULL};
	struct pci_tree t = {.root = "/fake", .devs = devs, .n_devs = 3, .by_group = by_group, .n_by_group = 3,
			     .warnings = warnings};
	assert_stream_is_dump(&t);

	json_t *j = json_inventory(&t);
	json_t *groups = json_object_get(j, "iommu_groups");
	assert_int_equal(json_array_size(groups), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "group")), 7);
	assert_int_equal(json_array_size(json_object_get(json_array_get(groups, 0), "members")), 3);
	json_t *p = json_array_get(json_object_get(j, "pfs"), 0);
	assert_null(json_object_get(p, "iommu_group_members"));
	assert_int_equal(json_integer_value(json_object_get(p, "iommu_group")), 7);
	json_decref(j);
	/* show keeps each device's members (schema_version 1) */
	j = json_show(&t, &pf);
	assert_int_equal(json_array_size(json_object_get(j, "iommu_group_members")), 3);
	json_decref(j);

	/* and an empty tree */
	struct pci_tree empty = {.root = "/fake"};
	assert_stream_is_dump(&empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreadable_values_are_null),
		cmocka_unit_test(test_sriov_unreadable),
		cmocka_unit_test(test_self_listing_pf_does_not_recurse),
		cmocka_unit_test(test_mutually_listing_pfs_do_not_recurse),
		cmocka_unit_test(test_documents_carry_schema_version_and_warnings),
		cmocka_unit_test(test_stream_matches_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

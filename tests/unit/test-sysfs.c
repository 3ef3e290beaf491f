/* Unit tests for sysfs/ and inventory/ on fake trees: the testbed layout,
 * odd trees (garbage, dangling links), DEV resolution, and scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "util/util.h"
#include "test-helpers.h"

struct fixture {
	char root[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "%s/sriovd-test-XXXXXX", test_tmpdir());
	if (!f || !mkdtemp(f->root))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fakesysfs_rmtree(f->root);
	free(f);
	return 0;
}

static struct pci_tree *scan(const char *root)
{
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan(root, &t), 0);
	assert_non_null(t);
	return t;
}

static bool has_warning(const struct pci_tree *t, const char *needle)
{
	for (size_t i = 0; t->warnings && t->warnings[i]; i++)
		if (strstr(t->warnings[i], needle))
			return true;
	return false;
}

static void test_testbed(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	struct pci_tree *t = scan(f->root);

	assert_int_equal(pci_tree_count_pfs(t), 3); /* two igb, one nvme; not the e1000e */
	assert_int_equal(pci_tree_count_vfs(t), 6);
	assert_null(t->warnings);

	struct pci_function *pf = pci_tree_find_addr(t, "0000:01:00.0");
	assert_non_null(pf);
	assert_true(pf->is_pf);
	assert_true(pf->sriov.valid);
	assert_int_equal(pf->sriov.totalvfs, 7);
	assert_int_equal(pf->sriov.numvfs, 3);
	assert_int_equal(pf->sriov.offset, 128);
	assert_int_equal(pf->sriov.stride, 2);
	assert_int_equal(pf->sriov.vf_device_id, 0x10ca);
	assert_int_equal(pf->sriov.autoprobe, 1);
	assert_int_equal(pf->vendor_id, 0x8086);
	assert_int_equal(pf->device_id, 0x10c9);
	assert_int_equal(pf->class_code, 0x020000);
	assert_string_equal(pf->driver, "igb");
	assert_string_equal(pf->netdevs[0], "eth0");
	assert_int_equal(pf->n_vfs, 3);

	static const char *const vf_addrs[] = {"0000:01:10.0", "0000:01:10.2", "0000:01:10.4"};
	for (uint32_t i = 0; i < 3; i++) {
		struct pci_function *vf = pf->vfs[i];
		assert_int_equal(vf->vf_index, i);
		assert_string_equal(vf->addr, vf_addrs[i]);
		assert_ptr_equal(vf->pf, pf);
		assert_string_equal(vf->driver, "igbvf");
		assert_non_null(vf->netdevs);
		assert_true(vf->iommu_group >= 0);
		assert_int_equal(vf->n_group_peers, 1);
		assert_ptr_equal(vf->group_peers[0], vf);
		assert_ptr_equal(pci_function_vf(pf, i), vf);
	}
	assert_true(pf->vfs[0]->iommu_group != pf->vfs[1]->iommu_group);

	struct pci_function *nvme = pci_tree_find_addr(t, "0000:00:03.0");
	assert_true(nvme->is_pf);
	assert_int_equal(nvme->sriov.totalvfs, 4);
	assert_int_equal(nvme->n_vfs, 0);
	assert_null(nvme->netdevs);

	struct pci_function *e1000e = pci_tree_find_netdev(t, "eth8");
	assert_non_null(e1000e);
	assert_false(e1000e->is_pf);
	assert_null(e1000e->pf);
	assert_ptr_equal(pci_tree_find_netdev(t, "eth0"), pf);
	assert_null(pci_tree_find_netdev(t, "eth99"));
	pci_tree_free(t);
}

static void test_no_iommu(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, false), 0);
	struct pci_tree *t = scan(f->root);
	for (size_t i = 0; i < t->n_devs; i++) {
		assert_int_equal(t->devs[i]->iommu_group, -1);
		assert_int_equal(t->devs[i]->n_group_peers, 0);
	}
	pci_tree_free(t);
}

static void resolve_one(const struct pci_tree *t, const char *spec, int expect_r, const char *expect_addr,
			const char *expect_msg)
{
	struct pci_function *d = NULL;
	char *err = NULL;
	int r = inventory_resolve(t, spec, &d, &err);
	assert_int_equal(r, expect_r);
	if (r == 0) {
		assert_string_equal(d->addr, expect_addr);
		assert_null(err);
	} else {
		assert_non_null(err);
		if (expect_msg && !strstr(err, expect_msg))
			fail_msg("resolve '%s': message '%s' lacks '%s'", spec, err, expect_msg);
	}
	free(err);
}

static void test_resolve(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	struct pci_tree *t = scan(f->root);
	resolve_one(t, "eth0", 0, "0000:01:00.0", NULL);
	resolve_one(t, "0000:01:00.0", 0, "0000:01:00.0", NULL);
	resolve_one(t, "01:00.0", 0, "0000:01:00.0", NULL);
	resolve_one(t, "eth0#1", 0, "0000:01:10.2", NULL);
	resolve_one(t, "0000:02:00.0#2", 0, "0000:02:10.4", NULL);
	resolve_one(t, "eth3", 0, "0000:01:10.2", NULL); /* a VF's own netdev */
	resolve_one(t, "0000:01:10.4", 0, "0000:01:10.4", NULL);
	resolve_one(t, "eth8", 0, "0000:00:02.0", NULL); /* not SR-IOV, but a device */
	resolve_one(t, "eth8#0", -ENODEV, NULL, "not an SR-IOV physical function");
	resolve_one(t, "eth0#5", -ENODEV, NULL, "VF 5 does not exist");
	resolve_one(t, "eth0#x", -EINVAL, NULL, "not a VF number");
	resolve_one(t, "eth0#", -EINVAL, NULL, "not a VF number");
	resolve_one(t, "eth0#-1", -EINVAL, NULL, "not a VF number");
	resolve_one(t, "nosuch", -ENODEV, NULL, "no such device");
	resolve_one(t, "0000:07:00.0", -ENODEV, NULL, "no such device");
	resolve_one(t, "", -EINVAL, NULL, "empty");
	pci_tree_free(t);
}

static void test_odd_tree(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	assert_int_equal(fakesysfs_build_testbed(root, true), 0);
	/* garbage numbers, a NUL byte, an oversized file */
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:02:00.0/sriov_totalvfs", "seven\n"), 0);
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:00:00.0/vendor", "0x8086 garbage\n"), 0);
	char big[4096];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:00:02.0/class", big), 0);
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:00:02.0/numa_node", "-7\n"), 0);
	/* Where uevent lacks a fact (no uevent at all, or a key that is not
	 * what the kernel prints) it is read from its own file. */
	assert_int_equal(fakesysfs_remove(root, "bus/pci/devices/0000:00:00.0/uevent"), 0);
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:00:02.0/uevent",
					 "DRIVER=e1000e\nPCI_CLASS=0x20000\nPCI_ID=8086:10D3\n"), 0);
	/* a dangling virtfn link, a virtfn link to a non-device, a bad link name */
	assert_int_equal(fakesysfs_symlink(root, "bus/pci/devices/0000:01:00.0/virtfn5", "../0000:09:00.0"), 0);
	assert_int_equal(fakesysfs_symlink(root, "bus/pci/devices/0000:01:00.0/virtfnX", "../0000:01:10.0"), 0);
	/* a dangling entry in bus/pci/devices and a name that is no address */
	assert_int_equal(fakesysfs_symlink(root, "bus/pci/devices/0000:0a:00.0", "../../../nowhere"), 0);
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/README", "x"), 0);
	/* a file with a device's name */
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:0b:00.0", "x"), 0);
	/* an iommu_group link that is no number; a VF whose physfn lies */
	assert_int_equal(fakesysfs_symlink(root, "bus/pci/devices/0000:01:10.0/iommu_group", "../../../kernel/iommu_groups/abc"), 0);
	assert_int_equal(fakesysfs_symlink(root, "bus/pci/devices/0000:01:10.2/physfn", "../0000:02:00.0"), 0);
	/* numvfs beyond totalvfs on the NVMe */
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:00:03.0/sriov_numvfs", "9\n"), 0);

	struct pci_tree *t = scan(root);
	assert_true(has_warning(t, "0000:02:00.0: sriov_totalvfs unreadable"));
	assert_true(has_warning(t, "0000:00:00.0: cannot read vendor"));
	assert_true(has_warning(t, "0000:00:02.0: cannot read class"));
	assert_true(has_warning(t, "0000:00:02.0: cannot read numa_node"));
	assert_true(has_warning(t, "virtfn5 points at 0000:09:00.0, which is not a PCI device"));
	assert_true(has_warning(t, "virtfnX: not a VF link name"));
	assert_true(has_warning(t, "bus/pci/devices/0000:0a:00.0: No such file or directory, ignored"));
	assert_true(has_warning(t, "bus/pci/devices/0000:0b:00.0: Not a directory, ignored"));
	assert_null(pci_tree_find_addr(t, "0000:0a:00.0"));
	assert_null(pci_tree_find_addr(t, "0000:0b:00.0"));
	assert_true(has_warning(t, "bus/pci/devices/README: not a PCI address"));
	assert_true(has_warning(t, "not a group number"));
	assert_true(has_warning(t, "0000:01:10.2: physfn points at 0000:02:00.0, but 0000:01:00.0 lists it as "
				   "virtfn1; not taken as its VF"));
	assert_true(has_warning(t, "sriov_numvfs 9 exceeds sriov_totalvfs 4"));

	/* What could be read still is. */
	struct pci_function *pf2 = pci_tree_find_addr(t, "0000:02:00.0");
	assert_true(pf2->is_pf);
	assert_false(pf2->sriov.valid);
	assert_int_equal(pf2->n_vfs, 3); /* its virtfn links are intact */
	struct pci_function *pf1 = pci_tree_find_addr(t, "0000:01:00.0");
	assert_int_equal(pf1->n_vfs, 2); /* 01:10.2's physfn names another PF */
	assert_null(pci_tree_find_addr(t, "0000:01:10.2")->pf);
	assert_int_equal(pf1->vfs[0]->iommu_group, -1);
	assert_false(pci_tree_find_addr(t, "0000:00:00.0")->ids_valid);
	assert_int_equal(pci_tree_find_addr(t, "0000:00:02.0")->numa_node, -1);
	/* its uevent's PCI_ID and DRIVER were sound, and PCI_SUBSYS_ID came from the files */
	const struct pci_function *nic = pci_tree_find_addr(t, "0000:00:02.0");
	assert_true(nic->ids_valid);
	assert_int_equal(nic->device_id, 0x10d3);
	assert_string_equal(nic->driver, "e1000e");
	assert_true(nic->subsys_ids_valid);
	assert_int_equal(nic->subsys_vendor_id, 0x8086);
	pci_tree_free(t);
}

/* uevent is the one source of the driver, the IDs and the class, as on a
 * real kernel: the files and the driver link are not read when it has them. */
static void test_uevent_first(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	assert_int_equal(fakesysfs_build_testbed(root, true), 0);
	const char *dev = "bus/pci/devices/0000:01:10.0";
	char rel[128];
	snprintf(rel, sizeof(rel), "%s/vendor", dev);
	assert_int_equal(fakesysfs_write(root, rel, "garbage\n"), 0);
	snprintf(rel, sizeof(rel), "%s/class", dev);
	assert_int_equal(fakesysfs_remove(root, rel), 0);
	snprintf(rel, sizeof(rel), "%s/driver", dev);
	assert_int_equal(fakesysfs_symlink(root, rel, "../../../../bus/pci/drivers/elsewhere"), 0);
	snprintf(rel, sizeof(rel), "%s/uevent", dev);
	assert_int_equal(fakesysfs_write(root, rel,
					 "DRIVER=igbvf\nPCI_CLASS=20000\nPCI_ID=8086:10ca\nPCI_SUBSYS_ID=8086:0000\n"
					 "PCI_SLOT_NAME=0000:01:10.0\n"), 0);
	/* unbound: no DRIVER= line, whatever the link says */
	assert_int_equal(fakesysfs_write(root, "bus/pci/devices/0000:01:10.2/uevent",
					 "PCI_CLASS=20000\nPCI_ID=8086:10CA\nPCI_SUBSYS_ID=8086:0000\n"), 0);
	struct pci_tree *t = scan(root);
	assert_null(t->warnings);
	const struct pci_function *vf = pci_tree_find_addr(t, "0000:01:10.0");
	assert_true(vf->ids_valid);
	assert_int_equal(vf->vendor_id, 0x8086);
	assert_int_equal(vf->device_id, 0x10ca);
	assert_true(vf->class_valid);
	assert_int_equal(vf->class_code, 0x020000);
	assert_string_equal(vf->driver, "igbvf");
	assert_null(pci_tree_find_addr(t, "0000:01:10.2")->driver);
	/* and binding through the fixture keeps uevent true */
	pci_tree_free(t);
	assert_int_equal(fakesysfs_unbind(root, "0000:01:10.4"), 0);
	t = scan(root);
	assert_null(pci_tree_find_addr(t, "0000:01:10.4")->driver);
	pci_tree_free(t);
	assert_int_equal(fakesysfs_bind(root, "0000:01:10.4", "vfio-pci"), 0);
	t = scan(root);
	assert_string_equal(pci_tree_find_addr(t, "0000:01:10.4")->driver, "vfio-pci");
	pci_tree_free(t);
}

/* Each IOMMU group is stored once: every member's peers are the same slice. */
static void test_groups_stored_once(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid_ex(f->root, 3, 5, FAKESYSFS_SHARED_GROUPS), 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(t->n_by_group, 18);
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		const struct pci_function *pf = d->is_pf ? d : d->pf;
		assert_ptr_equal(d->group_peers, pf->group_peers);
		assert_int_equal(d->n_group_peers, 6);
		assert_ptr_equal(d->group_peers[0], pf);
	}
	pci_tree_free(t);
}

/* The rows of test_vf_links: links added to the testbed tree, and what the
 * scan must make of them. */
struct vf_link_row {
	const char *link, *target; /* under bus/pci/devices/ */
	const char *warning;       /* exact */
	const char *pf;            /* its VF counts afterwards, as "PF:N PF:N" */
	bool rm_physfn;            /* remove 0000:02:10.0/physfn first */
};

static void vf_links_one(const char *root, const struct vf_link_row *row)
{
	assert_int_equal(fakesysfs_build_testbed(root, true), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:02:10.0/physfn", root);
	if (row->rm_physfn)
		assert_int_equal(unlink(path), 0);
	if (row->link) {
		char rel[256];
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s", row->link);
		assert_int_equal(fakesysfs_symlink(root, rel, row->target), 0);
	}
	struct pci_tree *t = scan(root);
	bool found = false;
	for (size_t i = 0; t->warnings && t->warnings[i]; i++)
		found |= strcmp(t->warnings[i], row->warning) == 0;
	if (!found)
		for (size_t i = 0; t->warnings && t->warnings[i]; i++)
			print_message("warning: %s\n", t->warnings[i]);
	assert_true(found);
	char counts[128] = "";
	size_t used = 0;
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		/* the model is a forest of depth one */
		assert_false(d->is_pf && d->pf);
		if (d->pf) {
			assert_true(d->pf->is_pf);
			assert_null(d->pf->pf);
			assert_ptr_equal(pci_function_vf(d->pf, d->vf_index), d);
		}
		if (d->is_pf)
			used += (size_t)snprintf(counts + used, sizeof(counts) - used, "%s%s:%zu", used ? " " : "",
						 d->addr + 5, d->n_vfs);
	}
	assert_string_equal(counts, row->pf);
	pci_tree_free(t);
	fakesysfs_rmtree(root);
	assert_int_equal(mkdir(root, 0700), 0);
}

static void test_vf_links(void **state)
{
	struct fixture *f = *state;
	static const struct vf_link_row rows[] = {
		/* a PF that lists itself */
		{"0000:01:00.0/virtfn5", "../0000:01:00.0",
		 "0000:01:00.0: virtfn5 points at the PF itself, ignored", "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* two PFs that list each other (the second link below) */
		{"0000:01:00.0/virtfn3", "../0000:02:00.0",
		 "0000:01:00.0: virtfn3 points at 0000:02:00.0, which is a PF itself (a VF never is), ignored",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		{"0000:02:00.0/virtfn3", "../0000:01:00.0",
		 "0000:02:00.0: virtfn3 points at 0000:01:00.0, which is a PF itself (a VF never is), ignored",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* the NVMe PF listing an igb PF */
		{"0000:00:03.0/virtfn0", "../0000:01:00.0",
		 "0000:00:03.0: virtfn0 points at 0000:01:00.0, which is a PF itself (a VF never is), ignored",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* another PF's VF: its physfn does not point back */
		{"0000:01:00.0/virtfn3", "../0000:02:10.2",
		 "0000:02:10.2: physfn points at 0000:02:00.0, but 0000:01:00.0 lists it as virtfn3; not taken as its VF",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* the NVMe listing an igb VF */
		{"0000:00:03.0/virtfn0", "../0000:01:10.0",
		 "0000:01:10.0: physfn points at 0000:01:00.0, but 0000:00:03.0 lists it as virtfn0; not taken as its VF",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* a function that is no VF at all (the e1000e) */
		{"0000:02:00.0/virtfn00", "../0000:00:02.0",
		 "0000:00:02.0: no physfn link (No such file or directory), but 0000:02:00.0 lists it as virtfn00; "
		 "not taken as its VF",
		 "00:03.0:0 01:00.0:3 02:00.0:3"},
		/* a VF without physfn */
		{NULL, NULL,
		 "0000:02:10.0: no physfn link (No such file or directory), but 0000:02:00.0 lists it as virtfn0; "
		 "not taken as its VF",
		 "00:03.0:0 01:00.0:3 02:00.0:2", true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		vf_links_one(f->root, &rows[i]);
}

/* The PFs whose VF count changed, read again alone: eth0 3 -> 1 VFs, the
 * NVMe PF 0 -> 1. The tree then is what a fresh scan sees, every other
 * function keeps its place in memory, and the IOMMU groups are linked
 * again. */
static void test_reread_pfs(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	/* A VF's NUMA node is its PF's, whatever its own file says (the
	 * kernel gives both the node of the PF's bus). */
	assert_int_equal(fakesysfs_write(f->root, "bus/pci/devices/0000:01:00.0/numa_node", "1\n"), 0);
	assert_int_equal(fakesysfs_write(f->root, "bus/pci/devices/0000:01:10.0/numa_node", "0\n"), 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(pci_tree_find_addr(t, "0000:01:00.0")->numa_node, 1);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(pci_function_vf(pci_tree_find_addr(t, "0000:01:00.0"), (uint32_t)i)->numa_node, 1);
	assert_int_equal(pci_function_vf(pci_tree_find_addr(t, "0000:02:00.0"), 0)->numa_node, -1);
	struct pci_function *eth1 = pci_tree_find_addr(t, "0000:02:00.0"), *eth1_vf0 = pci_function_vf(eth1, 0);
	struct pci_function *e1000e = pci_tree_find_addr(t, "0000:00:02.0");
	assert_non_null(eth1_vf0);

	/* What the kernel does: eth0 down to 1 VF, one VF for the NVMe PF. */
	const char *gone[] = {"0000:01:10.2", "0000:01:10.4"};
	char rel[128];
	for (size_t i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s", gone[i]);
		assert_int_equal(fakesysfs_remove(f->root, rel), 0);
		snprintf(rel, sizeof(rel), "bus/pci/devices/0000:01:00.0/virtfn%zu", i + 1);
		assert_int_equal(fakesysfs_remove(f->root, rel), 0);
	}
	assert_int_equal(fakesysfs_write(f->root, "bus/pci/devices/0000:01:00.0/sriov_numvfs", "1\n"), 0);
	struct fake_dev vf = {.address = "0000:00:03.1", .vendor = 0x1b36, .device = 0x0010, .class_code = 0x010802,
			      .numa_node = -1, .driver = "nvme"};
	assert_int_equal(fakesysfs_add_device(f->root, &vf), 0);
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:00:03.0/virtfn0", "../0000:00:03.1"), 0);
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:00:03.1/physfn", "../0000:00:03.0"), 0);
	assert_int_equal(fakesysfs_write(f->root, "bus/pci/devices/0000:00:03.0/sriov_numvfs", "1\n"), 0);

	char *pfs[] = {(char *)"0000:01:00.0", (char *)"0000:00:03.0", NULL};
	assert_int_equal(pci_tree_reread_pfs(t, pfs), 0);
	/* the truth: a scan of its own */
	struct pci_tree *fresh = scan(f->root);
	assert_int_equal(t->n_devs, fresh->n_devs);
	for (size_t i = 0; i < fresh->n_devs; i++) {
		const struct pci_function *a = t->devs[i], *b = fresh->devs[i];
		assert_string_equal(a->addr, b->addr);
		assert_int_equal(a->is_pf, b->is_pf);
		assert_int_equal(a->n_vfs, b->n_vfs);
		assert_int_equal(a->sriov.numvfs, b->sriov.numvfs);
		assert_true(streq_ptr(a->driver, b->driver));
		assert_int_equal(!a->pf, !b->pf);
		if (a->pf) {
			assert_string_equal(a->pf->addr, b->pf->addr);
			assert_ptr_equal(pci_function_vf(a->pf, a->vf_index), a);
		}
		assert_int_equal(a->iommu_group, b->iommu_group);
		assert_int_equal(a->numa_node, b->numa_node);
		assert_int_equal(a->n_group_peers, b->n_group_peers);
		for (size_t k = 0; k < a->n_group_peers; k++)
			assert_ptr_equal(a->group_peers[k], pci_tree_find_addr(t, b->group_peers[k]->addr));
	}
	assert_int_equal(t->n_by_group, fresh->n_by_group);
	pci_tree_free(fresh);
	assert_null(pci_tree_find_addr(t, "0000:01:10.2"));
	assert_int_equal(pci_tree_find_addr(t, "0000:00:03.0")->n_vfs, 1);
	/* the others, untouched */
	assert_ptr_equal(pci_tree_find_addr(t, "0000:02:00.0"), eth1);
	assert_ptr_equal(pci_function_vf(eth1, 0), eth1_vf0);
	assert_ptr_equal(pci_tree_find_addr(t, "0000:00:02.0"), e1000e);
	assert_int_equal(eth1->n_vfs, 3);

	/* a PF that is gone keeps its entry, without VFs */
	assert_int_equal(fakesysfs_remove(f->root, "bus/pci/devices/0000:01:10.0"), 0);
	assert_int_equal(fakesysfs_remove(f->root, "bus/pci/devices/0000:01:00.0"), 0);
	char *eth0[] = {(char *)"0000:01:00.0", NULL};
	assert_int_equal(pci_tree_reread_pfs(t, eth0), 0);
	assert_non_null(pci_tree_find_addr(t, "0000:01:00.0"));
	assert_int_equal(pci_tree_find_addr(t, "0000:01:00.0")->n_vfs, 0);
	assert_null(pci_tree_find_addr(t, "0000:01:10.0"));
	pci_tree_free(t);
}

static void test_vf_index_twice(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	/* virtfn00 is VF 0 again: a second function under one number */
	assert_int_equal(fakesysfs_remove(f->root, "bus/pci/devices/0000:02:00.0/virtfn1"), 0);
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:02:00.0/virtfn00", "../0000:02:10.2"), 0);
	struct pci_tree *t = scan(f->root);
	assert_true(has_warning(t, "0000:02:00.0: virtfn0"));
	assert_true(has_warning(t, ", but VF 0 is 0000:02:10."));
	assert_int_equal(pci_tree_find_addr(t, "0000:02:00.0")->n_vfs, 2);
	pci_tree_free(t);

	/* one VF under two numbers (which one wins depends on readdir) */
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:01:00.0/virtfn7", "../0000:01:10.0"), 0);
	t = scan(f->root);
	assert_true(has_warning(t, "points at 0000:01:10.0, already VF "));
	const struct pci_function *vf = pci_tree_find_addr(t, "0000:01:10.0");
	assert_ptr_equal(pci_function_vf(vf->pf, vf->vf_index), vf);
	assert_int_equal(vf->pf->n_vfs, 3);
	pci_tree_free(t);
}

static void test_unreadable_root(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan("/nonexistent/sysfs", &t), -ENOENT);
	/* a root that exists but has no bus/pci/devices */
	assert_int_equal(pci_tree_scan(f->root, &t), -ENOENT);
	assert_null(t);
}

/* NULL is the host's own /sys, as for every other user of a sysfs root:
 * every entry of /sys/bus/pci/devices, as readdir lists them. */
static void test_null_root_is_sys(void **state)
{
	(void)state;
	DIR *dir = opendir("/sys/bus/pci/devices");
	if (!dir)
		skip(); /* a machine without PCI */
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan(NULL, &t), 0);
	assert_int_equal(t->n_devs, n);
	assert_string_equal(t->root, "/sys");
	pci_tree_free(t);
}

static void test_empty_tree(void **state)
{
	/* A root with an empty bus/pci/devices: nothing found, nothing odd. */
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_init(f->root, true), 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(t->n_devs, 0);
	assert_int_equal(pci_tree_count_pfs(t), 0);
	assert_null(pci_tree_find_addr(t, "0000:01:00.0"));
	assert_null(pci_tree_find_netdev(t, "eth0"));
	assert_null(t->warnings);
	pci_tree_free(t);
}

static void test_shared_groups(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid_ex(f->root, 2, 4, FAKESYSFS_SHARED_GROUPS), 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(pci_tree_count_pfs(t), 2);
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		if (d->is_pf || d->pf)
			assert_int_equal(d->n_group_peers, 5); /* PF + 4 VFs */
	}
	pci_tree_free(t);
}

static void test_grid_64x64(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid(f->root, 64, 64), 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(pci_tree_count_pfs(t), 64);
	assert_int_equal(pci_tree_count_vfs(t), 4096);
	assert_null(t->warnings);
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		if (!d->is_pf)
			continue;
		assert_int_equal(d->n_vfs, 64);
		for (uint32_t k = 0; k < d->n_vfs; k++)
			assert_int_equal(d->vfs[k]->vf_index, k);
	}
	pci_tree_free(t);
}

/* The scan closes what it opened (its closes are batched: close_range on
 * runs of numbers), and never a file of someone else's opened before it. */
static size_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	size_t n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_scan_closes_its_files(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid(f->root, 4, 32), 0);
	size_t before = count_fds();
	int mine = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(mine >= 0);
	struct pci_tree *t = scan(f->root);
	assert_int_equal(pci_tree_count_vfs(t), 128);
	assert_null(t->warnings);
	assert_int_equal(fcntl(mine, F_GETFD), FD_CLOEXEC);
	close(mine);
	assert_int_equal(count_fds(), before);
	pci_tree_free(t);
}

/* Few files allowed (RLIMIT_NOFILE just above what is open): the scan
 * closes its batch when an open finds none left, and reads everything. */
static void test_scan_with_few_files(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid(f->root, 8, 16), 0);
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	size_t open_now = count_fds();
	struct rlimit low = {.rlim_cur = open_now + 12, .rlim_max = old.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	struct pci_tree *t = NULL;
	int r = pci_tree_scan(f->root, &t);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, 0);
	assert_int_equal(pci_tree_count_pfs(t), 8);
	assert_int_equal(pci_tree_count_vfs(t), 128);
	for (size_t i = 0; t->warnings && t->warnings[i]; i++)
		print_message("warning: %s\n", t->warnings[i]);
	assert_null(t->warnings);
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		assert_non_null(d->driver);
		assert_non_null(d->netdevs);
		assert_int_equal(d->netdev_mtu, 1500);
	}
	assert_int_equal(count_fds(), open_now);
	pci_tree_free(t);
}

/* A tree to print (PCI_SCAN_NO_LINK_STATE) has every fact but the
 * netdevs' mtu and flags, also when its PFs are read again; the full scan
 * has them. */
static void test_scan_to_print(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	struct pci_tree *full = scan(f->root), *lean = NULL;
	assert_int_equal(pci_tree_scan_flags(f->root, PCI_SCAN_NO_LINK_STATE, &lean), 0);
	char *pfs[] = {(char *)"0000:01:00.0", NULL};
	assert_int_equal(pci_tree_reread_pfs(lean, pfs), 0);
	assert_int_equal(lean->n_devs, full->n_devs);
	size_t with_netdev = 0;
	for (size_t i = 0; i < full->n_devs; i++) {
		const struct pci_function *a = full->devs[i], *b = lean->devs[i];
		assert_string_equal(a->addr, b->addr);
		assert_true(streq_ptr(a->driver, b->driver));
		assert_int_equal(!a->netdevs, !b->netdevs);
		assert_int_equal(a->netdev_mac_len, b->netdev_mac_len);
		assert_memory_equal(a->netdev_mac, b->netdev_mac, sizeof(a->netdev_mac));
		assert_int_equal(a->netdev_name_assign_type, b->netdev_name_assign_type);
		assert_int_equal(a->n_vfs, b->n_vfs);
		assert_int_equal(b->netdev_mtu, 0);
		assert_false(b->netdev_flags_valid);
		if (a->netdevs) {
			with_netdev++;
			assert_int_equal(a->netdev_mtu, 1500);
			assert_true(a->netdev_flags_valid);
		}
	}
	assert_true(with_netdev >= 8);
	pci_tree_free(full);
	pci_tree_free(lean);
}

/* The list's scan (PCI_SCAN_SRIOV_ONLY): every PF and VF as the full scan
 * has it; a function that is neither keeps its address and IOMMU group
 * (the groups list the same members) and nothing else; a device that is
 * gone is still told apart and left out, with its warning. */
static void test_scan_sriov_only(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	char link[600];
	snprintf(link, sizeof(link), "%s/bus/pci/devices/0000:0a:00.0", f->root);
	assert_int_equal(symlink("../../../nowhere", link), 0);
	struct pci_tree *full = scan(f->root), *lean = NULL;
	assert_int_equal(pci_tree_scan_flags(f->root, PCI_SCAN_SRIOV_ONLY, &lean), 0);
	assert_int_equal(lean->n_devs, full->n_devs);
	size_t others = 0, vfs = 0;
	for (size_t i = 0; i < full->n_devs; i++) {
		const struct pci_function *a = full->devs[i], *b = lean->devs[i];
		assert_string_equal(a->addr, b->addr);
		assert_int_equal(a->iommu_group, b->iommu_group);
		assert_int_equal(a->is_pf, b->is_pf);
		assert_int_equal(!a->pf, !b->pf);
		if (!a->is_pf && !a->pf) {
			others++;
			assert_null(b->driver);
			assert_false(b->ids_valid);
			assert_null(b->netdevs);
			continue;
		}
		vfs += a->pf != NULL;
		assert_true(streq_ptr(a->driver, b->driver));
		assert_true(streq_ptr(a->driver_override, b->driver_override));
		assert_int_equal(a->ids_valid, b->ids_valid);
		assert_int_equal(a->vendor_id, b->vendor_id);
		assert_int_equal(a->device_id, b->device_id);
		assert_int_equal(a->class_code, b->class_code);
		assert_int_equal(a->numa_node, b->numa_node);
		assert_int_equal(!a->netdevs, !b->netdevs);
		if (a->netdevs)
			assert_string_equal(a->netdevs[0], b->netdevs[0]);
		assert_int_equal(a->sriov.totalvfs, b->sriov.totalvfs);
		assert_int_equal(a->sriov.numvfs, b->sriov.numvfs);
		assert_int_equal(a->n_vfs, b->n_vfs);
		assert_int_equal(a->vf_index, b->vf_index);
		if (a->pf)
			assert_string_equal(a->pf->addr, b->pf->addr);
	}
	assert_int_equal(others, 2); /* the host bridge, the e1000e (its netdev unread) */
	assert_true(vfs >= 6);
	assert_int_equal(lean->n_by_group, full->n_by_group);
	for (size_t i = 0; i < full->n_by_group; i++)
		assert_string_equal(full->by_group[i]->addr, lean->by_group[i]->addr);
	assert_true(has_warning(lean, "bus/pci/devices/0000:0a:00.0: No such file or directory, ignored"));
	assert_true(has_warning(full, "bus/pci/devices/0000:0a:00.0: No such file or directory, ignored"));
	pci_tree_free(full);
	pci_tree_free(lean);
}

/* Link targets longer than a PCI address (kept apart from the short ones
 * the scan stores inline) are named whole in the warnings. */
static void test_long_link_names(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->root, true), 0);
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:01:00.0/virtfn5",
					   "../0000:09:00.0-a-name-longer-than-any-pci-address"), 0);
	assert_int_equal(fakesysfs_remove(f->root, "bus/pci/devices/0000:02:10.0/physfn"), 0);
	assert_int_equal(fakesysfs_symlink(f->root, "bus/pci/devices/0000:02:10.0/physfn",
					   "../0000:02:00.0-and-then-some-more-text"), 0);
	struct pci_tree *t = scan(f->root);
	assert_true(has_warning(t, "0000:01:00.0: virtfn5 points at 0000:09:00.0-a-name-longer-than-any-pci-address, "
				   "which is not a PCI device (dangling link), ignored"));
	assert_true(has_warning(t, "0000:02:10.0: physfn points at 0000:02:00.0-and-then-some-more-text, but "
				   "0000:02:00.0 lists it as virtfn0; not taken as its VF"));
	assert_int_equal(pci_tree_find_addr(t, "0000:01:00.0")->n_vfs, 3);
	assert_int_equal(pci_tree_find_addr(t, "0000:02:00.0")->n_vfs, 2);
	pci_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_testbed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uevent_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_stored_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vf_index_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_tree, setup, teardown),
		cmocka_unit_test(test_null_root_is_sys),
		cmocka_unit_test_setup_teardown(test_shared_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grid_64x64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_closes_its_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_with_few_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_link_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_to_print, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_sriov_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reread_pfs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target for the readers of sysfs attributes, through the scan
 * that uses them: the input, cut at NUL bytes, becomes the contents of the
 * attributes of one PF and one VF of a small fake tree (counts,
 * offset, stride, IDs, class, NUMA node, driver_override, autoprobe), then
 * the tree is scanned. Whatever a file holds, the scan never fails (an odd
 * value is a warning and reads as unknown), every VF the model lists is
 * within what the PF says it has, and each VF points back to its PF. The
 * number parsers are fed the same pieces directly. Run by tests/fuzz. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fakesysfs.h"
#include "sysfs/sysfs.h"
#include "util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/sriovd-fuzz-attr-XXXXXX";

static const char *const files[] = {
	"bus/pci/devices/0000:01:00.0/sriov_totalvfs",
	"bus/pci/devices/0000:01:00.0/sriov_numvfs",
	"bus/pci/devices/0000:01:00.0/sriov_offset",
	"bus/pci/devices/0000:01:00.0/sriov_stride",
	"bus/pci/devices/0000:01:00.0/sriov_vf_device",
	"bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe",
	"bus/pci/devices/0000:01:00.0/vendor",
	"bus/pci/devices/0000:01:00.0/class",
	"bus/pci/devices/0000:01:10.2/device",
	"bus/pci/devices/0000:01:10.2/numa_node",
	"bus/pci/devices/0000:01:10.2/driver_override",
};

static void cleanup(void)
{
	fakesysfs_rmtree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* One igb-like PF with three VFs: the scan's work per input stays small. */
	const struct fake_pf pf = {
		.address = "0000:01:00.0", .vendor = 0x8086, .device = 0x10c9, .class_code = 0x020000,
		.numa_node = -1, .driver = "igb", .netdev = "eth0", .total_vfs = 7, .num_vfs = 3,
		.vf_offset = 128, .vf_stride = 2, .vf_device = 0x10ca, .vf_driver = "igbvf",
		.vf_netdev_prefix = "eth", .vf_netdev_base = 2,
	};
	if (!mkdtemp(root) || fakesysfs_init(root, true) < 0 || fakesysfs_add_pf(root, &pf) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t n = p < end ? strnlen(p, (size_t)(end - p)) : 0;
		char *piece = strndup(p < end ? p : "", n);
		if (!piece)
			return 0;
		uint32_t u;
		int32_t v;
		(void)parse_u32(piece, 0, &u);
		(void)parse_i32(piece, 10, &v);
		if (fakesysfs_write(root, files[i], piece) < 0)
			abort();
		free(piece);
		p += n + 1;
	}

	struct pci_tree *t = NULL;
	assert(pci_tree_scan(root, &t) == 0);
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		assert(memchr(d->addr, '\0', sizeof(d->addr)));
		if (d->is_pf) {
			for (size_t k = 0; k < d->n_vfs; k++) {
				assert(d->vfs[k]->pf == d);
				assert(!d->vfs[k]->is_pf);
				assert(k == 0 || d->vfs[k - 1]->vf_index < d->vfs[k]->vf_index);
			}
		}
	}
	pci_tree_free(t);
	return 0;
}

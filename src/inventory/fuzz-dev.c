/* libFuzzer target for inventory_resolve(), which turns the DEV a user
 * types (a netdev name, a PCI address with or without its domain, PF#N) into
 * a function of the tree: on the testbed's fake tree, whatever resolves is a
 * function of that tree, resolves again from its own address, and a refusal
 * comes with a reason no longer than a screen line or two, however long the
 * input. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fakesysfs.h"
#include "inventory/inventory.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/sriovd-fuzz-dev-XXXXXX";
static struct pci_tree *tree;

static void cleanup(void)
{
	pci_tree_free(tree);
	fakesysfs_rmtree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!mkdtemp(root) || fakesysfs_build_testbed(root, true) < 0 || pci_tree_scan(root, &tree) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static bool in_tree(const struct pci_function *d)
{
	for (size_t i = 0; i < tree->n_devs; i++)
		if (tree->devs[i] == d)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct pci_function *d = NULL;
	char *err = NULL;
	int r = inventory_resolve(tree, s, &d, &err);
	if (r == 0) {
		assert(d && in_tree(d) && !err);
		struct pci_function *again = NULL;
		assert(inventory_resolve(tree, d->addr, &again, &err) == 0 && again == d);
	} else {
		assert(r == -ENOMEM || err);
		/* the input is quoted back, cut to a sane length */
		assert(!err || strlen(err) <= 512);
	}
	free(err);
	free(s);
	return 0;
}

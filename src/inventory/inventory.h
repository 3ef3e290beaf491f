/* inventory: the whole picture of a host's SR-IOV devices.
 *
 * Owns: loading a pci_tree (sysfs/) and decorating it with vendor/device
 * names (systemd's hwdb, mmapped, through libudev's udev_hwdb; libpci's
 * pci.ids where no hwdb.bin exists; both included here only, and loaded
 * with dlopen the first time names are asked for) and with each PF's netlink
 * view of its VFs and the netdevs functions have in other network
 * namespaces (netlink/), and resolving the DEV arguments users type:
 * a netdev name, a PCI address, or PF#N for VF N of a PF. */
#pragma once

#include <stdbool.h>

#include "sysfs/sysfs.h"

struct pf_link;
/* Reads a PF link with its VF list (rtnl_get_pf_link's shape). */
typedef int (*inventory_link_fn)(void *data, const char *ifname, unsigned want, struct pf_link *ret);

struct inventory_opts {
	const char *sysfs_root; /* NULL: /sys */
	bool names;             /* look up vendor/device names in pci.ids */
	bool netlink;           /* ask rtnetlink for each PF's VF settings */
	bool stats;             /* ...including per-VF counters */
	bool no_link_state;     /* a tree to print: netdevs' mtu and flags unread (PCI_SCAN_NO_LINK_STATE) */
	bool sriov_only;        /* the list: functions neither PF nor VF barely read (PCI_SCAN_SRIOV_ONLY) */
	/* NULL: an rtnetlink socket of its own. Tests play the kernel here. */
	inventory_link_fn get_link;
	void *get_link_data;
};

/* Only the sysfs root of the running kernel can be paired with rtnetlink:
 * a tree from elsewhere names netdevs this kernel does not have. */
bool inventory_root_is_live(const char *sysfs_root);

int inventory_load(const struct inventory_opts *opts, struct pci_tree **ret);

/* Reads the PFs addrs of t again with the VFs they have now
 * (pci_tree_reread_pfs()), and gives them what inventory_load() gives every
 * function (opts->names: their names; opts->netlink: their VF settings,
 * altnames, netdevs in other namespaces). Pointers to those PFs and their
 * VFs are stale afterwards. */
int inventory_reread_pfs(const struct inventory_opts *opts, struct pci_tree *t, char *const *addrs);

/* Resolves DEV. On failure returns -errno and, in *ret_error, a sentence
 * that says what was not found (the caller frees it). */
int inventory_resolve(const struct pci_tree *t, const char *spec, struct pci_function **ret,
		      char **ret_error);

/* Whether a VF of t other than except carries mac: as its PF gave it, or on
 * its own netdev (*ret_on_netdev). On true *ret_vf is that VF. */
bool inventory_find_vf_mac(const struct pci_tree *t, const uint8_t mac[6], const struct pci_function *except,
			   const struct pci_function **ret_vf, bool *ret_on_netdev);

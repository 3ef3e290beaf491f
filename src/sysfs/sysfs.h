/* sysfs: the model of PCI functions and their SR-IOV relations, read from a
 * sysfs root (/sys on a live host; any folder laid out like it for tests,
 * scale runs and snapshots taken elsewhere).
 *
 * Owns: struct pci_function and struct pci_tree, PCI address parsing, the scan of
 * ROOT/bus/pci/devices (PFs are functions with sriov_totalvfs, VFs come from
 * virtfnN links), IOMMU group membership. Each fact is read once: driver,
 * IDs and class from the device's uevent (its own files only where uevent
 * lacks one), every file by its path beneath bus/pci/devices, in one read
 * (only a PF's folder is opened, to list its virtfnN links); a VF's NUMA
 * node is its PF's, which the kernel gives it. An odd tree (missing files,
 * garbage, dangling links) never fails the scan: each oddity becomes a
 * warning string in the tree and the affected value stays "unknown". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf/vf.h"

#define SYSFS_DEFAULT_ROOT "/sys"
/* Whether root (NULL: /sys) is the running kernel's own /sys, however it is
 * spelled; anything else is a tree from elsewhere (a copy, a fixture). */
bool sysfs_root_is_live(const char *root);

/* "dddd:bb:ss.f" plus NUL */
#define PCI_ADDR_STRLEN 13

struct pci_addr {
	uint16_t domain;
	uint8_t bus, slot, function;
};
/* Accepts "dddd:bb:ss.f" and the domain-less "bb:ss.f" (domain 0): hex, at
 * most 4/2/2/1 digits, domain <= 0xffff, bus <= 0xff, slot <= 0x1f, function
 * <= 7. The one parser of PCI addresses: every caller goes through it. */
int pci_addr_parse(const char *s, struct pci_addr *ret);
void pci_addr_format(const struct pci_addr *a, char buf[PCI_ADDR_STRLEN]);

#define PCI_CLASS_NETWORK 0x02
/* name_assign_type of a name the kernel numbered (NET_NAME_ENUM: eth0),
 * which udev may still rename. */
#define NETDEV_NAME_ENUM 1

struct sriov_info {
	uint32_t totalvfs;
	uint32_t numvfs;
	uint32_t offset, stride; /* VF routing ID = PF's + offset + stride * N */
	uint16_t vf_device_id;
	int autoprobe;           /* sriov_drivers_autoprobe: 1, 0, -1 unknown */
	bool valid;              /* totalvfs and numvfs could be read */
	bool offset_valid, stride_valid; /* sriov_offset, sriov_stride could be read */
};

/* A setting a function's driver answered EOPNOTSUPP to (the driver
 * capability table, caps/; filled by caps_annotate(), never by the scan). */
struct unsupported_setting {
	char setting[16];
	char driver[64];
	int error; /* -EOPNOTSUPP */
};

struct pci_function {
	char addr[PCI_ADDR_STRLEN];
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_device_id;
	uint32_t class_code; /* 0xCCSSPP */
	bool ids_valid;      /* vendor and device could be read */
	bool subsys_ids_valid; /* subsystem_vendor and subsystem_device could be read */
	bool class_valid;    /* class could be read */
	char *vendor_name, *device_name; /* from pci.ids; NULL when unknown */

	char *driver;          /* bound driver; NULL when unbound */
	char *driver_override; /* NULL when unset */
	char **netdevs;        /* NULL-terminated; NULL when none */
	uint8_t netdev_mac[6]; /* net/NETDEVS[0]/address: the MAC the netdev itself carries */
	unsigned netdev_mac_len; /* 6, or 0 when there is no netdev or its address is unreadable */
	/* More of net/NETDEVS[0]/: mtu (0 unknown), flags (IFF_*, when
	 * netdev_flags_valid) and name_assign_type (NET_NAME_*: 1 enum, a name
	 * the kernel numbered, that udev may still change; 3 user, 4 renamed;
	 * -1 unknown, and for a VF, whose name nothing matches). altnames: its
	 * alternative names (IFLA_ALT_IFNAME),
	 * filled from rtnetlink by inventory/, NULL when none or not asked. */
	uint32_t netdev_mtu;
	unsigned netdev_flags;
	bool netdev_flags_valid;
	/* A PF's NETDEVS[0] as rtnetlink gave its flags, IFF_LOWER_UP (the
	 * carrier) included, which sysfs' flags leave out: filled by
	 * inventory/ with the VF settings, valid only then. */
	unsigned link_flags;
	bool link_flags_valid;
	int netdev_name_assign_type;
	char **altnames;
	/* What its driver cannot do, and for a VF the VF settings its PF's
	 * driver cannot: see struct unsupported_setting. */
	struct unsupported_setting *unsupported;
	size_t n_unsupported;
	/* Netdevs of this function in other network namespaces (a VF's netdev
	 * moved into a container): names, and at the same index the name of
	 * the namespace ("c1", "pid 4242 (sleep)"). Filled from rtnetlink by
	 * inventory/, never by the scan: sysfs shows this namespace's only. */
	char **netns_netdevs;
	char **netns_names;
	/* The consumer (UUID) whose claim holds it: filled from the ledger
	 * by claim/ (claim_annotate_tree), never by the scan; NULL free. */
	char *claimed_by;
	int32_t numa_node;     /* -1 when unknown or not NUMA */
	int32_t iommu_group;   /* -1 when not in a group (IOMMU off) */
	/* every member of the group, this one included: its group's slice of
	 * the tree's by_group (stored once per group, never freed alone) */
	struct pci_function **group_peers;
	size_t n_group_peers;

	bool is_pf;
	struct sriov_info sriov;
	struct pci_function **vfs; /* sorted by vf_index */
	size_t n_vfs;

	struct pci_function *pf; /* set on VFs */
	uint32_t vf_index;
	struct vf_settings *link; /* the PF's netlink view of this VF, when known */
};

struct pci_tree {
	char *root;
	struct pci_function **devs; /* sorted by address */
	size_t n_devs;
	/* Every function in an IOMMU group, sorted by group then address: each
	 * group stored once, as one run of it. */
	struct pci_function **by_group;
	size_t n_by_group;
	char **warnings;       /* NULL-terminated */
	unsigned scan_flags;   /* PCI_SCAN_*: what it was scanned with, and is read again with */
};

/* Scans ROOT/bus/pci/devices; ROOT NULL is SYSFS_DEFAULT_ROOT, the host's
 * own (as for every other user of a sysfs root). Fails only when the root
 * itself cannot be read (-ENOENT, -EACCES, -ENOTDIR, -ENOMEM); everything
 * else is a warning. */
int pci_tree_scan(const char *root, struct pci_tree **ret);
/* A scan for a reader that prints the tree (list, show): each netdev's
 * mtu and flags, which nothing printed shows, are not read (they stay
 * unknown: 0 and !netdev_flags_valid), two files less per function with a
 * netdev. */
#define PCI_SCAN_NO_LINK_STATE (1u << 0)
/* A scan for the list of PFs and their VFs: a function that is neither
 * (no physfn, no sriov_totalvfs) gets its address and IOMMU group only (a
 * group's members are listed), and no names: three calls for it, not ten. */
#define PCI_SCAN_SRIOV_ONLY (1u << 1)
int pci_tree_scan_flags(const char *root, unsigned flags, struct pci_tree **ret);
void pci_tree_free(struct pci_tree *t);

/* Reads the SR-IOV PFs addrs (PCI addresses, NULL-terminated) of t again,
 * with the VFs their virtfnN links name now: what a VF count change made.
 * Each PF, its former VFs and every function read afresh are replaced (the
 * old pointers are stale: look them up again by address); every other
 * function stays as it is, at the same address in memory; the IOMMU groups
 * are linked again. A PF that is gone keeps its old entry without VFs.
 * Warnings go to t->warnings. -errno when the root cannot be read or on
 * ENOMEM before anything changed (t is then as it was); an ENOMEM later
 * leaves t whole but with links (VFs, groups) missing. */
int pci_tree_reread_pfs(struct pci_tree *t, char *const *addrs);

struct pci_function *pci_tree_find_addr(const struct pci_tree *t, const char *addr);
/* The device whose net/ folder holds netdev NAME. */
struct pci_function *pci_tree_find_netdev(const struct pci_tree *t, const char *name);
/* A network function bound to a host driver (not vfio-pci or pci-stub,
 * which hold a device for user space) has a netdev: when this namespace
 * shows none, it may be in another network namespace. */
bool pci_function_netdev_may_be_elsewhere(const struct pci_function *d);
/* VF N of a PF, or NULL. */
struct pci_function *pci_function_vf(const struct pci_function *pf, uint32_t index);

/* Appends a formatted warning to the tree (never fails: on ENOMEM the
 * warning is dropped). Used by later stages (netlink) too. */
void pci_tree_warn(struct pci_tree *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The names of the PCI drivers the root knows (ROOT/bus/pci/drivers),
 * sorted, NULL-terminated (NULL when none); the caller strv_free()s them. */
int sysfs_pci_drivers(const char *root, char ***ret);

size_t pci_tree_count_pfs(const struct pci_tree *t);
size_t pci_tree_count_vfs(const struct pci_tree *t);

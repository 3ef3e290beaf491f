/* apply/vf-mac: a VF on a host driver really carrying the MAC its PF gave it.
 *
 * Setting a VF's MAC through its PF (IFLA_VF_MAC) changes the PF's view and
 * the hardware filter; the VF's own netdev keeps the address it had until
 * its driver learns the new one. igbvf takes IFLA_ADDRESS on its netdev
 * while the PF agrees, and otherwise (the PF has given it another MAC while
 * it is up: EADDRNOTAVAIL) learns the PF's MAC only when it probes; so
 * first the netdev's address is set, and when the driver refuses, the
 * driver is reloaded (unbind, probe; refused when the netdev carries the
 * host's traffic) and the netdev's former admin state put back. Success is
 * the netdev's address read back from sysfs. A netdev a count change or a
 * bind has just made is udev's first (lifecycle_udev_wait_netdev: its name,
 * its .link MAC policy), and it is reached through its VF's net/ folder by
 * the name it has at each step, never by a name from an earlier scan that
 * udev has renamed since. A VF without a netdev
 * (vfio-pci, unbound) has only the PF's view: nothing to do; so has any
 * VF when there is neither an rtnetlink handle nor a set_address hook. */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#include "lifecycle/lifecycle.h"

/* How a netdev's own settings are changed; NULL members: over rtnetlink
 * (the nl handle). A unit test plays the kernel here. */
struct vf_netdev_ops {
	int (*set_address)(void *userdata, const char *ifname, const uint8_t mac[6]);
	int (*set_up)(void *userdata, const char *ifname);
	void *userdata;
};

struct vf_netdev_mac_result {
	char netdev[IF_NAMESIZE]; /* the VF's netdev, "" when it has none */
	bool changed;             /* its address was changed */
	bool reloaded;            /* by reloading the VF's driver */
	unsigned writes;          /* netlink settings and sysfs writes */
};

/* Makes the netdev of VF vf (from a fresh scan) carry mac. 0 when its
 * address reads back as mac, or when the VF has no netdev; else -errno with
 * *ret_error naming the netdev, what it carries and why. */
int apply_vf_netdev_mac(const struct lifecycle_env *env, struct rtnl *nl, const struct vf_netdev_ops *ops,
			const struct pci_function *vf, const uint8_t mac[6], struct vf_netdev_mac_result *ret,
			char **ret_error);

#include "vf-mac.h"

#include <stdio.h>

#include "util/util.h"

/* The address and IFF_UP of the netdev netdev of the VF as sysfs says them
 * now. */
static int read_netdev_as(const struct lifecycle_env *env, const char *vf_addr, const char *netdev, uint8_t mac[6],
			  bool *ret_up)
{
	const char *root = env->sysfs_root ? env->sysfs_root : SYSFS_DEFAULT_ROOT;
	_cleanup_free_ char *dir = NULL, *text = NULL, *flags = NULL;
	if (asprintf(&dir, "%s/bus/pci/devices/%s/net/%s", root, vf_addr, netdev) < 0)
		return -ENOMEM;
	_cleanup_free_ char *apath = path_join(dir, "address"), *fpath = path_join(dir, "flags");
	if (!apath || !fpath)
		return -ENOMEM;
	int r = read_text_file(apath, 64, &text);
	if (r < 0)
		return r;
	if (vf_mac_parse(text, mac) < 0)
		return -EBADMSG;
	uint32_t f = 0;
	if (ret_up && read_text_file(fpath, 32, &flags) == 0 && parse_u32(flags, 16, &f) == 0)
		*ret_up = f & 1; /* IFF_UP */
	return 0;
}

/* Renames in a row that one step of this file follows before it gives up. */
#define RENAMES_MAX 3

/* read_netdev_as on the VF's netdev by the name it has now (netdev, kept
 * up to date). */
static int read_netdev(const struct lifecycle_env *env, const char *vf_addr, char netdev[IF_NAMESIZE], uint8_t mac[6],
		       bool *ret_up)
{
	int r;
	for (unsigned n = 0;; n++) {
		r = read_netdev_as(env, vf_addr, netdev, mac, ret_up);
		if (r != -ENOENT || n == RENAMES_MAX)
			return r;
		int rn = lifecycle_netdev_follow(env, vf_addr, netdev);
		if (rn <= 0)
			return rn < 0 ? rn : r;
	}
}

static int set_address_as(struct rtnl *nl, const struct vf_netdev_ops *ops, const char *ifname, const uint8_t mac[6])
{
	if (ops && ops->set_address)
		return ops->set_address(ops->userdata, ifname, mac);
	return nl ? rtnl_set_link_address(nl, ifname, mac, 6) : -EOPNOTSUPP;
}

static int set_up_as(struct rtnl *nl, const struct vf_netdev_ops *ops, const char *ifname)
{
	if (ops && ops->set_up)
		return ops->set_up(ops->userdata, ifname);
	return nl ? rtnl_set_link_up(nl, ifname, true) : -EOPNOTSUPP;
}

/* One setting of the VF's netdev, by the name it has now (netdev, kept up
 * to date): its address (mac), or up (mac NULL). A name that is gone
 * (ENODEV: renamed in between) is looked up again. */
static int set_netdev(const struct lifecycle_env *env, struct rtnl *nl, const struct vf_netdev_ops *ops,
		      const char *vf_addr, char netdev[IF_NAMESIZE], const uint8_t *mac)
{
	int r = -ENODEV;
	for (unsigned n = 0; n <= RENAMES_MAX; n++) {
		int rn = lifecycle_netdev_follow(env, vf_addr, netdev);
		if (rn < 0)
			return rn;
		if (n > 0 && rn == 0)
			break; /* gone, and no other name to try */
		r = mac ? set_address_as(nl, ops, netdev, mac) : set_up_as(nl, ops, netdev);
		if (r != -ENODEV)
			break;
	}
	return r;
}

int apply_vf_netdev_mac(const struct lifecycle_env *env, struct rtnl *nl, const struct vf_netdev_ops *ops,
			const struct pci_function *vf, const uint8_t mac[6], struct vf_netdev_mac_result *ret,
			char **ret_error)
{
	*ret = (struct vf_netdev_mac_result){0};
	if (!vf->netdevs || !vf->driver || strcmp(vf->driver, "vfio-pci") == 0)
		return 0;
	if (!nl && !(ops && ops->set_address))
		return 0; /* no rtnetlink of this host (a played kernel): the PF's view is all there is */
	/* A netdev the kernel has just made (a count change, a bind) is udev's
	 * to name and give a MAC first: then it is ours, by its name then. */
	lifecycle_udev_wait_netdev(env, vf->addr);
	snprintf(ret->netdev, sizeof(ret->netdev), "%s", vf->netdevs[0]);
	char want[VF_MAC_STRLEN], have[VF_MAC_STRLEN];
	vf_mac_format(mac, 6, want);
	uint8_t now[6];
	bool up = false;
	int r = read_netdev(env, vf->addr, ret->netdev, now, &up);
	if (r < 0)
		return error_set(ret_error, r, "VF %u (%s): cannot read the address of its netdev %s: %s", vf->vf_index,
			    vf->addr, ret->netdev, strerror(-r));
	if (memcmp(now, mac, 6) == 0)
		return 0;

	ret->writes++;
	int refused = set_netdev(env, nl, ops, vf->addr, ret->netdev, mac);
	if (refused == 0 && read_netdev(env, vf->addr, ret->netdev, now, NULL) == 0 && memcmp(now, mac, 6) == 0) {
		ret->changed = true;
		return 0;
	}
	if (refused == 0)
		refused = -EADDRNOTAVAIL;

	/* The driver learns the PF's MAC when it probes. */
	_cleanup_free_ char *netdev = NULL, *err = NULL;
	r = lifecycle_reload_driver(env, vf, 0, &netdev, &err);
	if (r < 0)
		return error_set(ret_error, r, "VF %u: its netdev %s refused MAC %s (%s), and %s", vf->vf_index, ret->netdev,
			    want, strerror(-refused), err ? err : strerror(-r));
	ret->writes += 2; /* unbind, drivers_probe */
	ret->reloaded = true;
	/* The probe made a new netdev: udev's first, as above. */
	lifecycle_udev_wait_netdev(env, vf->addr);
	snprintf(ret->netdev, sizeof(ret->netdev), "%s", netdev);
	if ((r = read_netdev(env, vf->addr, ret->netdev, now, NULL)) == 0 && memcmp(now, mac, 6) != 0) {
		/* Probed while the PF could not answer: a random MAC; now the driver takes ours. */
		ret->writes++;
		(void)set_netdev(env, nl, ops, vf->addr, ret->netdev, mac);
		r = read_netdev(env, vf->addr, ret->netdev, now, NULL);
	}
	if (up) {
		ret->writes++;
		(void)set_netdev(env, nl, ops, vf->addr, ret->netdev, NULL);
	}
	if (r < 0)
		return error_set(ret_error, r, "VF %u (%s): cannot read the address of its netdev %s: %s", vf->vf_index,
			    vf->addr, ret->netdev, strerror(-r));
	if (memcmp(now, mac, 6) != 0) {
		vf_mac_format(now, 6, have);
		return error_set(ret_error, -EADDRNOTAVAIL,
			    "VF %u: its netdev %s carries %s, not %s, even after reloading %s (%s)", vf->vf_index,
			    ret->netdev, have, want, vf->driver, strerror(-refused));
	}
	ret->changed = true;
	return 0;
}

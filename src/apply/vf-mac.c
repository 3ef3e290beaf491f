#include "vf-mac.h"

#include <stdio.h>

#include "util/util.h"

/* The address and IFF_UP of the VF's netdev as sysfs says them now. */
static int read_netdev(const struct lifecycle_env *env, const char *vf_addr, const char *netdev, uint8_t mac[6],
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

static int set_address(struct rtnl *nl, const struct vf_netdev_ops *ops, const char *ifname, const uint8_t mac[6])
{
	if (ops && ops->set_address)
		return ops->set_address(ops->userdata, ifname, mac);
	return nl ? rtnl_set_link_address(nl, ifname, mac, 6) : -EOPNOTSUPP;
}

static int set_up(struct rtnl *nl, const struct vf_netdev_ops *ops, const char *ifname)
{
	if (ops && ops->set_up)
		return ops->set_up(ops->userdata, ifname);
	return nl ? rtnl_set_link_up(nl, ifname, true) : -EOPNOTSUPP;
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
	int refused = set_address(nl, ops, ret->netdev, mac);
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
	snprintf(ret->netdev, sizeof(ret->netdev), "%s", netdev);
	if ((r = read_netdev(env, vf->addr, ret->netdev, now, NULL)) == 0 && memcmp(now, mac, 6) != 0) {
		/* Probed while the PF could not answer: a random MAC; now the driver takes ours. */
		ret->writes++;
		(void)set_address(nl, ops, ret->netdev, mac);
		r = read_netdev(env, vf->addr, ret->netdev, now, NULL);
	}
	if (up) {
		ret->writes++;
		(void)set_up(nl, ops, ret->netdev);
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

/* A netdev's own link settings: its hardware address, its admin state and
 * its MTU (RTM_SETLINK by name, acknowledged). Used to make a VF's netdev carry the
 * MAC its PF gave it. */
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "rtnl-private.h"
#include "util/util.h"

static struct nlmsghdr *setlink_request(void *buf, const char *ifname, struct ifinfomsg **ret_ifi)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_SETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	*ret_ifi = ifi;
	return nlh;
}

int rtnl_set_link_address(struct rtnl *nl, const char *ifname, const uint8_t *mac, unsigned len)
{
	if (str_empty(ifname) || strlen(ifname) >= IF_NAMESIZE || len == 0 || len > VF_MAC_MAX)
		return -EINVAL;
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = setlink_request(buf, ifname, &ifi);
	mnl_attr_put(nlh, IFLA_ADDRESS, len, mac);
	return rtnl_transact(nl, nlh, NULL, NULL);
}

int rtnl_set_link_up(struct rtnl *nl, const char *ifname, bool up)
{
	if (str_empty(ifname) || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = setlink_request(buf, ifname, &ifi);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return rtnl_transact(nl, nlh, NULL, NULL);
}

int rtnl_set_link_mtu(struct rtnl *nl, const char *ifname, uint32_t mtu)
{
	if (str_empty(ifname) || strlen(ifname) >= IF_NAMESIZE || mtu == 0)
		return -EINVAL;
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = setlink_request(buf, ifname, &ifi);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return rtnl_transact(nl, nlh, NULL, NULL);
}

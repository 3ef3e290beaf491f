/* Is a netdev in use by the host itself? Three rtnetlink questions: the
 * link's flags (RTM_GETLINK), its addresses (RTM_GETADDR dump) and the
 * routes that leave through it (RTM_GETROUTE dump). The lifecycle rules use
 * the answer before unbinding a driver or destroying a VF: a link that is up
 * with addresses or routes carries the host's own traffic.
 *
 * Both dumps are filtered here, in user space, by ifindex: the kernel can
 * filter them itself only on sockets with NETLINK_GET_STRICT_CHK, and the
 * socket belongs to rtnl.c. A host with a full Internet routing table pays
 * for the whole route dump; these checks run once per command. */
#include "rtnl.h"
#include "rtnl-private.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "util/util.h"

/* --- RTM_GETLINK: ifindex and flags ----------------------------------- */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_usage *u = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	u->ifindex = (uint32_t)ifi->ifi_index;
	u->flags = ifi->ifi_flags;
	return MNL_CB_OK;
}

static int get_link(struct rtnl *nl, const char *ifname, struct link_usage *u)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	/* Flags are all we need: leave the counters out of the reply. */
	struct nlmsghdr *nlh = rtnl_getlink_request(buf, ifname, RTEXT_FILTER_SKIP_STATS);
	int r = rtnl_transact(nl, nlh, link_cb, u);
	if (r < 0)
		return r;
	return u->ifindex ? 0 : -ENODEV;
}

/* --- RTM_GETADDR dump: addresses of the link --------------------------- */

static bool ipv6_is_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; /* fe80::/10 */
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_usage *u = data;
	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifaddrmsg)))
		return MNL_CB_OK;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_index != u->ifindex)
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET) {
		u->n_ipv4++;
	} else if (ifa->ifa_family == AF_INET6) {
		const struct nlattr *tb[IFA_MAX + 1] = {0};
		struct rtnl_attr_table t = {tb, IFA_MAX};
		if (mnl_attr_parse(nlh, sizeof(*ifa), rtnl_attr_collect_cb, &t) < 0)
			return MNL_CB_OK;
		const struct nlattr *a = tb[IFA_ADDRESS] ? tb[IFA_ADDRESS] : tb[IFA_LOCAL];
		if (a && mnl_attr_get_payload_len(a) >= 16 && ipv6_is_link_local(mnl_attr_get_payload(a)))
			u->n_ipv6_link_local++;
		else
			u->n_ipv6++;
	}
	return MNL_CB_OK;
}

static int count_addresses(struct rtnl *nl, struct link_usage *u)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	return rtnl_transact(nl, nlh, addr_cb, u);
}

/* --- RTM_GETROUTE dump: routes through the link ------------------------- */

static bool route_uses_ifindex(const struct nlattr *const *tb, uint32_t ifindex)
{
	if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) == 0 &&
	    mnl_attr_get_u32(tb[RTA_OIF]) == ifindex)
		return true;
	/* An ECMP route lists its next hops, each with its own interface. */
	const struct nlattr *mp = tb[RTA_MULTIPATH];
	if (!mp)
		return false;
	const uint8_t *p = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp);
	while (left >= sizeof(struct rtnexthop)) {
		const struct rtnexthop *nh = (const struct rtnexthop *)p;
		if (nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > left)
			break;
		if ((uint32_t)nh->rtnh_ifindex == ifindex)
			return true;
		size_t step = RTNH_ALIGN(nh->rtnh_len);
		if (step >= left)
			break;
		p += step;
		left -= step;
	}
	return false;
}

static bool ipv6_kernel_link_local_route(const struct rtmsg *rtm, const struct nlattr *const *tb)
{
	static const uint8_t fe80[16] = {0xfe, 0x80};
	if (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len != 64 || rtm->rtm_protocol != RTPROT_KERNEL)
		return false;
	const struct nlattr *dst = tb[RTA_DST];
	return dst && mnl_attr_get_payload_len(dst) == 16 && memcmp(mnl_attr_get_payload(dst), fe80, 16) == 0;
}

bool rtnl_route_counts_for(const struct nlmsghdr *nlh, uint32_t ifindex)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return false;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	/* An AF_UNSPEC dump also brings multicast routing (IPMR) and MPLS
	 * entries, laid out differently: only unicast IP routing counts. */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return false;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return false;
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	struct rtnl_attr_table t = {tb, RTA_MAX};
	if (mnl_attr_parse(nlh, sizeof(*rtm), rtnl_attr_collect_cb, &t) < 0)
		return false;
	uint32_t table = rtm->rtm_table;
	if (tb[RTA_TABLE] && mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) == 0)
		table = mnl_attr_get_u32(tb[RTA_TABLE]);
	/* The local table holds what the kernel derives from the addresses
	 * themselves (local, broadcast, IPv6 multicast and anycast entries): the
	 * addresses are counted already. */
	if (table == RT_TABLE_LOCAL)
		return false;
	switch (rtm->rtm_type) {
	case RTN_LOCAL:
	case RTN_BROADCAST:
	case RTN_ANYCAST:
	case RTN_MULTICAST:
		return false;
	}
	/* Every up IPv6 link gets fe80::/64 from the kernel, used or not. */
	if (ipv6_kernel_link_local_route(rtm, tb))
		return false;
	return route_uses_ifindex(tb, ifindex);
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_usage *u = data;
	if (rtnl_route_counts_for(nlh, u->ifindex))
		u->n_routes++;
	return MNL_CB_OK;
}

static int count_routes(struct rtnl *nl, struct link_usage *u)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	/* AF_UNSPEC with table 0: every family, every table (main, local and
	 * policy-routing tables alike). */
	rtm->rtm_family = AF_UNSPEC;
	return rtnl_transact(nl, nlh, route_cb, u);
}

int rtnl_link_usage(struct rtnl *nl, const char *ifname, struct link_usage *ret)
{
	if (str_empty(ifname) || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	struct link_usage u = {0};
	int r = get_link(nl, ifname, &u);
	if (r < 0)
		return r;
	if ((r = count_addresses(nl, &u)) < 0)
		return r;
	if ((r = count_routes(nl, &u)) < 0)
		return r;
	*ret = u;
	return 0;
}

bool link_usage_carries_traffic(const struct link_usage *u)
{
	return (u->flags & IFF_UP) && (u->n_ipv4 || u->n_ipv6 || u->n_routes);
}

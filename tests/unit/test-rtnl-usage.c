/* Unit tests for the "is this netdev in use" rules of netlink/rtnl-usage.c:
 * which routes count for a link, fed with RTM_NEWROUTE messages laid out
 * the way the kernel's fib dumps them, and when a link carries traffic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "netlink/rtnl.h"
#include "util/util.h"

#define IFINDEX 4

struct route_spec {
	uint8_t family, table, type, protocol, dst_len;
	unsigned flags;
	const char *dst;    /* NULL: default route */
	uint32_t oif;       /* 0: no RTA_OIF */
	uint32_t table_attr; /* 0: no RTA_TABLE */
	uint32_t multipath[2]; /* next hops' ifindexes, 0: unused */
};

static struct nlmsghdr *route(void *buf, const struct route_spec *s)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = s->family;
	rtm->rtm_table = s->table ? s->table : RT_TABLE_MAIN;
	rtm->rtm_type = s->type ? s->type : RTN_UNICAST;
	rtm->rtm_protocol = s->protocol ? s->protocol : RTPROT_BOOT;
	rtm->rtm_dst_len = s->dst_len;
	rtm->rtm_flags = s->flags;
	if (s->dst) {
		uint8_t a[16];
		assert_int_equal(inet_pton(s->family, s->dst, a), 1);
		mnl_attr_put(nlh, RTA_DST, s->family == AF_INET ? 4 : 16, a);
	}
	if (s->table_attr)
		mnl_attr_put_u32(nlh, RTA_TABLE, s->table_attr);
	if (s->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, s->oif);
	if (s->multipath[0]) {
		struct nlattr *mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
		for (size_t i = 0; i < 2 && s->multipath[i]; i++) {
			struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(nlh);
			memset(nh, 0, sizeof(*nh));
			nh->rtnh_len = sizeof(*nh);
			nh->rtnh_ifindex = (int)s->multipath[i];
			nlh->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
		}
		mnl_attr_nest_end(nlh, mp);
	}
	return nlh;
}

static void counts(const struct route_spec *s, bool expected)
{
	static uint8_t buf[4096];
	assert_int_equal(rtnl_route_counts_for(route(buf, s), IFINDEX), expected);
}

static void test_routes(void **state)
{
	(void)state;
	/* the connected route of an address, and a default route */
	counts(&(struct route_spec){.family = AF_INET, .dst = "192.0.2.0", .dst_len = 24, .protocol = RTPROT_KERNEL,
				    .oif = IFINDEX}, true);
	counts(&(struct route_spec){.family = AF_INET, .oif = IFINDEX}, true);
	counts(&(struct route_spec){.family = AF_INET, .oif = IFINDEX + 1}, false);
	/* a policy-routing table numbered above 255 (RTA_TABLE) */
	counts(&(struct route_spec){.family = AF_INET, .table = RT_TABLE_COMPAT, .table_attr = 1000, .oif = IFINDEX},
	       true);
	/* what the kernel derives from addresses: local table, local/broadcast */
	counts(&(struct route_spec){.family = AF_INET, .table = RT_TABLE_LOCAL, .type = RTN_LOCAL, .dst = "192.0.2.1",
				    .dst_len = 32, .protocol = RTPROT_KERNEL, .oif = IFINDEX}, false);
	counts(&(struct route_spec){.family = AF_INET, .table = RT_TABLE_LOCAL, .type = RTN_BROADCAST,
				    .dst = "192.0.2.255", .dst_len = 32, .protocol = RTPROT_KERNEL, .oif = IFINDEX},
	       false);
	counts(&(struct route_spec){.family = AF_INET6, .table = RT_TABLE_LOCAL, .type = RTN_MULTICAST, .dst = "ff00::",
				    .dst_len = 8, .protocol = RTPROT_KERNEL, .oif = IFINDEX}, false);
	/* the local table named by RTA_TABLE only */
	counts(&(struct route_spec){.family = AF_INET, .table = RT_TABLE_COMPAT, .table_attr = RT_TABLE_LOCAL,
				    .oif = IFINDEX}, false);
	/* fe80::/64 from the kernel on every up link; by hand it counts */
	counts(&(struct route_spec){.family = AF_INET6, .dst = "fe80::", .dst_len = 64, .protocol = RTPROT_KERNEL,
				    .oif = IFINDEX}, false);
	counts(&(struct route_spec){.family = AF_INET6, .dst = "fe80::", .dst_len = 64, .protocol = RTPROT_BOOT,
				    .oif = IFINDEX}, true);
	counts(&(struct route_spec){.family = AF_INET6, .dst = "2001:db8::", .dst_len = 64, .protocol = RTPROT_KERNEL,
				    .oif = IFINDEX}, true);
	/* ECMP: one of the next hops leaves through the link */
	counts(&(struct route_spec){.family = AF_INET, .multipath = {IFINDEX + 1, IFINDEX}}, true);
	counts(&(struct route_spec){.family = AF_INET, .multipath = {IFINDEX + 1, IFINDEX + 2}}, false);
	/* cached clones, multicast routing (IPMR), and other message types */
	counts(&(struct route_spec){.family = AF_INET6, .flags = RTM_F_CLONED, .oif = IFINDEX}, false);
	counts(&(struct route_spec){.family = RTNL_FAMILY_IPMR, .oif = IFINDEX}, false);
	static uint8_t buf[4096];
	struct nlmsghdr *nlh = route(buf, &(struct route_spec){.family = AF_INET, .oif = IFINDEX});
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_false(rtnl_route_counts_for(nlh, IFINDEX));
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_len = sizeof(*nlh); /* too short for its header */
	assert_false(rtnl_route_counts_for(nlh, IFINDEX));
}

static void test_carries_traffic(void **state)
{
	(void)state;
	assert_false(link_usage_carries_traffic(&(struct link_usage){0}));
	assert_false(link_usage_carries_traffic(&(struct link_usage){.n_ipv4 = 1, .n_routes = 1}));
	assert_false(link_usage_carries_traffic(&(struct link_usage){.flags = IFF_UP, .n_ipv6_link_local = 1}));
	assert_true(link_usage_carries_traffic(&(struct link_usage){.flags = IFF_UP, .n_ipv4 = 1}));
	assert_true(link_usage_carries_traffic(&(struct link_usage){.flags = IFF_UP, .n_ipv6 = 1}));
	assert_true(link_usage_carries_traffic(&(struct link_usage){.flags = IFF_UP, .n_routes = 1}));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_carries_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

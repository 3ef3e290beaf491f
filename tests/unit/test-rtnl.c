/* Unit tests for the RTM_NEWLINK parser, fed with messages built here the
 * way the kernel's rtnl_fill_vfinfo() lays them out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "netlink/rtnl.h"
#include "util/util.h"

struct vf_spec {
	uint32_t index;
	uint8_t mac[6];
	uint32_t vlan, qos;
	uint16_t proto;
	uint32_t spoofchk, trust, rss; /* UINT32_MAX = driver did not report */
	uint32_t link_state;
	uint32_t min_rate, max_rate;
	bool stats;
	bool no_mac;
};

static void put_vf(struct nlmsghdr *nlh, const struct vf_spec *s)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	if (!s->no_mac) {
		struct ifla_vf_mac mac = {.vf = s->index};
		memcpy(mac.mac, s->mac, 6);
		mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(mac), &mac);
	}
	struct ifla_vf_vlan vlan = {.vf = s->index, .vlan = s->vlan, .qos = s->qos};
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(vlan), &vlan);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	struct ifla_vf_vlan_info vi = {.vf = s->index, .vlan = s->vlan, .qos = s->qos, .vlan_proto = htons(s->proto)};
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, list);
	struct ifla_vf_rate rate = {.vf = s->index, .min_tx_rate = s->min_rate, .max_tx_rate = s->max_rate};
	mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(rate), &rate);
	struct ifla_vf_spoofchk sp = {.vf = s->index, .setting = s->spoofchk};
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(sp), &sp);
	struct ifla_vf_link_state ls = {.vf = s->index, .link_state = s->link_state};
	mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	struct ifla_vf_rss_query_en rss = {.vf = s->index, .setting = s->rss};
	mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(rss), &rss);
	struct ifla_vf_trust tr = {.vf = s->index, .setting = s->trust};
	mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(tr), &tr);
	if (s->stats) {
		struct nlattr *st = mnl_attr_nest_start(nlh, IFLA_VF_STATS);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_RX_PACKETS, 11);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_TX_PACKETS, 22);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_RX_BYTES, 3300);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_TX_BYTES, 4400);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_BROADCAST, 5);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_MULTICAST, 6);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_RX_DROPPED, 7);
		mnl_attr_put_u64(nlh, IFLA_VF_STATS_TX_DROPPED, 8);
		mnl_attr_nest_end(nlh, st);
	}
	mnl_attr_nest_end(nlh, info);
}

static struct nlmsghdr *new_link(void *buf, uint32_t num_vf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 4;
	ifi->ifi_flags = 1; /* IFF_UP */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	uint8_t addr[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(addr), addr);
	uint8_t perm[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x57};
	mnl_attr_put(nlh, IFLA_PERM_ADDRESS, sizeof(perm), perm);
	mnl_attr_put_u32(nlh, IFLA_NUM_VF, num_vf);
	return nlh;
}

static void test_parse_vfs(void **state)
{
	(void)state;
	static uint8_t buf[16384];
	struct nlmsghdr *nlh = new_link(buf, 2);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	put_vf(nlh, &(struct vf_spec){.index = 0, .mac = {2, 0x11, 0x22, 0x33, 0x44, 0x55}, .vlan = 100, .qos = 3,
				      .proto = 0x8100, .spoofchk = 1, .trust = UINT32_MAX, .rss = UINT32_MAX,
				      .link_state = IFLA_VF_LINK_STATE_AUTO, .max_rate = 100, .stats = true});
	put_vf(nlh, &(struct vf_spec){.index = 1, .proto = 0x88a8, .vlan = 4094, .spoofchk = 0, .trust = 1,
				      .rss = 0, .link_state = IFLA_VF_LINK_STATE_DISABLE, .min_rate = 10,
				      .max_rate = 20});
	mnl_attr_nest_end(nlh, list);

	struct pf_link l;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), 0);
	assert_string_equal(l.ifname, "eth0");
	assert_int_equal(l.ifindex, 4);
	assert_int_equal(l.addr_len, 6);
	assert_int_equal(l.perm_addr_len, 6);
	assert_int_equal(l.perm_addr[5], 0x57);
	assert_true(l.has_num_vf);
	assert_int_equal(l.num_vf, 2);
	assert_int_equal(l.n_vfs, 2);
	assert_false(l.truncated);

	const struct vf_settings *v0 = pf_link_vf(&l, 0);
	assert_non_null(v0);
	char mac[VF_MAC_STRLEN];
	vf_mac_format(v0->mac, v0->mac_len, mac);
	assert_string_equal(mac, "02:11:22:33:44:55");
	assert_int_equal(v0->vlan, 100);
	assert_int_equal(v0->qos, 3);
	assert_int_equal(v0->vlan_proto, VF_ETH_P_8021Q);
	assert_true(vf_has(v0, VF_FIELD_SPOOFCHK));
	assert_true(v0->spoofchk);
	/* (u32)-1 means the driver did not report it: not "on", not "off". */
	assert_false(vf_has(v0, VF_FIELD_TRUST));
	assert_false(vf_has(v0, VF_FIELD_QUERY_RSS));
	assert_int_equal(v0->link_state, VF_LINK_STATE_AUTO);
	assert_int_equal(v0->max_tx_rate, 100);
	assert_true(vf_has(v0, VF_FIELD_STATS));
	assert_int_equal(v0->stats.rx_packets, 11);
	assert_int_equal(v0->stats.tx_dropped, 8);

	const struct vf_settings *v1 = pf_link_vf(&l, 1);
	assert_non_null(v1);
	assert_int_equal(v1->vlan, 4094);
	assert_int_equal(v1->vlan_proto, VF_ETH_P_8021AD);
	assert_true(vf_has(v1, VF_FIELD_TRUST));
	assert_true(v1->trust);
	assert_true(vf_has(v1, VF_FIELD_QUERY_RSS));
	assert_false(v1->query_rss);
	assert_false(v1->spoofchk);
	assert_int_equal(v1->link_state, VF_LINK_STATE_DISABLE);
	assert_int_equal(v1->min_tx_rate, 10);
	assert_false(vf_has(v1, VF_FIELD_STATS));
	assert_null(pf_link_vf(&l, 2));
	pf_link_done(&l);
}

static void test_truncated_list(void **state)
{
	(void)state;
	static uint8_t buf[16384];
	/* The kernel says 5 VFs but only 1 entry arrived (the list overflowed). */
	struct nlmsghdr *nlh = new_link(buf, 5);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	put_vf(nlh, &(struct vf_spec){.index = 0, .proto = 0x8100});
	/* an entry without its MAC is malformed and skipped */
	put_vf(nlh, &(struct vf_spec){.index = 1, .proto = 0x8100, .no_mac = true});
	mnl_attr_nest_end(nlh, list);
	struct pf_link l;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), 0);
	assert_int_equal(l.n_vfs, 1);
	assert_true(l.truncated);
	pf_link_done(&l);
}

static void test_num_vf_is_no_bound(void **state)
{
	(void)state;
	static uint8_t buf[16384];
	/* IFLA_NUM_VF is a number in the message: a huge one must not size
	 * anything (it did: calloc of 2^32 entries), only the entries count. */
	struct nlmsghdr *nlh = new_link(buf, UINT32_MAX);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	put_vf(nlh, &(struct vf_spec){.index = 0, .proto = 0x8100});
	put_vf(nlh, &(struct vf_spec){.index = 1, .proto = 0x8100});
	mnl_attr_nest_end(nlh, list);
	struct pf_link l;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), 0);
	assert_int_equal(l.n_vfs, 2);
	assert_true(l.truncated);
	pf_link_done(&l);
}

static void test_many_vfs(void **state)
{
	(void)state;
	/* 256 VFs (~38 KiB, as the kernel sends without stats) and no
	 * IFLA_NUM_VF: the parser must grow past its initial guess. */
	static uint8_t buf[256 * 1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	for (uint32_t i = 0; i < 256; i++)
		put_vf(nlh, &(struct vf_spec){.index = i, .vlan = i, .proto = 0x8100});
	mnl_attr_nest_end(nlh, list);
	struct pf_link l;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), 0);
	assert_int_equal(l.n_vfs, 256);
	for (size_t i = 0; i < l.n_vfs; i++)
		assert_int_equal(l.vfs[i].vlan, l.vfs[i].index);
	pf_link_done(&l);
}

static void test_bad_messages(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	struct pf_link l;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), -EBADMSG);

	/* too short for its header */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), -EBADMSG);

	/* a VF list whose entries are not nests, and a short MAC: ignored */
	nlh = new_link(buf, 1);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_put_u32(nlh, IFLA_VF_MAC, 0);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	assert_int_equal(rtnl_parse_pf_link(nlh, &l), 0);
	assert_int_equal(l.n_vfs, 0);
	assert_true(l.truncated);
	pf_link_done(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vfs),
		cmocka_unit_test(test_truncated_list),
		cmocka_unit_test(test_num_vf_is_no_bound),
		cmocka_unit_test(test_many_vfs),
		cmocka_unit_test(test_bad_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

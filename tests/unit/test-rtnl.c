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

#include "fake-rtnl.h"
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

/* --- all or nothing, against a kernel played by fake-rtnl.c ------------ */

struct vf_fixture {
	struct fake_rtnl k;
	struct rtnl *nl;
	struct fake_rtnl_pf *pf;
};

static int vf_setup(void **state)
{
	struct vf_fixture *f = calloc(1, sizeof(*f));
	if (!f || rtnl_open_with(fake_rtnl_kernel, &f->k, &f->nl) < 0)
		return -1;
	f->pf = fake_rtnl_add_igb(&f->k, "eth0", 4, 3);
	*state = f;
	return 0;
}

static int vf_teardown(void **state)
{
	struct vf_fixture *f = *state;
	rtnl_close(f->nl);
	free(f);
	return 0;
}

static void assert_kernel_log(const struct vf_fixture *f, const char *expected)
{
	char got[4096];
	fake_rtnl_log_string(&f->k, got, sizeof(got));
	assert_string_equal(got, expected);
}

/* The reproduction: the PF link is down, spoof checking off is accepted,
 * max-rate 100 refused; spoof checking must really go back on (and the
 * previous values are read from a copy, not from the freed link). */
static void test_apply_vf_rollback_link_down(void **state)
{
	struct vf_fixture *f = *state;
	f->pf->flags = 0; /* down */
	struct vf_settings want = {.index = 0, .has = VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_MAX_RATE),
				   .spoofchk = false, .max_tx_rate = 100};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_null(error);
	assert_true(rep.failed);
	assert_int_equal(rep.messages, 2);
	assert_int_equal(rep.result.field[VF_FIELD_MAX_RATE].error, -EINVAL);
	assert_int_equal(rep.result.field[VF_FIELD_MIN_RATE].error, -EINVAL);
	assert_int_equal(rep.result.field[VF_FIELD_SPOOFCHK].error, 0);
	/* a lone max-rate keeps the current min-rate, read from the copy */
	assert_int_equal(rep.sent.min_tx_rate, 0);
	assert_int_equal(rep.rolled_back, VF_HAS(VF_FIELD_SPOOFCHK));
	assert_int_equal(rep.rollback.field[VF_FIELD_SPOOFCHK].error, 0);
	assert_true(rep.before.spoofchk);
	assert_true(f->pf->vfs[0].spoofchk);
	assert_kernel_log(f, "eth0 vf0 rate=0/100 EINVAL|eth0 vf0 spoofchk=0 ok|eth0 vf0 spoofchk=1 ok");
	vf_apply_report_done(&rep);
}

/* The put-back itself refused: its errno is reported for that field. */
static void test_apply_vf_rollback_refused(void **state)
{
	struct vf_fixture *f = *state;
	f->pf->flags = 0;
	f->pf->rule[IFLA_VF_SPOOFCHK] = (struct fake_rtnl_rule){.error = -EIO, .after = 1};
	struct vf_settings want = {.index = 1, .has = VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_MAX_RATE),
				   .max_tx_rate = 100};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_true(rep.failed);
	assert_int_equal(rep.rolled_back, 0);
	assert_int_equal(rep.rollback.field[VF_FIELD_SPOOFCHK].error, -EIO);
	assert_false(f->pf->vfs[1].spoofchk); /* left changed, and said so */
	assert_kernel_log(f, "eth0 vf1 rate=0/100 EINVAL|eth0 vf1 spoofchk=0 ok|eth0 vf1 spoofchk=1 EIO");
	vf_apply_report_done(&rep);
}

/* A previous value the driver never reported cannot be put back: nothing is
 * sent for it, and that is what the field's outcome says. */
static void test_apply_vf_rollback_unknown_previous(void **state)
{
	struct vf_fixture *f = *state;
	f->pf->vfs[2].has &= ~VF_HAS(VF_FIELD_SPOOFCHK);
	struct vf_settings want = {.index = 2, .has = VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_QUERY_RSS),
				   .spoofchk = false, .query_rss = true};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_true(rep.failed);
	assert_int_equal(rep.result.field[VF_FIELD_QUERY_RSS].error, -EOPNOTSUPP);
	assert_int_equal(rep.rolled_back, 0);
	assert_int_equal(rep.rollback.field[VF_FIELD_SPOOFCHK].error, -ENODATA);
	assert_kernel_log(f, "eth0 vf2 spoofchk=0 ok|eth0 vf2 query-rss=1 EOPNOTSUPP");
	vf_apply_report_done(&rep);
}

/* VLAN, QoS and protocol go back as one message, with their old values;
 * MAC goes back too; nothing else moves. */
static void test_apply_vf_rollback_vlan_and_mac(void **state)
{
	struct vf_fixture *f = *state;
	f->pf->vfs[0].vlan = 7;
	f->pf->vfs[0].qos = 2;
	f->pf->vfs[0].mac[0] = 0x02;
	f->pf->vfs[0].mac[5] = 0x11;
	struct vf_settings want = {.index = 0, .has = VF_HAS_VLAN_GROUP | VF_HAS(VF_FIELD_MAC) | VF_HAS(VF_FIELD_LINK_STATE),
				   .vlan = 100, .vlan_proto = VF_ETH_P_8021Q, .mac = {2, 0, 0, 0, 0, 0x20}, .mac_len = 6,
				   .link_state = VF_LINK_STATE_ENABLE};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_true(rep.failed);
	assert_int_equal(rep.rolled_back, VF_HAS_VLAN_GROUP | VF_HAS(VF_FIELD_MAC));
	assert_int_equal(f->pf->vfs[0].vlan, 7);
	assert_int_equal(f->pf->vfs[0].qos, 2);
	assert_int_equal(f->pf->vfs[0].mac[5], 0x11);
	assert_kernel_log(f, "eth0 vf0 mac=02:00:00:00:00:20 ok|eth0 vf0 vlan=100/0 ok|eth0 vf0 state=1 EOPNOTSUPP|"
			     "eth0 vf0 mac=02:00:00:00:00:11 ok|eth0 vf0 vlan=7/2 ok");
	vf_apply_report_done(&rep);
}

/* The put-back exchange itself failing is each field's outcome, not a
 * silent success. */
static long failing_after_first(void *data, const void *req, size_t len, void *ans, size_t ans_size)
{
	struct vf_fixture *f = data;
	long n = fake_rtnl_kernel(&f->k, req, len, ans, ans_size);
	if (f->k.n_setlink >= 2)
		f->k.fail_send = -ENOBUFS;
	return n;
}

static void test_apply_vf_rollback_exchange_fails(void **state)
{
	struct vf_fixture *f = *state;
	rtnl_close(f->nl);
	assert_int_equal(rtnl_open_with(failing_after_first, f, &f->nl), 0);
	f->pf->flags = 0;
	struct vf_settings want = {.index = 0, .has = VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_MAX_RATE),
				   .max_tx_rate = 100};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_true(rep.failed);
	assert_int_equal(rep.rolled_back, 0);
	assert_int_equal(rep.rollback.field[VF_FIELD_SPOOFCHK].error, -ENOBUFS);
	vf_apply_report_done(&rep);
}

static void test_apply_vf_ok(void **state)
{
	struct vf_fixture *f = *state;
	struct vf_settings want = {.index = 1, .has = VF_HAS(VF_FIELD_MAX_RATE) | VF_HAS_VLAN_GROUP, .max_tx_rate = 100,
				   .vlan = 5, .vlan_proto = VF_ETH_P_8021Q};
	struct vf_apply_report rep;
	char *error = NULL;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), 0);
	assert_false(rep.failed);
	assert_int_equal(rep.messages, 2);
	assert_int_equal(f->pf->vfs[1].max_tx_rate, 100);
	assert_int_equal(f->pf->vfs[1].vlan, 5);
	assert_kernel_log(f, "eth0 vf1 vlan=5/0 ok|eth0 vf1 rate=0/100 ok");
	vf_apply_report_done(&rep);
	/* no such VF, no such PF */
	want.index = 3;
	assert_int_equal(rtnl_apply_vf(f->nl, "eth0", &want, &rep, &error), -ENOENT);
	assert_string_equal(error, "eth0: the kernel lists no VF 3 (IFLA_NUM_VF 3)");
	free(error);
	assert_int_equal(rtnl_apply_vf(f->nl, "eth9", &want, &rep, &error), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vfs),
		cmocka_unit_test(test_truncated_list),
		cmocka_unit_test(test_num_vf_is_no_bound),
		cmocka_unit_test(test_many_vfs),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test_setup_teardown(test_apply_vf_rollback_link_down, vf_setup, vf_teardown),
		cmocka_unit_test_setup_teardown(test_apply_vf_rollback_refused, vf_setup, vf_teardown),
		cmocka_unit_test_setup_teardown(test_apply_vf_rollback_unknown_previous, vf_setup, vf_teardown),
		cmocka_unit_test_setup_teardown(test_apply_vf_rollback_vlan_and_mac, vf_setup, vf_teardown),
		cmocka_unit_test_setup_teardown(test_apply_vf_rollback_exchange_fails, vf_setup, vf_teardown),
		cmocka_unit_test_setup_teardown(test_apply_vf_ok, vf_setup, vf_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

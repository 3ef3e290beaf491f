/* The rtnetlink kernel of the unit tests (see fake-rtnl.h). */
#include "fake-rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

void fake_rtnl_igb_vf(struct vf_settings *vf, uint32_t i)
{
	*vf = (struct vf_settings){
		.index = i,
		.has = VF_HAS(VF_FIELD_MAC) | VF_HAS_VLAN_GROUP | VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_TRUST) |
		       VF_HAS(VF_FIELD_LINK_STATE) | VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE),
		.mac_len = 6,
		.vlan_proto = VF_ETH_P_8021Q,
		.spoofchk = true,
	};
}

struct fake_rtnl_pf *fake_rtnl_add_igb(struct fake_rtnl *k, const char *ifname, uint32_t ifindex, uint32_t num_vfs)
{
	struct fake_rtnl_pf *pf = &k->pfs[k->n_pfs++];
	*pf = (struct fake_rtnl_pf){.ifindex = ifindex, .flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP,
				    .perm = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)ifindex}, .num_vfs = num_vfs,
				    .rates_need_carrier = true};
	snprintf(pf->ifname, sizeof(pf->ifname), "%s", ifname);
	/* igb (6.1) has no link state and no RSS query */
	pf->rule[IFLA_VF_LINK_STATE].error = -EOPNOTSUPP;
	pf->rule[IFLA_VF_RSS_QUERY_EN].error = -EOPNOTSUPP;
	for (uint32_t i = 0; i < FAKE_RTNL_MAX_VFS; i++)
		fake_rtnl_igb_vf(&pf->vfs[i], i);
	return pf;
}

struct fake_rtnl_pf *fake_rtnl_pf(struct fake_rtnl *k, const char *ifname)
{
	for (size_t i = 0; i < k->n_pfs; i++)
		if (strcmp(k->pfs[i].ifname, ifname) == 0)
			return &k->pfs[i];
	return NULL;
}

static struct fake_rtnl_pf *pf_by_index(struct fake_rtnl *k, uint32_t ifindex)
{
	for (size_t i = 0; i < k->n_pfs; i++)
		if (k->pfs[i].ifindex == ifindex)
			return &k->pfs[i];
	return NULL;
}

void fake_rtnl_log_string(const struct fake_rtnl *k, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < k->n_log && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "|" : "", k->log[i]);
}

static void put_vf(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	struct ifla_vf_mac mac = {.vf = s->index};
	memcpy(mac.mac, s->mac, 6);
	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(mac), &mac);
	struct ifla_vf_vlan vlan = {.vf = s->index, .vlan = s->vlan, .qos = s->qos};
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(vlan), &vlan);
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	struct ifla_vf_vlan_info vi = {.vf = s->index, .vlan = s->vlan, .qos = s->qos,
				       .vlan_proto = htons(s->vlan_proto)};
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, list);
	struct ifla_vf_rate rate = {.vf = s->index, .min_tx_rate = s->min_tx_rate, .max_tx_rate = s->max_tx_rate};
	mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(rate), &rate);
	/* (u32)-1: the driver does not report it */
	struct ifla_vf_spoofchk sp = {.vf = s->index, .setting = vf_has(s, VF_FIELD_SPOOFCHK) ? s->spoofchk : UINT32_MAX};
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(sp), &sp);
	struct ifla_vf_link_state ls = {.vf = s->index, .link_state = (uint32_t)s->link_state};
	mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	struct ifla_vf_rss_query_en rss = {.vf = s->index,
					   .setting = vf_has(s, VF_FIELD_QUERY_RSS) ? s->query_rss : UINT32_MAX};
	mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(rss), &rss);
	struct ifla_vf_trust tr = {.vf = s->index, .setting = vf_has(s, VF_FIELD_TRUST) ? s->trust : UINT32_MAX};
	mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(tr), &tr);
	mnl_attr_nest_end(nlh, info);
}

static size_t put_ack(void *at, const struct nlmsghdr *req, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = req->nlmsg_seq;
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg = *req;
	return nlh->nlmsg_len;
}

static size_t put_link(void *at, const struct nlmsghdr *req, const struct fake_rtnl_pf *pf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_seq = req->nlmsg_seq;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = (int)pf->ifindex;
	ifi->ifi_flags = pf->flags;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, pf->ifname);
	uint8_t addr[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, (uint8_t)pf->ifindex};
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(addr), addr);
	mnl_attr_put(nlh, IFLA_PERM_ADDRESS, sizeof(pf->perm), pf->perm);
	mnl_attr_put_u32(nlh, IFLA_NUM_VF, pf->num_vfs);
	if (pf->altname[0]) {
		struct nlattr *props = mnl_attr_nest_start(nlh, IFLA_PROP_LIST);
		mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, pf->altname);
		mnl_attr_nest_end(nlh, props);
	}
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	for (uint32_t i = 0; i < pf->num_vfs; i++)
		put_vf(nlh, &pf->vfs[i]);
	mnl_attr_nest_end(nlh, list);
	return nlh->nlmsg_len;
}

static const char *answer_name(int error)
{
	if (!error)
		return "ok";
	const char *n = strerrorname_np(-error);
	return n ? n : "?";
}

/* One IFLA_VF_* attribute of a RTM_SETLINK: the driver's answer. */
static int set_one(struct fake_rtnl *k, struct fake_rtnl_pf *pf, const struct nlattr *a)
{
	int type = mnl_attr_get_type(a);
	const void *p = mnl_attr_get_payload(a);
	uint32_t vf_index = 0;
	char what[48] = "?";
	if (type == IFLA_VF_VLAN_LIST) {
		const struct nlattr *in = mnl_attr_get_payload(a);
		p = mnl_attr_get_payload(in);
	}
	memcpy(&vf_index, p, sizeof(vf_index)); /* every ifla_vf_* starts with its vf */
	struct vf_settings *vf = vf_index < pf->num_vfs && vf_index < FAKE_RTNL_MAX_VFS ? &pf->vfs[vf_index] : NULL;
	struct vf_settings next = vf ? *vf : (struct vf_settings){0};
	switch (type) {
	case IFLA_VF_MAC: {
		const struct ifla_vf_mac *m = p;
		memcpy(next.mac, m->mac, 6);
		snprintf(what, sizeof(what), "mac=%02x:%02x:%02x:%02x:%02x:%02x", m->mac[0], m->mac[1], m->mac[2],
			 m->mac[3], m->mac[4], m->mac[5]);
		break;
	}
	case IFLA_VF_VLAN: {
		const struct ifla_vf_vlan *v = p;
		next.vlan = (uint16_t)v->vlan;
		next.qos = (uint8_t)v->qos;
		next.vlan_proto = VF_ETH_P_8021Q;
		snprintf(what, sizeof(what), "vlan=%u/%u", v->vlan, v->qos);
		break;
	}
	case IFLA_VF_VLAN_LIST: {
		const struct ifla_vf_vlan_info *v = p;
		next.vlan = (uint16_t)v->vlan;
		next.qos = (uint8_t)v->qos;
		next.vlan_proto = ntohs(v->vlan_proto);
		snprintf(what, sizeof(what), "vlan=%u/%u/%04x", v->vlan, v->qos, next.vlan_proto);
		break;
	}
	case IFLA_VF_RATE: {
		const struct ifla_vf_rate *r = p;
		next.min_tx_rate = r->min_tx_rate;
		next.max_tx_rate = r->max_tx_rate;
		snprintf(what, sizeof(what), "rate=%u/%u", r->min_tx_rate, r->max_tx_rate);
		break;
	}
	case IFLA_VF_SPOOFCHK: {
		const struct ifla_vf_spoofchk *s = p;
		next.spoofchk = s->setting != 0;
		snprintf(what, sizeof(what), "spoofchk=%u", s->setting);
		break;
	}
	case IFLA_VF_TRUST: {
		const struct ifla_vf_trust *t = p;
		next.trust = t->setting != 0;
		snprintf(what, sizeof(what), "trust=%u", t->setting);
		break;
	}
	case IFLA_VF_LINK_STATE: {
		const struct ifla_vf_link_state *l = p;
		next.link_state = (enum vf_link_state)l->link_state;
		snprintf(what, sizeof(what), "state=%u", l->link_state);
		break;
	}
	case IFLA_VF_RSS_QUERY_EN: {
		const struct ifla_vf_rss_query_en *q = p;
		next.query_rss = q->setting != 0;
		snprintf(what, sizeof(what), "query-rss=%u", q->setting);
		break;
	}
	default:
		break;
	}
	int error = 0;
	struct fake_rtnl_rule *rule = type <= IFLA_VF_MAX ? &pf->rule[type] : NULL;
	if (!vf)
		error = -EINVAL;
	else if (rule && rule->error && rule->accepted >= rule->after)
		error = rule->error;
	else if (type == IFLA_VF_RATE && pf->rates_need_carrier && !(pf->flags & IFF_LOWER_UP))
		error = -EINVAL;
	if (!error) {
		*vf = next;
		if (rule)
			rule->accepted++;
	}
	char line[sizeof(k->log[0])];
	snprintf(line, sizeof(line), "%s vf%u %s %s", pf->ifname, vf_index, what, answer_name(error));
	if (k->n_log < sizeof(k->log) / sizeof(k->log[0]))
		memcpy(k->log[k->n_log++], line, sizeof(line));
	return error;
}

static int setlink(struct fake_rtnl *k, const struct nlmsghdr *req)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	struct fake_rtnl_pf *pf = pf_by_index(k, (uint32_t)ifi->ifi_index);
	if (!pf)
		return -ENODEV;
	const struct nlattr *a, *list = NULL;
	mnl_attr_for_each(a, req, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_VFINFO_LIST)
			list = a;
	if (!list)
		return -EINVAL;
	int error = 0;
	const struct nlattr *info, *attr;
	mnl_attr_for_each_nested(info, list)
		mnl_attr_for_each_nested(attr, info)
			if (!error)
				error = set_one(k, pf, attr);
	return error;
}

long fake_rtnl_kernel(void *data, const void *req, size_t len, void *ans, size_t ans_size)
{
	struct fake_rtnl *k = data;
	if (k->fail_send)
		return k->fail_send;
	size_t off = 0;
	const struct nlmsghdr *nlh = req;
	int left = (int)len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (ans_size - off < 16384)
			return -ENOBUFS;
		void *at = (char *)ans + off;
		if (nlh->nlmsg_type == RTM_GETLINK) {
			k->n_getlink++;
			const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
			const struct nlattr *a;
			const char *name = NULL;
			mnl_attr_for_each(a, nlh, sizeof(*ifi))
				if (mnl_attr_get_type(a) == IFLA_IFNAME)
					name = mnl_attr_get_str(a);
			const struct fake_rtnl_pf *pf = name ? fake_rtnl_pf(k, name) : NULL;
			off += pf ? put_link(at, nlh, pf) : put_ack(at, nlh, -ENODEV);
		} else if (nlh->nlmsg_type == RTM_SETLINK) {
			k->n_setlink++;
			off += put_ack(at, nlh, setlink(k, nlh));
		} else
			off += put_ack(at, nlh, -EOPNOTSUPP);
	}
	return (long)off;
}

/* Changing VF settings: a batch of RTM_SETLINK messages, one per setting. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rtnl-private.h"
#include "util/util.h"

/* The kernel's unit of change (one IFLA_VF_* attribute) and the fields of
 * struct vf_settings it carries. */
struct vf_message {
	unsigned fields; /* VF_HAS() bits */
	void (*put)(struct nlmsghdr *nlh, const struct vf_settings *s);
};

static void put_mac(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_mac a = {.vf = s->index};
	memcpy(a.mac, s->mac, s->mac_len <= sizeof(a.mac) ? s->mac_len : sizeof(a.mac));
	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(a), &a);
}

static void put_vlan(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	uint16_t proto = vf_has(s, VF_FIELD_VLAN_PROTO) ? s->vlan_proto : VF_ETH_P_8021Q;
	if (proto == VF_ETH_P_8021Q) {
		/* The plain attribute: every driver with ndo_set_vf_vlan takes it. */
		struct ifla_vf_vlan a = {.vf = s->index, .vlan = s->vlan, .qos = s->qos};
		mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(a), &a);
		return;
	}
	struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	struct ifla_vf_vlan_info a = {.vf = s->index, .vlan = s->vlan, .qos = s->qos, .vlan_proto = htons(proto)};
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(a), &a);
	mnl_attr_nest_end(nlh, list);
}

static void put_rate(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_rate a = {.vf = s->index, .min_tx_rate = s->min_tx_rate, .max_tx_rate = s->max_tx_rate};
	mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(a), &a);
}

static void put_spoofchk(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_spoofchk a = {.vf = s->index, .setting = s->spoofchk};
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(a), &a);
}

static void put_trust(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_trust a = {.vf = s->index, .setting = s->trust};
	mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(a), &a);
}

static void put_link_state(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_link_state a = {.vf = s->index, .link_state = (uint32_t)s->link_state};
	mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(a), &a);
}

static void put_query_rss(struct nlmsghdr *nlh, const struct vf_settings *s)
{
	struct ifla_vf_rss_query_en a = {.vf = s->index, .setting = s->query_rss};
	mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(a), &a);
}

static const struct vf_message vf_messages[] = {
	{VF_HAS(VF_FIELD_MAC), put_mac},
	{VF_HAS(VF_FIELD_VLAN) | VF_HAS(VF_FIELD_QOS) | VF_HAS(VF_FIELD_VLAN_PROTO), put_vlan},
	{VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE), put_rate},
	{VF_HAS(VF_FIELD_SPOOFCHK), put_spoofchk},
	{VF_HAS(VF_FIELD_TRUST), put_trust},
	{VF_HAS(VF_FIELD_LINK_STATE), put_link_state},
	{VF_HAS(VF_FIELD_QUERY_RSS), put_query_rss},
};

void vf_set_result_done(struct vf_set_result *r)
{
	for (int i = 0; r && i < _VF_FIELD_MAX; i++) {
		free(r->field[i].message);
		r->field[i] = (struct vf_field_result){0};
	}
}

struct batch {
	struct vf_set_result *res;
	uint32_t first_seq;
	size_t n;                                /* messages sent */
	unsigned fields[ARRAY_SIZE(vf_messages)]; /* fields of message i */
	bool answered[ARRAY_SIZE(vf_messages)];
	size_t n_answered;
};

/* Each NLMSG_ERROR answers one message of the batch, found by its seq. */
static int batch_ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct batch *b = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return MNL_CB_OK;
	uint32_t i = nlh->nlmsg_seq - b->first_seq;
	if (i >= b->n || b->answered[i])
		return MNL_CB_OK; /* not ours, or a duplicate */
	b->answered[i] = true;
	b->n_answered++;
	char *msg = err->error ? rtnl_ext_ack_text(nlh) : NULL;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!(b->fields[i] & VF_HAS(f)))
			continue;
		b->res->field[f].error = err->error;
		b->res->field[f].message = msg ? strdup(msg) : NULL;
	}
	free(msg);
	return MNL_CB_OK;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

int rtnl_set_vf(struct rtnl *nl, uint32_t pf_ifindex, const struct vf_settings *s, struct vf_set_result *res)
{
	/* Each message is a few dozen bytes; the whole batch fits a page. */
	uint8_t buf[4096];
	struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	struct batch b = {.res = res, .first_seq = nl->seq + 1};

	*res = (struct vf_set_result){0};
	for (size_t i = 0; i < ARRAY_SIZE(vf_messages); i++) {
		unsigned fields = s->has & vf_messages[i].fields;
		if (!fields)
			continue;
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(batch));
		nlh->nlmsg_type = RTM_SETLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++nl->seq;
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = (int)pf_ifindex;
		struct nlattr *list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
		vf_messages[i].put(nlh, s);
		mnl_attr_nest_end(nlh, info);
		mnl_attr_nest_end(nlh, list);
		b.fields[b.n++] = fields;
		mnl_nlmsg_batch_next(batch);
	}
	size_t len = mnl_nlmsg_batch_size(batch);
	mnl_nlmsg_batch_stop(batch);
	if (b.n == 0)
		return 0;

	int r = rtnl_send(nl, buf, len);
	if (r < 0)
		return r;

	static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = ignore_cb,
		[NLMSG_ERROR] = batch_ack_cb,
		[NLMSG_DONE] = ignore_cb,
		[NLMSG_OVERRUN] = ignore_cb,
	};
	while (b.n_answered < b.n) {
		ssize_t n = rtnl_recv(nl);
		if (n < 0)
			return (int)n;
		/* seq 0: the answers carry several seqs; batch_ack_cb sorts them. */
		if (mnl_cb_run2(nl->buf, (size_t)n, 0, nl->portid, ignore_cb, &b, ctl_cbs, ARRAY_SIZE(ctl_cbs)) ==
		    MNL_CB_ERROR)
			return errno ? -errno : -EIO;
	}
	return 0;
}

void vf_apply_report_done(struct vf_apply_report *r)
{
	if (!r)
		return;
	vf_set_result_done(&r->result);
	vf_set_result_done(&r->rollback);
}

unsigned rtnl_vf_message_count(unsigned has)
{
	unsigned n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vf_messages); i++)
		if (has & vf_messages[i].fields)
			n++;
	return n;
}

int rtnl_apply_vf(struct rtnl *nl, const char *pf_ifname, const struct vf_settings *want,
		  struct vf_apply_report *rep, char **ret_error)
{
	*ret_error = NULL;
	*rep = (struct vf_apply_report){0};

	struct pf_link link;
	int r = rtnl_get_pf_link(nl, pf_ifname, 0, &link);
	if (r < 0)
		return r;
	const struct vf_settings *listed = pf_link_vf(&link, want->index);
	if (!listed) {
		r = error_set(ret_error, -ENOENT, "%s: the kernel lists no VF %u (IFLA_NUM_VF %u)", pf_ifname,
			       want->index, link.num_vf);
		pf_link_done(&link);
		return r;
	}
	/* Everything below reads the copy: the link's VF list is freed here. */
	rep->pf_ifindex = link.ifindex;
	rep->before = *listed;
	unsigned addr_len = link.addr_len;
	pf_link_done(&link);
	const struct vf_settings *before = &rep->before;

	struct vf_settings sent = *want;
	if (vf_has(want, VF_FIELD_MAC) && addr_len && addr_len != want->mac_len)
		return error_set(ret_error, -EINVAL, "mac: %s uses %u-byte addresses, not %u", pf_ifname, addr_len,
				  want->mac_len);
	/* The kernel sets min and max rate together; the one not given keeps
	 * its current value, as ip does. */
	if (vf_has(want, VF_FIELD_MIN_RATE) != vf_has(want, VF_FIELD_MAX_RATE)) {
		if (!vf_has(want, VF_FIELD_MIN_RATE))
			sent.min_tx_rate = before->min_tx_rate;
		else
			sent.max_tx_rate = before->max_tx_rate;
		sent.has |= VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE);
		if (sent.max_tx_rate != 0 && sent.min_tx_rate > sent.max_tx_rate)
			return error_set(ret_error, -EINVAL, "min-rate %u would be above the max-rate %u",
					  sent.min_tx_rate, sent.max_tx_rate);
	}
	rep->sent = sent;

	r = rtnl_set_vf(nl, rep->pf_ifindex, &sent, &rep->result);
	if (r < 0)
		return r;
	rep->messages = rtnl_vf_message_count(sent.has);

	unsigned accepted = 0;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!vf_has(&sent, f))
			continue;
		if (rep->result.field[f].error)
			rep->failed = true;
		else
			accepted |= VF_HAS(f);
	}
	if (!rep->failed)
		return 0;
	rtnl_vf_put_back(nl, rep->pf_ifindex, before, accepted, &rep->rolled_back, &rep->rollback);
	return 0;
}

void rtnl_vf_put_back(struct rtnl *nl, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
		      unsigned *ret_put_back, struct vf_set_result *res)
{
	*res = (struct vf_set_result){0};
	*ret_put_back = 0;
	/* Every field of a message that carried one of fields goes back, taken
	 * from before so that nothing else moves; a message needs every one of
	 * its fields known. */
	struct vf_settings restore = *before;
	restore.has = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vf_messages); i++) {
		unsigned m = vf_messages[i].fields;
		if (!(fields & m))
			continue;
		if ((before->has & m) == m)
			restore.has |= m;
		else
			for (int f = 0; f < _VF_FIELD_MAX; f++)
				if (fields & m & VF_HAS(f))
					res->field[f].error = -ENODATA;
	}
	if (!restore.has)
		return;
	struct vf_set_result answers;
	int r = rtnl_set_vf(nl, pf_ifindex, &restore, &answers);
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!(fields & VF_HAS(f)) || !(restore.has & VF_HAS(f)))
			continue;
		if (r < 0) {
			res->field[f].error = r; /* the exchange itself failed */
			continue;
		}
		res->field[f] = answers.field[f];
		answers.field[f] = (struct vf_field_result){0};
		if (res->field[f].error == 0)
			*ret_put_back |= VF_HAS(f);
	}
	if (r == 0)
		vf_set_result_done(&answers);
}

const char *rtnl_vf_error_hint(enum vf_field f, int error, const char *driver, char buf[RTNL_VF_HINT_MAX])
{
	if (error == -EOPNOTSUPP) {
		snprintf(buf, RTNL_VF_HINT_MAX, "%s does not support this setting", driver ? driver : "the PF driver");
		return buf;
	}
	if (error == -EINVAL && (f == VF_FIELD_MIN_RATE || f == VF_FIELD_MAX_RATE))
		return "the driver refused the rate (some, igb among them, refuse rates while the PF link is "
		       "down, above the link speed, or any min-rate)";
	if (error == -EPROTONOSUPPORT && f == VF_FIELD_VLAN_PROTO)
		return "the driver supports only 802.1Q";
	return NULL;
}

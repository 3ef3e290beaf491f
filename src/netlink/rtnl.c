#include "rtnl.h"
#include "rtnl-private.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>

#include "util/util.h"

/* A PF with 256 VFs answers with roughly 50-70 KiB without stats (the VF list
 * attribute itself is capped at 64 KiB by its 16-bit length); with stats it
 * can be twice that. Replies are sized with MSG_PEEK|MSG_TRUNC before each
 * read, so this is only the starting size. */
#define RTNL_RECV_INITIAL (128 * 1024)

/* Binds nl->sock and readies the handle. */
static int rtnl_setup(struct rtnl *nl)
{
	/* Extended acks carry the kernel's reason text ("VF VLAN ... not supported"). */
	int one = 1;
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	nl->buf_size = RTNL_RECV_INITIAL;
	nl->buf = malloc(nl->buf_size);
	return nl->buf ? 0 : -ENOMEM;
}

int rtnl_open(struct rtnl **ret)
{
	struct rtnl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	int r;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		r = -errno;
		goto fail;
	}
	if ((r = rtnl_setup(nl)) < 0)
		goto fail;
	*ret = nl;
	return 0;
fail:
	rtnl_close(nl);
	return r;
}

int rtnl_open_fd(int fd, struct rtnl **ret)
{
	struct rtnl *nl = calloc(1, sizeof(*nl));
	if (!nl) {
		close(fd);
		return -ENOMEM;
	}
	int r;
	nl->sock = mnl_socket_fdopen(fd);
	if (!nl->sock) {
		r = -errno;
		close(fd);
		goto fail;
	}
	if ((r = rtnl_setup(nl)) < 0)
		goto fail;
	*ret = nl;
	return 0;
fail:
	rtnl_close(nl);
	return r;
}

int rtnl_open_with(rtnl_kernel_fn kernel, void *data, struct rtnl **ret)
{
	struct rtnl *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->kernel = kernel;
	nl->kernel_data = data;
	nl->seq = 1000;
	nl->buf_size = RTNL_RECV_INITIAL;
	nl->buf = malloc(nl->buf_size);
	if (!nl->buf) {
		free(nl);
		return -ENOMEM;
	}
	*ret = nl;
	return 0;
}

int rtnl_send(struct rtnl *nl, const void *buf, size_t len)
{
	if (!nl->kernel)
		return mnl_socket_sendto(nl->sock, buf, len) < 0 ? -errno : 0;
	long n = nl->kernel(nl->kernel_data, buf, len, nl->buf, nl->buf_size);
	if (n < 0)
		return (int)n;
	nl->pending = (size_t)n;
	return 0;
}

void rtnl_close(struct rtnl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl->ext_ack_msg);
	free(nl);
}

const char *rtnl_last_error_message(const struct rtnl *nl)
{
	return nl->ext_ack_msg;
}

static int ext_ack_attr_cb(const struct nlattr *attr, void *data)
{
	char **msg = data;
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		free(*msg);
		*msg = strdup(mnl_attr_get_str(attr));
	}
	return MNL_CB_OK;
}

/* libmnl hands one data pointer to every callback; this carries the handle
 * (for the ext-ack text) next to the caller's own callback and data. */
struct rtnl_call {
	struct rtnl *nl;
	mnl_cb_t cb;
	void *data;
};

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rtnl_call *call = data;
	return call->cb ? call->cb(nlh, call->data) : MNL_CB_OK;
}

char *rtnl_ext_ack_text(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	char *msg = NULL;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	/* The TLVs follow the echoed request, or just its header when capped. */
	size_t off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	size_t payload = mnl_nlmsg_get_payload_len(nlh);
	if (off < payload)
		mnl_attr_parse_payload((const char *)err + off, payload - off, ext_ack_attr_cb, &msg);
	return msg;
}

/* NLMSG_ERROR carries both acks (error 0) and failures; on failure keep the
 * extended-ack text so the caller can show the kernel's own words. */
static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rtnl_call *call = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (err->error == 0)
		return MNL_CB_STOP;
	free(call->nl->ext_ack_msg);
	call->nl->ext_ack_msg = rtnl_ext_ack_text(nlh);
	errno = err->error < 0 ? -err->error : err->error;
	return MNL_CB_ERROR;
}

static int noop_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_STOP;
}

ssize_t rtnl_recv_datagram(int fd, uint8_t **buf, size_t *size)
{
	for (;;) {
		ssize_t n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if ((size_t)n > *size) {
			uint8_t *b = realloc(*buf, (size_t)n);
			if (!b)
				return -ENOMEM;
			*buf = b;
			*size = (size_t)n;
		}
		n = recv(fd, *buf, *size, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		return n;
	}
}

ssize_t rtnl_recv(struct rtnl *nl)
{
	if (nl->kernel) {
		/* Everything the played kernel answered came in one datagram. */
		size_t n = nl->pending;
		nl->pending = 0;
		return n ? (ssize_t)n : -ETIMEDOUT;
	}
	return rtnl_recv_datagram(mnl_socket_get_fd(nl->sock), &nl->buf, &nl->buf_size);
}

int rtnl_transact(struct rtnl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = noop_cb,
		[NLMSG_ERROR] = error_cb,
		[NLMSG_DONE] = done_cb,
		[NLMSG_OVERRUN] = noop_cb,
	};
	struct rtnl_call call = {.nl = nl, .cb = cb, .data = data};

	free(nl->ext_ack_msg);
	nl->ext_ack_msg = NULL;
	req->nlmsg_seq = ++nl->seq;
	int sr = rtnl_send(nl, req, req->nlmsg_len);
	if (sr < 0)
		return sr;

	bool multipart = req->nlmsg_flags & NLM_F_DUMP;
	for (;;) {
		ssize_t n = rtnl_recv(nl);
		if (n < 0)
			return (int)n;
		errno = 0;
		int r = mnl_cb_run2(nl->buf, (size_t)n, req->nlmsg_seq, nl->portid, data_cb, &call,
				    ctl_cbs, ARRAY_SIZE(ctl_cbs));
		if (r == MNL_CB_ERROR)
			return errno ? -errno : -EIO;
		if (r == MNL_CB_STOP || !multipart)
			return 0;
	}
}

/* --- parsing RTM_NEWLINK ------------------------------------------------ */

int rtnl_attr_collect_cb(const struct nlattr *attr, void *data)
{
	struct rtnl_attr_table *t = data;
	int type = mnl_attr_get_type(attr);
	if (type <= t->max)
		t->tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_nested(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	struct rtnl_attr_table t = {tb, max};
	memset(tb, 0, (size_t)(max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, rtnl_attr_collect_cb, &t) < 0 ? -EBADMSG : 0;
}

/* Payload of attr if it is at least len bytes long, else NULL. */
static const void *attr_payload(const struct nlattr *attr, size_t len)
{
	if (!attr || mnl_attr_get_payload_len(attr) < len)
		return NULL;
	return mnl_attr_get_payload(attr);
}

/* The kernel presets these to (u32)-1 and leaves them there when the driver
 * does not report the field. */
static bool vf_u32_reported(uint32_t v)
{
	return v != UINT32_MAX;
}

static void parse_vf_stats(const struct nlattr *nest, struct vf_settings *vf)
{
	const struct nlattr *tb[IFLA_VF_STATS_MAX + 1];
	if (parse_nested(nest, tb, IFLA_VF_STATS_MAX) < 0)
		return;
	static const struct {
		int type;
		size_t offset;
	} map[] = {
		{IFLA_VF_STATS_RX_PACKETS, offsetof(struct vf_stats, rx_packets)},
		{IFLA_VF_STATS_TX_PACKETS, offsetof(struct vf_stats, tx_packets)},
		{IFLA_VF_STATS_RX_BYTES, offsetof(struct vf_stats, rx_bytes)},
		{IFLA_VF_STATS_TX_BYTES, offsetof(struct vf_stats, tx_bytes)},
		{IFLA_VF_STATS_BROADCAST, offsetof(struct vf_stats, broadcast)},
		{IFLA_VF_STATS_MULTICAST, offsetof(struct vf_stats, multicast)},
		{IFLA_VF_STATS_RX_DROPPED, offsetof(struct vf_stats, rx_dropped)},
		{IFLA_VF_STATS_TX_DROPPED, offsetof(struct vf_stats, tx_dropped)},
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		const struct nlattr *a = tb[map[i].type];
		if (a && mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			*(uint64_t *)((char *)&vf->stats + map[i].offset) = mnl_attr_get_u64(a);
	}
	vf->has |= VF_HAS(VF_FIELD_STATS);
}

static int parse_vf_info(const struct nlattr *nest, unsigned addr_len, struct vf_settings *vf)
{
	const struct nlattr *tb[IFLA_VF_MAX + 1];
	if (parse_nested(nest, tb, IFLA_VF_MAX) < 0)
		return -EBADMSG;

	/* Every VF entry starts with its MAC; the index in it is the VF number. */
	const struct ifla_vf_mac *mac = attr_payload(tb[IFLA_VF_MAC], sizeof(*mac));
	if (!mac)
		return -EBADMSG;
	*vf = (struct vf_settings){.index = mac->vf, .vlan_proto = VF_ETH_P_8021Q};
	vf->mac_len = (uint8_t)(addr_len && addr_len <= VF_MAC_MAX ? addr_len : 6);
	memcpy(vf->mac, mac->mac, vf->mac_len);
	vf->has |= VF_HAS(VF_FIELD_MAC);

	const struct ifla_vf_vlan *vlan = attr_payload(tb[IFLA_VF_VLAN], sizeof(*vlan));
	if (vlan) {
		vf->vlan = (uint16_t)vlan->vlan;
		vf->qos = (uint8_t)vlan->qos;
		vf->has |= VF_HAS(VF_FIELD_VLAN) | VF_HAS(VF_FIELD_QOS) | VF_HAS(VF_FIELD_VLAN_PROTO);
	}
	if (tb[IFLA_VF_VLAN_LIST]) {
		const struct nlattr *lst[IFLA_VF_VLAN_INFO_MAX + 1];
		if (parse_nested(tb[IFLA_VF_VLAN_LIST], lst, IFLA_VF_VLAN_INFO_MAX) == 0) {
			const struct ifla_vf_vlan_info *vi = attr_payload(lst[IFLA_VF_VLAN_INFO], sizeof(*vi));
			if (vi) {
				vf->vlan = (uint16_t)vi->vlan;
				vf->qos = (uint8_t)vi->qos;
				vf->vlan_proto = ntohs(vi->vlan_proto);
				vf->has |= VF_HAS(VF_FIELD_VLAN) | VF_HAS(VF_FIELD_QOS) |
					   VF_HAS(VF_FIELD_VLAN_PROTO);
			}
		}
	}

	const struct ifla_vf_rate *rate = attr_payload(tb[IFLA_VF_RATE], sizeof(*rate));
	const struct ifla_vf_tx_rate *tx_rate = attr_payload(tb[IFLA_VF_TX_RATE], sizeof(*tx_rate));
	if (rate) {
		vf->min_tx_rate = rate->min_tx_rate;
		vf->max_tx_rate = rate->max_tx_rate;
		vf->has |= VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE);
	} else if (tx_rate) {
		vf->max_tx_rate = tx_rate->rate;
		vf->has |= VF_HAS(VF_FIELD_MAX_RATE);
	}

	const struct ifla_vf_spoofchk *spoof = attr_payload(tb[IFLA_VF_SPOOFCHK], sizeof(*spoof));
	if (spoof && vf_u32_reported(spoof->setting)) {
		vf->spoofchk = spoof->setting != 0;
		vf->has |= VF_HAS(VF_FIELD_SPOOFCHK);
	}
	const struct ifla_vf_trust *trust = attr_payload(tb[IFLA_VF_TRUST], sizeof(*trust));
	if (trust && vf_u32_reported(trust->setting)) {
		vf->trust = trust->setting != 0;
		vf->has |= VF_HAS(VF_FIELD_TRUST);
	}
	const struct ifla_vf_rss_query_en *rss = attr_payload(tb[IFLA_VF_RSS_QUERY_EN], sizeof(*rss));
	if (rss && vf_u32_reported(rss->setting)) {
		vf->query_rss = rss->setting != 0;
		vf->has |= VF_HAS(VF_FIELD_QUERY_RSS);
	}
	const struct ifla_vf_link_state *ls = attr_payload(tb[IFLA_VF_LINK_STATE], sizeof(*ls));
	if (ls && ls->link_state < _VF_LINK_STATE_MAX) {
		vf->link_state = (enum vf_link_state)ls->link_state;
		vf->has |= VF_HAS(VF_FIELD_LINK_STATE);
	}
	if (tb[IFLA_VF_STATS])
		parse_vf_stats(tb[IFLA_VF_STATS], vf);
	return 0;
}

void pf_link_done(struct pf_link *l)
{
	if (!l)
		return;
	free(l->vfs);
	strv_free(l->altnames);
	*l = (struct pf_link){0};
}

int rtnl_parse_pf_link(const struct nlmsghdr *nlh, struct pf_link *ret)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return -EBADMSG;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	struct rtnl_attr_table t = {tb, IFLA_MAX};
	if (mnl_attr_parse(nlh, sizeof(*ifi), rtnl_attr_collect_cb, &t) < 0)
		return -EBADMSG;

	struct pf_link l = {.ifindex = (uint32_t)ifi->ifi_index, .flags = ifi->ifi_flags};
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(l.ifname, sizeof(l.ifname), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_ADDRESS]) {
		l.addr_len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
		if (l.addr_len > VF_MAC_MAX)
			l.addr_len = VF_MAC_MAX;
		memcpy(l.addr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), l.addr_len);
	}
	if (tb[IFLA_PERM_ADDRESS]) {
		l.perm_addr_len = mnl_attr_get_payload_len(tb[IFLA_PERM_ADDRESS]);
		if (l.perm_addr_len > VF_MAC_MAX)
			l.perm_addr_len = VF_MAC_MAX;
		memcpy(l.perm_addr, mnl_attr_get_payload(tb[IFLA_PERM_ADDRESS]), l.perm_addr_len);
	}
	if (tb[IFLA_NUM_VF] && mnl_attr_validate(tb[IFLA_NUM_VF], MNL_TYPE_U32) == 0) {
		l.has_num_vf = true;
		l.num_vf = mnl_attr_get_u32(tb[IFLA_NUM_VF]);
	}
	if (tb[IFLA_VFINFO_LIST]) {
		/* Sized by the entries the message holds, never by IFLA_NUM_VF:
		 * that is a number in the message, not a bound on it. */
		const struct nlattr *vfinfo;
		size_t n = 0;
		mnl_attr_for_each_nested(vfinfo, tb[IFLA_VFINFO_LIST])
			n += mnl_attr_get_type(vfinfo) == IFLA_VF_INFO;
		l.vfs = calloc(n ? n : 1, sizeof(*l.vfs));
		if (!l.vfs)
			return -ENOMEM;
		mnl_attr_for_each_nested(vfinfo, tb[IFLA_VFINFO_LIST]) {
			if (mnl_attr_get_type(vfinfo) != IFLA_VF_INFO)
				continue;
			if (parse_vf_info(vfinfo, l.addr_len, &l.vfs[l.n_vfs]) == 0)
				l.n_vfs++;
		}
	}
	l.truncated = l.has_num_vf && l.n_vfs < l.num_vf;
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MAX_MTU] && mnl_attr_validate(tb[IFLA_MAX_MTU], MNL_TYPE_U32) == 0)
		l.max_mtu = mnl_attr_get_u32(tb[IFLA_MAX_MTU]);
	if (tb[IFLA_PROP_LIST]) {
		const struct nlattr *a;
		size_t n = 0;
		mnl_attr_for_each_nested(a, tb[IFLA_PROP_LIST]) {
			if (mnl_attr_get_type(a) != IFLA_ALT_IFNAME || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
			    n >= RTNL_MAX_ALTNAMES)
				continue;
			if (strv_pushf(&l.altnames, "%s", mnl_attr_get_str(a)) < 0) {
				pf_link_done(&l);
				return -ENOMEM;
			}
			n++;
		}
	}
	*ret = l;
	return 0;
}

const struct vf_settings *pf_link_vf(const struct pf_link *l, uint32_t index)
{
	for (size_t i = 0; i < l->n_vfs; i++)
		if (l->vfs[i].index == index)
			return &l->vfs[i];
	return NULL;
}

struct get_link_result {
	struct pf_link *link;
	int r;
	bool got;
};

static int get_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_link_result *res = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || res->got)
		return MNL_CB_OK;
	res->r = rtnl_parse_pf_link(nlh, res->link);
	res->got = res->r == 0;
	return MNL_CB_OK;
}

struct nlmsghdr *rtnl_getlink_request(void *buf, const char *ifname, uint32_t ext_mask)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | (ifname ? 0 : NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	if (ifname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, ext_mask);
	return nlh;
}

int rtnl_get_pf_link(struct rtnl *nl, const char *ifname, unsigned want, struct pf_link *ret)
{
	if (str_empty(ifname) || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;

	uint8_t req_buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t mask = RTEXT_FILTER_VF;
	if (!(want & RTNL_WANT_STATS))
		mask |= RTEXT_FILTER_SKIP_STATS;
	struct nlmsghdr *nlh = rtnl_getlink_request(req_buf, ifname, mask);

	struct pf_link link = {0};
	struct get_link_result res = {.link = &link};
	int r = rtnl_transact(nl, nlh, get_link_cb, &res);
	if (r < 0) {
		pf_link_done(&link);
		return r;
	}
	if (res.r < 0) {
		pf_link_done(&link);
		return res.r;
	}
	if (!res.got)
		return -ENODATA;
	*ret = link;
	return 0;
}

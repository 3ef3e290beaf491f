/* Link event subscription (RTMGRP_LINK). */
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "rtnl-private.h"
#include "util/util.h"

struct rtnl_monitor {
	struct mnl_socket *sock;
	uint8_t *buf;
	size_t buf_size;
};

int rtnl_monitor_open(struct rtnl_monitor **ret)
{
	struct rtnl_monitor *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r;
	m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->sock) {
		r = -errno;
		goto fail;
	}
	/* A PF's RTM_NEWLINK carries its whole VF list; a burst of them (a VF
	 * count change) needs room, or the kernel reports ENOBUFS. */
	int size = 4 * 1024 * 1024;
	(void)setsockopt(mnl_socket_get_fd(m->sock), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (mnl_socket_bind(m->sock, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	m->buf_size = 256 * 1024;
	m->buf = malloc(m->buf_size);
	if (!m->buf) {
		r = -ENOMEM;
		goto fail;
	}
	*ret = m;
	return 0;
fail:
	rtnl_monitor_close(m);
	return r;
}

void rtnl_monitor_close(struct rtnl_monitor *m)
{
	if (!m)
		return;
	if (m->sock)
		mnl_socket_close(m->sock);
	free(m->buf);
	free(m);
}

int rtnl_monitor_fd(const struct rtnl_monitor *m)
{
	return mnl_socket_get_fd(m->sock);
}

struct monitor_call {
	void (*cb)(const struct rtnl_link_event *ev, void *data);
	void *data;
	int n;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct rtnl_link_event *ev = data;
	if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(ev->ifname, sizeof(ev->ifname), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_call *call = data;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct rtnl_link_event ev = {.removed = nlh->nlmsg_type == RTM_DELLINK, .ifindex = (uint32_t)ifi->ifi_index};
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &ev);
	call->cb(&ev, call->data);
	call->n++;
	return MNL_CB_OK;
}

int rtnl_monitor_read(struct rtnl_monitor *m, void (*cb)(const struct rtnl_link_event *ev, void *data),
		      void *data)
{
	struct monitor_call call = {.cb = cb, .data = data};
	int fd = mnl_socket_get_fd(m->sock);
	for (;;) {
		ssize_t n = rtnl_recv_datagram(fd, &m->buf, &m->buf_size);
		if (n == -EAGAIN)
			return call.n;
		if (n < 0)
			return (int)n;
		/* Multicast events carry seq 0 and portid 0. */
		mnl_cb_run(m->buf, (size_t)n, 0, 0, event_cb, &call);
	}
}

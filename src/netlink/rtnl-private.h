/* Shared by the files of netlink/ only: the socket handle and the
 * request/answer primitives. Nothing outside netlink/ includes this. */
#pragma once

#include <libmnl/libmnl.h>
#include <sys/types.h>

#include "rtnl.h"

struct rtnl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	uint8_t *buf; /* receive buffer, grown to the largest datagram seen */
	size_t buf_size;
	char *ext_ack_msg;
	/* A kernel played by a unit test (rtnl_open_with): it answers each
	 * request datagram at once; the answer waits in buf for rtnl_recv(). */
	rtnl_kernel_fn kernel;
	void *kernel_data;
	size_t pending;
};

/* Sends one datagram (a request, or a batch of them) to the kernel. */
int rtnl_send(struct rtnl *nl, const void *buf, size_t len);

/* A handle on an already created NETLINK_ROUTE socket (one opened in
 * another network namespace); takes fd, closing it on failure too. */
int rtnl_open_fd(int fd, struct rtnl **ret);

/* Sends one request (seq is set here) and runs cb on every answer until the
 * kernel is done: one reply, the end of a dump (NLM_F_DUMP), or an ack
 * (NLM_F_ACK). A kernel error comes back as -errno, with its ext-ack text
 * kept for rtnl_last_error_message(). */
int rtnl_transact(struct rtnl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* Receives one datagram from fd into *buf, grown to the datagram's size
 * (MSG_PEEK|MSG_TRUNC first), so nothing is ever truncated. -EAGAIN on a
 * non-blocking socket with nothing pending. */
ssize_t rtnl_recv_datagram(int fd, uint8_t **buf, size_t *size);
/* The same for the request socket's own buffer. */
ssize_t rtnl_recv(struct rtnl *nl);

/* The kernel's extended-ack message in an NLMSG_ERROR, or NULL (caller frees). */
char *rtnl_ext_ack_text(const struct nlmsghdr *nlh);

/* Fills tb[type] = attr for each attribute of type <= max; newer types
 * than our headers know are skipped, never misread. For mnl_attr_parse*(). */
struct rtnl_attr_table {
	const struct nlattr **tb;
	int max;
};
int rtnl_attr_collect_cb(const struct nlattr *attr, void *data);

/* Puts an RTM_GETLINK request for IFNAME (NULL: a dump of every link) in
 * buf (MNL_SOCKET_BUFFER_SIZE bytes) with the given IFLA_EXT_MASK
 * (RTEXT_FILTER_*). */
struct nlmsghdr *rtnl_getlink_request(void *buf, const char *ifname, uint32_t ext_mask);

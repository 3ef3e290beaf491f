/* Shared by the files of netlink/ only: the socket handle and the
 * request/answer primitive. Nothing outside netlink/ includes this. */
#pragma once

#include <libmnl/libmnl.h>

#include "rtnl.h"

/* Sends one request (seq is set here) and runs cb on every answer until the
 * kernel is done: one reply, the end of a dump (NLM_F_DUMP), or an ack
 * (NLM_F_ACK). A kernel error comes back as -errno, with its ext-ack text
 * kept for rtnl_last_error_message(). */
int rtnl_transact(struct rtnl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* netlink: rtnetlink, the kernel's view of a PF's VFs.
 *
 * Owns: the rtnetlink socket (libmnl is included here and nowhere else),
 * reading a PF link with its VF list (RTM_GETLINK + RTEXT_FILTER_VF), and the
 * parser that turns an RTM_NEWLINK message into struct pf_link. Kernel errors
 * come back as -errno; the kernel's extended-ack text, when it sent one, is
 * kept in the handle for the caller to print. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vf/vf.h"

struct rtnl;
struct nlmsghdr;

int rtnl_open(struct rtnl **ret);
void rtnl_close(struct rtnl *nl);
/* The kernel's extended-ack message for the last failed request, or NULL. */
const char *rtnl_last_error_message(const struct rtnl *nl);

struct pf_link {
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
	unsigned flags; /* IFF_* */
	uint8_t addr[VF_MAC_MAX];
	unsigned addr_len;
	bool has_num_vf;
	uint32_t num_vf;         /* IFLA_NUM_VF: how many VFs the kernel has */
	struct vf_settings *vfs; /* as received, in the kernel's order */
	size_t n_vfs;
	bool truncated;          /* fewer VFs arrived than IFLA_NUM_VF says */
};

enum {
	RTNL_WANT_STATS = 1 << 0, /* ask for IFLA_VF_STATS (makes the reply ~2x larger) */
};

/* One RTM_GETLINK for IFNAME with the VF list. -ENODEV when no such link. */
int rtnl_get_pf_link(struct rtnl *nl, const char *ifname, unsigned want, struct pf_link *ret);
/* Parses an RTM_NEWLINK message; exposed so tests can feed crafted messages. */
int rtnl_parse_pf_link(const struct nlmsghdr *nlh, struct pf_link *ret);
void pf_link_done(struct pf_link *l);
const struct vf_settings *pf_link_vf(const struct pf_link *l, uint32_t index);

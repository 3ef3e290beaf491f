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
/* A kernel played by a unit test: gets each datagram the handle sends (one
 * request, or a batch of them) and writes the whole answer (any number of
 * netlink messages: replies, NLMSG_DONE, acks) into ans, up to ans_size
 * bytes; returns its length, or -errno for the send to fail with. */
typedef long (*rtnl_kernel_fn)(void *data, const void *req, size_t len, void *ans, size_t ans_size);
/* A handle whose requests go to kernel() instead of a socket. */
int rtnl_open_with(rtnl_kernel_fn kernel, void *data, struct rtnl **ret);
void rtnl_close(struct rtnl *nl);
/* The kernel's extended-ack message for the last failed request, or NULL. */
const char *rtnl_last_error_message(const struct rtnl *nl);

struct pf_link {
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
	unsigned flags; /* IFF_* */
	uint8_t addr[VF_MAC_MAX];
	unsigned addr_len;
	uint8_t perm_addr[VF_MAC_MAX]; /* the burned-in address (IFLA_PERM_ADDRESS, Linux >= 5.6) */
	unsigned perm_addr_len;        /* 0 when the kernel did not say */
	bool has_num_vf;
	uint32_t num_vf;         /* IFLA_NUM_VF: how many VFs the kernel has */
	struct vf_settings *vfs; /* as received, in the kernel's order */
	size_t n_vfs;
	bool truncated;          /* fewer VFs arrived than IFLA_NUM_VF says */
	uint32_t mtu, max_mtu;   /* IFLA_MTU, IFLA_MAX_MTU; 0 when the kernel did not say */
	char **altnames;         /* IFLA_PROP_LIST's IFLA_ALT_IFNAMEs (at most RTNL_MAX_ALTNAMES); NULL: none */
};
#define RTNL_MAX_ALTNAMES 64

enum {
	RTNL_WANT_STATS = 1 << 0, /* ask for IFLA_VF_STATS (makes the reply ~2x larger) */
};

/* One RTM_GETLINK for IFNAME with the VF list. -ENODEV when no such link. */
int rtnl_get_pf_link(struct rtnl *nl, const char *ifname, unsigned want, struct pf_link *ret);
/* Parses an RTM_NEWLINK message; exposed so tests can feed crafted messages. */
int rtnl_parse_pf_link(const struct nlmsghdr *nlh, struct pf_link *ret);
void pf_link_done(struct pf_link *l);
const struct vf_settings *pf_link_vf(const struct pf_link *l, uint32_t index);

/* Outcome of each field of a change request. */
struct vf_field_result {
	int error;     /* 0, or the kernel's -errno */
	char *message; /* the kernel's extended-ack text, or NULL */
};
struct vf_set_result {
	struct vf_field_result field[_VF_FIELD_MAX];
};
void vf_set_result_done(struct vf_set_result *r);

/* Applies the fields of s (its has bits) to VF s->index of the PF with
 * pf_ifindex: one RTM_SETLINK per setting, as the kernel takes them (VLAN,
 * QoS and protocol travel together, so do min and max rate), all sent in one
 * go and each acknowledged on its own, so one answer per setting costs one
 * round trip in all. Returns 0 when every answer arrived (each field's own
 * outcome is in *res, the fields of one message sharing it), or -errno when
 * the exchange itself failed. */
int rtnl_set_vf(struct rtnl *nl, uint32_t pf_ifindex, const struct vf_settings *s, struct vf_set_result *res);

/* How many RTM_SETLINK messages rtnl_set_vf() sends for these has bits. */
unsigned rtnl_vf_message_count(unsigned has);

/* Puts the given fields (VF_HAS bits) of VF before->index back to their
 * values in before (with the other fields of their messages, so that
 * nothing else moves): *ret_put_back gets the fields restored, res each
 * field's outcome (0; the kernel's -errno; -ENODATA when before lacks the
 * value; the exchange's -errno when it failed). */
void rtnl_vf_put_back(struct rtnl *nl, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
		      unsigned *ret_put_back, struct vf_set_result *res);

/* What rtnl_apply_vf() did. */
struct vf_apply_report {
	uint32_t pf_ifindex;
	struct vf_settings before;     /* the VF as the kernel listed it first */
	struct vf_settings sent;       /* the request (a lone min/max rate completed from before) */
	struct vf_set_result result;   /* each sent field's answer */
	bool failed;                   /* at least one field was refused */
	unsigned messages;             /* RTM_SETLINK messages of the change (put-back excluded) */
	unsigned rolled_back;          /* VF_HAS bits put back to their before value */
	struct vf_set_result rollback; /* per accepted field when failed: 0 put back, or why
					* not: the kernel's -errno, -ENODATA when the kernel
					* never reported the previous value */
};
void vf_apply_report_done(struct vf_apply_report *r);

/* Changes VF want->index of PF pf_ifname all-or-nothing: reads the VF's
 * settings, sends the fields of want in one batch and, when any is refused,
 * puts the accepted ones back to their previous values. Returns 0 when the
 * exchange ran (the outcome is in *rep, see rep->failed), or -errno when it
 * could not (no such PF, VF not listed by the kernel, a request that cannot
 * be valid for this PF: *ret_error then says why, or is NULL). */
int rtnl_apply_vf(struct rtnl *nl, const char *pf_ifname, const struct vf_settings *want,
		  struct vf_apply_report *rep, char **ret_error);

/* Why a PF driver may have answered error to field f, in words an operator
 * can act on (EOPNOTSUPP: the driver lacks it; EINVAL on a rate: igb and
 * others refuse rates while the PF link is down...), or NULL. */
#define RTNL_VF_HINT_MAX 160
const char *rtnl_vf_error_hint(enum vf_field f, int error, const char *driver, char buf[RTNL_VF_HINT_MAX]);

/* --- A netdev's own settings (rtnl-link.c) ------------------------------- */

/* Sets IFNAME's hardware address (IFLA_ADDRESS): 0 or the kernel's -errno
 * (a VF driver may refuse, e.g. igbvf with EADDRNOTAVAIL once its PF has
 * given it another MAC). */
int rtnl_set_link_address(struct rtnl *nl, const char *ifname, const uint8_t *mac, unsigned len);
/* Sets IFNAME administratively up or down. */
int rtnl_set_link_up(struct rtnl *nl, const char *ifname, bool up);
/* Sets IFNAME's MTU (IFLA_MTU): 0 or the kernel's -errno (EINVAL with
 * "mtu greater than device maximum" beyond the driver's max_mtu; the
 * ext-ack text is kept, rtnl_last_error_message()). */
int rtnl_set_link_mtu(struct rtnl *nl, const char *ifname, uint32_t mtu);

/* --- Is a netdev in use by the host? (rtnl-usage.c) --------------------- */

/* What the host itself does with one netdev. Addresses and routes are the
 * host's own configuration; what the kernel adds to every link that comes
 * up is counted apart (IPv6 link-local fe80::/10 addresses) or not at all
 * (see rtnl_route_counts_for). */
struct link_usage {
	uint32_t ifindex;
	unsigned flags;             /* IFF_*, IFF_UP among them */
	unsigned n_ipv4;            /* IPv4 addresses */
	unsigned n_ipv6;            /* IPv6 addresses other than link-local */
	unsigned n_ipv6_link_local; /* fe80::/10: the kernel adds one to any up link */
	unsigned n_routes;          /* IPv4/IPv6 routes leaving through the link */
};

/* Flags, addresses (one RTM_GETADDR dump) and routes (one RTM_GETROUTE dump,
 * every table) of IFNAME. -ENODEV when there is no such link. */
int rtnl_link_usage(struct rtnl *nl, const char *ifname, struct link_usage *ret);

/* Whether an RTM_NEWROUTE message counts as a route through ifindex: an
 * IPv4/IPv6 route whose output interface (RTA_OIF, or one of its multipath
 * next hops) is ifindex, in any table but the local one (the kernel's
 * local/broadcast/anycast/multicast entries derived from the addresses),
 * not cached, and not the fe80::/64 route the kernel itself (proto kernel)
 * adds to every up IPv6 link. Exposed so tests can feed crafted messages. */
bool rtnl_route_counts_for(const struct nlmsghdr *nlh, uint32_t ifindex);

/* Up, with at least one address (link-local ones aside) or route. */
bool link_usage_carries_traffic(const struct link_usage *u);

/* --- Netdevs in other network namespaces (rtnl-netns.c) ---------------- */

/* The bounds of one search: process entries of /proc looked at, and
 * namespaces dumped. */
#define RTNL_NETNS_MAX_PROCS 100000
#define RTNL_NETNS_MAX 4096

/* A link of another network namespace whose parent device is a PCI
 * function (a VF's netdev moved into a container). */
struct netns_netdev {
	char dev[64];             /* the PCI function: "0000:01:10.0" */
	char ifname[IF_NAMESIZE]; /* its name in that namespace */
	uint32_t ifindex;
	unsigned flags;           /* IFF_* */
	char netns[96];           /* "c1" (its name in /run/netns) or "pid 4242 (sleep)" */
};
struct netns_found {
	struct netns_netdev *links;
	size_t n;
	/* NULL, or why links may be missing (a namespace that could not be
	 * entered, a bound reached, a kernel that does not name parents). */
	char *incomplete;
};
/* Looks through every network namespace of the host but the caller's
 * (/run/netns, then /proc/PID/ns/net, each namespace once) for links whose
 * parent is one of devs (PCI addresses, NULL-terminated). Needs
 * CAP_SYS_ADMIN to enter them. -errno only when the search cannot start
 * (/proc unreadable) or on ENOMEM. */
int rtnl_netns_find(char *const *devs, struct netns_found *ret);
void netns_found_done(struct netns_found *f);
/* The links of dev, one after the other: after NULL gives the first. */
const struct netns_netdev *netns_found_next(const struct netns_found *f, const char *dev,
					    const struct netns_netdev *after);

/* Link events (RTM_NEWLINK/RTM_DELLINK multicast), for the daemon to notice
 * drift: the kernel announces every VF setting change on the PF's link. */
struct rtnl_monitor;
struct rtnl_link_event {
	bool removed; /* RTM_DELLINK */
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
};
int rtnl_monitor_open(struct rtnl_monitor **ret);
void rtnl_monitor_close(struct rtnl_monitor *m);
int rtnl_monitor_fd(const struct rtnl_monitor *m);
/* Reads what is pending without blocking and calls cb for each link event.
 * Returns the number of events, or -ENOBUFS when the kernel dropped some
 * (the caller must then assume anything changed), or another -errno. */
int rtnl_monitor_read(struct rtnl_monitor *m, void (*cb)(const struct rtnl_link_event *ev, void *data),
		      void *data);

/* A kernel played at the rtnetlink message level, for unit tests: plug
 * fake_rtnl_kernel into rtnl_open_with(). It answers RTM_GETLINK for a PF
 * with an RTM_NEWLINK laid out as the kernel's rtnl_fill_vfinfo() does, and
 * RTM_SETLINK carrying one IFLA_VF_* attribute with an ack, or with the
 * error a rule says the driver answers. Every accepted setting changes the
 * VF's state here, so a later read sees it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/if_link.h>

#include "vf/vf.h"

#define FAKE_RTNL_MAX_VFS 16

/* The driver answers error to a message carrying attribute attr once it
 * has accepted `after` of them (0: refuses every one). */
struct fake_rtnl_rule {
	int error;
	unsigned after;
	unsigned accepted;
};

struct fake_rtnl_pf {
	char ifname[16];
	uint32_t ifindex;
	unsigned flags;   /* IFF_UP | IFF_LOWER_UP... */
	uint8_t perm[6];
	uint32_t num_vfs;
	struct vf_settings vfs[FAKE_RTNL_MAX_VFS]; /* has: what the driver reports */
	struct fake_rtnl_rule rule[IFLA_VF_MAX + 1];
	bool rates_need_carrier; /* igb: EINVAL for a rate while the link is down */
	char altname[32];        /* one IFLA_ALT_IFNAME in IFLA_PROP_LIST; "" none */
};

struct fake_rtnl {
	struct fake_rtnl_pf pfs[4];
	size_t n_pfs;
	unsigned n_getlink;
	unsigned n_setlink;   /* RTM_SETLINK messages received */
	char log[64][96];     /* "eth0 vf 0 spoofchk 0 -> 0" (attr, then the answer) */
	unsigned n_log;
	int fail_send;        /* answer every send with this (-errno) */
};

long fake_rtnl_kernel(void *data, const void *req, size_t len, void *ans, size_t ans_size);

/* A PF as igb has it: up with carrier, VFs as igb creates them. */
struct fake_rtnl_pf *fake_rtnl_add_igb(struct fake_rtnl *k, const char *ifname, uint32_t ifindex, uint32_t num_vfs);
/* VF i as igb creates it (zero MAC, spoof checking on, not trusted...). */
void fake_rtnl_igb_vf(struct vf_settings *vf, uint32_t i);
struct fake_rtnl_pf *fake_rtnl_pf(struct fake_rtnl *k, const char *ifname);
/* "a|b|c": the log. */
void fake_rtnl_log_string(const struct fake_rtnl *k, char *buf, size_t len);

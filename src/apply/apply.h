/* apply: from the desired state (config/) to the host.
 *
 * Owns: matching the config's PF entries to this host's PFs (one PF may be
 * matched by several entries: they apply in file order, later fields
 * winning; an entry that matches no PF, or only devices without SR-IOV,
 * names a missing PF: plan.missing), the plan (every difference, one line per PF, VF,
 * field: now -> wanted), the stable MAC scheme and one MAC per VF over the
 * whole host (refused before anything is written), a VF's netdev carrying
 * its MAC (vf-mac.h; a difference is drift), and carrying a plan out in
 * order: the PF's own link (up: then mtu:; bnxt_en wants the PF up before
 * its VFs, igb refuses rates while it is down), VF counts
 * (drivers_autoprobe written just before the count, as it only affects VFs
 * created afterwards), then L2 settings, then driver binding, then the VF
 * netdevs' MTUs (a VF's MTU after its PF's, which bounds it). Every sysfs write and every netlink setting sent is counted, so
 * an idempotent run shows 0. On the first failure it stops, says what was
 * done and what not, and puts back the VF settings it changed in that run.
 * A count change from 0 made in that run is put back too (the VFs it
 * created are removed again), and each put-back's own outcome is reported.
 * Counts that would destroy VFs in use are refused by lifecycle/'s rules,
 * overridden only with env->force (sriovctl apply --force; sriovd never).
 *
 * What plan can know before writing it checks before writing: L2 settings
 * on a PF without a netdev, a VF driver that is not loaded, VLAN protocols
 * the PF driver lacks. For VFs that do not exist yet it predicts the PF
 * driver's defaults where they are known (igb), so the plan lists exactly
 * what apply then does; where they are not, the line is marked
 * conditional. */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#include "config/config.h"
#include "lifecycle/lifecycle.h"
#include "vf-mac.h"

enum change_kind {
	CHANGE_NUMVFS,
	CHANGE_AUTOPROBE,
	CHANGE_VF_FIELD,
	CHANGE_VF_DRIVER,
	CHANGE_LINK_UP, /* a PF netdev's admin state (IFF_UP), vf -1 */
	CHANGE_MTU,     /* a PF netdev's MTU (vf -1), or a VF netdev's (vf >= 0) */
};

#define CHANGE_VALUE_MAX 64

struct plan_change {
	enum change_kind kind;
	char pf[PCI_ADDR_STRLEN];
	char pf_netdev[IF_NAMESIZE]; /* "" when the PF has none */
	int32_t vf;                  /* -1: the PF itself */
	enum vf_field field;         /* CHANGE_VF_FIELD */
	char now[CHANGE_VALUE_MAX];  /* "-" when the VF does not exist yet */
	char want[CHANGE_VALUE_MAX];
	char source[256];            /* "FILE:LINE:COL" where the config asks for it; a copy, so
				      * the plan outlives the config */
	bool conditional;            /* a VF not there yet whose driver's default is unknown:
				      * apply changes it only if the default differs */
};

struct plan {
	struct plan_change *changes;
	size_t n;
	char **warnings; /* NULL-terminated */
	/* The config entries whose PF is not on this host (no PF matches, or only
	 * devices without SR-IOV): "FILE:LINE:COL: match: netdev eth9 matches no
	 * SR-IOV PF on this host". Drift that no write can repair; NULL-terminated. */
	char **missing;
};
void plan_done(struct plan *p);

/* The kernel's view of VFs as apply reads and changes it. NULL in
 * apply_env: the live table, netlink/ over this host's rtnetlink (only for
 * the live /sys). Unit tests play the kernel here. */
struct apply_netlink {
	/* A PF link with its VF list (rtnl_get_pf_link). */
	int (*get_link)(void *data, const char *ifname, unsigned want, struct pf_link *ret);
	/* One VF all-or-nothing (rtnl_apply_vf). */
	int (*apply_vf)(void *data, const char *pf_ifname, const struct vf_settings *want,
			struct vf_apply_report *rep, char **ret_error);
	/* Puts fields back (rtnl_vf_put_back). */
	void (*put_back)(void *data, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
			 unsigned *ret_put_back, struct vf_set_result *res);
	/* Waits up to timeout_ms for a link event: 1 when one came, 0 when
	 * none did, or -errno. */
	int (*wait_link_event)(void *data, unsigned timeout_ms);
	/* CLOCK_MONOTONIC, in nanoseconds, for the waits. */
	uint64_t (*now_ns)(void *data);
	/* A netdev's admin state and MTU (rtnl_set_link_up, rtnl_set_link_mtu):
	 * 0 or the kernel's -errno, with its ext-ack text in *ret_message (or
	 * NULL). NULL ops: the table cannot, and apply says so. */
	int (*set_up)(void *data, const char *ifname, bool up, char **ret_message);
	int (*set_mtu)(void *data, const char *ifname, uint32_t mtu, char **ret_message);
};

/* How long apply waits for a PF's link to come back after a VF count
 * change reset it (igb: 0.3-1.4 s) before it sends rates to the new VFs. */
#define APPLY_CARRIER_TIMEOUT_MS 5000

/* What a consumer was given of one VF (a claim of the ledger), laid over
 * what the config wants of it: the fields in s.has (the MAC, the VLAN
 * group) replace the config's, and driver (when not NULL) the config's
 * driver. A VF with an overlay but no driver in it keeps the driver it has
 * (apply never rebinds a VF a consumer holds to something else); the
 * overlay's own driver is bound past lifecycle's consumer hook (it is the
 * holder's). An overlay for a VF index the PF will not have is left out:
 * the VF is gone (sriovd's reconcile marks its claim lost). */
struct apply_overlay {
	char pf[PCI_ADDR_STRLEN];
	uint32_t vf_index;
	struct vf_settings s;
	const char *driver;  /* "vfio-pci", or NULL */
	char source[96];     /* where the plan says it comes from: "claim 3 (consumer UUID)" */
};

struct apply_env {
	struct lifecycle_env lifecycle; /* sysfs root, bind state, netdev usage, consumers */
	unsigned settle_timeout_ms;     /* for VF counts; 0: LIFECYCLE_NUMVFS_TIMEOUT_MS */
	/* PCI addresses (NULL-terminated): plan and apply look at these PFs
	 * alone, as if the config named no other (its warnings about entries
	 * matching nothing are left out too). NULL: every PF. */
	char *const *only_pfs;
	bool force;                     /* count changes override lifecycle's refusals */
	const struct apply_netlink *netlink; /* NULL: the live one */
	void *netlink_data;
	unsigned carrier_timeout_ms;    /* 0: APPLY_CARRIER_TIMEOUT_MS */
	bool allow_missing;             /* apply_run(): go ahead when a PF of the config is missing */
	struct vf_netdev_ops vf_netdev; /* a VF netdev's own MAC; zeroed: rtnetlink */
	/* Per VF, over the config: the claims of consumers (sriovd). */
	const struct apply_overlay *overlay;
	size_t n_overlay;
};

/* For a VF's rates set on their own (`sriovctl vf set`), which a driver
 * such as igb refuses while the PF link has no carrier: when the PF link
 * ifname is up without carrier (a VF count change or a link change has
 * just reset it), waits until the carrier is back, woken by link events,
 * at most env->carrier_timeout_ms (0: APPLY_CARRIER_TIMEOUT_MS); at once
 * when it has its carrier or is down (nothing brings it up then). *ret_up:
 * whether it is up with carrier now. 0 or -errno; without a table (a tree
 * from elsewhere) 0 with *ret_up false. */
int apply_wait_pf_carrier(const struct apply_env *env, const char *ifname, bool *ret_up);

/* What the config wants that this host does not have. -EINVAL with
 * *ret_error ("FILE:LINE:COL: numvfs 8: eth0 offers at most 7 VFs") when
 * the config cannot be met here at all; nothing is written. -EDOM when a
 * VF netdev's mtu is above its PF's (the one the config gives the PF, else
 * the one it has): a config that can never hold, which sriovctl reports as
 * bad input (exit 2). */
int plan_compute(const struct config *cfg, const struct apply_env *env, struct plan *ret, char **ret_error);

struct apply_report {
	unsigned writes;      /* sysfs writes + netlink settings sent, rollback excluded */
	struct plan done;     /* the changes made, in order */
	struct plan not_done; /* what the plan still wanted when it stopped */
	char *error;          /* the failure that stopped it; NULL on success */
	unsigned rolled_back; /* VF settings of this run put back after the failure (not in done) */
	char **rollback;      /* one sentence per thing put back, or that could not be, and why */
	char **warnings;
	char **missing;       /* as plan.missing; unless env->allow_missing, apply_run() stops on
			       * the first before writing anything */
	unsigned scans;       /* whole reads of the host: 1, and 1 more for not_done after a failure */
	unsigned rereads;     /* PFs read again in between (their VFs made anew by a count change,
			       * reset by a link change, given a netdev by a bind) */
};
void apply_report_done(struct apply_report *r);

/* Makes the host match cfg. Returns 0 when it does (rep->writes may be 0),
 * or -errno with rep->error set when it stopped (-EDOM as plan_compute(),
 * before anything is written).
 *
 * It reads the host once, at its start, and carries the plan out on that
 * view: what it writes it records there, and the PFs the kernel changes by
 * itself (the VFs a count change makes, the netdev a bind to a host driver
 * makes) it reads again, alone, before it looks at them. So the caller
 * holds the host lock (lock/: sriovctl apply, sriovd) across the call: no
 * other writer may change the host between the read and the last write. */
int apply_run(const struct config *cfg, const struct apply_env *env, struct apply_report *rep);

/* The stable VF MAC: 02:H1:H2:H3:II:II (locally administered, unicast),
 * H1-H3 the second half of the PF's permanent MAC xor a fixed mix of its
 * first half (the whole permanent MAC counts), II the VF index. The exact
 * arithmetic is above the function in apply.c and in docs/config.md. */
void apply_stable_mac(const uint8_t pf_perm[6], uint32_t vf_index, uint8_t ret[6]);

/* Whether config entry e's match: selects PCI function d (its netdev, address or IDs). */
bool apply_entry_matches(const struct pf_desired *e, const struct pci_function *d);

/* "numvfs", "autoprobe", "vf", "driver", "up", "mtu" */
const char *change_kind_to_string(enum change_kind k);

/* What the config (may be NULL) wants of VF vf_index of PF pf (from a
 * scan), field by field as apply merges it: *ret has the bits of the fields
 * the config gives, and always a MAC: the config's, else the stable one
 * (from the PF's permanent MAC over env's netlink); *ret_driver (may be
 * NULL) the VF driver the config names, NULL when none (it points into
 * cfg). -ENODEV when the PF has no netdev to read its MAC from. What a
 * claim gives a VF and what a release puts back start here. */
int apply_vf_desired(const struct config *cfg, const struct apply_env *env, const struct pci_function *pf,
		     uint32_t vf_index, struct vf_settings *ret, const char **ret_driver);

/* One VF over env's netlink table (the live one for /sys; -EOPNOTSUPP for
 * another tree without a table): its settings as the PF lists them, a
 * change all-or-nothing (rtnl_apply_vf()), and putting fields back. */
int apply_vf_read(const struct apply_env *env, const char *pf_ifname, uint32_t vf_index, struct vf_settings *ret);
int apply_vf_set(const struct apply_env *env, const char *pf_ifname, const struct vf_settings *want,
		 struct vf_apply_report *rep, char **ret_error);
void apply_vf_put_back(const struct apply_env *env, uint32_t pf_ifindex, const struct vf_settings *before,
		       unsigned fields, struct vf_set_result *res);
/* apply_vf_netdev_mac() over env's netlink and env->vf_netdev, with the
 * lifecycle env lifecycle (NULL: env's): the netdev of VF vf (on a host
 * driver) carries mac too, before the caller goes on, so that nobody
 * reads the MAC it had before. */
int apply_vf_set_netdev_mac(const struct apply_env *env, const struct lifecycle_env *lifecycle,
			    const struct pci_function *vf, const uint8_t mac[6], struct vf_netdev_mac_result *ret,
			    char **ret_error);

/* The labels the config's PF entries give pf (later entries' lists win),
 * as alloc_pf_labels_fn with the config as data. */
char *const *apply_pf_labels(const struct pci_function *pf, void *cfg);

#include "claim.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "alloc/alloc.h"
#include "inventory/inventory.h"
#include "util/util.h"
#include "vfio/vfio.h"

/* --- small things ----------------------------------------------------------- */

static int64_t env_now(const struct claim_env *env)
{
	return env->now ? env->now(env->data) : (int64_t)time(NULL);
}

/* The crash-point test hook (docs/ledger.md lists the steps). */
static void crash_point(const struct claim_env *env, const char *step)
{
	if (env->crash) {
		env->crash(env->data, step);
		return;
	}
	const char *at = getenv(CLAIM_CRASH_ENV);
	if (at && strcmp(at, step) == 0)
		raise(SIGKILL);
}

bool claim_consumer_valid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	if (!s)
		return false;
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (int i = 0; i < groups[g]; i++, s++) {
			bool hex = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F');
			if (!hex)
				return false;
		}
		if (g + 1 < ARRAY_SIZE(groups) && *s++ != '-')
			return false;
	}
	return *s == 0;
}

static void mac_format6(const uint8_t mac[6], char buf[LEDGER_MAC_STRLEN])
{
	snprintf(buf, LEDGER_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static const char *pf_netdev(const struct pci_function *vf)
{
	return vf->pf && vf->pf->netdevs ? vf->pf->netdevs[0] : NULL;
}

/* A tree from elsewhere (--sysfs-root) without a netlink table has no
 * kernel to set VF settings through: claims there record the devices only. */
static bool host_has_netlink(const struct claim_env *env)
{
	return env->apply.netlink || sysfs_root_is_live(env->apply.lifecycle.sysfs_root);
}

static int take_lock(const struct claim_env *env, int *ret_fd, char **ret_error)
{
	*ret_fd = -1;
	if (env->lock_held)
		return 0;
	_cleanup_free_ char *dir = NULL;
	int r = lifecycle_state_dir_make(&env->apply.lifecycle, &dir);
	if (r < 0)
		return error_set(ret_error, r, "cannot create the state folder for the host lock: %s", strerror(-r));
	struct lock_opts o = {.timeout_ms = env->lock_timeout_ms ? env->lock_timeout_ms : LOCK_WAIT_DEFAULT_MS};
	return lock_take(dir, LOCK_HOST_NAME, &o, ret_fd, NULL, ret_error);
}

static int scan(const struct claim_env *env, struct pci_tree **ret, char **ret_error)
{
	const char *root = env->apply.lifecycle.sysfs_root;
	struct inventory_opts o = {.sysfs_root = root};
	int r = inventory_load(&o, ret);
	if (r < 0 && ret_error)
		return error_set(ret_error, r, "cannot read PCI devices under %s/bus/pci/devices: %s",
				 root ? root : SYSFS_DEFAULT_ROOT, strerror(-r));
	return r < 0 ? r : 0;
}

/* The lifecycle env of the claim's own host steps: the claim's devices are
 * in the ledger already (pending), so the consumer hook is left out. */
static struct lifecycle_env own_lifecycle(const struct claim_env *env)
{
	struct lifecycle_env l = env->apply.lifecycle;
	l.consumer = NULL;
	l.consumer_data = NULL;
	return l;
}

static int ledger_fail(const struct claim_env *env, int r, char **ret_error)
{
	if (r == -ENOMEM)
		return error_set(ret_error, r, "out of memory");
	return error_set(ret_error, r, "%s", ledger_error(env->ledger));
}

static int holder_text(const struct ledger_hold *h, char **ret)
{
	return asprintf(ret, "consumer %s (claim %lld)", h->consumer, (long long)h->claim) < 0 ? -ENOMEM : 0;
}

int claim_holder(struct ledger *l, const struct pci_function *dev, char **ret_holder)
{
	struct ledger_holds h;
	int r = ledger_holds(l, &h);
	if (r < 0)
		return r;
	const struct ledger_hold *one = ledger_holds_find(&h, dev->addr);
	r = one ? 1 : 0;
	if (one && ret_holder && holder_text(one, ret_holder) < 0)
		r = -ENOMEM;
	ledger_holds_done(&h);
	return r;
}

/* --- the host steps of one device --------------------------------------------- */

struct undo {
	bool vf_set;
	uint32_t pf_ifindex;
	struct vf_settings before;
	unsigned fields;
	bool bound; /* moved to vfio-pci by this claim */
	bool netdev_mac; /* its netdev was given the claim's MAC */
};

/* The VFIO pre-flight: env's hook, else vfio/'s against the host. */
static int vfio_preflight_call(const struct claim_env *env, const struct pci_function *dev, char **ret_error)
{
	if (env->preflight)
		return env->preflight(env->data, env->apply.lifecycle.sysfs_root, dev, ret_error);
	struct vfio_env venv = {.sysfs_root = env->apply.lifecycle.sysfs_root};
	struct vfio_preflight_result res;
	return vfio_preflight(&venv, dev->addr, &res, ret_error);
}

/* The first field a driver refused, with its error, in words. */
static int refusal_text(const struct vf_apply_report *rep, const struct pci_function *vf, char **ret_error)
{
	for (int f = 0; f < _VF_FIELD_MAX; f++)
		if (vf_has(&rep->sent, f) && rep->result.field[f].error) {
			int e = rep->result.field[f].error;
			const char *msg = rep->result.field[f].message;
			return error_set(ret_error, e, "VF %s: the PF driver refused %s: %s%s%s", vf->addr,
					 vf_field_name(f), strerror(-e), msg ? ": " : "", msg ? msg : "");
		}
	return error_set(ret_error, -EIO, "VF %s: the PF driver refused the settings", vf->addr);
}

/* The VF's own netdev (on a host driver) takes mac as its PF has
 * (apply/vf-mac.h); *ret_changed: it had another. */
static int netdev_mac(const struct claim_env *env, const struct pci_function *d, const uint8_t mac[6],
		      bool *ret_changed, char **ret_error)
{
	struct lifecycle_env lenv = own_lifecycle(env);
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *error = NULL;
	int r = apply_vf_set_netdev_mac(&env->apply, &lenv, d, mac, &res, &error);
	if (ret_changed)
		*ret_changed = r == 0 && res.changed;
	if (r < 0 && ret_error)
		return error_set(ret_error, r, "VF %s: mac: %s", d->addr, error ? error : strerror(-r));
	return r < 0 ? r : 0;
}

static int claim_device_host(const struct claim_env *env, const struct claim_request *req, int32_t vlan,
			     const struct pci_function *d, struct ledger_device *ld, struct undo *u, char **ret_error)
{
	int r;
	if (d->pf && !host_has_netlink(env)) {
		if (req->has_mac || req->vlan >= 0)
			return error_set(ret_error, -EOPNOTSUPP,
					 "%s: the tree %s has no kernel behind it to set a VF's MAC or VLAN through",
					 req->has_mac ? "mac" : "vlan", env->apply.lifecycle.sysfs_root);
	} else if (d->pf) {
		const char *pfn = pf_netdev(d);
		if (!pfn && (req->has_mac || vlan >= 0))
			return error_set(ret_error, -EOPNOTSUPP,
					 "%s: %s: its PF %s has no netdev to set a VF's MAC or VLAN through", d->addr,
					 req->has_mac ? "mac" : "vlan", d->pf->addr);
		if (pfn) {
			struct vf_settings want = {.index = d->vf_index, .has = VF_HAS(VF_FIELD_MAC), .mac_len = 6};
			if (req->has_mac) {
				memcpy(want.mac, req->mac, 6);
			} else {
				struct vf_settings des;
				if ((r = apply_vf_desired(env->cfg, &env->apply, d->pf, d->vf_index, &des, NULL)) < 0)
					return error_set(ret_error, r, "%s: cannot tell the stable MAC of its PF %s: %s",
							 d->addr, d->pf->addr, strerror(-r));
				memcpy(want.mac, des.mac, 6);
			}
			if (vlan >= 0) {
				want.has |= VF_HAS_VLAN_GROUP;
				want.vlan = (uint16_t)vlan;
				want.vlan_proto = VF_ETH_P_8021Q;
			}
			struct vf_apply_report rep = {0};
			_cleanup_free_ char *error = NULL;
			r = apply_vf_set(&env->apply, pfn, &want, &rep, &error);
			if (r == 0 && rep.failed)
				r = refusal_text(&rep, d, ret_error);
			else if (r < 0)
				r = error_set(ret_error, r, "VF %s: %s", d->addr, error ? error : strerror(-r));
			else {
				u->vf_set = true;
				u->pf_ifindex = rep.pf_ifindex;
				u->before = rep.before;
				u->fields = rep.sent.has;
				mac_format6(want.mac, ld->mac);
				ld->vlan = vlan;
			}
			vf_apply_report_done(&rep);
			if (r < 0)
				return r;
			/* A VF left on its host driver: its netdev carries the
			 * MAC before the claim is answered. */
			if (!req->vfio && (r = netdev_mac(env, d, want.mac, &u->netdev_mac, ret_error)) < 0)
				return r;
		}
	}
	crash_point(env, "netlink");
	if (!req->vfio)
		return 0;
	snprintf(ld->driver_before, sizeof(ld->driver_before), "%s", d->driver ? d->driver : "");
	struct lifecycle_env lenv = own_lifecycle(env);
	struct bind_request br = {.driver = "vfio-pci"};
	struct bind_result res = {0};
	_cleanup_free_ char *error = NULL;
	r = lifecycle_bind(&lenv, d, &br, &res, &error);
	if (r < 0) {
		bind_result_done(&res);
		return error_set(ret_error, r, "%s", error ? error : strerror(-r));
	}
	u->bound = res.changed;
	ld->vfio = true;
	snprintf(ld->vfio_node, sizeof(ld->vfio_node), "%s", res.vfio_device ? res.vfio_device : "");
	bind_result_done(&res);
	crash_point(env, "vfio");
	if ((r = vfio_preflight_call(env, d, ret_error)) < 0)
		return r;
	crash_point(env, "preflight");
	return 0;
}

/* Puts one device back as it was before the claim touched it. */
static void undo_device(const struct claim_env *env, const char *addr, const struct undo *u)
{
	if (u->bound) {
		struct pci_tree *t = NULL;
		_cleanup_free_ char *error = NULL;
		if (scan(env, &t, &error) == 0) {
			struct pci_function *d = pci_tree_find_addr(t, addr);
			struct lifecycle_env lenv = own_lifecycle(env);
			struct bind_request br = {.driver = LIFECYCLE_DRIVER_KERNEL};
			struct bind_result res = {0};
			_cleanup_free_ char *e2 = NULL;
			if (d)
				(void)lifecycle_bind(&lenv, d, &br, &res, &e2);
			bind_result_done(&res);
		}
		pci_tree_free(t);
	}
	if (u->vf_set) {
		struct vf_set_result res = {0};
		apply_vf_put_back(&env->apply, u->pf_ifindex, &u->before, u->fields, &res);
		vf_set_result_done(&res);
	}
	/* The PF has its MAC back: the netdev follows. */
	if (u->netdev_mac && vf_has(&u->before, VF_FIELD_MAC) && u->before.mac_len == 6) {
		struct pci_tree *t = NULL;
		if (scan(env, &t, NULL) == 0) {
			struct pci_function *d = pci_tree_find_addr(t, addr);
			if (d)
				(void)netdev_mac(env, d, u->before.mac, NULL, NULL);
		}
		pci_tree_free(t);
	}
}

/* --- scrubbing ----------------------------------------------------------------- */

/* Appends "what" to a reason list joined by "; ". */
static int reason_add(char **reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reason_add(char **reasons, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *one = NULL;
	int n = vasprintf(&one, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	char *joined = NULL;
	if (*reasons)
		n = asprintf(&joined, "%s; %s", *reasons, one);
	else
		joined = TAKE_PTR(one);
	free(one);
	if (n < 0 || !joined)
		return -ENOMEM;
	free(*reasons);
	*reasons = joined;
	return 0;
}

/* The fields of want the VF (as read) does not have: "mac 02:.. (wanted 02:..)". */
static int compare_fields(const struct vf_settings *want, const struct vf_settings *got, const char *addr,
			  char **reasons)
{
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!vf_has(want, f) || f == VF_FIELD_STATS)
			continue;
		char w[VF_MAC_STRLEN], g[VF_MAC_STRLEN];
		vf_field_format(want, f, w, sizeof(w));
		if (!vf_has(got, f))
			continue; /* the driver does not report it: nothing to compare */
		vf_field_format(got, f, g, sizeof(g));
		if (strcmp(w, g) != 0) {
			int r = reason_add(reasons, "VF %s reads back %s %s, not %s", addr, vf_field_name(f), g, w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The VF settings a released VF gets: the config's where it gives them,
 * else MAC the stable one, VLAN/QoS 0, spoof checking on, trust off, rates
 * 0, link state auto. Only the fields that differ from now are sent (igb
 * refuses any rate while its link is down, even 0). */
static int scrub_vf_settings(const struct claim_env *env, const struct pci_function *d, const char **ret_driver,
			     uint8_t ret_mac[6], bool *ret_has_mac, char **reasons)
{
	const char *pfn = pf_netdev(d);
	if (!pfn || !host_has_netlink(env))
		return 0;
	struct vf_settings des, want = {.index = d->vf_index, .mac_len = 6, .spoofchk = true,
					 .vlan_proto = VF_ETH_P_8021Q, .link_state = VF_LINK_STATE_AUTO};
	want.has = VF_HAS(VF_FIELD_MAC) | VF_HAS_VLAN_GROUP | VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_TRUST) |
		   VF_HAS(VF_FIELD_LINK_STATE) | VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE);
	int r = apply_vf_desired(env->cfg, &env->apply, d->pf, d->vf_index, &des, ret_driver);
	if (r < 0)
		return reason_add(reasons, "VF %s: cannot tell the MAC it should have: %s", d->addr, strerror(-r));
	vf_settings_merge(&want, &des);
	struct vf_settings now;
	if ((r = apply_vf_read(&env->apply, pfn, d->vf_index, &now)) < 0)
		return reason_add(reasons, "VF %s: cannot read it from %s: %s", d->addr, pfn, strerror(-r));
	struct vf_settings send = want;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!vf_has(&send, f) || !vf_has(&now, f))
			continue;
		char w[VF_MAC_STRLEN], g[VF_MAC_STRLEN];
		vf_field_format(&want, f, w, sizeof(w));
		vf_field_format(&now, f, g, sizeof(g));
		if (strcmp(w, g) == 0)
			send.has &= ~VF_HAS(f);
	}
	/* VLAN, QoS and protocol travel together, so do the two rates. */
	if (send.has & VF_HAS_VLAN_GROUP)
		send.has |= want.has & VF_HAS_VLAN_GROUP;
	if (send.has & (VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE)))
		send.has |= want.has & (VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE));
	if (send.has) {
		struct vf_apply_report rep = {0};
		_cleanup_free_ char *error = NULL;
		r = apply_vf_set(&env->apply, pfn, &send, &rep, &error);
		if (r == 0 && rep.failed) {
			_cleanup_free_ char *why = NULL;
			refusal_text(&rep, d, &why);
			r = reason_add(reasons, "%s", why ? why : "refused");
		} else if (r < 0) {
			r = reason_add(reasons, "VF %s: %s", d->addr, error ? error : strerror(-r));
		}
		vf_apply_report_done(&rep);
		if (r < 0)
			return r;
	}
	if ((r = apply_vf_read(&env->apply, pfn, d->vf_index, &now)) < 0)
		return reason_add(reasons, "VF %s: cannot read it back from %s: %s", d->addr, pfn, strerror(-r));
	/* The netdev step follows only a MAC the PF took: igbvf refuses an
	 * address its PF disagrees with, and would be reloaded for nothing. */
	if (!vf_has(&now, VF_FIELD_MAC) || memcmp(now.mac, want.mac, 6) == 0) {
		memcpy(ret_mac, want.mac, 6);
		*ret_has_mac = true;
	}
	return compare_fields(&want, &now, d->addr, reasons);
}

/* Scrubs one device of a claim; what did not come back clean is appended
 * to *reasons. A device that is gone has nothing to scrub. */
static int scrub_device(const struct claim_env *env, const struct ledger_device *ld, char **reasons)
{
	if (env->no_host)
		return 0;
	/* The caller's model serves a device the claim never rebound; one
	 * bound to vfio-pci for it is read afresh. */
	struct pci_tree *t = NULL;
	int r = env->tree && !ld->vfio ? 0 : scan(env, &t, NULL);
	if (r < 0)
		return reason_add(reasons, "cannot read the devices: %s", strerror(-r));
	struct pci_function *d = pci_tree_find_addr(t ? t : env->tree, ld->address);
	const char *cfg_driver = NULL;
	if (!d || (ld->role == LEDGER_ROLE_VF && !d->pf)) {
		pci_tree_free(t);
		return 0;
	}
	uint8_t mac[6];
	bool has_mac = false;
	if (d->pf && (r = scrub_vf_settings(env, d, &cfg_driver, mac, &has_mac, reasons)) < 0)
		goto out;
	/* The driver: the config's, else the one before the claim ("kernel"
	 * brings back what bind remembered). */
	const char *target = cfg_driver ? cfg_driver : streq_ptr(d->driver, "vfio-pci") ? LIFECYCLE_DRIVER_KERNEL : NULL;
	if (target && !streq_ptr(d->driver, target)) {
		struct lifecycle_env lenv = own_lifecycle(env);
		struct bind_request br = {.driver = target};
		struct bind_result res = {0};
		_cleanup_free_ char *error = NULL;
		r = lifecycle_bind(&lenv, d, &br, &res, &error);
		bind_result_done(&res);
		if (r < 0 && (r = reason_add(reasons, "%s", error ? error : strerror(-r))) < 0)
			goto out;
	}
	if (target) {
		pci_tree_free(t);
		t = NULL;
		if ((r = scan(env, &t, NULL)) < 0) {
			r = reason_add(reasons, "cannot read the devices: %s", strerror(-r));
			goto out;
		}
		d = pci_tree_find_addr(t, ld->address);
		const char *want = strcmp(target, "kernel") != 0 ? target : !str_empty(ld->driver_before) ? ld->driver_before : NULL;
		if (d && want && !streq_ptr(d->driver, want))
			r = reason_add(reasons, "%s is bound to %s, not %s", d->addr, d->driver ? d->driver : "no driver", want);
		else if (d && !want && streq_ptr(d->driver, "vfio-pci"))
			r = reason_add(reasons, "%s is still bound to vfio-pci", d->addr);
	}
	/* On a host driver, its netdev carries the MAC the PF now gives it,
	 * not the consumer's. */
	if (r >= 0 && d && has_mac) {
		_cleanup_free_ char *why = NULL;
		if (netdev_mac(env, d, mac, NULL, &why) < 0)
			r = reason_add(reasons, "%s", why ? why : "its netdev did not take its MAC");
	}
	r = r < 0 ? r : 0;
out:
	pci_tree_free(t);
	return r;
}

/* Scrubs every device of c: 0 with *ret_reason NULL (clean) or the reasons. */
static int scrub_claim(const struct claim_env *env, const struct ledger_claim *c, char **ret_reason)
{
	*ret_reason = NULL;
	for (size_t i = 0; i < c->n_devs; i++) {
		int r = scrub_device(env, &c->devs[i], ret_reason);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- recovery -------------------------------------------------------------------- */

static int recover_locked(const struct claim_env *env, unsigned *ret_n, char **ret_error)
{
	struct ledger_claims pending;
	int r = ledger_claims_list(env->ledger, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_PENDING)},
				   &pending);
	if (r < 0)
		return ledger_fail(env, r, ret_error);
	unsigned n = 0;
	for (size_t i = 0; i < pending.n && r == 0; i++) {
		struct ledger_claim *c = &pending.v[i];
		_cleanup_free_ char *reason = NULL;
		if ((r = scrub_claim(env, c, &reason)) < 0)
			break;
		int64_t now = env_now(env);
		enum ledger_state st = reason ? LEDGER_UNCLEAN : LEDGER_RELEASED;
		_cleanup_free_ char *detail = NULL;
		if (asprintf(&detail, "a claim cut short (pending) was rolled back%s%s", reason ? ": " : "",
			     reason ? reason : "") < 0) {
			r = -ENOMEM;
			break;
		}
		if ((r = ledger_begin(env->ledger)) < 0 ||
		    (r = ledger_claim_set_state(env->ledger, c->id, st, reason, now)) < 0 ||
		    (r = ledger_audit(env->ledger, now, "rollback", c->consumer, c->id, NULL, detail)) < 0 ||
		    (r = ledger_commit(env->ledger)) < 0) {
			ledger_rollback(env->ledger);
			r = ledger_fail(env, r, ret_error);
			break;
		}
		n++;
	}
	ledger_claims_done(&pending);
	if (r < 0 && ret_error && !*ret_error)
		error_set(ret_error, r, "rolling back a pending claim: %s", strerror(-r));
	if (r == 0 && ret_n)
		*ret_n = n;
	return r;
}

int claim_recover(const struct claim_env *env, unsigned *ret_n, char **ret_error)
{
	_cleanup_close_ int lock_fd = -1;
	int r = take_lock(env, &lock_fd, ret_error);
	if (r < 0)
		return r;
	return recover_locked(env, ret_n, ret_error);
}

/* --- choosing the devices ----------------------------------------------------------- */

struct pick {
	const struct claim_env *env;
	const struct claim_request *req;
	const struct pci_tree *t;
	struct ledger_holds holds;
	const struct pci_function **picked;
	size_t n_picked;
	uint32_t claimed, wrong_numa, not_matched, free;
};

/* Who holds d, its PF, or (d a PF) one of its VFs; or a device this claim
 * took already. Returns the hold (NULL when free), *ret_self when this
 * claim has it. */
static const struct ledger_hold *blocked(const struct pick *p, const struct pci_function *d, bool *ret_self)
{
	*ret_self = false;
	for (size_t i = 0; i < p->n_picked; i++) {
		const struct pci_function *o = p->picked[i];
		if (o == d || o == d->pf || o->pf == d)
			*ret_self = true;
	}
	const struct ledger_hold *h = ledger_holds_find(&p->holds, d->addr);
	if (!h && d->pf)
		h = ledger_holds_find(&p->holds, d->pf->addr);
	for (size_t i = 0; !h && d->is_pf && i < p->holds.n; i++)
		if (strcmp(p->holds.v[i].pf, d->addr) == 0)
			h = &p->holds.v[i];
	return h;
}

/* NUMA: 1 fits, 0 does not; preferred gives 2 for a device off the nodes
 * (taken only when the on-node ones run out). */
static int numa_fit(const struct claim_request *req, enum alloc_numa_policy policy, const struct pci_function *d)
{
	if (!req->n_numa_nodes)
		return 1;
	bool on = false;
	for (size_t i = 0; i < req->n_numa_nodes; i++)
		if (d->numa_node >= 0 && d->numa_node == req->numa_nodes[i])
			on = true;
	switch (policy) {
	case ALLOC_NUMA_REQUIRED:
	case ALLOC_NUMA_SOCKET:
		return on;
	case ALLOC_NUMA_PREFERRED:
		return on ? 1 : 2;
	case ALLOC_NUMA_LEGACY:
	default:
		return on || d->numa_node < 0;
	}
}

static int pick_push(struct pick *p, const struct pci_function *d)
{
	const struct pci_function **v = realloc(p->picked, (p->n_picked + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->picked = v;
	v[p->n_picked++] = d;
	return 0;
}

/* Takes count devices of the rows that count, in tree order (with
 * preferred, those on the consumer's nodes first). Only when there are not
 * enough are all the rows counted, for the refusal. */
static int pick_rows(struct pick *p, const struct alloc_result *res, uint32_t count, enum alloc_numa_policy policy)
{
	size_t first = p->n_picked;
	uint32_t taken = 0;
	int r;
	for (int pass = 1; pass <= 2 && taken < count; pass++)
		for (size_t i = 0; i < res->n && taken < count; i++) {
			const struct pci_function *d = res->rows[i].dev;
			bool self;
			if (!res->rows[i].ok || numa_fit(p->req, policy, d) != pass || blocked(p, d, &self) || self)
				continue;
			if ((r = pick_push(p, d)) < 0)
				return r;
			taken++;
		}
	if (taken == count)
		return 0;
	p->n_picked = first;
	p->claimed = p->wrong_numa = p->not_matched = p->free = 0;
	for (size_t i = 0; i < res->n; i++) {
		const struct pci_function *d = res->rows[i].dev;
		bool self;
		if (!res->rows[i].ok)
			p->not_matched++;
		else if (blocked(p, d, &self) || self)
			p->claimed++;
		else if (numa_fit(p->req, policy, d) == 0)
			p->wrong_numa++;
		else
			p->free++;
	}
	return -ENOSPC;
}

static int refusal(struct pick *p, const char *what, uint32_t wanted, struct claim_result *ret, char **ret_error)
{
	ret->wanted = wanted;
	ret->free = p->free;
	ret->claimed = p->claimed;
	ret->wrong_numa = p->wrong_numa;
	ret->not_matched = p->not_matched;
	return error_set(ret_error, -ENOSPC,
			 "%s: %u wanted, %u free; the others do not count: %u claimed, %u on the wrong NUMA node, %u "
			 "not matched",
			 what, wanted, p->free, p->claimed, p->wrong_numa, p->not_matched);
}

/* The pool: what the config's device specs offer, or every device when it
 * has none. */
static int match_pool(const struct claim_env *env, const struct pci_tree *t, struct alloc_result *ret)
{
	if (env->cfg && env->cfg->n_specs > 0)
		return alloc_match_specs(t, env->cfg->specs, env->cfg->n_specs, ret);
	struct alloc_row *rows = calloc(t->n_devs ? t->n_devs : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_devs; i++)
		rows[i] = (struct alloc_row){.dev = t->devs[i], .ok = true};
	*ret = (struct alloc_result){.rows = rows, .n = t->n_devs};
	return 0;
}

/* Chooses the devices; *ret_vlan the VLAN they get (the network's, or
 * --vlan). */
static int choose(struct pick *p, struct claim_result *ret, int32_t *ret_vlan, char **ret_error)
{
	const struct claim_env *env = p->env;
	const struct claim_request *req = p->req;
	*ret_vlan = req->vlan;
	int r;
	if (req->kind == LEDGER_KIND_DEVICE) {
		struct pci_function *d;
		_cleanup_free_ char *error = NULL;
		if ((r = inventory_resolve(p->t, req->what, &d, &error)) < 0)
			return error_set(ret_error, -ENOENT, "device: %s", error ? error : strerror(-r));
		bool self;
		const struct ledger_hold *h = blocked(p, d, &self);
		if (h) {
			ret->wanted = 1;
			ret->claimed = 1;
			const char *how = strcmp(h->address, d->addr) == 0 ? "it is"
					  : d->pf && strcmp(h->address, d->pf->addr) == 0 ? "its PF is"
											   : "a VF of it is";
			return error_set(ret_error, -EBUSY, "device: %s: %s held by consumer %s (claim %lld)", d->addr, how,
					 h->consumer, (long long)h->claim);
		}
		if (numa_fit(req, ALLOC_NUMA_LEGACY, d) == 0) {
			ret->wanted = 1;
			ret->wrong_numa = 1;
			return error_set(ret_error, -ENOSPC, "device: %s is on NUMA node %d, not the consumer's", d->addr,
					 d->numa_node);
		}
		return pick_push(p, d);
	}
	if (req->kind == LEDGER_KIND_NETWORK) {
		const struct alloc_network *net = env->cfg ? alloc_networks_find(&env->cfg->networks, req->what) : NULL;
		if (!net)
			return error_set(ret_error, -ENOENT, "network: '%s' is not a network of the config", req->what);
		if (net->vlan >= 0) {
			if (req->vlan >= 0 && req->vlan != net->vlan)
				return error_set(ret_error, -EINVAL, "vlan: network %s carries VLAN %d, not %d", net->name,
						 net->vlan, req->vlan);
			*ret_vlan = net->vlan;
		}
		struct alloc_result res = {0};
		if ((r = match_pool(env, p->t, &res)) < 0)
			return error_set(ret_error, r, "matching: %s", strerror(-r));
		alloc_result_filter_network(&res, net, apply_pf_labels, (void *)env->cfg);
		uint32_t count = req->count ? req->count : 1;
		r = pick_rows(p, &res, count, ALLOC_NUMA_LEGACY);
		alloc_result_done(&res);
		if (r == -ENOSPC) {
			char what[ALLOC_MAX_NAME_LEN + 16];
			snprintf(what, sizeof(what), "network %s", net->name);
			return refusal(p, what, count, ret, ret_error);
		}
		return r < 0 ? error_set(ret_error, r, "%s", strerror(-r)) : 0;
	}
	/* An alias request: each item from its alias, the devices of one item
	 * never taken again by the next. */
	struct alloc_request ar;
	_cleanup_free_ char *error = NULL;
	static const struct alloc_aliases none;
	if ((r = alloc_request_parse(req->what, env->cfg ? &env->cfg->aliases : &none, &ar, &error)) < 0)
		return error_set(ret_error, r == -ENOMEM ? r : -EINVAL, "request: %s", error ? error : strerror(-r));
	struct alloc_result all = {0};
	if ((r = match_pool(env, p->t, &all)) < 0) {
		alloc_request_done(&ar);
		return error_set(ret_error, r, "matching: %s", strerror(-r));
	}
	for (size_t q = 0; q < ar.n && r == 0; q++) {
		const struct alloc_alias *a = alloc_aliases_find(&env->cfg->aliases, ar.items[q].alias);
		struct alloc_result one = {.rows = malloc((all.n ? all.n : 1) * sizeof(*one.rows)), .n = all.n};
		if (!one.rows) {
			r = error_set(ret_error, -ENOMEM, "out of memory");
			break;
		}
		memcpy(one.rows, all.rows, all.n * sizeof(*one.rows));
		alloc_result_filter_alias(&one, a);
		r = pick_rows(p, &one, ar.items[q].count, a->numa_policy);
		alloc_result_done(&one);
		if (r == -ENOSPC) {
			char what[ALLOC_MAX_NAME_LEN + 32];
			snprintf(what, sizeof(what), "request %s:%u", a->name, ar.items[q].count);
			r = refusal(p, what, ar.items[q].count, ret, ret_error);
		} else if (r < 0) {
			r = error_set(ret_error, r, "%s", strerror(-r));
		}
	}
	alloc_result_done(&all);
	alloc_request_done(&ar);
	return r;
}

/* --- claim ------------------------------------------------------------------------ */

void claim_result_done(struct claim_result *r)
{
	free(r->devs);
	*r = (struct claim_result){0};
}

static int check_request(const struct claim_request *req, char **ret_error)
{
	if (!claim_consumer_valid(req->consumer))
		return error_set(ret_error, -EINVAL, "consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)",
				 req->consumer ? req->consumer : "");
	if ((unsigned)req->kind >= _LEDGER_KIND_MAX || str_empty(req->what))
		return error_set(ret_error, -EINVAL, "give a request, a network or a device");
	if (req->kind != LEDGER_KIND_NETWORK && req->count > 1)
		return error_set(ret_error, -EINVAL, "count: only a claim by network takes a count");
	if (req->count > CLAIM_MAX_COUNT)
		return error_set(ret_error, -EINVAL, "count: %u is more than %u", req->count, CLAIM_MAX_COUNT);
	if (req->vlan > 4094 || req->vlan < -1)
		return error_set(ret_error, -EINVAL, "vlan: %d is not 0-4094", req->vlan);
	if (req->has_mac && ((req->mac[0] & 1) || !memcmp(req->mac, "\0\0\0\0\0\0", 6)))
		return error_set(ret_error, -EINVAL, "mac: not a unicast MAC");
	for (size_t i = 0; i < req->n_numa_nodes; i++)
		if (req->numa_nodes[i] < 0)
			return error_set(ret_error, -EINVAL, "numa-node: %d is not a node", req->numa_nodes[i]);
	return 0;
}

/* The request as the ledger keeps it, for the idempotence comparison. */
static int numa_text(const struct claim_request *req, char **ret)
{
	*ret = NULL;
	char *s = NULL;
	for (size_t i = 0; i < req->n_numa_nodes; i++) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%d", s ? s : "", s ? "," : "", req->numa_nodes[i]) < 0) {
			free(s);
			return -ENOMEM;
		}
		free(s);
		s = n;
	}
	*ret = s;
	return 0;
}

static bool same_request(const struct ledger_claim *c, const struct ledger_claim *want)
{
	return c->kind == want->kind && strcmp(c->request, want->request) == 0 && c->count == want->count &&
	       strcmp(c->mac, want->mac) == 0 && c->vlan == want->vlan && c->vfio == want->vfio &&
	       streq_ptr(c->numa_nodes, want->numa_nodes);
}

static int result_from(const struct ledger_claim *c, bool repeat, struct claim_result *ret)
{
	*ret = (struct claim_result){.id = c->id, .repeat = repeat};
	if (!(ret->devs = calloc(c->n_devs ? c->n_devs : 1, sizeof(*ret->devs))))
		return -ENOMEM;
	ret->n_devs = c->n_devs;
	for (size_t i = 0; i < c->n_devs; i++) {
		const struct ledger_device *d = &c->devs[i];
		struct claim_device *o = &ret->devs[i];
		memcpy(o->address, d->address, sizeof(o->address));
		memcpy(o->pf, d->pf, sizeof(o->pf));
		memcpy(o->mac, d->mac, sizeof(o->mac));
		memcpy(o->vfio_node, d->vfio_node, sizeof(o->vfio_node));
		o->role = d->role;
		o->vf_index = d->vf_index;
		o->vlan = d->vlan;
		o->vfio = d->vfio;
	}
	return 0;
}

/* The canonical text of the request (device: its PCI address). */
static int canonical_request(const struct claim_request *req, const struct pci_tree *t, char **ret)
{
	if (req->kind == LEDGER_KIND_DEVICE) {
		struct pci_function *d;
		_cleanup_free_ char *error = NULL;
		if (inventory_resolve(t, req->what, &d, &error) == 0)
			return (*ret = strdup(d->addr)) ? 0 : -ENOMEM;
	}
	return (*ret = strdup(req->what)) ? 0 : -ENOMEM;
}

static int claim_locked(const struct claim_env *env, const struct claim_request *req, struct claim_result *ret,
			char **ret_error)
{
	struct pci_tree *own = NULL;
	const struct pci_tree *t = env->tree;
	int r = t ? 0 : scan(env, &own, ret_error);
	if (r < 0)
		return r;
	if (!t)
		t = own;
	struct ledger_claim want = {.kind = req->kind, .count = req->count ? req->count : 1, .vlan = req->vlan,
				    .vfio = req->vfio, .state = LEDGER_PENDING, .uid = (uint32_t)req->uid,
				    .pid = (int32_t)req->pid};
	snprintf(want.consumer, sizeof(want.consumer), "%s", req->consumer);
	if (req->has_mac)
		mac_format6(req->mac, want.mac);
	struct pick p = {.env = env, .req = req, .t = t};
	struct ledger_claims mine = {0};
	struct undo *undo = NULL;
	bool in_txn = false, recorded = false;
	if ((r = canonical_request(req, t, &want.request)) < 0 || (r = numa_text(req, &want.numa_nodes)) < 0) {
		r = error_set(ret_error, r, "out of memory");
		goto out;
	}

	if ((r = ledger_begin(env->ledger)) < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	in_txn = true;
	/* The same consumer and request again: the claim it has. */
	r = ledger_claims_list(env->ledger,
			       &(struct ledger_filter){.consumer = req->consumer, .states = LEDGER_STATE_BIT(LEDGER_ACTIVE)},
			       &mine);
	if (r < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	for (size_t i = 0; i < mine.n; i++)
		if (same_request(&mine.v[i], &want)) {
			r = result_from(&mine.v[i], true, ret);
			if (r < 0)
				r = error_set(ret_error, r, "out of memory");
			goto out;
		}
	if ((r = ledger_holds(env->ledger, &p.holds)) < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	int32_t vlan;
	if ((r = choose(&p, ret, &vlan, ret_error)) < 0)
		goto out;
	if (req->has_mac && p.n_picked != 1) {
		r = error_set(ret_error, -EINVAL, "mac: --mac gives one MAC, for a claim of one device (this one takes %zu)",
			      p.n_picked);
		goto out;
	}
	for (size_t i = 0; i < p.n_picked; i++)
		if ((req->has_mac || vlan >= 0) && !p.picked[i]->pf) {
			r = error_set(ret_error, -EINVAL, "%s: %s is a %s, not a VF: it takes no MAC or VLAN",
				      req->has_mac ? "mac" : "vlan", p.picked[i]->addr, alloc_role(p.picked[i]));
			goto out;
		}

	/* Recorded as pending, committed, before the host is touched. */
	int64_t now = env_now(env);
	want.created = want.updated = now;
	want.devs = calloc(p.n_picked ? p.n_picked : 1, sizeof(*want.devs));
	undo = calloc(p.n_picked ? p.n_picked : 1, sizeof(*undo));
	if (!want.devs || !undo) {
		r = error_set(ret_error, -ENOMEM, "out of memory");
		goto out;
	}
	want.n_devs = p.n_picked;
	for (size_t i = 0; i < p.n_picked; i++) {
		const struct pci_function *d = p.picked[i];
		struct ledger_device *ld = &want.devs[i];
		snprintf(ld->address, sizeof(ld->address), "%s", d->addr);
		ld->role = d->pf ? LEDGER_ROLE_VF : d->is_pf ? LEDGER_ROLE_PF : LEDGER_ROLE_PCI;
		snprintf(ld->pf, sizeof(ld->pf), "%s", d->pf ? d->pf->addr : "");
		ld->vf_index = d->pf ? (int32_t)d->vf_index : -1;
		ld->vlan = -1;
	}
	/* Nothing to do on the host (no VF settings to send, no driver to
	 * bind): nothing a crash could leave half-done, so the claim is
	 * recorded active at once, in the one transaction that chose it. */
	bool host_steps = !env->no_host && (req->vfio || host_has_netlink(env));
	if (host_steps && !req->vfio) {
		host_steps = false;
		for (size_t i = 0; i < p.n_picked; i++)
			host_steps |= p.picked[i]->pf && pf_netdev(p.picked[i]);
	}
	if (!host_steps)
		want.state = LEDGER_ACTIVE;
	/* The history reads the same either way: "claim", then "active". */
	if ((r = ledger_claim_add(env->ledger, &want)) < 0 ||
	    (r = ledger_audit(env->ledger, now, "claim", want.consumer, want.id, NULL, want.request)) < 0 ||
	    (!host_steps && (r = ledger_audit(env->ledger, now, "active", want.consumer, want.id, NULL, NULL)) < 0) ||
	    (r = ledger_commit(env->ledger)) < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	in_txn = false;
	if (!host_steps) {
		crash_point(env, "active");
		r = result_from(&want, false, ret);
		if (r < 0)
			r = error_set(ret_error, r, "out of memory");
		goto out;
	}
	recorded = true;
	crash_point(env, "pending");

	for (size_t i = 0; i < p.n_picked; i++)
		if ((r = claim_device_host(env, req, vlan, p.picked[i], &want.devs[i], &undo[i], ret_error)) < 0)
			goto out;

	now = env_now(env);
	if ((r = ledger_begin(env->ledger)) < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	in_txn = true;
	for (size_t i = 0; i < want.n_devs && r == 0; i++)
		r = ledger_device_update(env->ledger, want.id, &want.devs[i]);
	if (r < 0 || (r = ledger_claim_set_state(env->ledger, want.id, LEDGER_ACTIVE, NULL, now)) < 0 ||
	    (r = ledger_audit(env->ledger, now, "active", want.consumer, want.id, NULL, NULL)) < 0 ||
	    (r = ledger_commit(env->ledger)) < 0) {
		r = ledger_fail(env, r, ret_error);
		goto out;
	}
	in_txn = false;
	crash_point(env, "active");
	r = result_from(&want, false, ret);
	recorded = false;
	if (r < 0)
		r = error_set(ret_error, r, "out of memory");
out:
	if (in_txn)
		ledger_rollback(env->ledger);
	if (r < 0 && recorded) {
		/* Everything back, and the claim unrecorded (a line in the
		 * history says it failed). */
		for (size_t i = p.n_picked; i-- > 0;)
			undo_device(env, p.picked[i]->addr, &undo[i]);
		int64_t t2 = env_now(env);
		if (ledger_begin(env->ledger) == 0) {
			bool ok = ledger_claim_delete(env->ledger, want.id) == 0 &&
				  ledger_audit(env->ledger, t2, "failed", want.consumer, want.id, NULL,
					       ret_error && *ret_error ? *ret_error : strerror(-r)) == 0;
			if (!ok || ledger_commit(env->ledger) < 0)
				ledger_rollback(env->ledger);
		}
	}
	free(undo);
	free(p.picked);
	ledger_holds_done(&p.holds);
	ledger_claims_done(&mine);
	ledger_claim_done(&want);
	pci_tree_free(own);
	return r;
}

int claim_run(const struct claim_env *env, const struct claim_request *req, struct claim_result *ret,
	      char **ret_error)
{
	*ret = (struct claim_result){0};
	int r = check_request(req, ret_error);
	if (r < 0)
		return r;
	_cleanup_close_ int lock_fd = -1;
	if ((r = take_lock(env, &lock_fd, ret_error)) < 0)
		return r;
	if ((r = recover_locked(env, NULL, ret_error)) < 0)
		return r;
	return claim_locked(env, req, ret, ret_error);
}

/* --- release -------------------------------------------------------------------------- */

void release_result_done(struct release_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].reason);
		strv_free(r->v[i].devices);
	}
	free(r->v);
	*r = (struct release_result){0};
}

static int release_one(const struct claim_env *env, const struct ledger_claim *c, struct release_result *ret,
		       char **ret_error)
{
	struct release_item *v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
	if (!v)
		return error_set(ret_error, -ENOMEM, "out of memory");
	ret->v = v;
	struct release_item *it = &v[ret->n++];
	*it = (struct release_item){.id = c->id};
	int r = scrub_claim(env, c, &it->reason);
	if (r < 0)
		return error_set(ret_error, r, "claim %lld: %s", (long long)c->id, strerror(-r));
	for (size_t i = 0; i < c->n_devs; i++)
		if ((r = strv_pushf(&it->devices, "%s", c->devs[i].address)) < 0)
			return error_set(ret_error, r, "out of memory");
	crash_point(env, "scrub");
	it->state = it->reason ? LEDGER_UNCLEAN : LEDGER_RELEASED;
	int64_t now = env_now(env);
	if ((r = ledger_begin(env->ledger)) < 0 ||
	    (r = ledger_claim_set_state(env->ledger, c->id, it->state, it->reason, now)) < 0 ||
	    (r = ledger_audit(env->ledger, now, it->reason ? "unclean" : "release", c->consumer, c->id, NULL,
			      it->reason)) < 0 ||
	    (r = ledger_commit(env->ledger)) < 0) {
		ledger_rollback(env->ledger);
		return ledger_fail(env, r, ret_error);
	}
	return 0;
}

int release_run(const struct claim_env *env, const char *consumer, int64_t id, struct release_result *ret,
		char **ret_error)
{
	*ret = (struct release_result){0};
	if (!claim_consumer_valid(consumer))
		return error_set(ret_error, -EINVAL, "consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)",
				 consumer ? consumer : "");
	if (id < 0)
		return error_set(ret_error, -EINVAL, "claim: %lld is not a claim id", (long long)id);
	_cleanup_close_ int lock_fd = -1;
	int r = take_lock(env, &lock_fd, ret_error);
	if (r < 0 || (r = recover_locked(env, NULL, ret_error)) < 0)
		return r;
	if ((r = ledger_consumer_known(env->ledger, consumer)) < 0)
		return ledger_fail(env, r, ret_error);
	if (r == 0)
		return error_set(ret_error, -ENOENT, "consumer: %s is not known to the ledger (it never claimed anything)",
				 consumer);
	if (id > 0) {
		struct ledger_claim c;
		if ((r = ledger_claim_get(env->ledger, id, &c)) < 0)
			return ledger_fail(env, r, ret_error);
		bool theirs = r > 0 && strcmp(c.consumer, consumer) == 0;
		if (r > 0)
			ledger_claim_done(&c);
		if (!theirs)
			return error_set(ret_error, -ENOENT, "claim: %lld is not a claim of consumer %s", (long long)id,
					 consumer);
	}
	struct ledger_claims held;
	r = ledger_claims_list(env->ledger, &(struct ledger_filter){.consumer = consumer, .id = id,
								    .states = LEDGER_HOLDING},
			       &held);
	if (r < 0)
		return ledger_fail(env, r, ret_error);
	for (size_t i = 0; i < held.n && r == 0; i++)
		r = release_one(env, &held.v[i], ret, ret_error);
	ledger_claims_done(&held);
	if (r < 0)
		release_result_done(ret);
	return r;
}

/* --- listing ------------------------------------------------------------------------------ */

int claims_list(const struct claim_env *env, const char *consumer, struct ledger_claims *ret, char **ret_error)
{
	if (consumer && !claim_consumer_valid(consumer))
		return error_set(ret_error, -EINVAL, "consumer: '%s' is not a UUID (8-4-4-4-12 hex digits)", consumer);
	struct ledger_claims pending;
	int r = ledger_claims_list(env->ledger, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_PENDING)},
				   &pending);
	if (r < 0)
		return ledger_fail(env, r, ret_error);
	size_t n_pending = pending.n;
	ledger_claims_done(&pending);
	if (n_pending && (r = claim_recover(env, NULL, ret_error)) < 0)
		return r;
	unsigned states = LEDGER_STATE_BIT(LEDGER_ACTIVE) | LEDGER_STATE_BIT(LEDGER_LOST) |
			  LEDGER_STATE_BIT(LEDGER_UNCLEAN);
	r = ledger_claims_list(env->ledger, &(struct ledger_filter){.consumer = consumer, .states = states}, ret);
	return r < 0 ? ledger_fail(env, r, ret_error) : 0;
}

/* --- the lifecycle hook -------------------------------------------------------------------- */

int claim_consumers_ledger(struct claim_consumers *c, char **ret_error)
{
	if (c->ledger)
		return 1;
	/* Looked for on every call until it exists: a claim may create it
	 * while sriovd runs. */
	_cleanup_free_ char *path = NULL;
	int r = ledger_exists(c->sysfs_root, c->state_dir, &path);
	if (r < 0)
		return error_set(ret_error, r, "ledger %s: %s", path ? path : "", strerror(-r));
	if (r == 0)
		return 0;
	/* Read-only where it can be: an older schema is for a writer to bring
	 * up to date (then this opens it as one). */
	bool host = !str_empty(c->state_dir) || inventory_root_is_live(c->sysfs_root);
	if (c->readonly && host && ledger_open_readonly(c->state_dir, &c->ledger, NULL) == 0)
		return 1;
	if ((r = ledger_open(c->sysfs_root, c->state_dir, &c->ledger, ret_error)) < 0)
		return r;
	return 1;
}

int claim_consumer_fn(void *userdata, const struct pci_function *dev, char **ret_holder)
{
	struct claim_consumers *c = userdata;
	_cleanup_free_ char *error = NULL;
	int r = claim_consumers_ledger(c, &error);
	if (r <= 0)
		return r;
	return claim_holder(c->ledger, dev, ret_holder);
}

void claim_consumers_done(struct claim_consumers *c)
{
	ledger_close(c->ledger);
	c->ledger = NULL;
}

int claim_annotate_tree(struct claim_consumers *c, struct pci_tree *t)
{
	_cleanup_free_ char *error = NULL;
	int r = claim_consumers_ledger(c, &error);
	if (r < 0)
		return strv_pushf(&t->warnings, "cannot read the ledger of claims: %s", error ? error : strerror(-r));
	if (!c->ledger)
		return 0;
	struct ledger_holds h;
	r = ledger_holds(c->ledger, &h);
	if (r < 0)
		return strv_pushf(&t->warnings, "%s", ledger_error(c->ledger));
	for (size_t i = 0; i < h.n && r >= 0; i++) {
		struct pci_function *d = pci_tree_find_addr(t, h.v[i].address);
		if (d && !d->claimed_by && !(d->claimed_by = strdup(h.v[i].consumer)))
			r = -ENOMEM;
	}
	ledger_holds_done(&h);
	return r < 0 ? r : 0;
}

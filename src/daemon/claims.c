#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inventory.h"
#include "util/util.h"

void daemon_claims_init(struct daemon_claims *c, const char *sysfs_root, const char *state_dir)
{
	*c = (struct daemon_claims){.cons = {.sysfs_root = sysfs_root, .state_dir = state_dir}};
}

void daemon_claims_done(struct daemon_claims *c)
{
	claim_consumers_done(&c->cons);
	free(c->overlay);
	ledger_claims_done(&c->lost);
	*c = (struct daemon_claims){0};
}

void daemon_claims_report_done(struct daemon_claims_report *r)
{
	ledger_claims_done(&r->lost);
	*r = (struct daemon_claims_report){0};
}

static int ledger_failed(struct daemon_claims *c, int r, char **ret_error)
{
	if (r == -ENOMEM)
		return error_set(ret_error, r, "out of memory");
	return error_set(ret_error, r, "%s", ledger_error(c->cons.ledger));
}

/* One overlay per VF an active claim holds: the MAC and VLAN it was
 * given, vfio-pci when claimed so. */
static int overlay_from(const struct ledger_claims *active, struct apply_overlay **ret, size_t *ret_n)
{
	size_t n = 0;
	for (size_t i = 0; i < active->n; i++)
		for (size_t k = 0; k < active->v[i].n_devs; k++)
			n += active->v[i].devs[k].role == LEDGER_ROLE_VF;
	struct apply_overlay *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < active->n; i++) {
		const struct ledger_claim *cl = &active->v[i];
		for (size_t k = 0; k < cl->n_devs; k++) {
			const struct ledger_device *d = &cl->devs[k];
			if (d->role != LEDGER_ROLE_VF || d->vf_index < 0)
				continue;
			struct apply_overlay *o = &v[n++];
			snprintf(o->pf, sizeof(o->pf), "%s", d->pf);
			o->vf_index = (uint32_t)d->vf_index;
			o->s.index = o->vf_index;
			if (!str_empty(d->mac) && vf_mac_parse(d->mac, o->s.mac) == 0) {
				o->s.mac_len = 6;
				o->s.has |= VF_HAS(VF_FIELD_MAC);
			}
			if (d->vlan >= 0) {
				o->s.vlan = (uint16_t)d->vlan;
				o->s.qos = 0;
				o->s.vlan_proto = VF_ETH_P_8021Q;
				o->s.has |= VF_HAS_VLAN_GROUP;
			}
			o->driver = d->vfio ? CONFIG_DRIVER_VFIO : NULL;
			snprintf(o->source, sizeof(o->source), "claim %lld (consumer %s)", (long long)cl->id, cl->consumer);
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int daemon_claims_overlay(struct ledger *l, struct apply_overlay **ret, size_t *ret_n, char **ret_error)
{
	struct ledger_claims active;
	int r = ledger_claims_list(l, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_ACTIVE)}, &active);
	if (r < 0)
		return error_set(ret_error, r, "%s", r == -ENOMEM ? "out of memory" : ledger_error(l));
	r = overlay_from(&active, ret, ret_n);
	ledger_claims_done(&active);
	return r < 0 ? error_set(ret_error, r, "out of memory") : 0;
}

int daemon_claims_refresh(struct daemon_claims *c, char **ret_error)
{
	int r = claim_consumers_ledger(&c->cons, ret_error);
	if (r < 0)
		return r;
	struct apply_overlay *v = NULL;
	size_t n = 0;
	if (r > 0 && (r = daemon_claims_overlay(c->cons.ledger, &v, &n, ret_error)) < 0)
		return r;
	free(c->overlay);
	c->overlay = v;
	c->n_overlay = n;
	return 0;
}

int daemon_claims_device_gone(const struct pci_tree *t, const struct ledger_device *d, int64_t want_vfs,
			      char **ret_reason)
{
	*ret_reason = NULL;
	int r = 0;
	if (d->role == LEDGER_ROLE_VF) {
		const struct pci_function *pf = pci_tree_find_addr(t, d->pf);
		const struct pci_function *vf = pf ? pci_function_vf(pf, (uint32_t)d->vf_index) : NULL;
		if (!pf)
			r = asprintf(ret_reason, "%s (VF %d of %s): the PF is gone", d->address, d->vf_index, d->pf);
		else if (!pf->is_pf)
			r = asprintf(ret_reason, "%s (VF %d of %s): the PF is no longer an SR-IOV PF", d->address,
				     d->vf_index, d->pf);
		else if (vf && strcmp(vf->addr, d->address) != 0)
			r = asprintf(ret_reason, "%s (VF %d of %s): VF %d is %s now", d->address, d->vf_index, d->pf,
				     d->vf_index, vf->addr);
		else if (vf || !pf->driver || want_vfs > d->vf_index)
			return 0; /* there, or coming back (a driver reload, the config's count) */
		else
			r = asprintf(ret_reason, "%s (VF %d of %s): the VF no longer exists (the PF has %zu VFs)",
				     d->address, d->vf_index, d->pf, pf->n_vfs);
	} else {
		const struct pci_function *dev = pci_tree_find_addr(t, d->address);
		if (!dev)
			r = asprintf(ret_reason, "%s: the device is gone", d->address);
		else if (d->role == LEDGER_ROLE_PF && !dev->is_pf)
			r = asprintf(ret_reason, "%s: no longer an SR-IOV PF", d->address);
		else if (d->role == LEDGER_ROLE_PCI && dev->pf)
			r = asprintf(ret_reason, "%s: now VF %u of %s, another device", d->address, dev->vf_index,
				     dev->pf->addr);
		else
			return 0;
	}
	if (r < 0) {
		*ret_reason = NULL;
		return -ENOMEM;
	}
	return 1;
}

/* The VF count the config gives PF addr (the last entry naming one wins, as
 * apply merges them); -1 when it gives none. */
static int64_t config_numvfs(const struct config *cfg, const struct pci_tree *t, const char *addr)
{
	const struct pci_function *pf = pci_tree_find_addr(t, addr);
	int64_t n = -1;
	for (size_t i = 0; cfg && pf && i < cfg->n_pfs; i++)
		if (cfg->pfs[i].has_numvfs && apply_entry_matches(&cfg->pfs[i], pf))
			n = cfg->pfs[i].numvfs;
	return n;
}

/* The reasons claim cl lost a device, "; "-joined; NULL when none did. */
static int claim_gone(const struct pci_tree *t, const struct config *cfg, enum daemon_claims_when when,
		      const struct ledger_claim *cl, char **ret_reason)
{
	*ret_reason = NULL;
	for (size_t k = 0; k < cl->n_devs; k++) {
		const struct ledger_device *d = &cl->devs[k];
		int64_t want = when == DAEMON_CLAIMS_REAPPLY && d->role == LEDGER_ROLE_VF ? config_numvfs(cfg, t, d->pf) : -1;
		_cleanup_free_ char *why = NULL;
		int r = daemon_claims_device_gone(t, d, want, &why);
		if (r <= 0) {
			if (r < 0)
				return r;
			continue;
		}
		char *joined = NULL;
		if (asprintf(&joined, "%s%s%s", *ret_reason ? *ret_reason : "", *ret_reason ? "; " : "", why) < 0)
			return -ENOMEM;
		free(*ret_reason);
		*ret_reason = joined;
	}
	return 0;
}

int daemon_claims_reconcile(struct daemon_claims *c, const struct apply_env *env, const struct config *cfg,
			    enum daemon_claims_when when, int64_t now, struct daemon_claims_report *rep,
			    char **ret_error)
{
	*rep = (struct daemon_claims_report){0};
	int r = claim_consumers_ledger(&c->cons, ret_error);
	if (r <= 0)
		return r;
	struct ledger *l = c->cons.ledger;
	/* A pending claim is one cut short: the host lock is held, so no
	 * claim is under way. */
	struct claim_env cenv = {.apply = *env, .cfg = cfg, .ledger = l, .lock_held = true};
	cenv.apply.overlay = NULL;
	cenv.apply.n_overlay = 0;
	if ((r = claim_recover(&cenv, &rep->recovered, ret_error)) < 0)
		return r;

	struct pci_tree *t = NULL;
	struct ledger_claims active = {0};
	r = ledger_claims_list(l, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_ACTIVE)}, &active);
	if (r < 0) {
		r = ledger_failed(c, r, ret_error);
		goto out;
	}
	/* The host is read only when a claim is there to be judged. */
	struct inventory_opts o = {.sysfs_root = env->lifecycle.sysfs_root};
	if (active.n && (r = inventory_load(&o, &t)) < 0) {
		r = error_set(ret_error, r, "cannot read PCI devices under %s/bus/pci/devices: %s",
			      o.sysfs_root ? o.sysfs_root : SYSFS_DEFAULT_ROOT, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < active.n && r == 0; i++) {
		struct ledger_claim *cl = &active.v[i];
		_cleanup_free_ char *reason = NULL;
		if ((r = claim_gone(t, cfg, when, cl, &reason)) < 0) {
			r = error_set(ret_error, r, "out of memory");
			break;
		}
		if (!reason)
			continue;
		if ((r = ledger_begin(l)) < 0 || (r = ledger_claim_mark_lost(l, cl->id, reason, now)) < 0 ||
		    (r = ledger_commit(l)) < 0) {
			ledger_rollback(l);
			r = ledger_failed(c, r, ret_error);
			break;
		}
		/* The report keeps the claim, with its reason. */
		struct ledger_claim *nv = realloc(rep->lost.v, (rep->lost.n + 1) * sizeof(*nv));
		if (!nv) {
			r = error_set(ret_error, -ENOMEM, "out of memory");
			break;
		}
		rep->lost.v = nv;
		free(cl->reason);
		cl->reason = TAKE_PTR(reason);
		cl->state = LEDGER_LOST;
		nv[rep->lost.n++] = *cl;
		*cl = (struct ledger_claim){0};
	}
out:
	ledger_claims_done(&active);
	pci_tree_free(t);
	if (r < 0)
		return r;
	struct ledger_claims lost;
	if ((r = ledger_claims_list(l, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_LOST)}, &lost)) < 0)
		return ledger_failed(c, r, ret_error);
	ledger_claims_done(&c->lost);
	c->lost = lost;
	return daemon_claims_refresh(c, ret_error);
}

void daemon_claims_status(const struct daemon_claims *c, struct daemon_status *s)
{
	status_clear_lost(s);
	for (size_t i = 0; i < c->lost.n; i++) {
		const struct ledger_claim *cl = &c->lost.v[i];
		_cleanup_(strv_freep) char **devices = NULL;
		for (size_t k = 0; k < cl->n_devs; k++)
			(void)strv_pushf(&devices, "%s", cl->devs[k].address);
		struct status_claim sc = {.id = cl->id, .consumer = (char *)cl->consumer, .reason = cl->reason,
					  .devices = devices, .since = (time_t)cl->updated};
		(void)status_add_lost(s, &sc);
	}
}

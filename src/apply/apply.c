#include "apply.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "inventory/inventory.h"
#include "netlink/rtnl.h"
#include "util/util.h"

/* What one host PF should be, merged from every config entry matching it. */
struct vf_want {
	bool any;
	struct vf_settings s; /* s.has: the fields wanted */
	const char *driver;   /* NULL: leave as it is */
	struct config_pos pos;
	struct config_pos mac_pos; /* where the MAC comes from: the VF's mac:, or the PF's mac: stable */
	bool stable_mac;           /* the MAC is the stable scheme's */
};

struct pf_want {
	struct pci_function *pf;
	bool has_numvfs;
	uint32_t numvfs;
	struct config_pos numvfs_pos, pos;
	int autoprobe; /* -1: leave */
	bool stable_mac;
	struct config_pos stable_mac_pos;
	struct vf_want *vfs; /* indexed by VF number */
	size_t n_vfs;
};

/* The host as scanned, and what the config wants of each of its PFs. */
struct view {
	struct pci_tree *t;
	struct pf_want *pfs;
	size_t n_pfs;
	char **warnings;
};

static void view_done(struct view *v)
{
	for (size_t i = 0; i < v->n_pfs; i++)
		free(v->pfs[i].vfs);
	free(v->pfs);
	pci_tree_free(v->t);
	strv_free(v->warnings);
	*v = (struct view){0};
}

/* The stable scheme, byte by byte (docs/config.md, "Stable MACs"):
 *   O = P0 P1 P2, the first half of the PF's permanent MAC (its OUI), and
 *   N = P3 P4 P5, the second half, each read as a 24-bit big-endian number;
 *   M = mix(O), a fixed bijection of 24-bit numbers:
 *         x = O * 0x9E3779 mod 2^24;  x ^= x >> 12;
 *         x = x * 0x2C1B3D mod 2^24;  x ^= x >> 12;
 *   H = N xor M;
 *   MAC = 02 : H[23..16] : H[15..8] : H[7..0] : I[15..8] : I[7..0]
 * with I the VF index (0-65535: sriov_totalvfs is a 16-bit count).
 * 02 makes it locally administered and unicast. Only arithmetic on the
 * permanent MAC and the index: the same on every boot. Never the same MAC
 * for two VFs of one PF, nor for two PFs whose permanent MACs share the OUI
 * (N differs) or share the second half (M differs, mix being a bijection);
 * any other two PFs collide with odds of 1 in 2^24 per pair, which the
 * plan's MAC uniqueness check then refuses. */
static uint32_t stable_mac_mix(uint32_t x)
{
	x = (x * 0x9E3779u) & 0xFFFFFFu;
	x ^= x >> 12;
	x = (x * 0x2C1B3Du) & 0xFFFFFFu;
	x ^= x >> 12;
	return x;
}

void apply_stable_mac(const uint8_t pf_perm[6], uint32_t vf_index, uint8_t ret[6])
{
	uint32_t oui = (uint32_t)pf_perm[0] << 16 | (uint32_t)pf_perm[1] << 8 | pf_perm[2];
	uint32_t nic = (uint32_t)pf_perm[3] << 16 | (uint32_t)pf_perm[4] << 8 | pf_perm[5];
	uint32_t h = nic ^ stable_mac_mix(oui);
	ret[0] = 0x02; /* locally administered, unicast */
	ret[1] = (uint8_t)(h >> 16);
	ret[2] = (uint8_t)(h >> 8);
	ret[3] = (uint8_t)h;
	ret[4] = (uint8_t)(vf_index >> 8);
	ret[5] = (uint8_t)vf_index;
}

const char *change_kind_to_string(enum change_kind k)
{
	static const char *const names[] = {"numvfs", "autoprobe", "vf", "driver"};
	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : NULL;
}

static bool entry_matches(const struct pf_desired *e, const struct pci_function *d)
{
	switch (e->match) {
	case PF_MATCH_NETDEV:
		return strv_contains(d->netdevs, e->netdev);
	case PF_MATCH_PCI:
		return strcmp(d->addr, e->pci) == 0;
	case PF_MATCH_DEVICE:
		return d->ids_valid && d->vendor_id == e->vendor && d->device_id == e->device;
	default:
		return false;
	}
}

static void pos_format(const struct config_pos *p, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "%s:%u:%u", p->file, p->line, p->column);
	else
		snprintf(buf, len, "(config)");
}

/* Merges entry e into w, the later entry winning field by field. */
static int merge_entry(struct pf_want *w, const struct pf_desired *e)
{
	if (!w->pos.file)
		w->pos = e->pos;
	if (e->has_numvfs) {
		w->has_numvfs = true;
		w->numvfs = e->numvfs;
		w->numvfs_pos = e->numvfs_pos;
	}
	if (e->autoprobe >= 0)
		w->autoprobe = e->autoprobe;
	if (e->has_mac_scheme) {
		w->stable_mac = e->mac_scheme == MAC_SCHEME_STABLE;
		w->stable_mac_pos = e->mac_scheme_pos;
	}
	for (size_t i = 0; i < e->n_vfs; i++) {
		const struct vf_desired *vd = &e->vfs[i];
		if (vd->index >= w->n_vfs) {
			size_t n = vd->index + 1;
			struct vf_want *v = realloc(w->vfs, n * sizeof(*v));
			if (!v)
				return -ENOMEM;
			memset(v + w->n_vfs, 0, (n - w->n_vfs) * sizeof(*v));
			w->vfs = v;
			w->n_vfs = n;
		}
		struct vf_want *v = &w->vfs[vd->index];
		v->any = true;
		v->pos = vd->pos;
		vf_settings_merge(&v->s, &vd->settings);
		v->s.index = vd->index;
		if (vf_has(&vd->settings, VF_FIELD_MAC))
			v->mac_pos = vd->mac_pos;
		/* A VLAN alone means QoS 0 and 802.1Q: all three are wanted. */
		if (vf_has(&vd->settings, VF_FIELD_VLAN))
			v->s.has |= VF_HAS_VLAN_GROUP;
		if (vd->driver)
			v->driver = vd->driver;
	}
	return 0;
}

/* The PF's permanent MAC, for the stable scheme. */
static int pf_perm_mac(struct rtnl *nl, const struct pci_function *pf, uint8_t ret[6])
{
	if (!nl || !pf->netdevs)
		return -ENODEV;
	struct pf_link link;
	int r = rtnl_get_pf_link(nl, pf->netdevs[0], 0, &link);
	if (r < 0)
		return r;
	const uint8_t *src = link.perm_addr_len == 6 ? link.perm_addr : link.addr_len == 6 ? link.addr : NULL;
	if (src)
		memcpy(ret, src, 6);
	pf_link_done(&link);
	return src ? 0 : -ENODATA;
}

/* ---- MAC uniqueness over the whole host ---------------------------------- */

/* One MAC a VF will carry once the plan is carried out. */
struct mac_claim {
	uint8_t mac[6];
	const struct pci_function *pf;
	uint32_t vf;
	const struct vf_want *want; /* NULL: a VF the config does not give a MAC (its MAC now) */
	size_t file_rank;           /* where the config asks for it, for "the later one" */
	unsigned line, column;
};

static size_t file_rank(const struct config *cfg, const char *file)
{
	for (size_t i = 0; cfg->files && cfg->files[i]; i++)
		if (cfg->files[i] == file)
			return i;
	return SIZE_MAX;
}

static int cmp_claim(const void *pa, const void *pb)
{
	const struct mac_claim *a = pa, *b = pb;
	int c = memcmp(a->mac, b->mac, 6);
	if (c)
		return c;
	/* Wanted ones first, in config order; then the VFs as they are. */
	if (!a->want != !b->want)
		return a->want ? -1 : 1;
	if (a->file_rank != b->file_rank)
		return a->file_rank < b->file_rank ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->column != b->column)
		return a->column < b->column ? -1 : 1;
	c = strcmp(a->pf->addr, b->pf->addr);
	return c ? c : (a->vf > b->vf) - (a->vf < b->vf);
}

static int push_claim(struct mac_claim **v, size_t *n, const struct mac_claim *c)
{
	static const uint8_t zero[6];
	if (memcmp(c->mac, zero, 6) == 0)
		return 0; /* no MAC at all (igb shows VFs never given one so) */
	struct mac_claim *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = *c;
	return 0;
}

/* "VF 1 of eth0 (0000:01:00.0)" */
static void claim_label(const struct mac_claim *c, char *buf, size_t len)
{
	if (c->pf->netdevs)
		snprintf(buf, len, "VF %u of %s (%s)", c->vf, c->pf->netdevs[0], c->pf->addr);
	else
		snprintf(buf, len, "VF %u of %s", c->vf, c->pf->addr);
}

/* Every VF of the host ends with its own MAC: the MACs the config wants
 * (explicit or stable, over every entry and file) must differ from each
 * other and from the MACs of the VFs the config leaves alone (the one the
 * PF gave them and the one their netdev carries). VFs about to be recreated
 * by a count change have no MAC yet. -EINVAL naming both places. */
static int view_check_macs(const struct config *cfg, const struct view *v, char **ret_error)
{
	_cleanup_free_ struct mac_claim *claims = NULL;
	size_t n = 0;
	int r;
	for (size_t i = 0; i < v->t->n_devs; i++) {
		const struct pci_function *pf = v->t->devs[i];
		if (!pf->is_pf)
			continue;
		const struct pf_want *w = NULL;
		for (size_t k = 0; k < v->n_pfs && !w; k++)
			if (v->pfs[k].pf == pf)
				w = &v->pfs[k];
		bool recount = w && w->has_numvfs && w->numvfs != pf->sriov.numvfs;
		for (size_t k = 0; w && k < w->n_vfs; k++) {
			const struct vf_want *vw = &w->vfs[k];
			if (!vw->any || !vf_has(&vw->s, VF_FIELD_MAC) || vw->s.mac_len != 6)
				continue;
			struct mac_claim c = {.pf = pf, .vf = (uint32_t)k, .want = vw,
					      .file_rank = file_rank(cfg, vw->mac_pos.file),
					      .line = vw->mac_pos.line, .column = vw->mac_pos.column};
			memcpy(c.mac, vw->s.mac, 6);
			if ((r = push_claim(&claims, &n, &c)) < 0)
				return r;
		}
		if (recount)
			continue;
		for (size_t k = 0; k < pf->n_vfs; k++) {
			const struct pci_function *vf = pf->vfs[k];
			const struct vf_want *vw = w && vf->vf_index < w->n_vfs ? &w->vfs[vf->vf_index] : NULL;
			if (vw && vw->any && vf_has(&vw->s, VF_FIELD_MAC))
				continue;
			struct mac_claim c = {.pf = pf, .vf = vf->vf_index};
			if (vf->link && vf_has(vf->link, VF_FIELD_MAC) && vf->link->mac_len == 6) {
				memcpy(c.mac, vf->link->mac, 6);
				if ((r = push_claim(&claims, &n, &c)) < 0)
					return r;
			}
			if (vf->netdev_mac_len == 6 &&
			    !(vf->link && vf_has(vf->link, VF_FIELD_MAC) && memcmp(vf->link->mac, vf->netdev_mac, 6) == 0)) {
				memcpy(c.mac, vf->netdev_mac, 6);
				if ((r = push_claim(&claims, &n, &c)) < 0)
					return r;
			}
		}
	}
	if (n > 1)
		qsort(claims, n, sizeof(*claims), cmp_claim);
	for (size_t i = 1; i < n; i++) {
		const struct mac_claim *a = &claims[i - 1], *b = &claims[i];
		if (memcmp(a->mac, b->mac, 6) != 0 || !a->want)
			continue;
		if (b->pf == a->pf && b->vf == a->vf)
			continue;
		/* Name the later of two wanted ones first; else the wanted one. */
		const struct mac_claim *first = b->want ? b : a, *other = b->want ? a : b;
		char mac[VF_MAC_STRLEN], where[300], label[64], olabel[64];
		vf_mac_format(first->mac, 6, mac);
		pos_format(&first->want->mac_pos, where, sizeof(where));
		claim_label(first, label, sizeof(label));
		claim_label(other, olabel, sizeof(olabel));
		char what[256];
		if (first->want->stable_mac)
			snprintf(what, sizeof(what), "stable gives %s %s", label, mac);
		else
			snprintf(what, sizeof(what), "%s for %s", mac, label);
		if (!other->want)
			return error_set(ret_error, -EINVAL,
				    "%s: mac: %s, which %s already has (the config does not set its MAC); two VFs cannot share a MAC",
				    where, what, olabel);
		char owhere[300];
		pos_format(&other->want->mac_pos, owhere, sizeof(owhere));
		return error_set(ret_error, -EINVAL, "%s: mac: %s, which %s%s gets too (%s); two VFs cannot share a MAC",
			    where, what, olabel, other->want->stable_mac ? " (mac: stable)" : "", owhere);
	}
	return 0;
}

static int view_build(const struct config *cfg, const struct apply_env *env, struct rtnl *nl, struct view *v,
		      char **ret_error)
{
	const char *root = env->lifecycle.sysfs_root;
	struct inventory_opts o = {.sysfs_root = root, .netlink = nl != NULL};
	*v = (struct view){0};
	int r = inventory_load(&o, &v->t);
	if (r < 0)
		return error_set(ret_error, r, "cannot read PCI devices under %s/bus/pci/devices: %s",
			    root ? root : SYSFS_DEFAULT_ROOT, strerror(-r));
	for (size_t i = 0; v->t->warnings && v->t->warnings[i]; i++)
		(void)strv_pushf(&v->warnings, "%s", v->t->warnings[i]);

	/* Entries that match nothing, or something that cannot do SR-IOV. */
	for (size_t e = 0; !env->only_pf && e < cfg->n_pfs; e++) {
		const struct pf_desired *pd = &cfg->pfs[e];
		char where[300], what[PF_MATCH_STRLEN];
		pos_format(&pd->pos, where, sizeof(where));
		pf_desired_match_format(pd, what);
		size_t matched = 0, not_sriov = 0;
		for (size_t i = 0; i < v->t->n_devs; i++) {
			const struct pci_function *d = v->t->devs[i];
			if (!entry_matches(pd, d))
				continue;
			if (!d->is_pf) {
				(void)strv_pushf(&v->warnings, "%s: %s is %s, which cannot do SR-IOV (no sriov_totalvfs): ignored",
				     where, what, d->addr);
				not_sriov++;
				continue;
			}
			matched++;
		}
		if (matched == 0 && not_sriov == 0)
			(void)strv_pushf(&v->warnings, "%s: %s matches no SR-IOV PF on this host: ignored", where, what);
	}

	for (size_t i = 0; i < v->t->n_devs; i++) {
		struct pci_function *d = v->t->devs[i];
		if (!d->is_pf || (env->only_pf && strcmp(d->addr, env->only_pf) != 0))
			continue;
		struct pf_want w = {.pf = d, .autoprobe = -1};
		bool any = false;
		for (size_t e = 0; e < cfg->n_pfs; e++)
			if (entry_matches(&cfg->pfs[e], d)) {
				if ((r = merge_entry(&w, &cfg->pfs[e])) < 0) {
					free(w.vfs);
					return r;
				}
				any = true;
			}
		if (!any)
			continue;
		char where[300];
		pos_format(&w.numvfs_pos, where, sizeof(where));
		if (w.has_numvfs && d->sriov.valid && w.numvfs > d->sriov.totalvfs) {
			free(w.vfs);
			return error_set(ret_error, -EINVAL, "%s: numvfs %u: %s offers at most %u VFs (sriov_totalvfs)", where,
				    w.numvfs, d->netdevs ? d->netdevs[0] : d->addr, d->sriov.totalvfs);
		}
		uint32_t count = w.has_numvfs ? w.numvfs : d->sriov.numvfs;
		for (size_t k = 0; k < w.n_vfs; k++) {
			if (!w.vfs[k].any)
				continue;
			if (k >= count) {
				char vpos[300];
				pos_format(&w.vfs[k].pos, vpos, sizeof(vpos));
				(void)strv_pushf(&v->warnings, "%s: VF %zu of %s is configured but the PF will have %u VFs: ignored", vpos,
				     k, d->addr, count);
				w.vfs[k].any = false;
			}
		}
		if (w.stable_mac) {
			uint8_t perm[6];
			if (pf_perm_mac(nl, d, perm) == 0) {
				if (count > w.n_vfs) {
					struct vf_want *nv = realloc(w.vfs, count * sizeof(*nv));
					if (!nv) {
						free(w.vfs);
						return -ENOMEM;
					}
					memset(nv + w.n_vfs, 0, (count - w.n_vfs) * sizeof(*nv));
					w.vfs = nv;
					w.n_vfs = count;
				}
				for (uint32_t k = 0; k < count; k++) {
					struct vf_want *vw = &w.vfs[k];
					if (vf_has(&vw->s, VF_FIELD_MAC))
						continue; /* an explicit MAC wins */
					apply_stable_mac(perm, k, vw->s.mac);
					vw->s.mac_len = 6;
					vw->s.has |= VF_HAS(VF_FIELD_MAC);
					vw->s.index = k;
					vw->mac_pos = w.stable_mac_pos;
					vw->stable_mac = true;
					if (!vw->any)
						vw->pos = w.pos;
					vw->any = true;
				}
			} else {
				char ppos[300];
				pos_format(&w.pos, ppos, sizeof(ppos));
				(void)strv_pushf(&v->warnings, "%s: mac: stable needs the PF's permanent MAC, which %s does not have "
						   "(no netdev, or not this host's kernel): VF MACs left alone", ppos, d->addr);
			}
		}
		struct pf_want *nw = realloc(v->pfs, (v->n_pfs + 1) * sizeof(*nw));
		if (!nw) {
			free(w.vfs);
			return -ENOMEM;
		}
		v->pfs = nw;
		v->pfs[v->n_pfs++] = w;
	}
	return view_check_macs(cfg, v, ret_error);
}

static int add_change(struct plan *p, const struct plan_change *c)
{
	struct plan_change *n = realloc(p->changes, (p->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->changes = n;
	p->changes[p->n++] = *c;
	return 0;
}

static struct plan_change change_for(const struct pf_want *w, enum change_kind kind, int32_t vf,
				     const struct config_pos *pos)
{
	struct plan_change c = {.kind = kind, .vf = vf};
	pos_format(pos, c.source, sizeof(c.source));
	snprintf(c.pf, sizeof(c.pf), "%s", w->pf->addr);
	if (w->pf->netdevs)
		snprintf(c.pf_netdev, sizeof(c.pf_netdev), "%s", w->pf->netdevs[0]);
	return c;
}

/* A VF bound "kernel" is right when nothing overrides the kernel's choice and
 * that choice is not the passthrough driver. */
static bool driver_matches(const struct pci_function *vf, const char *want)
{
	if (strcmp(want, CONFIG_DRIVER_KERNEL) == 0)
		return vf->driver && !vf->driver_override && strcmp(vf->driver, CONFIG_DRIVER_VFIO) != 0;
	return streq_ptr(vf->driver, want);
}

enum {
	PHASE_COUNTS = 1 << 0,
	PHASE_L2 = 1 << 1,
	PHASE_DRIVERS = 1 << 2,
	PHASE_ALL = 7,
};

static int view_plan(const struct view *v, unsigned phases, struct plan *p)
{
	int r;
	for (size_t i = 0; i < v->n_pfs; i++) {
		const struct pf_want *w = &v->pfs[i];
		const struct pci_function *pf = w->pf;
		bool recount = w->has_numvfs && w->numvfs != pf->sriov.numvfs;
		if ((phases & PHASE_COUNTS) && w->autoprobe >= 0 && w->autoprobe != pf->sriov.autoprobe) {
			struct plan_change c = change_for(w, CHANGE_AUTOPROBE, -1, &w->pos);
			snprintf(c.now, sizeof(c.now), "%s", pf->sriov.autoprobe < 0 ? "?" : pf->sriov.autoprobe ? "on" : "off");
			snprintf(c.want, sizeof(c.want), "%s", w->autoprobe ? "on" : "off");
			if ((r = add_change(p, &c)) < 0)
				return r;
		}
		if ((phases & PHASE_COUNTS) && recount) {
			struct plan_change c = change_for(w, CHANGE_NUMVFS, -1, &w->numvfs_pos);
			snprintf(c.now, sizeof(c.now), "%u", pf->sriov.numvfs);
			snprintf(c.want, sizeof(c.want), "%u", w->numvfs);
			if ((r = add_change(p, &c)) < 0)
				return r;
		}
		for (size_t k = 0; k < w->n_vfs; k++) {
			const struct vf_want *vw = &w->vfs[k];
			if (!vw->any)
				continue;
			/* VFs about to be recreated lose everything: all is "-" now. */
			const struct pci_function *vf = recount ? NULL : pci_function_vf(pf, (uint32_t)k);
			const struct vf_settings *cur = vf ? vf->link : NULL;
			if (phases & PHASE_L2)
				for (int f = 0; f < _VF_FIELD_MAX; f++) {
					if (!vf_has(&vw->s, f) || f == VF_FIELD_STATS)
						continue;
					struct plan_change c = change_for(w, CHANGE_VF_FIELD, (int32_t)k, &vw->pos);
					c.field = (enum vf_field)f;
					vf_field_format(&vw->s, f, c.want, sizeof(c.want));
					if (!vf)
						snprintf(c.now, sizeof(c.now), "-");
					else if (!cur || !vf_has(cur, f))
						snprintf(c.now, sizeof(c.now), "?");
					else
						vf_field_format(cur, f, c.now, sizeof(c.now));
					if (strcmp(c.now, c.want) == 0)
						continue;
					if ((r = add_change(p, &c)) < 0)
						return r;
				}
			if ((phases & PHASE_DRIVERS) && vw->driver && (!vf || !driver_matches(vf, vw->driver))) {
				struct plan_change c = change_for(w, CHANGE_VF_DRIVER, (int32_t)k, &vw->pos);
				snprintf(c.now, sizeof(c.now), "%s", !vf ? "-" : vf->driver ? vf->driver : "(none)");
				snprintf(c.want, sizeof(c.want), "%s", vw->driver);
				if ((r = add_change(p, &c)) < 0)
					return r;
			}
		}
	}
	return 0;
}

void plan_done(struct plan *p)
{
	if (!p)
		return;
	free(p->changes);
	strv_free(p->warnings);
	*p = (struct plan){0};
}

static struct rtnl *open_rtnl_if_live(const struct apply_env *env)
{
	struct rtnl *nl = NULL;
	if (inventory_root_is_live(env->lifecycle.sysfs_root) && rtnl_open(&nl) < 0)
		nl = NULL;
	return nl;
}

int plan_compute(const struct config *cfg, const struct apply_env *env, struct plan *ret, char **ret_error)
{
	*ret_error = NULL;
	struct rtnl *nl = open_rtnl_if_live(env);
	struct view v;
	int r = view_build(cfg, env, nl, &v, ret_error);
	struct plan p = {0};
	if (r == 0)
		r = view_plan(&v, PHASE_ALL, &p);
	if (r == 0) {
		p.warnings = TAKE_PTR(v.warnings);
		*ret = p;
	} else
		plan_done(&p);
	view_done(&v);
	rtnl_close(nl);
	return r;
}

void apply_report_done(struct apply_report *r)
{
	if (!r)
		return;
	plan_done(&r->done);
	plan_done(&r->not_done);
	free(r->error);
	strv_free(r->warnings);
	*r = (struct apply_report){0};
}

/* VF settings changed in this run, to be put back when a later step fails. */
struct undo {
	uint32_t pf_ifindex;
	struct vf_settings before; /* has: the fields to restore */
	size_t done_from, done_count; /* the changes of rep->done this undoes */
};

struct run {
	const struct apply_env *env;
	struct rtnl *nl;
	struct apply_report *rep;
	struct undo *undo;
	size_t n_undo;
};

static const struct pf_want *find_want(const struct view *v, const char *pf_addr)
{
	for (size_t i = 0; i < v->n_pfs; i++)
		if (strcmp(v->pfs[i].pf->addr, pf_addr) == 0)
			return &v->pfs[i];
	return NULL;
}

static void record_done(struct run *run, const struct plan_change *c)
{
	(void)add_change(&run->rep->done, c);
}

static int run_counts(struct run *run, const struct view *v, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		const struct pf_want *w = find_want(v, c->pf);
		if (!w)
			continue;
		char *err = NULL;
		if (c->kind == CHANGE_AUTOPROBE) {
			/* Autoprobe on goes first so that the VFs created next get
			 * drivers; autoprobe off is written by set_numvfs itself. */
			char path[512];
			snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/sriov_drivers_autoprobe",
				 run->env->lifecycle.sysfs_root ? run->env->lifecycle.sysfs_root : SYSFS_DEFAULT_ROOT,
				 w->pf->addr);
			int r = write_text_at(AT_FDCWD, path, w->autoprobe ? "1" : "0");
			if (r < 0)
				return error_set(&run->rep->error, r, "%s: cannot write %s: %s", c->pf, path, strerror(-r));
			run->rep->writes++;
			record_done(run, c);
			continue;
		}
		if (c->kind != CHANGE_NUMVFS)
			continue;
		struct numvfs_request req = {
			.count = w->numvfs,
			.no_autoprobe = w->autoprobe == 0 && w->pf->sriov.autoprobe != 0,
			.timeout_ms = run->env->settle_timeout_ms,
		};
		struct numvfs_result res = {0};
		int r = lifecycle_set_numvfs(&run->env->lifecycle, w->pf, &req, &res, &err);
		if (res.changed)
			run->rep->writes += res.disabled_first ? 2 : 1;
		if (res.wrote_autoprobe)
			run->rep->writes++;
		numvfs_result_done(&res);
		if (r < 0) {
			r = error_set(&run->rep->error, r, "%s: numvfs %s: %s", c->source, c->want, err ? err : strerror(-r));
			free(err);
			return r;
		}
		free(err);
		record_done(run, c);
	}
	return 0;
}

/* Puts back the VF settings of this run, newest first. A change put back
 * leaves rep->done (it is not in effect) and counts in rep->rolled_back. */
static void undo_l2(struct run *run)
{
	struct plan *done = &run->rep->done;
	bool *undone = calloc(done->n ? done->n : 1, sizeof(*undone));
	for (size_t i = run->n_undo; i-- > 0;) {
		const struct undo *u = &run->undo[i];
		struct vf_set_result res;
		bool all = rtnl_set_vf(run->nl, u->pf_ifindex, &u->before, &res) == 0;
		for (int f = 0; all && f < _VF_FIELD_MAX; f++)
			if (vf_has(&u->before, f) && res.field[f].error)
				all = false;
		vf_set_result_done(&res);
		if (!all)
			continue;
		run->rep->rolled_back += (unsigned)u->done_count;
		for (size_t k = u->done_from; undone && k < u->done_from + u->done_count && k < done->n; k++)
			undone[k] = true;
	}
	if (undone) {
		size_t w = 0;
		for (size_t k = 0; k < done->n; k++)
			if (!undone[k])
				done->changes[w++] = done->changes[k];
		done->n = w;
		free(undone);
	}
	run->n_undo = 0;
}

static int run_l2(struct run *run, const struct view *v, const struct plan *p)
{
	if (!run->nl && p->n)
		return error_set(&run->rep->error, -EOPNOTSUPP,
			    "VF settings can be changed only on this host's own /sys (rtnetlink)");
	for (size_t i = 0; i < p->n;) {
		/* All changes of one VF go in one all-or-nothing call. */
		const struct plan_change *c = &p->changes[i];
		size_t j = i;
		const struct pf_want *w = find_want(v, c->pf);
		struct vf_settings want = {.index = (uint32_t)c->vf};
		while (j < p->n && strcmp(p->changes[j].pf, c->pf) == 0 && p->changes[j].vf == c->vf) {
			want.has |= VF_HAS(p->changes[j].field);
			j++;
		}
		const struct vf_settings *src = &w->vfs[c->vf].s;
		unsigned has = want.has;
		want = *src;
		want.index = (uint32_t)c->vf;
		want.has = has;
		/* VLAN, QoS and protocol travel together: send all three. */
		if (has & VF_HAS_VLAN_GROUP)
			want.has |= src->has & VF_HAS_VLAN_GROUP;
		struct vf_apply_report vr;
		char *err = NULL;
		int r = rtnl_apply_vf(run->nl, c->pf_netdev, &want, &vr, &err);
		if (r == 0 && !vr.failed) {
			struct undo *u = realloc(run->undo, (run->n_undo + 1) * sizeof(*u));
			if (u) {
				run->undo = u;
				u[run->n_undo].pf_ifindex = vr.pf_ifindex;
				u[run->n_undo].before = vr.before;
				u[run->n_undo].before.has = vr.sent.has & vr.before.has;
				u[run->n_undo].done_from = run->rep->done.n;
				u[run->n_undo].done_count = j - i;
				run->n_undo++;
			}
			for (size_t k = i; k < j; k++) {
				record_done(run, &p->changes[k]);
				run->rep->writes++;
			}
			vf_apply_report_done(&vr);
			free(err);
			i = j;
			continue;
		}
		const char *where = c->source;
		if (r < 0) {
			r = error_set(&run->rep->error, r, "%s: %s VF %d: %s", where, c->pf_netdev, c->vf, err ? err : strerror(-r));
		} else {
			/* Name the first refused field and the kernel's answer. */
			for (int f = 0; f < _VF_FIELD_MAX; f++)
				if (vf_has(&vr.sent, f) && vr.result.field[f].error) {
					const char *name = strerrorname_np(-vr.result.field[f].error);
					r = error_set(&run->rep->error, vr.result.field[f].error, "%s: %s VF %d: %s: %s [%s]", where,
						 c->pf_netdev, c->vf, vf_field_name(f), strerror(-vr.result.field[f].error),
						 name ? name : "?");
					break;
				}
			/* rtnl_apply_vf put back this VF's accepted fields itself;
			 * they were never recorded as done. */
		}
		vf_apply_report_done(&vr);
		free(err);
		return r;
	}
	return 0;
}

static int run_drivers(struct run *run, const struct view *v, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		if (c->kind != CHANGE_VF_DRIVER)
			continue;
		const struct pf_want *w = find_want(v, c->pf);
		const struct pci_function *vf = pci_function_vf(w->pf, (uint32_t)c->vf);
		const char *where = c->source;
		if (!vf)
			return error_set(&run->rep->error, -ENODEV, "%s: %s VF %d does not exist", where, c->pf, c->vf);
		struct bind_request req = {.driver = c->want};
		struct bind_result res = {0};
		char *err = NULL;
		int r = lifecycle_bind(&run->env->lifecycle, vf, &req, &res, &err);
		if (res.changed)
			run->rep->writes += 3; /* driver_override, unbind, drivers_probe */
		bind_result_done(&res);
		if (r < 0) {
			r = error_set(&run->rep->error, r, "%s: driver %s for %s: %s", where, c->want, vf->addr,
				 err ? err : strerror(-r));
			free(err);
			return r;
		}
		free(err);
		record_done(run, c);
	}
	return 0;
}

int apply_run(const struct config *cfg, const struct apply_env *env, struct apply_report *rep)
{
	static const unsigned phases[] = {PHASE_COUNTS, PHASE_L2, PHASE_DRIVERS};
	*rep = (struct apply_report){0};
	struct run run = {.env = env, .rep = rep, .nl = open_rtnl_if_live(env)};
	int r = 0;

	/* Each phase looks at the host afresh: VFs created by the first are
	 * configured by the second and bound by the third. */
	for (size_t ph = 0; ph < ARRAY_SIZE(phases) && r == 0; ph++) {
		struct view v;
		struct plan p = {0};
		if ((r = view_build(cfg, env, run.nl, &v, &rep->error)) < 0)
			break;
		if (ph == 0) {
			rep->warnings = TAKE_PTR(v.warnings);
		}
		if ((r = view_plan(&v, phases[ph], &p)) == 0) {
			if (phases[ph] == PHASE_COUNTS)
				r = run_counts(&run, &v, &p);
			else if (phases[ph] == PHASE_L2)
				r = run_l2(&run, &v, &p);
			else
				r = run_drivers(&run, &v, &p);
		}
		plan_done(&p);
		view_done(&v);
	}
	if (r < 0) {
		undo_l2(&run);
		/* What is still to do, for the report. */
		struct view v;
		char *ignored = NULL;
		if (view_build(cfg, env, run.nl, &v, &ignored) == 0) {
			(void)view_plan(&v, PHASE_ALL, &rep->not_done);
			view_done(&v);
		}
		free(ignored);
		if (!rep->error)
			rep->error = strdup(strerror(-r));
	}
	free(run.undo);
	rtnl_close(run.nl);
	return r;
}

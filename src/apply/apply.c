#include "apply.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "caps/caps.h"
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
	uint32_t mtu;              /* its netdev's MTU; 0: leave */
	struct config_pos mtu_pos;
	/* A claim's overlay: its source, the fields it gives, and whether the
	 * driver is its own (else a held VF keeps the driver it has). */
	const char *claim;
	unsigned claim_has;
	bool claim_driver;
};

struct pf_want {
	struct pci_function *pf;
	bool has_numvfs;
	uint32_t numvfs;
	struct config_pos numvfs_pos, pos;
	int autoprobe; /* -1: leave */
	bool stable_mac;
	struct config_pos stable_mac_pos;
	uint32_t mtu; /* 0: leave */
	int up;       /* -1: leave */
	struct config_pos mtu_pos, up_pos;
	unsigned timeout_ms; /* the config's timeout: for its count; 0: lifecycle's default */
	struct vf_want *vfs; /* indexed by VF number */
	size_t n_vfs;
};

/* The host as scanned, and what the config wants of each of its PFs. */
struct view {
	struct pci_tree *t;
	struct pf_want *pfs;
	size_t n_pfs;
	char **warnings;
	char **missing; /* the config entries that match no SR-IOV PF here */
	struct caps caps; /* the driver capability table, as learned so far */
};

/* --- The kernel's side: the live table, over this host's rtnetlink ---- */

struct live_netlink {
	struct rtnl *nl;
	struct rtnl_monitor *mon; /* opened on the first wait */
};

static int live_get_link(void *data, const char *ifname, unsigned want, struct pf_link *ret)
{
	struct live_netlink *l = data;
	return rtnl_get_pf_link(l->nl, ifname, want, ret);
}

static int live_apply_vf(void *data, const char *pf_ifname, const struct vf_settings *want,
			 struct vf_apply_report *rep, char **ret_error)
{
	struct live_netlink *l = data;
	return rtnl_apply_vf(l->nl, pf_ifname, want, rep, ret_error);
}

static void live_put_back(void *data, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
			  unsigned *ret_put_back, struct vf_set_result *res)
{
	struct live_netlink *l = data;
	rtnl_vf_put_back(l->nl, pf_ifindex, before, fields, ret_put_back, res);
}

static void ignore_event(const struct rtnl_link_event *ev, void *data)
{
	(void)ev;
	(void)data;
}

static int live_wait_link_event(void *data, unsigned timeout_ms)
{
	struct live_netlink *l = data;
	int r;
	if (!l->mon && (r = rtnl_monitor_open(&l->mon)) < 0)
		return r;
	struct pollfd pfd = {.fd = rtnl_monitor_fd(l->mon), .events = POLLIN};
	int n = poll(&pfd, 1, (int)timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 0;
	r = rtnl_monitor_read(l->mon, ignore_event, NULL);
	return r == -ENOBUFS ? 1 : r < 0 ? r : 1;
}

static char *last_message(const struct live_netlink *l)
{
	const char *m = rtnl_last_error_message(l->nl);
	return m ? strdup(m) : NULL;
}

static int live_set_up(void *data, const char *ifname, bool up, char **ret_message)
{
	struct live_netlink *l = data;
	int r = rtnl_set_link_up(l->nl, ifname, up);
	*ret_message = r < 0 ? last_message(l) : NULL;
	return r;
}

static int live_set_mtu(void *data, const char *ifname, uint32_t mtu, char **ret_message)
{
	struct live_netlink *l = data;
	int r = rtnl_set_link_mtu(l->nl, ifname, mtu);
	*ret_message = r < 0 ? last_message(l) : NULL;
	return r;
}

static const struct apply_netlink live_ops = {
	.set_up = live_set_up,
	.set_mtu = live_set_mtu,
	.get_link = live_get_link,
	.apply_vf = live_apply_vf,
	.put_back = live_put_back,
	.wait_link_event = live_wait_link_event,
	.now_ns = mono_now_ns_hook,
};

/* The table and data one plan or run uses: env's, or the live one when the
 * root is this host's (NULL ops otherwise: no VF settings to read). */
struct kernel {
	const struct apply_netlink *ops;
	void *data;
	struct live_netlink live;
};

static void kernel_open(struct kernel *k, const struct apply_env *env)
{
	*k = (struct kernel){0};
	if (env->netlink) {
		k->ops = env->netlink;
		k->data = env->netlink_data;
	} else if (inventory_root_is_live(env->lifecycle.sysfs_root) && rtnl_open(&k->live.nl) == 0) {
		k->ops = &live_ops;
		k->data = &k->live;
	}
}

static void kernel_close(struct kernel *k)
{
	rtnl_monitor_close(k->live.mon);
	rtnl_close(k->live.nl);
	*k = (struct kernel){0};
}

/* --- What is known of PF drivers before anything is written ------------- */

/* A new VF's settings as its PF driver sets them at creation, and what the
 * driver cannot do. Only what was seen on the real driver is listed (igb:
 * drivers/net/ethernet/intel/igb, kernel 6.1 in the testbed). */
struct driver_facts {
	const char *pf_driver;
	const char *vf_driver;      /* what binds the new VFs by ID, autoprobe on */
	struct vf_settings defaults; /* has: the fields known */
	bool only_8021q;            /* VLAN protocol 802.1ad refused */
};

#define DEFAULT_L2                                                                                          \
	(VF_HAS(VF_FIELD_MAC) | VF_HAS_VLAN_GROUP | VF_HAS(VF_FIELD_SPOOFCHK) | VF_HAS(VF_FIELD_TRUST) |       \
	 VF_HAS(VF_FIELD_LINK_STATE) | VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE))

static const struct driver_facts known_drivers[] = {
	{
		.pf_driver = "igb",
		.vf_driver = "igbvf",
		/* igb_vf_configure(): zero MAC, spoof checking on, not trusted;
		 * no VLAN, no rate; link state is not the driver's (auto). */
		.defaults = {.has = DEFAULT_L2, .mac_len = 6, .vlan_proto = VF_ETH_P_8021Q, .spoofchk = true,
			     .link_state = VF_LINK_STATE_AUTO},
		.only_8021q = true,
	},
	{.pf_driver = "nvme", .vf_driver = "nvme"},
};

static const struct driver_facts *driver_facts(const struct pci_function *pf)
{
	for (size_t i = 0; pf->driver && i < ARRAY_SIZE(known_drivers); i++)
		if (strcmp(known_drivers[i].pf_driver, pf->driver) == 0)
			return &known_drivers[i];
	return NULL;
}

static bool driver_is_loaded(const char *root, const char *driver)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;
	return asprintf(&path, "%s/bus/pci/drivers/%s", root, driver) >= 0 && stat(path, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

static void view_done(struct view *v)
{
	for (size_t i = 0; i < v->n_pfs; i++)
		free(v->pfs[i].vfs);
	free(v->pfs);
	pci_tree_free(v->t);
	strv_free(v->warnings);
	strv_free(v->missing);
	caps_done(&v->caps);
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
	static const char *const names[] = {"numvfs", "autoprobe", "vf", "driver", "up", "mtu"};
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
	case PF_MATCH_ALTNAME:
		return strv_contains(d->altnames, e->netdev);
	case PF_MATCH_PATH:
		/* udev's ID_PATH of a PCI function on a PCI root (path_id: the
		 * function's own address; PCI bridges above it add nothing). */
		return strcmp(d->addr, e->pci) == 0;
	default:
		return false;
	}
}

bool apply_entry_matches(const struct pf_desired *e, const struct pci_function *d)
{
	return entry_matches(e, d);
}

static void pos_format(const struct config_pos *p, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "%s:%u:%u", p->file, p->line, p->column);
	else
		snprintf(buf, len, "(config)");
}

/* Merges entry e into w, the later entry winning field by field. The
 * entry's VF runs are expanded only up to limit (the VFs this PF can have):
 * a run beyond it is noted in *beyond, never allocated. */
static int merge_entry(struct pf_want *w, const struct pf_desired *e, uint32_t limit, const struct vf_desired **beyond)
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
	if (e->timeout_s)
		w->timeout_ms = e->timeout_s * 1000;
	if (e->mtu) {
		w->mtu = e->mtu;
		w->mtu_pos = e->mtu_pos;
	}
	if (e->up >= 0) {
		w->up = e->up;
		w->up_pos = e->up_pos;
	}
	if (e->has_mac_scheme) {
		w->stable_mac = e->mac_scheme == MAC_SCHEME_STABLE;
		w->stable_mac_pos = e->mac_scheme_pos;
	}
	for (size_t i = 0; i < e->n_vfs; i++) {
		const struct vf_desired *vd = &e->vfs[i];
		if (vd->last >= limit && !*beyond)
			*beyond = vd;
		if (vd->index >= limit)
			break;
		uint32_t last = vd->last < limit ? vd->last : limit - 1;
		if (last >= w->n_vfs) {
			size_t n = (size_t)last + 1;
			struct vf_want *v = realloc(w->vfs, n * sizeof(*v));
			if (!v)
				return -ENOMEM;
			memset(v + w->n_vfs, 0, (n - w->n_vfs) * sizeof(*v));
			w->vfs = v;
			w->n_vfs = n;
		}
		for (uint32_t k = vd->index; k <= last; k++) {
			struct vf_want *v = &w->vfs[k];
			v->any = true;
			v->pos = vd->pos;
			vf_settings_merge(&v->s, &vd->settings);
			v->s.index = k;
			if (vf_has(&vd->settings, VF_FIELD_MAC))
				v->mac_pos = vd->mac_pos;
			/* A VLAN alone means QoS 0 and 802.1Q: all three are wanted. */
			if (vf_has(&vd->settings, VF_FIELD_VLAN))
				v->s.has |= VF_HAS_VLAN_GROUP;
			if (vd->driver)
				v->driver = vd->driver;
			if (vd->mtu) {
				v->mtu = vd->mtu;
				v->mtu_pos = vd->mtu_pos;
			}
		}
	}
	return 0;
}

/* The PF's permanent MAC, for the stable scheme. */
static int pf_perm_mac(const struct kernel *k, const struct pci_function *pf, uint8_t ret[6])
{
	if (!k->ops || !pf->netdevs)
		return -ENODEV;
	struct pf_link link;
	int r = k->ops->get_link(k->data, pf->netdevs[0], 0, &link);
	if (r < 0)
		return r;
	const uint8_t *src = link.perm_addr_len == 6 ? link.perm_addr : link.addr_len == 6 ? link.addr : NULL;
	if (src)
		memcpy(ret, src, 6);
	pf_link_done(&link);
	return src ? 0 : -ENODATA;
}

static bool has_overlay(const struct apply_env *env, const char *pf)
{
	for (size_t i = 0; i < env->n_overlay; i++)
		if (strcmp(env->overlay[i].pf, pf) == 0)
			return true;
	return false;
}

/* Lays env's overlays for w's PF over what the config wants, for the count
 * VFs the PF will have. */
static int overlay_apply(const struct apply_env *env, struct pf_want *w, uint32_t count)
{
	for (size_t i = 0; i < env->n_overlay; i++) {
		const struct apply_overlay *o = &env->overlay[i];
		if (strcmp(o->pf, w->pf->addr) != 0 || o->vf_index >= count)
			continue;
		if (o->vf_index >= w->n_vfs) {
			size_t n = (size_t)o->vf_index + 1;
			struct vf_want *nv = realloc(w->vfs, n * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			memset(nv + w->n_vfs, 0, (n - w->n_vfs) * sizeof(*nv));
			w->vfs = nv;
			w->n_vfs = n;
		}
		struct vf_want *vw = &w->vfs[o->vf_index];
		if (!vw->any)
			vw->pos = w->pos;
		vw->any = true;
		unsigned has = o->s.has & ~VF_HAS(VF_FIELD_STATS);
		if (has & VF_HAS(VF_FIELD_VLAN))
			has |= VF_HAS_VLAN_GROUP;
		struct vf_settings s = o->s;
		s.has = has;
		vf_settings_merge(&vw->s, &s);
		vw->s.has |= has;
		vw->s.index = o->vf_index;
		if (has & VF_HAS(VF_FIELD_MAC))
			vw->stable_mac = false;
		vw->claim = o->source;
		vw->claim_has = has;
		vw->claim_driver = o->driver != NULL;
		vw->driver = o->driver;
	}
	return 0;
}

/* Where a wanted field of a VF comes from: the claim that gives it, else
 * the config's place. */
static void want_where(const struct vf_want *vw, bool from_claim, const struct config_pos *pos, char *buf, size_t len)
{
	if (vw->claim && from_claim)
		snprintf(buf, len, "%s", vw->claim);
	else
		pos_format(pos, buf, len);
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
		want_where(first->want, first->want->claim_has & VF_HAS(VF_FIELD_MAC), &first->want->mac_pos, where, sizeof(where));
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
		want_where(other->want, other->want->claim_has & VF_HAS(VF_FIELD_MAC), &other->want->mac_pos, owhere, sizeof(owhere));
		return error_set(ret_error, -EINVAL, "%s: mac: %s, which %s%s gets too (%s); two VFs cannot share a MAC",
			    where, what, olabel, other->want->stable_mac ? " (mac: stable)" : "", owhere);
	}
	return 0;
}

/* L2 settings the PF can never take, refused before anything is written. */
static int check_l2_possible(const struct pf_want *w, char **ret_error)
{
	const struct pci_function *pf = w->pf;
	const struct driver_facts *facts = driver_facts(pf);
	for (size_t k = 0; k < w->n_vfs; k++) {
		const struct vf_want *vw = &w->vfs[k];
		unsigned l2 = vw->s.has & ~VF_HAS(VF_FIELD_STATS);
		if (!vw->any || !l2)
			continue;
		char where[300];
		pos_format(&vw->pos, where, sizeof(where));
		int f = 0;
		while (f < _VF_FIELD_MAX && !(l2 & VF_HAS(f)))
			f++;
		if (!pf->netdevs)
			return error_set(ret_error, -EINVAL,
				    "%s: VF %zu: %s: PF %s (driver %s) has no network interface, so its VFs have no L2 "
				    "settings (rtnetlink sets them through the PF's netdev)",
				    where, k, vf_field_name((enum vf_field)f), pf->addr, pf->driver ? pf->driver : "none");
		if (facts && facts->only_8021q && vf_has(&vw->s, VF_FIELD_VLAN_PROTO) &&
		    vw->s.vlan_proto != VF_ETH_P_8021Q)
			return error_set(ret_error, -EPROTONOSUPPORT,
				    "%s: VF %zu: proto %s: %s (%s) supports only 802.1Q VLANs on its VFs", where, k,
				    vf_vlan_proto_to_string(vw->s.vlan_proto), pf->netdevs[0], pf->driver);
	}
	return 0;
}

/* The PF's own link settings and its VF netdevs' MTUs, checked before
 * anything is written: a netdev to set them on, and no VF netdev MTU above
 * its PF's (-EDOM). */
static int check_links_possible(const struct pf_want *w, char **ret_error)
{
	const struct pci_function *pf = w->pf;
	char where[300];
	if ((w->mtu || w->up >= 0) && !pf->netdevs) {
		pos_format(w->mtu ? &w->mtu_pos : &w->up_pos, where, sizeof(where));
		return error_set(ret_error, -EINVAL, "%s: %s: PF %s (driver %s) has no network interface to set it on", where,
			    w->mtu ? "mtu" : "up", pf->addr, pf->driver ? pf->driver : "none");
	}
	uint32_t pf_mtu = w->mtu ? w->mtu : pf->netdev_mtu;
	for (size_t k = 0; k < w->n_vfs; k++) {
		const struct vf_want *vw = &w->vfs[k];
		if (!vw->any || !vw->mtu)
			continue;
		pos_format(&vw->mtu_pos, where, sizeof(where));
		if (vw->driver && strcmp(vw->driver, CONFIG_DRIVER_VFIO) == 0)
			return error_set(ret_error, -EINVAL,
				    "%s: mtu: VF %zu of %s is bound to %s, which has no netdev to carry an MTU (the VM's driver sets it)",
				    where, k, pf->addr, CONFIG_DRIVER_VFIO);
		if (pf_mtu && vw->mtu > pf_mtu) {
			char pf_where[300] = "what it has now; give the PF entry an mtu:";
			if (w->mtu) {
				char p[280];
				pos_format(&w->mtu_pos, p, sizeof(p));
				snprintf(pf_where, sizeof(pf_where), "its mtu: at %s", p);
			}
			return error_set(ret_error, -EDOM,
				    "%s: mtu: %u for VF %zu of %s (%s) is above its PF's MTU %u (%s); a VF's MTU cannot exceed its PF's",
				    where, vw->mtu, k, pf->netdevs ? pf->netdevs[0] : pf->addr, pf->addr, pf_mtu, pf_where);
		}
	}
	return 0;
}

/* How a view reads the host: the sysfs root, and the VF settings over the
 * kernel's table when there is one. */
static struct inventory_opts view_inventory_opts(const struct apply_env *env, const struct kernel *kern)
{
	return (struct inventory_opts){.sysfs_root = env->lifecycle.sysfs_root, .netlink = kern->ops != NULL,
				       .get_link = kern->ops ? kern->ops->get_link : NULL, .get_link_data = kern->data};
}

static int view_fill(const struct config *cfg, const struct apply_env *env, const struct kernel *kern, struct view *v,
		     char **ret_error)
{
	const char *root = env->lifecycle.sysfs_root;
	struct inventory_opts o = view_inventory_opts(env, kern);
	*v = (struct view){0};
	int r = inventory_load(&o, &v->t);
	if (r < 0)
		return error_set(ret_error, r, "cannot read PCI devices under %s/bus/pci/devices: %s",
			    root ? root : SYSFS_DEFAULT_ROOT, strerror(-r));
	for (size_t i = 0; v->t->warnings && v->t->warnings[i]; i++)
		(void)strv_pushf(&v->warnings, "%s", v->t->warnings[i]);
	if ((r = caps_load(&env->lifecycle, &v->caps)) < 0) {
		_cleanup_free_ char *path = NULL;
		(void)caps_path(&env->lifecycle, &path);
		(void)strv_pushf(&v->warnings, "driver capability table %s: %s (ignored; the next refusal replaces it)",
				 path ? path : CAPS_FILE, r == -EBADMSG ? "not one" : strerror(-r));
	}

	/* Entries that match no SR-IOV PF here: the PF they name is missing. */
	for (size_t e = 0; !env->only_pfs && e < cfg->n_pfs; e++) {
		const struct pf_desired *pd = &cfg->pfs[e];
		char where[300], what[PF_MATCH_STRLEN];
		pos_format(&pd->pos, where, sizeof(where));
		pf_desired_match_format(pd, what);
		size_t matched = 0;
		const char *not_sriov = NULL;
		for (size_t i = 0; i < v->t->n_devs; i++) {
			const struct pci_function *d = v->t->devs[i];
			if (!entry_matches(pd, d))
				continue;
			if (d->is_pf)
				matched++;
			else if (!not_sriov)
				not_sriov = d->addr;
			/* A name the kernel numbered (NETDEV_NAME_ENUM) is one udev may
			 * still rename, and the kernel may give to another device. */
			if (d->is_pf && pd->match == PF_MATCH_NETDEV && d->netdev_name_assign_type == NETDEV_NAME_ENUM)
				(void)strv_pushf(&v->warnings,
						 "%s: match: netdev %s is a name the kernel numbered (name_assign_type %d, enum) that "
						 "udev may still change, or the kernel give to another device; match by path: "
						 "pci-%s or pci: %s instead",
						 where, pd->netdev, NETDEV_NAME_ENUM, d->addr, d->addr);
		}
		if (matched && not_sriov)
			(void)strv_pushf(&v->warnings, "%s: %s is %s, which cannot do SR-IOV (no sriov_totalvfs): ignored",
					 where, what, not_sriov);
		else if (!matched && not_sriov)
			(void)strv_pushf(&v->missing, "%s: match: %s is %s, which cannot do SR-IOV (no sriov_totalvfs)",
					 where, what, not_sriov);
		else if (!matched)
			(void)strv_pushf(&v->missing, "%s: match: %s matches no SR-IOV PF on this host", where, what);
	}

	for (size_t i = 0; i < v->t->n_devs; i++) {
		struct pci_function *d = v->t->devs[i];
		if (!d->is_pf || (env->only_pfs && !strv_contains(env->only_pfs, d->addr)))
			continue;
		struct pf_want w = {.pf = d, .autoprobe = -1, .up = -1};
		bool any = false;
		uint32_t limit = d->sriov.valid ? d->sriov.totalvfs : CONFIG_MAX_NUMVFS;
		const struct vf_desired *beyond = NULL;
		for (size_t e = 0; e < cfg->n_pfs; e++)
			if (entry_matches(&cfg->pfs[e], d)) {
				if ((r = merge_entry(&w, &cfg->pfs[e], limit, &beyond)) < 0) {
					free(w.vfs);
					return r;
				}
				any = true;
			}
		if (!any && !has_overlay(env, d->addr))
			continue;
		if (beyond && !(w.has_numvfs && w.numvfs > limit)) {
			char vpos[300];
			pos_format(&beyond->pos, vpos, sizeof(vpos));
			(void)strv_pushf(&v->warnings, "%s: VF %u of %s is configured but the PF can have at most %u VFs "
					 "(sriov_totalvfs): ignored", vpos, beyond->index >= limit ? beyond->index : limit,
					 d->addr, limit);
		}
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
		if ((r = check_l2_possible(&w, ret_error)) < 0 || (r = check_links_possible(&w, ret_error)) < 0) {
			free(w.vfs);
			return r;
		}
		if (w.stable_mac) {
			uint8_t perm[6];
			if (pf_perm_mac(kern, d, perm) == 0) {
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
		if ((r = overlay_apply(env, &w, count)) < 0) {
			free(w.vfs);
			return r;
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

/* The view, or nothing (-errno) when it cannot be built or the config
 * cannot be met. */
static int view_build(const struct config *cfg, const struct apply_env *env, const struct kernel *kern, struct view *v,
		      char **ret_error)
{
	int r = view_fill(cfg, env, kern, v, ret_error);
	if (r < 0)
		view_done(v);
	return r;
}

/* Reads the PFs addrs of the view again, with the VFs they have now (what
 * the kernel made of them since the view was read); what the config wants
 * of them stays as the view worked it out. */
static int view_reread(struct view *v, const struct apply_env *env, const struct kernel *kern, char *const *addrs,
		       char **ret_error)
{
	_cleanup_free_ char(*addr)[PCI_ADDR_STRLEN] = calloc(v->n_pfs ? v->n_pfs : 1, sizeof(*addr));
	if (!addr)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_pfs; i++)
		snprintf(addr[i], sizeof(addr[i]), "%s", v->pfs[i].pf->addr);
	struct inventory_opts o = view_inventory_opts(env, kern);
	int r = inventory_reread_pfs(&o, v->t, addrs);
	/* Whatever happened, the PFs are in the tree (a gone one keeps its entry). */
	for (size_t i = 0; i < v->n_pfs; i++)
		v->pfs[i].pf = pci_tree_find_addr(v->t, addr[i]);
	if (r < 0)
		return error_set(ret_error, r, "cannot read %s again under %s: %s", addrs[0],
				 env->lifecycle.sysfs_root ? env->lifecycle.sysfs_root : SYSFS_DEFAULT_ROOT, strerror(-r));
	return 0;
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
static int driver_matches(const struct pci_function *vf, const char *want)
{
	if (strcmp(want, CONFIG_DRIVER_KERNEL) == 0)
		return vf->driver && !vf->driver_override && strcmp(vf->driver, CONFIG_DRIVER_VFIO) != 0;
	return streq_ptr(vf->driver, want);
}

enum {
	PHASE_COUNTS = 1 << 0,
	PHASE_L2 = 1 << 1,
	PHASE_DRIVERS = 1 << 2,
	PHASE_LINK = 1 << 3,    /* the PF's own up: and mtu: */
	PHASE_NETDEVS = 1 << 4, /* the VF netdevs' mtu: */
	PHASE_ALL = 31,
};

/* Ethernet drivers create a netdev with ETH_DATA_LEN: what a VF not there
 * yet has. */
#define NEW_NETDEV_MTU 1500u

/* What a VF not there yet will have for field f: 1 the same as want,
 * 0 different, -1 not known (the driver's default is not known). */
static int new_vf_has(const struct driver_facts *facts, int f, const char *want)
{
	if (!facts || !facts->defaults.has)
		return -1;
	if (!(facts->defaults.has & VF_HAS(f)))
		return 0; /* the driver does not report it: it is sent */
	char def[CHANGE_VALUE_MAX];
	vf_field_format(&facts->defaults, f, def, sizeof(def));
	return strcmp(def, want) == 0;
}

/* Whether a VF not there yet will be on driver want once created: 1, 0,
 * -1 not known. */
static int new_vf_on_driver(const struct view *v, const struct pf_want *w, const struct driver_facts *facts,
			    const char *want)
{
	int autoprobe = w->autoprobe >= 0 ? w->autoprobe : w->pf->sriov.autoprobe;
	if (autoprobe == 0)
		return 0; /* created unbound */
	if (!facts || !facts->vf_driver || autoprobe < 0)
		return -1;
	if (!driver_is_loaded(v->t->root, facts->vf_driver))
		return 0;
	if (strcmp(want, CONFIG_DRIVER_KERNEL) == 0)
		return strcmp(facts->vf_driver, CONFIG_DRIVER_VFIO) != 0;
	return strcmp(want, facts->vf_driver) == 0;
}

/* A VF on a host driver must carry the MAC on its own netdev too: when the
 * netdev's address differs, "now" says so, which makes it a change. */
static void vf_netdev_mac_drift(const struct pci_function *vf, const struct vf_want *vw, struct plan_change *c)
{
	if (!vf || !vf->netdevs || vf->netdev_mac_len != 6 || vw->s.mac_len != 6 || streq_ptr(vf->driver, CONFIG_DRIVER_VFIO) ||
	    (vw->driver && strcmp(vw->driver, CONFIG_DRIVER_VFIO) == 0) || memcmp(vf->netdev_mac, vw->s.mac, 6) == 0)
		return;
	char mac[VF_MAC_STRLEN];
	vf_mac_format(vf->netdev_mac, 6, mac);
	size_t used = strlen(c->now);
	snprintf(c->now + used, sizeof(c->now) - used, " (netdev %s)", mac);
}

static int view_plan_phase(const struct view *v, unsigned phases, struct plan *p, char **ret_error)
{
	int r;
	for (size_t i = 0; i < v->n_pfs; i++) {
		const struct pf_want *w = &v->pfs[i];
		const struct pci_function *pf = w->pf;
		const struct driver_facts *facts = driver_facts(pf);
		bool recount = w->has_numvfs && w->numvfs != pf->sriov.numvfs;
		if ((phases & PHASE_LINK) && w->up >= 0) {
			bool up = pf->netdev_flags_valid && (pf->netdev_flags & IFF_UP);
			if (!pf->netdev_flags_valid || up != (w->up == 1)) {
				struct plan_change c = change_for(w, CHANGE_LINK_UP, -1, &w->up_pos);
				snprintf(c.now, sizeof(c.now), "%s", !pf->netdev_flags_valid ? "?" : up ? "up" : "down");
				snprintf(c.want, sizeof(c.want), "%s", w->up ? "up" : "down");
				if ((r = add_change(p, &c)) < 0)
					return r;
			}
		}
		if ((phases & PHASE_LINK) && w->mtu && w->mtu != pf->netdev_mtu) {
			struct plan_change c = change_for(w, CHANGE_MTU, -1, &w->mtu_pos);
			if (pf->netdev_mtu)
				snprintf(c.now, sizeof(c.now), "%u", pf->netdev_mtu);
			else
				snprintf(c.now, sizeof(c.now), "?");
			snprintf(c.want, sizeof(c.want), "%u", w->mtu);
			if ((r = add_change(p, &c)) < 0)
				return r;
		}
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
			/* VFs about to be recreated lose everything: all is "-" now,
			 * and what they will have is the driver's default. */
			const struct pci_function *vf = recount ? NULL : pci_function_vf(pf, (uint32_t)k);
			const struct vf_settings *cur = vf ? vf->link : NULL;
			if ((phases & PHASE_NETDEVS) && vw->mtu) {
				/* A VF's netdev: the one it has, or a new one's default. */
				uint32_t now = !vf ? NEW_NETDEV_MTU : vf->netdevs ? vf->netdev_mtu : 0;
				if (now != vw->mtu) {
					struct plan_change c = change_for(w, CHANGE_MTU, (int32_t)k, &vw->mtu_pos);
					if (!vf)
						snprintf(c.now, sizeof(c.now), "-");
					else if (!vf->netdevs)
						snprintf(c.now, sizeof(c.now), "(no netdev)");
					else
						snprintf(c.now, sizeof(c.now), "%u", now);
					snprintf(c.want, sizeof(c.want), "%u", vw->mtu);
					if ((r = add_change(p, &c)) < 0)
						return r;
				}
			}
			if (phases & PHASE_L2)
				for (int f = 0; f < _VF_FIELD_MAX; f++) {
					if (!vf_has(&vw->s, f) || f == VF_FIELD_STATS)
						continue;
					struct plan_change c = change_for(w, CHANGE_VF_FIELD, (int32_t)k, &vw->pos);
					c.field = (enum vf_field)f;
					want_where(vw, vw->claim_has & VF_HAS(f), &vw->pos, c.source, sizeof(c.source));
					vf_field_format(&vw->s, f, c.want, sizeof(c.want));
					if (!vf) {
						int same = new_vf_has(facts, f, c.want);
						if (same == 1)
							continue;
						c.conditional = same < 0;
						snprintf(c.now, sizeof(c.now), "-");
					} else if (!cur || !vf_has(cur, f))
						snprintf(c.now, sizeof(c.now), "?");
					else
						vf_field_format(cur, f, c.now, sizeof(c.now));
					if (f == VF_FIELD_MAC)
						vf_netdev_mac_drift(vf, vw, &c);
					if (strcmp(c.now, c.want) == 0)
						continue;
					if ((r = add_change(p, &c)) < 0)
						return r;
				}
			if (!(phases & PHASE_DRIVERS) || !vw->driver)
				continue;
			int on = vf ? driver_matches(vf, vw->driver) : new_vf_on_driver(v, w, facts, vw->driver);
			if (on == 1)
				continue;
			if (strcmp(vw->driver, CONFIG_DRIVER_KERNEL) != 0 && !driver_is_loaded(v->t->root, vw->driver)) {
				char where[300];
				want_where(vw, vw->claim_driver, &vw->pos, where, sizeof(where));
				return error_set(ret_error, -ENOENT, "%s: VF %zu: driver %s is not loaded: modprobe %s", where,
					    k, vw->driver, vw->driver);
			}
			struct plan_change c = change_for(w, CHANGE_VF_DRIVER, (int32_t)k, &vw->pos);
			want_where(vw, vw->claim_driver, &vw->pos, c.source, sizeof(c.source));
			c.conditional = on < 0;
			snprintf(c.now, sizeof(c.now), "%s", !vf ? "-" : vf->driver ? vf->driver : "(none)");
			snprintf(c.want, sizeof(c.want), "%s", vw->driver);
			if ((r = add_change(p, &c)) < 0)
				return r;
		}
	}
	return 0;
}

/* The plan in the order apply carries it out: the PFs' own links first,
 * then every count, then the L2 settings, then the drivers, then the VF
 * netdevs. */
static int view_plan(const struct view *v, unsigned phases, struct plan *p, char **ret_error)
{
	static const unsigned order[] = {PHASE_LINK, PHASE_COUNTS, PHASE_L2, PHASE_DRIVERS, PHASE_NETDEVS};
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		int r = (phases & order[i]) ? view_plan_phase(v, order[i], p, ret_error) : 0;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The driver a change goes to: the PF's for VF settings and its own link,
 * the VF's own for its netdev's MTU (NULL: not known yet). */
static const char *change_driver(const struct view *v, const struct plan_change *c)
{
	const struct pci_function *pf = pci_tree_find_addr(v->t, c->pf);
	if (!pf)
		return NULL;
	if (c->kind == CHANGE_MTU && c->vf >= 0) {
		const struct pci_function *vf = pci_function_vf(pf, (uint32_t)c->vf);
		if (vf && vf->driver)
			return vf->driver;
		const struct driver_facts *facts = driver_facts(pf);
		return facts ? facts->vf_driver : NULL;
	}
	return pf->driver;
}

static const char *change_setting(const struct plan_change *c)
{
	return c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind);
}

/* What the driver is known to refuse, said before apply sends it. */
static void warn_unsupported(const struct view *v, const struct plan *p, char ***warnings)
{
	for (size_t i = 0; v->caps.n && i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		if (c->kind != CHANGE_VF_FIELD && c->kind != CHANGE_MTU && c->kind != CHANGE_LINK_UP)
			continue;
		const char *driver = change_driver(v, c), *setting = change_setting(c);
		const struct caps_entry *e = caps_find(&v->caps, driver, setting);
		if (!e)
			continue;
		const char *name = strerrorname_np(-e->error);
		char vf[24] = "";
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), " VF %d", c->vf);
		(void)strv_pushf(warnings,
				 "%s: %s%s: %s %s: driver %s answered %s to %s before (driver capability table); apply will "
				 "send it, and the driver is expected to refuse it",
				 c->source, c->pf_netdev[0] ? c->pf_netdev : c->pf, vf, setting, c->want, driver, name ? name : "?",
				 setting);
	}
}

void plan_done(struct plan *p)
{
	if (!p)
		return;
	free(p->changes);
	strv_free(p->warnings);
	strv_free(p->missing);
	*p = (struct plan){0};
}

int plan_compute(const struct config *cfg, const struct apply_env *env, struct plan *ret, char **ret_error)
{
	*ret_error = NULL;
	struct kernel k;
	kernel_open(&k, env);
	struct view v;
	int r = view_build(cfg, env, &k, &v, ret_error);
	struct plan p = {0};
	if (r == 0)
		r = view_plan(&v, PHASE_ALL, &p, ret_error);
	if (r == 0) {
		warn_unsupported(&v, &p, &v.warnings);
		p.warnings = TAKE_PTR(v.warnings);
		p.missing = TAKE_PTR(v.missing);
		*ret = p;
	} else
		plan_done(&p);
	view_done(&v);
	kernel_close(&k);
	return r;
}

void apply_report_done(struct apply_report *r)
{
	if (!r)
		return;
	plan_done(&r->done);
	plan_done(&r->not_done);
	free(r->error);
	strv_free(r->rollback);
	strv_free(r->warnings);
	strv_free(r->missing);
	*r = (struct apply_report){0};
}

/* VF settings changed in this run, to be put back when a later step fails. */
struct undo {
	char pf_netdev[IF_NAMESIZE];
	uint32_t pf_ifindex;
	struct vf_settings before; /* the VF before the change */
	unsigned fields;           /* the fields to restore */
	size_t done_from, done_count; /* the changes of rep->done this undoes */
};

/* A VF count changed in this run. */
struct recount {
	char pf[PCI_ADDR_STRLEN];
	char label[LIFECYCLE_LABEL_MAX];
	char netdev[IF_NAMESIZE]; /* "" without one */
	uint32_t before, after;
	int autoprobe_before;     /* -1 unknown */
	bool wrote_autoprobe;
	bool carrier_before;      /* the PF link was up with carrier before the change */
	bool carrier_checked;     /* waited for it since */
	bool link_changed;        /* this run brought the PF up or changed its MTU (igb resets): wait
				   * for its carrier before rates */
};

/* A netdev setting of this run (up:, mtu:), to be put back on failure. */
struct link_undo {
	char ifname[IF_NAMESIZE];
	enum change_kind kind;
	bool up_before;
	uint32_t mtu_before;
};

struct run {
	const struct apply_env *env;
	struct kernel k;
	struct apply_report *rep;
	struct undo *undo;
	size_t n_undo;
	struct recount *recounts;
	size_t n_recounts;
	struct link_undo *link_undo;
	size_t n_link_undo;
	/* PFs the kernel changed since the view read them (their VFs recreated
	 * by a count change, reset by a link change, reprobed by a driver): read
	 * again before the next phase that looks at their VFs. */
	char **stale;
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

/* PF pf_addr is to be read again before its VFs are looked at. On ENOMEM
 * the run stops: a view it cannot keep true is not one to go on with. */
static int mark_stale(struct run *run, const char *pf_addr)
{
	if (strv_contains(run->stale, pf_addr))
		return 0;
	return strv_pushf(&run->stale, "%s", pf_addr);
}

/* Whether phase looks at the VFs of w: what the config wants of them
 * there. */
static bool want_in_phase(const struct pf_want *w, unsigned phase)
{
	for (size_t k = 0; k < w->n_vfs; k++) {
		const struct vf_want *vw = &w->vfs[k];
		if (!vw->any)
			continue;
		if ((phase & PHASE_L2) && (vw->s.has & ~VF_HAS(VF_FIELD_STATS)))
			return true;
		if ((phase & PHASE_DRIVERS) && vw->driver)
			return true;
		if ((phase & PHASE_NETDEVS) && vw->mtu)
			return true;
	}
	return false;
}

/* Before phase: the stale PFs whose VFs it looks at, read again (all of
 * them in one go). A PF's link and count are the view's own record of what
 * this run wrote: the links and counts phases read nothing again. */
static int run_reread(struct run *run, struct view *v, unsigned phase)
{
	_cleanup_(strv_freep) char **now = NULL;
	for (size_t i = 0; run->stale && run->stale[i]; i++) {
		const struct pf_want *w = find_want(v, run->stale[i]);
		if (w && want_in_phase(w, phase) && strv_pushf(&now, "%s", run->stale[i]) < 0)
			return -ENOMEM;
	}
	if (!now)
		return 0;
	int r = view_reread(v, run->env, &run->k, now, &run->rep->error);
	run->rep->rereads += (unsigned)strv_length(now);
	size_t keep = 0;
	for (size_t i = 0; run->stale[i]; i++) {
		if (strv_contains(now, run->stale[i]))
			free(run->stale[i]);
		else
			run->stale[keep++] = run->stale[i];
	}
	run->stale[keep] = NULL;
	return r;
}

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* Up, with carrier: what a driver that refuses rates on a down link wants. */
static bool flags_have_carrier(unsigned flags)
{
	return (flags & IFF_UP) && (flags & IFF_LOWER_UP);
}

static int link_has_carrier(const struct kernel *k, const char *ifname, bool *ret)
{
	struct pf_link l;
	int r = k->ops->get_link(k->data, ifname, 0, &l);
	if (r < 0)
		return r;
	*ret = flags_have_carrier(l.flags);
	pf_link_done(&l);
	return 0;
}

/* env's bound of a wait for a PF's carrier. */
static unsigned carrier_timeout_ms(const struct apply_env *env)
{
	return env->carrier_timeout_ms ? env->carrier_timeout_ms : APPLY_CARRIER_TIMEOUT_MS;
}

/* Waits until ifname is up with carrier again, woken by link events and
 * bounded by timeout_ms on the table's clock. */
static int wait_carrier(const struct kernel *k, const char *ifname, unsigned timeout_ms, bool *ret_up)
{
	uint64_t deadline = k->ops->now_ns(k->data) + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		int r = link_has_carrier(k, ifname, ret_up);
		if (r < 0 || *ret_up)
			return r;
		uint64_t now = k->ops->now_ns(k->data);
		if (now >= deadline)
			return 0;
		uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
		/* Events wake the wait; the slice bounds it if one is missed. */
		if ((r = k->ops->wait_link_event(k->data, left_ms > 200 ? 200 : (unsigned)left_ms)) < 0)
			return r;
	}
}

int apply_wait_pf_carrier(const struct apply_env *env, const char *ifname, bool *ret_up)
{
	*ret_up = false;
	struct kernel k;
	kernel_open(&k, env);
	if (!k.ops)
		return 0;
	struct pf_link l;
	int r = k.ops->get_link(k.data, ifname, 0, &l);
	bool admin_up = r == 0 && (l.flags & IFF_UP);
	if (r == 0)
		pf_link_done(&l);
	/* Down: nothing brings it up. Up: wait_carrier's first look may end it. */
	if (admin_up)
		r = wait_carrier(&k, ifname, carrier_timeout_ms(env), ret_up);
	kernel_close(&k);
	return r;
}

/* sriov_drivers_autoprobe of PF pf, through lifecycle: beneath the sysfs
 * root, by the injected writer when there is one. */
static int write_autoprobe(const struct apply_env *env, const char *pf, bool on, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int r = lifecycle_set_autoprobe(&env->lifecycle, pf, on, &err);
	if (r < 0)
		return error_set(ret_error, r, "%s: %s", pf, err ? err : strerror(-r));
	return 0;
}

static struct recount *recount_for(struct run *run, const struct pf_want *w)
{
	for (size_t i = 0; i < run->n_recounts; i++)
		if (strcmp(run->recounts[i].pf, w->pf->addr) == 0)
			return &run->recounts[i];
	struct recount *n = realloc(run->recounts, (run->n_recounts + 1) * sizeof(*n));
	if (!n)
		return NULL;
	run->recounts = n;
	struct recount *rc = &n[run->n_recounts++];
	*rc = (struct recount){.before = w->pf->sriov.numvfs, .after = w->pf->sriov.numvfs,
			       .autoprobe_before = w->pf->sriov.autoprobe};
	snprintf(rc->pf, sizeof(rc->pf), "%s", w->pf->addr);
	lifecycle_label(w->pf, rc->label);
	if (w->pf->netdevs)
		snprintf(rc->netdev, sizeof(rc->netdev), "%s", w->pf->netdevs[0]);
	return rc;
}

/* Whether rc's PF is up with carrier before this run's next change to it:
 * the scan's link flags serve until this run changes the link. */
static void note_carrier(struct run *run, struct recount *rc, const struct pci_function *pf)
{
	if (!rc->netdev[0] || !run->k.ops)
		return;
	if (pf->link_flags_valid && !rc->link_changed)
		rc->carrier_before = flags_have_carrier(pf->link_flags);
	else
		(void)link_has_carrier(&run->k, rc->netdev, &rc->carrier_before);
}

/* The counts' timeout for PF w: apply's own (--timeout), else the config's
 * timeout: for the PF, else lifecycle's default for the count. */
static unsigned count_timeout_ms(const struct apply_env *env, const struct pf_want *w)
{
	if (env->settle_timeout_ms)
		return env->settle_timeout_ms;
	return w->timeout_ms;
}

/* Every count is written first, then all are waited for together
 * (lifecycle_set_numvfs_many): one settle window, whatever the number of
 * PFs. */
static int run_counts(struct run *run, const struct view *v, const struct plan *p)
{
	_cleanup_free_ struct numvfs_job *jobs = calloc(p->n ? p->n : 1, sizeof(*jobs));
	_cleanup_free_ const struct plan_change **job_change = calloc(p->n ? p->n : 1, sizeof(*job_change));
	/* indices: recount_for() may move run->recounts */
	_cleanup_free_ size_t *job_rc = calloc(p->n ? p->n : 1, sizeof(*job_rc));
	if (!jobs || !job_change || !job_rc)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		const struct pf_want *w = find_want(v, c->pf);
		if (!w)
			continue;
		struct recount *rc = recount_for(run, w);
		if (!rc)
			return -ENOMEM;
		if (c->kind == CHANGE_AUTOPROBE) {
			/* Autoprobe on goes first so that the VFs created next get
			 * drivers; autoprobe off is written by set_numvfs itself. */
			int r = write_autoprobe(run->env, w->pf->addr, w->autoprobe, &run->rep->error);
			if (r < 0)
				return r;
			rc->wrote_autoprobe = true;
			run->rep->writes++;
			w->pf->sriov.autoprobe = w->autoprobe;
			record_done(run, c);
			continue;
		}
		if (c->kind != CHANGE_NUMVFS)
			continue;
		jobs[n] = (struct numvfs_job){
			.pf = w->pf,
			.req = {
				.count = w->numvfs,
				.force = run->env->force,
				.no_autoprobe = w->autoprobe == 0 && w->pf->sriov.autoprobe != 0,
				.timeout_ms = count_timeout_ms(run->env, w),
			},
		};
		note_carrier(run, rc, w->pf);
		job_change[n] = c;
		job_rc[n++] = (size_t)(rc - run->recounts);
	}
	int r = lifecycle_set_numvfs_many(&run->env->lifecycle, jobs, n);
	for (size_t k = 0; k < n; k++) {
		struct numvfs_job *j = &jobs[k];
		const struct plan_change *c = job_change[k];
		struct recount *rc = &run->recounts[job_rc[k]];
		struct pci_function *pf = find_want(v, c->pf)->pf;
		if (j->res.changed) {
			run->rep->writes += j->res.disabled_first ? 2 : 1;
			rc->after = j->res.after;
			/* Its VFs are new: the kernel made them, the view reads them. */
			pf->sriov.numvfs = j->res.after;
			int sr = mark_stale(run, pf->addr);
			if (sr < 0 && r == 0)
				r = sr;
		}
		if (j->res.wrote_autoprobe) {
			run->rep->writes++;
			rc->wrote_autoprobe = true;
			pf->sriov.autoprobe = 0;
		}
		for (size_t q = 0; j->res.overridden && j->res.overridden[q]; q++)
			(void)strv_pushf(&run->rep->warnings, "%s: numvfs %s: --force: %s", c->source, c->want,
					 j->res.overridden[q]);
		if (j->r < 0 && !run->rep->error)
			(void)error_set(&run->rep->error, j->r, "%s: numvfs %s: %s", c->source, c->want,
					j->error ? j->error : strerror(-j->r));
		else if (j->r == 0 && j->started)
			record_done(run, c);
		numvfs_job_done(j);
	}
	return r;
}

static void note(struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct run *run, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) >= 0)
		(void)strv_pushf(&run->rep->rollback, "%s", s);
	free(s);
	va_end(ap);
}

/* One sentence per field put back (or not) of one VF. */
static unsigned note_put_back(struct run *run, const char *pf_netdev, const struct vf_settings *before,
			      unsigned fields, unsigned put_back, const struct vf_set_result *res)
{
	unsigned n = 0;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!(fields & VF_HAS(f)))
			continue;
		char was[VF_MAC_STRLEN] = "?";
		if (vf_has(before, f))
			vf_field_format(before, f, was, sizeof(was));
		int e = res->field[f].error;
		if (put_back & VF_HAS(f)) {
			note(run, "%s VF %u %s: put back to %s", pf_netdev, before->index, vf_field_name(f), was);
			n++;
		} else if (e == -ENODATA)
			note(run, "%s VF %u %s: NOT put back: the driver never reported its previous value", pf_netdev,
			     before->index, vf_field_name(f));
		else {
			const char *name = strerrorname_np(-e);
			note(run, "%s VF %u %s: putting it back to %s FAILED: %s [%s]%s%s", pf_netdev, before->index,
			     vf_field_name(f), was, strerror(-e), name ? name : "?", res->field[f].message ? "; kernel: " : "",
			     res->field[f].message ? res->field[f].message : "");
		}
	}
	return n;
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
		unsigned put_back = 0;
		run->k.ops->put_back(run->k.data, u->pf_ifindex, &u->before, u->fields, &put_back, &res);
		note_put_back(run, u->pf_netdev, &u->before, u->fields, put_back, &res);
		vf_set_result_done(&res);
		if ((put_back & u->fields) != u->fields)
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

/* Removes the VFs this run created (counts it raised from 0): they had
 * nothing before, so that is the state before the run. A count changed
 * from another non-zero one is not: the VFs it had are gone either way. */
static void undo_counts(struct run *run)
{
	const struct apply_env *env = run->env;
	for (size_t i = run->n_recounts; i-- > 0;) {
		struct recount *rc = &run->recounts[i];
		if (rc->after == rc->before) {
			if (rc->wrote_autoprobe && rc->autoprobe_before >= 0) {
				char *err = NULL;
				int r = write_autoprobe(env, rc->pf, rc->autoprobe_before, &err);
				if (r < 0)
					note(run, "%s: sriov_drivers_autoprobe: putting it back to %d FAILED: %s", rc->label,
					     rc->autoprobe_before, err ? err : strerror(-r));
				else
					note(run, "%s: sriov_drivers_autoprobe put back to %d", rc->label, rc->autoprobe_before);
				free(err);
			}
			continue;
		}
		if (rc->before != 0) {
			note(run, "%s: numvfs stays %u: the %u VF%s it had before this run were destroyed by the change", rc->label,
			     rc->after, rc->before, rc->before == 1 ? "" : "s");
			continue;
		}
		struct pci_tree *t = NULL;
		struct inventory_opts o = {.sysfs_root = env->lifecycle.sysfs_root};
		struct pci_function *pf = NULL;
		int r = inventory_load(&o, &t);
		if (r == 0)
			pf = pci_tree_find_addr(t, rc->pf);
		char *err = NULL;
		struct numvfs_result res = {0};
		struct numvfs_request req = {.count = 0, .timeout_ms = env->settle_timeout_ms};
		if (pf)
			r = lifecycle_set_numvfs(&env->lifecycle, pf, &req, &res, &err);
		else if (r == 0)
			r = -ENODEV;
		if (r < 0)
			note(run, "%s: the %u VF%s created in this run %s left: removing them FAILED: %s", rc->label, rc->after,
			     rc->after == 1 ? "" : "s", rc->after == 1 ? "is" : "are", err ? err : strerror(-r));
		else {
			note(run, "%s: the %u VF%s created in this run %s removed again (numvfs %u -> 0)", rc->label, rc->after,
			     rc->after == 1 ? "" : "s", rc->after == 1 ? "was" : "were", rc->after);
			for (size_t k = 0; k < run->rep->done.n; k++)
				if (run->rep->done.changes[k].kind == CHANGE_NUMVFS && strcmp(run->rep->done.changes[k].pf, rc->pf) == 0) {
					memmove(&run->rep->done.changes[k], &run->rep->done.changes[k + 1],
						(run->rep->done.n - k - 1) * sizeof(run->rep->done.changes[0]));
					run->rep->done.n--;
					break;
				}
		}
		free(err);
		numvfs_result_done(&res);
		pci_tree_free(t);
		if (r == 0 && rc->wrote_autoprobe && rc->autoprobe_before >= 0) {
			err = NULL;
			if (write_autoprobe(env, rc->pf, rc->autoprobe_before, &err) == 0)
				note(run, "%s: sriov_drivers_autoprobe put back to %d", rc->label, rc->autoprobe_before);
			else
				note(run, "%s: sriov_drivers_autoprobe: putting it back FAILED: %s", rc->label, err ? err : "?");
			free(err);
		}
	}
}

/* The field to name when the kernel refused a message: the one the user
 * asked for (a lone max-rate travels with min-rate in one IFLA_VF_RATE). */
static int refused_field(const struct vf_apply_report *vr, unsigned asked, bool *ret_shared)
{
	*ret_shared = false;
	for (int f = 0; f < _VF_FIELD_MAX; f++)
		if ((asked & VF_HAS(f)) && vr->result.field[f].error)
			return f;
	for (int f = 0; f < _VF_FIELD_MAX; f++)
		if (vf_has(&vr->sent, f) && vr->result.field[f].error) {
			*ret_shared = true;
			return f;
		}
	return -1;
}

/* After the PF took the MAC: the VF's netdev carries it too. */
static int run_vf_netdev_mac(struct run *run, const struct pf_want *w, const struct plan_change *c,
			     const struct vf_settings *want)
{
	struct pci_function *vf = pci_function_vf(w->pf, (uint32_t)c->vf);
	const struct vf_want *vw = &w->vfs[c->vf];
	if (!vf || (vw->driver && strcmp(vw->driver, CONFIG_DRIVER_VFIO) == 0))
		return 0;
	struct vf_netdev_mac_result res;
	char *err = NULL;
	int r = apply_vf_netdev_mac(&run->env->lifecycle, run->k.live.nl, &run->env->vf_netdev, vf, want->mac, &res, &err);
	run->rep->writes += res.writes;
	if (r < 0) {
		r = error_set(&run->rep->error, r, "%s: %s VF %d: mac: %s", c->source, c->pf_netdev, c->vf,
			 err ? err : strerror(-r));
		free(err);
		return r;
	}
	if (res.reloaded)
		return mark_stale(run, w->pf->addr); /* the driver probed it again: a new netdev */
	if (res.changed) {
		memcpy(vf->netdev_mac, want->mac, 6);
		vf->netdev_mac_len = 6;
	}
	return 0;
}

/* The fields the PF took for vf, in the view. */
static int record_vf_settings(struct run *run, const struct pci_function *pf, struct pci_function *vf,
			      const struct vf_settings *sent)
{
	if (!vf->link && !(vf->link = calloc(1, sizeof(*vf->link))))
		return mark_stale(run, pf->addr);
	vf_settings_merge(vf->link, sent);
	vf->link->index = vf->vf_index;
	return 0;
}

static int run_l2(struct run *run, const struct view *v, const struct plan *p)
{
	if (!run->k.ops && p->n)
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
		unsigned asked = want.has;
		want = *src;
		want.index = (uint32_t)c->vf;
		want.has = asked;
		/* VLAN, QoS and protocol travel together: send all three. */
		if (asked & VF_HAS_VLAN_GROUP)
			want.has |= src->has & VF_HAS_VLAN_GROUP;
		/* A VF count change resets the PF's link (igb), and rates are
		 * refused until it is back: wait for it once per PF. */
		unsigned rates = VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE);
		for (size_t k = 0; (want.has & rates) && k < run->n_recounts; k++) {
			struct recount *rc = &run->recounts[k];
			bool reset = (rc->after != rc->before && rc->carrier_before) || rc->link_changed;
			if (strcmp(rc->pf, c->pf) != 0 || !reset || rc->carrier_checked)
				continue;
			rc->carrier_checked = true;
			bool up = false;
			(void)wait_carrier(&run->k, c->pf_netdev, carrier_timeout_ms(run->env), &up);
			if (!up)
				(void)strv_pushf(&run->rep->warnings, "%s: the link did not come back within %u ms of the %s",
						 rc->label, carrier_timeout_ms(run->env),
						 rc->link_changed ? "PF link change (up:, mtu:)" : "VF count change");
		}
		struct vf_apply_report vr;
		char *err = NULL;
		int r = run->k.ops->apply_vf(run->k.data, c->pf_netdev, &want, &vr, &err);
		if (r == 0)
			run->rep->writes += vr.messages;
		if (r == 0 && !vr.failed) {
			struct undo *u = realloc(run->undo, (run->n_undo + 1) * sizeof(*u));
			if (u) {
				run->undo = u;
				u = &u[run->n_undo++];
				*u = (struct undo){.pf_ifindex = vr.pf_ifindex, .before = vr.before, .fields = vr.sent.has,
						   .done_from = run->rep->done.n, .done_count = j - i};
				snprintf(u->pf_netdev, sizeof(u->pf_netdev), "%s", c->pf_netdev);
			}
			for (size_t k = i; k < j; k++)
				record_done(run, &p->changes[k]);
			struct pci_function *vf = pci_function_vf(w->pf, (uint32_t)c->vf);
			r = vf ? record_vf_settings(run, w->pf, vf, &vr.sent) : 0;
			vf_apply_report_done(&vr);
			free(err);
			if (r < 0)
				return r;
			/* A failure here is put back with the rest of the run. */
			if (vf_has(&want, VF_FIELD_MAC) && (r = run_vf_netdev_mac(run, w, c, &want)) < 0)
				return r;
			i = j;
			continue;
		}
		const char *where = c->source;
		if (r < 0) {
			r = error_set(&run->rep->error, r, "%s: %s VF %d: %s", where, c->pf_netdev, c->vf, err ? err : strerror(-r));
		} else {
			/* Name the refused field the user asked for, the kernel's
			 * answer and what it may mean. */
			/* What the driver lacks, the table remembers. */
			for (int g = 0; g < _VF_FIELD_MAX; g++)
				if (vf_has(&vr.sent, g) && vr.result.field[g].error == -EOPNOTSUPP && w->pf->driver)
					(void)caps_learn(&run->env->lifecycle, w->pf->driver, vf_field_name((enum vf_field)g),
							 -EOPNOTSUPP);
			bool shared = false;
			int f = refused_field(&vr, asked, &shared);
			int e = f >= 0 ? vr.result.field[f].error : -EIO;
			const char *name = strerrorname_np(-e);
			char hint_buf[RTNL_VF_HINT_MAX];
			const char *h = f >= 0 ? rtnl_vf_error_hint((enum vf_field)f, e, w->pf->driver, hint_buf) : NULL;
			bool pair = f == VF_FIELD_MIN_RATE || f == VF_FIELD_MAX_RATE;
			const char *msg = f >= 0 ? vr.result.field[f].message : NULL;
			r = error_set(&run->rep->error, e, "%s: %s VF %d: %s: %s [%s]%s%s%s%s%s", where, c->pf_netdev, c->vf,
				 f >= 0 ? vf_field_name((enum vf_field)f) : "?", strerror(-e), name ? name : "?",
				 pair && !shared && (asked & rates) != rates ? " (min-rate and max-rate are one IFLA_VF_RATE attribute)" : "",
				 h ? ": " : "", h ? h : "", msg ? "; kernel: " : "", msg ? msg : "");
			/* The driver put back this VF's accepted fields itself (or
			 * could not): they were never recorded as done. */
			unsigned accepted = 0;
			for (int g = 0; g < _VF_FIELD_MAX; g++)
				if (vf_has(&vr.sent, g) && !vr.result.field[g].error)
					accepted |= VF_HAS(g);
			unsigned back = note_put_back(run, c->pf_netdev, &vr.before, accepted & asked, vr.rolled_back, &vr.rollback);
			run->rep->rolled_back += back;
		}
		vf_apply_report_done(&vr);
		free(err);
		return r;
	}
	return 0;
}

/* "Invalid argument [EINVAL]; kernel: mtu greater than device maximum" */
static void kernel_answer(int e, const char *msg, char *buf, size_t len)
{
	const char *name = strerrorname_np(-e);
	snprintf(buf, len, "%s [%s]%s%s", strerror(-e), name ? name : "?", msg ? "; kernel: " : "", msg ? msg : "");
}

/* One netdev setting (up: or mtu:) of change c on ifname; remembered for
 * the put-back. */
static int run_link_change(struct run *run, const struct plan_change *c, const char *ifname, const char *driver,
			   bool up_before, uint32_t mtu_before)
{
	const struct apply_netlink *ops = run->k.ops;
	bool is_mtu = c->kind == CHANGE_MTU;
	if (!ops || (is_mtu ? !ops->set_mtu : !ops->set_up))
		return error_set(&run->rep->error, -EOPNOTSUPP,
			    "%s: %s: netdev settings can be changed only on this host's own /sys (rtnetlink)", c->source,
			    is_mtu ? "mtu" : "up");
	char *msg = NULL;
	uint32_t mtu = 0;
	if (is_mtu)
		(void)parse_u32(c->want, 10, &mtu);
	int r = is_mtu ? ops->set_mtu(run->k.data, ifname, mtu, &msg) : ops->set_up(run->k.data, ifname, strcmp(c->want, "up") == 0, &msg);
	run->rep->writes++;
	if (r == -EOPNOTSUPP && driver)
		(void)caps_learn(&run->env->lifecycle, driver, is_mtu ? "mtu" : "up", r);
	if (r < 0) {
		char answer[512];
		kernel_answer(r, msg, answer, sizeof(answer));
		char vf[32] = "";
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), " VF %d (netdev %s)", c->vf, ifname);
		r = error_set(&run->rep->error, r, "%s: %s%s: %s %s: %s", c->source, c->pf_netdev[0] ? c->pf_netdev : c->pf, vf,
			 is_mtu ? "mtu" : "up", c->want, answer);
		free(msg);
		return r;
	}
	free(msg);
	struct link_undo *u = realloc(run->link_undo, (run->n_link_undo + 1) * sizeof(*u));
	if (u) {
		run->link_undo = u;
		u = &u[run->n_link_undo++];
		*u = (struct link_undo){.kind = c->kind, .up_before = up_before, .mtu_before = mtu_before};
		snprintf(u->ifname, sizeof(u->ifname), "%s", ifname);
	}
	record_done(run, c);
	return 0;
}

/* The netdev setting c made, in the view: on dev, the PF or the VF whose
 * netdev it is. */
static void record_link(struct pci_function *dev, const struct plan_change *c)
{
	uint32_t mtu;
	if (c->kind == CHANGE_MTU) {
		if (parse_u32(c->want, 10, &mtu) == 0)
			dev->netdev_mtu = mtu;
	} else if (dev->netdev_flags_valid) {
		if (strcmp(c->want, "up") == 0)
			dev->netdev_flags |= IFF_UP;
		else
			dev->netdev_flags &= ~(unsigned)IFF_UP;
	}
}

/* The PFs' own links: up: first (a driver that wants its PF up before its
 * VFs), then mtu:. */
static int run_links(struct run *run, const struct view *v, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		const struct pf_want *w = find_want(v, c->pf);
		if (!w || c->vf >= 0 || (c->kind != CHANGE_LINK_UP && c->kind != CHANGE_MTU) || !w->pf->netdevs)
			continue;
		struct recount *rc = recount_for(run, w);
		if (!rc)
			return -ENOMEM;
		if (!rc->link_changed)
			note_carrier(run, rc, w->pf);
		int r = run_link_change(run, c, w->pf->netdevs[0], w->pf->driver, w->pf->netdev_flags & IFF_UP,
					w->pf->netdev_mtu);
		if (r < 0)
			return r;
		rc->link_changed = true;
		record_link(w->pf, c);
		/* The driver resets the PF, and its VFs with it (igb). */
		if ((r = mark_stale(run, w->pf->addr)) < 0)
			return r;
	}
	return 0;
}

/* The VF netdevs' MTUs, once the VFs exist and are on their drivers. */
static int run_netdevs(struct run *run, const struct view *v, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		const struct pf_want *w = find_want(v, c->pf);
		if (!w || c->vf < 0 || c->kind != CHANGE_MTU)
			continue;
		struct pci_function *vf = pci_function_vf(w->pf, (uint32_t)c->vf);
		if (!vf || !vf->netdevs)
			return error_set(&run->rep->error, -ENODEV, "%s: %s VF %d: mtu %s: the VF has no netdev (driver %s) to set it on",
				    c->source, c->pf_netdev[0] ? c->pf_netdev : c->pf, c->vf, c->want,
				    vf && vf->driver ? vf->driver : "none");
		/* A netdev a count change or a bind has just made is udev's to
		 * name first; the MTU goes to it by the name it has then. */
		lifecycle_udev_wait_netdev(&run->env->lifecycle, vf->addr);
		char ifname[IF_NAMESIZE];
		snprintf(ifname, sizeof(ifname), "%s", vf->netdevs[0]);
		int r = lifecycle_netdev_follow(&run->env->lifecycle, vf->addr, ifname);
		if (r < 0)
			return r;
		if (r > 0) {
			char *name = strdup(ifname);
			if (!name)
				return -ENOMEM;
			free(vf->netdevs[0]);
			vf->netdevs[0] = name;
		}
		r = run_link_change(run, c, vf->netdevs[0], vf->driver, vf->netdev_flags & IFF_UP, vf->netdev_mtu);
		if (r < 0)
			return r;
		record_link(vf, c);
	}
	return 0;
}

/* Puts back the netdev settings of this run, newest first. */
static void undo_links(struct run *run)
{
	const struct apply_netlink *ops = run->k.ops;
	for (size_t i = run->n_link_undo; ops && i-- > 0;) {
		const struct link_undo *u = &run->link_undo[i];
		bool is_mtu = u->kind == CHANGE_MTU;
		char *msg = NULL;
		int r = is_mtu ? (u->mtu_before ? ops->set_mtu(run->k.data, u->ifname, u->mtu_before, &msg) : -ENODATA)
			       : ops->set_up(run->k.data, u->ifname, u->up_before, &msg);
		char was[16];
		snprintf(was, sizeof(was), "%s", is_mtu ? "" : u->up_before ? "up" : "down");
		if (is_mtu)
			snprintf(was, sizeof(was), "%u", u->mtu_before);
		if (r == 0) {
			note(run, "%s %s: put back to %s", u->ifname, is_mtu ? "mtu" : "up", was);
			for (size_t k = run->rep->done.n; k-- > 0;) {
				const struct plan_change *c = &run->rep->done.changes[k];
				if (c->kind == u->kind && (strcmp(c->pf_netdev, u->ifname) == 0 || c->vf >= 0)) {
					memmove(&run->rep->done.changes[k], &run->rep->done.changes[k + 1],
						(run->rep->done.n - k - 1) * sizeof(run->rep->done.changes[0]));
					run->rep->done.n--;
					break;
				}
			}
		} else if (r == -ENODATA)
			note(run, "%s mtu: NOT put back: its previous MTU was not known", u->ifname);
		else {
			char answer[512];
			kernel_answer(r, msg, answer, sizeof(answer));
			note(run, "%s %s: putting it back to %s FAILED: %s", u->ifname, is_mtu ? "mtu" : "up", was, answer);
		}
		free(msg);
	}
	run->n_link_undo = 0;
}

/* The driver a bind left vf on, in the view (from the bind's result). A
 * host driver gives the VF a netdev the kernel names: its PF is read again
 * before the VF netdevs are looked at. vfio-pci and pci-stub give it none. */
static int record_driver(struct run *run, const struct pci_function *pf, struct pci_function *vf, bool kernel,
			 const struct bind_result *res)
{
	char *driver = res->driver_after ? strdup(res->driver_after) : NULL;
	/* "kernel" clears driver_override; any other driver is the override. */
	char *override = !kernel && res->target ? strdup(res->target) : NULL;
	if ((res->driver_after && !driver) || (!kernel && res->target && !override)) {
		free(driver);
		free(override);
		return mark_stale(run, pf->addr);
	}
	free(vf->driver);
	vf->driver = driver;
	free(vf->driver_override);
	vf->driver_override = override;
	/* A host driver may have made a netdev: read the PF's VFs again. */
	if (driver && !lifecycle_driver_is_passthrough(driver))
		return mark_stale(run, pf->addr);
	strv_free(vf->netdevs);
	vf->netdevs = NULL;
	vf->netdev_mac_len = 0;
	vf->netdev_mtu = 0;
	vf->netdev_flags_valid = false;
	return 0;
}

/* Every VF is rebound first, then all hold one shared settle window
 * (lifecycle_bind_many): one window, whatever the number of VFs (none when
 * every driver is one that never lets go: vfio-pci, pci-stub). */
static int run_drivers(struct run *run, const struct view *v, const struct plan *p)
{
	_cleanup_free_ struct bind_job *jobs = calloc(p->n ? p->n : 1, sizeof(*jobs));
	_cleanup_free_ const struct plan_change **job_change = calloc(p->n ? p->n : 1, sizeof(*job_change));
	_cleanup_free_ struct pci_function **job_vf = calloc(p->n ? p->n : 1, sizeof(*job_vf));
	if (!jobs || !job_change || !job_vf)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		if (c->kind != CHANGE_VF_DRIVER)
			continue;
		const struct pf_want *w = find_want(v, c->pf);
		struct pci_function *vf = pci_function_vf(w->pf, (uint32_t)c->vf);
		if (!vf)
			return error_set(&run->rep->error, -ENODEV, "%s: %s VF %d does not exist", c->source, c->pf, c->vf);
		/* A claim's own driver: the consumer hook would refuse it as
		 * held, by the very claim that wants it. */
		jobs[n] = (struct bind_job){.dev = vf, .req = {.driver = c->want}, .ignore_consumer = w->vfs[c->vf].claim_driver};
		job_vf[n] = vf;
		job_change[n++] = c;
	}
	int r = lifecycle_bind_many(&run->env->lifecycle, jobs, n);
	for (size_t k = 0; k < n; k++) {
		struct bind_job *j = &jobs[k];
		const struct plan_change *c = job_change[k];
		if (j->res.changed)
			run->rep->writes += 3; /* driver_override, unbind, drivers_probe */
		if (j->r == 0 && j->res.changed) {
			int dr = record_driver(run, find_want(v, c->pf)->pf, job_vf[k],
					       strcmp(c->want, CONFIG_DRIVER_KERNEL) == 0, &j->res);
			if (dr < 0 && r == 0)
				r = dr;
		}
		if (j->r < 0 && !run->rep->error)
			(void)error_set(&run->rep->error, j->r, "%s: driver %s for %s: %s", c->source, c->want, j->dev->addr,
					j->error ? j->error : strerror(-j->r));
		else if (j->r == 0 && j->started)
			record_done(run, c);
		bind_job_done(j);
	}
	return r;
}

int apply_run(const struct config *cfg, const struct apply_env *env, struct apply_report *rep)
{
	static const unsigned phases[] = {PHASE_LINK, PHASE_COUNTS, PHASE_L2, PHASE_DRIVERS, PHASE_NETDEVS};
	*rep = (struct apply_report){0};
	struct run run = {.env = env, .rep = rep};
	kernel_open(&run.k, env);

	/* One read of the host, under the caller's host lock: every check the
	 * whole plan allows is made on it before anything is written, and each
	 * phase plans on it as the phases before left it: what they wrote is
	 * recorded in it, and the PFs the kernel changed by itself (VFs made by
	 * a count change, a netdev made by a bind) are read again before the
	 * next phase that looks at them. */
	struct view v;
	rep->scans++;
	int r = view_build(cfg, env, &run.k, &v, &rep->error);
	bool have_view = r == 0;
	if (r == 0) {
		rep->warnings = TAKE_PTR(v.warnings);
		rep->missing = TAKE_PTR(v.missing);
		/* Nothing is written for a config naming a PF that is not here. */
		if (rep->missing && !env->allow_missing)
			r = error_set(&rep->error, -ENODEV, "%s (--allow-missing applies the rest)", rep->missing[0]);
	}
	if (r == 0) {
		struct plan all = {0};
		r = view_plan(&v, PHASE_ALL, &all, &rep->error);
		if (r == 0)
			warn_unsupported(&v, &all, &rep->warnings);
		plan_done(&all);
	}
	for (size_t ph = 0; ph < ARRAY_SIZE(phases) && r == 0; ph++) {
		struct plan p = {0};
		if ((r = run_reread(&run, &v, phases[ph])) == 0 && (r = view_plan(&v, phases[ph], &p, &rep->error)) == 0) {
			if (phases[ph] == PHASE_LINK)
				r = run_links(&run, &v, &p);
			else if (phases[ph] == PHASE_COUNTS)
				r = run_counts(&run, &v, &p);
			else if (phases[ph] == PHASE_L2)
				r = run_l2(&run, &v, &p);
			else if (phases[ph] == PHASE_DRIVERS)
				r = run_drivers(&run, &v, &p);
			else
				r = run_netdevs(&run, &v, &p);
		}
		plan_done(&p);
	}
	if (have_view)
		view_done(&v);
	if (r < 0) {
		undo_links(&run);
		if (run.k.ops)
			undo_l2(&run);
		undo_counts(&run);
		/* What is still to do, for the report: the host read again, as the
		 * failure and the put-backs left it. */
		char *ignored = NULL;
		rep->scans++;
		if (view_build(cfg, env, &run.k, &v, &ignored) == 0) {
			(void)view_plan(&v, PHASE_ALL, &rep->not_done, &ignored);
			view_done(&v);
		}
		free(ignored);
		if (!rep->error)
			rep->error = strdup(strerror(-r));
	}
	strv_free(run.stale);
	free(run.undo);
	free(run.recounts);
	free(run.link_undo);
	kernel_close(&run.k);
	return r;
}

int apply_vf_desired(const struct config *cfg, const struct apply_env *env, const struct pci_function *pf,
		     uint32_t vf_index, struct vf_settings *ret, const char **ret_driver)
{
	struct pf_want w = {.pf = (struct pci_function *)pf, .autoprobe = -1};
	const struct vf_desired *beyond = NULL;
	int r = 0;
	for (size_t e = 0; cfg && e < cfg->n_pfs && r == 0; e++)
		if (entry_matches(&cfg->pfs[e], pf))
			r = merge_entry(&w, &cfg->pfs[e], vf_index + 1, &beyond);
	struct vf_settings s = {.index = vf_index};
	const char *driver = NULL;
	if (r == 0 && vf_index < w.n_vfs && w.vfs[vf_index].any) {
		s = w.vfs[vf_index].s;
		driver = w.vfs[vf_index].driver;
	}
	free(w.vfs);
	if (r < 0)
		return r;
	s.index = vf_index;
	s.has &= ~VF_HAS(VF_FIELD_STATS);
	if (!vf_has(&s, VF_FIELD_MAC)) {
		struct kernel k;
		uint8_t perm[6];
		kernel_open(&k, env);
		r = pf_perm_mac(&k, pf, perm);
		kernel_close(&k);
		if (r < 0)
			return r;
		apply_stable_mac(perm, vf_index, s.mac);
		s.mac_len = 6;
		s.has |= VF_HAS(VF_FIELD_MAC);
	}
	*ret = s;
	if (ret_driver)
		*ret_driver = driver;
	return 0;
}

/* One VF at a time, over env's netlink table (the live one for /sys). */
int apply_vf_read(const struct apply_env *env, const char *pf_ifname, uint32_t vf_index, struct vf_settings *ret)
{
	struct kernel k;
	kernel_open(&k, env);
	if (!k.ops)
		return -EOPNOTSUPP;
	struct pf_link link;
	int r = k.ops->get_link(k.data, pf_ifname, 0, &link);
	if (r == 0) {
		const struct vf_settings *vf = pf_link_vf(&link, vf_index);
		if (vf)
			*ret = *vf;
		else
			r = -ENODEV;
		pf_link_done(&link);
	}
	kernel_close(&k);
	return r;
}

int apply_vf_set(const struct apply_env *env, const char *pf_ifname, const struct vf_settings *want,
		 struct vf_apply_report *rep, char **ret_error)
{
	struct kernel k;
	kernel_open(&k, env);
	if (!k.ops)
		return error_set(ret_error, -EOPNOTSUPP, "no rtnetlink for this sysfs root");
	int r = k.ops->apply_vf(k.data, pf_ifname, want, rep, ret_error);
	kernel_close(&k);
	return r;
}

void apply_vf_put_back(const struct apply_env *env, uint32_t pf_ifindex, const struct vf_settings *before,
		       unsigned fields, struct vf_set_result *res)
{
	struct kernel k;
	kernel_open(&k, env);
	unsigned n = 0;
	if (k.ops)
		k.ops->put_back(k.data, pf_ifindex, before, fields, &n, res);
	kernel_close(&k);
}

int apply_vf_set_netdev_mac(const struct apply_env *env, const struct lifecycle_env *lifecycle,
			    const struct pci_function *vf, const uint8_t mac[6], struct vf_netdev_mac_result *ret,
			    char **ret_error)
{
	struct kernel k;
	kernel_open(&k, env);
	int r = apply_vf_netdev_mac(lifecycle ? lifecycle : &env->lifecycle, k.live.nl, &env->vf_netdev, vf, mac, ret,
				    ret_error);
	kernel_close(&k);
	return r;
}

char *const *apply_pf_labels(const struct pci_function *pf, void *cfg_data)
{
	const struct config *cfg = cfg_data;
	char *const *labels = NULL;
	for (size_t i = 0; cfg && i < cfg->n_pfs; i++)
		if (cfg->pfs[i].labels && entry_matches(&cfg->pfs[i], pf))
			labels = cfg->pfs[i].labels;
	return labels;
}

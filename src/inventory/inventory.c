#include "inventory.h"

#include <pci/pci.h>
#include <pthread.h>
#include <stdarg.h>
#include <libudev.h>

#include "netlink/rtnl.h"
#include "util/dl.h"
#include "util/input.h"
#include "util/util.h"

/* The name sources are loaded (dlopen) the first time names are asked
 * for: a command that prints none never maps libudev nor libpci, and
 * libpci only where no hwdb.bin exists. Either missing leaves the names
 * unknown, as a missing pci.ids does. libudev reads the same hwdb.bin as
 * libsystemd's sd-hwdb, and needs no other library (libsystemd pulls in
 * six: libgcrypt, liblzma, libzstd, liblz4, libcap, libgpg-error). */
DL_SYM_DECLARE(udev_new);
DL_SYM_DECLARE(udev_unref);
DL_SYM_DECLARE(udev_hwdb_new);
DL_SYM_DECLARE(udev_hwdb_unref);
DL_SYM_DECLARE(udev_hwdb_get_properties_list_entry);
DL_SYM_DECLARE(udev_list_entry_get_next);
DL_SYM_DECLARE(udev_list_entry_get_name);
DL_SYM_DECLARE(udev_list_entry_get_value);
DL_SYM_DECLARE(pci_alloc);
DL_SYM_DECLARE(pci_lookup_name);
DL_SYM_DECLARE(pci_cleanup);

static const struct dl_sym hwdb_syms[] = {
	DL_SYM(udev_new),
	DL_SYM(udev_unref),
	DL_SYM(udev_hwdb_new),
	DL_SYM(udev_hwdb_unref),
	DL_SYM(udev_hwdb_get_properties_list_entry),
	DL_SYM(udev_list_entry_get_next),
	DL_SYM(udev_list_entry_get_name),
	DL_SYM(udev_list_entry_get_value),
};
static const struct dl_sym libpci_syms[] = {DL_SYM(pci_alloc), DL_SYM(pci_lookup_name), DL_SYM(pci_cleanup)};

static pthread_once_t hwdb_once = PTHREAD_ONCE_INIT, libpci_once = PTHREAD_ONCE_INIT;
static int hwdb_loaded = -ELIBACC, libpci_loaded = -ELIBACC;

static void hwdb_load(void)
{
	void *h;
	_cleanup_free_ char *error = NULL;
	hwdb_loaded = dl_open_syms("libudev.so.1", hwdb_syms, ARRAY_SIZE(hwdb_syms), &h, &error);
}

static void libpci_load(void)
{
	void *h;
	_cleanup_free_ char *error = NULL;
	libpci_loaded = dl_open_syms("libpci.so.3", libpci_syms, ARRAY_SIZE(libpci_syms), &h, &error);
}

bool inventory_root_is_live(const char *sysfs_root)
{
	return sysfs_root_is_live(sysfs_root);
}

/* libpci reports a missing pci.ids through warning(); names simply stay
 * unknown then. We never call pci_init() (it would scan the bus with
 * libpci's own access methods), so its callbacks must be set by hand. */
static void names_quiet(char *msg, ...)
{
	(void)msg;
}

/* libpci calls error() only when its allocator fails, and expects it not to
 * return. */
static void names_fatal(char *msg, ...) __attribute__((noreturn));
static void names_fatal(char *msg, ...)
{
	fprintf(stderr, "libpci: %s\n", msg);
	abort();
}

/* Whether d is one of the PFs only names, or a VF of one (NULL: every
 * function). */
static bool in_only(const struct pci_function *d, char *const *only)
{
	return !only || strv_contains(only, d->addr) || (d->pf && strv_contains(only, d->pf->addr));
}

/* libpci's names (it parses all of pci.ids, 1.3 MB of text, to give the
 * first one): only where systemd's hwdb cannot be opened. Of every
 * function, or of the PFs only names and their VFs. */
static void add_names_libpci(struct pci_tree *t, char *const *only)
{
	pthread_once(&libpci_once, libpci_load);
	if (libpci_loaded < 0)
		return;
	struct pci_access *pacc = sym_pci_alloc();
	if (!pacc)
		return;
	pacc->warning = names_quiet;
	pacc->debug = names_quiet;
	pacc->error = names_fatal;
	char buf[256];
	for (size_t i = 0; i < t->n_devs; i++) {
		struct pci_function *d = t->devs[i];
		if (!d->ids_valid || !in_only(d, only))
			continue;
		/* libpci falls back to printing the number when the ID is unknown;
		 * NO_NUMBERS makes it return NULL instead, so "unknown" stays NULL. */
		const char *v = sym_pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS,
						d->vendor_id);
		if (v)
			d->vendor_name = strdup(v);
		const char *dn = sym_pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
						 d->vendor_id, d->device_id);
		if (dn)
			d->device_name = strdup(dn);
	}
	sym_pci_cleanup(pacc);
}

/* The value of property key in the entries of one hwdb lookup, or NULL. */
static const char *hwdb_value(struct udev_list_entry *e, const char *key)
{
	for (; e; e = sym_udev_list_entry_get_next(e)) {
		const char *name = sym_udev_list_entry_get_name(e);
		if (name && strcmp(name, key) == 0)
			return sym_udev_list_entry_get_value(e);
	}
	return NULL;
}

/* The names from systemd's hwdb (hwdb.bin, mmapped: nothing is parsed),
 * built from the same pci.ids: the vendor under "pci:vVVVVVVVV*", the
 * device under "pci:vVVVVVVVVdDDDDDDDD*". One lookup of the device's key
 * gives both: the vendor's entry is a pattern that matches the key (the
 * literal '*' keeps the subsystem entries, which libpci's device name does
 * not use, from matching). Looked up once per distinct ID: the VFs of a PF,
 * next to each other by address, share their PF's lookup. A lookup's
 * entries last until the next one: each name is copied before the next
 * lookup. Of every function, or of the PFs only names and their VFs. */
static int add_names_hwdb(struct pci_tree *t, char *const *only)
{
	pthread_once(&hwdb_once, hwdb_load);
	if (hwdb_loaded < 0)
		return hwdb_loaded;
	struct udev *udev = sym_udev_new();
	if (!udev)
		return -ENOMEM;
	errno = 0;
	struct udev_hwdb *hwdb = sym_udev_hwdb_new(udev);
	if (!hwdb) {
		int r = errno > 0 ? -errno : -ENOENT;
		sym_udev_unref(udev);
		return r;
	}
	const struct pci_function *prev = NULL;
	for (size_t i = 0; i < t->n_devs; i++) {
		struct pci_function *d = t->devs[i];
		if (!d->ids_valid || !in_only(d, only))
			continue;
		if (prev && prev->vendor_id == d->vendor_id && prev->device_id == d->device_id) {
			if (prev->vendor_name)
				d->vendor_name = strdup(prev->vendor_name);
			if (prev->device_name)
				d->device_name = strdup(prev->device_name);
		} else {
			char key[48];
			const char *v;
			snprintf(key, sizeof(key), "pci:v%08Xd%08X*", d->vendor_id, d->device_id);
			struct udev_list_entry *e = sym_udev_hwdb_get_properties_list_entry(hwdb, key, 0);
			if ((v = hwdb_value(e, "ID_VENDOR_FROM_DATABASE")))
				d->vendor_name = strdup(v);
			if ((v = hwdb_value(e, "ID_MODEL_FROM_DATABASE")))
				d->device_name = strdup(v);
		}
		prev = d;
	}
	sym_udev_hwdb_unref(hwdb);
	sym_udev_unref(udev);
	return 0;
}

static void add_names(struct pci_tree *t, char *const *only)
{
	if (add_names_hwdb(t, only) < 0)
		add_names_libpci(t, only);
}

static int socket_get_link(void *data, const char *ifname, unsigned want, struct pf_link *ret)
{
	return rtnl_get_pf_link(data, ifname, want, ret);
}

/* Copies the PF's netlink view of each VF onto the VF device it belongs to,
 * and each PF's altnames onto the PF: every PF's, or those only names. */
static void add_link_info(struct pci_tree *t, const struct inventory_opts *opts, char *const *only)
{
	struct rtnl *nl = NULL;
	inventory_link_fn get_link = opts->get_link;
	void *data = opts->get_link_data;
	int r;
	if (!get_link) {
		if ((r = rtnl_open(&nl)) < 0) {
			pci_tree_warn(t, "rtnetlink: cannot open socket: %s; VF settings not shown", strerror(-r));
			return;
		}
		get_link = socket_get_link;
		data = nl;
	}
	for (size_t i = 0; i < t->n_devs; i++) {
		struct pci_function *pf = t->devs[i];
		if (!pf->is_pf || !pf->netdevs || !in_only(pf, only))
			continue;
		/* A NIC PF has one netdev per port; the VF list hangs off the first. */
		const char *ifname = pf->netdevs[0];
		struct pf_link link;
		r = get_link(data, ifname, opts->stats ? RTNL_WANT_STATS : 0, &link);
		if (r < 0 && pf->n_vfs == 0)
			continue; /* only its altnames were asked for */
		if (r < 0) {
			const char *ack = nl ? rtnl_last_error_message(nl) : NULL;
			pci_tree_warn(t, "%s (%s): cannot read VF settings over rtnetlink: %s%s%s", pf->addr,
				      ifname, strerror(-r), ack ? ": " : "", ack ? ack : "");
			continue;
		}
		if (link.truncated)
			pci_tree_warn(t, "%s (%s): truncated VF list: the kernel reported %zu of %u VFs",
				      pf->addr, ifname, link.n_vfs, link.num_vf);
		/* Its alternative names, for config entries matching by altname. */
		pf->altnames = TAKE_PTR(link.altnames);
		pf->link_flags = link.flags;
		pf->link_flags_valid = true;
		for (size_t k = 0; k < pf->n_vfs; k++) {
			struct pci_function *vf = pf->vfs[k];
			const struct vf_settings *s = pf_link_vf(&link, vf->vf_index);
			if (!s)
				continue;
			vf->link = malloc(sizeof(*vf->link));
			if (vf->link)
				*vf->link = *s;
		}
		pf_link_done(&link);
	}
	rtnl_close(nl);
}

/* Finds the netdevs that functions have in other network namespaces (a
 * VF's netdev moved into a container), in one search, made only when some
 * network function bound to a host driver has no netdev here: of every
 * function, or of the PFs only names and their VFs. */
static void add_netns_netdevs(struct pci_tree *t, char *const *only)
{
	char **addrs = NULL;
	for (size_t i = 0; i < t->n_devs; i++)
		if (in_only(t->devs[i], only) && pci_function_netdev_may_be_elsewhere(t->devs[i]) &&
		    strv_pushf(&addrs, "%s", t->devs[i]->addr) < 0)
			break;
	if (!addrs)
		return;
	struct netns_found found;
	int r = rtnl_netns_find(addrs, &found);
	if (r < 0) {
		pci_tree_warn(t, "cannot look for netdevs in other network namespaces: %s", strerror(-r));
		strv_free(addrs);
		return;
	}
	for (size_t i = 0; i < found.n; i++) {
		const struct netns_netdev *l = &found.links[i];
		struct pci_function *d = pci_tree_find_addr(t, l->dev);
		if (!d || !in_only(d, only))
			continue;
		if (strv_pushf(&d->netns_netdevs, "%s", l->ifname) < 0 ||
		    strv_pushf(&d->netns_names, "%s", l->netns) < 0) {
			/* keep the two lists the same length */
			strv_free(d->netns_netdevs);
			strv_free(d->netns_names);
			d->netns_netdevs = d->netns_names = NULL;
		}
	}
	if (found.incomplete)
		pci_tree_warn(t, "netdevs in other network namespaces may be missing: %s", found.incomplete);
	netns_found_done(&found);
	strv_free(addrs);
}

int inventory_load(const struct inventory_opts *opts, struct pci_tree **ret)
{
	const char *root = opts->sysfs_root ? opts->sysfs_root : SYSFS_DEFAULT_ROOT;
	struct pci_tree *t;
	unsigned flags = (opts->no_link_state ? PCI_SCAN_NO_LINK_STATE : 0) | (opts->sriov_only ? PCI_SCAN_SRIOV_ONLY : 0);
	int r = pci_tree_scan_flags(root, flags, &t);
	if (r < 0)
		return r;
	if (opts->names)
		add_names(t, NULL);
	if (opts->netlink) {
		add_link_info(t, opts, NULL);
		/* The namespaces are the live host's: not with a kernel played by
		 * a test. */
		if (!opts->get_link)
			add_netns_netdevs(t, NULL);
	}
	*ret = t;
	return 0;
}

int inventory_reread_pfs(const struct inventory_opts *opts, struct pci_tree *t, char *const *addrs)
{
	int r = pci_tree_reread_pfs(t, addrs);
	if (r < 0)
		return r;
	if (opts->names)
		add_names(t, addrs);
	if (opts->netlink) {
		add_link_info(t, opts, addrs);
		if (!opts->get_link)
			add_netns_netdevs(t, addrs);
	}
	return 0;
}

static struct pci_function *find_one(const struct pci_tree *t, const char *name)
{
	struct pci_addr a;
	if (pci_addr_parse(name, &a) == 0)
		return pci_tree_find_addr(t, name);
	return pci_tree_find_netdev(t, name);
}

int inventory_resolve(const struct pci_tree *t, const char *spec, struct pci_function **ret,
		      char **ret_error)
{
	*ret_error = NULL;
	if (str_empty(spec))
		return error_set(ret_error, -EINVAL, "empty device name");

	const char *hash = strrchr(spec, '#');
	if (!hash) {
		struct pci_function *d = find_one(t, spec);
		if (!d)
			return error_set(ret_error, -ENODEV, "%s: no such device (not a netdev or PCI address under %s)",
				    QUOTE(spec), QUOTE(t->root));
		*ret = d;
		return 0;
	}

	_cleanup_free_ char *pf_name = strndup(spec, (size_t)(hash - spec));
	if (!pf_name)
		return -ENOMEM;
	uint32_t index;
	if (!*(hash + 1) || parse_u32(hash + 1, 10, &index) < 0 || hash[1] == '+' || hash[1] == ' ')
		return error_set(ret_error, -EINVAL, "%s: '%s' is not a VF number (PF#N, N = 0, 1, ...)",
			    QUOTE(spec), QUOTE(hash + 1));
	struct pci_function *pf = find_one(t, pf_name);
	if (!pf)
		return error_set(ret_error, -ENODEV, "%s: no such device '%s'", QUOTE(spec), QUOTE(pf_name));
	if (!pf->is_pf)
		return error_set(ret_error, -ENODEV, "%s: %s (%s) is not an SR-IOV physical function",
			    QUOTE(spec), QUOTE(pf_name), pf->addr);
	struct pci_function *vf = pci_function_vf(pf, index);
	if (!vf)
		return error_set(ret_error, -ENODEV, "%s: %s has %zu VFs enabled, VF %u does not exist",
			    QUOTE(spec), QUOTE(pf_name), pf->n_vfs, index);
	*ret = vf;
	return 0;
}

bool inventory_find_vf_mac(const struct pci_tree *t, const uint8_t mac[6], const struct pci_function *except,
			   const struct pci_function **ret_vf, bool *ret_on_netdev)
{
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *vf = t->devs[i];
		if (!vf->pf || vf == except)
			continue;
		bool pf_view = vf->link && vf_has(vf->link, VF_FIELD_MAC) && vf->link->mac_len == 6 &&
			       memcmp(vf->link->mac, mac, 6) == 0;
		bool own = vf->netdev_mac_len == 6 && memcmp(vf->netdev_mac, mac, 6) == 0;
		if (pf_view || own) {
			*ret_vf = vf;
			*ret_on_netdev = !pf_view;
			return true;
		}
	}
	return false;
}

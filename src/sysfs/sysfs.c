#include "sysfs.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/fs.h"
#include "util/util.h"

/* Attribute values are short; a larger file is garbage for our purposes. */
#define ATTR_MAX 256

/* One hex part of an address: 1 to width digits (the kernel's own width:
 * 4 for the domain, 2 for bus and slot, 1 for the function), at most max,
 * followed by end. *s moves past it. A sign, a space or "0x" is not a digit. */
static int addr_part(const char **s, size_t width, char end, unsigned max, unsigned *ret)
{
	unsigned v = 0;
	size_t n = 0;
	for (; isxdigit((unsigned char)**s); (*s)++, n++) {
		if (n == width)
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit((unsigned char)**s) ? **s - '0' : (tolower((unsigned char)**s) - 'a' + 10));
	}
	if (n == 0 || v > max || **s != end)
		return -EINVAL;
	if (end)
		(*s)++;
	*ret = v;
	return 0;
}

int pci_addr_parse(const char *s, struct pci_addr *ret)
{
	unsigned domain = 0, bus, slot, function;

	if (!s)
		return -EINVAL;
	/* Two colons: the domain comes first. */
	const char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':') && addr_part(&s, 4, ':', 0xffff, &domain) < 0)
		return -EINVAL;
	if (addr_part(&s, 2, ':', 0xff, &bus) < 0 || addr_part(&s, 2, '.', 0x1f, &slot) < 0 ||
	    addr_part(&s, 1, '\0', 7, &function) < 0)
		return -EINVAL;
	*ret = (struct pci_addr){.domain = (uint16_t)domain, .bus = (uint8_t)bus,
				 .slot = (uint8_t)slot, .function = (uint8_t)function};
	return 0;
}

void pci_addr_format(const struct pci_addr *a, char buf[PCI_ADDR_STRLEN])
{
	snprintf(buf, PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot & 0x1f, a->function & 7);
}

void pci_tree_warn(struct pci_tree *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r >= 0)
		(void)strv_push(&t->warnings, s);
}

static void pci_function_free(struct pci_function *d)
{
	if (!d)
		return;
	free(d->vendor_name);
	free(d->device_name);
	free(d->driver);
	free(d->driver_override);
	strv_free(d->netdevs);
	strv_free(d->altnames);
	free(d->unsupported);
	strv_free(d->netns_netdevs);
	strv_free(d->netns_names);
	free(d->claimed_by);
	free(d->group_peers);
	free(d->vfs);
	free(d->link);
	free(d);
}

void pci_tree_free(struct pci_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_devs; i++)
		pci_function_free(t->devs[i]);
	free(t->devs);
	strv_free(t->warnings);
	free(t->root);
	free(t);
}

bool sysfs_root_is_live(const char *root)
{
	if (!root)
		return true;
	_cleanup_free_ char *real = realpath(root, NULL);
	return real && strcmp(real, SYSFS_DEFAULT_ROOT) == 0;
}

static const char *errno_name(int err)
{
	return fs_strerror(err);
}

/* Reads a hex ID file ("0x8086"). Missing is reported by the caller's rule. */
static int read_id(struct pci_tree *t, struct pci_function *d, int fd, const char *attr, uint16_t *ret,
		   bool required)
{
	uint32_t v;
	int r = read_u32_at(fd, attr, 16, &v);
	if (r == 0 && v > 0xffff)
		r = -ERANGE;
	if (r < 0) {
		if (required || r != -ENOENT)
			pci_tree_warn(t, "%s: cannot read %s: %s", d->addr, attr, errno_name(r));
		return r;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* The MAC the function's first netdev itself carries (net/NAME/address):
 * for a VF, its own view, which can differ from the one its PF gave it. */
static void read_netdev_mac(struct pci_function *d, int fd)
{
	if (!d->netdevs)
		return;
	_cleanup_free_ char *rel = path_join("net", d->netdevs[0]), *path = rel ? path_join(rel, "address") : NULL;
	_cleanup_free_ char *text = NULL;
	if (!path || read_text_at(fd, path, 64, &text) < 0)
		return;
	if (vf_mac_parse(text, d->netdev_mac) == 0)
		d->netdev_mac_len = 6;
}

/* net/NAME/{mtu,flags,name_assign_type} of the first netdev: unknown stays
 * 0 / invalid / -1 (name_assign_type reads EINVAL for NET_NAME_UNKNOWN). */
static void read_netdev_link(struct pci_function *d, int fd)
{
	d->netdev_name_assign_type = -1;
	if (!d->netdevs)
		return;
	_cleanup_free_ char *rel = path_join("net", d->netdevs[0]);
	_cleanup_free_ char *mtu = rel ? path_join(rel, "mtu") : NULL, *flags = rel ? path_join(rel, "flags") : NULL,
			    *nat = rel ? path_join(rel, "name_assign_type") : NULL;
	uint32_t v;
	if (mtu && read_u32_at(fd, mtu, 10, &v) == 0)
		d->netdev_mtu = v;
	if (flags && read_u32_at(fd, flags, 0, &v) == 0) {
		d->netdev_flags = v;
		d->netdev_flags_valid = true;
	}
	if (nat && read_u32_at(fd, nat, 10, &v) == 0 && v <= 255)
		d->netdev_name_assign_type = (int)v;
}

static void read_netdevs(struct pci_tree *t, struct pci_function *d, int fd)
{
	int nfd = openat(fd, "net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0) {
		if (errno != ENOENT)
			pci_tree_warn(t, "%s: cannot read net/: %s", d->addr, strerror(errno));
		return;
	}
	DIR *dir = fdopendir(nfd);
	if (!dir) {
		close(nfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char *name = strdup(de->d_name);
		if (!name || strv_push(&d->netdevs, name) < 0)
			break;
	}
	closedir(dir);
	strv_sort(d->netdevs);
	read_netdev_mac(d, fd);
	read_netdev_link(d, fd);
}

static void read_sriov(struct pci_tree *t, struct pci_function *d, int fd)
{
	struct sriov_info *s = &d->sriov;
	int r;

	s->autoprobe = -1;
	r = read_u32_at(fd, "sriov_totalvfs", 0, &s->totalvfs);
	if (r < 0) {
		pci_tree_warn(t, "%s: sriov_totalvfs unreadable: %s", d->addr, errno_name(r));
		return;
	}
	r = read_u32_at(fd, "sriov_numvfs", 0, &s->numvfs);
	if (r < 0) {
		pci_tree_warn(t, "%s: sriov_numvfs unreadable: %s", d->addr, errno_name(r));
		return;
	}
	s->valid = true;
	if (s->numvfs > s->totalvfs)
		pci_tree_warn(t, "%s: sriov_numvfs %u exceeds sriov_totalvfs %u", d->addr, s->numvfs,
			      s->totalvfs);
	/* The rest is informative: older kernels lack some of these files. */
	if ((r = read_u32_at(fd, "sriov_offset", 0, &s->offset)) < 0 && r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_offset unreadable: %s", d->addr, errno_name(r));
	s->offset_valid = r == 0;
	if ((r = read_u32_at(fd, "sriov_stride", 0, &s->stride)) < 0 && r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_stride unreadable: %s", d->addr, errno_name(r));
	s->stride_valid = r == 0;
	uint32_t vfdev;
	/* The kernel prints sriov_vf_device as bare hex ("10ca"). */
	if ((r = read_u32_at(fd, "sriov_vf_device", 16, &vfdev)) == 0 && vfdev <= 0xffff)
		s->vf_device_id = (uint16_t)vfdev;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_vf_device unreadable: %s", d->addr,
			      errno_name(r < 0 ? r : -ERANGE));
	uint32_t ap;
	if ((r = read_u32_at(fd, "sriov_drivers_autoprobe", 0, &ap)) == 0 && ap <= 1)
		s->autoprobe = (int)ap;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_drivers_autoprobe unreadable: %s", d->addr,
			      errno_name(r < 0 ? r : -ERANGE));
}

static int read_device(struct pci_tree *t, int devices_fd, const char *name, struct pci_function **ret)
{
	struct pci_addr a;
	if (pci_addr_parse(name, &a) < 0) {
		pci_tree_warn(t, "bus/pci/devices/%s: not a PCI address, ignored", name);
		return -EINVAL;
	}
	/* O_DIRECTORY follows the bus/pci/devices symlink; a dangling one fails here. */
	_cleanup_close_ int fd = openat(devices_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pci_tree_warn(t, "bus/pci/devices/%s: %s, ignored", name, strerror(errno));
		return -errno;
	}

	struct pci_function *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pci_addr_format(&a, d->addr);
	d->numa_node = -1;
	d->iommu_group = -1;
	d->netdev_name_assign_type = -1;

	d->ids_valid = read_id(t, d, fd, "vendor", &d->vendor_id, true) == 0 &&
		       read_id(t, d, fd, "device", &d->device_id, true) == 0;
	d->subsys_ids_valid = read_id(t, d, fd, "subsystem_vendor", &d->subsys_vendor_id, false) == 0 &&
			      read_id(t, d, fd, "subsystem_device", &d->subsys_device_id, false) == 0;
	uint32_t cls;
	int r = read_u32_at(fd, "class", 16, &cls);
	if (r == 0 && cls <= 0xffffff) {
		d->class_code = cls;
		d->class_valid = true;
	} else
		pci_tree_warn(t, "%s: cannot read class: %s", d->addr, errno_name(r < 0 ? r : -ERANGE));

	r = read_link_basename_at(fd, "driver", &d->driver);
	if (r < 0 && r != -ENOENT)
		pci_tree_warn(t, "%s: cannot read driver link: %s", d->addr, errno_name(r));

	_cleanup_free_ char *override = NULL;
	if (read_text_at(fd, "driver_override", ATTR_MAX, &override) == 0 &&
	    !str_empty(override) && strcmp(override, "(null)") != 0)
		d->driver_override = TAKE_PTR(override);

	int32_t numa;
	r = read_i32_at(fd, "numa_node", 10, &numa);
	if (r == 0 && numa >= -1)
		d->numa_node = numa;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: cannot read numa_node: %s", d->addr, errno_name(r < 0 ? r : -ERANGE));

	_cleanup_free_ char *group = NULL;
	r = read_link_basename_at(fd, "iommu_group", &group);
	if (r == 0) {
		uint32_t g;
		if (parse_u32(group, 10, &g) == 0 && g <= INT32_MAX)
			d->iommu_group = (int32_t)g;
		else
			pci_tree_warn(t, "%s: iommu_group link points at '%s', not a group number",
				      d->addr, group);
	} else if (r != -ENOENT)
		pci_tree_warn(t, "%s: cannot read iommu_group link: %s", d->addr, errno_name(r));

	read_netdevs(t, d, fd);

	if (faccessat(fd, "sriov_totalvfs", F_OK, 0) == 0) {
		d->is_pf = true;
		read_sriov(t, d, fd);
	}
	*ret = d;
	return 0;
}

static int cmp_dev_addr(const void *a, const void *b)
{
	const struct pci_function *x = *(const struct pci_function *const *)a;
	const struct pci_function *y = *(const struct pci_function *const *)b;
	return strcmp(x->addr, y->addr);
}

struct pci_function *pci_tree_find_addr(const struct pci_tree *t, const char *addr)
{
	struct pci_addr a;
	struct pci_function key = {0}, *keyp = &key;

	if (t->n_devs == 0 || pci_addr_parse(addr, &a) < 0)
		return NULL;
	pci_addr_format(&a, key.addr);
	struct pci_function **found = bsearch(&keyp, t->devs, t->n_devs, sizeof(*t->devs), cmp_dev_addr);
	return found ? *found : NULL;
}

static int cmp_vf_index(const void *a, const void *b)
{
	const struct pci_function *x = *(const struct pci_function *const *)a;
	const struct pci_function *y = *(const struct pci_function *const *)b;
	return (x->vf_index > y->vf_index) - (x->vf_index < y->vf_index);
}

/* Whether the function virtfn link `name` of pf points at may be its VF N.
 * The model stays a forest of depth one whatever the tree says: a VF is
 * never a PF (so a PF listing itself, or two PFs listing each other, is
 * refused), its physfn must point back at the PF listing it, and a function
 * is the VF of at most one PF. Each refusal is a warning. */
static bool vf_link_sound(struct pci_tree *t, const struct pci_function *pf, const char *name,
			  struct pci_function *vf, int devices_fd)
{
	if (vf == pf) {
		pci_tree_warn(t, "%s: %s points at the PF itself, ignored", pf->addr, name);
		return false;
	}
	if (vf->is_pf) {
		pci_tree_warn(t, "%s: %s points at %s, which is a PF itself (a VF never is), ignored", pf->addr,
			      name, vf->addr);
		return false;
	}
	if (vf->pf) {
		pci_tree_warn(t, "%s: %s points at %s, already VF %u of %s, ignored", pf->addr, name, vf->addr,
			      vf->vf_index, vf->pf->addr);
		return false;
	}
	_cleanup_close_ int vfd = openat(devices_fd, vf->addr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *physfn = NULL;
	int r = vfd < 0 ? -errno : read_link_basename_at(vfd, "physfn", &physfn);
	if (r < 0) {
		pci_tree_warn(t, "%s: no physfn link (%s), but %s lists it as %s; not taken as its VF", vf->addr,
			      errno_name(r), pf->addr, name);
		return false;
	}
	if (strcmp(physfn, pf->addr) != 0) {
		pci_tree_warn(t, "%s: physfn points at %s, but %s lists it as %s; not taken as its VF", vf->addr,
			      physfn, pf->addr, name);
		return false;
	}
	return true;
}

/* Links a PF to its VFs through virtfnN (the N is the VF number that
 * rtnetlink uses). */
static int link_vfs(struct pci_tree *t, struct pci_function *pf, int devices_fd)
{
	_cleanup_close_ int fd = openat(devices_fd, pf->addr, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int dfd = dup(fd);
	if (dfd < 0)
		return -errno;
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "virtfn", 6) != 0)
			continue;
		uint32_t index;
		if (parse_u32(de->d_name + 6, 10, &index) < 0 || de->d_name[6] == '+' ||
		    de->d_name[6] == ' ') {
			pci_tree_warn(t, "%s: %s: not a VF link name, ignored", pf->addr, de->d_name);
			continue;
		}
		_cleanup_free_ char *target = NULL;
		if (read_link_basename_at(fd, de->d_name, &target) < 0) {
			pci_tree_warn(t, "%s: %s is not a link, ignored", pf->addr, de->d_name);
			continue;
		}
		struct pci_function *vf = pci_tree_find_addr(t, target);
		if (!vf) {
			pci_tree_warn(t, "%s: %s points at %s, which is not a PCI device (dangling link), ignored",
				      pf->addr, de->d_name, target);
			continue;
		}
		if (!vf_link_sound(t, pf, de->d_name, vf, devices_fd))
			continue;
		const struct pci_function *same = pci_function_vf(pf, index);
		if (same) {
			pci_tree_warn(t, "%s: %s points at %s, but VF %u is %s already, ignored", pf->addr, de->d_name,
				      vf->addr, index, same->addr);
			continue;
		}
		struct pci_function **vfs = realloc(pf->vfs, (pf->n_vfs + 1) * sizeof(*vfs));
		if (!vfs) {
			r = -ENOMEM;
			break;
		}
		pf->vfs = vfs;
		pf->vfs[pf->n_vfs++] = vf;
		vf->pf = pf;
		vf->vf_index = index;
	}
	closedir(dir);
	if (r < 0)
		return r;
	if (pf->n_vfs > 1) /* qsort(NULL, 0) is undefined */
		qsort(pf->vfs, pf->n_vfs, sizeof(*pf->vfs), cmp_vf_index);
	if (pf->sriov.valid && pf->n_vfs != pf->sriov.numvfs)
		pci_tree_warn(t, "%s: sriov_numvfs is %u but %zu virtfn links exist", pf->addr,
			      pf->sriov.numvfs, pf->n_vfs);
	return 0;
}

static int cmp_dev_group(const void *a, const void *b)
{
	const struct pci_function *x = *(const struct pci_function *const *)a;
	const struct pci_function *y = *(const struct pci_function *const *)b;
	if (x->iommu_group != y->iommu_group)
		return (x->iommu_group > y->iommu_group) - (x->iommu_group < y->iommu_group);
	return strcmp(x->addr, y->addr);
}

/* Group peers are derived from the devices' own iommu_group links, which is
 * what the kernel's kernel/iommu_groups/N/devices lists too. */
static int link_iommu_groups(struct pci_tree *t)
{
	_cleanup_free_ struct pci_function **by_group = malloc((t->n_devs + 1) * sizeof(*by_group));
	if (!by_group)
		return -ENOMEM;
	if (t->n_devs == 0)
		return 0;
	memcpy(by_group, t->devs, t->n_devs * sizeof(*by_group));
	qsort(by_group, t->n_devs, sizeof(*by_group), cmp_dev_group);

	for (size_t i = 0; i < t->n_devs;) {
		size_t j = i;
		while (j < t->n_devs && by_group[j]->iommu_group == by_group[i]->iommu_group)
			j++;
		if (by_group[i]->iommu_group >= 0)
			for (size_t k = i; k < j; k++) {
				struct pci_function *d = by_group[k];
				d->group_peers = malloc((j - i) * sizeof(*d->group_peers));
				if (!d->group_peers)
					return -ENOMEM;
				memcpy(d->group_peers, by_group + i, (j - i) * sizeof(*d->group_peers));
				d->n_group_peers = j - i;
			}
		i = j;
	}
	return 0;
}

int pci_tree_scan(const char *root, struct pci_tree **ret)
{
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	int devices_fd = openat(rootfd, "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (devices_fd < 0)
		return -errno;
	DIR *dir = fdopendir(devices_fd);
	if (!dir) {
		int r = -errno;
		close(devices_fd);
		return r;
	}

	struct pci_tree *t = calloc(1, sizeof(*t));
	int r = -ENOMEM;
	if (!t || !(t->root = strdup(root)))
		goto fail;

	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		struct pci_function *d = NULL;
		r = read_device(t, devices_fd, de->d_name, &d);
		if (r == -ENOMEM)
			goto fail;
		if (r < 0)
			continue;
		if (t->n_devs == cap) {
			cap = cap ? cap * 2 : 64;
			struct pci_function **devs = realloc(t->devs, cap * sizeof(*devs));
			if (!devs) {
				pci_function_free(d);
				r = -ENOMEM;
				goto fail;
			}
			t->devs = devs;
		}
		t->devs[t->n_devs++] = d;
	}
	if (t->n_devs > 1)
		qsort(t->devs, t->n_devs, sizeof(*t->devs), cmp_dev_addr);

	for (size_t i = 0; i < t->n_devs; i++)
		if (t->devs[i]->is_pf && (r = link_vfs(t, t->devs[i], devices_fd)) < 0)
			goto fail;
	if ((r = link_iommu_groups(t)) < 0)
		goto fail;

	closedir(dir);
	*ret = t;
	return 0;
fail:
	closedir(dir);
	pci_tree_free(t);
	return r;
}

bool pci_function_netdev_may_be_elsewhere(const struct pci_function *d)
{
	return (d->class_code >> 16) == PCI_CLASS_NETWORK && d->driver && strcmp(d->driver, "vfio-pci") != 0 &&
	       strcmp(d->driver, "pci-stub") != 0 && !(d->netdevs && d->netdevs[0]);
}

struct pci_function *pci_tree_find_netdev(const struct pci_tree *t, const char *name)
{
	for (size_t i = 0; i < t->n_devs; i++)
		if (strv_contains(t->devs[i]->netdevs, name))
			return t->devs[i];
	return NULL;
}

struct pci_function *pci_function_vf(const struct pci_function *pf, uint32_t index)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		if (pf->vfs[i]->vf_index == index)
			return pf->vfs[i];
	return NULL;
}

size_t pci_tree_count_pfs(const struct pci_tree *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_devs; i++)
		n += t->devs[i]->is_pf;
	return n;
}

size_t pci_tree_count_vfs(const struct pci_tree *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_devs; i++)
		n += t->devs[i]->pf != NULL;
	return n;
}

int sysfs_pci_drivers(const char *root, char ***ret)
{
	_cleanup_close_ int rootfd = fs_open_root(root ? root : SYSFS_DEFAULT_ROOT);
	if (rootfd < 0)
		return rootfd;
	int fd = fs_open_beneath(rootfd, "bus/pci/drivers", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	char **v = NULL;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (de->d_name[0] != '.')
			r = strv_pushf(&v, "%s", de->d_name);
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r < 0) {
		strv_free(v);
		return r;
	}
	strv_sort(v);
	*ret = v;
	return 0;
}

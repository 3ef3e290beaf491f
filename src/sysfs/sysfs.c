#include "sysfs.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/statfs.h>

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
	free(t->by_group);
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

/* --- the scan's reads ------------------------------------------------------------
 *
 * Each fact is read once, with as few system calls as the kernel allows:
 * every file is opened relative to its device's folder fd, read with one
 * read() into the scan's own buffer (a sysfs attribute hands over all of
 * its text, at most a page, in the first read; so does a regular file of a
 * copied tree, so no second read to see the end), and closed. Folders are
 * listed with getdents64 into a reused buffer. Nothing is allocated per
 * read: only what the model keeps (names) is copied out.
 *
 * Closing is deferred: the files the scan is done with are kept in a small
 * batch and closed together, with one close_range() per run of adjacent
 * numbers (the kernel hands out the lowest free number, so a batch is one
 * run, see SCAN_DONE_FDS): a close per file was a third of the scan's
 * system calls. Every
 * number in a run is one of ours, still open, so no other thread's file can
 * be in it. An open that finds the process out of files (EMFILE) closes the
 * batch and tries once more. */

/* A page: the most a sysfs attribute (uevent included) can hold. */
#define SCAN_BUF 4096
/* Attribute files holding one number are tiny; 64 bytes is generous. */
#define NUMBER_MAX 64
/* Files closed together (well below any RLIMIT_NOFILE); the batch is
 * closed between two devices once it holds SCAN_DONE_FDS / 2 (then nothing
 * else of the scan is open, so the batch is one run of numbers), and in
 * the middle of one only when full. */
#define SCAN_DONE_FDS 256

/* The basename of a link the scan keeps until all devices are read: inline
 * when it fits (a PCI address always does), on the heap otherwise (an odd
 * tree, named as it is in the warnings), so that a scan of 4096 VFs does
 * not hold NAME_MAX bytes per link. */
struct link_name {
	char inl[PCI_ADDR_STRLEN + 3];
	char *heap;
};

static int link_name_set(struct link_name *n, const char *s)
{
	size_t len = strlen(s);
	if (len < sizeof(n->inl)) {
		memcpy(n->inl, s, len + 1);
		return 0;
	}
	return (n->heap = strdup(s)) ? 0 : -ENOMEM;
}

static const char *link_name_get(const struct link_name *n)
{
	return n->heap ? n->heap : n->inl;
}

/* A PF's virtfnN link as the scan found it, linked once all devices are read. */
struct vf_link {
	char name[32]; /* "virtfn12" */
	uint32_t index;
	struct link_name target; /* basename of the link text */
};

/* Per-device facts only the scan needs. */
struct scan_dev {
	struct pci_function *d;
	int physfn_error;                /* 0: physfn read into physfn; else -errno */
	struct link_name physfn;         /* basename of the physfn link (VFs) */
	struct vf_link *links;           /* PFs: their virtfnN links, in folder order */
	size_t n_links, cap_links;
};

struct scan {
	struct pci_tree *t;
	struct scan_dev *devs;           /* sorted like t->devs once all are read */
	size_t n, cap;
	int done_fds[SCAN_DONE_FDS];     /* read, not closed yet */
	size_t n_done;
	char buf[SCAN_BUF];
	char link[PATH_MAX];
	/* sysfs and tmpfs fill a getdents64 buffer until the next entry does
	 * not fit or the folder ends: an answer that leaves room for the
	 * largest entry is the end, and the call that would say so (0) is
	 * saved. Other file systems (a tree on FUSE or NFS may answer short
	 * before the end) are read to the 0. */
	bool short_is_end;
	/* getdents64 buffers (records are 8-byte aligned): one for
	 * bus/pci/devices, one for the folders listed while it is (net/, a PF's). */
	union {
		char bytes[32768];
		uint64_t align;
	} dents_outer, dents_inner;
};

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Closes the batch: one close_range() per run of adjacent numbers. */
static void scan_close_done(struct scan *s)
{
	if (s->n_done > 1)
		qsort(s->done_fds, s->n_done, sizeof(*s->done_fds), cmp_int);
	for (size_t i = 0; i < s->n_done;) {
		size_t j = i + 1;
		while (j < s->n_done && s->done_fds[j] == s->done_fds[j - 1] + 1)
			j++;
		if (j - i == 1 || close_range((unsigned)s->done_fds[i], (unsigned)s->done_fds[j - 1], 0) < 0)
			for (size_t k = i; k < j; k++) /* a kernel before 5.9 */
				close(s->done_fds[k]);
		i = j;
	}
	s->n_done = 0;
}

/* fd is done with: closed with the batch. */
static void scan_close(struct scan *s, int fd)
{
	if (fd < 0)
		return;
	if (s->n_done == SCAN_DONE_FDS)
		scan_close_done(s);
	s->done_fds[s->n_done++] = fd;
}

/* A folder fd closed with the batch at the end of its scope. */
struct scan_fd {
	struct scan *s;
	int fd;
};

static void scan_fdp(struct scan_fd *f)
{
	scan_close(f->s, f->fd);
}

static int scan_openat(struct scan *s, int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags);
	if (fd < 0 && errno == EMFILE && s->n_done) {
		scan_close_done(s);
		fd = openat(dirfd, name, flags);
	}
	return fd;
}

/* Reads the attribute file name in dirfd into s->buf (trailing whitespace
 * cut, NUL-terminated): -EFBIG beyond max bytes, -EBADMSG on a NUL byte,
 * -EBADFD for what is not a regular file (a FIFO: opened O_NONBLOCK, it
 * reads as empty at once, and only then is it looked at). */
static int attr_read(struct scan *s, int dirfd, const char *name, size_t max, const char **ret)
{
	int fd = scan_openat(s, dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ssize_t n;
	do
		n = read(fd, s->buf, sizeof(s->buf) - 1);
	while (n < 0 && errno == EINTR);
	int r = n < 0 ? -errno : 0;
	struct stat st;
	if (n == 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		r = -EBADFD;
	scan_close(s, fd);
	if (r < 0)
		return r;
	size_t len = (size_t)n;
	if (len > max)
		return -EFBIG;
	if (memchr(s->buf, '\0', len))
		return -EBADMSG;
	while (len > 0 && isspace((unsigned char)s->buf[len - 1]))
		len--;
	s->buf[len] = '\0';
	*ret = s->buf;
	return 0;
}

static int attr_u32(struct scan *s, int dirfd, const char *name, int base, uint32_t *ret)
{
	const char *text;
	int r = attr_read(s, dirfd, name, NUMBER_MAX, &text);
	return r < 0 ? r : parse_u32(text, base, ret);
}

static int attr_i32(struct scan *s, int dirfd, const char *name, int base, int32_t *ret)
{
	const char *text;
	int r = attr_read(s, dirfd, name, NUMBER_MAX, &text);
	return r < 0 ? r : parse_i32(text, base, ret);
}

/* The last component of the link name in dirfd, in s->link. */
static int link_base(struct scan *s, int dirfd, const char *name, const char **ret)
{
	ssize_t n = readlinkat(dirfd, name, s->link, sizeof(s->link));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(s->link))
		return -ENAMETOOLONG; /* cut: never act on part of a link */
	while (n > 1 && s->link[n - 1] == '/')
		n--;
	s->link[n] = '\0';
	const char *base = strrchr(s->link, '/');
	base = base ? base + 1 : s->link;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	*ret = base;
	return 0;
}

/* Calls fn(s, name, d_type, data) for each entry of the folder fd but "."
 * and "..", listed with getdents64 into buf (len bytes); fn returns 0 to go
 * on or -errno to stop. */
static int dir_each(struct scan *s, int fd, char *buf, size_t len,
		    int (*fn)(struct scan *, const char *, unsigned char, void *), void *data)
{
	for (;;) {
		ssize_t n = getdents64(fd, buf, len);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 0;
		bool end = s->short_is_end && len - (size_t)n >= sizeof(struct dirent64);
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(void *)(buf + off);
			off += de->d_reclen;
			if (de->d_name[0] == '.' &&
			    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
				continue;
			int r = fn(s, de->d_name, de->d_type, data);
			if (r < 0)
				return r;
		}
		if (end)
			return 0;
	}
}

/* "a/b" into buf, or -ENAMETOOLONG. */
static int subpath(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A device's folder, reached by path through bus/pci/devices (one system
 * call less per device than opening the folder first; only a PF's is
 * opened, to list its virtfnN links): at() names one of its files. */
struct dev_at {
	int fd;                        /* bus/pci/devices */
	char path[NAME_MAX + 2 + 64];  /* "NAME/", then the file at() names */
	size_t base;                   /* strlen("NAME/") */
};

static int dev_at_init(struct dev_at *a, int devices_fd, const char *name)
{
	a->fd = devices_fd;
	int n = snprintf(a->path, sizeof(a->path) - 64, "%s/", name);
	if (n < 0 || (size_t)n >= sizeof(a->path) - 64)
		return -ENAMETOOLONG;
	a->base = (size_t)n;
	return 0;
}

/* "NAME/file": file is one of the scan's own short attribute names. */
static const char *at(struct dev_at *a, const char *file)
{
	snprintf(a->path + a->base, sizeof(a->path) - a->base, "%s", file);
	return a->path;
}

/* net/NAME/{address,mtu,flags,name_assign_type} of the first netdev, read
 * through net/'s fd (one component less to look up per file):
 * unknown stays 0 / invalid / -1 (name_assign_type reads EINVAL for
 * NET_NAME_UNKNOWN; a VF's is not read: only a PF is matched by its
 * netdev's name). The address is the MAC the netdev itself carries: for
 * a VF its own view, which can differ from the one its PF gave it. */
static void read_netdev_attrs(struct scan *s, struct pci_function *d, int nfd, bool is_vf)
{
	char path[NAME_MAX + 32];
	const char *text;
	uint32_t v;
	const char *name = d->netdevs[0];
	if (subpath(path, sizeof(path), name, "address") == 0 && attr_read(s, nfd, path, 64, &text) == 0 &&
	    vf_mac_parse(text, d->netdev_mac) == 0)
		d->netdev_mac_len = 6;
	bool state = !(s->t->scan_flags & PCI_SCAN_NO_LINK_STATE);
	if (state && subpath(path, sizeof(path), name, "mtu") == 0 && attr_u32(s, nfd, path, 10, &v) == 0)
		d->netdev_mtu = v;
	if (state && subpath(path, sizeof(path), name, "flags") == 0 && attr_u32(s, nfd, path, 0, &v) == 0) {
		d->netdev_flags = v;
		d->netdev_flags_valid = true;
	}
	if (!is_vf && subpath(path, sizeof(path), name, "name_assign_type") == 0 && attr_u32(s, nfd, path, 10, &v) == 0 &&
	    v <= 255)
		d->netdev_name_assign_type = (int)v;
}

static int add_netdev(struct scan *s, const char *name, unsigned char type, void *data)
{
	(void)s;
	(void)type;
	struct pci_function *d = data;
	return strv_pushf(&d->netdevs, "%s", name);
}

static void read_netdevs(struct scan *s, struct pci_function *d, struct dev_at *a, bool is_vf)
{
	int nfd = scan_openat(s, a->fd, at(a, "net"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (nfd < 0) {
		if (errno != ENOENT)
			pci_tree_warn(s->t, "%s: cannot read net/: %s", d->addr, strerror(errno));
		return;
	}
	(void)dir_each(s, nfd, s->dents_inner.bytes, sizeof(s->dents_inner.bytes), add_netdev, d);
	if (d->netdevs) {
		strv_sort(d->netdevs);
		read_netdev_attrs(s, d, nfd, is_vf);
	}
	scan_close(s, nfd);
}

static void read_sriov(struct scan *s, struct pci_function *d, struct dev_at *a, uint32_t totalvfs)
{
	struct pci_tree *t = s->t;
	struct sriov_info *si = &d->sriov;
	int r;

	si->totalvfs = totalvfs;
	r = attr_u32(s, a->fd, at(a, "sriov_numvfs"), 0, &si->numvfs);
	if (r < 0) {
		pci_tree_warn(t, "%s: sriov_numvfs unreadable: %s", d->addr, errno_name(r));
		return;
	}
	si->valid = true;
	if (si->numvfs > si->totalvfs)
		pci_tree_warn(t, "%s: sriov_numvfs %u exceeds sriov_totalvfs %u", d->addr, si->numvfs,
			      si->totalvfs);
	/* The rest is informative: older kernels lack some of these files. */
	if ((r = attr_u32(s, a->fd, at(a, "sriov_offset"), 0, &si->offset)) < 0 && r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_offset unreadable: %s", d->addr, errno_name(r));
	si->offset_valid = r == 0;
	if ((r = attr_u32(s, a->fd, at(a, "sriov_stride"), 0, &si->stride)) < 0 && r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_stride unreadable: %s", d->addr, errno_name(r));
	si->stride_valid = r == 0;
	uint32_t vfdev;
	/* The kernel prints sriov_vf_device as bare hex ("10ca"). */
	if ((r = attr_u32(s, a->fd, at(a, "sriov_vf_device"), 16, &vfdev)) == 0 && vfdev <= 0xffff)
		si->vf_device_id = (uint16_t)vfdev;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_vf_device unreadable: %s", d->addr, errno_name(r < 0 ? r : -ERANGE));
	uint32_t ap;
	if ((r = attr_u32(s, a->fd, at(a, "sriov_drivers_autoprobe"), 0, &ap)) == 0 && ap <= 1)
		si->autoprobe = (int)ap;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: sriov_drivers_autoprobe unreadable: %s", d->addr,
			      errno_name(r < 0 ? r : -ERANGE));
}

/* A PF's folder being listed for its virtfnN links. */
struct pf_listing {
	struct scan_dev *sd;
	int fd;
};

/* Collects one virtfnN link of a PF, its target read now through the PF's
 * folder fd, so nothing is reopened when the VFs are linked. */
static int add_vf_link(struct scan *s, const char *name, unsigned char type, void *data)
{
	(void)type;
	struct pf_listing *l = data;
	struct scan_dev *sd = l->sd;
	const char *addr = sd->d->addr;
	if (strncmp(name, "virtfn", 6) != 0)
		return 0;
	uint32_t index;
	if (strlen(name) >= sizeof(sd->links->name) || parse_u32(name + 6, 10, &index) < 0 || name[6] == '+' ||
	    name[6] == ' ') {
		pci_tree_warn(s->t, "%s: %s: not a VF link name, ignored", addr, name);
		return 0;
	}
	const char *target;
	if (link_base(s, l->fd, name, &target) < 0) {
		pci_tree_warn(s->t, "%s: %s is not a link, ignored", addr, name);
		return 0;
	}
	if (sd->n_links == sd->cap_links) {
		size_t cap = sd->cap_links ? sd->cap_links * 2 : 8;
		struct vf_link *links = realloc(sd->links, cap * sizeof(*links));
		if (!links)
			return -ENOMEM;
		sd->links = links;
		sd->cap_links = cap;
	}
	struct vf_link *v = &sd->links[sd->n_links];
	*v = (struct vf_link){.index = index};
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (link_name_set(&v->target, target) < 0)
		return -ENOMEM;
	sd->n_links++;
	return 0;
}

/* Reads hex digits into *ret: exactly what the kernel prints (%04X), any
 * case, at most max; *p moves past them. */
static bool uevent_hex(const char **p, unsigned max, unsigned *ret)
{
	unsigned v = 0;
	size_t n = 0;
	for (; isxdigit((unsigned char)**p); (*p)++, n++) {
		if (n == 8)
			return false;
		v = v * 16 + (unsigned)(isdigit((unsigned char)**p) ? **p - '0' : (tolower((unsigned char)**p) - 'a' + 10));
	}
	if (n == 0 || v > max)
		return false;
	*ret = v;
	return true;
}

/* "VVVV:DDDD" as pci_uevent() prints PCI_ID and PCI_SUBSYS_ID. */
static bool uevent_id_pair(const char *v, uint16_t *a, uint16_t *b)
{
	unsigned x, y;
	if (!uevent_hex(&v, 0xffff, &x) || *v++ != ':' || !uevent_hex(&v, 0xffff, &y) || *v)
		return false;
	*a = (uint16_t)x;
	*b = (uint16_t)y;
	return true;
}

/* What the device's uevent says (the kernel's pci_uevent(): DRIVER= when
 * bound, PCI_CLASS=%04X, PCI_ID=%04X:%04X, PCI_SUBSYS_ID=%04X:%04X): one
 * read for the driver, the IDs and the class. have_* say which keys were
 * there and sound; the caller reads a missing one from its own file. */
struct uevent_facts {
	bool have_ids, have_subsys, have_class;
};

static int read_uevent(struct scan *s, struct pci_function *d, struct dev_at *a, struct uevent_facts *u)
{
	const char *text;
	int r = attr_read(s, a->fd, at(a, "uevent"), sizeof(s->buf) - 1, &text);
	if (r < 0)
		return r;
	*u = (struct uevent_facts){0};
	for (char *line = s->buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(line, "DRIVER") == 0) {
			if (*v && !d->driver && !(d->driver = strdup(v)))
				return -ENOMEM;
		} else if (strcmp(line, "PCI_ID") == 0)
			u->have_ids = uevent_id_pair(v, &d->vendor_id, &d->device_id);
		else if (strcmp(line, "PCI_SUBSYS_ID") == 0)
			u->have_subsys = uevent_id_pair(v, &d->subsys_vendor_id, &d->subsys_device_id);
		else if (strcmp(line, "PCI_CLASS") == 0) {
			unsigned cls;
			const char *p = v;
			if (uevent_hex(&p, 0xffffff, &cls) && !*p) {
				d->class_code = cls;
				u->have_class = true;
			}
		}
	}
	return 0;
}

/* Reads a hex ID file ("0x8086"): where uevent has no PCI_ID. */
static int read_id(struct scan *s, struct pci_function *d, struct dev_at *a, const char *attr, uint16_t *ret,
		   bool required)
{
	uint32_t v;
	int r = attr_u32(s, a->fd, at(a, attr), 16, &v);
	if (r == 0 && v > 0xffff)
		r = -ERANGE;
	if (r < 0) {
		if (required || r != -ENOENT)
			pci_tree_warn(s->t, "%s: cannot read %s: %s", d->addr, attr, errno_name(r));
		return r;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* The facts uevent did not give, from their own files (a tree copied
 * without uevent, a kernel that left one out). */
static int read_ids_from_files(struct scan *s, struct pci_function *d, struct dev_at *a, const struct uevent_facts *u,
			       bool driver_known)
{
	struct pci_tree *t = s->t;
	int r;
	if (!u->have_ids)
		d->ids_valid = read_id(s, d, a, "vendor", &d->vendor_id, true) == 0 &&
			       read_id(s, d, a, "device", &d->device_id, true) == 0;
	if (!u->have_subsys)
		d->subsys_ids_valid = read_id(s, d, a, "subsystem_vendor", &d->subsys_vendor_id, false) == 0 &&
				      read_id(s, d, a, "subsystem_device", &d->subsys_device_id, false) == 0;
	if (!u->have_class) {
		uint32_t cls;
		r = attr_u32(s, a->fd, at(a, "class"), 16, &cls);
		if (r == 0 && cls <= 0xffffff) {
			d->class_code = cls;
			d->class_valid = true;
		} else
			pci_tree_warn(t, "%s: cannot read class: %s", d->addr, errno_name(r < 0 ? r : -ERANGE));
	}
	if (!driver_known) {
		const char *drv;
		r = link_base(s, a->fd, at(a, "driver"), &drv);
		if (r == 0 && !(d->driver = strdup(drv)))
			return -ENOMEM;
		if (r < 0 && r != -ENOENT)
			pci_tree_warn(t, "%s: cannot read driver link: %s", d->addr, errno_name(r));
	}
	return 0;
}

/* Why bus/pci/devices/NAME, whose uevent could not be read (err), is no
 * device folder at all (a dangling link, a file): -errno; 0 when it is one
 * (uevent is what is missing). Only an odd tree pays for this open. */
static int device_folder_error(struct scan *s, int devices_fd, const char *name, int err)
{
	if (err != -ENOENT && err != -ENOTDIR && err != -ELOOP)
		return 0;
	int fd = scan_openat(s, devices_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	scan_close(s, fd);
	return 0;
}

/* d's IOMMU group; returns what reading its link gave (-ENOENT: none). */
static int read_iommu_group(struct scan *s, struct pci_function *d, int devices_fd, struct dev_at *dev)
{
	const char *group;
	int r = link_base(s, devices_fd, at(dev, "iommu_group"), &group);
	if (r == 0) {
		uint32_t g;
		if (parse_u32(group, 10, &g) == 0 && g <= INT32_MAX)
			d->iommu_group = (int32_t)g;
		else
			pci_tree_warn(s->t, "%s: iommu_group link points at '%s', not a group number", d->addr, group);
	} else if (r != -ENOENT)
		pci_tree_warn(s->t, "%s: cannot read iommu_group link: %s", d->addr, errno_name(r));
	return r;
}

static int read_device(struct scan *s, int devices_fd, const char *name, struct scan_dev *sd)
{
	struct pci_tree *t = s->t;
	struct pci_addr a;
	struct dev_at dev;
	if (pci_addr_parse(name, &a) < 0 || dev_at_init(&dev, devices_fd, name) < 0) {
		pci_tree_warn(t, "bus/pci/devices/%s: not a PCI address, ignored", name);
		return -EINVAL;
	}

	struct pci_function *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pci_addr_format(&a, d->addr);
	d->numa_node = -1;
	d->iommu_group = -1;
	d->netdev_name_assign_type = -1;
	d->sriov.autoprobe = -1;

	/* A VF's physfn, read now (one readlink) and checked against the PF's
	 * virtfnN once every device is read. A VF has no SR-IOV capability of
	 * its own: a function with physfn is not asked for sriov_totalvfs. */
	const char *physfn;
	*sd = (struct scan_dev){.d = d};
	sd->physfn_error = link_base(s, devices_fd, at(&dev, "physfn"), &physfn);
	if (sd->physfn_error == 0 && link_name_set(&sd->physfn, physfn) < 0)
		return -ENOMEM;
	bool is_vf = sd->physfn_error == 0;
	uint32_t totalvfs = 0;
	int total_r = is_vf ? -ENOENT : attr_u32(s, devices_fd, at(&dev, "sriov_totalvfs"), 0, &totalvfs);
	if (!is_vf && total_r == -ENOENT && (t->scan_flags & PCI_SCAN_SRIOV_ONLY)) {
		/* No group link either: a device that is gone is told apart. */
		int gone = read_iommu_group(s, d, devices_fd, &dev) == -ENOENT
				   ? device_folder_error(s, devices_fd, name, -ENOENT)
				   : 0;
		if (gone < 0) {
			pci_tree_warn(t, "bus/pci/devices/%s: %s, ignored", name, strerror(-gone));
			pci_function_free(d);
			*sd = (struct scan_dev){0};
		}
		return gone;
	}

	/* The path follows the bus/pci/devices symlink; a dangling one fails
	 * the first read, and the device is ignored. */
	struct uevent_facts u = {0};
	int r = read_uevent(s, d, &dev, &u);
	int gone = r < 0 && r != -ENOMEM ? device_folder_error(s, devices_fd, name, r) : 0;
	if (gone < 0) {
		pci_tree_warn(t, "bus/pci/devices/%s: %s, ignored", name, strerror(-gone));
		pci_function_free(d);
		free(sd->physfn.heap);
		*sd = (struct scan_dev){0};
		return gone;
	}
	if (r == -ENOMEM)
		return r;
	d->ids_valid = u.have_ids;
	d->subsys_ids_valid = u.have_subsys;
	d->class_valid = u.have_class;
	if ((r = read_ids_from_files(s, d, &dev, &u, r == 0)) < 0)
		return r;

	const char *text;
	if (attr_read(s, devices_fd, at(&dev, "driver_override"), ATTR_MAX, &text) == 0 && !str_empty(text) &&
	    strcmp(text, "(null)") != 0 && !(d->driver_override = strdup(text)))
		return -ENOMEM;

	(void)read_iommu_group(s, d, devices_fd, &dev);

	/* A VF's NUMA node is its PF's (the kernel gives a VF the node of its
	 * PF's bus), taken when the VFs are linked. */
	int32_t numa;
	r = is_vf ? -ENOENT : attr_i32(s, devices_fd, at(&dev, "numa_node"), 10, &numa);
	if (r == 0 && numa >= -1)
		d->numa_node = numa;
	else if (r != -ENOENT)
		pci_tree_warn(t, "%s: cannot read numa_node: %s", d->addr, errno_name(r < 0 ? r : -ERANGE));

	read_netdevs(s, d, &dev, is_vf);

	r = total_r;
	if (r != -ENOENT) {
		d->is_pf = true;
		if (r < 0)
			pci_tree_warn(t, "%s: sriov_totalvfs unreadable: %s", d->addr, errno_name(r));
		else
			read_sriov(s, d, &dev, totalvfs);
		/* The PF's folder, opened to be listed for its virtfnN links. */
		_cleanup_(scan_fdp) struct scan_fd dir = {s, scan_openat(s, devices_fd, name,
								      O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
		if (dir.fd < 0) {
			pci_tree_warn(t, "%s: cannot list its folder: %s", d->addr, strerror(errno));
			return 0;
		}
		struct pf_listing l = {.sd = sd, .fd = dir.fd};
		if ((r = dir_each(s, dir.fd, s->dents_inner.bytes, sizeof(s->dents_inner.bytes), add_vf_link, &l)) ==
		    -ENOMEM)
			return r;
	}
	return 0;
}

static int cmp_dev_addr(const void *a, const void *b)
{
	const struct pci_function *x = *(const struct pci_function *const *)a;
	const struct pci_function *y = *(const struct pci_function *const *)b;
	return strcmp(x->addr, y->addr);
}

static int cmp_scan_dev(const void *a, const void *b)
{
	const struct scan_dev *x = a, *y = b;
	return strcmp(x->d->addr, y->d->addr);
}

/* Index of addr (formatted) in t->devs, or -1. */
static ssize_t find_index(const struct pci_tree *t, const char *addr)
{
	struct pci_addr a;
	struct pci_function key = {0}, *keyp = &key;

	if (t->n_devs == 0 || pci_addr_parse(addr, &a) < 0)
		return -1;
	pci_addr_format(&a, key.addr);
	struct pci_function **found = bsearch(&keyp, t->devs, t->n_devs, sizeof(*t->devs), cmp_dev_addr);
	return found ? found - t->devs : -1;
}

struct pci_function *pci_tree_find_addr(const struct pci_tree *t, const char *addr)
{
	ssize_t i = find_index(t, addr);
	return i < 0 ? NULL : t->devs[i];
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
			  const struct scan_dev *vsd)
{
	const struct pci_function *vf = vsd->d;
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
	if (vsd->physfn_error < 0) {
		pci_tree_warn(t, "%s: no physfn link (%s), but %s lists it as %s; not taken as its VF", vf->addr,
			      errno_name(vsd->physfn_error), pf->addr, name);
		return false;
	}
	if (strcmp(link_name_get(&vsd->physfn), pf->addr) != 0) {
		pci_tree_warn(t, "%s: physfn points at %s, but %s lists it as %s; not taken as its VF", vf->addr,
			      link_name_get(&vsd->physfn), pf->addr, name);
		return false;
	}
	return true;
}

/* Links a PF to its VFs through the virtfnN links read with it (the N is
 * the VF number that rtnetlink uses). */
static int link_vfs(struct scan *s, struct scan_dev *psd)
{
	struct pci_tree *t = s->t;
	struct pci_function *pf = psd->d;
	if (psd->n_links) {
		pf->vfs = malloc(psd->n_links * sizeof(*pf->vfs));
		if (!pf->vfs)
			return -ENOMEM;
	}
	for (size_t k = 0; k < psd->n_links; k++) {
		const struct vf_link *l = &psd->links[k];
		const char *target = link_name_get(&l->target);
		ssize_t i = find_index(t, target);
		if (i < 0) {
			pci_tree_warn(t, "%s: %s points at %s, which is not a PCI device (dangling link), ignored",
				      pf->addr, l->name, target);
			continue;
		}
		struct pci_function *vf = t->devs[i];
		if (!vf_link_sound(t, pf, l->name, &s->devs[i]))
			continue;
		const struct pci_function *same = pci_function_vf(pf, l->index);
		if (same) {
			pci_tree_warn(t, "%s: %s points at %s, but VF %u is %s already, ignored", pf->addr, l->name,
				      vf->addr, l->index, same->addr);
			continue;
		}
		pf->vfs[pf->n_vfs++] = vf;
		vf->pf = pf;
		vf->vf_index = l->index;
		vf->numa_node = pf->numa_node;
	}
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
 * what the kernel's kernel/iommu_groups/N/devices lists too. Each group is
 * stored once: t->by_group holds every grouped function sorted by group,
 * and each member's group_peers is its group's slice of it. */
static int link_iommu_groups(struct pci_tree *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_devs; i++)
		n += t->devs[i]->iommu_group >= 0;
	if (n == 0)
		return 0;
	if (!(t->by_group = malloc(n * sizeof(*t->by_group))))
		return -ENOMEM;
	for (size_t i = 0; i < t->n_devs; i++)
		if (t->devs[i]->iommu_group >= 0)
			t->by_group[t->n_by_group++] = t->devs[i];
	qsort(t->by_group, n, sizeof(*t->by_group), cmp_dev_group);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && t->by_group[j]->iommu_group == t->by_group[i]->iommu_group)
			j++;
		for (size_t k = i; k < j; k++) {
			t->by_group[k]->group_peers = t->by_group + i;
			t->by_group[k]->n_group_peers = j - i;
		}
		i = j;
	}
	return 0;
}

static int add_device(struct scan *s, const char *name, unsigned char type, void *data)
{
	(void)type;
	int devices_fd = *(int *)data;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct scan_dev *devs = realloc(s->devs, cap * sizeof(*devs));
		if (!devs)
			return -ENOMEM;
		s->devs = devs;
		s->cap = cap;
	}
	struct scan_dev *sd = &s->devs[s->n];
	*sd = (struct scan_dev){0};
	int r = read_device(s, devices_fd, name, sd);
	if (s->n_done >= SCAN_DONE_FDS / 2)
		scan_close_done(s);
	if (r == 0 || r == -ENOMEM)
		s->n++; /* a half-read device is freed with the others */
	return r == -ENOMEM ? r : 0;
}

/* Frees what only the scan needed (never the devices). */
static void scan_done(struct scan *s)
{
	scan_close_done(s);
	for (size_t i = 0; i < s->n; i++) {
		struct scan_dev *sd = &s->devs[i];
		for (size_t k = 0; k < sd->n_links; k++)
			free(sd->links[k].target.heap);
		free(sd->links);
		free(sd->physfn.heap);
	}
	free(s->devs);
	free(s);
}

/* ROOT/bus/pci/devices, opened: the fd or -errno. */
static int open_devices(const char *root)
{
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	int fd = openat(rootfd, "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A scan of t's devices folder devices_fd (NULL on ENOMEM): whether a short
 * getdents64 answer is the end is decided once, by its file system. */
static struct scan *scan_new(struct pci_tree *t, int devices_fd)
{
	struct scan *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->t = t;
	struct statfs sf;
	s->short_is_end = fstatfs(devices_fd, &sf) == 0 && (sf.f_type == SYSFS_MAGIC || sf.f_type == TMPFS_MAGIC);
	return s;
}

int pci_tree_scan(const char *root, struct pci_tree **ret)
{
	return pci_tree_scan_flags(root, 0, ret);
}

int pci_tree_scan_flags(const char *root, unsigned flags, struct pci_tree **ret)
{
	if (!root)
		root = SYSFS_DEFAULT_ROOT;
	_cleanup_close_ int devices_fd = open_devices(root);
	if (devices_fd < 0)
		return devices_fd;

	struct pci_tree *t = calloc(1, sizeof(*t));
	if (t)
		t->scan_flags = flags;
	struct scan *s = t ? scan_new(t, devices_fd) : NULL;
	int r = -ENOMEM;
	if (!s || !t || !(t->root = strdup(root)))
		goto fail;
	if ((r = dir_each(s, devices_fd, s->dents_outer.bytes, sizeof(s->dents_outer.bytes), add_device,
			    &devices_fd)) < 0)
		goto fail;
	if (s->n > 1)
		qsort(s->devs, s->n, sizeof(*s->devs), cmp_scan_dev);
	if (s->n && !(t->devs = malloc(s->n * sizeof(*t->devs)))) {
		r = -ENOMEM;
		goto fail;
	}
	/* From here on the tree owns the devices. */
	for (size_t i = 0; i < s->n; i++)
		t->devs[i] = s->devs[i].d;
	t->n_devs = s->n;
	for (size_t i = 0; i < t->n_devs; i++)
		if (t->devs[i]->is_pf && (r = link_vfs(s, &s->devs[i])) < 0)
			goto fail;
	if ((r = link_iommu_groups(t)) < 0)
		goto fail;
	scan_done(s);
	*ret = t;
	return 0;
fail:
	if (s && t && !t->devs)
		for (size_t i = 0; i < s->n; i++)
			pci_function_free(s->devs[i].d);
	if (s)
		scan_done(s);
	pci_tree_free(t);
	return r;
}

/* Reads one more device into s (as add_device, by address), unless s has
 * it already. */
static int reread_one(struct scan *s, int devices_fd, const char *addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->devs[i].d->addr, addr) == 0)
			return 0;
	int fd = devices_fd;
	return add_device(s, addr, DT_LNK, &fd);
}

int pci_tree_reread_pfs(struct pci_tree *t, char *const *addrs)
{
	_cleanup_close_ int devices_fd = open_devices(t->root);
	if (devices_fd < 0)
		return devices_fd;
	struct scan *s = scan_new(t, devices_fd);
	if (!s)
		return -ENOMEM;
	_cleanup_free_ bool *drop = calloc(t->n_devs ? t->n_devs : 1, sizeof(*drop));
	_cleanup_free_ struct scan_dev *aligned = NULL;
	struct pci_function **devs = NULL;
	int r = drop ? 0 : -ENOMEM;

	/* The PFs as they are now, then the VF each virtfnN link names. The
	 * tree is not touched until all of them are read. */
	for (size_t i = 0; r == 0 && addrs && addrs[i]; i++) {
		size_t first = s->n;
		if ((r = reread_one(s, devices_fd, addrs[i])) < 0 || s->n == first)
			continue;
		for (size_t k = 0; r == 0 && k < s->devs[first].n_links; k++) {
			_cleanup_free_ char *target = strdup(link_name_get(&s->devs[first].links[k].target));
			r = target ? reread_one(s, devices_fd, target) : -ENOMEM;
		}
	}
	/* What leaves the tree: the PFs' former VFs, and every function read
	 * afresh. */
	size_t n_drop = 0;
	for (size_t i = 0; r == 0 && i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		bool gone = d->pf && strv_contains(addrs, d->pf->addr);
		for (size_t k = 0; !gone && k < s->n; k++)
			gone = strcmp(s->devs[k].d->addr, d->addr) == 0;
		drop[i] = gone;
		n_drop += gone;
	}
	size_t n = t->n_devs - n_drop + s->n;
	if (r == 0 && (!(devs = malloc((n ? n : 1) * sizeof(*devs))) || !(aligned = calloc(n ? n : 1, sizeof(*aligned)))))
		r = -ENOMEM;
	if (r < 0) {
		for (size_t i = 0; i < s->n; i++)
			pci_function_free(s->devs[i].d);
		free(devs);
		scan_done(s);
		return r;
	}

	/* From here on the tree changes. A VF that leaves leaves its PF's
	 * list; a PF that leaves (read again) leaves its VFs without one. */
	for (size_t i = 0; i < t->n_devs; i++) {
		struct pci_function *d = t->devs[i];
		if (!drop[i])
			continue;
		ssize_t pi = d->pf ? find_index(t, d->pf->addr) : -1;
		if (pi >= 0 && !drop[pi]) {
			struct pci_function *pf = d->pf;
			size_t w = 0;
			for (size_t k = 0; k < pf->n_vfs; k++)
				if (pf->vfs[k] != d)
					pf->vfs[w++] = pf->vfs[k];
			pf->n_vfs = w;
		}
		for (size_t k = 0; k < d->n_vfs; k++)
			d->vfs[k]->pf = NULL;
	}
	size_t m = 0;
	for (size_t i = 0; i < t->n_devs; i++)
		if (!drop[i])
			devs[m++] = t->devs[i];
		else
			pci_function_free(t->devs[i]);
	for (size_t i = 0; i < s->n; i++)
		devs[m++] = s->devs[i].d;
	free(t->devs);
	t->devs = devs;
	t->n_devs = m;
	if (m > 1)
		qsort(t->devs, m, sizeof(*t->devs), cmp_dev_addr);
	if (s->n > 1)
		qsort(s->devs, s->n, sizeof(*s->devs), cmp_scan_dev);
	/* The scan's facts, at the tree's indices (link_vfs looks VFs up so):
	 * the fresh functions' own, nothing for the others. */
	for (size_t i = 0, k = 0; i < m; i++) {
		if (k < s->n && s->devs[k].d == t->devs[i])
			aligned[i] = s->devs[k++];
		else
			aligned[i] = (struct scan_dev){.d = t->devs[i], .physfn_error = -ENOENT};
	}
	free(s->devs);
	s->devs = TAKE_PTR(aligned);
	s->n = s->cap = m;
	for (size_t i = 0; i < m && r == 0; i++)
		if (s->devs[i].n_links || (s->devs[i].d->is_pf && strv_contains(addrs, s->devs[i].d->addr)))
			r = link_vfs(s, &s->devs[i]);
	free(t->by_group);
	t->by_group = NULL;
	t->n_by_group = 0;
	for (size_t i = 0; i < m; i++) {
		t->devs[i]->group_peers = NULL;
		t->devs[i]->n_group_peers = 0;
	}
	if (r == 0)
		r = link_iommu_groups(t);
	scan_done(s);
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

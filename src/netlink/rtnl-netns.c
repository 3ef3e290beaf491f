/* Netdevs in other network namespaces. Once a VF's netdev is moved into a
 * container (`ip link set eth4 netns c1`) it vanishes from this namespace:
 * the VF's net/ folder in sysfs is empty and rtnetlink here knows it no
 * more. To find it, every other network namespace of the host is listed
 * (the names under /run/netns, then the namespace of each process in /proc,
 * one look per namespace however many processes share it), and each one's
 * links are dumped over a NETLINK_ROUTE socket created in that namespace:
 * a short-lived thread joins it with setns(2), creates the socket and ends;
 * the socket stays in the namespace it was made in. A link belongs to a
 * PCI function when the kernel names that function as its parent device
 * (IFLA_PARENT_DEV_NAME on bus "pci", Linux >= 5.15).
 *
 * The work is bounded: at most RTNL_NETNS_MAX_PROCS process entries are
 * looked at and at most RTNL_NETNS_MAX namespaces dumped; past either
 * bound, and for a namespace that cannot be entered (no privilege), the
 * answer says it may be incomplete, and why. */
#include "rtnl.h"
#include "rtnl-private.h"

#include <dirent.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "util/util.h"

#define PROC_ROOT "/proc"
#define NETNS_RUN_DIR "/run/netns" /* where `ip netns add` names them */

/* One network namespace to look into. */
struct ns_entry {
	dev_t dev;
	ino_t ino;
	char *path;  /* a file that holds it: /run/netns/NAME or /proc/PID/ns/net */
	char *label; /* "c1", "pid 4242 (sleep)" */
};

struct ns_list {
	struct ns_entry *v;
	size_t n, cap;
	dev_t self_dev;
	ino_t self_ino;
};

static void ns_list_done(struct ns_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].label);
	}
	free(l->v);
}

static bool ns_list_has(const struct ns_list *l, dev_t dev, ino_t ino)
{
	if (dev == l->self_dev && ino == l->self_ino)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].dev == dev && l->v[i].ino == ino)
			return true;
	return false;
}

/* Takes path and label. */
static int ns_list_add(struct ns_list *l, dev_t dev, ino_t ino, char *path, char *label)
{
	if (!path || !label) {
		free(path);
		free(label);
		return -ENOMEM;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ns_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(path);
			free(label);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ns_entry){.dev = dev, .ino = ino, .path = path, .label = label};
	return 0;
}

static char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* "pid 4242 (sleep)": the process's name helps to tell whose it is. */
static char *pid_label(int proc_fd, const char *pid)
{
	char rel[sizeof(((struct dirent *)0)->d_name) + 16];
	snprintf(rel, sizeof(rel), "%s/comm", pid);
	_cleanup_free_ char *comm = NULL;
	if (read_text_at(proc_fd, rel, 64, &comm) == 0 && !str_empty(comm))
		return strdup_printf("pid %s (%s)", pid, comm);
	return strdup_printf("pid %s", pid);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Every network namespace of the host but our own: named ones first, with
 * their names, then those only processes hold. *truncated: a bound cut
 * the list short. */
static int ns_list_collect(struct ns_list *l, bool *truncated)
{
	struct stat st;
	if (stat(PROC_ROOT "/self/ns/net", &st) < 0)
		return -errno;
	l->self_dev = st.st_dev;
	l->self_ino = st.st_ino;
	int r;

	DIR *d = opendir(NETNS_RUN_DIR);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = path_join(NETNS_RUN_DIR, de->d_name);
		if (!path) {
			closedir(d);
			return -ENOMEM;
		}
		/* A name is a bind mount of the namespace: stat sees the nsfs inode
		 * (a file nothing is mounted on is skipped, being no namespace). */
		if (stat(path, &st) < 0 || ns_list_has(l, st.st_dev, st.st_ino) || !S_ISREG(st.st_mode))
			continue;
		struct stat parent;
		if (stat(NETNS_RUN_DIR, &parent) == 0 && parent.st_dev == st.st_dev)
			continue;
		if (l->n >= RTNL_NETNS_MAX) {
			*truncated = true;
			break;
		}
		if ((r = ns_list_add(l, st.st_dev, st.st_ino, TAKE_PTR(path), strdup(de->d_name))) < 0) {
			closedir(d);
			return r;
		}
	}
	if (d)
		closedir(d);

	_cleanup_close_ int proc_fd = open(PROC_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0)
		return -errno;
	d = fdopendir(dup(proc_fd));
	if (!d)
		return -errno;
	size_t seen = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (!all_digits(de->d_name))
			continue;
		if (++seen > RTNL_NETNS_MAX_PROCS) {
			*truncated = true;
			break;
		}
		char rel[sizeof(de->d_name) + 16];
		snprintf(rel, sizeof(rel), "%s/ns/net", de->d_name);
		/* Most processes share our namespace: one stat each tells. */
		if (fstatat(proc_fd, rel, &st, 0) < 0 || ns_list_has(l, st.st_dev, st.st_ino))
			continue;
		if (l->n >= RTNL_NETNS_MAX) {
			*truncated = true;
			break;
		}
		char *path = strdup_printf(PROC_ROOT "/%s", rel);
		if ((r = ns_list_add(l, st.st_dev, st.st_ino, path, pid_label(proc_fd, de->d_name))) < 0) {
			closedir(d);
			return r;
		}
	}
	closedir(d);
	return 0;
}

/* --- a socket in another namespace --------------------------------------- */

struct ns_socket {
	int ns_fd;
	int sock;
	int error;
};

static void *ns_socket_thread(void *data)
{
	struct ns_socket *a = data;
	/* Only this thread joins the namespace; it ends right after. */
	if (setns(a->ns_fd, CLONE_NEWNET) < 0) {
		a->error = -errno;
		return NULL;
	}
	a->sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (a->sock < 0)
		a->error = -errno;
	return NULL;
}

static int ns_open_rtnl(const char *path, struct rtnl **ret)
{
	_cleanup_close_ int ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return -errno;
	struct ns_socket a = {.ns_fd = ns_fd, .sock = -1};
	pthread_t t;
	int r = pthread_create(&t, NULL, ns_socket_thread, &a);
	if (r != 0)
		return -r;
	pthread_join(t, NULL);
	if (a.error < 0)
		return a.error;
	return rtnl_open_fd(a.sock, ret);
}

/* --- the links of one namespace --------------------------------------------- */

struct dump_ctx {
	char *const *devs;
	const char *label;
	struct netns_found *found;
	int error;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return MNL_CB_OK;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	struct rtnl_attr_table t = {tb, IFLA_MAX};
	if (mnl_attr_parse(nlh, sizeof(*ifi), rtnl_attr_collect_cb, &t) < 0)
		return MNL_CB_OK;
	const struct nlattr *parent = tb[IFLA_PARENT_DEV_NAME], *bus = tb[IFLA_PARENT_DEV_BUS_NAME];
	const struct nlattr *name = tb[IFLA_IFNAME];
	if (!parent || !bus || !name || mnl_attr_validate(parent, MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_validate(bus, MNL_TYPE_NUL_STRING) < 0 || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	if (strcmp(mnl_attr_get_str(bus), "pci") != 0 || !strv_contains(c->devs, mnl_attr_get_str(parent)))
		return MNL_CB_OK;
	struct netns_found *f = c->found;
	struct netns_netdev *v = realloc(f->links, (f->n + 1) * sizeof(*v));
	if (!v) {
		c->error = -ENOMEM;
		return MNL_CB_OK;
	}
	f->links = v;
	struct netns_netdev *l = &f->links[f->n++];
	*l = (struct netns_netdev){.ifindex = (uint32_t)ifi->ifi_index, .flags = ifi->ifi_flags};
	snprintf(l->dev, sizeof(l->dev), "%s", mnl_attr_get_str(parent));
	snprintf(l->ifname, sizeof(l->ifname), "%s", mnl_attr_get_str(name));
	snprintf(l->netns, sizeof(l->netns), "%s", c->label);
	return MNL_CB_OK;
}

static int dump_links(struct rtnl *nl, struct dump_ctx *c)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = rtnl_getlink_request(buf, NULL, RTEXT_FILTER_SKIP_STATS);
	size_t before = c->found->n;
	int r = rtnl_transact(nl, nlh, link_cb, c);
	if (r == -EINTR) {
		/* The links changed during the dump (NLM_F_DUMP_INTR): once more. */
		c->found->n = before;
		r = rtnl_transact(nl, nlh, link_cb, c);
	}
	return r < 0 ? r : c->error;
}

/* IFLA_PARENT_DEV_NAME came with Linux 5.15: before it, no link says whose
 * it is, and a search cannot rule anything out. */
static bool kernel_names_parents(char *why, size_t len)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return true;
	if (major > 5 || (major == 5 && minor >= 15))
		return true;
	snprintf(why, len, "kernel %u.%u does not name a link's parent device over rtnetlink (5.15 does)", major,
		 minor);
	return false;
}

int rtnl_netns_find(char *const *devs, struct netns_found *ret)
{
	*ret = (struct netns_found){0};
	char why[256] = "";
	if (!kernel_names_parents(why, sizeof(why))) {
		ret->incomplete = strdup(why);
		return ret->incomplete ? 0 : -ENOMEM;
	}
	struct ns_list l = {0};
	bool truncated = false;
	int r = ns_list_collect(&l, &truncated);
	if (r < 0) {
		ns_list_done(&l);
		return r;
	}
	size_t failed = 0;
	int first_error = 0;
	const char *first_failed = NULL;
	for (size_t i = 0; i < l.n; i++) {
		struct rtnl *nl = NULL;
		r = ns_open_rtnl(l.v[i].path, &nl);
		if (r == -ENOENT)
			continue; /* the process ended, and its namespace with it */
		if (r >= 0) {
			struct dump_ctx c = {.devs = devs, .label = l.v[i].label, .found = ret};
			r = dump_links(nl, &c);
			rtnl_close(nl);
		}
		if (r == -ENOMEM) {
			ns_list_done(&l);
			netns_found_done(ret);
			return r;
		}
		if (r < 0) {
			if (!failed++) {
				first_error = r;
				first_failed = l.v[i].label;
			}
		}
	}
	int n = 0;
	if (failed)
		n = snprintf(why, sizeof(why), "%zu network namespace%s could not be looked into (%s: %s)", failed,
			     failed > 1 ? "s" : "", first_failed, strerror(-first_error));
	if (truncated && n >= 0 && (size_t)n < sizeof(why))
		snprintf(why + n, sizeof(why) - (size_t)n, "%sonly %d namespaces among the first %d processes were "
			 "looked into", n ? "; " : "", RTNL_NETNS_MAX, RTNL_NETNS_MAX_PROCS);
	ns_list_done(&l);
	if (why[0] && !(ret->incomplete = strdup(why))) {
		netns_found_done(ret);
		return -ENOMEM;
	}
	return 0;
}

void netns_found_done(struct netns_found *f)
{
	if (!f)
		return;
	free(f->links);
	free(f->incomplete);
	*f = (struct netns_found){0};
}

const struct netns_netdev *netns_found_next(const struct netns_found *f, const char *dev,
					    const struct netns_netdev *after)
{
	size_t i = after ? (size_t)(after - f->links) + 1 : 0;
	for (; i < f->n; i++)
		if (strcmp(f->links[i].dev, dev) == 0)
			return &f->links[i];
	return NULL;
}

#include "lifecycle.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "netlink/uevent.h"
#include "util/fs.h"
#include "util/util.h"

/* How often the waits look again when nothing announces the kernel's
 * changes (a tree from elsewhere): short against the seconds drivers take,
 * long enough not to busy the CPU that the probing itself needs. */
#define POLL_INTERVAL_MS 50
/* With a uevent socket, the longest a wait sleeps without an event before
 * it looks again anyway: should the socket's buffer overflow and events be
 * lost, that costs a second, not the whole timeout. */
#define UEVENT_BACKSTOP_MS 1000
#define RECORD_MAX 512

/* --- small helpers --------------------------------------------------------- */

static const char *env_root(const struct lifecycle_env *env)
{
	return env->sysfs_root ? env->sysfs_root : SYSFS_DEFAULT_ROOT;
}


static const char *env_vfio_dir(const struct lifecycle_env *env)
{
	return env->vfio_dir ? env->vfio_dir : LIFECYCLE_VFIO_DIR;
}

static unsigned env_settle_ms(const struct lifecycle_env *env)
{
	if (env->settle_ms == LIFECYCLE_SETTLE_NONE)
		return 0;
	return env->settle_ms ? env->settle_ms : LIFECYCLE_SETTLE_MS;
}

/* Moves every string of *from to the end of *to. */
static int strv_move(char ***to, char ***from)
{
	if (!to) {
		strv_free(*from);
		*from = NULL;
		return 0;
	}
	for (size_t i = 0; *from && (*from)[i]; i++) {
		int r = strv_push(to, (*from)[i]);
		(*from)[i] = NULL;
		if (r < 0) {
			for (size_t k = i + 1; (*from)[k]; k++)
				free((*from)[k]);
			free(*from);
			*from = NULL;
			return r;
		}
	}
	free(*from);
	*from = NULL;
	return 0;
}

/* Every file lifecycle reads or writes sits beneath the sysfs root and is
 * opened there (util/fs.h), so that no link in a tree takes a write out of
 * it. Paths are built relative to the root ("bus/pci/devices/ADDR/ATTR");
 * messages and the write hook see them joined to it. */
static char *dev_rel(const char *addr, const char *attr)
{
	char *s;
	if (asprintf(&s, "bus/pci/devices/%s%s%s", addr, *attr ? "/" : "", attr) < 0)
		return NULL;
	return s;
}

static char *root_path(const struct lifecycle_env *env, const char *rel)
{
	return path_join(env_root(env), rel);
}

static char *dev_path(const struct lifecycle_env *env, const char *addr, const char *attr)
{
	_cleanup_free_ char *rel = dev_rel(addr, attr);
	return rel ? root_path(env, rel) : NULL;
}

static int dev_read_u32(const struct lifecycle_env *env, const char *addr, const char *attr, int base,
			uint32_t *ret)
{
	_cleanup_free_ char *rel = dev_rel(addr, attr);
	if (!rel)
		return -ENOMEM;
	return read_u32_beneath(env_root(env), rel, base, ret);
}

static int dev_read_link_basename(const struct lifecycle_env *env, const char *addr, const char *attr,
				  char **ret)
{
	_cleanup_free_ char *rel = dev_rel(addr, attr);
	if (!rel)
		return -ENOMEM;
	return read_link_basename_beneath(env_root(env), rel, ret);
}

/* Writes value to rel beneath the root (or hands it to the hook); *ret_path
 * names the file for the caller's message. */
static int env_write(const struct lifecycle_env *env, const char *rel, const char *value, char **ret_path)
{
	if (!(*ret_path = root_path(env, rel)))
		return -ENOMEM;
	if (env->write)
		return env->write(env->write_data, *ret_path, value);
	return write_text_beneath(env_root(env), rel, value);
}

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

static uint64_t env_now_ns(const struct lifecycle_env *env)
{
	if (env->clock.now_ns)
		return env->clock.now_ns(env->clock.userdata);
	return mono_now_ns();
}

static void env_sleep_until_ns(const struct lifecycle_env *env, uint64_t deadline_ns)
{
	if (env->clock.sleep_until_ns) {
		env->clock.sleep_until_ns(env->clock.userdata, deadline_ns);
		return;
	}
	struct timespec ts = {.tv_sec = (time_t)(deadline_ns / NSEC_PER_SEC),
			      .tv_nsec = (long)(deadline_ns % NSEC_PER_SEC)};
	/* Absolute: a signal only makes it sleep again to the same time. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* The end of a wait of ms from now. */
static uint64_t deadline_after_ms(const struct lifecycle_env *env, unsigned ms)
{
	return env_now_ns(env) + (uint64_t)ms * NSEC_PER_MSEC;
}

/* Sleeps one poll interval after now, never past deadline. */
static void poll_pause(const struct lifecycle_env *env, uint64_t now, uint64_t deadline)
{
	uint64_t next = now + POLL_INTERVAL_MS * NSEC_PER_MSEC;
	env_sleep_until_ns(env, next < deadline ? next : deadline);
}

/* --- waiting for the kernel ------------------------------------------------ */

/* What wakes one wait: the env's event hook, a uevent socket of its own
 * (this host's /sys), or the clock alone (a look every POLL_INTERVAL_MS). */
struct waiter {
	const struct lifecycle_env *env;
	int fd;         /* the uevent socket, or -1 */
	bool hook_failed;
};

/* Opened before the wait's first look: an event for a change made after
 * that look is then queued, never missed. */
static void waiter_open(struct waiter *w, const struct lifecycle_env *env)
{
	*w = (struct waiter){.env = env, .fd = -1};
	if (!env->events.wait && !env->clock.sleep_until_ns && sysfs_root_is_live(env->sysfs_root))
		w->fd = uevent_open(); /* < 0 (no permission, no netlink): the clock alone */
}

static void waiter_close(struct waiter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* Reads every pending event: one look answers them all. */
static void uevent_drain(int fd)
{
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0 || errno == EINTR || errno == ENOBUFS)
			continue; /* ENOBUFS: some were lost; the look that follows sees their outcome */
		return;
	}
}

/* Returns when the kernel may have changed something, or at deadline (a
 * time on the env's clock), whichever comes first. */
static void waiter_wait(struct waiter *w, uint64_t now, uint64_t deadline)
{
	const struct lifecycle_env *env = w->env;
	if (env->events.wait && !w->hook_failed) {
		if (env->events.wait(env->events.userdata, deadline) >= 0)
			return;
		w->hook_failed = true; /* looks on the clock from here on */
	}
	if (w->fd < 0) {
		poll_pause(env, now, deadline);
		return;
	}
	uint64_t left = deadline > now ? deadline - now : 0;
	uint64_t ms = (left + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	if (ms > UEVENT_BACKSTOP_MS)
		ms = UEVENT_BACKSTOP_MS;
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	int n = poll(&pfd, 1, (int)ms);
	if (n < 0 && errno != EINTR) {
		waiter_close(w);
		poll_pause(env, env_now_ns(env), deadline);
		return;
	}
	if (n > 0)
		uevent_drain(w->fd);
}

const char *lifecycle_label(const struct pci_function *d, char buf[LIFECYCLE_LABEL_MAX])
{
	if (d->netdevs && d->netdevs[0])
		snprintf(buf, LIFECYCLE_LABEL_MAX, "%.*s (%s)", IF_NAMESIZE - 1, d->netdevs[0], d->addr);
	else
		snprintf(buf, LIFECYCLE_LABEL_MAX, "%s", d->addr);
	return buf;
}

/* The device's driver as sysfs says it now (not as the scan saw it): NULL
 * in *ret when unbound. */
static int read_driver_now(const struct lifecycle_env *env, const char *addr, char **ret)
{
	*ret = NULL;
	int r = dev_read_link_basename(env, addr, "driver", ret);
	return r == -ENOENT ? 0 : r;
}

/* driver_override now: NULL in *ret when unset ("(null)", or empty). */
static int read_override_now(const struct lifecycle_env *env, const char *addr, char **ret)
{
	_cleanup_free_ char *rel = dev_rel(addr, "driver_override");
	if (!rel)
		return -ENOMEM;
	_cleanup_free_ char *s = NULL;
	*ret = NULL;
	int r = read_text_beneath(env_root(env), rel, 256, &s);
	if (r == -ENOENT)
		return 0; /* kernels before 3.16 have no driver_override */
	if (r < 0)
		return r;
	if (!str_empty(s) && strcmp(s, "(null)") != 0)
		*ret = TAKE_PTR(s);
	return 0;
}

static bool driver_loaded(const struct lifecycle_env *env, const char *driver)
{
	_cleanup_free_ char *rel = NULL;
	if (asprintf(&rel, "bus/pci/drivers/%s", driver) < 0)
		return false;
	return dir_exists_beneath(env_root(env), rel);
}

/* name with every from replaced by to (a fresh string, NULL on ENOMEM). */
static char *str_tr(const char *name, char from, char to)
{
	char *s = strdup(name);
	for (char *p = s; p && *p; p++)
		if (*p == from)
			*p = to;
	return s;
}

/* The PCI driver registered by the loaded module called module (sysfs
 * lists it as module/MODULE/drivers/pci:DRIVER), or NULL. */
static char *module_pci_driver(const struct lifecycle_env *env, const char *module)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/module/%s/drivers", env_root(env), module) < 0)
		return NULL;
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	char *found = NULL;
	for (struct dirent *de; !found && (de = readdir(d));)
		if (strncmp(de->d_name, "pci:", 4) == 0 && de->d_name[4])
			found = strdup(de->d_name + 4);
	closedir(d);
	return found;
}

/* Why target cannot be bound to, naming the driver that exists when the
 * name is a module's (vfio_pci) or its other spelling: module names use
 * '_' where driver names often use '-'. */
static int driver_missing(const struct lifecycle_env *env, const char *target, bool remembered, char **ret_error)
{
	_cleanup_free_ char *dashed = str_tr(target, '_', '-');
	_cleanup_free_ char *module = str_tr(target, '-', '_');
	if (!dashed || !module)
		return -ENOMEM;
	_cleanup_free_ char *registered = module_pci_driver(env, module);
	const char *other = NULL;
	if (registered && strcmp(registered, target) != 0)
		other = registered;
	else if (strcmp(dashed, target) != 0 && driver_loaded(env, dashed))
		other = dashed;
	else if (strcmp(module, target) != 0 && driver_loaded(env, module))
		other = module;
	if (other)
		return error_set(ret_error, -ENOENT, "there is no PCI driver called %s%s: the driver is %s%s%s%s, "
				 "use that name", target,
				 remembered ? " (the driver sriovctl remembers for this device)" : "", other,
				 registered ? " (registered by the module " : "", registered ? module : "",
				 registered ? ")" : "");
	return error_set(ret_error, -ENOENT, "%s is not loaded%s: modprobe %s", target,
			 remembered ? " (the driver sriovctl remembers for this device)" : "", target);
}

bool lifecycle_driver_is_passthrough(const char *driver)
{
	return streq_ptr(driver, "vfio-pci") || streq_ptr(driver, "pci-stub");
}

/* VF drivers whose probe is synchronous (done, or failed and the driver link
 * gone, when the write that started it returns) and that never give a device
 * up on their own afterwards: no deferred work of theirs releases it. */
static bool probe_is_final(const char *driver)
{
	return streq_ptr(driver, "igbvf") || streq_ptr(driver, "ixgbevf");
}

bool lifecycle_driver_needs_settle(const char *driver)
{
	return driver && !lifecycle_driver_is_passthrough(driver) && !probe_is_final(driver);
}

/* Drivers that keep an IOMMU group viable for vfio: the kernel lets a group
 * be used when every member is unbound, bound to vfio, or to a driver that
 * claims no DMA of its own (pci-stub, and pcieport for the PCIe ports that
 * often share a group with the devices behind them). */
static bool keeps_group_viable(const char *driver)
{
	return !driver || streq_ptr(driver, "vfio-pci") || streq_ptr(driver, "pci-stub") ||
	       streq_ptr(driver, "pcieport");
}

/* --- netdev usage ----------------------------------------------------------- */

int lifecycle_rtnl_link_usage(void *userdata, const char *ifname, struct link_usage *ret)
{
	struct lifecycle_rtnl *rt = userdata;
	if (!rt->nl) {
		int r = rtnl_open(&rt->nl);
		if (r < 0)
			return r;
	}
	return rtnl_link_usage(rt->nl, ifname, ret);
}

int lifecycle_rtnl_netns(void *userdata, char *const *devs, struct netns_found *ret)
{
	(void)userdata;
	return rtnl_netns_find(devs, ret);
}

void lifecycle_rtnl_done(struct lifecycle_rtnl *r)
{
	if (!r)
		return;
	rtnl_close(r->nl);
	r->nl = NULL;
}

/* "up with 1 IPv4 address, 2 routes" */
static void describe_usage(const struct link_usage *u, char *buf, size_t len)
{
	int n = snprintf(buf, len, "up with");
	const char *sep = " ";
	if (u->n_ipv4 && n >= 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, "%s%u IPv4 address%s", sep, u->n_ipv4, u->n_ipv4 > 1 ? "es" : "");
		sep = ", ";
	}
	if (u->n_ipv6 && n >= 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, "%s%u IPv6 address%s", sep, u->n_ipv6, u->n_ipv6 > 1 ? "es" : "");
		sep = ", ";
	}
	if (u->n_routes && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s%u route%s", sep, u->n_routes, u->n_routes > 1 ? "s" : "");
}

/* Appends one reason per netdev of d that carries the host's traffic.
 * what: how d is named in the sentence ("VF 1 (0000:01:10.2)"), NULL when
 * the sentence is about the device the command names. A netdev that cannot
 * be looked at counts as in use: better refuse than cut a link. */
static int netdevs_in_use(const struct lifecycle_env *env, const struct pci_function *d, const char *what,
			  char ***reasons)
{
	if (!env->link_usage)
		return 0;
	for (size_t i = 0; d->netdevs && d->netdevs[i]; i++) {
		const char *ifname = d->netdevs[i];
		struct link_usage u;
		int r = env->link_usage(env->link_usage_data, ifname, &u);
		_cleanup_free_ char *now = NULL;
		if (r == -ENODEV && lifecycle_netdev_now(env, d->addr, &now) == 0 && now &&
		    !strv_contains(d->netdevs, now)) {
			/* renamed since the scan (udev names what a driver just made) */
			ifname = now;
			r = env->link_usage(env->link_usage_data, ifname, &u);
		}
		if (r == -ENODEV)
			continue; /* gone since the scan */
		if (r < 0) {
			if (what)
				r = strv_pushf(reasons, "cannot tell whether %s's netdev %s is in use: %s", what, ifname,
					       strerror(-r));
			else
				r = strv_pushf(reasons, "cannot tell whether its netdev %s is in use: %s", ifname,
					       strerror(-r));
			if (r < 0)
				return r;
			continue;
		}
		if (!link_usage_carries_traffic(&u))
			continue;
		char how[128];
		describe_usage(&u, how, sizeof(how));
		if (what)
			r = strv_pushf(reasons, "%s has its netdev %s %s", what, ifname, how);
		else
			r = strv_pushf(reasons, "its netdev %s is %s, and the host would lose that network", ifname, how);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One search of the other namespaces for those of devs whose netdev may be
 * there; *found stays empty when there is nothing to look for (or no
 * provider). */
static int netns_lookup(const struct lifecycle_env *env, struct pci_function *const *devs, size_t n,
			struct netns_found *found)
{
	*found = (struct netns_found){0};
	if (!env->netns)
		return 0;
	char **addrs = NULL;
	int r = 0;
	for (size_t i = 0; i < n && r >= 0; i++)
		if (pci_function_netdev_may_be_elsewhere(devs[i]))
			r = strv_pushf(&addrs, "%s", devs[i]->addr);
	if (r >= 0 && addrs)
		r = env->netns(env->netns_data, addrs, found);
	strv_free(addrs);
	if (r < 0 && r != -ENOMEM) {
		/* The search could not even start: nothing is ruled out. */
		netns_found_done(found);
		if (asprintf(&found->incomplete, "cannot look for them: %s", strerror(-r)) < 0) {
			found->incomplete = NULL;
			return -ENOMEM;
		}
		r = 0;
	}
	return r;
}

/* Appends one reason per netdev of d found in another namespace; when the
 * search may have missed it, that it cannot tell (better refuse than take
 * a container's interface). what as for netdevs_in_use(). */
static int netns_in_use(const struct netns_found *found, const struct pci_function *d, const char *what,
			char ***reasons)
{
	if (!pci_function_netdev_may_be_elsewhere(d))
		return 0;
	int r;
	const struct netns_netdev *l = NULL;
	bool any = false;
	while ((l = netns_found_next(found, d->addr, l))) {
		any = true;
		if (what)
			r = strv_pushf(reasons, "%s has its netdev %s in network namespace %s (a container has it)",
				       what, l->ifname, l->netns);
		else
			r = strv_pushf(reasons, "its netdev %s is in network namespace %s (a container has it)",
				       l->ifname, l->netns);
		if (r < 0)
			return r;
	}
	if (any || !found->incomplete)
		return 0;
	if (what)
		return strv_pushf(reasons, "cannot tell whether %s has its netdev in another network namespace: %s",
				  what, found->incomplete);
	return strv_pushf(reasons, "cannot tell whether its netdev is in another network namespace: %s",
			  found->incomplete);
}

/* Appends a reason when a consumer holds dev itself (what: how to name it). */
static int held_by_consumer(const struct lifecycle_env *env, const struct pci_function *dev, const char *what,
			    char ***reasons)
{
	if (!env->consumer)
		return 0;
	_cleanup_free_ char *holder = NULL;
	int held = env->consumer(env->consumer_data, dev, &holder);
	if (held < 0)
		return strv_pushf(reasons, "cannot tell whether %s is held: %s", what, strerror(-held));
	if (held > 0)
		return strv_pushf(reasons, "%s is held by %s", what, holder ? holder : "a consumer");
	return 0;
}

/* Appends one reason per VF of pf that destroying it would take from its
 * user: bound to vfio-pci (a VM or a DPDK application has it), held by a
 * consumer, a netdev the host uses, or a netdev in another namespace. */
static int vfs_in_use_found(const struct lifecycle_env *env, const struct pci_function *pf,
			    const struct netns_found *found, char ***reasons)
{
	int r;
	for (size_t i = 0; i < pf->n_vfs; i++) {
		const struct pci_function *vf = pf->vfs[i];
		char what[64];
		snprintf(what, sizeof(what), "VF %u (%s)", vf->vf_index, vf->addr);
		if (streq_ptr(vf->driver, "vfio-pci") &&
		    (r = strv_pushf(reasons, "%s is bound to vfio-pci", what)) < 0)
			return r;
		if ((r = held_by_consumer(env, vf, what, reasons)) < 0)
			return r;
		if ((r = netdevs_in_use(env, vf, what, reasons)) < 0)
			return r;
		if ((r = netns_in_use(found, vf, what, reasons)) < 0)
			return r;
	}
	return 0;
}

static int vfs_in_use(const struct lifecycle_env *env, const struct pci_function *pf, char ***reasons)
{
	struct netns_found found;
	int r = netns_lookup(env, pf->vfs, pf->n_vfs, &found);
	if (r >= 0)
		r = vfs_in_use_found(env, pf, &found, reasons);
	netns_found_done(&found);
	return r;
}

/* Turns collected reasons into a refusal, or (force) into overridden notes. */
static int refuse_or_note(char ***reasons, bool force, char ***overridden, char **ret_error,
			  const char *preamble)
{
	if (strv_length(*reasons) == 0)
		return 0;
	if (force)
		return strv_move(overridden, reasons);
	_cleanup_free_ char *why = strv_join(*reasons, "; ");
	strv_free(*reasons);
	*reasons = NULL;
	if (!why)
		return -ENOMEM;
	return error_set(ret_error, -EBUSY, "%s: %s (--force to do it anyway)", preamble, why);
}

/* --- VF count ---------------------------------------------------------------- */

void numvfs_result_done(struct numvfs_result *r)
{
	if (!r)
		return;
	strv_free(r->no_driver);
	strv_free(r->overridden);
	*r = (struct numvfs_result){0};
}

static int read_pf_counts(const struct lifecycle_env *env, const struct pci_function *pf, uint32_t *total,
			  uint32_t *current, char **ret_error)
{
	static const char *const attrs[] = {"sriov_totalvfs", "sriov_numvfs"};
	uint32_t *out[] = {total, current};
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		int r = dev_read_u32(env, pf->addr, attrs[i], 0, out[i]);
		if (r < 0) {
			_cleanup_free_ char *path = dev_path(env, pf->addr, attrs[i]);
			return error_set(ret_error, r, "%s: cannot read: %s", path ? path : attrs[i], fs_strerror(r));
		}
	}
	return 0;
}

static int check_is_pf(const struct pci_function *pf, char **ret_error)
{
	char label[LIFECYCLE_LABEL_MAX];
	if (pf->pf)
		return error_set(ret_error, -ENOTTY, "%s is VF %u of %s, not an SR-IOV physical function",
			    lifecycle_label(pf, label), pf->vf_index, pf->pf->addr);
	if (!pf->is_pf)
		return error_set(ret_error, -ENOTTY, "%s is not an SR-IOV physical function (it has no sriov_totalvfs)",
			    lifecycle_label(pf, label));
	return 0;
}

int lifecycle_numvfs_check(const struct lifecycle_env *env, const struct pci_function *pf,
			   const struct numvfs_request *req, char ***overridden, char **ret_error)
{
	*ret_error = NULL;
	int r = check_is_pf(pf, ret_error);
	if (r < 0)
		return r;
	uint32_t total, current;
	if ((r = read_pf_counts(env, pf, &total, &current, ret_error)) < 0)
		return r;
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(pf, label);
	/* The kernel checks this first too, even for the current count. */
	if (req->count > total)
		return error_set(ret_error, -ERANGE, "%s: %u VFs requested, the device offers at most %u (sriov_totalvfs)",
			    label, req->count, total);
	if (req->count == current)
		return 0;
	/* A PF a consumer holds as a whole keeps its VF count. */
	char **reasons = NULL;
	if ((r = held_by_consumer(env, pf, "the PF", &reasons)) < 0) {
		strv_free(reasons);
		return r;
	}
	char preamble[LIFECYCLE_LABEL_MAX + 96];
	if (current == 0) {
		snprintf(preamble, sizeof(preamble), "%s: changing from 0 to %u VFs refused", label, req->count);
		return refuse_or_note(&reasons, req->force, overridden, ret_error, preamble);
	}

	/* The kernel cannot remove some VFs: any change from a non-zero count
	 * goes through 0 and destroys every VF. */
	if ((r = vfs_in_use(env, pf, &reasons)) < 0) {
		strv_free(reasons);
		return r;
	}
	snprintf(preamble, sizeof(preamble), "%s: changing from %u to %u VFs destroys all %u VFs first, but",
		 label, current, req->count, current);
	return refuse_or_note(&reasons, req->force, overridden, ret_error, preamble);
}

/* Why a write to sriov_numvfs may fail, in the user's terms. */
static const char *numvfs_errno_hint(int r)
{
	switch (-r) {
	case ENOENT:
		return " (the PF has no driver, or its driver cannot enable SR-IOV)";
	case EPERM:
		return " (VFs are assigned to a VM)";
	case EBUSY:
		return " (VFs are enabled: they must be disabled, 0, first)";
	case ERANGE:
		return " (more than sriov_totalvfs)";
	case ENOMEM:
		return " (not enough PCI resources for the VFs' BARs: see the kernel log, pci=realloc may help)";
	}
	return "";
}

/* Bind records name a device by address; a destroyed VF's address will be
 * reused by a new, unrelated VF. */
static void forget_vf_records(const struct lifecycle_env *env, const struct pci_function *pf)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		(void)lifecycle_record_forget(env, pf->vfs[i]->addr);
}

unsigned lifecycle_numvfs_timeout_ms(const struct lifecycle_env *env, uint32_t count)
{
	/* A tree from elsewhere has no kernel behind it. */
	if (!sysfs_root_is_live(env->sysfs_root))
		return LIFECYCLE_NUMVFS_TIMEOUT_MS;
	uint64_t ms = LIFECYCLE_NUMVFS_TIMEOUT_BASE_MS + (uint64_t)count * LIFECYCLE_NUMVFS_TIMEOUT_PER_VF_MS;
	return ms > UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}

unsigned lifecycle_numvfs_request_timeout_ms(const struct lifecycle_env *env, const struct numvfs_request *req)
{
	if (req->no_wait)
		return 0;
	return req->timeout_ms ? req->timeout_ms : lifecycle_numvfs_timeout_ms(env, req->count);
}

/* The writes of a count change, checks done: autoprobe, 0 first when
 * needed, the count, and sriov_numvfs read back into ret->after. */
static int numvfs_write(const struct lifecycle_env *env, const struct pci_function *pf,
			const struct numvfs_request *req, struct numvfs_result *ret, char **ret_error)
{
	uint32_t total, current;
	int r = read_pf_counts(env, pf, &total, &current, ret_error);
	if (r < 0)
		return r;
	ret->before = ret->after = current;

	_cleanup_free_ char *numvfs_rel = dev_rel(pf->addr, "sriov_numvfs");
	_cleanup_free_ char *autoprobe_rel = dev_rel(pf->addr, "sriov_drivers_autoprobe");
	_cleanup_free_ char *numvfs_path = root_path(env, numvfs_rel ? numvfs_rel : "");
	_cleanup_free_ char *autoprobe_path = NULL;
	if (!numvfs_rel || !autoprobe_rel || !numvfs_path)
		return -ENOMEM;
	uint32_t ap;
	if (read_u32_beneath(env_root(env), autoprobe_rel, 10, &ap) == 0 && ap <= 1)
		ret->autoprobe = (int)ap;
	if (req->count == current) {
		ret->settled = true;
		ret->links = (uint32_t)pf->n_vfs;
		return 0;
	}

	/* Autoprobe is read when the VFs are created: set it before, and before
	 * anything is destroyed, so that a failure here changes nothing. */
	if (req->count > 0 && req->no_autoprobe) {
		if ((r = env_write(env, autoprobe_rel, "0", &autoprobe_path)) < 0)
			return error_set(ret_error, r, "%s: write 0: %s", autoprobe_path ? autoprobe_path : autoprobe_rel,
					 fs_strerror(r));
		ret->wrote_autoprobe = true;
		ret->autoprobe = 0;
	}
	if (current > 0) {
		ret->disabled_first = req->count > 0;
		_cleanup_free_ char *path = NULL;
		if ((r = env_write(env, numvfs_rel, "0", &path)) < 0) {
			if (req->count > 0)
				return error_set(ret_error, r, "%s: write 0 (to disable the %u VFs before enabling %u): %s%s",
					    numvfs_path, current, req->count, fs_strerror(r), numvfs_errno_hint(r));
			return error_set(ret_error, r, "%s: write 0: %s%s", numvfs_path, fs_strerror(r),
				    numvfs_errno_hint(r));
		}
		ret->changed = true;
		forget_vf_records(env, pf);
		ret->after = 0;
	}
	if (req->count > 0) {
		char value[16];
		snprintf(value, sizeof(value), "%u", req->count);
		_cleanup_free_ char *path = NULL;
		if ((r = env_write(env, numvfs_rel, value, &path)) < 0)
			return error_set(ret_error, r, "%s: write %u: %s%s%s", numvfs_path, req->count, fs_strerror(r),
				    numvfs_errno_hint(r),
				    current > 0 ? "; the PF now has 0 VFs (they were disabled first)" : "");
		ret->changed = true;
	}

	/* A driver may enable fewer VFs than asked and still report success:
	 * what is there is what sriov_numvfs says now. */
	uint32_t after;
	if ((r = read_u32_beneath(env_root(env), numvfs_rel, 0, &after)) < 0)
		return error_set(ret_error, r, "%s: cannot read back: %s", numvfs_path, fs_strerror(r));
	ret->after = after;
	return 0;
}

/* One PF being waited for by wait_vfs_many(). */
struct vfs_wait {
	const char *pf_addr;
	char label[IF_NAMESIZE + PCI_ADDR_STRLEN];
	uint32_t count;
	bool want_drivers;
	unsigned timeout_ms;
	/* the outcome */
	bool settled;
	uint32_t links, bound;
	char **no_driver; /* with want_drivers */
	/* the wait's own */
	int fd;
	uint64_t deadline, settled_since;
	bool was_settled, finished;
	bool quiet_needed; /* since settled: a VF is on a driver that may still let go */
};

static void vfs_wait_done(struct vfs_wait *w)
{
	strv_free(w->no_driver);
	w->no_driver = NULL;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* One look at the PF's virtfn links and, with want_drivers, its VFs'
 * drivers. */
static int look_at_vfs(int pf_fd, uint32_t count, bool want_drivers, bool *ret_settled, uint32_t *ret_links,
		       uint32_t *ret_bound, char ***ret_no_driver)
{
	uint32_t links = 0, bound = 0;
	char **no_driver = NULL;
	bool settled = true;
	int r;
	for (uint32_t i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "virtfn%u", i);
		_cleanup_free_ char *addr = NULL;
		if (read_link_basename_at(pf_fd, name, &addr) < 0) {
			settled = false;
			continue;
		}
		links++;
		char drv[48];
		snprintf(drv, sizeof(drv), "virtfn%u/driver", i);
		struct stat st;
		if (fstatat(pf_fd, drv, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			bound++;
			continue;
		}
		if (!want_drivers)
			continue;
		settled = false;
		if ((r = strv_push(&no_driver, TAKE_PTR(addr))) < 0)
			goto fail;
	}
	/* Links are numbered from 0 without gaps: one past the count tells
	 * whether VFs that should be gone are still there. */
	char beyond[32];
	struct stat st;
	snprintf(beyond, sizeof(beyond), "virtfn%u", count);
	if (fstatat(pf_fd, beyond, &st, AT_SYMLINK_NOFOLLOW) == 0)
		settled = false;
	*ret_settled = settled;
	*ret_links = links;
	*ret_bound = bound;
	*ret_no_driver = no_driver;
	return 0;
fail:
	strv_free(no_driver);
	return r;
}

/* Whether one of the PF's count VFs is on a driver that may still let go
 * of it (lifecycle_driver_needs_settle()): what the settle window is for.
 * A driver link that cannot be read counts as such a driver. */
static bool vfs_need_settle(int pf_fd, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		char name[48];
		snprintf(name, sizeof(name), "virtfn%u/driver", i);
		_cleanup_free_ char *drv = NULL;
		if (read_link_basename_at(pf_fd, name, &drv) < 0 || lifecycle_driver_needs_settle(drv))
			return true;
	}
	return false;
}

/* Waits for every PF of w together: each until its links (and, with
 * want_drivers, its VFs' drivers, kept for the settle time) are there, or
 * its own timeout. Bound VFs share one settle window: it runs from the
 * moment each PF's VFs are all bound, so the PFs settle side by side. */
static int wait_vfs_many(const struct lifecycle_env *env, struct vfs_wait *w, size_t n)
{
	if (n == 0)
		return 0;
	_cleanup_close_ int rootfd = fs_open_root(env_root(env));
	if (rootfd < 0)
		return rootfd;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rel = dev_rel(w[i].pf_addr, "");
		if (!rel)
			return -ENOMEM;
		if ((w[i].fd = fs_open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0)) < 0)
			return w[i].fd;
	}
	struct waiter wt;
	waiter_open(&wt, env);
	uint64_t start = env_now_ns(env);
	for (size_t i = 0; i < n; i++)
		w[i].deadline = start + (uint64_t)w[i].timeout_ms * NSEC_PER_MSEC;
	_cleanup_free_ struct lifecycle_progress_pf *prog = env->progress ? calloc(n, sizeof(*prog)) : NULL;
	int r = 0;
	for (;;) {
		uint64_t now = start, next = UINT64_MAX;
		bool all = true;
		for (size_t i = 0; i < n; i++) {
			struct vfs_wait *x = &w[i];
			if (x->finished)
				continue;
			strv_free(x->no_driver);
			x->no_driver = NULL;
			if ((r = look_at_vfs(x->fd, x->count, x->want_drivers, &x->settled, &x->links, &x->bound,
					     &x->no_driver)) < 0)
				goto out;
			if (!x->want_drivers) {
				strv_free(x->no_driver);
				x->no_driver = NULL;
			}
			now = env_now_ns(env);
			if (x->settled && !x->was_settled) {
				x->settled_since = now;
				x->quiet_needed = x->want_drivers && x->count > 0 && vfs_need_settle(x->fd, x->count);
			}
			x->was_settled = x->settled;
			/* Bound VFs count once they have stayed bound for the settle
			 * time (on drivers that may let go: not vfio-pci); with no
			 * drivers to wait for, links are the whole answer. */
			uint64_t quiet = x->quiet_needed ? (uint64_t)env_settle_ms(env) * NSEC_PER_MSEC : 0;
			if ((x->settled && now - x->settled_since >= quiet) || now >= x->deadline) {
				x->finished = true;
				continue;
			}
			all = false;
			uint64_t t = x->settled ? x->settled_since + quiet : x->deadline;
			if (t > x->deadline)
				t = x->deadline;
			if (t < next)
				next = t;
		}
		if (prog) {
			for (size_t i = 0; i < n; i++)
				prog[i] = (struct lifecycle_progress_pf){.pf_addr = w[i].pf_addr, .label = w[i].label,
									.want = w[i].count, .links = w[i].links,
									.bound = w[i].bound};
			env->progress(env->progress_data, prog, n, now - start);
		}
		if (all)
			break;
		waiter_wait(&wt, now, next);
	}
out:
	waiter_close(&wt);
	return r;
}

void lifecycle_progress_line(char *buf, size_t len, const struct lifecycle_progress_pf *pfs, size_t n,
			     uint64_t elapsed_ns)
{
	size_t at = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && at < len; i++) {
		int k = snprintf(buf + at, len - at, "%s%s: %u/%u VFs, %u bound", i ? "; " : "", pfs[i].label,
				 pfs[i].links, pfs[i].want, pfs[i].bound);
		if (k < 0)
			return;
		at += (size_t)k;
	}
	if (at < len)
		snprintf(buf + at, len - at, ", %llu s", (unsigned long long)(elapsed_ns / NSEC_PER_SEC));
}

void numvfs_job_done(struct numvfs_job *j)
{
	if (!j)
		return;
	numvfs_result_done(&j->res);
	free(j->error);
	j->error = NULL;
}

int lifecycle_set_numvfs_many(const struct lifecycle_env *env, struct numvfs_job *jobs, size_t n)
{
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		jobs[i].res = (struct numvfs_result){.autoprobe = -1};
		jobs[i].r = 0;
		jobs[i].error = NULL;
		jobs[i].started = false;
	}
	/* Every refusal before anything is written. */
	for (size_t i = 0; i < n; i++) {
		struct numvfs_job *j = &jobs[i];
		if ((r = lifecycle_numvfs_check(env, j->pf, &j->req, &j->res.overridden, &j->error)) < 0)
			return j->r = r;
	}
	_cleanup_free_ struct vfs_wait *w = calloc(n ? n : 1, sizeof(*w));
	_cleanup_free_ size_t *job_of = calloc(n ? n : 1, sizeof(*job_of));
	if (!w || !job_of)
		return -ENOMEM;
	size_t nw = 0;
	for (size_t i = 0; i < n; i++) {
		struct numvfs_job *j = &jobs[i];
		j->started = true;
		if ((r = numvfs_write(env, j->pf, &j->req, &j->res, &j->error)) < 0) {
			j->r = r;
			break;
		}
		if (!j->res.changed)
			continue;
		/* Unknown autoprobe (older kernels have no such file) means on. */
		struct vfs_wait *x = &w[nw];
		*x = (struct vfs_wait){.pf_addr = j->pf->addr, .count = j->res.after, .want_drivers = j->res.autoprobe != 0,
				       .timeout_ms = lifecycle_numvfs_request_timeout_ms(env, &j->req), .fd = -1};
		snprintf(x->label, sizeof(x->label), "%s", j->pf->netdevs && j->pf->netdevs[0] ? j->pf->netdevs[0] : j->pf->addr);
		job_of[nw++] = i;
	}
	/* The counts written are waited for together, a failure or not. */
	int wr = wait_vfs_many(env, w, nw);
	for (size_t k = 0; k < nw; k++) {
		struct numvfs_job *j = &jobs[job_of[k]];
		if (wr < 0 && j->r == 0) {
			j->r = error_set(&j->error, wr, "%s: cannot follow its VFs: %s", j->pf->addr, fs_strerror(wr));
		} else if (wr >= 0) {
			j->res.settled = w[k].settled;
			j->res.links = w[k].links;
			j->res.no_driver = TAKE_PTR(w[k].no_driver);
		}
		vfs_wait_done(&w[k]);
		if (j->r == 0 && j->res.after != j->req.count) {
			_cleanup_free_ char *path = dev_path(env, j->pf->addr, "sriov_numvfs");
			j->r = error_set(&j->error, -EIO, "%s: %u VFs requested, the driver enabled %u (see the kernel log)",
					 path ? path : j->pf->addr, j->req.count, j->res.after);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].r < 0)
			return jobs[i].r;
	return 0;
}

int lifecycle_set_numvfs(const struct lifecycle_env *env, const struct pci_function *pf,
			 const struct numvfs_request *req, struct numvfs_result *ret, char **ret_error)
{
	struct numvfs_job j = {.pf = pf, .req = *req};
	int r = lifecycle_set_numvfs_many(env, &j, 1);
	*ret = j.res;
	*ret_error = j.error;
	return r;
}

int lifecycle_set_autoprobe(const struct lifecycle_env *env, const char *pf_addr, bool on, char **ret_error)
{
	*ret_error = NULL;
	_cleanup_free_ char *rel = dev_rel(pf_addr, "sriov_drivers_autoprobe");
	_cleanup_free_ char *path = NULL;
	if (!rel)
		return -ENOMEM;
	int r = env_write(env, rel, on ? "1" : "0", &path);
	if (r < 0)
		return error_set(ret_error, r, "%s: write %d: %s", path ? path : rel, on, fs_strerror(r));
	return 0;
}

int lifecycle_wait_vfs(const struct lifecycle_env *env, const char *pf_addr, uint32_t count,
		       bool want_drivers, unsigned timeout_ms, bool *ret_settled, uint32_t *ret_links,
		       char ***ret_no_driver)
{
	struct vfs_wait w = {.pf_addr = pf_addr, .count = count, .want_drivers = want_drivers,
			     .timeout_ms = timeout_ms, .fd = -1};
	snprintf(w.label, sizeof(w.label), "%s", pf_addr);
	int r = wait_vfs_many(env, &w, 1);
	if (r >= 0) {
		*ret_settled = w.settled;
		*ret_links = w.links;
		if (ret_no_driver)
			*ret_no_driver = TAKE_PTR(w.no_driver);
	}
	vfs_wait_done(&w);
	return r;
}


/* --- the bind state record ------------------------------------------------ */

/* The rule itself: the state folder is the folder *anchor with the path
 * rel beneath it. The live /sys: /run/sriovd itself (rel ""); any other
 * tree: .sriovd beneath the tree's root, so that it is opened there. */
static void state_location(const char *sysfs_root, const char **anchor, const char **rel)
{
	if (sysfs_root_is_live(sysfs_root)) {
		*anchor = LIFECYCLE_STATE_BASE;
		*rel = "";
	} else {
		*anchor = sysfs_root;
		*rel = LIFECYCLE_TREE_STATE;
	}
}

int lifecycle_state_base(const char *sysfs_root, char **ret)
{
	const char *anchor, *rel;
	state_location(sysfs_root, &anchor, &rel);
	char *s = *rel ? path_join(anchor, rel) : strdup(anchor);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

char *lifecycle_state_dir(const struct lifecycle_env *env)
{
	if (env->state_dir)
		return strdup(env->state_dir);
	_cleanup_free_ char *base = NULL;
	if (lifecycle_state_base(env->sysfs_root, &base) < 0)
		return NULL;
	return path_join(base, "bind");
}

/* Opens the bind-record folder, creating it with create. An explicit
 * folder is the administrator's (links in it are theirs); otherwise the
 * folder is opened beneath the state location's anchor (for a tree, the
 * tree itself), refusing any link on the way when creating it. */
static int open_state_dir(const struct lifecycle_env *env, bool create)
{
	int r;
	if (env->state_dir) {
		if (create && (r = mkdir_p(env->state_dir, 0755)) < 0)
			return r;
		int fd = open(env->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	const char *anchor, *rel;
	state_location(env->sysfs_root, &anchor, &rel);
	_cleanup_free_ char *bind = *rel ? path_join(rel, "bind") : strdup("bind");
	if (!bind)
		return -ENOMEM;
	if (create && !*rel && (r = mkdir_p(anchor, 0755)) < 0)
		return r; /* /run/sriovd: the host's own, links and all */
	_cleanup_close_ int anchorfd = fs_open_root(anchor);
	if (anchorfd < 0)
		return anchorfd;
	if (create)
		return fs_mkdir_beneath(anchorfd, bind, 0755);
	return fs_open_beneath(anchorfd, bind, O_RDONLY | O_DIRECTORY, 0);
}

int lifecycle_state_dir_open(const struct lifecycle_env *env, bool create)
{
	return open_state_dir(env, create);
}

int lifecycle_state_dir_make(const struct lifecycle_env *env, char **ret)
{
	_cleanup_free_ char *dir = lifecycle_state_dir(env);
	if (!dir)
		return -ENOMEM;
	int fd = open_state_dir(env, true);
	if (fd < 0)
		return fd;
	close(fd);
	*ret = TAKE_PTR(dir);
	return 0;
}

/* The record's file name: the canonical form of a device address, never
 * anything that could climb out of the folder. */
static int record_name(const char *addr, char canon[PCI_ADDR_STRLEN])
{
	struct pci_addr a;
	if (pci_addr_parse(addr, &a) < 0)
		return -EINVAL;
	pci_addr_format(&a, canon);
	return 0;
}

int lifecycle_record_load(const struct lifecycle_env *env, const char *addr, struct bind_record *ret)
{
	char name[PCI_ADDR_STRLEN];
	int r = record_name(addr, name);
	if (r < 0)
		return r;
	_cleanup_close_ int dirfd = open_state_dir(env, false);
	if (dirfd < 0)
		return dirfd;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno; /* a link is not one of ours */
	_cleanup_free_ char *text = NULL;
	r = read_text_fd(fd, RECORD_MAX, &text);
	if (r == -EBADFD)
		return -EBADMSG;
	if (r < 0)
		return r == -EFBIG ? -EBADMSG : r;
	struct bind_record rec = {0};
	bool have_driver = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "driver=", 7) == 0) {
			if (!driver_name_valid(line + 7))
				return -EBADMSG;
			snprintf(rec.driver, sizeof(rec.driver), "%s", line + 7);
			have_driver = true;
		} else if (strncmp(line, "id=", 3) == 0) {
			unsigned v, d;
			int n = 0;
			if (sscanf(line + 3, "%4x:%4x%n", &v, &d, &n) != 2 || line[3 + n] != '\0')
				return -EBADMSG;
			rec.vendor_id = (uint16_t)v;
			rec.device_id = (uint16_t)d;
		}
		/* Other keys: written by a newer version, not ours to judge. */
	}
	if (!have_driver)
		return -EBADMSG;
	*ret = rec;
	return 0;
}

int lifecycle_record_save(const struct lifecycle_env *env, const char *addr, const struct bind_record *rec)
{
	if (!driver_name_valid(rec->driver))
		return -EINVAL;
	char name[PCI_ADDR_STRLEN];
	int r = record_name(addr, name);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	int len = asprintf(&text,
			   "# sriovctl bind: the host driver this device had; `sriovctl bind %s kernel` restores it\n"
			   "driver=%s\nid=%04x:%04x\n",
			   name, rec->driver, rec->vendor_id, rec->device_id);
	if (len < 0)
		return -ENOMEM;
	_cleanup_close_ int dirfd = open_state_dir(env, true);
	if (dirfd < 0)
		return dirfd;
	/* Readable by anyone, like the rest of /run's state. */
	return write_file_atomic_at(dirfd, name, text, (size_t)len, 0644);
}

int lifecycle_record_forget(const struct lifecycle_env *env, const char *addr)
{
	char name[PCI_ADDR_STRLEN];
	int r = record_name(addr, name);
	if (r < 0)
		return r;
	_cleanup_close_ int dirfd = open_state_dir(env, false);
	if (dirfd == -ENOENT)
		return 0; /* no folder, no record */
	if (dirfd < 0)
		return dirfd;
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* --- driver binding --------------------------------------------------------- */

void bind_result_done(struct bind_result *r)
{
	if (!r)
		return;
	free(r->driver_before);
	free(r->driver_after);
	free(r->target);
	free(r->vfio_device);
	strv_free(r->overridden);
	strv_free(r->destroyed);
	strv_free(r->destroyed_addrs);
	*r = (struct bind_result){.iommu_group = -1};
}

/* What a bind is about to do, worked out before anything is written. */
struct bind_plan {
	bool kernel;          /* the request was "kernel" */
	char *current;        /* driver now; NULL: unbound */
	char *override;       /* driver_override now; NULL: unset */
	char *target;         /* the driver to end up with; NULL: "kernel" with
			       * nothing remembered, any driver the kernel picks */
	bool remembered;      /* target comes from the state record */
	bool nothing_to_do;
};

static void bind_plan_done(struct bind_plan *p)
{
	free(p->current);
	free(p->override);
	free(p->target);
}

/* For "kernel", the device is where it belongs when it is bound to the
 * remembered driver, or (nothing remembered) to any host driver. */
static bool kernel_target_reached(const struct bind_plan *p)
{
	if (p->target)
		return streq_ptr(p->current, p->target);
	return p->current && !lifecycle_driver_is_passthrough(p->current);
}

static int bind_plan_make(const struct lifecycle_env *env, const struct pci_function *dev,
			  const struct bind_request *req, struct bind_plan *p, char **ret_error)
{
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(dev, label);
	*p = (struct bind_plan){.kernel = streq_ptr(req->driver, LIFECYCLE_DRIVER_KERNEL)};
	if (!driver_name_valid(req->driver))
		return error_set(ret_error, -EINVAL, "'%s' is not a driver name (" DRIVER_NAME_RULE ")",
				 QUOTE(req->driver));
	int r = read_driver_now(env, dev->addr, &p->current);
	if (r < 0)
		return error_set(ret_error, r, "%s: cannot read its driver link: %s", label, fs_strerror(r));
	if ((r = read_override_now(env, dev->addr, &p->override)) < 0)
		return error_set(ret_error, r, "%s: cannot read driver_override: %s", label, fs_strerror(r));

	if (p->kernel) {
		struct bind_record rec;
		r = lifecycle_record_load(env, dev->addr, &rec);
		/* A record for another device (a VF destroyed and recreated since)
		 * or a garbled one is ignored, and forgotten once done. */
		if (r == 0 && rec.vendor_id == dev->vendor_id && rec.device_id == dev->device_id) {
			p->target = strdup(rec.driver);
			if (!p->target)
				return -ENOMEM;
			p->remembered = true;
		}
		p->nothing_to_do = kernel_target_reached(p);
	} else {
		p->target = strdup(req->driver);
		if (!p->target)
			return -ENOMEM;
		p->nothing_to_do = streq_ptr(p->current, p->target);
	}
	if (p->nothing_to_do)
		return 0;
	if (p->kernel && !p->target && dev->pf) {
		/* With autoprobe off the kernel probes a VF only for the driver its
		 * driver_override names (pci_device_can_probe): clearing it would
		 * leave the VF without any driver. */
		uint32_t autoprobe;
		if (dev_read_u32(env, dev->pf->addr, "sriov_drivers_autoprobe", 10, &autoprobe) == 0 && autoprobe == 0)
			return error_set(ret_error, -ENODEV,
				    "%s: no driver is remembered for it, and its PF %s has sriov_drivers_autoprobe 0, so "
				    "the kernel would pick none: name the driver (sriovctl bind %s DRIVER)",
				    label, dev->pf->addr, dev->addr);
	}
	if (p->target && !driver_loaded(env, p->target))
		return driver_missing(env, p->target, p->remembered, ret_error);
	return 0;
}

static int bind_refusals(const struct lifecycle_env *env, const struct pci_function *dev,
			 const struct bind_request *req, const struct bind_plan *p, char ***overridden,
			 char **ret_error)
{
	char **reasons = NULL;
	int r = 0;
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(dev, label);

	r = held_by_consumer(env, dev, "it", &reasons);
	if (r >= 0 && streq_ptr(p->target, "vfio-pci"))
		for (size_t i = 0; i < dev->n_group_peers && r >= 0; i++) {
			const struct pci_function *peer = dev->group_peers[i];
			if (peer == dev || keeps_group_viable(peer->driver))
				continue;
			r = strv_pushf(&reasons,
				       "%s shares IOMMU group %d with it and is bound to %s (a VM can only use the "
				       "group once every member is on vfio-pci or unbound)",
				       peer->addr, dev->iommu_group, peer->driver);
		}
	/* Netdevs exist only while a driver is bound: whichever driver comes
	 * next, the current one goes, and its links with it. */
	if (r >= 0 && p->current)
		r = netdevs_in_use(env, dev, NULL, &reasons);
	if (r >= 0 && p->current && pci_function_netdev_may_be_elsewhere(dev)) {
		struct pci_function *one[] = {(struct pci_function *)dev};
		struct netns_found found;
		if ((r = netns_lookup(env, one, 1, &found)) >= 0)
			r = netns_in_use(&found, dev, NULL, &reasons);
		netns_found_done(&found);
	}
	/* Unbinding the PF's driver disables SR-IOV: a count change to 0. */
	if (r >= 0 && p->current && dev->is_pf && dev->n_vfs > 0) {
		char **vf_reasons = NULL;
		r = vfs_in_use(env, dev, &vf_reasons);
		for (size_t i = 0; r >= 0 && vf_reasons && vf_reasons[i]; i++)
			r = strv_pushf(&reasons, "unbinding %s from %s destroys its %zu VF%s, and %s", dev->addr,
				       p->current, dev->n_vfs, dev->n_vfs == 1 ? "" : "s", vf_reasons[i]);
		strv_free(vf_reasons);
	}
	if (r < 0) {
		strv_free(reasons);
		return r;
	}
	char preamble[LIFECYCLE_LABEL_MAX + 96];
	snprintf(preamble, sizeof(preamble), "%s: binding to %s refused", label,
		 p->target ? p->target : "its kernel driver");
	return refuse_or_note(&reasons, req->force, overridden, ret_error, preamble);
}

int lifecycle_bind_check(const struct lifecycle_env *env, const struct pci_function *dev,
			 const struct bind_request *req, char ***overridden, char **ret_error)
{
	*ret_error = NULL;
	struct bind_plan p;
	int r = bind_plan_make(env, dev, req, &p, ret_error);
	if (r == 0 && !p.nothing_to_do)
		r = bind_refusals(env, dev, req, &p, overridden, ret_error);
	bind_plan_done(&p);
	return r;
}

static int write_dev_attr(const struct lifecycle_env *env, const char *addr, const char *attr, const char *value,
			  char **ret_path)
{
	_cleanup_free_ char *rel = dev_rel(addr, attr);
	*ret_path = NULL;
	if (!rel)
		return -ENOMEM;
	return env_write(env, rel, value, ret_path);
}

/* The steps of rebind(), so that a caller tells which one failed from data. */
enum rebind_step {
	REBIND_STEP_UNBIND, /* drivers/DRIVER/unbind */
	REBIND_STEP_PROBE,  /* drivers_probe */
};

/* Unbinds addr from driver (if any) and asks the kernel to probe it again,
 * which honours driver_override. On failure *ret_step says which step
 * failed and *ret_path names its file. */
static int rebind(const struct lifecycle_env *env, const char *addr, const char *driver, char **ret_path,
		  enum rebind_step *ret_step)
{
	int r;
	*ret_path = NULL;
	*ret_step = REBIND_STEP_UNBIND;
	if (driver) {
		_cleanup_free_ char *rel = NULL;
		if (asprintf(&rel, "bus/pci/drivers/%s/unbind", driver) < 0)
			return -ENOMEM;
		r = env_write(env, rel, addr, ret_path);
		/* ENODEV: the driver let go of it by itself meanwhile. */
		if (r < 0 && r != -ENODEV)
			return r;
		free(*ret_path);
		*ret_path = NULL;
	}
	*ret_step = REBIND_STEP_PROBE;
	return env_write(env, "bus/pci/drivers_probe", addr, ret_path);
}

/* Puts the device back on the driver and the driver_override it had.
 * Returns 0 when it is, else -errno with *ret_error saying what is left. */
static int bind_put_back(const struct lifecycle_env *env, const char *addr, const struct bind_plan *p,
			 char **ret_error)
{
	_cleanup_free_ char *now = NULL, *path = NULL;
	int r = read_driver_now(env, addr, &now);
	if (r < 0)
		return error_set(ret_error, r, "cannot read its driver link: %s", fs_strerror(r));
	if (p->current && !streq_ptr(now, p->current)) {
		/* The previous driver comes back the way the new one came. */
		r = write_dev_attr(env, addr, "driver_override", p->current, &path);
		if (r < 0)
			return error_set(ret_error, r, "%s: %s", path, fs_strerror(r));
		free(path);
		/* A drivers_probe error is judged by the driver link below. */
		enum rebind_step step;
		if ((r = rebind(env, addr, now, &path, &step)) < 0 && (step != REBIND_STEP_PROBE || r == -ENOMEM))
			return error_set(ret_error, r, "%s: %s", path ? path : addr, fs_strerror(r));
	} else if (!p->current && now) {
		/* It was unbound: let go of it again. */
		_cleanup_free_ char *rel = NULL;
		if (asprintf(&rel, "bus/pci/drivers/%s/unbind", now) < 0)
			return -ENOMEM;
		if ((r = env_write(env, rel, addr, &path)) < 0)
			return error_set(ret_error, r, "%s: %s", path ? path : rel, fs_strerror(r));
	}
	free(path);
	path = NULL;
	r = write_dev_attr(env, addr, "driver_override", p->override ? p->override : "\n", &path);
	if (r < 0)
		return error_set(ret_error, r, "%s: %s", path, fs_strerror(r));
	free(now);
	now = NULL;
	if ((r = read_driver_now(env, addr, &now)) < 0)
		return error_set(ret_error, r, "cannot read its driver link: %s", fs_strerror(r));
	if (!streq_ptr(now, p->current))
		return error_set(ret_error, -EIO, "it is on %s instead of %s", now ? now : "no driver",
			    p->current ? p->current : "no driver");
	return 0;
}

static int wait_vfio_node(const struct lifecycle_env *env, int32_t group, unsigned wait_ms, char **ret)
{
	/* With vfio's no-IOMMU mode the node is called noiommu-N. */
	char name[2][32];
	snprintf(name[0], sizeof(name[0]), "%d", group);
	snprintf(name[1], sizeof(name[1]), "noiommu-%d", group);
	struct waiter wt;
	waiter_open(&wt, env);
	uint64_t deadline = deadline_after_ms(env, wait_ms);
	int r;
	for (;;) {
		for (size_t i = 0; i < 2; i++) {
			_cleanup_free_ char *path = path_join(env_vfio_dir(env), name[i]);
			if (!path) {
				r = -ENOMEM;
				goto out;
			}
			if (access(path, F_OK) == 0) {
				*ret = TAKE_PTR(path);
				r = 0;
				goto out;
			}
		}
		uint64_t now = env_now_ns(env);
		if (now >= deadline) {
			r = -ENOENT;
			goto out;
		}
		waiter_wait(&wt, now, deadline);
	}
out:
	waiter_close(&wt);
	return r;
}

static int read_iommu_group(const struct lifecycle_env *env, const char *addr, int32_t *ret)
{
	_cleanup_free_ char *name = NULL;
	*ret = -1;
	int r = dev_read_link_basename(env, addr, "iommu_group", &name);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	int32_t g;
	if (parse_i32(name, 10, &g) < 0 || g < 0)
		return -EBADMSG;
	*ret = g;
	return 0;
}

/* After the driver has changed: the vfio-pci node, and the group for the
 * result. */
static int bind_finish_vfio(const struct lifecycle_env *env, const struct pci_function *dev,
			    const struct bind_request *req, struct bind_result *res, char **ret_error)
{
	char label[LIFECYCLE_LABEL_MAX];
	int r = read_iommu_group(env, dev->addr, &res->iommu_group);
	if (r < 0)
		return error_set(ret_error, r, "%s: cannot read its iommu_group link: %s", lifecycle_label(dev, label),
			    fs_strerror(r));
	if (!streq_ptr(res->driver_after, "vfio-pci"))
		return 0;
	if (res->iommu_group < 0)
		return error_set(ret_error, -ENOENT, "%s is bound to vfio-pci but has no IOMMU group, so no %s node",
			    lifecycle_label(dev, label), env_vfio_dir(env));
	unsigned wait_ms = req->vfio_wait_ms ? req->vfio_wait_ms : LIFECYCLE_VFIO_WAIT_MS;
	r = wait_vfio_node(env, res->iommu_group, wait_ms, &res->vfio_device);
	if (r == -ENOENT)
		return error_set(ret_error, r, "%s is bound to vfio-pci, but %s/%d did not appear within %u ms",
			    lifecycle_label(dev, label), env_vfio_dir(env), res->iommu_group, wait_ms);
	return r;
}

/* Appends "; <more>" to *error (kept as is on ENOMEM). */
static void append_error(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_error(char **error, const char *fmt, ...)
{
	va_list ap;
	_cleanup_free_ char *more = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&more, fmt, ap);
	va_end(ap);
	char *s;
	if (n < 0 || !*error || asprintf(&s, "%s; %s", *error, more) < 0)
		return;
	free(*error);
	*error = s;
}

/* The bind failed after something was written: put the device back and
 * say so after the reason in *ret_error. Returns r. */
static int bind_undo(const struct lifecycle_env *env, const struct pci_function *dev, const struct bind_plan *p,
		     bool saved_record, struct bind_result *res, int r, char **ret_error)
{
	_cleanup_free_ char *put_back_error = NULL;
	int ur = bind_put_back(env, dev->addr, p, &put_back_error);
	if (saved_record)
		(void)lifecycle_record_forget(env, dev->addr);
	if (ur < 0)
		append_error(ret_error, "could not put it back: %s", put_back_error ? put_back_error : strerror(-ur));
	else
		append_error(ret_error, "put back on %s", p->current ? p->current : "no driver");
	free(res->driver_after);
	res->driver_after = NULL;
	(void)read_driver_now(env, dev->addr, &res->driver_after);
	return r;
}

/* After a PF left its driver: which of the scan's VFs are gone, and their
 * bind records with them (a new VF will reuse the address). */
static int note_destroyed_vfs(const struct lifecycle_env *env, const struct pci_function *dev,
			      const struct bind_plan *p, struct bind_result *res)
{
	if (!p->current || !dev->is_pf)
		return 0;
	for (size_t i = 0; i < dev->n_vfs; i++) {
		const struct pci_function *vf = dev->vfs[i];
		_cleanup_free_ char *path = dev_path(env, vf->addr, "");
		if (!path)
			return -ENOMEM;
		struct stat st;
		if (stat(path, &st) == 0)
			continue; /* still there (the driver kept VFs it could not free) */
		char label[LIFECYCLE_LABEL_MAX];
		int r = strv_pushf(&res->destroyed, "VF %u %s", vf->vf_index, lifecycle_label(vf, label));
		if (r >= 0)
			r = strv_pushf(&res->destroyed_addrs, "%s", vf->addr);
		if (r < 0)
			return r;
		(void)lifecycle_record_forget(env, vf->addr);
	}
	return 0;
}

/* One job's state while lifecycle_bind_many() runs it. */
struct bind_run {
	struct lifecycle_env env; /* the job's: the consumer hook dropped for ignore_consumer */
	struct bind_plan p;
	bool planned;
	bool saved_record;
	bool watch; /* a real driver took it: held through the settle window */
	bool failed;
};

/* Rebinds one device whose plan and refusals passed: the record, then
 * driver_override, unbind, drivers_probe, and whether the driver took it.
 * On failure the device is put back (bind_undo). */
static int bind_start(struct bind_run *b, const struct pci_function *dev, struct bind_result *ret, char **ret_error)
{
	const struct lifecycle_env *env = &b->env;
	const struct bind_plan *p = &b->p;
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(dev, label);
	_cleanup_free_ char *path = NULL;
	int r;

	/* Remember the host driver before it is replaced, unless an earlier
	 * bind already did (igbvf -> vfio-pci -> pci-stub keeps igbvf). */
	if (!p->kernel && p->current && !lifecycle_driver_is_passthrough(p->current)) {
		struct bind_record old;
		int lr = lifecycle_record_load(env, dev->addr, &old);
		if (lr < 0 || old.vendor_id != dev->vendor_id || old.device_id != dev->device_id) {
			struct bind_record rec = {.vendor_id = dev->vendor_id, .device_id = dev->device_id};
			snprintf(rec.driver, sizeof(rec.driver), "%s", p->current);
			if ((r = lifecycle_record_save(env, dev->addr, &rec)) < 0) {
				_cleanup_free_ char *dir = lifecycle_state_dir(env);
				return error_set(ret_error, r, "%s: cannot remember its driver %s in %s: %s", label,
					    p->current, dir ? dir : "the state folder", fs_strerror(r));
			}
			b->saved_record = true;
		}
	}

	ret->changed = true;
	r = write_dev_attr(env, dev->addr, "driver_override", p->target ? p->target : "\n", &path);
	if (r < 0) {
		error_set(ret_error, r, "%s: write %s: %s", path, p->target ? p->target : "\"\\n\"", fs_strerror(r));
		return bind_undo(env, dev, p, b->saved_record, ret, r, ret_error);
	}
	free(path);
	enum rebind_step step;
	r = rebind(env, dev->addr, p->current, &path, &step);
	/* drivers_probe answers EINVAL, or nothing at all, when no driver took
	 * the device: the driver link is the only answer to trust. */
	int probe_r = r;
	if (r < 0 && (step != REBIND_STEP_PROBE || r == -ENOMEM)) {
		error_set(ret_error, r, "%s: write %s: %s", path ? path : dev->addr, dev->addr, fs_strerror(r));
		return bind_undo(env, dev, p, b->saved_record, ret, r, ret_error);
	}
	if ((r = read_driver_now(env, dev->addr, &ret->driver_after)) < 0) {
		error_set(ret_error, r, "%s: cannot read its driver link: %s", label, fs_strerror(r));
		return bind_undo(env, dev, p, b->saved_record, ret, r, ret_error);
	}
	bool took = p->target ? streq_ptr(ret->driver_after, p->target) : ret->driver_after != NULL;
	if (!took) {
		char probe_note[128] = "";
		if (probe_r < 0)
			snprintf(probe_note, sizeof(probe_note), ", drivers_probe said: %s", fs_strerror(probe_r));
		if (p->target)
			error_set(ret_error, -EIO, "%s: %s refused the device%s (it is on %s now%s; see the kernel log)",
			     label, p->target,
			     streq_ptr(p->target, "vfio-pci") && dev->iommu_group < 0
				     ? " (it has no IOMMU group: is the IOMMU on?)" : "",
			     ret->driver_after ? ret->driver_after : "no driver", probe_note);
		else
			error_set(ret_error, -EIO,
			     "%s: no driver took the device once driver_override was cleared (is its driver "
			     "loaded?%s)", label, probe_note);
		return bind_undo(env, dev, p, b->saved_record, ret, -EIO, ret_error);
	}
	/* vfio-pci and pci-stub only hold a device; a real driver may still
	 * give it up once its probe's background work fails. */
	b->watch = lifecycle_driver_needs_settle(ret->driver_after);
	return 0;
}

/* After the settle window: the destroyed VFs, "kernel"'s override and
 * record, the vfio-pci node. */
static int bind_finish(struct bind_run *b, const struct pci_function *dev, const struct bind_request *req,
		       struct bind_result *ret, char **ret_error)
{
	const struct lifecycle_env *env = &b->env;
	const struct bind_plan *p = &b->p;
	int r;
	if ((r = note_destroyed_vfs(env, dev, p, ret)) < 0)
		return r;
	if (p->kernel) {
		/* The remembered driver came back through driver_override; now that
		 * it is bound the override goes, so that the kernel decides again
		 * on the next probe. */
		if (p->target) {
			_cleanup_free_ char *path = NULL;
			r = write_dev_attr(env, dev->addr, "driver_override", "\n", &path);
			if (r < 0)
				return error_set(ret_error, r, "%s: write \"\\n\": %s", path, fs_strerror(r));
		}
		ret->restored = p->remembered;
		(void)lifecycle_record_forget(env, dev->addr);
	}
	return bind_finish_vfio(env, dev, req, ret, ret_error);
}

/* A device already on its target: "kernel" still clears driver_override. */
static int bind_nothing_to_do(struct bind_run *b, const struct pci_function *dev, const struct bind_request *req,
			      struct bind_result *ret, char **ret_error)
{
	const struct lifecycle_env *env = &b->env;
	const struct bind_plan *p = &b->p;
	_cleanup_free_ char *path = NULL;
	int r;
	if (p->kernel && p->override && (r = write_dev_attr(env, dev->addr, "driver_override", "\n", &path)) < 0)
		return error_set(ret_error, r, "%s: write \"\\n\": %s", path, fs_strerror(r));
	if (p->kernel)
		(void)lifecycle_record_forget(env, dev->addr);
	if (p->current && !(ret->driver_after = strdup(p->current)))
		return -ENOMEM;
	return bind_finish_vfio(env, dev, req, ret, ret_error);
}

/* The one settle window the rebound devices share: each must keep the
 * driver that took it until the window ends; one that lets go fails and is
 * put back. The window is watched on the kernel's events. */
static void bind_settle(const struct lifecycle_env *env, struct bind_run *runs, struct bind_job *jobs, size_t n)
{
	size_t watched = 0;
	for (size_t i = 0; i < n; i++)
		watched += runs[i].watch && !runs[i].failed;
	if (!watched)
		return;
	struct waiter wt;
	waiter_open(&wt, env);
	unsigned ms = env_settle_ms(env);
	uint64_t deadline = deadline_after_ms(env, ms);
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			struct bind_run *b = &runs[i];
			struct bind_job *j = &jobs[i];
			if (!b->watch || b->failed)
				continue;
			char label[LIFECYCLE_LABEL_MAX];
			lifecycle_label(j->dev, label);
			_cleanup_free_ char *now = NULL;
			int r = read_driver_now(&b->env, j->dev->addr, &now);
			if (r < 0)
				error_set(&j->error, r, "%s: cannot read its driver link: %s", label, fs_strerror(r));
			else if (!streq_ptr(now, j->res.driver_after))
				r = error_set(&j->error, -EIO, "%s: %s took the device but let go of it within %u ms (see the "
					      "kernel log)", label, j->res.driver_after, ms);
			if (r < 0) {
				j->r = bind_undo(&b->env, j->dev, &b->p, b->saved_record, &j->res, r, &j->error);
				b->failed = true;
				watched--;
			}
		}
		uint64_t t = env_now_ns(env);
		if (t >= deadline || !watched)
			break;
		waiter_wait(&wt, t, deadline);
	}
	waiter_close(&wt);
}

void bind_job_done(struct bind_job *j)
{
	if (!j)
		return;
	bind_result_done(&j->res);
	free(j->error);
	j->error = NULL;
}

int lifecycle_bind_many(const struct lifecycle_env *env, struct bind_job *jobs, size_t n)
{
	_cleanup_free_ struct bind_run *runs = calloc(n ? n : 1, sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		jobs[i].res = (struct bind_result){.iommu_group = -1};
		jobs[i].r = 0;
		jobs[i].error = NULL;
		jobs[i].started = false;
		runs[i].env = *env;
		if (jobs[i].ignore_consumer) {
			runs[i].env.consumer = NULL;
			runs[i].env.consumer_data = NULL;
		}
	}
	/* Every plan and refusal before anything is written. */
	for (size_t i = 0; i < n && r == 0; i++) {
		struct bind_job *j = &jobs[i];
		struct bind_run *b = &runs[i];
		r = bind_plan_make(&b->env, j->dev, &j->req, &b->p, &j->error);
		b->planned = true;
		if (r == 0 && b->p.current && !(j->res.driver_before = strdup(b->p.current)))
			r = -ENOMEM;
		if (r == 0 && b->p.target && !(j->res.target = strdup(b->p.target)))
			r = -ENOMEM;
		if (r == 0 && !b->p.nothing_to_do)
			r = bind_refusals(&b->env, j->dev, &j->req, &b->p, &j->res.overridden, &j->error);
		if (r < 0)
			j->r = r;
	}
	/* One device after the other; a failure stops the rest. */
	for (size_t i = 0; i < n && r == 0; i++) {
		struct bind_job *j = &jobs[i];
		struct bind_run *b = &runs[i];
		j->started = true;
		if (b->p.nothing_to_do)
			r = bind_nothing_to_do(b, j->dev, &j->req, &j->res, &j->error);
		else
			r = bind_start(b, j->dev, &j->res, &j->error);
		if (r < 0) {
			j->r = r;
			b->failed = true;
		}
	}
	bind_settle(env, runs, jobs, n);
	for (size_t i = 0; i < n; i++) {
		struct bind_job *j = &jobs[i];
		struct bind_run *b = &runs[i];
		if (j->started && !b->failed && !b->p.nothing_to_do && (j->r = bind_finish(b, j->dev, &j->req, &j->res, &j->error)) < 0)
			b->failed = true;
	}
	r = 0;
	for (size_t i = 0; i < n; i++) {
		if (runs[i].planned)
			bind_plan_done(&runs[i].p);
		if (!r && jobs[i].r < 0)
			r = jobs[i].r;
	}
	return r;
}

int lifecycle_bind(const struct lifecycle_env *env, const struct pci_function *dev,
		   const struct bind_request *req, struct bind_result *ret, char **ret_error)
{
	struct bind_job j = {.dev = dev, .req = *req};
	int r = lifecycle_bind_many(env, &j, 1);
	*ret = j.res;
	*ret_error = j.error;
	return r;
}


/* --- Reloading a VF's driver ------------------------------------------------ */

/* The first netdev under addr's net/ now, or NULL. */
int lifecycle_netdev_now(const struct lifecycle_env *env, const char *addr, char **ret)
{
	_cleanup_free_ char *path = dev_path(env, addr, "net");
	if (!path)
		return -ENOMEM;
	*ret = NULL;
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			*ret = strdup(de->d_name);
			break;
		}
	closedir(d);
	return 0;
}

int lifecycle_netdev_follow(const struct lifecycle_env *env, const char *addr, char netdev[IF_NAMESIZE])
{
	_cleanup_free_ char *rel = NULL, *now = NULL;
	if (asprintf(&rel, "net/%s", netdev) < 0)
		return -ENOMEM;
	_cleanup_free_ char *path = dev_path(env, addr, rel);
	if (!path)
		return -ENOMEM;
	if (access(path, F_OK) == 0)
		return 0;
	int r = lifecycle_netdev_now(env, addr, &now);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !now || strcmp(now, netdev) == 0 || strlen(now) >= IF_NAMESIZE)
		return 0;
	snprintf(netdev, IF_NAMESIZE, "%s", now);
	return 1;
}

/* udev's folder: env's, else this host's when udev runs there (its control
 * socket is there) and env's tree is this host's /sys; NULL: no udev to
 * wait for. */
static const char *udev_dir(const struct lifecycle_env *env)
{
	if (env->udev_dir)
		return env->udev_dir;
	if (!sysfs_root_is_live(env->sysfs_root) || access(LIFECYCLE_UDEV_DIR "/control", F_OK) < 0)
		return NULL;
	return LIFECYCLE_UDEV_DIR;
}

/* Whether udev has handled the netdev of addr (its database entry
 * nIFINDEX is there), or there is none to wait for: 1, else 0, or -errno. */
static int udev_netdev_done(const struct lifecycle_env *env, const char *udev, const char *addr)
{
	_cleanup_free_ char *net = NULL, *rel = NULL, *db = NULL;
	int r = lifecycle_netdev_now(env, addr, &net);
	if (r < 0 || !net)
		return r < 0 ? r : 1;
	uint32_t ifindex = 0;
	if (asprintf(&rel, "net/%s/ifindex", net) < 0)
		return -ENOMEM;
	r = dev_read_u32(env, addr, rel, 10, &ifindex);
	if (r == -ENOENT)
		return 0; /* renamed or gone since the folder was read: look again */
	if (r < 0)
		return r;
	if (asprintf(&db, "%s/data/n%" PRIu32, udev, ifindex) < 0)
		return -ENOMEM;
	return access(db, F_OK) == 0;
}

void lifecycle_udev_wait_netdev(const struct lifecycle_env *env, const char *addr)
{
	const char *udev = udev_dir(env);
	if (!udev)
		return;
	uint64_t deadline = deadline_after_ms(env, LIFECYCLE_UDEV_TIMEOUT_MS);
	for (;;) {
		if (udev_netdev_done(env, udev, addr) != 0)
			return; /* done, none, or it cannot be told: the caller reads what is there */
		uint64_t now = env_now_ns(env);
		if (now >= deadline)
			return;
		uint64_t next = now + LIFECYCLE_UDEV_POLL_MS * NSEC_PER_MSEC;
		if (next > deadline)
			next = deadline;
		/* udev's entry comes with no event of the kernel's: each look is
		 * on the clock, and sriovd serves meanwhile (its events hook). */
		if (!env->events.wait || env->events.wait(env->events.userdata, next) < 0)
			env_sleep_until_ns(env, next);
	}
}

int lifecycle_reload_driver(const struct lifecycle_env *env, const struct pci_function *dev, unsigned timeout_ms,
			    char **ret_netdev, char **ret_error)
{
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(dev, label);
	*ret_netdev = NULL;
	if (!dev->driver)
		return error_set(ret_error, -ENODEV, "%s has no driver to reload", label);
	char **reasons = NULL;
	int r = netdevs_in_use(env, dev, NULL, &reasons);
	if (r < 0 || reasons) {
		if (r == 0)
			r = error_set(ret_error, -EBUSY, "%s: reloading its driver %s would drop its network: %s", label,
				 dev->driver, reasons[0]);
		strv_free(reasons);
		return r;
	}
	_cleanup_free_ char *path = NULL;
	enum rebind_step step;
	if ((r = rebind(env, dev->addr, dev->driver, &path, &step)) < 0)
		return error_set(ret_error, r, "%s: cannot write %s: %s", label, path ? path : "?", strerror(-r));
	struct waiter wt;
	waiter_open(&wt, env);
	uint64_t deadline = deadline_after_ms(env, timeout_ms ? timeout_ms : LIFECYCLE_NUMVFS_TIMEOUT_MS);
	for (;;) {
		_cleanup_free_ char *drv = NULL, *net = NULL;
		if ((r = read_driver_now(env, dev->addr, &drv)) < 0 || (r = lifecycle_netdev_now(env, dev->addr, &net)) < 0) {
			r = error_set(ret_error, r, "%s: cannot read it back: %s", label, strerror(-r));
			break;
		}
		if (streq_ptr(drv, dev->driver) && net) {
			*ret_netdev = TAKE_PTR(net);
			r = 0;
			break;
		}
		uint64_t t = env_now_ns(env);
		if (t >= deadline) {
			r = error_set(ret_error, -ETIMEDOUT, "%s: %s did not take it back with a netdev in %u ms (driver now %s)",
				    label, dev->driver, timeout_ms ? timeout_ms : LIFECYCLE_NUMVFS_TIMEOUT_MS, drv ? drv : "none");
			break;
		}
		waiter_wait(&wt, t, deadline);
	}
	waiter_close(&wt);
	return r;
}

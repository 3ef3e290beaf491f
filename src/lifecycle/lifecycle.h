/* lifecycle: changing what exists and who drives it.
 *
 * Owns: changing a PF's VF count (sriov_numvfs, sriov_drivers_autoprobe,
 * waiting until the VFs and their drivers have settled) and binding a PCI
 * function to a driver (driver_override, unbind, drivers_probe, checking the
 * outcome and putting things back when the driver refuses), with the record
 * of the driver a bind replaced so that "kernel" can bring it back. And the
 * refusal rules that keep both from pulling a device from under its user:
 *   - destroying VFs (any change from a non-zero count, or unbinding their
 *     PF) while one is bound to vfio-pci, held by a consumer, has a netdev
 *     that is up with IP addresses, or has its netdev in another network
 *     namespace (a container has it);
 *   - binding a device whose own netdev is up with addresses or routes (the
 *     host would lose that network) or is in another network namespace;
 *   - binding to vfio-pci while other members of the IOMMU group are bound
 *     to host drivers (the group would not be viable for a VM).
 * `force` overrides the refusals, never the kernel.
 *
 * Functions return 0 or -errno and never print. On failure or refusal
 * *ret_error receives one sentence naming the device, the file or the
 * reason (the caller prints and frees it; it may be NULL on ENOMEM). A
 * refusal is -EBUSY; a count above sriov_totalvfs -ERANGE; a target driver
 * that is not loaded -ENOENT. Kernel errors come back as the kernel said. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "netlink/rtnl.h"
#include "sysfs/sysfs.h"
#include "util/input.h"

/* Where state is kept (bind records here; the daemon's status file and
 * lock beside them): see lifecycle_state_base(). */
#define LIFECYCLE_STATE_BASE "/run/sriovd"
#define LIFECYCLE_STATE_DIR LIFECYCLE_STATE_BASE "/bind"
/* A tree's own state folder, at the tree's root. */
#define LIFECYCLE_TREE_STATE ".sriovd"
#define LIFECYCLE_VFIO_DIR "/dev/vfio"
/* bind's pseudo-driver: the one the device had before sriovctl moved it,
 * or else the one the kernel picks by ID. */
#define LIFECYCLE_DRIVER_KERNEL "kernel"
/* How long a VF count change waits for the VFs and their drivers, by
 * default: 30 s plus 1 s per VF on this host's /sys (real drivers take
 * about that: i40e enabled 64 VFs in 22 s, 125 in about 65 s), 10 s on a
 * tree from elsewhere, which no kernel drives. See
 * lifecycle_numvfs_timeout_ms(). */
#define LIFECYCLE_NUMVFS_TIMEOUT_BASE_MS 30000
#define LIFECYCLE_NUMVFS_TIMEOUT_PER_VF_MS 1000
#define LIFECYCLE_NUMVFS_TIMEOUT_MS 10000
#define LIFECYCLE_VFIO_WAIT_MS 2000
/* A driver must keep a device this long to count as bound: some probe it,
 * return success, and give it up from a work item moments later (nvme, when
 * a controller never becomes ready, did so after ~0.5 s in the testbed).
 * Only drivers that may do so are watched: see
 * lifecycle_driver_needs_settle(). */
#define LIFECYCLE_SETTLE_MS 1000
/* lifecycle_env.settle_ms for no window at all (sriovctl apply --settle 0):
 * a driver that took a device is taken at its word. */
#define LIFECYCLE_SETTLE_NONE UINT_MAX

/* How the host uses a netdev (IFF_UP, addresses, routes). */
typedef int (*lifecycle_link_usage_fn)(void *userdata, const char *ifname, struct link_usage *ret);
/* Whether a consumer holds dev: 1 with a description in *ret_holder (e.g.
 * "VM web1", the caller frees it), 0 when free, or -errno. */
typedef int (*lifecycle_consumer_fn)(void *userdata, const struct pci_function *dev, char **ret_holder);
/* Where the netdevs of devs (PCI addresses, NULL-terminated) are in other
 * network namespaces (see rtnl_netns_find): 0 with *ret filled, or -errno. */
typedef int (*lifecycle_netns_fn)(void *userdata, char *const *devs, struct netns_found *ret);
/* Writes value to the sysfs attribute at path: 0 or the kernel's -errno. */
typedef int (*lifecycle_write_fn)(void *userdata, const char *path, const char *value);

/* The clock every wait runs on: now_ns reads a monotonic clock in
 * nanoseconds, sleep_until_ns sleeps until that clock reads deadline_ns (an
 * absolute time, so a wait can neither end early nor drift). Both NULL:
 * CLOCK_MONOTONIC and clock_nanosleep(TIMER_ABSTIME). A test plugs in a
 * clock of its own and plays what happens meanwhile. */
struct lifecycle_clock {
	uint64_t (*now_ns)(void *userdata);
	void (*sleep_until_ns)(void *userdata, uint64_t deadline_ns);
	void *userdata;
};

/* What the kernel announces (its uevents): every wait looks at sysfs again
 * when something happened, not every few milliseconds. wait blocks until
 * an event may have changed something (1), the env's clock reaches
 * deadline_ns (0), or it fails (-errno; the wait then looks every 50 ms).
 * NULL: on this host's /sys a uevent socket of the wait's own
 * (netlink/uevent.h), opened before its first look so that nothing is
 * missed; on a tree from elsewhere, or with a clock hook and no wait hook,
 * a look every 50 ms on the env's clock. sriovd plugs its event loop in
 * here, so that it keeps serving while an apply waits; unit tests play the
 * kernel's events. */
struct lifecycle_events {
	int (*wait)(void *userdata, uint64_t deadline_ns);
	void *userdata;
};

/* One PF's VF count being waited for, as the progress hook sees it. */
struct lifecycle_progress_pf {
	const char *pf_addr;
	const char *label; /* "eth0", else the address */
	uint32_t want;     /* VFs asked for */
	uint32_t links;    /* virtfn links there now */
	uint32_t bound;    /* of those, with a driver */
};
/* Called after every look while VF counts are waited for, with the time
 * since the wait began (on the env's clock). */
typedef void (*lifecycle_progress_fn)(void *userdata, const struct lifecycle_progress_pf *pfs, size_t n,
				      uint64_t elapsed_ns);

/* The progress of a count wait on one line: "eth0: 37/64 VFs, 21 bound,
 * 12 s" (PFs joined by "; "), cut to fit len. */
void lifecycle_progress_line(char *buf, size_t len, const struct lifecycle_progress_pf *pfs, size_t n,
			     uint64_t elapsed_ns);

struct lifecycle_env {
	const char *sysfs_root; /* NULL: /sys */
	const char *state_dir;  /* bind records; NULL: "bind" in lifecycle_state_base() */
	const char *vfio_dir;   /* NULL: LIFECYCLE_VFIO_DIR */
	/* NULL: netdevs are not looked at (a sysfs tree from elsewhere names
	 * links this kernel does not have). */
	lifecycle_link_usage_fn link_usage;
	void *link_usage_data;
	/* NULL: netdevs moved into other network namespaces are not looked
	 * for. Otherwise a network function bound to a host driver that has
	 * no netdev here is looked up there: a netdev found in a container
	 * counts as in use, whatever is on it. */
	lifecycle_netns_fn netns;
	void *netns_data;
	/* The ledger of consumers (VMs, containers) plugs in here; until it
	 * exists this stays NULL and no VF counts as held. */
	lifecycle_consumer_fn consumer;
	void *consumer_data;
	/* NULL: one write(2). Tests observe the writes and play the kernel. */
	lifecycle_write_fn write;
	void *write_data;
	unsigned settle_ms; /* 0: LIFECYCLE_SETTLE_MS; LIFECYCLE_SETTLE_NONE: none */
	struct lifecycle_clock clock; /* zeroed: the real monotonic clock */
	struct lifecycle_events events; /* zeroed: see struct lifecycle_events */
	lifecycle_progress_fn progress; /* NULL: none */
	void *progress_data;
	/* udev's run folder (control, data/), for lifecycle_udev_wait_netdev;
	 * NULL: LIFECYCLE_UDEV_DIR when udev runs there and the tree is this
	 * host's /sys, else no udev. */
	const char *udev_dir;
};

/* A link_usage provider over rtnetlink; userdata is a struct
 * lifecycle_rtnl, whose socket is opened on first use. */
struct lifecycle_rtnl {
	struct rtnl *nl;
};
int lifecycle_rtnl_link_usage(void *userdata, const char *ifname, struct link_usage *ret);
/* A netns provider over rtnetlink (every namespace of this host). */
int lifecycle_rtnl_netns(void *userdata, char *const *devs, struct netns_found *ret);
void lifecycle_rtnl_done(struct lifecycle_rtnl *r);

/* The state folder of env (bind records, the locks of lock/): state_dir
 * when set ($SRIOV_STATE_DIR), else "bind" in lifecycle_state_base() of
 * its sysfs root, never the host's for a tree from elsewhere. A fresh
 * string, NULL on ENOMEM. */
char *lifecycle_state_dir(const struct lifecycle_env *env);
/* The same folder, created when missing (a tree's own beneath the tree,
 * refusing any link on the way: -EXDEV): 0 with *ret a fresh string, or
 * -errno. For the lock files kept there. */
int lifecycle_state_dir_make(const struct lifecycle_env *env, char **ret);
/* The same folder opened (O_RDONLY|O_DIRECTORY), created when create (a
 * tree's own beneath the tree, no link followed): the fd, or -errno. For
 * the small files kept there (caps/). */
int lifecycle_state_dir_open(const struct lifecycle_env *env, bool create);

/* Whether driver only holds a device for user space (or for nothing):
 * vfio-pci and pci-stub. Such a driver is never "the kernel driver" a
 * device goes back to, and makes no netdev. */
bool lifecycle_driver_is_passthrough(const char *driver);

/* Whether a device that driver took must be watched through the settle
 * window: false for vfio-pci and pci-stub, which only hold a device for
 * user space, have no probe work that could fail later and never let go
 * of a device they took, and for igbvf and ixgbevf, whose probe is over
 * when the write that started it returns and which never give a device up
 * on their own; true for every other driver (nvme, for one, gives up a
 * controller that never becomes ready after its probe succeeded; NULL:
 * none). */
bool lifecycle_driver_needs_settle(const char *driver);

/* "eth0 (0000:01:00.0)", or the address alone for a function without a
 * netdev. buf must hold IF_NAMESIZE + PCI_ADDR_STRLEN + 4 bytes. */
#define LIFECYCLE_LABEL_MAX (IF_NAMESIZE + PCI_ADDR_STRLEN + 4)
const char *lifecycle_label(const struct pci_function *d, char buf[LIFECYCLE_LABEL_MAX]);

/* --- VF count ----------------------------------------------------------- */

struct numvfs_request {
	uint32_t count;
	bool force;          /* override the refusal rules */
	bool no_autoprobe;   /* write 0 to sriov_drivers_autoprobe before enabling */
	/* How long to wait for VFs and drivers to settle; 0: the default,
	 * lifecycle_numvfs_timeout_ms(). */
	unsigned timeout_ms;
	bool no_wait; /* look once, wait for nothing (--timeout 0) */
};

/* The default wait for count VFs (see LIFECYCLE_NUMVFS_TIMEOUT_BASE_MS). */
unsigned lifecycle_numvfs_timeout_ms(const struct lifecycle_env *env, uint32_t count);
/* req's wait: its timeout_ms when set, else the default for req->count. */
unsigned lifecycle_numvfs_request_timeout_ms(const struct lifecycle_env *env, const struct numvfs_request *req);

struct numvfs_result {
	uint32_t before;       /* VFs enabled before */
	uint32_t after;        /* sriov_numvfs read back at the end */
	bool changed;          /* sriov_numvfs was written (false: the count was already
				* right, or the first write failed) */
	bool disabled_first;   /* went through 0 (non-zero to another non-zero) */
	bool wrote_autoprobe;  /* wrote 0 to sriov_drivers_autoprobe */
	int autoprobe;         /* in effect for the new VFs: 1, 0, -1 unknown */
	bool settled;          /* links (and drivers, with autoprobe) in time */
	uint32_t links;        /* virtfnN links seen at the end */
	char **no_driver;      /* addresses of VFs left unbound though autoprobe is on */
	char **overridden;     /* refusal reasons that force overrode */
};
void numvfs_result_done(struct numvfs_result *r);

/* The checks alone, nothing written: pf is an SR-IOV PF (-ENOTTY otherwise),
 * the count is within sriov_totalvfs (-ERANGE) and, unless req->force, no
 * VF that the change would destroy is in use (-EBUSY). With force the
 * reasons overridden are appended to *overridden when it is not NULL. */
int lifecycle_numvfs_check(const struct lifecycle_env *env, const struct pci_function *pf,
			   const struct numvfs_request *req, char ***overridden, char **ret_error);

/* Checks, then sets pf's VF count: nothing when it is already req->count,
 * through 0 when going from one non-zero count to another, autoprobe off
 * first with req->no_autoprobe; then waits for the virtfn links and, with
 * autoprobe on, for each VF's driver. pf comes from a fresh scan. A VF
 * without a driver at the timeout is not an error (ret->no_driver lists
 * them); fewer VFs than asked is (-EIO, after ret is filled: the driver
 * enabled only ret->after). */
int lifecycle_set_numvfs(const struct lifecycle_env *env, const struct pci_function *pf,
			 const struct numvfs_request *req, struct numvfs_result *ret, char **ret_error);

/* Several PFs' counts at once, so that they cost one wait, not one each:
 * every job is checked first (nothing is written when one is refused),
 * then every count is written, one PF after the other, then all are waited
 * for together, sharing one settle window. A write that fails stops the
 * writes of the jobs after it (they keep started false); the jobs already
 * written are still waited for. Each job gets its own result and error, as
 * lifecycle_set_numvfs() gives them. Returns 0 when every job succeeded,
 * else the -errno of the first that failed. */
struct numvfs_job {
	const struct pci_function *pf; /* from a fresh scan */
	struct numvfs_request req;
	struct numvfs_result res;
	bool started; /* checked and its writes made (or nothing to write) */
	int r;        /* 0 or -errno */
	char *error;  /* the job's sentence when r < 0 (the caller frees it) */
};
int lifecycle_set_numvfs_many(const struct lifecycle_env *env, struct numvfs_job *jobs, size_t n);
void numvfs_job_done(struct numvfs_job *j);

/* Writes on (1) or off (0) to PF pf_addr's sriov_drivers_autoprobe, beneath the
 * root and through the write hook like every other write here. On failure
 * *ret_error names the file and the reason. */
int lifecycle_set_autoprobe(const struct lifecycle_env *env, const char *pf_addr, bool on, char **ret_error);

/* One look at PF pf_addr: virtfn0..count-1 exist and nothing beyond, and
 * with want_drivers every VF has a driver, and has kept it for the settle
 * time (no window when every VF's driver is one that never lets go:
 * lifecycle_driver_needs_settle()). Waits up to timeout_ms (0: look once) for that. Returns 0 (settled or not: see *ret_settled), or -errno
 * when the PF cannot be read. *ret_no_driver (may be NULL) lists VFs without
 * a driver, *ret_links counts the links present. */
int lifecycle_wait_vfs(const struct lifecycle_env *env, const char *pf_addr, uint32_t count,
		       bool want_drivers, unsigned timeout_ms, bool *ret_settled, uint32_t *ret_links,
		       char ***ret_no_driver);

/* --- Driver binding --------------------------------------------------------- */

struct bind_request {
	const char *driver;    /* a driver name, or LIFECYCLE_DRIVER_KERNEL */
	bool force;            /* override the refusal rules */
	unsigned vfio_wait_ms; /* for /dev/vfio/GROUP; 0: LIFECYCLE_VFIO_WAIT_MS */
};

struct bind_result {
	char *driver_before;  /* NULL: was unbound */
	char *driver_after;   /* NULL: unbound */
	char *target;         /* the driver asked for, "kernel" resolved when known */
	bool changed;         /* false: already bound to it, nothing to do */
	bool restored;        /* "kernel" brought back the remembered driver */
	int32_t iommu_group;  /* -1: none */
	char *vfio_device;    /* "/dev/vfio/12" after a vfio-pci bind */
	char **overridden;    /* refusal reasons that force overrode */
	/* A PF moved off its driver takes its VFs with it (a count change to
	 * 0, under the numvfs rules): the VFs of the scan that are gone now,
	 * as "VF 0 eth2 (0000:01:10.0)". */
	char **destroyed;
	char **destroyed_addrs; /* their addresses, in the same order */
};
void bind_result_done(struct bind_result *r);

/* The checks alone, nothing written (see bind). */
int lifecycle_bind_check(const struct lifecycle_env *env, const struct pci_function *dev,
			 const struct bind_request *req, char ***overridden, char **ret_error);

/* Binds dev to req->driver: driver_override, unbind, drivers_probe, then
 * checks that the driver link names the driver, and still does after the
 * settle time (else -EIO, "the driver refused the device" or "let go of
 * it", and the previous driver and override are put back).
 * Remembers the host driver it replaces (state record) and, for "kernel",
 * brings it back, or when none is remembered clears driver_override and lets
 * the kernel pick by ID; after "kernel" driver_override is always cleared.
 * After a vfio-pci bind waits for vfio_dir/GROUP (-ENOENT when it does not
 * appear). dev comes from a fresh scan (its group peers, netdevs, VFs). */
int lifecycle_bind(const struct lifecycle_env *env, const struct pci_function *dev,
		   const struct bind_request *req, struct bind_result *ret, char **ret_error);

/* Binds several devices, sharing one settle window: every job is planned
 * and checked first (nothing is written when one is refused or cannot be
 * done), then each is rebound (driver_override, unbind, drivers_probe) one
 * after the other, then all that a real driver took are watched together
 * for one settle time, then each is finished (vfio node, records). A job
 * that fails is put back as lifecycle_bind() does and stops the rebinding
 * of the jobs after it (they keep started false). Each job gets its own
 * result and error. Returns 0 when every job succeeded, else the -errno of
 * the first that failed. */
struct bind_job {
	const struct pci_function *dev; /* from a fresh scan */
	struct bind_request req;
	bool ignore_consumer; /* the consumer hook does not apply (the holder's own bind) */
	struct bind_result res;
	bool started;
	int r;
	char *error;
};
int lifecycle_bind_many(const struct lifecycle_env *env, struct bind_job *jobs, size_t n);
void bind_job_done(struct bind_job *j);

/* --- The bind state record ---------------------------------------------- */

/* The one rule for where the state of the tree at sysfs_root (NULL: /sys)
 * lives, for every command and the daemon alike: the live /sys keeps it in
 * LIFECYCLE_STATE_BASE (/run/sriovd); any other tree in its own
 * ROOT/.sriovd, so that a command on a copy never creates or removes
 * anything of the host's. Bind records go in its bind/ folder unless
 * lifecycle_env.state_dir ($SRIOV_STATE_DIR) names another. *ret is a fresh
 * string. */
int lifecycle_state_base(const char *sysfs_root, char **ret);

/* One small file per device, STATE_DIR/ADDRESS, key=value lines:
 *   driver=igbvf      the host driver bind replaced
 *   id=8086:10ca      vendor:device then, so a record left for a VF that was
 *                     destroyed and recreated as something else is ignored */
struct bind_record {
	char driver[DRIVER_NAME_MAX + 1];
	uint16_t vendor_id, device_id;
};
/* -ENOENT when nothing is remembered, -EBADMSG when the file is garbage. */
int lifecycle_record_load(const struct lifecycle_env *env, const char *addr, struct bind_record *ret);
/* Written to a temporary file and renamed over, so a reader never sees half
 * of one; creates the state directory. */
int lifecycle_record_save(const struct lifecycle_env *env, const char *addr, const struct bind_record *rec);
/* 0 also when there was nothing to forget. */
int lifecycle_record_forget(const struct lifecycle_env *env, const char *addr);

/* --- A netdev the kernel just made -------------------------------------------- */

#define LIFECYCLE_UDEV_DIR "/run/udev"
/* The longest lifecycle_udev_wait_netdev waits, and how often it looks. */
#define LIFECYCLE_UDEV_TIMEOUT_MS 5000
#define LIFECYCLE_UDEV_POLL_MS 10

/* The netdev of the device at addr as sysfs names it now (the first entry
 * of its net/ folder): 0 with *ret a fresh string, NULL when it has none,
 * or -errno. udev renames a netdev moments after its driver made it (eth3
 * -> enp1s0v0): a name read before is no handle on that netdev; the device
 * it belongs to is. */
int lifecycle_netdev_now(const struct lifecycle_env *env, const char *addr, char **ret);

/* netdev: a name the netdev of the device at addr has now. It stays while
 * the device has a netdev of that name (one may have several); when it has
 * not (renamed), it becomes the name of the device's netdev now: 1 then, 0
 * when nothing changed (or the device has no netdev now), -ENOMEM. Looked
 * up in the device's own net/ folder: a name another netdev took since is
 * never taken for this device's. */
int lifecycle_netdev_follow(const struct lifecycle_env *env, const char *addr, char netdev[IF_NAMESIZE]);

/* Returns once udev has handled the netdev of the device at addr (looking
 * every LIFECYCLE_UDEV_POLL_MS; between looks, env's events hook runs when
 * there is one, so that sriovd keeps serving): its
 * database entry (UDEV_DIR/data/nIFINDEX) is there, so udev's rules have
 * named it and its .link policy has given it the MAC it wants (a MAC set
 * before may be overwritten: MACAddressPolicy=persistent on igbvf's random
 * one). At once when there is no udev (lifecycle_env.udev_dir), for a
 * device without a netdev, or when it cannot be told; at most
 * LIFECYCLE_UDEV_TIMEOUT_MS, on env's clock. A count change or a bind to a
 * host driver hands the new netdev to udev just as the write returns (no
 * settle window for igbvf covers that time any more): what apply does to
 * that netdev waits for udev first. */
void lifecycle_udev_wait_netdev(const struct lifecycle_env *env, const char *addr);

/* --- Reloading a driver ----------------------------------------------------- */

/* Unbinds dev from its driver and probes it again, so that the driver
 * starts afresh: how a VF driver that learns its MAC from the PF only when
 * it probes (igbvf, while the PF's link is up) takes the MAC the PF gave it.
 * Refused (-EBUSY) when dev's netdev carries the host's traffic (up with
 * addresses or routes: they would be gone). Waits up to timeout_ms (0:
 * LIFECYCLE_NUMVFS_TIMEOUT_MS) for the driver to have it again with a netdev, whose
 * name goes to *ret_netdev (-ETIMEDOUT otherwise). */
int lifecycle_reload_driver(const struct lifecycle_env *env, const struct pci_function *dev, unsigned timeout_ms,
			    char **ret_netdev, char **ret_error);

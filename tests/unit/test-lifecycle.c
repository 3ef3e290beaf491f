/* Unit tests for lifecycle/ on fake sysfs trees: the refusal rules, count
 * validation, the bind state record, and the write sequences. A fake tree's
 * attributes are plain files, so a small simulator (sim_write, plugged in as
 * the env's writer) logs every write and, when asked, plays the kernel's
 * part: sriov_numvfs creates and destroys VFs with the kernel's checks,
 * unbind/drivers_probe move driver links, vfio-pci makes its group node.
 * Every wait runs on the simulator's clock (the env's clock hook): time
 * moves only when lifecycle sleeps, and what a driver does "later" happens
 * then, so no test depends on how fast the machine is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "lifecycle/lifecycle.h"
#include "util/util.h"
#include "test-helpers.h"

#define IGB_PF "0000:01:00.0"
#define IGB_VF0 "0000:01:10.0"
#define IGB_VF1 "0000:01:10.2"
#define IGB_VF2 "0000:01:10.4"
#define NVME_PF "0000:00:03.0"

struct sim {
	const char *root;
	const char *vfio_dir;
	bool kernel;                /* play the kernel's part, else plain files */
	int numvfs_error;           /* answer sriov_numvfs writes with this... */
	int numvfs_fail_at;         /* ...only the Nth one (1-based), 0: every one */
	uint32_t numvfs_cap;        /* the driver enables at most this many (0: all) */
	const char *refusing;       /* this driver's probe fails ("*": every driver's) */
	const char *default_driver; /* what the kernel picks by ID (probe without override, autoprobe) */
	const char *quitter;        /* this driver gives a device up 100 ms after probing it */
	int probe_error;            /* drivers_probe answers this, whatever it did */
	int unbind_error;           /* every drivers/X/unbind fails with this */
	struct {
		uint64_t at_ns;
		char addr[16];
	} quits[4];                 /* pending give-ups, in the simulator's time */
	int n_quits;
	uint64_t now_ns;            /* the simulator's clock */
	int n_sleeps;
	int n_event_waits;          /* calls of the events hook */
	int n_events;               /* ...that announced an event */
	int n_numvfs_writes;
	char log[32][448];
	int n_log;
};

struct fixture {
	char dir[256];
	char sys[300], state[300], vfio[300];
	struct sim sim;
	struct lifecycle_env env;
	/* link_usage fake: one netdev and what it says about it */
	const char *usage_ifname;
	struct link_usage usage;
	int usage_error;
	/* consumer fake */
	const char *held_addr;
	/* netns fake: netdevs in other network namespaces */
	struct netns_netdev netns[4];
	size_t n_netns;
	const char *netns_incomplete;
	int netns_error;
	int netns_calls;
	char netns_asked[256]; /* the addresses of the last call, space-separated */
};

/* --- the simulator ------------------------------------------------------ */

static int plain_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

static void relpath(const struct sim *s, const char *path, char *buf, size_t len)
{
	size_t n = strlen(s->root);
	snprintf(buf, len, "%s", strncmp(path, s->root, n) == 0 && path[n] == '/' ? path + n + 1 : path);
}

static int read_u32_rel(const struct sim *s, const char *rel, int base, uint32_t *ret)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", s->root, rel);
	return read_u32_at(AT_FDCWD, p, base, ret);
}

static int group_of(const struct sim *s, const char *addr)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", s->root, addr);
	_cleanup_free_ char *g = NULL;
	if (read_link_basename_at(AT_FDCWD, p, &g) < 0)
		return -1;
	return atoi(g);
}

static void vfio_node(const struct sim *s, const char *addr, bool present)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%d", s->vfio_dir, group_of(s, addr));
	if (present)
		close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	else
		unlink(p);
}

static bool bound(const struct sim *s, const char *addr)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", s->root, addr);
	return lstat(p, &st) == 0;
}

#define MS 1000000ULL
#define SIM_EPOCH_NS (1000 * 1000 * MS) /* an arbitrary non-zero start */

/* Like nvme when a controller never becomes ready: the probe succeeds, a
 * work item gives the device up 100 ms later. */
static void sim_quit_later(struct sim *s, const char *addr)
{
	assert_true(s->n_quits < (int)ARRAY_SIZE(s->quits));
	s->quits[s->n_quits].at_ns = s->now_ns + 100 * MS;
	snprintf(s->quits[s->n_quits].addr, sizeof(s->quits[0].addr), "%s", addr);
	s->n_quits++;
}

static uint64_t sim_now_ns(void *userdata)
{
	return ((struct sim *)userdata)->now_ns;
}

/* Time passes only here: up to deadline, running what falls due meanwhile. */
static void sim_sleep_until_ns(void *userdata, uint64_t deadline_ns)
{
	struct sim *s = userdata;
	/* a wait that sleeps into the past would spin */
	assert_true(deadline_ns > s->now_ns);
	s->n_sleeps++;
	s->now_ns = deadline_ns;
	for (int i = 0; i < s->n_quits;) {
		if (s->quits[i].at_ns > s->now_ns) {
			i++;
			continue;
		}
		(void)fakesysfs_unbind(s->root, s->quits[i].addr);
		s->quits[i] = s->quits[--s->n_quits];
	}
}

/* The kernel's events, played: time runs to the next thing the simulator
 * has pending (a driver letting go) or to the deadline, whichever is
 * first; an event is announced only when something happened. */
static int sim_events_wait(void *userdata, uint64_t deadline_ns)
{
	struct sim *s = userdata;
	assert_true(deadline_ns > s->now_ns);
	s->n_event_waits++;
	uint64_t next = deadline_ns;
	for (int i = 0; i < s->n_quits; i++)
		if (s->quits[i].at_ns < next)
			next = s->quits[i].at_ns;
	int before = s->n_quits;
	sim_sleep_until_ns(s, next);
	s->n_sleeps--; /* not a sleep of lifecycle's own */
	if (s->n_quits != before) {
		s->n_events++;
		return 1;
	}
	return 0;
}

static int sim_numvfs(struct sim *s, const char *pf, const char *value)
{
	s->n_numvfs_writes++;
	if (s->numvfs_error && (!s->numvfs_fail_at || s->numvfs_fail_at == s->n_numvfs_writes))
		return s->numvfs_error;
	char rel[300];
	uint32_t n, total, cur, offset, stride, vf_device, vendor, autoprobe;
	if (parse_u32(value, 0, &n) < 0)
		return -EINVAL;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_totalvfs", pf);
	assert_int_equal(read_u32_rel(s, rel, 0, &total), 0);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_numvfs", pf);
	assert_int_equal(read_u32_rel(s, rel, 0, &cur), 0);
	/* drivers/pci/iov.c's order of checks */
	if (n > total)
		return -ERANGE;
	if (n == cur)
		return 0;
	if (n && cur)
		return -EBUSY;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_offset", pf);
	assert_int_equal(read_u32_rel(s, rel, 0, &offset), 0);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_stride", pf);
	assert_int_equal(read_u32_rel(s, rel, 0, &stride), 0);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_vf_device", pf);
	assert_int_equal(read_u32_rel(s, rel, 16, &vf_device), 0);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vendor", pf);
	assert_int_equal(read_u32_rel(s, rel, 16, &vendor), 0);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_drivers_autoprobe", pf);
	assert_int_equal(read_u32_rel(s, rel, 0, &autoprobe), 0);
	uint32_t class_code; /* VFs are of their PF's class */
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/class", pf);
	assert_int_equal(read_u32_rel(s, rel, 16, &class_code), 0);

	if (n == 0) {
		for (uint32_t i = 0; i < cur; i++) {
			char vf[16];
			assert_int_equal(fakesysfs_vf_address(pf, offset, stride, i, vf, sizeof(vf)), 0);
			if (bound(s, vf))
				assert_int_equal(fakesysfs_unbind(s->root, vf), 0);
			vfio_node(s, vf, false);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s", vf);
			assert_int_equal(fakesysfs_remove(s->root, rel), 0);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtfn%u", pf, i);
			assert_int_equal(fakesysfs_remove(s->root, rel), 0);
		}
	} else {
		if (s->numvfs_cap && n > s->numvfs_cap)
			n = s->numvfs_cap;
		for (uint32_t i = 0; i < n; i++) {
			char vf[16], target[32];
			assert_int_equal(fakesysfs_vf_address(pf, offset, stride, i, vf, sizeof(vf)), 0);
			struct fake_dev d = {
				.address = vf, .vendor = (uint16_t)vendor, .device = (uint16_t)vf_device,
				.class_code = class_code, .numa_node = -1,
				.driver = autoprobe ? s->default_driver : NULL,
			};
			assert_int_equal(fakesysfs_add_device(s->root, &d), 0);
			if (d.driver && streq_ptr(d.driver, s->quitter))
				sim_quit_later(s, vf);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtfn%u", pf, i);
			snprintf(target, sizeof(target), "../%s", vf);
			assert_int_equal(fakesysfs_symlink(s->root, rel, target), 0);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s/physfn", vf);
			snprintf(target, sizeof(target), "../%s", pf);
			assert_int_equal(fakesysfs_symlink(s->root, rel, target), 0);
		}
	}
	char num[16];
	snprintf(num, sizeof(num), "%u\n", n);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_numvfs", pf);
	return fakesysfs_write(s->root, rel, num);
}

static int sim_probe(struct sim *s, const char *addr)
{
	if (bound(s, addr))
		return 0; /* the kernel only attaches unbound devices */
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver_override", s->root, addr);
	_cleanup_free_ char *override = NULL;
	assert_int_equal(read_text_file(p, 256, &override), 0);
	const char *drv = override;
	if (str_empty(override) || strcmp(override, "(null)") == 0)
		drv = s->default_driver;
	if (!drv || streq_ptr(s->refusing, drv) || streq_ptr(s->refusing, "*"))
		return 0;
	snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s", s->root, drv);
	if (access(p, F_OK) < 0)
		return 0; /* an override naming no driver leaves it unbound */
	assert_int_equal(fakesysfs_bind(s->root, addr, drv), 0);
	if (streq_ptr(drv, s->quitter))
		sim_quit_later(s, addr);
	if (strcmp(drv, "vfio-pci") == 0)
		vfio_node(s, addr, true);
	return 0;
}

static int sim_write(void *userdata, const char *path, const char *value)
{
	struct sim *s = userdata;
	char rel[400];
	relpath(s, path, rel, sizeof(rel));
	assert_true(s->n_log < (int)ARRAY_SIZE(s->log));
	snprintf(s->log[s->n_log++], sizeof(s->log[0]), "%s=%s", rel, strcmp(value, "\n") == 0 ? "\\n" : value);
	if (!s->kernel)
		return plain_write(path, value);

	char dev[16], drv[64];
	size_t len = strlen(rel);
	if (len > 13 && strcmp(rel + len - 13, "/sriov_numvfs") == 0 &&
	    sscanf(rel, "bus/pci/devices/%12[^/]/", dev) == 1)
		return sim_numvfs(s, dev, value);
	if (sscanf(rel, "bus/pci/drivers/%63[^/]/unbind", drv) == 1 && strstr(rel, "/unbind")) {
		if (s->unbind_error)
			return s->unbind_error;
		if (!bound(s, value))
			return -ENODEV;
		assert_int_equal(fakesysfs_unbind(s->root, value), 0);
		if (strcmp(drv, "vfio-pci") == 0)
			vfio_node(s, value, false);
		/* a PF's driver disables SR-IOV when it lets go (igb_remove) */
		char rel2[128];
		uint32_t numvfs;
		snprintf(rel2, sizeof(rel2), "bus/pci/devices/%s/sriov_numvfs", value);
		if (read_u32_rel(s, rel2, 0, &numvfs) == 0 && numvfs > 0) {
			s->n_numvfs_writes--; /* not a write of sriov_numvfs */
			assert_int_equal(sim_numvfs(s, value, "0"), 0);
		}
		return 0;
	}
	if (strcmp(rel, "bus/pci/drivers_probe") == 0) {
		int r = sim_probe(s, value);
		return r < 0 ? r : s->probe_error;
	}
	return plain_write(path, value);
}

/* "a=1|b=2": the writes seen, in order. */
static void assert_log(const struct sim *s, const char *expected)
{
	char got[2048] = "";
	for (int i = 0; i < s->n_log; i++) {
		if (i)
			strcat(got, "|");
		strcat(got, s->log[i]);
	}
	assert_string_equal(got, expected);
}

/* --- fakes for the env's hooks ----------------------------------------- */

static int fake_link_usage(void *userdata, const char *ifname, struct link_usage *ret)
{
	struct fixture *f = userdata;
	if (!f->usage_ifname || strcmp(ifname, f->usage_ifname) != 0) {
		*ret = (struct link_usage){0}; /* down, nothing on it */
		return 0;
	}
	if (f->usage_error)
		return f->usage_error;
	*ret = f->usage;
	return 0;
}

static int fake_consumer(void *userdata, const struct pci_function *dev, char **ret_holder)
{
	struct fixture *f = userdata;
	if (!f->held_addr || strcmp(dev->addr, f->held_addr) != 0)
		return 0;
	*ret_holder = strdup("VM web1");
	return 1;
}

static int fake_netns(void *userdata, char *const *devs, struct netns_found *ret)
{
	struct fixture *f = userdata;
	f->netns_calls++;
	f->netns_asked[0] = '\0';
	for (size_t i = 0; devs[i]; i++)
		snprintf(f->netns_asked + strlen(f->netns_asked), sizeof(f->netns_asked) - strlen(f->netns_asked),
			 "%s%s", i ? " " : "", devs[i]);
	*ret = (struct netns_found){0};
	if (f->netns_error)
		return f->netns_error;
	for (size_t i = 0; i < f->n_netns; i++) {
		if (!strv_contains(devs, f->netns[i].dev))
			continue;
		ret->links = realloc(ret->links, (ret->n + 1) * sizeof(*ret->links));
		assert_non_null(ret->links);
		ret->links[ret->n++] = f->netns[i];
	}
	if (f->netns_incomplete)
		ret->incomplete = strdup(f->netns_incomplete);
	return 0;
}

/* Moves a VF's netdev into a container, as `ip link set NAME netns NS`
 * does: it leaves the VF's net/ folder; the fake namespaces list it. */
static void move_to_netns(struct fixture *f, const char *addr, const char *ifname, const char *ns)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/net", addr);
	assert_int_equal(fakesysfs_remove(f->sys, rel), 0);
	snprintf(rel, sizeof(rel), "class/net/%s", ifname);
	assert_int_equal(fakesysfs_remove(f->sys, rel), 0);
	assert_true(f->n_netns < ARRAY_SIZE(f->netns));
	struct netns_netdev *l = &f->netns[f->n_netns++];
	*l = (struct netns_netdev){.ifindex = 40 + (uint32_t)f->n_netns};
	snprintf(l->dev, sizeof(l->dev), "%s", addr);
	snprintf(l->ifname, sizeof(l->ifname), "%s", ifname);
	snprintf(l->netns, sizeof(l->netns), "%s", ns);
}

/* --- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/sriovd-lifecycle-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/run/sriovd/bind", f->dir);
	snprintf(f->vfio, sizeof(f->vfio), "%s/dev-vfio", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0 || mkdir(f->vfio, 0755) < 0)
		return -1;
	f->sim = (struct sim){.root = f->sys, .vfio_dir = f->vfio, .now_ns = SIM_EPOCH_NS};
	f->env = (struct lifecycle_env){
		.sysfs_root = f->sys, .state_dir = f->state, .vfio_dir = f->vfio,
		.link_usage = fake_link_usage, .link_usage_data = f,
		.netns = fake_netns, .netns_data = f,
		.write = sim_write, .write_data = &f->sim,
		.settle_ms = 20, /* the simulator's drivers never let go late */
		.clock = {.now_ns = sim_now_ns, .sleep_until_ns = sim_sleep_until_ns, .userdata = &f->sim},
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

static struct pci_tree *scan(const struct fixture *f)
{
	struct pci_tree *t = NULL;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	return t;
}

static struct pci_function *find(const struct pci_tree *t, const char *spec)
{
	struct pci_function *d = NULL;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(inventory_resolve(t, spec, &d, &error), 0);
	return d;
}

static void read_attr(const struct fixture *f, const char *addr, const char *attr, char *buf, size_t len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/%s", f->sys, addr, attr);
	_cleanup_free_ char *s = NULL;
	assert_int_equal(read_text_file(p, 256, &s), 0);
	snprintf(buf, len, "%s", s);
}

static void driver_of(const struct fixture *f, const char *addr, char *buf, size_t len)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", f->sys, addr);
	_cleanup_free_ char *d = NULL;
	if (read_link_basename_at(AT_FDCWD, p, &d) < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s", d);
}

/* Moves a VF to vfio-pci behind lifecycle's back, as another tool would. */
static void put_on_vfio(struct fixture *f, const char *addr)
{
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	assert_int_equal(fakesysfs_unbind(f->sys, addr), 0);
	assert_int_equal(fakesysfs_bind(f->sys, addr, "vfio-pci"), 0);
}

/* --- numvfs: validation -------------------------------------------------- */

static void test_numvfs_above_total(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 8};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), -ERANGE);
	assert_string_equal(error, "eth0 (0000:01:00.0): 8 VFs requested, the device offers at most 7 (sriov_totalvfs)");
	assert_int_equal(f->sim.n_log, 0);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_unchanged(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 3, .no_autoprobe = true};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_false(res.changed);
	assert_int_equal(res.before, 3);
	assert_int_equal(res.after, 3);
	assert_int_equal(f->sim.n_log, 0); /* not even autoprobe */
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_not_a_pf(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 1};
	struct numvfs_result res;
	char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth8"), &req, &res, &error), -ENOTTY);
	assert_string_equal(error, "eth8 (0000:00:02.0) is not an SR-IOV physical function (it has no sriov_totalvfs)");
	free(error);
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0#1"), &req, &res, &error), -ENOTTY);
	assert_string_equal(error, "eth3 (0000:01:10.2) is VF 1 of 0000:01:00.0, not an SR-IOV physical function");
	free(error);
	assert_int_equal(f->sim.n_log, 0);
	pci_tree_free(t);
}

/* --- numvfs: the write path --------------------------------------------- */

static void test_numvfs_through_zero(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf";
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 2000};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_null(error);
	/* The kernel answers EBUSY to 3 -> 2: 0 must come first. */
	assert_log(&f->sim, "bus/pci/devices/0000:01:00.0/sriov_numvfs=0|bus/pci/devices/0000:01:00.0/sriov_numvfs=2");
	assert_true(res.changed);
	assert_true(res.disabled_first);
	assert_false(res.wrote_autoprobe);
	assert_int_equal(res.before, 3);
	assert_int_equal(res.after, 2);
	assert_true(res.settled);
	assert_int_equal(res.links, 2);
	assert_null(res.no_driver);
	numvfs_result_done(&res);
	pci_tree_free(t);

	t = scan(f);
	const struct pci_function *pf = find(t, IGB_PF);
	assert_int_equal(pf->n_vfs, 2);
	assert_string_equal(pf->vfs[1]->addr, IGB_VF1);
	assert_string_equal(pf->vfs[1]->driver, "igbvf");
	pci_tree_free(t);
}

static void test_numvfs_disable_and_enable(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 2000};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	/* 0 -> 2: one write, nothing to disable first */
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:00:03.0/sriov_numvfs=2");
	assert_false(res.disabled_first);
	assert_true(res.settled);
	assert_int_equal(res.autoprobe, 1);
	numvfs_result_done(&res);
	pci_tree_free(t);

	/* 2 -> 0 */
	f->sim.n_log = 0;
	t = scan(f);
	req.count = 0;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:00:03.0/sriov_numvfs=0");
	assert_int_equal(res.after, 0);
	assert_true(res.settled);
	assert_int_equal(res.links, 0);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_no_autoprobe(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .no_autoprobe = true, .timeout_ms = 2000};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	/* autoprobe is read when VFs are created: it has to be off before */
	assert_log(&f->sim, "bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe=0|"
			    "bus/pci/devices/0000:00:03.0/sriov_numvfs=2");
	assert_true(res.wrote_autoprobe);
	assert_int_equal(res.autoprobe, 0);
	assert_true(res.settled); /* unbound is what was asked for */
	assert_null(res.no_driver);
	char drv[64];
	driver_of(f, "0000:00:03.1", drv, sizeof(drv));
	assert_string_equal(drv, "-");
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_unbound_after_timeout(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = NULL; /* autoprobe on, but no driver takes them */
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 150};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	/* the whole timeout, not a nanosecond less, in 50 ms looks */
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 150 * MS);
	assert_int_equal(f->sim.n_sleeps, 3);
	assert_false(res.settled);
	assert_int_equal(res.links, 2);
	assert_int_equal(strv_length(res.no_driver), 2);
	assert_string_equal(res.no_driver[0], "0000:00:03.1");
	assert_string_equal(res.no_driver[1], "0000:00:03.2");
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_driver_lets_go(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	f->sim.quitter = "nvme";
	f->env.settle_ms = 300; /* longer than the quitter's 100 ms */
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 600};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	/* bound for a moment only: not settled, both named at the timeout */
	assert_false(res.settled);
	assert_int_equal(res.links, 2);
	assert_int_equal(strv_length(res.no_driver), 2);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_kernel_errors(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf";
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 100};
	struct numvfs_result res;
	char *error = NULL;

	/* PF without a driver: the kernel says ENOENT */
	f->sim.numvfs_error = -ENOENT;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), -ENOENT);
	char expect[1024];
	snprintf(expect, sizeof(expect),
		 "%s/bus/pci/devices/0000:00:03.0/sriov_numvfs: write 2: No such file or directory "
		 "(the PF has no driver, or its driver cannot enable SR-IOV)", f->sys);
	assert_string_equal(error, expect);
	free(error);
	numvfs_result_done(&res);

	/* 3 -> 2: the 0 goes through, the 2 is refused (EPERM, VFs assigned) */
	f->sim.numvfs_error = -EPERM;
	f->sim.numvfs_fail_at = 2;
	f->sim.n_numvfs_writes = 0;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), -EPERM);
	assert_non_null(strstr(error, "sriov_numvfs: write 2: Operation not permitted (VFs are assigned to a VM)"));
	assert_non_null(strstr(error, "the PF now has 0 VFs (they were disabled first)"));
	assert_true(res.changed);
	free(error);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_fewer_enabled(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	f->sim.numvfs_cap = 1;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 3, .timeout_ms = 1000};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), -EIO);
	assert_non_null(strstr(error, "3 VFs requested, the driver enabled 1"));
	assert_int_equal(res.after, 1);
	assert_true(res.settled); /* the one VF there is settled */
	numvfs_result_done(&res);
	pci_tree_free(t);
}

/* --- numvfs: refusals ------------------------------------------------------ */

static void test_numvfs_refuses_vfio_vf(void **state)
{
	struct fixture *f = *state;
	put_on_vfio(f, IGB_VF1);
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2};
	struct numvfs_result res;
	char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): changing from 3 to 2 VFs destroys all 3 VFs first, but: "
				   "VF 1 (0000:01:10.2) is bound to vfio-pci (--force to do it anyway)");
	assert_int_equal(f->sim.n_log, 0);
	free(error);
	numvfs_result_done(&res);

	/* to 0 as well: any change from non-zero destroys */
	req.count = 0;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	free(error);

	/* --force does it, and says what it overrode */
	req.count = 2;
	req.force = true;
	req.timeout_ms = 50;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_int_equal(strv_length(res.overridden), 1);
	assert_string_equal(res.overridden[0], "VF 1 (0000:01:10.2) is bound to vfio-pci");
	assert_log(&f->sim, "bus/pci/devices/0000:01:00.0/sriov_numvfs=0|bus/pci/devices/0000:01:00.0/sriov_numvfs=2");
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_from_zero_never_refused(void **state)
{
	struct fixture *f = *state;
	/* From 0 nothing exists to be destroyed, whatever the scan says: here
	 * it was made while VF 1 was on vfio-pci and VF 2 held by a consumer,
	 * and the VFs have been disabled since. The count read now decides. */
	f->env.consumer = fake_consumer;
	f->env.consumer_data = f;
	f->held_addr = IGB_VF2;
	put_on_vfio(f, IGB_VF1);
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2};
	char *error = NULL;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	free(error);
	error = NULL;
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:00.0/sriov_numvfs", "0\n"), 0);
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), 0);
	assert_null(error);
	/* and nothing is overridden either: --force has nothing to say */
	char **overridden = NULL;
	req.force = true;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, &overridden, &error), 0);
	assert_null(overridden);
	pci_tree_free(t);
}

static void test_numvfs_refuses_used_netdev(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 0};
	char *error = NULL;

	/* up with only the link-local address every up link gets: not in use */
	f->usage_ifname = "eth3";
	f->usage = (struct link_usage){.flags = IFF_UP, .n_ipv6_link_local = 1};
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), 0);

	/* addresses on a link that is down: not carrying traffic */
	f->usage = (struct link_usage){.n_ipv4 = 1};
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), 0);

	f->usage = (struct link_usage){.flags = IFF_UP, .n_ipv4 = 1, .n_ipv6 = 2, .n_routes = 1};
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_non_null(strstr(error, "VF 1 (0000:01:10.2) has its netdev eth3 up with 1 IPv4 address, "
				      "2 IPv6 addresses, 1 route"));
	free(error);

	/* a netdev that cannot be looked at counts as in use */
	f->usage_error = -EACCES;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_non_null(strstr(error, "cannot tell whether VF 1 (0000:01:10.2)'s netdev eth3 is in use: Permission denied"));
	free(error);
	pci_tree_free(t);
}

static void test_numvfs_consumer_hook(void **state)
{
	struct fixture *f = *state;
	f->env.consumer = fake_consumer;
	f->env.consumer_data = f;
	f->held_addr = IGB_VF2;
	put_on_vfio(f, IGB_VF0);
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 5};
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	/* every VF in the way is named, in VF order */
	assert_string_equal(error, "eth0 (0000:01:00.0): changing from 3 to 5 VFs destroys all 3 VFs first, but: "
				   "VF 0 (0000:01:10.0) is bound to vfio-pci; VF 2 (0000:01:10.4) is held by VM web1 "
				   "(--force to do it anyway)");
	pci_tree_free(t);
}

/* --- waiting for VFs -------------------------------------------------------- */

static void test_wait_vfs(void **state)
{
	struct fixture *f = *state;
	bool settled;
	uint32_t links;
	char **no_driver = NULL;
	assert_int_equal(lifecycle_wait_vfs(&f->env, IGB_PF, 3, true, 0, &settled, &links, &no_driver), 0);
	assert_true(settled);
	assert_int_equal(links, 3);
	assert_null(no_driver);

	assert_int_equal(fakesysfs_unbind(f->sys, IGB_VF1), 0);
	uint64_t start = f->sim.now_ns;
	assert_int_equal(lifecycle_wait_vfs(&f->env, IGB_PF, 3, true, 60, &settled, &links, &no_driver), 0);
	/* a look now, one after the 50 ms interval, the last at the deadline */
	assert_int_equal(f->sim.now_ns - start, 60 * MS);
	assert_int_equal(f->sim.n_sleeps, 2);
	assert_false(settled);
	assert_int_equal(strv_length(no_driver), 1);
	assert_string_equal(no_driver[0], IGB_VF1);
	strv_free(no_driver);
	no_driver = NULL;
	/* unbound is fine when drivers are not expected */
	assert_int_equal(lifecycle_wait_vfs(&f->env, IGB_PF, 3, false, 0, &settled, &links, NULL), 0);
	assert_true(settled);
	/* a VF beyond the count is still there */
	assert_int_equal(lifecycle_wait_vfs(&f->env, IGB_PF, 2, false, 0, &settled, &links, NULL), 0);
	assert_false(settled);
	/* fewer links than the count */
	assert_int_equal(lifecycle_wait_vfs(&f->env, IGB_PF, 4, false, 0, &settled, &links, NULL), 0);
	assert_false(settled);
	assert_int_equal(links, 3);
	assert_int_equal(lifecycle_wait_vfs(&f->env, "0000:09:00.0", 1, false, 0, &settled, &links, NULL), -ENOENT);
}

/* --- bind ----------------------------------------------------------------------- */

/* --- waits on the kernel's events, shared by several PFs and VFs -------- */

static void use_events(struct fixture *f)
{
	f->env.events = (struct lifecycle_events){.wait = sim_events_wait, .userdata = &f->sim};
}

static void test_default_timeouts(void **state)
{
	struct fixture *f = *state;
	/* A tree from elsewhere has no kernel behind it. */
	assert_int_equal(lifecycle_numvfs_timeout_ms(&f->env, 64), 10000);
	use_events(f);
	assert_int_equal(lifecycle_numvfs_timeout_ms(&f->env, 64), 10000);
	/* This host's: 30 s + 1 s per VF. */
	struct lifecycle_env live = {0};
	assert_int_equal(lifecycle_numvfs_timeout_ms(&live, 0), 30000);
	assert_int_equal(lifecycle_numvfs_timeout_ms(&live, 64), 94000);
	assert_int_equal(lifecycle_numvfs_timeout_ms(&live, 125), 155000);
	assert_int_equal(lifecycle_numvfs_timeout_ms(&live, 7), 37000);
	struct numvfs_request req = {.count = 7};
	assert_int_equal(lifecycle_numvfs_request_timeout_ms(&live, &req), 37000);
	req.timeout_ms = 2500;
	assert_int_equal(lifecycle_numvfs_request_timeout_ms(&live, &req), 2500);
	req.no_wait = true;
	assert_int_equal(lifecycle_numvfs_request_timeout_ms(&live, &req), 0);
}

/* Without events the wait would look every 50 ms; with them it sleeps
 * until the settle window ends, and wakes for nothing else. */
static void test_numvfs_waits_on_events(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "iavf"; /* a driver that holds the window */
	f->env.settle_ms = 1000;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	struct pci_tree *t = scan(f);
	struct numvfs_job jobs[] = {
		{.pf = find(t, "eth0"), .req = {.count = 7, .force = true}},
		{.pf = find(t, "eth1"), .req = {.count = 7, .force = true}},
	};
	assert_int_equal(lifecycle_set_numvfs_many(&f->env, jobs, 2), 0);
	/* Both counts written before any wait, through 0 (3 VFs before each). */
	assert_int_equal(f->sim.n_numvfs_writes, 4);
	for (size_t i = 0; i < 2; i++) {
		assert_true(jobs[i].started);
		assert_int_equal(jobs[i].r, 0);
		assert_true(jobs[i].res.settled);
		assert_int_equal(jobs[i].res.links, 7);
		assert_int_equal(jobs[i].res.after, 7);
		numvfs_job_done(&jobs[i]);
	}
	/* One settle window for both PFs (one after the other: two). */
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 1000 * MS);
	assert_int_equal(f->sim.n_sleeps, 0);
	assert_int_equal(f->sim.n_event_waits, 1);
	pci_tree_free(t);
}

/* A refusal of the second PF writes nothing, not even the first's count. */
static void test_numvfs_many_checks_first(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf";
	put_on_vfio(f, "0000:02:10.0");
	struct pci_tree *t = scan(f);
	struct numvfs_job jobs[] = {
		{.pf = find(t, "eth0"), .req = {.count = 0, .force = true}},
		{.pf = find(t, "eth1"), .req = {.count = 0}},
	};
	assert_int_equal(lifecycle_set_numvfs_many(&f->env, jobs, 2), -EBUSY);
	assert_int_equal(f->sim.n_log, 0);
	assert_false(jobs[0].started);
	assert_false(jobs[1].started);
	assert_int_equal(jobs[1].r, -EBUSY);
	assert_non_null(strstr(jobs[1].error, "VF 0 (0000:02:10.0) is bound to vfio-pci"));
	numvfs_job_done(&jobs[0]);
	numvfs_job_done(&jobs[1]);
	pci_tree_free(t);
}

/* The progress hook sees every look; the line it makes. */
struct progress_seen {
	int calls;
	char last[256];
};

static void note_progress(void *userdata, const struct lifecycle_progress_pf *pfs, size_t n, uint64_t elapsed_ns)
{
	struct progress_seen *p = userdata;
	p->calls++;
	lifecycle_progress_line(p->last, sizeof(p->last), pfs, n, elapsed_ns);
}

static void test_numvfs_progress(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = NULL; /* autoprobe on, no driver takes them */
	struct progress_seen seen = {0};
	f->env.progress = note_progress;
	f->env.progress_data = &seen;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 2, .timeout_ms = 2000};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	assert_int_equal(seen.calls, 41); /* at 0, every 50 ms, and at 2 s */
	assert_string_equal(seen.last, "0000:00:03.0: 2/2 VFs, 0 bound, 2 s");
	numvfs_result_done(&res);
	pci_tree_free(t);

	/* VFs that a driver takes count as bound, through its settle window. */
	f->sim.default_driver = "iavf";
	f->env.settle_ms = 1000;
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	seen = (struct progress_seen){0};
	t = scan(f);
	req = (struct numvfs_request){.count = 5, .force = true, .timeout_ms = 5000};
	free(error);
	error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_true(res.settled);
	assert_int_equal(seen.calls, 21); /* at 0 and every 50 ms of the window */
	assert_string_equal(seen.last, "eth0: 5/5 VFs, 5 bound, 1 s");
	numvfs_result_done(&res);
	pci_tree_free(t);

	struct lifecycle_progress_pf pfs[] = {
		{.label = "eth0", .want = 64, .links = 37, .bound = 21},
		{.label = "eth1", .want = 7, .links = 7, .bound = 7},
	};
	char line[128];
	lifecycle_progress_line(line, sizeof(line), pfs, 1, 12 * 1000 * MS + 999 * MS);
	assert_string_equal(line, "eth0: 37/64 VFs, 21 bound, 12 s");
	lifecycle_progress_line(line, sizeof(line), pfs, 2, 0);
	assert_string_equal(line, "eth0: 37/64 VFs, 21 bound; eth1: 7/7 VFs, 7 bound, 0 s");
	lifecycle_progress_line(line, 12, pfs, 2, 0);
	assert_string_equal(line, "eth0: 37/64");
}

/* Three VFs rebound, then one settle window for all three. */
static void test_bind_many_one_window(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->env.settle_ms = 1000;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	const char *vfs[] = {IGB_VF0, IGB_VF1, IGB_VF2};
	for (size_t i = 0; i < 3; i++)
		put_on_vfio(f, vfs[i]);
	struct pci_tree *t = scan(f);
	struct bind_job jobs[3];
	for (size_t i = 0; i < 3; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "iavf"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 3), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:01:10.0/driver_override=iavf|"
			    "bus/pci/drivers/vfio-pci/unbind=0000:01:10.0|bus/pci/drivers_probe=0000:01:10.0|"
			    "bus/pci/devices/0000:01:10.2/driver_override=iavf|"
			    "bus/pci/drivers/vfio-pci/unbind=0000:01:10.2|bus/pci/drivers_probe=0000:01:10.2|"
			    "bus/pci/devices/0000:01:10.4/driver_override=iavf|"
			    "bus/pci/drivers/vfio-pci/unbind=0000:01:10.4|bus/pci/drivers_probe=0000:01:10.4");
	/* One window, not one per VF. */
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 1000 * MS);
	assert_int_equal(f->sim.n_event_waits, 1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(jobs[i].r, 0);
		assert_true(jobs[i].res.changed);
		assert_string_equal(jobs[i].res.driver_after, "iavf");
		bind_job_done(&jobs[i]);
	}
	pci_tree_free(t);
}

/* The window catches the one driver that lets go, announced by its
 * event; the others keep theirs. */
static void test_bind_many_one_lets_go(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	f->env.settle_ms = 1000;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "nvme"), 0);
	put_on_vfio(f, IGB_VF1);
	put_on_vfio(f, IGB_VF2);
	struct pci_tree *t = scan(f);
	struct bind_job jobs[] = {
		{.dev = find(t, IGB_VF1), .req = {.driver = "igbvf"}},
		{.dev = find(t, IGB_VF2), .req = {.driver = "nvme"}},
	};
	f->sim.quitter = "nvme";
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 2), -EIO);
	assert_int_equal(jobs[0].r, 0);
	assert_string_equal(jobs[0].res.driver_after, "igbvf");
	assert_int_equal(jobs[1].r, -EIO);
	assert_string_equal(jobs[1].error, "0000:01:10.4: nvme took the device but let go of it within 1000 ms (see "
					   "the kernel log); put back on vfio-pci");
	/* woken by the let-go at 100 ms, which ends the wait: igbvf's VF
	 * needs no window, and nvme's has failed */
	assert_int_equal(f->sim.n_events, 1);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 100 * MS);
	char drv[64];
	driver_of(f, IGB_VF2, drv, sizeof(drv));
	assert_string_equal(drv, "vfio-pci");
	driver_of(f, IGB_VF1, drv, sizeof(drv));
	assert_string_equal(drv, "igbvf");
	bind_job_done(&jobs[0]);
	bind_job_done(&jobs[1]);
	pci_tree_free(t);
}

/* vfio-pci and pci-stub never let go of a device they took, igbvf and
 * ixgbevf are done when their probe returns: binding to them holds no
 * settle window (the clock does not move), any other driver does. */
static void test_bind_passthrough_no_window(void **state)
{
	struct fixture *f = *state;
	assert_false(lifecycle_driver_needs_settle("vfio-pci"));
	assert_false(lifecycle_driver_needs_settle("pci-stub"));
	assert_false(lifecycle_driver_needs_settle("igbvf"));
	assert_false(lifecycle_driver_needs_settle("ixgbevf"));
	assert_true(lifecycle_driver_needs_settle("nvme"));
	assert_true(lifecycle_driver_needs_settle("iavf"));
	assert_true(lifecycle_driver_needs_settle("mlx5_core"));
	assert_false(lifecycle_driver_is_passthrough("igbvf"));
	assert_true(lifecycle_driver_is_passthrough("pci-stub"));
	assert_false(lifecycle_driver_needs_settle(NULL));

	f->sim.kernel = true;
	f->env.settle_ms = 1000;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	const char *vfs[] = {IGB_VF0, IGB_VF1, IGB_VF2};
	struct pci_tree *t = scan(f);
	struct bind_job jobs[3];
	for (size_t i = 0; i < 3; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "vfio-pci"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 3), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 0);
	assert_int_equal(f->sim.n_event_waits, 0);
	assert_int_equal(f->sim.n_sleeps, 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(jobs[i].r, 0);
		assert_string_equal(jobs[i].res.driver_after, "vfio-pci");
		assert_non_null(jobs[i].res.vfio_device);
		char drv[64];
		driver_of(f, vfs[i], drv, sizeof(drv));
		assert_string_equal(drv, "vfio-pci");
		bind_job_done(&jobs[i]);
	}
	pci_tree_free(t);

	/* back to igbvf: still no window */
	t = scan(f);
	for (size_t i = 0; i < 3; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "igbvf"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 3), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 0);
	assert_int_equal(f->sim.n_event_waits, 0);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(jobs[i].res.driver_after, "igbvf");
		bind_job_done(&jobs[i]);
	}
	pci_tree_free(t);

	/* to iavf: one window */
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	t = scan(f);
	for (size_t i = 0; i < 3; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "iavf"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 3), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 1000 * MS);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(jobs[i].res.driver_after, "iavf");
		bind_job_done(&jobs[i]);
	}
	pci_tree_free(t);
}

/* A window of the caller's: LIFECYCLE_SETTLE_NONE takes the driver at its
 * word, any other length is that long. */
static void test_bind_settle_chosen(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	const char *vfs[] = {IGB_VF0, IGB_VF1};
	for (size_t i = 0; i < 2; i++)
		put_on_vfio(f, vfs[i]);
	f->env.settle_ms = LIFECYCLE_SETTLE_NONE;
	struct pci_tree *t = scan(f);
	struct bind_job jobs[2];
	for (size_t i = 0; i < 2; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "iavf"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 2), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 0);
	assert_int_equal(f->sim.n_event_waits, 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(jobs[i].r, 0);
		assert_string_equal(jobs[i].res.driver_after, "iavf");
		bind_job_done(&jobs[i]);
	}
	pci_tree_free(t);

	f->env.settle_ms = 2500;
	t = scan(f);
	for (size_t i = 0; i < 2; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "vfio-pci"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 2), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 0); /* vfio-pci: still none */
	for (size_t i = 0; i < 2; i++)
		bind_job_done(&jobs[i]);
	pci_tree_free(t);
	t = scan(f);
	for (size_t i = 0; i < 2; i++)
		jobs[i] = (struct bind_job){.dev = find(t, vfs[i]), .req = {.driver = "iavf"}};
	assert_int_equal(lifecycle_bind_many(&f->env, jobs, 2), 0);
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 2500 * MS);
	for (size_t i = 0; i < 2; i++)
		bind_job_done(&jobs[i]);
	pci_tree_free(t);
}

/* eth0 to count VFs that autoprobe puts on driver: settled, after
 * window_ms on the simulated clock. */
static void numvfs_settles_after(struct fixture *f, const char *driver, uint32_t count, uint64_t window_ms)
{
	f->sim.default_driver = driver;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = count, .force = true};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	uint64_t start = f->sim.now_ns;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_true(res.settled);
	assert_int_equal(res.links, count);
	assert_int_equal(f->sim.now_ns - start, window_ms * MS);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

/* New VFs that autoprobe puts on vfio-pci (its ids= or new_id) or on
 * igbvf hold no window either; on iavf they hold one. */
static void test_numvfs_window_fits_the_driver(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->env.settle_ms = 1000;
	use_events(f);
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	assert_int_equal(fakesysfs_add_driver(f->sys, "iavf"), 0);
	numvfs_settles_after(f, "vfio-pci", 7, 0);
	numvfs_settles_after(f, "igbvf", 5, 0);
	assert_int_equal(f->sim.n_event_waits, 0);
	numvfs_settles_after(f, "iavf", 6, 1000);
}

static void test_bind_driver_not_loaded(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci"};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), -ENOENT);
	assert_string_equal(error, "vfio-pci is not loaded: modprobe vfio-pci");
	bind_result_done(&res);
	free(error);
	error = NULL;

	/* The module is vfio_pci, its driver vfio-pci: name the one that exists */
	req.driver = "vfio_pci";
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), -ENOENT);
	assert_string_equal(error, "vfio_pci is not loaded: modprobe vfio_pci");
	bind_result_done(&res);
	free(error);
	error = NULL;
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth2"), &req, NULL, &error), -ENOENT);
	assert_string_equal(error, "there is no PCI driver called vfio_pci: the driver is vfio-pci, use that name");
	free(error);
	error = NULL;
	assert_int_equal(fakesysfs_symlink(f->sys, "module/vfio_pci/drivers/pci:vfio-pci",
					   "../../../bus/pci/drivers/vfio-pci"), 0);
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth2"), &req, NULL, &error), -ENOENT);
	assert_string_equal(error, "there is no PCI driver called vfio_pci: the driver is vfio-pci (registered by "
				   "the module vfio_pci), use that name");
	free(error);
	error = NULL;
	/* any name whose other spelling is a driver */
	req.driver = "pci_stub";
	assert_int_equal(fakesysfs_add_driver(f->sys, "pci-stub"), 0);
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth2"), &req, NULL, &error), -ENOENT);
	assert_string_equal(error, "there is no PCI driver called pci_stub: the driver is pci-stub, use that name");
	assert_int_equal(f->sim.n_log, 0);
	pci_tree_free(t);
}

static void test_bind_bad_driver_name(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	static const char *const bad[] = {"", "../igb", "a b", ".", "..", "x/y"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct bind_request req = {.driver = bad[i]};
		struct bind_result res;
		char *error = NULL;
		assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), -EINVAL);
		assert_non_null(strstr(error, "is not a driver name"));
		free(error);
		bind_result_done(&res);
	}
	assert_int_equal(f->sim.n_log, 0);
	pci_tree_free(t);
}

static void test_bind_already_bound(void **state)
{
	struct fixture *f = *state;
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "igbvf"};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), 0);
	assert_false(res.changed);
	assert_string_equal(res.driver_after, "igbvf");
	bind_result_done(&res);
	/* "kernel" on a device that is on its host driver: nothing either */
	req.driver = LIFECYCLE_DRIVER_KERNEL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), 0);
	assert_false(res.changed);
	assert_int_equal(f->sim.n_log, 0);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_vfio_and_back(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	struct pci_tree *t = scan(f);
	int group = find(t, IGB_VF0)->iommu_group;
	struct bind_request req = {.driver = "vfio-pci", .vfio_wait_ms = 200};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:01:10.0/driver_override=vfio-pci|"
			    "bus/pci/drivers/igbvf/unbind=0000:01:10.0|bus/pci/drivers_probe=0000:01:10.0");
	assert_true(res.changed);
	assert_string_equal(res.driver_before, "igbvf");
	assert_string_equal(res.driver_after, "vfio-pci");
	assert_int_equal(res.iommu_group, group);
	char node[400];
	snprintf(node, sizeof(node), "%s/%d", f->vfio, group);
	assert_string_equal(res.vfio_device, node);
	bind_result_done(&res);
	pci_tree_free(t);

	/* remembered: the host driver it had */
	struct bind_record rec;
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &rec), 0);
	assert_string_equal(rec.driver, "igbvf");
	assert_int_equal(rec.vendor_id, 0x8086);
	assert_int_equal(rec.device_id, 0x10ca);

	/* vfio-pci again: nothing to do, the node is reported */
	f->sim.n_log = 0;
	t = scan(f);
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF0), &req, &res, &error), 0);
	assert_false(res.changed);
	assert_string_equal(res.vfio_device, node);
	assert_int_equal(f->sim.n_log, 0);
	bind_result_done(&res);

	/* back with "kernel": the remembered driver through driver_override,
	 * then the override cleared */
	req.driver = LIFECYCLE_DRIVER_KERNEL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF0), &req, &res, &error), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:01:10.0/driver_override=igbvf|"
			    "bus/pci/drivers/vfio-pci/unbind=0000:01:10.0|bus/pci/drivers_probe=0000:01:10.0|"
			    "bus/pci/devices/0000:01:10.0/driver_override=\\n");
	assert_true(res.changed);
	assert_true(res.restored);
	assert_string_equal(res.driver_after, "igbvf");
	assert_null(res.vfio_device);
	assert_int_equal(access(node, F_OK), -1);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &rec), -ENOENT);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_kernel_without_record(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf"; /* what the kernel picks by ID */
	put_on_vfio(f, IGB_VF1);
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:10.2/driver_override", "vfio-pci\n"), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = LIFECYCLE_DRIVER_KERNEL};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF1), &req, &res, &error), 0);
	assert_log(&f->sim, "bus/pci/devices/0000:01:10.2/driver_override=\\n|"
			    "bus/pci/drivers/vfio-pci/unbind=0000:01:10.2|bus/pci/drivers_probe=0000:01:10.2");
	assert_true(res.changed);
	assert_false(res.restored);
	assert_string_equal(res.driver_after, "igbvf");
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_kernel_with_autoprobe_off(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	put_on_vfio(f, IGB_VF1);
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe", "0\n"), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = LIFECYCLE_DRIVER_KERNEL};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF1), &req, &res, &error), -ENODEV);
	assert_string_equal(error, "0000:01:10.2: no driver is remembered for it, and its PF 0000:01:00.0 has "
				   "sriov_drivers_autoprobe 0, so the kernel would pick none: name the driver "
				   "(sriovctl bind 0000:01:10.2 DRIVER)");
	assert_int_equal(f->sim.n_log, 0);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_refused_is_put_back(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.refusing = "pci-stub";
	assert_int_equal(fakesysfs_add_driver(f->sys, "pci-stub"), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "pci-stub"};
	struct bind_result res;
	char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), -EIO);
	assert_string_equal(error, "eth2 (0000:01:10.0): pci-stub refused the device (it is on no driver now; see "
				   "the kernel log); put back on igbvf");
	char drv[64], override[64];
	driver_of(f, IGB_VF0, drv, sizeof(drv));
	assert_string_equal(drv, "igbvf");
	read_attr(f, IGB_VF0, "driver_override", override, sizeof(override));
	assert_string_equal(override, ""); /* cleared, as it was */
	assert_string_equal(res.driver_after, "igbvf");
	/* the record made for this attempt is gone with it */
	struct bind_record rec;
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &rec), -ENOENT);
	bind_result_done(&res);
	free(error);

	/* when even the old driver will not take it back, say what is left */
	f->sim.refusing = "*";
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), -EIO);
	assert_string_equal(error, "eth2 (0000:01:10.0): pci-stub refused the device (it is on no driver now; see "
				   "the kernel log); could not put it back: it is on no driver instead of igbvf");
	assert_null(res.driver_after);
	free(error);
	bind_result_done(&res);
	pci_tree_free(t);
}

/* Which step failed comes from data, not from the path's wording: a
 * drivers_probe error is judged by the driver link, an unbind error is one,
 * even when the driver's name holds "drivers_probe". */
static void test_bind_step_errors(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	assert_int_equal(fakesysfs_add_driver(f->sys, "pci-stub"), 0);
	assert_int_equal(fakesysfs_add_driver(f->sys, "drivers_probe"), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "pci-stub"};
	struct bind_result res;
	char *error = NULL;

	/* drivers_probe says EINVAL, yet pci-stub has it: done */
	f->sim.probe_error = -EINVAL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth2"), &req, &res, &error), 0);
	assert_string_equal(res.driver_after, "pci-stub");
	bind_result_done(&res);
	f->sim.probe_error = 0;

	/* an unbind that fails is an error, whatever the driver is called */
	assert_int_equal(fakesysfs_unbind(f->sys, IGB_VF1), 0);
	assert_int_equal(fakesysfs_bind(f->sys, IGB_VF1, "drivers_probe"), 0);
	pci_tree_free(t);
	t = scan(f);
	f->sim.unbind_error = -EIO;
	f->sim.n_log = 0;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF1), &req, &res, &error), -EIO);
	char want[1024];
	snprintf(want, sizeof(want),
		 "%s/bus/pci/drivers/drivers_probe/unbind: write 0000:01:10.2: Input/output error; put back on "
		 "drivers_probe", f->sys);
	assert_string_equal(error, want);
	/* nothing was probed */
	for (int i = 0; i < f->sim.n_log; i++)
		assert_null(strstr(f->sim.log[i], "bus/pci/drivers_probe="));
	free(error);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_driver_lets_go(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	f->sim.quitter = "nvme";
	f->env.settle_ms = 300;
	put_on_vfio(f, IGB_VF2);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = LIFECYCLE_DRIVER_KERNEL, .vfio_wait_ms = 100};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF2), &req, &res, &error), -EIO);
	/* noticed at the first look after the driver let go */
	assert_int_equal(f->sim.now_ns - SIM_EPOCH_NS, 100 * MS);
	assert_string_equal(error, "0000:01:10.4: nvme took the device but let go of it within 300 ms (see the "
				   "kernel log); put back on vfio-pci");
	char drv[64], override[64];
	driver_of(f, IGB_VF2, drv, sizeof(drv));
	assert_string_equal(drv, "vfio-pci");
	read_attr(f, IGB_VF2, "driver_override", override, sizeof(override));
	assert_string_equal(override, "");
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_refuses_shared_group(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	const struct fake_pf pf = {
		.address = "0000:05:00.0", .vendor = 0x8086, .device = 0x10c9, .class_code = 0x020000,
		.numa_node = -1, .driver = "igb", .netdev = "eth10", .total_vfs = 7, .num_vfs = 2,
		.vf_offset = 128, .vf_stride = 2, .vf_device = 0x10ca, .vf_driver = "igbvf",
		.vf_netdev_prefix = "eth", .vf_netdev_base = 11, .shared_iommu_group = true,
	};
	assert_int_equal(fakesysfs_add_pf(f->sys, &pf), 0);
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	struct pci_tree *t = scan(f);
	const struct pci_function *vf0 = find(t, "eth10#0");
	struct bind_request req = {.driver = "vfio-pci", .vfio_wait_ms = 100};
	struct bind_result res;
	char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, vf0, &req, &res, &error), -EBUSY);
	char expect[1024];
	snprintf(expect, sizeof(expect),
		 "eth11 (0000:05:10.0): binding to vfio-pci refused: 0000:05:00.0 shares IOMMU group %d with it and is "
		 "bound to igb (a VM can only use the group once every member is on vfio-pci or unbound); "
		 "0000:05:10.2 shares IOMMU group %d with it and is bound to igbvf (a VM can only use the group once "
		 "every member is on vfio-pci or unbound) (--force to do it anyway)",
		 vf0->iommu_group, vf0->iommu_group);
	assert_string_equal(error, expect);
	assert_int_equal(f->sim.n_log, 0);
	free(error);
	bind_result_done(&res);

	/* peers unbound or on vfio-pci/pci-stub keep the group viable */
	pci_tree_free(t);
	assert_int_equal(fakesysfs_unbind(f->sys, "0000:05:00.0"), 0);
	put_on_vfio(f, "0000:05:10.2");
	t = scan(f);
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "0000:05:10.0"), &req, NULL, &error), 0);
	pci_tree_free(t);

	/* --force goes ahead with a host-bound peer */
	assert_int_equal(fakesysfs_bind(f->sys, "0000:05:00.0", "igb"), 0);
	t = scan(f);
	req.force = true;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "0000:05:10.0"), &req, &res, &error), 0);
	assert_null(error);
	assert_string_equal(res.driver_after, "vfio-pci");
	assert_int_equal(strv_length(res.overridden), 1);
	assert_non_null(strstr(res.overridden[0], "0000:05:00.0 shares IOMMU group"));
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_refuses_used_netdev(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci"};
	struct bind_result res;
	char *error = NULL;
	/* routes alone are enough: the host sends through the link */
	f->usage_ifname = "eth0";
	f->usage = (struct link_usage){.flags = IFF_UP, .n_routes = 2};
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth0"), &req, &res, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): binding to vfio-pci refused: its netdev eth0 is up with 2 "
				   "routes, and the host would lose that network (--force to do it anyway)");
	free(error);
	bind_result_done(&res);
	/* whatever the target driver */
	assert_int_equal(fakesysfs_add_driver(f->sys, "e1000e"), 0);
	req.driver = "e1000e";
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	free(error);
	assert_int_equal(f->sim.n_log, 0);
	pci_tree_free(t);
}

static void test_bind_pf_with_vfs_in_use(void **state)
{
	struct fixture *f = *state;
	put_on_vfio(f, IGB_VF2);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci"};
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): binding to vfio-pci refused: unbinding 0000:01:00.0 from igb "
				   "destroys its 3 VFs, and VF 2 (0000:01:10.4) is bound to vfio-pci (--force to do it "
				   "anyway)");
	pci_tree_free(t);
}

/* A PF moved off its driver takes its VFs: a count change to 0, allowed
 * when none is in use, and the result says what it destroyed. */
static void test_bind_pf_destroys_vfs(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	struct bind_record rec = {.driver = "igbvf", .vendor_id = 0x8086, .device_id = 0x10ca};
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF1, &rec), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci", .vfio_wait_ms = 100};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_null(error);
	assert_string_equal(res.driver_after, "vfio-pci");
	assert_int_equal(strv_length(res.destroyed), 3);
	assert_string_equal(res.destroyed[0], "VF 0 eth2 (0000:01:10.0)");
	assert_string_equal(res.destroyed[1], "VF 1 eth3 (0000:01:10.2)");
	assert_string_equal(res.destroyed[2], "VF 2 eth4 (0000:01:10.4)");
	assert_string_equal(res.destroyed_addrs[2], IGB_VF2);
	assert_null(res.overridden);
	/* the destroyed VFs' records go with them */
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF1, &rec), -ENOENT);
	char numvfs[16];
	read_attr(f, IGB_PF, "sriov_numvfs", numvfs, sizeof(numvfs));
	assert_string_equal(numvfs, "0");
	bind_result_done(&res);
	pci_tree_free(t);

	/* a VF's netdev has no addresses: not in use, nothing overridden; a
	 * PF without VFs destroys nothing */
	t = scan(f);
	req.driver = LIFECYCLE_DRIVER_KERNEL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_PF), &req, &res, &error), 0);
	assert_string_equal(res.driver_after, "igb");
	assert_null(res.destroyed);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_bind_pf_force_destroys_vfio_vf(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	put_on_vfio(f, IGB_VF0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci", .vfio_wait_ms = 100};
	struct bind_result res;
	char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth0"), &req, &res, &error), -EBUSY);
	assert_null(res.destroyed);
	assert_int_equal(f->sim.n_log, 0);
	free(error);
	error = NULL;
	bind_result_done(&res);
	req.force = true;
	assert_int_equal(lifecycle_bind(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_int_equal(strv_length(res.overridden), 1);
	assert_string_equal(res.overridden[0], "unbinding 0000:01:00.0 from igb destroys its 3 VFs, and VF 0 "
					       "(0000:01:10.0) is bound to vfio-pci");
	assert_int_equal(strv_length(res.destroyed), 3);
	assert_string_equal(res.destroyed[0], "VF 0 0000:01:10.0"); /* on vfio-pci: no netdev */
	bind_result_done(&res);
	pci_tree_free(t);
}

/* --- netdevs in other network namespaces ------------------------------------ */

static void test_numvfs_refuses_vf_in_netns(void **state)
{
	struct fixture *f = *state;
	move_to_netns(f, IGB_VF1, "eth3", "c1");
	struct pci_tree *t = scan(f);
	assert_null(find(t, "eth0#1")->netdevs); /* gone from this namespace */
	struct numvfs_request req = {.count = 2};
	struct numvfs_result res;
	char *error = NULL;
	/* down, no address (the fake usage says so): in use all the same */
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): changing from 3 to 2 VFs destroys all 3 VFs first, but: "
				   "VF 1 (0000:01:10.2) has its netdev eth3 in network namespace c1 (a container has "
				   "it) (--force to do it anyway)");
	/* one search, for the one VF whose netdev is not here */
	assert_int_equal(f->netns_calls, 1);
	assert_string_equal(f->netns_asked, IGB_VF1);
	assert_int_equal(f->sim.n_log, 0);
	free(error);
	error = NULL;
	numvfs_result_done(&res);

	/* to 0 too, and a process's namespace is named by its pid */
	snprintf(f->netns[0].netns, sizeof(f->netns[0].netns), "pid 4242 (sleep)");
	req.count = 0;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_non_null(strstr(error, "VF 1 (0000:01:10.2) has its netdev eth3 in network namespace pid 4242 (sleep)"));
	free(error);
	error = NULL;

	/* --force goes ahead and says what it overrode */
	req.count = 2;
	req.force = true;
	req.timeout_ms = 50;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_int_equal(strv_length(res.overridden), 1);
	assert_string_equal(res.overridden[0], "VF 1 (0000:01:10.2) has its netdev eth3 in network namespace "
					       "pid 4242 (sleep) (a container has it)");
	numvfs_result_done(&res);
	pci_tree_free(t);
}

static void test_netns_search_incomplete(void **state)
{
	struct fixture *f = *state;
	/* the VF's netdev is nowhere this search could see */
	move_to_netns(f, IGB_VF1, "eth3", "c1");
	f->n_netns = 0;
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 0};
	char *error = NULL;
	/* a complete search that finds nothing: nothing in use */
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), 0);
	/* an incomplete one: cannot tell, so refused */
	f->netns_incomplete = "2 network namespaces could not be looked into (pid 7 (init): Operation not permitted)";
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): changing from 3 to 0 VFs destroys all 3 VFs first, but: "
				   "cannot tell whether VF 1 (0000:01:10.2) has its netdev in another network namespace: "
				   "2 network namespaces could not be looked into (pid 7 (init): Operation not "
				   "permitted) (--force to do it anyway)");
	free(error);
	error = NULL;
	/* a search that could not start */
	f->netns_incomplete = NULL;
	f->netns_error = -EACCES;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_non_null(strstr(error, "cannot tell whether VF 1 (0000:01:10.2) has its netdev in another network "
				      "namespace: cannot look for them: Permission denied"));
	free(error);
	pci_tree_free(t);
}

static void test_netns_search_only_when_needed(void **state)
{
	struct fixture *f = *state;
	/* every VF has its netdev here, or is on vfio-pci, or unbound, or is
	 * no network function (NVMe): no namespace is looked into */
	put_on_vfio(f, IGB_VF0);
	assert_int_equal(fakesysfs_unbind(f->sys, IGB_VF2), 0);
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 0, .force = true};
	char *error = NULL;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, "eth0"), &req, NULL, &error), 0);
	pci_tree_free(t);
	f->sim.kernel = true;
	f->sim.default_driver = "nvme";
	t = scan(f);
	struct numvfs_result res;
	req = (struct numvfs_request){.count = 2, .timeout_ms = 100};
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, NVME_PF), &req, &res, &error), 0);
	numvfs_result_done(&res);
	pci_tree_free(t);
	t = scan(f);
	req.count = 0;
	assert_int_equal(lifecycle_numvfs_check(&f->env, find(t, NVME_PF), &req, NULL, &error), 0);
	assert_int_equal(f->netns_calls, 0);
	pci_tree_free(t);
}

static void test_bind_refuses_netdev_in_netns(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	move_to_netns(f, IGB_VF1, "eth3", "c1");
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = "vfio-pci"};
	char *error = NULL;
	/* the VF itself: the container would lose its interface */
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth0#1"), &req, NULL, &error), -EBUSY);
	assert_string_equal(error, "0000:01:10.2: binding to vfio-pci refused: its netdev eth3 is in network "
				   "namespace c1 (a container has it) (--force to do it anyway)");
	free(error);
	error = NULL;
	/* its PF: the same, as a count change */
	assert_int_equal(lifecycle_bind_check(&f->env, find(t, "eth0"), &req, NULL, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): binding to vfio-pci refused: unbinding 0000:01:00.0 from igb "
				   "destroys its 3 VFs, and VF 1 (0000:01:10.2) has its netdev eth3 in network "
				   "namespace c1 (a container has it) (--force to do it anyway)");
	free(error);
	assert_int_equal(f->sim.n_log, 0);
	pci_tree_free(t);
}


/* --- the state record ------------------------------------------------------- */

static void test_record(void **state)
{
	struct fixture *f = *state;
	struct bind_record rec = {.driver = "igbvf", .vendor_id = 0x8086, .device_id = 0x10ca}, got;
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &got), -ENOENT);
	/* the state directory is created, with its parents */
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), 0);
	assert_int_equal(lifecycle_record_load(&f->env, "01:10.0", &got), 0); /* same device, short form */
	assert_string_equal(got.driver, "igbvf");
	assert_int_equal(got.vendor_id, 0x8086);
	assert_int_equal(got.device_id, 0x10ca);

	char p[600];
	snprintf(p, sizeof(p), "%s/%s", f->state, IGB_VF0);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_text_file(p, 4096, &text), 0);
	assert_non_null(strstr(text, "\ndriver=igbvf\nid=8086:10ca"));
	/* written through a temporary that is renamed: nothing else is left */
	DIR *d = opendir(f->state);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.' || strlen(de->d_name) > 2;
	closedir(d);
	assert_int_equal(n, 1);

	/* overwrite */
	snprintf(rec.driver, sizeof(rec.driver), "e1000e");
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), 0);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &got), 0);
	assert_string_equal(got.driver, "e1000e");

	/* garbage */
	static const char *const bad[] = {"", "id=8086:10ca\n", "driver=../x\n", "driver=igb\nid=zz\n"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		FILE *w = fopen(p, "we");
		fputs(bad[i], w);
		fclose(w);
		assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &got), -EBADMSG);
	}
	/* unknown keys from a newer version are fine */
	FILE *w = fopen(p, "we");
	fputs("# comment\nfuture=1\ndriver=igbvf\n", w);
	fclose(w);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &got), 0);

	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), 0);
	assert_int_equal(lifecycle_record_forget(&f->env, IGB_VF0), 0);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &got), -ENOENT);
	/* names come from PCI addresses only: nothing can climb out */
	assert_int_equal(lifecycle_record_load(&f->env, "../../etc/passwd", &got), -EINVAL);
	assert_int_equal(lifecycle_record_save(&f->env, "../x", &rec), -EINVAL);
}

static void test_record_for_another_device_is_ignored(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf";
	put_on_vfio(f, IGB_VF0);
	/* left by a VF that was destroyed; 01:10.0 is now another device */
	struct bind_record rec = {.driver = "e1000e", .vendor_id = 0x8086, .device_id = 0x10d3};
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF0, &rec), 0);
	struct pci_tree *t = scan(f);
	struct bind_request req = {.driver = LIFECYCLE_DRIVER_KERNEL};
	struct bind_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_bind(&f->env, find(t, IGB_VF0), &req, &res, &error), 0);
	assert_false(res.restored);
	assert_string_equal(res.driver_after, "igbvf");
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF0, &rec), -ENOENT);
	bind_result_done(&res);
	pci_tree_free(t);
}

static void test_numvfs_forgets_destroyed_vfs(void **state)
{
	struct fixture *f = *state;
	f->sim.kernel = true;
	f->sim.default_driver = "igbvf";
	struct bind_record rec = {.driver = "igbvf", .vendor_id = 0x8086, .device_id = 0x10ca};
	assert_int_equal(lifecycle_record_save(&f->env, IGB_VF1, &rec), 0);
	struct pci_tree *t = scan(f);
	struct numvfs_request req = {.count = 0, .timeout_ms = 100};
	struct numvfs_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(lifecycle_set_numvfs(&f->env, find(t, "eth0"), &req, &res, &error), 0);
	assert_int_equal(lifecycle_record_load(&f->env, IGB_VF1, &rec), -ENOENT);
	numvfs_result_done(&res);
	pci_tree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_numvfs_above_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_not_a_pf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_through_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_disable_and_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_no_autoprobe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_unbound_after_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_driver_lets_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_kernel_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_fewer_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_refuses_vfio_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_from_zero_never_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_refuses_used_netdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_consumer_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_forgets_destroyed_vfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_vfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_waits_on_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_many_checks_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_many_one_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_many_one_lets_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_passthrough_no_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_settle_chosen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_window_fits_the_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_driver_not_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_bad_driver_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_already_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_vfio_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_kernel_without_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_kernel_with_autoprobe_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refused_is_put_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_step_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_driver_lets_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refuses_shared_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refuses_used_netdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_pf_with_vfs_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_pf_destroys_vfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_pf_force_destroys_vfio_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numvfs_refuses_vf_in_netns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns_search_incomplete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns_search_only_when_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refuses_netdev_in_netns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_for_another_device_is_ignored, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for apply/ on fake sysfs trees: plan, idempotence, stable
 * MACs, exact write counting, rollback, ordering and the checks plan makes
 * before anything is written.
 *
 * The host is played at both of its doors: the lifecycle writer
 * (sim_write) turns sysfs writes into what the kernel does (sriov_numvfs
 * creates and removes VFs in the tree, unbind/drivers_probe move driver
 * links), and an apply_netlink table runs the real netlink/ code against a
 * kernel played at the message level (fake-rtnl.c), with a clock of its own
 * for the wait for the PF link. Every sysfs write and every RTM_SETLINK
 * lands in one ordered log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/stat.h>

#include "apply/apply.h"
#include "claim/claim.h"
#include "caps/caps.h"
#include "config/config.h"
#include "daemon/claims.h"
#include "fake-rtnl.h"
#include "fakesysfs.h"
#include "inventory/inventory.h"
#include "ledger/ledger.h"
#include "netlink/rtnl.h"
#include "util/util.h"
#include "test-helpers.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define IGB_PF "0000:01:00.0"
#define NVME_PF "0000:00:03.0"

struct fixture {
	char dir[256];
	char sys[300], state[300], vfio[300], conf[300];
	struct fake_rtnl k;
	struct rtnl *nl;
	struct apply_netlink ops;
	struct apply_env env;
	struct config *cfg;
	uint64_t now_ns;
	unsigned waits;
	unsigned carrier_after_waits; /* the PF link comes back after this many waits (0: never) */
	unsigned n_sysfs_writes;
	char log[64][128]; /* sysfs writes and netlink settings, in order */
	unsigned n_log;
	bool vf_netdevs;      /* new igbvf VFs get netdevs eth10, eth11...; VFs probed by igbvf
			       * later eth20, eth21... */
	unsigned probed_netdevs;
	int mtu_error;        /* the driver answers this to an MTU (0: takes it) */
	const char *mtu_message; /* ... with this ext-ack text */
	int up_error;
};

static void log_add(struct fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_add(struct fixture *f, const char *fmt, ...)
{
	assert_true(f->n_log < ARRAY_SIZE(f->log));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->log[f->n_log++], sizeof(f->log[0]), fmt, ap);
	va_end(ap);
}

static void assert_log(const struct fixture *f, const char *expected)
{
	char got[8192] = "";
	size_t off = 0;
	for (unsigned i = 0; i < f->n_log; i++)
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", i ? "|" : "", f->log[i]);
	assert_string_equal(got, expected);
}

/* --- the kernel at the sysfs door ---------------------------------------- */

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

static uint32_t read_rel_u32(const struct fixture *f, const char *dev, const char *attr, int base)
{
	char p[600];
	uint32_t v = 0;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/%s", f->sys, dev, attr);
	assert_int_equal(read_u32_at(AT_FDCWD, p, base, &v), 0);
	return v;
}

static bool bound(const struct fixture *f, const char *addr)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", f->sys, addr);
	return lstat(p, &st) == 0;
}

static int group_of(const struct fixture *f, const char *addr)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", f->sys, addr);
	_cleanup_free_ char *g = NULL;
	uint32_t n = 0;
	if (read_link_basename_at(AT_FDCWD, p, &g) < 0 || parse_u32(g, 10, &n) < 0)
		return -1;
	return (int)n;
}

static void vfio_node(const struct fixture *f, const char *addr, bool present)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%d", f->vfio, group_of(f, addr));
	if (present)
		close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	else
		unlink(p);
}

/* sriov_numvfs as drivers/pci/iov.c and igb take it: VFs appear with igb's
 * defaults (and igbvf when autoprobe is on), and the PF's link is reset. */
static int sim_numvfs(struct fixture *f, const char *pf, const char *value)
{
	uint32_t n, cur = read_rel_u32(f, pf, "sriov_numvfs", 10), total = read_rel_u32(f, pf, "sriov_totalvfs", 10);
	if (parse_u32(value, 0, &n) < 0)
		return -EINVAL;
	if (n > total)
		return -ERANGE;
	if (n == cur)
		return 0;
	if (n && cur)
		return -EBUSY;
	uint32_t offset = read_rel_u32(f, pf, "sriov_offset", 10), stride = read_rel_u32(f, pf, "sriov_stride", 10);
	uint32_t vf_device = read_rel_u32(f, pf, "sriov_vf_device", 16);
	uint32_t autoprobe = read_rel_u32(f, pf, "sriov_drivers_autoprobe", 10);
	char rel[300];
	for (uint32_t i = 0; i < (n ? n : cur); i++) {
		char vf[16], target[32];
		assert_int_equal(fakesysfs_vf_address(pf, offset, stride, i, vf, sizeof(vf)), 0);
		if (n == 0) {
			if (bound(f, vf))
				assert_int_equal(fakesysfs_unbind(f->sys, vf), 0);
			vfio_node(f, vf, false);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s", vf);
			assert_int_equal(fakesysfs_remove(f->sys, rel), 0);
			snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtfn%u", pf, i);
			assert_int_equal(fakesysfs_remove(f->sys, rel), 0);
			continue;
		}
		char name[16];
		snprintf(name, sizeof(name), "eth1%u", i);
		bool igbvf = autoprobe && strcmp(pf, NVME_PF) != 0;
		struct fake_dev d = {.address = vf, .vendor = 0x8086, .device = (uint16_t)vf_device,
				     .class_code = 0x020000, .numa_node = -1,
				     .driver = !autoprobe ? NULL : strcmp(pf, NVME_PF) == 0 ? "nvme" : "igbvf",
				     .netdev = igbvf && f->vf_netdevs ? name : NULL, .operstate = "down"};
		assert_int_equal(fakesysfs_add_device(f->sys, &d), 0);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtfn%u", pf, i);
		snprintf(target, sizeof(target), "../%s", vf);
		assert_int_equal(fakesysfs_symlink(f->sys, rel, target), 0);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/physfn", vf);
		snprintf(target, sizeof(target), "../%s", pf);
		assert_int_equal(fakesysfs_symlink(f->sys, rel, target), 0);
	}
	if (strcmp(pf, IGB_PF) == 0) {
		struct fake_rtnl_pf *p = fake_rtnl_pf(&f->k, "eth0");
		p->num_vfs = n;
		for (uint32_t i = 0; i < FAKE_RTNL_MAX_VFS; i++)
			fake_rtnl_igb_vf(&p->vfs[i], i);
		if (p->flags & IFF_UP)
			p->flags &= ~(unsigned)IFF_LOWER_UP; /* igb resets the link */
	}
	char num[16];
	snprintf(num, sizeof(num), "%u\n", n);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/sriov_numvfs", pf);
	return fakesysfs_write(f->sys, rel, num);
}

static int sim_probe(struct fixture *f, const char *addr)
{
	if (bound(f, addr))
		return 0;
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver_override", f->sys, addr);
	_cleanup_free_ char *override = NULL;
	assert_int_equal(read_text_file(p, 256, &override), 0);
	const char *drv = str_empty(override) || strcmp(override, "(null)") == 0 ? "igbvf" : override;
	assert_int_equal(fakesysfs_bind(f->sys, addr, drv), 0);
	if (strcmp(drv, "vfio-pci") == 0)
		vfio_node(f, addr, true);
	if (strcmp(drv, "igbvf") == 0 && f->vf_netdevs) {
		/* the driver's netdev, named by the kernel */
		char name[16];
		snprintf(name, sizeof(name), "eth2%u", f->probed_netdevs++);
		assert_int_equal(fakesysfs_add_netdev(f->sys, addr, name, NULL), 0);
	}
	return 0;
}

static int sim_write(void *userdata, const char *path, const char *value)
{
	struct fixture *f = userdata;
	size_t n = strlen(f->sys);
	assert_true(strncmp(path, f->sys, n) == 0 && path[n] == '/');
	const char *rel = path + n + 1;
	f->n_sysfs_writes++;
	log_add(f, "%s=%s", rel, strcmp(value, "\n") == 0 ? "\\n" : value);
	char dev[16], drv[64];
	size_t len = strlen(rel);
	if (len > 13 && strcmp(rel + len - 13, "/sriov_numvfs") == 0 && sscanf(rel, "bus/pci/devices/%12[^/]/", dev) == 1)
		return sim_numvfs(f, dev, value);
	if (sscanf(rel, "bus/pci/drivers/%63[^/]/unbind", drv) == 1 && strstr(rel, "/unbind")) {
		if (!bound(f, value))
			return -ENODEV;
		assert_int_equal(fakesysfs_unbind(f->sys, value), 0);
		vfio_node(f, value, false);
		return 0;
	}
	if (strcmp(rel, "bus/pci/drivers_probe") == 0)
		return sim_probe(f, value);
	return plain_write(path, value);
}

/* --- the kernel at the rtnetlink door -------------------------------------- */

static int t_get_link(void *data, const char *ifname, unsigned want, struct pf_link *ret)
{
	struct fixture *f = data;
	return rtnl_get_pf_link(f->nl, ifname, want, ret);
}

static int t_apply_vf(void *data, const char *pf_ifname, const struct vf_settings *want, struct vf_apply_report *rep,
		      char **ret_error)
{
	struct fixture *f = data;
	unsigned before = f->k.n_log;
	int r = rtnl_apply_vf(f->nl, pf_ifname, want, rep, ret_error);
	for (unsigned i = before; i < f->k.n_log; i++)
		log_add(f, "%s", f->k.log[i]);
	return r;
}

static void t_put_back(void *data, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
		       unsigned *ret_put_back, struct vf_set_result *res)
{
	struct fixture *f = data;
	unsigned first = f->k.n_log;
	rtnl_vf_put_back(f->nl, pf_ifindex, before, fields, ret_put_back, res);
	for (unsigned i = first; i < f->k.n_log; i++)
		log_add(f, "%s", f->k.log[i]);
}

/* Time passes only here; the link comes back after carrier_after_waits. */
static int t_wait_link_event(void *data, unsigned timeout_ms)
{
	struct fixture *f = data;
	f->waits++;
	if (f->carrier_after_waits && f->waits >= f->carrier_after_waits) {
		fake_rtnl_pf(&f->k, "eth0")->flags |= IFF_LOWER_UP;
		f->now_ns += 1000000;
		return 1;
	}
	f->now_ns += (uint64_t)timeout_ms * 1000000u;
	return 0;
}

static uint64_t t_now_ns(void *data)
{
	struct fixture *f = data;
	return f->now_ns;
}

/* The netdev's net-sysfs attribute, as the kernel shows it after a change. */
static void netdev_attr_write(struct fixture *f, const char *ifname, const char *attr, const char *value)
{
	char pattern[600];
	snprintf(pattern, sizeof(pattern), "%s/bus/pci/devices/*/net/%s/%s", f->sys, ifname, attr);
	glob_t g;
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_int_equal(plain_write(g.gl_pathv[0], value), 0);
	globfree(&g);
}

/* A link change resets igb: the carrier comes back after a few waits. */
static void link_reset(struct fixture *f, const char *ifname)
{
	struct fake_rtnl_pf *p = fake_rtnl_pf(&f->k, ifname);
	if (p)
		p->flags &= ~(unsigned)IFF_LOWER_UP;
}

static int t_set_up(void *data, const char *ifname, bool up, char **ret_message)
{
	struct fixture *f = data;
	*ret_message = NULL;
	log_add(f, "%s up=%d%s", ifname, up, f->up_error ? " refused" : "");
	if (f->up_error)
		return f->up_error;
	netdev_attr_write(f, ifname, "flags", up ? "0x1003\n" : "0x1002\n");
	struct fake_rtnl_pf *p = fake_rtnl_pf(&f->k, ifname);
	if (p)
		p->flags = up ? IFF_UP : 0;
	link_reset(f, ifname);
	return 0;
}

static int t_set_mtu(void *data, const char *ifname, uint32_t mtu, char **ret_message)
{
	struct fixture *f = data;
	log_add(f, "%s mtu=%u%s", ifname, mtu, f->mtu_error ? " refused" : "");
	*ret_message = f->mtu_error && f->mtu_message ? strdup(f->mtu_message) : NULL;
	if (f->mtu_error)
		return f->mtu_error;
	char v[16];
	snprintf(v, sizeof(v), "%u\n", mtu);
	netdev_attr_write(f, ifname, "mtu", v);
	link_reset(f, ifname);
	return 0;
}

/* --- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/sriovd-apply-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->vfio, sizeof(f->vfio), "%s/dev-vfio", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/sriovd.conf", f->dir);
	/* The testbed's igb PF (no VFs yet) and nvme PF. */
	struct fake_pf igb = {.address = IGB_PF, .vendor = 0x8086, .device = 0x10c9, .class_code = 0x020000,
			      .numa_node = -1, .driver = "igb", .netdev = "eth0", .total_vfs = 7, .vf_offset = 128,
			      .vf_stride = 2, .vf_device = 0x10ca};
	struct fake_pf nvme = {.address = NVME_PF, .vendor = 0x1b36, .device = 0x0010, .class_code = 0x010802,
			       .numa_node = -1, .driver = "nvme", .total_vfs = 4, .vf_offset = 1, .vf_stride = 1,
			       .vf_device = 0x0010};
	if (fakesysfs_init(f->sys, true) < 0 || fakesysfs_add_pf(f->sys, &igb) < 0 || fakesysfs_add_pf(f->sys, &nvme) < 0 ||
	    fakesysfs_add_driver(f->sys, "igbvf") < 0 || fakesysfs_add_driver(f->sys, "vfio-pci") < 0 ||
	    mkdir(f->vfio, 0755) < 0)
		return -1;
	fake_rtnl_add_igb(&f->k, "eth0", 4, 0);
	if (rtnl_open_with(fake_rtnl_kernel, &f->k, &f->nl) < 0)
		return -1;
	f->ops = (struct apply_netlink){.get_link = t_get_link, .apply_vf = t_apply_vf, .put_back = t_put_back,
					.wait_link_event = t_wait_link_event, .now_ns = t_now_ns,
					.set_up = t_set_up, .set_mtu = t_set_mtu};
	f->carrier_after_waits = 3;
	f->env = (struct apply_env){
		.lifecycle = {.sysfs_root = f->sys, .state_dir = f->state, .vfio_dir = f->vfio,
			      .write = sim_write, .write_data = f, .settle_ms = 20},
		.settle_timeout_ms = 2000,
		.netlink = &f->ops,
		.netlink_data = f,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	config_free(f->cfg);
	rtnl_close(f->nl);
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

static void load(struct fixture *f, const char *yaml)
{
	FILE *fp = fopen(f->conf, "we");
	assert_non_null(fp);
	fputs(yaml, fp);
	fclose(fp);
	config_free(f->cfg);
	f->cfg = NULL;
	char *error = NULL;
	int r = config_load(f->conf, NULL, &f->cfg, &error);
	if (r < 0)
		fail_msg("config: %s", error ? error : "?");
}

/* "eth0 VF 0 vlan - -> 100": the plan's lines, '|'-joined. */
static void plan_string(const struct plan *p, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < p->n && off < len; i++) {
		const struct plan_change *c = &p->changes[i];
		const char *field = c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind);
		char vf[16] = "";
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), " VF %d", c->vf);
		off += (size_t)snprintf(buf + off, len - off, "%s%s%s %s %s -> %s%s", i ? "|" : "",
					c->pf_netdev[0] ? c->pf_netdev : c->pf, vf, field, c->now, c->want,
					c->conditional ? " (conditional)" : "");
	}
}

static void assert_plan(struct fixture *f, const char *expected)
{
	struct plan p;
	char *error = NULL;
	int r = plan_compute(f->cfg, &f->env, &p, &error);
	if (r < 0)
		fail_msg("plan: %s", error ? error : strerror(-r));
	char got[8192];
	plan_string(&p, got, sizeof(got));
	assert_string_equal(got, expected);
	plan_done(&p);
}

static void assert_plan_error(struct fixture *f, int expected_r, const char *expected)
{
	struct plan p = {0};
	char *error = NULL;
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), expected_r);
	char want[1024];
	snprintf(want, sizeof(want), "%s:%s", f->conf, expected);
	assert_non_null(error);
	assert_string_equal(error, want);
	free(error);
}

/* Runs apply and checks that it did line for line what the plan said. */
static int run_apply(struct fixture *f, struct apply_report *rep)
{
	f->n_log = 0;
	f->n_sysfs_writes = 0;
	f->k.n_setlink = 0;
	return apply_run(f->cfg, &f->env, rep);
}

static const char *numvfs_now(const struct fixture *f, const char *pf)
{
	static char buf[32];
	char p[600];
	_cleanup_free_ char *s = NULL;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/sriov_numvfs", f->sys, pf);
	assert_int_equal(read_text_file(p, 32, &s), 0);
	snprintf(buf, sizeof(buf), "%s", s);
	return buf;
}

static bool strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* --- plan is what apply does ------------------------------------------------ */

#define CONF_HEAD "version: 1\npfs:\n  - match:\n      netdev: eth0\n"

/* From nothing: the VFs do not exist yet, and what igb gives new VFs
 * (QoS 0, 802.1Q, spoof checking on, not trusted, no rate) is no change. */
static void test_plan_from_nothing_is_what_apply_does(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0-1\n        vlan: 100\n"
		"        spoofchk: on\n        trust: off\n        min-rate: 0\n      - index: 1\n        max-rate: 50\n");
	const char *lines = "eth0 numvfs 0 -> 2|eth0 VF 0 vlan - -> 100|eth0 VF 1 vlan - -> 100|eth0 VF 1 max-rate - -> 50";
	assert_plan(f, lines);

	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	/* the same lines; "now" is what the new VFs had when apply got there */
	char got[8192];
	plan_string(&rep.done, got, sizeof(got));
	assert_string_equal(got, "eth0 numvfs 0 -> 2|eth0 VF 0 vlan 0 -> 100|eth0 VF 1 vlan 0 -> 100|"
				 "eth0 VF 1 max-rate 0 -> 50");
	/* 1 sysfs write, 3 RTM_SETLINK (VF 1's VLAN and rate are two) */
	assert_int_equal(rep.writes, 4);
	assert_int_equal(rep.writes, f->n_sysfs_writes + f->k.n_setlink);
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=2|eth0 vf0 vlan=100/0 ok|eth0 vf1 vlan=100/0 ok|"
		      "eth0 vf1 rate=0/50 ok");
	assert_null(rep.error);
	apply_report_done(&rep);

	/* idempotent: nothing planned, nothing written */
	assert_plan(f, "");
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 0);
	assert_int_equal(rep.done.n, 0);
	assert_log(f, "");
	apply_report_done(&rep);
}

/* From drift: exactly the field that differs, and one write to mend it. */
static void test_plan_drift_only_what_differs(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0-1\n        vlan: 100\n        qos: 3\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	pf->vfs[1].vlan = 5; /* ip link set eth0 vf 1 vlan 5: QoS 0 too */
	pf->vfs[1].qos = 0;
	pf->vfs[0].spoofchk = false; /* not in the file: not drift */
	assert_plan(f, "eth0 VF 1 vlan 5 -> 100|eth0 VF 1 qos 0 -> 3");
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 1);
	assert_log(f, "eth0 vf1 vlan=100/3 ok");
	apply_report_done(&rep);
	assert_plan(f, "");
}

/* A driver nothing is known of: the VF's defaults are not known, so the
 * lines for VFs not there yet are marked conditional. */
static void test_plan_unknown_driver_conditional(void **state)
{
	struct fixture *f = *state;
	struct fake_pf other = {.address = "0000:03:00.0", .vendor = 0x15b3, .device = 0x1017, .class_code = 0x020000,
				.numa_node = -1, .driver = "mlx5_core", .netdev = "eth9", .total_vfs = 4, .vf_offset = 1,
				.vf_stride = 1, .vf_device = 0x1018};
	assert_int_equal(fakesysfs_add_pf(f->sys, &other), 0);
	fake_rtnl_add_igb(&f->k, "eth9", 9, 0);
	load(f, "version: 1\npfs:\n  - match:\n      netdev: eth9\n    numvfs: 1\n    vfs:\n      - index: 0\n"
		"        vlan: 100\n        driver: kernel\n");
	assert_plan(f, "eth9 numvfs 0 -> 1|eth9 VF 0 vlan - -> 100 (conditional)|eth9 VF 0 qos - -> 0 (conditional)|"
		       "eth9 VF 0 proto - -> 802.1Q (conditional)|eth9 VF 0 driver - -> kernel (conditional)");
}

/* --- stable MACs ---------------------------------------------------------- */

static void test_stable_macs(void **state)
{
	struct fixture *f = *state;
	/* the PF's permanent MAC is 52:54:00:12:34:04 (the scheme: docs/config.md) */
	load(f, CONF_HEAD "    numvfs: 3\n    mac: stable\n    vfs:\n      - index: 1\n        mac: 02:00:00:00:00:77\n");
	assert_plan(f, "eth0 numvfs 0 -> 3|eth0 VF 0 mac - -> 02:e6:06:e8:00:00|eth0 VF 1 mac - -> 02:00:00:00:00:77|"
		       "eth0 VF 2 mac - -> 02:e6:06:e8:00:02");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=3|eth0 vf0 mac=02:e6:06:e8:00:00 ok|"
		      "eth0 vf1 mac=02:00:00:00:00:77 ok|eth0 vf2 mac=02:e6:06:e8:00:02 ok");
	apply_report_done(&rep);
	/* the same on every run: a second apply changes nothing */
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 0);
	apply_report_done(&rep);
}

/* Two NICs whose permanent MACs differ in both halves can still meet under
 * the stable scheme (1 in 2^24): plan refuses, naming both entries. eth1's
 * permanent MAC is made so: second half = eth0's H xor mix(eth1's OUI). */
static void test_stable_macs_collide(void **state)
{
	struct fixture *f = *state;
	struct fake_pf igb2 = {.address = "0000:02:00.0", .vendor = 0x8086, .device = 0x10c9, .class_code = 0x020000,
			       .numa_node = -1, .driver = "igb", .netdev = "eth1", .total_vfs = 7, .vf_offset = 128,
			       .vf_stride = 2, .vf_device = 0x10ca};
	assert_int_equal(fakesysfs_add_pf(f->sys, &igb2), 0);
	struct fake_rtnl_pf *p0 = fake_rtnl_pf(&f->k, "eth0"), *p1 = fake_rtnl_add_igb(&f->k, "eth1", 5, 0);
	const uint8_t oui1[6] = {0x00, 0x1b, 0x21, 0, 0, 0};
	uint8_t h0[6], m1[6];
	apply_stable_mac(p0->perm, 0, h0);
	apply_stable_mac(oui1, 0, m1); /* second half 0: the mix of the OUI alone */
	memcpy(p1->perm, oui1, 3);
	for (int i = 3; i < 6; i++)
		p1->perm[i] = h0[i - 2] ^ m1[i - 2];
	load(f, CONF_HEAD "    numvfs: 2\n    mac: stable\n  - match:\n      netdev: eth1\n    numvfs: 2\n    mac: stable\n");
	char want[512];
	snprintf(want, sizeof(want),
		 "10:10: mac: stable gives VF 0 of eth1 (0000:02:00.0) 02:e6:06:e8:00:00, which VF 0 of eth0 (" IGB_PF
		 ") (mac: stable) gets too (%s:6:10); two VFs cannot share a MAC",
		 f->conf);
	assert_plan_error(f, -EINVAL, want);
	/* and apply writes nothing */
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	assert_int_equal(rep.writes, 0);
	assert_string_equal(numvfs_now(f, IGB_PF), "0");
	apply_report_done(&rep);
}

/* --- write counting and ordering ---------------------------------------------- */

/* Counts, then L2 settings, then drivers; every write counted, exactly. */
static void test_order_and_write_count(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    autoprobe: true\n    vfs:\n      - index: 1\n        driver: vfio-pci\n"
		"        vlan: 7\n      - index: 0\n        driver: kernel\n");
	assert_plan(f, "eth0 numvfs 0 -> 2|eth0 VF 1 vlan - -> 7|eth0 VF 1 driver - -> vfio-pci");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=2|eth0 vf1 vlan=7/0 ok|"
		      "bus/pci/devices/0000:01:10.2/driver_override=vfio-pci|bus/pci/drivers/igbvf/unbind=0000:01:10.2|"
		      "bus/pci/drivers_probe=0000:01:10.2");
	assert_int_equal(rep.writes, f->n_sysfs_writes + f->k.n_setlink);
	assert_int_equal(rep.writes, 5);
	apply_report_done(&rep);
	assert_plan(f, "");
}

/* Two PFs: the plan is in apply's order too (every count, then L2, then
 * drivers), and apply does it line for line. */
static void test_order_across_pfs(void **state)
{
	struct fixture *f = *state;
	load(f, "version: 1\npfs:\n  - match:\n      pci: " NVME_PF "\n    numvfs: 1\n    vfs:\n      - index: 0\n"
		"        driver: vfio-pci\n  - match:\n      netdev: eth0\n    numvfs: 1\n    vfs:\n      - index: 0\n"
		"        vlan: 3\n");
	const char *lines = NVME_PF " numvfs 0 -> 1|eth0 numvfs 0 -> 1|eth0 VF 0 vlan - -> 3|" NVME_PF " VF 0 driver - -> vfio-pci";
	assert_plan(f, lines);
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	char got[4096];
	plan_string(&rep.done, got, sizeof(got));
	assert_string_equal(got, NVME_PF " numvfs 0 -> 1|eth0 numvfs 0 -> 1|eth0 VF 0 vlan 0 -> 3|" NVME_PF
				 " VF 0 driver nvme -> vfio-pci");
	assert_log(f, "bus/pci/devices/" NVME_PF "/sriov_numvfs=1|bus/pci/devices/" IGB_PF "/sriov_numvfs=1|"
		      "eth0 vf0 vlan=3/0 ok|bus/pci/devices/0000:00:03.1/driver_override=vfio-pci|"
		      "bus/pci/drivers/nvme/unbind=0000:00:03.1|bus/pci/drivers_probe=0000:00:03.1");
	assert_int_equal(rep.writes, 6);
	apply_report_done(&rep);
}

/* --- one read of the host ---------------------------------------------------- */

static void driver_is(const struct fixture *f, const char *addr, const char *want)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", f->sys, addr);
	_cleanup_free_ char *d = NULL;
	assert_int_equal(read_link_basename_at(AT_FDCWD, p, &d), 0);
	assert_string_equal(d, want);
}

/* apply reads the host once; after the counts only the PFs whose VF count
 * changed are read again, each just before the first phase that looks at
 * its VFs (eth0 before the L2 settings, the nvme PF before the drivers);
 * what the writes did is recorded, not read back. An apply that changes
 * nothing reads it once too. */
static void test_scans_once(void **state)
{
	struct fixture *f = *state;
	struct fake_pf igb2 = {.address = "0000:02:00.0", .vendor = 0x8086, .device = 0x10c9, .class_code = 0x020000,
			       .numa_node = -1, .driver = "igb", .netdev = "eth1", .total_vfs = 7, .vf_offset = 128,
			       .vf_stride = 2, .vf_device = 0x10ca};
	assert_int_equal(fakesysfs_add_pf(f->sys, &igb2), 0);
	fake_rtnl_add_igb(&f->k, "eth1", 5, 0);
	char got[4096];
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        vlan: 5\n      - index: 1\n"
		"        driver: vfio-pci\n  - match:\n      pci: " NVME_PF "\n    numvfs: 1\n    vfs:\n      - index: 0\n"
		"        driver: vfio-pci\n  - match:\n      netdev: eth1\n    numvfs: 0\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "bus/pci/devices/" NVME_PF "/sriov_numvfs=1|bus/pci/devices/" IGB_PF "/sriov_numvfs=2|"
		      "eth0 vf0 vlan=5/0 ok|"
		      "bus/pci/devices/0000:00:03.1/driver_override=vfio-pci|bus/pci/drivers/nvme/unbind=0000:00:03.1|"
		      "bus/pci/drivers_probe=0000:00:03.1|bus/pci/devices/0000:01:10.2/driver_override=vfio-pci|"
		      "bus/pci/drivers/igbvf/unbind=0000:01:10.2|bus/pci/drivers_probe=0000:01:10.2");
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 2);
	driver_is(f, "0000:01:10.2", "vfio-pci");
	driver_is(f, "0000:00:03.1", "vfio-pci");
	apply_report_done(&rep);
	assert_plan(f, "");
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 0);
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 0);
	apply_report_done(&rep);

	/* L2 drift alone: nothing is read again */
	fake_rtnl_pf(&f->k, "eth0")->vfs[0].vlan = 9;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "eth0 vf0 vlan=5/0 ok");
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 0);
	apply_report_done(&rep);

	/* a failure: the report of what is not done reads the host again */
	load(f, CONF_HEAD "    mtu: 9000\n    numvfs: 2\n    vfs:\n      - index: 0\n        vlan: 6\n");
	f->mtu_error = -EINVAL;
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	assert_int_equal(rep.scans, 2);
	plan_string(&rep.not_done, got, sizeof(got));
	assert_string_equal(got, "eth0 mtu 1500 -> 9000|eth0 VF 0 vlan 5 -> 6");
	apply_report_done(&rep);
}

/* What the kernel does by itself is read, not guessed: VF 1 back from
 * vfio-pci to igbvf gets a netdev of the kernel's naming (eth20), so eth0
 * is read again before the VF netdevs, and the MTU goes to that netdev. */
static void test_scans_reread_after_bind(void **state)
{
	struct fixture *f = *state;
	f->vf_netdevs = true;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 1\n        driver: vfio-pci\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 1); /* before the drivers; vfio-pci makes no netdev */
	apply_report_done(&rep);
	driver_is(f, "0000:01:10.2", "vfio-pci");

	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 1\n        driver: igbvf\n        mtu: 1400\n");
	assert_plan(f, "eth0 VF 1 driver vfio-pci -> igbvf|eth0 VF 1 mtu (no netdev) -> 1400");
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "bus/pci/devices/0000:01:10.2/driver_override=igbvf|bus/pci/drivers/vfio-pci/unbind=0000:01:10.2|"
		      "bus/pci/drivers_probe=0000:01:10.2|eth20 mtu=1400");
	char got[4096];
	plan_string(&rep.done, got, sizeof(got));
	assert_string_equal(got, "eth0 VF 1 driver vfio-pci -> igbvf|eth0 VF 1 mtu 1500 -> 1400");
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 1);
	apply_report_done(&rep);
	driver_is(f, "0000:01:10.2", "igbvf");
	assert_plan(f, "");
}

/* --- rollback --------------------------------------------------------------- */

/* The reproduction: PF down, spoof checking off accepted, max-rate refused:
 * spoof checking goes back on, and the report says so field by field. */
static void test_rollback_link_down(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 1\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	fake_rtnl_pf(&f->k, "eth0")->flags = 0; /* ip link set eth0 down */
	load(f, CONF_HEAD "    numvfs: 1\n    vfs:\n      - index: 0\n        spoofchk: off\n        max-rate: 100\n");
	assert_plan(f, "eth0 VF 0 spoofchk on -> off|eth0 VF 0 max-rate 0 -> 100");
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	char want[1024];
	snprintf(want, sizeof(want),
		 "%s:7:16: eth0 VF 0: max-rate: Invalid argument [EINVAL] (min-rate and max-rate are one IFLA_VF_RATE "
		 "attribute): the driver refused the rate (some, igb among them, refuse rates while the PF link is down, "
		 "above the link speed, or any min-rate)", f->conf);
	assert_string_equal(rep.error, want);
	assert_log(f, "eth0 vf0 rate=0/100 EINVAL|eth0 vf0 spoofchk=0 ok|eth0 vf0 spoofchk=1 ok");
	assert_true(fake_rtnl_pf(&f->k, "eth0")->vfs[0].spoofchk);
	assert_true(strv_has(rep.rollback, "eth0 VF 0 spoofchk: put back to on"));
	assert_int_equal(rep.rolled_back, 1);
	assert_int_equal(rep.done.n, 0);
	assert_int_equal(rep.writes, 2); /* both were sent; the put-back is not counted */
	apply_report_done(&rep);
}

/* A put-back the driver refuses is reported with the kernel's errno. */
static void test_rollback_refused_is_reported(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	pf->rule[IFLA_VF_VLAN] = (struct fake_rtnl_rule){.error = -EIO, .after = 1};
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        vlan: 200\n      - index: 1\n"
		"        state: enable\n");
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	assert_log(f, "eth0 vf0 vlan=200/0 ok|eth0 vf1 state=1 EOPNOTSUPP|eth0 vf0 vlan=0/0 EIO");
	assert_true(strv_has(rep.rollback, "eth0 VF 0 vlan: putting it back to 0 FAILED: Input/output error [EIO]"));
	assert_int_equal(rep.rolled_back, 0);
	/* still in effect, so still listed as done */
	char got[4096];
	plan_string(&rep.done, got, sizeof(got));
	assert_string_equal(got, "eth0 VF 0 vlan 0 -> 200");
	assert_int_equal(pf->vfs[0].vlan, 200);
	apply_report_done(&rep);
}

/* An earlier VF's change is put back when a later VF fails. */
static void test_rollback_earlier_vf(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        vlan: 200\n        qos: 1\n"
		"      - index: 1\n        query-rss: on\n");
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	assert_log(f, "eth0 vf0 vlan=200/1 ok|eth0 vf1 query-rss=1 EOPNOTSUPP|eth0 vf0 vlan=0/0 ok");
	assert_int_equal(rep.rolled_back, 2);
	assert_int_equal(rep.done.n, 0);
	assert_true(strv_has(rep.rollback, "eth0 VF 0 vlan: put back to 0"));
	assert_int_equal(fake_rtnl_pf(&f->k, "eth0")->vfs[0].vlan, 0);
	char got[4096];
	plan_string(&rep.not_done, got, sizeof(got));
	assert_string_equal(got, "eth0 VF 0 vlan 0 -> 200|eth0 VF 0 qos 0 -> 1|eth0 VF 1 query-rss ? -> on");
	apply_report_done(&rep);
}

/* --- from 0 VFs with rates: the PF link is reset by the count change ------- */

static void test_rates_wait_for_the_link(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        max-rate: 100\n");
	struct apply_report rep;
	unsigned getlinks = f->k.n_getlink;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(f->waits, 3);
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=2|eth0 vf0 rate=0/100 ok");
	/* That the link had its carrier before the count change (so that the
	 * rate waited for it) came from the scan's request, not one more. */
	assert_int_equal(f->k.n_getlink - getlinks, 7);
	assert_null(rep.warnings);
	apply_report_done(&rep);
}

/* The link never comes back: the wait ends at its bound (on the injected
 * clock), the rate is refused, and the VFs this run created are removed. */
static void test_rates_link_never_back(void **state)
{
	struct fixture *f = *state;
	f->carrier_after_waits = 0;
	f->env.carrier_timeout_ms = 1000;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        max-rate: 100\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	assert_int_equal(f->waits, 5); /* 1000 ms in slices of 200 */
	assert_int_equal(f->now_ns, 1000000000u);
	assert_non_null(strstr(rep.error, "eth0 VF 0: max-rate: Invalid argument [EINVAL] (min-rate and max-rate are one "
					  "IFLA_VF_RATE attribute)"));
	assert_true(strv_has(rep.warnings, "eth0 (" IGB_PF "): the link did not come back within 1000 ms of the VF "
					   "count change"));
	assert_true(strv_has(rep.rollback, "eth0 (" IGB_PF "): the 2 VFs created in this run were removed again "
					   "(numvfs 2 -> 0)"));
	assert_string_equal(numvfs_now(f, IGB_PF), "0");
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=2|eth0 vf0 rate=0/100 EINVAL|"
		      "bus/pci/devices/" IGB_PF "/sriov_numvfs=0");
	assert_int_equal(rep.done.n, 0);
	apply_report_done(&rep);
}

/* `vf set` of a rate alone: a PF link up without carrier is waited for
 * until the carrier is back, or the bound (on the injected clock); one
 * with its carrier, or down, is not waited for. */
static void test_wait_pf_carrier(void **state)
{
	struct fixture *f = *state;
	bool up = true;
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	pf->flags = IFF_UP | IFF_LOWER_UP;
	assert_int_equal(apply_wait_pf_carrier(&f->env, "eth0", &up), 0);
	assert_true(up);
	assert_int_equal(f->waits, 0);

	pf->flags = IFF_UP; /* reset by a count change: the carrier is back after 3 waits */
	f->carrier_after_waits = 3;
	assert_int_equal(apply_wait_pf_carrier(&f->env, "eth0", &up), 0);
	assert_true(up);
	assert_int_equal(f->waits, 3);

	pf->flags = IFF_UP; /* never back: the wait ends at its bound */
	f->waits = 0;
	f->carrier_after_waits = 0;
	f->env.carrier_timeout_ms = 1000;
	f->now_ns = 0;
	assert_int_equal(apply_wait_pf_carrier(&f->env, "eth0", &up), 0);
	assert_false(up);
	assert_int_equal(f->waits, 5);
	assert_int_equal(f->now_ns, 1000000000u);

	pf->flags = 0; /* down: nothing brings it up */
	f->waits = 0;
	assert_int_equal(apply_wait_pf_carrier(&f->env, "eth0", &up), 0);
	assert_false(up);
	assert_int_equal(f->waits, 0);
	assert_int_equal(apply_wait_pf_carrier(&f->env, "eth9", &up), -ENODEV);
}

/* A PF that was down is not waited for (its link will not come up). */
static void test_rates_pf_down_no_wait(void **state)
{
	struct fixture *f = *state;
	fake_rtnl_pf(&f->k, "eth0")->flags = 0;
	load(f, CONF_HEAD "    numvfs: 1\n    vfs:\n      - index: 0\n        max-rate: 100\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	assert_int_equal(f->waits, 0);
	assert_string_equal(numvfs_now(f, IGB_PF), "0");
	apply_report_done(&rep);
}

/* --- what plan refuses before anything is written ------------------------ */

static void assert_apply_writes_nothing(struct fixture *f, int expected_r)
{
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), expected_r);
	assert_int_equal(rep.writes, 0);
	assert_log(f, "");
	apply_report_done(&rep);
	assert_string_equal(numvfs_now(f, NVME_PF), "0");
	assert_string_equal(numvfs_now(f, IGB_PF), "0");
}

static void test_plan_refuses_l2_without_netdev(void **state)
{
	struct fixture *f = *state;
	load(f, "version: 1\npfs:\n  - match:\n      pci: " NVME_PF "\n    numvfs: 2\n    vfs:\n      - index: 0\n"
		"        vlan: 7\n");
	assert_plan_error(f, -EINVAL, "7:16: VF 0: vlan: PF " NVME_PF " (driver nvme) has no network interface, so its "
				      "VFs have no L2 settings (rtnetlink sets them through the PF's netdev)");
	assert_apply_writes_nothing(f, -EINVAL);
}

static void test_plan_refuses_driver_not_loaded(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 1\n        driver: ixgbevf\n");
	assert_plan_error(f, -ENOENT, "7:16: VF 1: driver ixgbevf is not loaded: modprobe ixgbevf");
	assert_apply_writes_nothing(f, -ENOENT);
}

static void test_plan_refuses_8021ad_on_igb(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 0\n        vlan: 7\n        proto: 802.1ad\n");
	assert_plan_error(f, -EPROTONOSUPPORT, "7:16: VF 0: proto 802.1ad: eth0 (igb) supports only 802.1Q VLANs on "
					       "its VFs");
	assert_apply_writes_nothing(f, -EPROTONOSUPPORT);
}

/* --- force ----------------------------------------------------------------- */

static void test_force_overrides_refusal(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 1\n        driver: vfio-pci\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	load(f, CONF_HEAD "    numvfs: 1\n");
	assert_int_equal(run_apply(f, &rep), -EBUSY);
	assert_non_null(strstr(rep.error, "--force"));
	assert_log(f, "");
	apply_report_done(&rep);
	f->env.force = true;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "bus/pci/devices/" IGB_PF "/sriov_numvfs=0|bus/pci/devices/" IGB_PF "/sriov_numvfs=1");
	assert_int_equal(rep.writes, 2);
	assert_non_null(rep.warnings);
	apply_report_done(&rep);
	assert_string_equal(numvfs_now(f, IGB_PF), "1");
}

/* --- the PF's own link, the VF netdevs' MTUs ------------------------------- */

static void pf_down(struct fixture *f)
{
	netdev_attr_write(f, "eth0", "flags", "0x1002\n");
	fake_rtnl_pf(&f->k, "eth0")->flags = 0;
}

/* up: before the counts (a driver that wants its PF up first), the PF's MTU
 * before its VFs', the rates once the link is back; the plan says it in that
 * order and apply does it line for line. */
static void test_links_order(void **state)
{
	struct fixture *f = *state;
	f->vf_netdevs = true;
	pf_down(f);
	load(f, CONF_HEAD "    up: true\n    mtu: 9000\n    numvfs: 2\n    vfs:\n      - index: 0\n        max-rate: 100\n"
		"        mtu: 9000\n      - index: 1\n        mtu: 4000\n");
	const char *lines = "eth0 up down -> up|eth0 mtu 1500 -> 9000|eth0 numvfs 0 -> 2|eth0 VF 0 max-rate - -> 100|"
			    "eth0 VF 0 mtu - -> 9000|eth0 VF 1 mtu - -> 4000";
	assert_plan(f, lines);
	struct apply_report rep;
	unsigned getlinks = f->k.n_getlink;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_log(f, "eth0 up=1|eth0 mtu=9000|bus/pci/devices/" IGB_PF "/sriov_numvfs=2|eth0 vf0 rate=0/100 ok|"
		      "eth10 mtu=9000|eth11 mtu=4000");
	assert_true(f->waits > 0); /* the rate waited for the link the changes reset */
	/* The carrier before up: came from the scan's request, not one more. */
	assert_int_equal(f->k.n_getlink - getlinks, 8);
	assert_int_equal(rep.writes, 6);
	/* eth0, reset by its link changes and recounted, read again once before
	 * its VFs' settings; the VF netdevs are the ones read then */
	assert_int_equal(rep.scans, 1);
	assert_int_equal(rep.rereads, 1);
	char got[8192];
	plan_string(&rep.done, got, sizeof(got));
	assert_string_equal(got, "eth0 up down -> up|eth0 mtu 1500 -> 9000|eth0 numvfs 0 -> 2|eth0 VF 0 max-rate 0 -> 100|"
				 "eth0 VF 0 mtu 1500 -> 9000|eth0 VF 1 mtu 1500 -> 4000");
	assert_null(rep.warnings);
	apply_report_done(&rep);
	assert_plan(f, "");
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 0);
	apply_report_done(&rep);
	/* up: false takes it down again; an MTU already right is no change. */
	load(f, CONF_HEAD "    up: false\n    mtu: 9000\n");
	assert_plan(f, "eth0 up up -> down");
}

/* A VF netdev's MTU above its PF's: refused before anything is written. */
static void test_plan_refuses_vf_mtu_above_pf(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *yaml, *error;
	} rows[] = {
		{"    mtu: 1500\n    numvfs: 1\n    vfs:\n      - index: 0\n        mtu: 1501\n",
		 "9:14: mtu: 1501 for VF 0 of eth0 (" IGB_PF ") is above its PF's MTU 1500 (its mtu: at %s:5:10); a VF's MTU "
		 "cannot exceed its PF's"},
		{"    numvfs: 1\n    vfs:\n      - index: 0\n        mtu: 9000\n",
		 "8:14: mtu: 9000 for VF 0 of eth0 (" IGB_PF ") is above its PF's MTU 1500 (what it has now; give the PF "
		 "entry an mtu:); a VF's MTU cannot exceed its PF's"},
		{"    mtu: 4000\n    numvfs: 3\n    vfs:\n      - {index: all, mtu: 4000}\n      - {index: 2, mtu: 4001}\n",
		 "9:25: mtu: 4001 for VF 2 of eth0 (" IGB_PF ") is above its PF's MTU 4000 (its mtu: at %s:5:10); a VF's MTU "
		 "cannot exceed its PF's"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char yaml[1024], want[1024];
		snprintf(yaml, sizeof(yaml), CONF_HEAD "%s", rows[i].yaml);
		load(f, yaml);
		snprintf(want, sizeof(want), rows[i].error, f->conf);
		assert_plan_error(f, -EDOM, want);
		assert_apply_writes_nothing(f, -EDOM);
	}
	/* equal is fine */
	load(f, CONF_HEAD "    mtu: 4000\n    numvfs: 1\n    vfs:\n      - {index: 0, mtu: 4000}\n");
	assert_plan(f, "eth0 mtu 1500 -> 4000|eth0 numvfs 0 -> 1|eth0 VF 0 mtu - -> 4000");
}

static void test_plan_refuses_links_without_netdev(void **state)
{
	struct fixture *f = *state;
	load(f, "version: 1\npfs:\n  - match:\n      pci: " NVME_PF "\n    mtu: 9000\n");
	assert_plan_error(f, -EINVAL, "5:10: mtu: PF " NVME_PF " (driver nvme) has no network interface to set it on");
	assert_apply_writes_nothing(f, -EINVAL);
	load(f, "version: 1\npfs:\n  - match:\n      pci: " NVME_PF "\n    up: true\n");
	assert_plan_error(f, -EINVAL, "5:9: up: PF " NVME_PF " (driver nvme) has no network interface to set it on");
	load(f, CONF_HEAD "    numvfs: 1\n    vfs:\n      - {index: 0, mtu: 9000, driver: vfio-pci}\n");
	assert_plan_error(f, -EINVAL, "7:25: mtu: VF 0 of " IGB_PF " is bound to vfio-pci, which has no netdev to carry an MTU "
				      "(the VM's driver sets it)");
}

/* The kernel's refusal of an MTU, as it is; what the run changed before
 * (the PF brought up) is put back. */
static void test_link_refused_put_back(void **state)
{
	struct fixture *f = *state;
	pf_down(f);
	f->mtu_error = -EINVAL;
	f->mtu_message = "mtu greater than device maximum";
	load(f, CONF_HEAD "    up: true\n    mtu: 9500\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), -EINVAL);
	char want[1024];
	snprintf(want, sizeof(want), "%s:6:10: eth0: mtu 9500: Invalid argument [EINVAL]; kernel: mtu greater than device maximum",
		 f->conf);
	assert_string_equal(rep.error, want);
	assert_log(f, "eth0 up=1|eth0 mtu=9500 refused|eth0 up=0");
	assert_true(strv_has(rep.rollback, "eth0 up: put back to down"));
	assert_int_equal(rep.done.n, 0);
	assert_int_equal(rep.writes, 2);
	apply_report_done(&rep);
	assert_plan(f, "eth0 up down -> up|eth0 mtu 1500 -> 9500");

	/* A VF setting refused after the PF's MTU went through: the MTU is put back. */
	f->mtu_error = 0;
	load(f, CONF_HEAD "    mtu: 9000\n    numvfs: 1\n    vfs:\n      - index: 0\n        query-rss: on\n");
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	assert_log(f, "eth0 mtu=9000|bus/pci/devices/" IGB_PF "/sriov_numvfs=1|eth0 vf0 query-rss=1 EOPNOTSUPP|eth0 mtu=1500|"
		      "bus/pci/devices/" IGB_PF "/sriov_numvfs=0");
	assert_true(strv_has(rep.rollback, "eth0 mtu: put back to 1500"));
	apply_report_done(&rep);
}

/* --- claims: the overlay over the config, and sriovd's reconcile ----------- */

#define CONSUMER "aaaaaaaa-0000-4000-8000-000000000001"
#define VF1 "0000:01:10.2" /* VF 1 of IGB_PF */
#define CLAIM_MAC "02:00:00:00:00:aa"

/* An apply that must succeed. */
static void apply_ok(struct fixture *f)
{
	struct apply_report rep;
	int r = run_apply(f, &rep);
	if (r < 0)
		fail_msg("apply: %s", rep.error);
	apply_report_done(&rep);
}

static struct apply_overlay overlay_vf1(const char *driver)
{
	struct apply_overlay o = {.pf = IGB_PF, .vf_index = 1, .driver = driver,
				  .s = {.index = 1, .has = VF_HAS(VF_FIELD_MAC) | VF_HAS_VLAN_GROUP, .mac_len = 6,
					.vlan = 42, .vlan_proto = VF_ETH_P_8021Q}};
	assert_int_equal(vf_mac_parse(CLAIM_MAC, o.s.mac), 0);
	snprintf(o.source, sizeof(o.source), "claim 7 (consumer " CONSUMER ")");
	return o;
}

static void assert_vf(struct fixture *f, uint32_t i, const char *mac, uint16_t vlan)
{
	char got[VF_MAC_STRLEN];
	const struct vf_settings *vf = &fake_rtnl_pf(&f->k, "eth0")->vfs[i];
	vf_mac_format(vf->mac, 6, got);
	assert_string_equal(got, mac);
	assert_int_equal(vf->vlan, vlan);
}

static const char *driver_of(const struct fixture *f, const char *addr)
{
	static char buf[64];
	char p[600];
	_cleanup_free_ char *d = NULL;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", f->sys, addr);
	snprintf(buf, sizeof(buf), "%s", read_link_basename_at(AT_FDCWD, p, &d) == 0 ? d : "(none)");
	return buf;
}

#define CONF_CLAIMS CONF_HEAD "    numvfs: 3\n    mac: stable\n    vfs:\n      - index: 0-2\n        vlan: 100\n"

/* A claimed VF gets its claim's MAC and VLAN, not the config's; the plan
 * says where they come from; the other VFs keep the config's. */
static void test_overlay_claim_over_config(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_CLAIMS);
	apply_ok(f);
	assert_vf(f, 1, "02:e6:06:e8:00:01", 100);

	struct apply_overlay o = overlay_vf1(NULL);
	f->env.overlay = &o;
	f->env.n_overlay = 1;
	struct plan p;
	char *error = NULL;
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	char got[2048];
	plan_string(&p, got, sizeof(got));
	assert_string_equal(got, "eth0 VF 1 mac 02:e6:06:e8:00:01 -> " CLAIM_MAC "|eth0 VF 1 vlan 100 -> 42");
	for (size_t i = 0; i < p.n; i++)
		assert_string_equal(p.changes[i].source, "claim 7 (consumer " CONSUMER ")");
	plan_done(&p);
	apply_ok(f);
	assert_vf(f, 1, CLAIM_MAC, 42);
	assert_vf(f, 0, "02:e6:06:e8:00:00", 100);
	assert_vf(f, 2, "02:e6:06:e8:00:02", 100);
	/* Held: nothing to do on the next run. */
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	assert_int_equal(rep.writes, 0);
	apply_report_done(&rep);
	/* Released (no overlay): the config's MAC and VLAN are drift again. */
	f->env.n_overlay = 0;
	assert_plan(f, "eth0 VF 1 mac " CLAIM_MAC " -> 02:e6:06:e8:00:01|eth0 VF 1 vlan 42 -> 100");
}

/* VFs re-created (a PF driver reload): the claimed one comes back with its
 * claim's MAC, VLAN and vfio-pci; a VF index the PF will not have is left
 * out. */
static void test_overlay_recreated_vfs(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_CLAIMS);
	struct apply_overlay o[2] = {overlay_vf1(CONFIG_DRIVER_VFIO), overlay_vf1(NULL)};
	o[1].vf_index = 5; /* beyond numvfs 3: no change for it */
	f->env.overlay = o;
	f->env.n_overlay = 2;
	apply_ok(f);
	assert_vf(f, 1, CLAIM_MAC, 42);
	assert_string_equal(driver_of(f, VF1), "vfio-pci");
	assert_string_equal(driver_of(f, "0000:01:10.0"), "igbvf");
	/* The driver reload: every VF gone, then the count again. */
	assert_int_equal(sim_numvfs(f, IGB_PF, "0"), 0);
	apply_ok(f);
	assert_string_equal(numvfs_now(f, IGB_PF), "3");
	assert_vf(f, 1, CLAIM_MAC, 42);
	assert_vf(f, 0, "02:e6:06:e8:00:00", 100);
	assert_string_equal(driver_of(f, VF1), "vfio-pci");
}

/* The consumer hook says every VF is held: the claim's own driver is bound
 * past it; a held VF whose claim names no driver keeps the one it has,
 * whatever the config says. */
static int all_held(void *data, const struct pci_function *dev, char **ret_holder)
{
	(void)data;
	if (!dev->pf)
		return 0;
	*ret_holder = strdup("consumer " CONSUMER " (claim 7)");
	return 1;
}

static void test_overlay_driver_past_the_hook(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 3\n");
	apply_ok(f);
	load(f, CONF_HEAD "    numvfs: 3\n    vfs:\n      - index: 2\n        driver: vfio-pci\n");
	struct apply_overlay o[2] = {overlay_vf1(CONFIG_DRIVER_VFIO), overlay_vf1(NULL)};
	o[1].vf_index = 2;
	o[1].s.mac[5] = 0xbb;
	f->env.overlay = o;
	f->env.n_overlay = 2;
	f->env.lifecycle.consumer = all_held;
	apply_ok(f);
	assert_string_equal(driver_of(f, VF1), "vfio-pci");
	assert_string_equal(driver_of(f, "0000:01:10.4"), "igbvf");
	assert_vf(f, 2, "02:00:00:00:00:bb", 42);
}

/* A claim recorded as sriovctl claim leaves it: active, VF 1 of IGB_PF. */
static int64_t add_claim(struct ledger *l, enum ledger_state state)
{
	struct ledger_device d = {.address = VF1, .role = LEDGER_ROLE_VF, .pf = IGB_PF, .vf_index = 1,
				  .mac = CLAIM_MAC, .vlan = 42};
	struct ledger_claim c = {.consumer = CONSUMER, .kind = LEDGER_KIND_DEVICE, .request = (char *)VF1, .count = 1,
				 .vlan = 42, .state = state, .created = 1, .updated = 1, .devs = &d, .n_devs = 1};
	assert_int_equal(ledger_begin(l), 0);
	assert_int_equal(ledger_claim_add(l, &c), 0);
	assert_int_equal(ledger_commit(l), 0);
	return c.id;
}

static struct ledger *open_tree_ledger(struct fixture *f)
{
	struct ledger *l = NULL;
	char *error = NULL;
	int r = ledger_open(f->sys, NULL, &l, &error);
	if (r < 0)
		fail_msg("ledger: %s", error ? error : strerror(-r));
	return l;
}

static enum ledger_state claim_state(struct ledger *l, int64_t id, char **ret_reason)
{
	struct ledger_claim c;
	assert_int_equal(ledger_claim_get(l, id, &c), 1);
	enum ledger_state st = c.state;
	if (ret_reason)
		*ret_reason = c.reason ? strdup(c.reason) : NULL;
	ledger_claim_done(&c);
	return st;
}

static void reconcile_ok(struct fixture *f, struct daemon_claims *dc, enum daemon_claims_when when,
			 struct daemon_claims_report *rep)
{
	char *error = NULL;
	int r = daemon_claims_reconcile(dc, &f->env, f->cfg, when, 100, rep, &error);
	if (r < 0)
		fail_msg("reconcile: %s", error ? error : strerror(-r));
}

/* sriovd's apply: the config with the claims' overlay. */
static void apply_claims(struct fixture *f, const struct daemon_claims *dc)
{
	f->env.overlay = dc->overlay;
	f->env.n_overlay = dc->n_overlay;
	apply_ok(f);
}

/* No ledger: nothing held, nothing created. */
static void test_claims_no_ledger(void **state)
{
	struct fixture *f = *state;
	struct daemon_claims dc;
	daemon_claims_init(&dc, f->sys, NULL);
	struct daemon_claims_report rep;
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &rep);
	assert_int_equal(dc.n_overlay, 0);
	assert_int_equal(rep.lost.n, 0);
	char p[600];
	snprintf(p, sizeof(p), "%s/.sriovd/ledger.db", f->sys);
	assert_int_equal(access(p, F_OK), -1);
	daemon_claims_report_done(&rep);
	daemon_claims_done(&dc);
}

/* The active claim becomes the overlay; sriovd's apply restores it after
 * the VFs were re-created; a VF count changed behind sriovd's back (at
 * start) makes the claim lost with the reason and an audit line; it is
 * released still. */
static void test_claims_reconcile(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_CLAIMS);
	apply_ok(f);
	struct ledger *l = open_tree_ledger(f);
	int64_t id = add_claim(l, LEDGER_ACTIVE);
	struct daemon_claims dc;
	daemon_claims_init(&dc, f->sys, NULL);
	struct daemon_claims_report dr;

	/* There: kept, and the overlay carries what the claim gave. */
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &dr);
	assert_int_equal(dr.lost.n, 0);
	daemon_claims_report_done(&dr);
	assert_int_equal(dc.n_overlay, 1);
	assert_string_equal(dc.overlay[0].pf, IGB_PF);
	assert_int_equal(dc.overlay[0].vf_index, 1);
	assert_int_equal(dc.overlay[0].s.vlan, 42);
	assert_null(dc.overlay[0].driver);
	char src[96];
	snprintf(src, sizeof(src), "claim %lld (consumer " CONSUMER ")", (long long)id);
	assert_string_equal(dc.overlay[0].source, src);
	apply_claims(f, &dc);
	assert_vf(f, 1, CLAIM_MAC, 42);

	/* Re-created while sriovd runs (the config's count brings VF 1 back):
	 * not lost, and the apply gives it the claim's settings again. */
	assert_int_equal(sim_numvfs(f, IGB_PF, "0"), 0);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_REAPPLY, &dr);
	assert_int_equal(dr.lost.n, 0);
	daemon_claims_report_done(&dr);
	assert_int_equal(claim_state(l, id, NULL), LEDGER_ACTIVE);
	apply_claims(f, &dc);
	assert_vf(f, 1, CLAIM_MAC, 42);

	/* The PF without a driver (a reload under way): nothing lost yet. */
	assert_int_equal(sim_numvfs(f, IGB_PF, "0"), 0);
	assert_int_equal(fakesysfs_unbind(f->sys, IGB_PF), 0);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &dr);
	assert_int_equal(dr.lost.n, 0);
	daemon_claims_report_done(&dr);
	assert_int_equal(fakesysfs_bind(f->sys, IGB_PF, "igb"), 0);

	/* At start, VF 1 not there (the count went to 0 while sriovd was
	 * stopped): lost, with the reason, an audit line, out of the overlay. */
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &dr);
	assert_int_equal(dr.lost.n, 1);
	assert_int_equal(dr.lost.v[0].id, id);
	const char *why = VF1 " (VF 1 of " IGB_PF "): the VF no longer exists (the PF has 0 VFs)";
	assert_string_equal(dr.lost.v[0].reason, why);
	daemon_claims_report_done(&dr);
	char *reason = NULL;
	assert_int_equal(claim_state(l, id, &reason), LEDGER_LOST);
	assert_string_equal(reason, why);
	free(reason);
	assert_int_equal(dc.n_overlay, 0);
	assert_int_equal(dc.lost.n, 1);
	struct ledger_events ev;
	assert_int_equal(ledger_events_since(l, 0, 0, &ev), 0);
	assert_true(ev.n > 0);
	assert_string_equal(ev.v[ev.n - 1].event, "lost");
	assert_string_equal(ev.v[ev.n - 1].detail, why);
	ledger_events_done(&ev);
	/* The status file lists it. */
	struct daemon_status st;
	status_init(&st, f->conf);
	daemon_claims_status(&dc, &st);
	assert_int_equal(st.n_lost, 1);
	assert_string_equal(st.lost[0].reason, why);
	assert_string_equal(st.lost[0].devices[0], VF1);
	assert_null(st.lost[0].devices[1]);
	status_done(&st);
	/* A second reconcile marks nothing again. */
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &dr);
	assert_int_equal(dr.lost.n, 0);
	daemon_claims_report_done(&dr);

	/* A lost claim is released: what exists is scrubbed, and it ends. */
	struct claim_env cenv = {.apply = f->env, .cfg = f->cfg, .ledger = l, .lock_timeout_ms = 20000};
	cenv.apply.overlay = NULL;
	cenv.apply.n_overlay = 0;
	struct release_result rr;
	char *error = NULL;
	assert_int_equal(release_run(&cenv, CONSUMER, id, &rr, &error), 0);
	assert_int_equal(rr.n, 1);
	assert_int_equal(rr.v[0].state, LEDGER_RELEASED);
	release_result_done(&rr);
	assert_int_equal(claim_state(l, id, NULL), LEDGER_RELEASED);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_START, &dr);
	daemon_claims_report_done(&dr);
	assert_int_equal(dc.lost.n, 0);
	daemon_claims_done(&dc);
	ledger_close(l);
}

/* While sriovd runs: a VF index the config's count does not bring back, a
 * PF gone; and a pending claim left by a crash is rolled back. */
static void test_claims_lost_reasons(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_CLAIMS);
	apply_ok(f);
	struct ledger *l = open_tree_ledger(f);
	struct daemon_claims dc;
	daemon_claims_init(&dc, f->sys, NULL);
	struct daemon_claims_report dr;

	int64_t pending = add_claim(l, LEDGER_PENDING);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_REAPPLY, &dr);
	assert_int_equal(dr.recovered, 1);
	daemon_claims_report_done(&dr);
	assert_int_equal(claim_state(l, pending, NULL), LEDGER_RELEASED);

	int64_t id = add_claim(l, LEDGER_ACTIVE);
	load(f, CONF_HEAD "    numvfs: 1\n");
	assert_int_equal(sim_numvfs(f, IGB_PF, "0"), 0);
	assert_int_equal(sim_numvfs(f, IGB_PF, "1"), 0);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_REAPPLY, &dr);
	assert_int_equal(dr.lost.n, 1);
	assert_string_equal(dr.lost.v[0].reason, VF1 " (VF 1 of " IGB_PF "): the VF no longer exists (the PF has 1 VFs)");
	daemon_claims_report_done(&dr);
	assert_int_equal(claim_state(l, id, NULL), LEDGER_LOST);

	int64_t id2 = add_claim(l, LEDGER_ACTIVE);
	assert_int_equal(sim_numvfs(f, IGB_PF, "0"), 0);
	assert_int_equal(fakesysfs_unbind(f->sys, IGB_PF), 0);
	assert_int_equal(fakesysfs_remove(f->sys, "bus/pci/devices/" IGB_PF), 0);
	reconcile_ok(f, &dc, DAEMON_CLAIMS_REAPPLY, &dr);
	assert_int_equal(dr.lost.n, 1);
	assert_string_equal(dr.lost.v[0].reason, VF1 " (VF 1 of " IGB_PF "): the PF is gone");
	daemon_claims_report_done(&dr);
	assert_int_equal(claim_state(l, id2, NULL), LEDGER_LOST);
	assert_int_equal(dc.lost.n, 2);
	daemon_claims_done(&dc);
	ledger_close(l);
}

/* The reasons one by one, on the tree as it is. */
static void test_claims_device_gone(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(sim_numvfs(f, IGB_PF, "2"), 0);
	struct pci_tree *t;
	struct inventory_opts o = {.sysfs_root = f->sys};
	assert_int_equal(inventory_load(&o, &t), 0);
	static const struct {
		struct ledger_device d;
		int64_t want;
		const char *reason; /* NULL: there */
	} rows[] = {
		{{.address = VF1, .role = LEDGER_ROLE_VF, .pf = IGB_PF, .vf_index = 1}, -1, NULL},
		{{.address = "0000:01:10.4", .role = LEDGER_ROLE_VF, .pf = IGB_PF, .vf_index = 2}, -1,
		 "0000:01:10.4 (VF 2 of " IGB_PF "): the VF no longer exists (the PF has 2 VFs)"},
		{{.address = "0000:01:10.4", .role = LEDGER_ROLE_VF, .pf = IGB_PF, .vf_index = 2}, 3, NULL},
		{{.address = "0000:01:10.4", .role = LEDGER_ROLE_VF, .pf = IGB_PF, .vf_index = 1}, -1,
		 "0000:01:10.4 (VF 1 of " IGB_PF "): VF 1 is " VF1 " now"},
		{{.address = "0000:09:10.0", .role = LEDGER_ROLE_VF, .pf = "0000:09:00.0", .vf_index = 0}, -1,
		 "0000:09:10.0 (VF 0 of 0000:09:00.0): the PF is gone"},
		{{.address = "0000:01:10.0", .role = LEDGER_ROLE_VF, .pf = "0000:01:10.2", .vf_index = 0}, -1,
		 "0000:01:10.0 (VF 0 of 0000:01:10.2): the PF is no longer an SR-IOV PF"},
		{{.address = IGB_PF, .role = LEDGER_ROLE_PF, .vf_index = -1}, -1, NULL},
		{{.address = VF1, .role = LEDGER_ROLE_PF, .vf_index = -1}, -1, VF1 ": no longer an SR-IOV PF"},
		{{.address = "0000:09:00.0", .role = LEDGER_ROLE_PCI, .vf_index = -1}, -1, "0000:09:00.0: the device is gone"},
		{{.address = VF1, .role = LEDGER_ROLE_PCI, .vf_index = -1}, -1,
		 VF1 ": now VF 1 of " IGB_PF ", another device"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *why = NULL;
		int r = daemon_claims_device_gone(t, &rows[i].d, rows[i].want, &why);
		assert_int_equal(r, rows[i].reason ? 1 : 0);
		if (rows[i].reason)
			assert_string_equal(why, rows[i].reason);
		else
			assert_null(why);
		free(why);
	}
	pci_tree_free(t);
}

/* --- which PF an entry names, and names that may still change ------------- */

static bool warned(const struct plan *p, const char *needle)
{
	for (size_t i = 0; p->warnings && p->warnings[i]; i++)
		if (strstr(p->warnings[i], needle))
			return true;
	return false;
}

/* altname: through the PF's IFLA_PROP_LIST, path: udev's ID_PATH. */
static void test_match_altname_and_path(void **state)
{
	struct fixture *f = *state;
	snprintf(fake_rtnl_pf(&f->k, "eth0")->altname, 32, "%s", "uplink-left");
	static const char *const matches[] = {"altname: uplink-left", "path: pci-" IGB_PF};
	for (size_t i = 0; i < ARRAY_SIZE(matches); i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "version: 1\npfs:\n  - match:\n      %s\n    numvfs: 1\n", matches[i]);
		load(f, yaml);
		assert_plan(f, "eth0 numvfs 0 -> 1");
	}
	load(f, "version: 1\npfs:\n  - match:\n      altname: uplink-right\n    numvfs: 1\n");
	struct plan p;
	char *error = NULL;
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	assert_int_equal(p.n, 0);
	char want[512];
	snprintf(want, sizeof(want), "%s:4:7: match: altname uplink-right matches no SR-IOV PF on this host", f->conf);
	assert_non_null(p.missing);
	assert_string_equal(p.missing[0], want);
	plan_done(&p);
	load(f, "version: 1\npfs:\n  - match:\n      path: pci-0000:09:00.0\n");
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	assert_non_null(p.missing);
	plan_done(&p);
}

/* A netdev: match on a name the kernel numbered warns, naming the path and
 * the address; a name udev or the user gave does not, nor another match. */
static void test_name_may_change_warning(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *nat; /* name_assign_type; NULL: no file (NET_NAME_UNKNOWN) */
		const char *match;
		bool warns;
	} rows[] = {
		{"1\n", "netdev: eth0", true},  {"4\n", "netdev: eth0", false}, {"3\n", "netdev: eth0", false},
		{"2\n", "netdev: eth0", false}, {NULL, "netdev: eth0", false},  {"1\n", "pci: " IGB_PF, false},
		{"1\n", "path: pci-" IGB_PF, false},
	};
	char path[600];
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" IGB_PF "/net/eth0/name_assign_type", f->sys);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		unlink(path);
		if (rows[i].nat)
			assert_int_equal(plain_write(path, rows[i].nat) == 0 || (close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)),
									  plain_write(path, rows[i].nat) == 0), true);
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "version: 1\npfs:\n  - match:\n      %s\n", rows[i].match);
		load(f, yaml);
		struct plan p;
		char *error = NULL;
		assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
		char want[512];
		snprintf(want, sizeof(want), "%s:4:7: match: netdev eth0 is a name the kernel numbered (name_assign_type 1, enum) "
			 "that udev may still change, or the kernel give to another device; match by path: pci-" IGB_PF " or pci: "
			 IGB_PF " instead", f->conf);
		if (warned(&p, "name the kernel numbered") != rows[i].warns)
			fail_msg("row %zu: warning %s", i, rows[i].warns ? "missing" : "unexpected");
		if (rows[i].warns)
			assert_string_equal(p.warnings[0], want);
		plan_done(&p);
	}
}

/* --- the driver capability table ------------------------------------------ */

static void caps_file(const struct fixture *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" CAPS_FILE, f->state);
}

/* The kernel's EOPNOTSUPP is learned by apply; plan then warns before apply
 * sends the setting again (and apply still sends it: the driver may have
 * changed). */
static void test_caps_learned_and_warned(void **state)
{
	struct fixture *f = *state;
	load(f, CONF_HEAD "    numvfs: 2\n");
	struct apply_report rep;
	assert_int_equal(run_apply(f, &rep), 0);
	apply_report_done(&rep);
	char path[400];
	caps_file(f, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1); /* nothing learned yet */
	load(f, CONF_HEAD "    numvfs: 2\n    vfs:\n      - index: 1\n        query-rss: on\n        state: enable\n");
	struct plan p;
	char *error = NULL;
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	assert_false(warned(&p, "capability table"));
	plan_done(&p);
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	apply_report_done(&rep);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_text_file(path, 4096, &text), 0);
	assert_non_null(strstr(text, "\nigb query-rss EOPNOTSUPP\nigb state EOPNOTSUPP"));
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	char want[512];
	snprintf(want, sizeof(want), "%s:7:16: eth0 VF 1: query-rss on: driver igb answered EOPNOTSUPP to query-rss before "
		 "(driver capability table); apply will send it, and the driver is expected to refuse it", f->conf);
	for (size_t i = 0; !strv_has(p.warnings, want) && p.warnings && p.warnings[i]; i++)
		print_message("warning: %s\n", p.warnings[i]);
	assert_true(strv_has(p.warnings, want));
	assert_true(warned(&p, "eth0 VF 1: state enable: driver igb answered EOPNOTSUPP to state before"));
	plan_done(&p);
	/* apply says it too, and sends it all the same */
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	assert_true(strv_has(rep.warnings, want));
	assert_log(f, "eth0 vf1 state=1 EOPNOTSUPP|eth0 vf1 query-rss=1 EOPNOTSUPP");
	apply_report_done(&rep);
	/* a garbled table: a warning, and the next refusal replaces it */
	assert_int_equal(plain_write(path, "igb\n"), 0);
	assert_int_equal(plan_compute(f->cfg, &f->env, &p, &error), 0);
	assert_true(warned(&p, "driver capability table"));
	assert_true(warned(&p, ": not one (ignored; the next refusal replaces it)"));
	plan_done(&p);
	assert_int_equal(run_apply(f, &rep), -EOPNOTSUPP);
	apply_report_done(&rep);
	struct caps c;
	assert_int_equal(caps_load(&f->env.lifecycle, &c), 0);
	assert_int_equal(c.n, 2);
	caps_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_plan_from_nothing_is_what_apply_does),
		T(test_plan_drift_only_what_differs),
		T(test_plan_unknown_driver_conditional),
		T(test_stable_macs),
		T(test_stable_macs_collide),
		T(test_order_and_write_count),
		T(test_order_across_pfs),
		T(test_scans_once),
		T(test_scans_reread_after_bind),
		T(test_rollback_link_down),
		T(test_rollback_refused_is_reported),
		T(test_rollback_earlier_vf),
		T(test_rates_wait_for_the_link),
		T(test_rates_link_never_back),
		T(test_rates_pf_down_no_wait),
		T(test_wait_pf_carrier),
		T(test_plan_refuses_l2_without_netdev),
		T(test_plan_refuses_driver_not_loaded),
		T(test_plan_refuses_8021ad_on_igb),
		T(test_force_overrides_refusal),
		T(test_links_order),
		T(test_plan_refuses_vf_mtu_above_pf),
		T(test_plan_refuses_links_without_netdev),
		T(test_link_refused_put_back),
		T(test_overlay_claim_over_config),
		T(test_overlay_recreated_vfs),
		T(test_overlay_driver_past_the_hook),
		T(test_claims_no_ledger),
		T(test_claims_reconcile),
		T(test_claims_lost_reasons),
		T(test_claims_device_gone),
		T(test_match_altname_and_path),
		T(test_name_may_change_warning),
		T(test_caps_learned_and_warned),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

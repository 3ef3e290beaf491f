/* Unit tests for the VF MAC rules of apply/: the stable scheme (rows of
 * permanent MACs and indexes with the MAC each must give, two NICs whose
 * MACs end alike among them), and plan's refusal of a MAC two VFs of the
 * host would share, over every entry and file and against the MACs of the
 * VFs the config leaves alone (their netdev's address, read from a fake
 * sysfs tree), with the exact messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/apply.h"
#include "inventory/inventory.h"
#include "fakesysfs.h"
#include "util/util.h"
#include "test-helpers.h"

static void mac_str(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void stable_one(const char *perm, uint32_t index, const char *want)
{
	uint8_t p[6], m[6];
	char got[18];
	assert_int_equal(vf_mac_parse(perm, p), 0);
	apply_stable_mac(p, index, m);
	mac_str(m, got);
	assert_string_equal(got, want);
}

/* The scheme byte by byte (docs/config.md): 02, the second half of the
 * permanent MAC xor mix(first half), the index. The expected values were
 * computed apart from this code, from the documented arithmetic. */
static void test_stable_mac_rows(void **state)
{
	(void)state;
	stable_one("52:54:00:12:34:56", 0, "02:e6:06:ba:00:00");
	stable_one("52:54:00:12:34:56", 1, "02:e6:06:ba:00:01");
	stable_one("52:54:00:12:34:56", 258, "02:e6:06:ba:01:02");
	stable_one("52:54:00:12:34:57", 0, "02:e6:06:bb:00:00");
	stable_one("52:54:00:12:34:56", 65535, "02:e6:06:ba:ff:ff");
	/* mix(0) = 0: the second half as it is */
	stable_one("00:00:00:ab:cd:ef", 3, "02:ab:cd:ef:00:03");
	/* Two vendors, the same second half (the old scheme gave both 02:16:16:e0:..) */
	stable_one("00:1b:21:16:16:e0", 0, "02:3a:7f:7d:00:00");
	stable_one("3c:fd:fe:16:16:e0", 0, "02:6b:68:cc:00:00");
}

/* Bijection and the promised non-collisions, over many inputs. */
static void test_stable_mac_never_collides(void **state)
{
	(void)state;
	/* The same second half under 4096 different OUIs: 4096 distinct MACs. */
	static uint8_t seen[1 << 21]; /* a bit per 24-bit value */
	memset(seen, 0, sizeof(seen));
	for (uint32_t oui = 0; oui < 4096; oui++) {
		uint8_t p[6] = {(uint8_t)(oui >> 4), (uint8_t)(oui << 4), 0x21, 0x16, 0x16, 0xe0}, m[6];
		apply_stable_mac(p, 0, m);
		assert_int_equal(m[0], 0x02); /* locally administered, unicast */
		uint32_t h = (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		assert_false(seen[h >> 3] & (1u << (h & 7)));
		seen[h >> 3] |= (uint8_t)(1u << (h & 7));
	}
	/* One OUI, distinct second halves: distinct. */
	memset(seen, 0, sizeof(seen));
	for (uint32_t nic = 0; nic < 1u << 16; nic += 3) {
		uint8_t p[6] = {0x00, 0x1b, 0x21, (uint8_t)(nic >> 16), (uint8_t)(nic >> 8), (uint8_t)nic}, m[6];
		apply_stable_mac(p, 7, m);
		assert_int_equal(m[4], 0);
		assert_int_equal(m[5], 7);
		uint32_t h = (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
		assert_false(seen[h >> 3] & (1u << (h & 7)));
		seen[h >> 3] |= (uint8_t)(1u << (h & 7));
	}
}

/* --- plan on the fake testbed ---------------------------------------------- */

struct fixture {
	char dir[256];
	char sys[300];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/test-macs-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0)
		return -1;
	/* Known addresses on eth0's VF netdevs (VFs 0-2 = eth2-eth4). */
	if (fakesysfs_write(f->sys, "bus/pci/devices/0000:01:10.4/net/eth4/address", "02:00:00:00:00:44\n") < 0)
		return -1;
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

/* Plans main (sriovd.conf) + drop-in (d.conf) on the fake tree: the error,
 * or NULL when the plan was made. */
static char *plan_error(const struct fixture *f, const char *main_text, const char *dropin_text, int *ret)
{
	struct config *c = config_new();
	char *err = NULL;
	assert_non_null(c);
	assert_int_equal(config_parse_string(c, "sriovd.conf", main_text, strlen(main_text), &err), 0);
	if (dropin_text)
		assert_int_equal(config_parse_string(c, "d.conf", dropin_text, strlen(dropin_text), &err), 0);
	struct apply_env env = {.lifecycle = {.sysfs_root = f->sys}};
	struct plan p = {0};
	*ret = plan_compute(c, &env, &p, &err);
	plan_done(&p);
	config_free(c);
	return err;
}

#define MAIN_ETH0_VF0                                                                                              \
	"version: 1\n"                                                                                             \
	"pfs:\n"                                                                                                   \
	"  - match:\n"                                                                                             \
	"      netdev: eth0\n"                                                                                     \
	"    vfs:\n"                                                                                               \
	"      - index: 0\n"                                                                                       \
	"        mac: 02:00:00:00:00:20\n"

static void plan_one(void **state, const char *main_text, const char *dropin, const char *want)
{
	int r;
	_cleanup_free_ char *err = plan_error(*state, main_text, dropin, &r);
	if (!want) {
		assert_int_equal(r, 0);
		assert_null(err);
		return;
	}
	assert_int_equal(r, -EINVAL);
	assert_non_null(err);
	assert_string_equal(err, want);
}

/* The case: two entries (netdev, pci) of two files select one PF. */
static void test_duplicate_across_files(void **state)
{
	plan_one(state, MAIN_ETH0_VF0,
		 "version: 1\npfs:\n  - match:\n      pci: 01:00.0\n    vfs:\n      - index: 1\n        mac: 02:00:00:00:00:20\n",
		 "d.conf:7:14: mac: 02:00:00:00:00:20 for VF 1 of eth0 (0000:01:00.0), which VF 0 of eth0 (0000:01:00.0) "
		 "gets too (sriovd.conf:7:14); two VFs cannot share a MAC");
}

/* Two PFs, one MAC. */
static void test_duplicate_across_pfs(void **state)
{
	plan_one(state, MAIN_ETH0_VF0 "  - match:\n      netdev: eth1\n    vfs:\n      - index: 2\n        mac: 02:00:00:00:00:20\n",
		 NULL,
		 "sriovd.conf:12:14: mac: 02:00:00:00:00:20 for VF 2 of eth1 (0000:02:00.0), which VF 0 of eth0 (0000:01:00.0) "
		 "gets too (sriovd.conf:7:14); two VFs cannot share a MAC");
}

/* A VF the config does not mention already carries it (its netdev's address). */
static void test_duplicate_against_unmentioned_vf(void **state)
{
	plan_one(state,
		 "version: 1\npfs:\n  - match:\n      netdev: eth1\n    vfs:\n      - index: 0\n        mac: 02:00:00:00:00:44\n",
		 NULL,
		 "sriovd.conf:7:14: mac: 02:00:00:00:00:44 for VF 0 of eth1 (0000:02:00.0), which VF 2 of eth0 (0000:01:00.0) "
		 "already has (the config does not set its MAC); two VFs cannot share a MAC");
}

/* The VF that has it now is the one that gets it, or it gets another one: fine. */
static void test_no_duplicate(void **state)
{
	plan_one(state,
		 "version: 1\npfs:\n  - match:\n      netdev: eth0\n    vfs:\n      - index: 2\n        mac: 02:00:00:00:00:44\n",
		 NULL, NULL);
	plan_one(state,
		 "version: 1\npfs:\n  - match:\n      netdev: eth0\n    vfs:\n      - index: 2\n        mac: 02:00:00:00:00:45\n"
		 "  - match:\n      netdev: eth1\n    vfs:\n      - index: 0\n        mac: 02:00:00:00:00:44\n",
		 NULL, NULL);
	/* A count change recreates eth0's VFs: what they carry now does not count. */
	plan_one(state,
		 "version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 2\n"
		 "  - match:\n      netdev: eth1\n    vfs:\n      - index: 0\n        mac: 02:00:00:00:00:44\n",
		 NULL, NULL);
}


/* --- the VF's own netdev taking the MAC -------------------------------------- */

/* Plays igbvf: the netdev's address is taken (written to the fake tree) or
 * refused; an unbind + probe brings the VF back with netdev eth9 carrying
 * what the PF gave it (pf_mac). */
struct kernel {
	const char *root;
	int address_error; /* answer set_address with this (0: take it) */
	int n_address, n_up;
	const char *pf_mac;
	const char *in_use;   /* link_usage: this netdev is up with an address */
	char writes[8][256];
	int n_writes;
	/* Plays udev: renames eth2 to this (after the scan, before the MAC
	 * is looked at), with udev_dir: at the first sleep of the wait, then
	 * writes the netdev's database entry there. */
	const char *rename_to;
	const char *udev_dir;
	bool events_hook; /* the wait goes through env's events hook (sriovd's) */
	uint64_t now_ns;
	unsigned sleeps, event_waits;
};

/* udev names VF 0's netdev eth2 k->rename_to (in both folders of the fake
 * tree, as the kernel's rename shows it). */
static void k_rename(const struct kernel *k)
{
	char from[512], to[512];
	const char *dirs[] = {"bus/pci/devices/0000:01:10.0/net", "class/net"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(from, sizeof(from), "%s/%s/eth2", k->root, dirs[i]);
		snprintf(to, sizeof(to), "%s/%s/%s", k->root, dirs[i], k->rename_to);
		assert_int_equal(rename(from, to), 0);
	}
}

static uint64_t k_now_ns(void *userdata)
{
	const struct kernel *k = userdata;
	return k->now_ns;
}

/* The time passes; at the first sleep udev handles the netdev: renames it,
 * then writes its database entry data/nIFINDEX. */
static void k_sleep_until_ns(void *userdata, uint64_t deadline_ns)
{
	struct kernel *k = userdata;
	k->now_ns = deadline_ns;
	if (k->sleeps++)
		return;
	k_rename(k);
	char path[512];
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:10.0/net/%s/ifindex", k->root, k->rename_to);
	uint32_t ifindex = 0;
	assert_int_equal(read_u32_at(AT_FDCWD, path, 10, &ifindex), 0);
	snprintf(path, sizeof(path), "%s/data/n%u", k->udev_dir, ifindex);
	FILE *db = fopen(path, "w");
	assert_non_null(db);
	fputs("I:1\n", db);
	assert_int_equal(fclose(db), 0);
}

/* sriovd's hook: it serves its API until the deadline. */
static int k_events_wait(void *userdata, uint64_t deadline_ns)
{
	struct kernel *k = userdata;
	k->event_waits++;
	k_sleep_until_ns(userdata, deadline_ns);
	return 0;
}

static int k_set_address(void *userdata, const char *ifname, const uint8_t mac[6])
{
	struct kernel *k = userdata;
	k->n_address++;
	if (k->address_error)
		return k->address_error;
	char rel[128], text[32];
	mac_str(mac, text);
	strcat(text, "\n");
	snprintf(rel, sizeof(rel), "bus/pci/devices/0000:01:10.0/net/%s/address", ifname);
	return fakesysfs_write(k->root, rel, text);
}

static int k_set_up(void *userdata, const char *ifname)
{
	struct kernel *k = userdata;
	(void)ifname;
	k->n_up++;
	return 0;
}

static int k_write(void *userdata, const char *path, const char *value)
{
	struct kernel *k = userdata;
	const char *rel = path + strlen(k->root) + 1;
	if (k->n_writes < 8)
		snprintf(k->writes[k->n_writes++], sizeof(k->writes[0]), "%s=%s", rel, value);
	if (strcmp(rel, "bus/pci/drivers/igbvf/unbind") == 0)
		return fakesysfs_unbind(k->root, value);
	if (strcmp(rel, "bus/pci/drivers_probe") == 0) {
		int r = fakesysfs_bind(k->root, value, "igbvf");
		if (r == 0)
			r = fakesysfs_add_netdev(k->root, value, "eth9", k->pf_mac);
		return r;
	}
	return -EACCES;
}

static int k_link_usage(void *userdata, const char *ifname, struct link_usage *ret)
{
	struct kernel *k = userdata;
	char path[512];
	snprintf(path, sizeof(path), "%s/class/net/%s", k->root, ifname);
	if (access(path, F_OK) < 0)
		return -ENODEV; /* no such netdev (any more) */
	*ret = (struct link_usage){.flags = 1};
	if (k->in_use && strcmp(ifname, k->in_use) == 0)
		ret->n_ipv4 = 1;
	return 0;
}

static const uint8_t WANT[6] = {0x02, 0xe6, 0x06, 0xba, 0x00, 0x00};

/* Runs apply_vf_netdev_mac on eth0's VF 0 (eth2, 0000:01:10.0). */
static int netdev_mac_run(struct fixture *f, struct kernel *k, struct vf_netdev_mac_result *res, char **err)
{
	k->root = f->sys;
	struct pci_tree *t;
	struct inventory_opts o = {.sysfs_root = f->sys};
	assert_int_equal(inventory_load(&o, &t), 0);
	const struct pci_function *vf = pci_tree_find_addr(t, "0000:01:10.0");
	assert_non_null(vf);
	struct lifecycle_env env = {.sysfs_root = f->sys, .write = k_write, .write_data = k,
				    .link_usage = k_link_usage, .link_usage_data = k};
	if (k->udev_dir) {
		env.udev_dir = k->udev_dir;
		env.clock = (struct lifecycle_clock){.now_ns = k_now_ns, .sleep_until_ns = k_sleep_until_ns, .userdata = k};
		if (k->events_hook)
			env.events = (struct lifecycle_events){.wait = k_events_wait, .userdata = k};
	} else if (k->rename_to)
		k_rename(k); /* renamed between the scan and the MAC step */
	struct vf_netdev_ops ops = {.set_address = k_set_address, .set_up = k_set_up, .userdata = k};
	*err = NULL;
	int r = apply_vf_netdev_mac(&env, NULL, &ops, vf, WANT, res, err);
	pci_tree_free(t);
	return r;
}

static void vf_address_is(const struct fixture *f, const char *netdev, const char *want)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:01:10.0/net/%s/address", f->sys, netdev);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_text_file(path, 64, &text), 0);
	assert_string_equal(text, want);
}

/* Already carried: nothing sent. */
static void test_netdev_mac_already(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:10.0/net/eth2/address", "02:e6:06:ba:00:00\n"), 0);
	struct kernel k = {0};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), 0);
	assert_false(res.changed);
	assert_int_equal(res.writes, 0);
	assert_int_equal(k.n_address, 0);
}

/* The driver takes the address: one setting, read back. */
static void test_netdev_mac_taken(void **state)
{
	struct fixture *f = *state;
	struct kernel k = {0};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), 0);
	assert_true(res.changed);
	assert_false(res.reloaded);
	assert_int_equal(res.writes, 1);
	assert_string_equal(res.netdev, "eth2");
	vf_address_is(f, "eth2", "02:e6:06:ba:00:00");
	assert_int_equal(k.n_writes, 0);
}

/* igbvf refuses (the PF gave it another MAC while it is up): the driver is
 * reloaded, takes the PF's MAC, and the netdev is brought up again. */
static void test_netdev_mac_reload(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:10.0/net/eth2/flags", "0x1003\n"), 0);
	struct kernel k = {.address_error = -EADDRNOTAVAIL, .pf_mac = "02:e6:06:ba:00:00"};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), 0);
	assert_null(err);
	assert_true(res.changed);
	assert_true(res.reloaded);
	assert_string_equal(res.netdev, "eth9");
	assert_int_equal(k.n_writes, 2);
	assert_string_equal(k.writes[0], "bus/pci/drivers/igbvf/unbind=0000:01:10.0");
	assert_string_equal(k.writes[1], "bus/pci/drivers_probe=0000:01:10.0");
	assert_int_equal(k.n_up, 1);
	assert_int_equal(res.writes, 4); /* address, unbind, probe, up */
	vf_address_is(f, "eth9", "02:e6:06:ba:00:00");
}

/* Refused, and the netdev carries the host's traffic: no reload. */
static void test_netdev_mac_in_use(void **state)
{
	struct fixture *f = *state;
	struct kernel k = {.address_error = -EADDRNOTAVAIL, .in_use = "eth2"};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), -EBUSY);
	assert_string_equal(err, "VF 0: its netdev eth2 refused MAC 02:e6:06:ba:00:00 (Cannot assign requested address), "
				 "and eth2 (0000:01:10.0): reloading its driver igbvf would drop its network: its netdev "
				 "eth2 is up with 1 IPv4 address, and the host would lose that network");
	assert_int_equal(k.n_writes, 0);
}

/* Reloaded, yet the driver comes back with another MAC and refuses ours. */
static void test_netdev_mac_still_wrong(void **state)
{
	struct fixture *f = *state;
	struct kernel k = {.address_error = -EADDRNOTAVAIL, .pf_mac = "12:16:16:e0:89:67"};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), -EADDRNOTAVAIL);
	assert_string_equal(err, "VF 0: its netdev eth9 carries 12:16:16:e0:89:67, not 02:e6:06:ba:00:00, even after "
				 "reloading igbvf (Cannot assign requested address)");
	assert_int_equal(k.n_address, 2);
}

/* The MAC step ran, and the driver took WANT on netdev at the first
 * setting, with no reload. */
static void assert_set_once_on(struct fixture *f, struct kernel *k, const char *netdev)
{
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, k, &res, &err), 0);
	assert_null(err);
	assert_true(res.changed && !res.reloaded);
	assert_string_equal(res.netdev, netdev);
	assert_int_equal(k->n_address, 1);
	vf_address_is(f, netdev, "02:e6:06:ba:00:00");
}

/* udev renamed the netdev after the scan read it (eth2, now enp1s0v0): the
 * MAC goes to the VF's netdev by the name it has now, not to a name that
 * is gone (or that another netdev may have taken since). */
static void test_netdev_mac_renamed(void **state)
{
	struct fixture *f = *state;
	struct kernel k = {.rename_to = "enp1s0v0"};
	assert_set_once_on(f, &k, "enp1s0v0");
}

/* Refused, and the netdev, renamed since the scan, carries the host's
 * traffic: the rename does not hide it, no reload. */
static void test_netdev_mac_renamed_in_use(void **state)
{
	struct fixture *f = *state;
	struct kernel k = {.address_error = -EADDRNOTAVAIL, .rename_to = "enp1s0v0", .in_use = "enp1s0v0"};
	struct vf_netdev_mac_result res;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(netdev_mac_run(f, &k, &res, &err), -EBUSY);
	assert_non_null(strstr(err, "its netdev enp1s0v0 is up with 1 IPv4 address"));
	assert_int_equal(k.n_writes, 0);
}

/* A udev run folder with data/ in f's folder, named in udev. */
static void udev_dirs(const struct fixture *f, char *udev, size_t len)
{
	char data[512];
	snprintf(udev, len, "%s/udev", f->dir);
	snprintf(data, sizeof(data), "%s/data", udev);
	assert_int_equal(mkdir(udev, 0755), 0);
	assert_int_equal(mkdir(data, 0755), 0);
}

/* With udev running, the netdev is udev's first: the MAC step waits for
 * its database entry (udev renames it meanwhile), then sets the MAC on it
 * by its new name; without the entry it would not have looked. */
static void test_netdev_mac_waits_for_udev(void **state)
{
	struct fixture *f = *state;
	char udev[400];
	udev_dirs(f, udev, sizeof(udev));
	struct kernel k = {.rename_to = "enp1s0v0", .udev_dir = udev};
	assert_set_once_on(f, &k, "enp1s0v0");
	/* one look, one sleep (udev's work), one look: well within the bound */
	assert_int_equal(k.sleeps, 1);
	assert_true(k.now_ns < (uint64_t)LIFECYCLE_UDEV_TIMEOUT_MS * 1000000u);
	assert_int_equal(k.event_waits, 0);
}

/* In sriovd the same wait runs its events hook (the API is served), and
 * sleeps no more. */
static void test_netdev_mac_udev_wait_serves(void **state)
{
	struct fixture *f = *state;
	char udev[400];
	udev_dirs(f, udev, sizeof(udev));
	struct kernel k = {.rename_to = "enp1s0v0", .udev_dir = udev, .events_hook = true};
	assert_set_once_on(f, &k, "enp1s0v0");
	assert_int_equal(k.event_waits, 1);
	assert_int_equal(k.sleeps, 1); /* the hook's, none of its own */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stable_mac_rows),
		cmocka_unit_test(test_stable_mac_never_collides),
		cmocka_unit_test_setup_teardown(test_duplicate_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_across_pfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_against_unmentioned_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_already, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_renamed_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_waits_for_udev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_udev_wait_serves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netdev_mac_still_wrong, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for ledger/ and claim/ on a temporary database and a fake
 * testbed tree: the schema and its versions, claims (idempotence,
 * exclusivity both ways, all-or-nothing with a netlink failure, NUMA),
 * lifecycle's refusals through the consumer hook, release and its scrub,
 * two processes claiming at once, and a crash at every step.
 *
 * The kernel is played at its two doors as in test-apply.c: the netlink
 * table runs the real netlink/ code against fake-rtnl.c, and the lifecycle
 * writer turns driver_override/unbind/drivers_probe into the tree's
 * driver links. The fixture lives in shared memory so that what a forked
 * child (killed at a crash point) did to the fake kernel stays visible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "claim/claim.h"
#include "config/config.h"
#include "fake-rtnl.h"
#include "fakesysfs.h"
#include "ledger/ledger.h"
#include "lifecycle/lifecycle.h"
#include "netlink/rtnl.h"
#include "util/util.h"
#include "test-helpers.h"

#define A "aaaaaaaa-0000-4000-8000-000000000001"
#define B "bbbbbbbb-0000-4000-8000-000000000002"
#define C "cccccccc-0000-4000-8000-000000000003"

struct fixture {
	char dir[256];
	char sys[300], state[300], vfio[300], conf[300], db[300];
	struct fake_rtnl k;
	struct rtnl *nl;
	struct apply_netlink ops;
	struct claim_env env;
	struct config *cfg;
	struct ledger *ledger;
	int64_t now;
	unsigned preflight_calls;
	int preflight_error;
	int address_error; /* a VF netdev refuses its address with this (0: takes it) */
	unsigned n_address;
	/* What an unbind took away: igbvf's probe brings the netdev back by
	 * this name, carrying the PF's MAC for the VF (probe_mac: this one,
	 * as when the PF does not answer in time). */
	char unbound_addr[16], unbound_netdev[256];
	const char *probe_mac;
};

/* --- the kernel ---------------------------------------------------------------- */

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

/* The netdev of addr, if any, kept for the probe that brings it back. */
static void remember_netdev(struct fixture *f, const char *addr)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/net", f->sys, addr);
	snprintf(f->unbound_addr, sizeof(f->unbound_addr), "%s", addr);
	f->unbound_netdev[0] = '\0';
	DIR *d = opendir(p);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.')
			snprintf(f->unbound_netdev, sizeof(f->unbound_netdev), "%s", de->d_name);
	closedir(d);
}

static const struct vf_settings *kvf(struct fixture *f, const char *pf, uint32_t i);
static void mac_str(const struct vf_settings *vf, char buf[VF_MAC_STRLEN]);

/* The MAC the PF gives VF addr of the testbed tree (0000:0B:10.F: PF eth(B-1),
 * VF F/2), as igbvf asks it for when it probes. */
static const char *pf_mac_of(struct fixture *f, const char *addr)
{
	static char mac[VF_MAC_STRLEN];
	unsigned bus = 0, fn = 0;
	if (sscanf(addr, "0000:%x:10.%x", &bus, &fn) != 2 || bus < 1 || bus > 2)
		return NULL;
	mac_str(kvf(f, bus == 1 ? "eth0" : "eth1", fn / 2), mac);
	return mac;
}

static int sim_write(void *userdata, const char *path, const char *value)
{
	struct fixture *f = userdata;
	size_t n = strlen(f->sys);
	if (strncmp(path, f->sys, n) != 0)
		return -EXDEV;
	const char *rel = path + n + 1;
	char drv[64];
	if (sscanf(rel, "bus/pci/drivers/%63[^/]/unbind", drv) == 1 && strstr(rel, "/unbind")) {
		if (!bound(f, value))
			return -ENODEV;
		remember_netdev(f, value);
		int r = fakesysfs_unbind(f->sys, value);
		vfio_node(f, value, false);
		return r;
	}
	if (strcmp(rel, "bus/pci/drivers_probe") == 0) {
		if (bound(f, value))
			return 0;
		char p[600];
		snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver_override", f->sys, value);
		_cleanup_free_ char *override = NULL;
		if (read_text_file(p, 256, &override) < 0)
			return -EIO;
		const char *d = str_empty(override) || strcmp(override, "(null)") == 0 ? "igbvf" : override;
		int r = fakesysfs_bind(f->sys, value, d);
		if (r == 0 && strcmp(d, "vfio-pci") == 0)
			vfio_node(f, value, true);
		if (r == 0 && strcmp(d, "igbvf") == 0 && strcmp(value, f->unbound_addr) == 0 && *f->unbound_netdev)
			r = fakesysfs_add_netdev(f->sys, value, f->unbound_netdev, f->probe_mac ? f->probe_mac : pf_mac_of(f, value));
		return r;
	}
	return plain_write(path, value);
}

static int t_get_link(void *data, const char *ifname, unsigned want, struct pf_link *ret)
{
	struct fixture *f = data;
	return rtnl_get_pf_link(f->nl, ifname, want, ret);
}

static int t_apply_vf(void *data, const char *pf_ifname, const struct vf_settings *want, struct vf_apply_report *rep,
		      char **ret_error)
{
	struct fixture *f = data;
	return rtnl_apply_vf(f->nl, pf_ifname, want, rep, ret_error);
}

static void t_put_back(void *data, uint32_t pf_ifindex, const struct vf_settings *before, unsigned fields,
		       unsigned *ret_put_back, struct vf_set_result *res)
{
	struct fixture *f = data;
	rtnl_vf_put_back(f->nl, pf_ifindex, before, fields, ret_put_back, res);
}

static int t_wait(void *data, unsigned timeout_ms)
{
	(void)data;
	(void)timeout_ms;
	return 1;
}

static uint64_t t_mono(void *data)
{
	(void)data;
	return 0;
}

static int64_t t_now(void *data)
{
	struct fixture *f = data;
	return ++f->now;
}

/* The step at which this process dies: set in a forked child only (the
 * fixture itself is shared with the parent). */
static const char *crash_at;

static void t_crash(void *data, const char *step)
{
	(void)data;
	if (crash_at && strcmp(crash_at, step) == 0)
		raise(SIGKILL);
}

static int t_preflight(void *data, const char *root, const struct pci_function *dev, char **ret_error)
{
	struct fixture *f = data;
	(void)root;
	f->preflight_calls++;
	if (f->preflight_error)
		return error_set(ret_error, f->preflight_error, "%s: VFIO pre-flight: cannot get the device fd", dev->addr);
	return 0;
}

/* igbvf: the VF's netdev takes an address (both copies of it in the fake
 * tree, as the kernel shows one), or refuses it with f->address_error. */
static int t_set_address(void *data, const char *ifname, const uint8_t mac[6])
{
	struct fixture *f = data;
	f->n_address++;
	if (f->address_error)
		return f->address_error;
	char rel[128], link[600], dev[600], text[32];
	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	snprintf(link, sizeof(link), "%s/class/net/%s/device", f->sys, ifname);
	if (!realpath(link, dev))
		return -ENODEV;
	snprintf(rel, sizeof(rel), "class/net/%s/address", ifname);
	int r = fakesysfs_write(f->sys, rel, text);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/net/%s/address", strrchr(dev, '/') + 1, ifname);
	return r < 0 ? r : fakesysfs_write(f->sys, rel, text);
}

static int t_set_up(void *data, const char *ifname)
{
	(void)data;
	(void)ifname;
	return 0;
}

/* --- fixture ---------------------------------------------------------------------- */

static void open_ledger(struct fixture *f)
{
	char *error = NULL;
	int r = ledger_open(f->sys, NULL, &f->ledger, &error);
	if (r < 0)
		fail_msg("ledger: %s", error ? error : strerror(-r));
	f->env.ledger = f->ledger;
}

static int setup(void **state)
{
	struct fixture *f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f == MAP_FAILED)
		return -1;
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/sriovd-claim-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->vfio, sizeof(f->vfio), "%s/dev-vfio", f->dir);
	snprintf(f->conf, sizeof(f->conf), "%s/sriovd.conf", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/sys/.sriovd/ledger.db", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0 || fakesysfs_add_driver(f->sys, "vfio-pci") < 0 ||
	    mkdir(f->vfio, 0755) < 0)
		return -1;
	fake_rtnl_add_igb(&f->k, "eth0", 4, 3);
	fake_rtnl_add_igb(&f->k, "eth1", 5, 3);
	if (rtnl_open_with(fake_rtnl_kernel, &f->k, &f->nl) < 0)
		return -1;
	f->ops = (struct apply_netlink){.get_link = t_get_link, .apply_vf = t_apply_vf, .put_back = t_put_back,
					.wait_link_event = t_wait, .now_ns = t_mono};
	f->env = (struct claim_env){
		.apply = {.lifecycle = {.sysfs_root = f->sys, .state_dir = f->state, .vfio_dir = f->vfio,
					.write = sim_write, .write_data = f, .settle_ms = 1},
			  .netlink = &f->ops, .netlink_data = f,
			  .vf_netdev = {.set_address = t_set_address, .set_up = t_set_up, .userdata = f}},
		.now = t_now,
		.crash = t_crash,
		.preflight = t_preflight,
		.data = f,
		.lock_timeout_ms = 20000,
	};
	open_ledger(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ledger_close(f->ledger);
	config_free(f->cfg);
	rtnl_close(f->nl);
	fakesysfs_rmtree(f->dir);
	munmap(f, sizeof(*f));
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
	f->env.cfg = f->cfg;
}

static const char conf_nets[] = "version: 1\n"
				"pfs:\n  - match: {netdev: eth0}\n    labels: [fast]\n"
				"aliases:\n  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}\n"
				"  - {name: pf, vendor_id: '8086', product_id: 10c9, device_type: type-PF}\n"
				"networks:\n  - {name: blue, vlan: 100, labels: [fast]}\n"
				"  - {name: red, pfs: [eth1]}\n";

static struct claim_request req_device(const char *consumer, const char *dev)
{
	return (struct claim_request){.consumer = consumer, .kind = LEDGER_KIND_DEVICE, .what = dev, .vlan = -1};
}

static struct claim_request req_alias(const char *consumer, const char *what)
{
	return (struct claim_request){.consumer = consumer, .kind = LEDGER_KIND_ALIAS, .what = what, .vlan = -1};
}

static struct claim_request req_net(const char *consumer, const char *what, uint32_t count)
{
	return (struct claim_request){.consumer = consumer, .kind = LEDGER_KIND_NETWORK, .what = what, .count = count,
				      .vlan = -1};
}

static void claim_ok(struct fixture *f, const struct claim_request *req, struct claim_result *res)
{
	char *error = NULL;
	int r = claim_run(&f->env, req, res, &error);
	if (r < 0)
		fail_msg("claim: %s", error ? error : strerror(-r));
	free(error);
}

static void claim_fails(struct fixture *f, const struct claim_request *req, int expected_r, const char *expected)
{
	struct claim_result res;
	char *error = NULL;
	int r = claim_run(&f->env, req, &res, &error);
	if (r != expected_r)
		print_message("%s\n", error ? error : "(none)");
	assert_int_equal(r, expected_r);
	assert_non_null(error);
	assert_string_equal(error, expected);
	free(error);
	claim_result_done(&res);
}

static size_t count_claims(struct fixture *f, unsigned states)
{
	struct ledger_claims c;
	assert_int_equal(ledger_claims_list(f->ledger, &(struct ledger_filter){.states = states}, &c), 0);
	size_t n = c.n;
	ledger_claims_done(&c);
	return n;
}

static const struct vf_settings *kvf(struct fixture *f, const char *pf, uint32_t i)
{
	return &fake_rtnl_pf(&f->k, pf)->vfs[i];
}

static void mac_str(const struct vf_settings *vf, char buf[VF_MAC_STRLEN])
{
	vf_mac_format(vf->mac, 6, buf);
}

/* --- ledger ---------------------------------------------------------------------------- */

static void test_ledger_schema_version(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ledger_found_version(f->ledger), 0); /* created just now */
	ledger_close(f->ledger);
	f->ledger = NULL;
	open_ledger(f);
	assert_int_equal(ledger_found_version(f->ledger), LEDGER_SCHEMA_VERSION);
	assert_string_equal(ledger_file(f->ledger), f->db);
	struct stat st;
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* user_version lives at byte 60 of the database header, big-endian. */
static void set_user_version(const char *path, uint32_t v)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	assert_int_equal(pwrite(fd, b, 4, 60), 4);
	close(fd);
}

static void test_ledger_newer_refused(void **state)
{
	struct fixture *f = *state;
	ledger_close(f->ledger);
	f->ledger = NULL;
	set_user_version(f->db, LEDGER_SCHEMA_VERSION + 1);
	struct ledger *l = NULL;
	char *error = NULL;
	assert_int_equal(ledger_open(f->sys, NULL, &l, &error), -EPROTO);
	char want[512];
	snprintf(want, sizeof(want),
		 "ledger %s: schema version 2 is newer than this sriovd knows (1); use the sriovd that wrote it, or a "
		 "newer one",
		 f->db);
	assert_string_equal(error, want);
	free(error);
	set_user_version(f->db, LEDGER_SCHEMA_VERSION);
	open_ledger(f);
}

static void test_ledger_migrates_older(void **state)
{
	struct fixture *f = *state;
	/* A version 0 database: an empty file, as a first start finds it. */
	char path[400];
	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	struct ledger *l = NULL;
	char *error = NULL;
	assert_int_equal(ledger_open_file(path, &l, &error), 0);
	assert_int_equal(ledger_found_version(l), 0);
	struct ledger_claim c = {.consumer = A, .kind = LEDGER_KIND_DEVICE, .request = "0000:01:10.0", .count = 1,
				 .vlan = -1, .state = LEDGER_ACTIVE, .created = 5};
	assert_int_equal(ledger_begin(l), 0);
	assert_int_equal(ledger_claim_add(l, &c), 0);
	assert_int_equal(ledger_commit(l), 0);
	ledger_close(l);
	assert_int_equal(ledger_open_file(path, &l, &error), 0);
	assert_int_equal(ledger_found_version(l), 1);
	assert_int_equal(ledger_consumer_known(l, A), 1);
	ledger_close(l);
}

/* test-claim --ledger-reader DIR CONSUMER: exit 0 when a claim of
 * CONSUMER is in the ledger of folder DIR. A process of its own (exec'ed,
 * not just forked: a forked child shares SQLite's view of the parent's
 * locks), as a sriovctl reading the ledger is. */
static int ledger_reader(const char *dir, const char *consumer)
{
	struct ledger *l = NULL;
	char *error = NULL;
	int known = ledger_open(NULL, dir, &l, &error) == 0 ? ledger_consumer_known(l, consumer) : -1;
	ledger_close(l);
	free(error);
	return known == 1 ? 0 : 1;
}

static bool seen_by_another_process(const char *dir, const char *consumer)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test-claim", "--ledger-reader", dir, consumer, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* sriovd keeps two connections open (the API's, the consumer hook's); a
 * second ledger_open() must not drop the first one's locks, or another
 * process closing the ledger deletes the WAL under it and its later
 * claims are lost to every other reader. */
static void test_ledger_two_connections(void **state)
{
	struct fixture *f = *state;
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/two", f->dir);
	struct ledger *l1 = NULL, *l2 = NULL;
	char *error = NULL;
	assert_int_equal(ledger_open(NULL, dir, &l1, &error), 0);
	assert_int_equal(ledger_open(NULL, dir, &l2, &error), 0);
	struct ledger_claim c = {.consumer = A, .kind = LEDGER_KIND_DEVICE, .request = "0000:01:10.0", .count = 1,
				 .vlan = -1, .state = LEDGER_ACTIVE, .created = 5};
	assert_int_equal(ledger_begin(l1), 0);
	assert_int_equal(ledger_claim_add(l1, &c), 0);
	assert_int_equal(ledger_commit(l1), 0);
	assert_true(seen_by_another_process(dir, A)); /* ... which opened and closed it */
	c = (struct ledger_claim){.consumer = B, .kind = LEDGER_KIND_DEVICE, .request = "0000:01:10.2", .count = 1,
				  .vlan = -1, .state = LEDGER_ACTIVE, .created = 6};
	assert_int_equal(ledger_begin(l1), 0);
	assert_int_equal(ledger_claim_add(l1, &c), 0);
	assert_int_equal(ledger_commit(l1), 0);
	assert_true(seen_by_another_process(dir, B));
	char wal[450];
	snprintf(wal, sizeof(wal), "%s/ledger.db-wal", dir);
	assert_int_equal(access(wal, F_OK), 0);
	ledger_close(l2);
	ledger_close(l1);
	assert_true(seen_by_another_process(dir, B));
}

/* The read-only open: a claim a writer made is read, nothing is written
 * (a write is refused), nothing is created where there is no ledger, and
 * an older schema is left to a writer. */
static void test_ledger_readonly(void **state)
{
	struct fixture *f = *state;
	char dir[400], db[450];
	snprintf(dir, sizeof(dir), "%s/ro", f->dir);
	snprintf(db, sizeof(db), "%s/ledger.db", dir);
	struct ledger *w = NULL, *r = NULL;
	char *error = NULL;
	assert_int_equal(ledger_open_readonly(dir, &r, &error), -ENOENT);
	assert_int_equal(access(dir, F_OK), -1); /* no folder made */
	assert_int_equal(ledger_open(NULL, dir, &w, &error), 0);
	struct ledger_claim c = {.consumer = A, .kind = LEDGER_KIND_DEVICE, .request = "0000:01:10.0", .count = 1,
				 .vlan = -1, .state = LEDGER_ACTIVE, .created = 5};
	assert_int_equal(ledger_begin(w), 0);
	assert_int_equal(ledger_claim_add(w, &c), 0);
	assert_int_equal(ledger_commit(w), 0);
	assert_int_equal(ledger_open_readonly(dir, &r, &error), 0);
	assert_int_equal(ledger_consumer_known(r, A), 1);
	assert_true(ledger_begin(r) < 0 || ledger_claim_add(r, &c) < 0);
	ledger_rollback(r);
	ledger_close(r);
	ledger_close(w);
	set_user_version(db, LEDGER_SCHEMA_VERSION - 1);
	r = NULL;
	assert_int_equal(ledger_open_readonly(dir, &r, &error), -EPROTO);
	assert_null(r);
	free(error);
}

static void test_ledger_audit_append_only(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ledger_audit(f->ledger, 1, "claim", A, 1, NULL, "x"), 0);
	assert_int_equal(ledger_audit(f->ledger, 2, "release", A, 1, NULL, NULL), 0);
	struct ledger_events e;
	assert_int_equal(ledger_events_since(f->ledger, 0, 0, &e), 0);
	assert_int_equal(e.n, 2);
	assert_true(e.v[1].seq > e.v[0].seq);
	assert_string_equal(e.v[1].event, "release");
	int64_t last = e.v[0].seq;
	ledger_events_done(&e);
	assert_int_equal(ledger_events_since(f->ledger, last, 0, &e), 0);
	assert_int_equal(e.n, 1);
	ledger_events_done(&e);
}

/* --- claims ------------------------------------------------------------------------------ */

static void test_claim_device_idempotent(void **state)
{
	struct fixture *f = *state;
	struct claim_request req = req_device(A, "0000:01:10.2");
	struct claim_result r1, r2;
	claim_ok(f, &req, &r1);
	assert_false(r1.repeat);
	assert_int_equal(r1.n_devs, 1);
	assert_string_equal(r1.devs[0].address, "0000:01:10.2");
	assert_int_equal(r1.devs[0].vf_index, 1);
	/* The stable MAC is on the VF. */
	char mac[VF_MAC_STRLEN];
	mac_str(kvf(f, "eth0", 1), mac);
	assert_string_equal(r1.devs[0].mac, mac);
	assert_int_equal(mac[0], '0');
	assert_int_equal(mac[1], '2');
	unsigned setlinks = f->k.n_setlink;
	/* The same again, by its netdev: the same claim, nothing sent. */
	req.what = "eth3";
	claim_ok(f, &req, &r2);
	assert_true(r2.repeat);
	assert_int_equal(r2.id, r1.id);
	assert_string_equal(r2.devs[0].address, "0000:01:10.2");
	assert_int_equal(f->k.n_setlink, setlinks);
	assert_int_equal(count_claims(f, 0), 1);
	claim_result_done(&r1);
	claim_result_done(&r2);
}

static void test_claim_exclusive(void **state)
{
	struct fixture *f = *state;
	struct claim_result res;
	struct claim_request a = req_device(A, "0000:01:10.0");
	claim_ok(f, &a, &res);
	claim_result_done(&res);
	/* Another consumer: not the VF, nor its PF. */
	struct claim_request b = req_device(B, "0000:01:10.0");
	claim_fails(f, &b, -EBUSY, "device: 0000:01:10.0: it is held by consumer " A " (claim 1)");
	b.what = "eth0";
	claim_fails(f, &b, -EBUSY, "device: 0000:01:00.0: a VF of it is held by consumer " A " (claim 1)");
	/* A claimed PF makes its VFs unavailable. */
	b.what = "eth1";
	claim_ok(f, &b, &res);
	assert_int_equal(res.devs[0].role, LEDGER_ROLE_PF);
	claim_result_done(&res);
	struct claim_request c = req_device(C, "0000:02:10.2");
	claim_fails(f, &c, -EBUSY, "device: 0000:02:10.2: its PF is held by consumer " B " (claim 2)");
}

/* The consumer hook: a claimed VF blocks a count change of its PF, a claimed
 * PF any count change, and a held device a bind. */
static void test_lifecycle_refuses_naming_consumer(void **state)
{
	struct fixture *f = *state;
	struct claim_result res;
	struct claim_request a = req_device(A, "0000:01:10.4");
	claim_ok(f, &a, &res);
	claim_result_done(&res);
	struct claim_consumers cons = {.sysfs_root = f->sys};
	struct lifecycle_env env = f->env.apply.lifecycle;
	env.consumer = claim_consumer_fn;
	env.consumer_data = &cons;
	struct pci_tree *t;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	char *error = NULL;
	struct numvfs_request nr = {.count = 1};
	assert_int_equal(lifecycle_numvfs_check(&env, pci_tree_find_addr(t, "0000:01:00.0"), &nr, NULL, &error), -EBUSY);
	assert_string_equal(error, "eth0 (0000:01:00.0): changing from 3 to 1 VFs destroys all 3 VFs first, but: VF 2 "
				   "(0000:01:10.4) is held by consumer " A " (claim 1) (--force to do it anyway)");
	free(error);
	error = NULL;
	struct bind_request br = {.driver = "vfio-pci"};
	assert_int_equal(lifecycle_bind_check(&env, pci_tree_find_addr(t, "0000:01:10.4"), &br, NULL, &error), -EBUSY);
	assert_string_equal(error, "eth4 (0000:01:10.4): binding to vfio-pci refused: it is held by consumer " A
				   " (claim 1) (--force to do it anyway)");
	free(error);
	error = NULL;
	/* A free VF of the same PF binds. */
	assert_int_equal(lifecycle_bind_check(&env, pci_tree_find_addr(t, "0000:01:10.2"), &br, NULL, &error), 0);
	free(error);
	error = NULL;
	/* The nvme PF claimed whole: no VF count change at all. */
	struct claim_request b = req_device(B, "0000:00:03.0");
	claim_ok(f, &b, &res);
	claim_result_done(&res);
	nr.count = 2;
	assert_int_equal(lifecycle_numvfs_check(&env, pci_tree_find_addr(t, "0000:00:03.0"), &nr, NULL, &error), -EBUSY);
	assert_string_equal(error, "0000:00:03.0: changing from 0 to 2 VFs refused: the PF is held by consumer " B
				   " (claim 2) (--force to do it anyway)");
	free(error);
	pci_tree_free(t);
	claim_consumers_done(&cons);
}

static void test_claim_alias_and_over_assignment(void **state)
{
	struct fixture *f = *state;
	load(f, conf_nets);
	struct claim_result res;
	struct claim_request a = req_alias(A, "nic:2");
	claim_ok(f, &a, &res);
	assert_int_equal(res.n_devs, 2);
	assert_string_equal(res.devs[0].address, "0000:01:10.0");
	assert_string_equal(res.devs[1].address, "0000:01:10.2");
	claim_result_done(&res);
	/* 4 VFs left, 5 asked. */
	struct claim_request b = req_alias(B, "nic:5");
	claim_fails(f, &b, -ENOSPC,
		    "request nic:5: 5 wanted, 4 free; the others do not count: 2 claimed, 0 on the wrong NUMA node, 5 "
		    "not matched");
	assert_int_equal(count_claims(f, 0), 1);
	/* A PF whose VFs are held does not count for a type-PF alias. */
	struct claim_request p = req_alias(B, "pf:2");
	claim_fails(f, &p, -ENOSPC,
		    "request pf:2: 2 wanted, 1 free; the others do not count: 1 claimed, 0 on the wrong NUMA node, 9 "
		    "not matched");
}

static void test_claim_network_vlan(void **state)
{
	struct fixture *f = *state;
	load(f, conf_nets);
	struct claim_result res;
	struct claim_request b = req_net(B, "blue", 1);
	claim_ok(f, &b, &res);
	assert_string_equal(res.devs[0].address, "0000:01:10.0");
	assert_int_equal(res.devs[0].vlan, 100);
	assert_int_equal(kvf(f, "eth0", 0)->vlan, 100);
	claim_result_done(&res);
	struct claim_request r = req_net(A, "red", 3);
	claim_ok(f, &r, &res);
	assert_int_equal(res.n_devs, 3);
	assert_string_equal(res.devs[2].address, "0000:02:10.4");
	assert_int_equal(res.devs[2].vlan, -1);
	claim_result_done(&res);
	struct claim_request u = req_net(C, "green", 1);
	claim_fails(f, &u, -ENOENT, "network: 'green' is not a network of the config");
}

/* A netlink failure on the second VF: the first is put back, nothing is
 * recorded but a line in the history. */
static void test_claim_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	load(f, conf_nets);
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	/* The kernel lists VF 0 only. */
	pf->num_vfs = 1;
	struct claim_request r = req_net(A, "blue", 2);
	claim_fails(f, &r, -ENOENT, "VF 0000:01:10.2: eth0: the kernel lists no VF 1 (IFLA_NUM_VF 1)");
	assert_int_equal(pf->vfs[0].vlan, 0);
	assert_int_equal(pf->vfs[1].vlan, 0);
	assert_int_equal(count_claims(f, 0), 0);
	struct ledger_events e;
	assert_int_equal(ledger_events_since(f->ledger, 0, 0, &e), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.v[0].event, "claim");
	assert_string_equal(e.v[1].event, "failed");
	ledger_events_done(&e);
	/* Without the fault the same claim goes through. */
	pf->num_vfs = 3;
	struct claim_result res;
	claim_ok(f, &r, &res);
	assert_int_equal(res.n_devs, 2);
	assert_int_equal(pf->vfs[1].vlan, 100);
	claim_result_done(&res);
}

static void test_claim_numa(void **state)
{
	struct fixture *f = *state;
	load(f, "version: 1\naliases:\n  - {name: req, product_id: 10ca, numa_policy: required}\n"
		"  - {name: leg, product_id: 10ca}\n");
	struct claim_request a = req_alias(A, "req:1");
	a.numa_nodes[0] = 0;
	a.n_numa_nodes = 1;
	/* The testbed has no NUMA (-1): required refuses, legacy takes. */
	claim_fails(f, &a, -ENOSPC,
		    "request req:1: 1 wanted, 0 free; the others do not count: 0 claimed, 6 on the wrong NUMA node, 5 "
		    "not matched");
	a.what = "leg:1";
	struct claim_result res;
	claim_ok(f, &a, &res);
	claim_result_done(&res);
}

static void test_claim_bad_input(void **state)
{
	struct fixture *f = *state;
	struct claim_request r = req_device("not-a-uuid", "0000:01:10.0");
	claim_fails(f, &r, -EINVAL, "consumer: 'not-a-uuid' is not a UUID (8-4-4-4-12 hex digits)");
	r = req_device(A, "0000:09:00.0");
	char want[600];
	snprintf(want, sizeof(want), "device: 0000:09:00.0: no such device (not a netdev or PCI address under %s)", f->sys);
	claim_fails(f, &r, -ENOENT, want);
	r = req_alias(A, "nic:1");
	claim_fails(f, &r, -EINVAL, "request: alias 'nic' is not defined");
	r = req_device(A, "0000:01:10.0");
	r.vlan = 4095;
	claim_fails(f, &r, -EINVAL, "vlan: 4095 is not 0-4094");
	r = req_device(A, "0000:00:02.0");
	r.vlan = 5;
	claim_fails(f, &r, -EINVAL, "vlan: 0000:00:02.0 is a pci, not a VF: it takes no MAC or VLAN");
	r = req_device(A, "0000:01:10.0");
	r.count = 2;
	claim_fails(f, &r, -EINVAL, "count: only a claim by network takes a count");
}

/* The consumer's one claim is released, and its device comes back clean. */
static void release_clean(struct fixture *f, const char *consumer)
{
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(release_run(&f->env, consumer, 0, &rel, &error), 0);
	assert_int_equal(rel.n, 1);
	assert_int_equal(rel.v[0].state, LEDGER_RELEASED);
	assert_null(rel.v[0].reason);
	release_result_done(&rel);
}

/* What eth0's VF vf_index is given when it is free (the stable MAC...). */
static void desired_of(struct fixture *f, uint32_t vf_index, struct vf_settings *ret)
{
	struct pci_tree *t;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	assert_int_equal(apply_vf_desired(NULL, &f->env.apply, pci_tree_find_addr(t, "0000:01:00.0"), vf_index, ret, NULL), 0);
	pci_tree_free(t);
}

static void test_release_scrubs(void **state)
{
	struct fixture *f = *state;
	load(f, conf_nets);
	struct claim_result res;
	struct claim_request b = req_net(B, "blue", 1);
	b.has_mac = true;
	memcpy(b.mac, "\x02\x11\x22\x33\x44\x55", 6);
	claim_ok(f, &b, &res);
	claim_result_done(&res);
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	assert_int_equal(pf->vfs[0].vlan, 100);
	/* The consumer changed things meanwhile. */
	pf->vfs[0].trust = true;
	pf->vfs[0].spoofchk = false;
	pf->vfs[0].max_tx_rate = 100;
	release_clean(f, B);
	struct vf_settings want;
	desired_of(f, 0, &want);
	assert_memory_equal(pf->vfs[0].mac, want.mac, 6);
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(pf->vfs[0].vlan, 0);
	assert_true(pf->vfs[0].spoofchk);
	assert_false(pf->vfs[0].trust);
	assert_int_equal(pf->vfs[0].max_tx_rate, 0);
	/* A second release is a no-op; an unknown consumer an error. */
	assert_int_equal(release_run(&f->env, B, 0, &rel, &error), 0);
	assert_int_equal(rel.n, 0);
	release_result_done(&rel);
	assert_int_equal(release_run(&f->env, C, 0, &rel, &error), -ENOENT);
	assert_string_equal(error, "consumer: " C " is not known to the ledger (it never claimed anything)");
	free(error);
	error = NULL;
	assert_int_equal(release_run(&f->env, B, 7, &rel, &error), -ENOENT);
	assert_string_equal(error, "claim: 7 is not a claim of consumer " B);
	free(error);
	/* Back in the pool. */
	struct claim_request a = req_device(A, "0000:01:10.0");
	claim_ok(f, &a, &res);
	claim_result_done(&res);
}

/* The PF refuses to take spoof checking back: the VF stays out of the pool. */
static void test_release_unclean(void **state)
{
	struct fixture *f = *state;
	struct claim_result res;
	struct claim_request a = req_device(A, "0000:01:10.0");
	claim_ok(f, &a, &res);
	claim_result_done(&res);
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	pf->vfs[0].spoofchk = false;
	pf->rule[IFLA_VF_SPOOFCHK] = (struct fake_rtnl_rule){.error = -EPERM};
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	assert_int_equal(rel.v[0].state, LEDGER_UNCLEAN);
	assert_string_equal(rel.v[0].reason, "VF 0000:01:10.0: the PF driver refused spoofchk: Operation not permitted; "
					     "VF 0000:01:10.0 reads back spoofchk off, not on");
	release_result_done(&rel);
	struct ledger_claims list;
	assert_int_equal(claims_list(&f->env, NULL, &list, &error), 0);
	assert_int_equal(list.n, 1);
	assert_int_equal(list.v[0].state, LEDGER_UNCLEAN);
	ledger_claims_done(&list);
	struct claim_request b = req_device(B, "0000:01:10.0");
	claim_fails(f, &b, -EBUSY, "device: 0000:01:10.0: it is held by consumer " A " (claim 1)");
	/* Once the driver takes it, a release again makes it clean. */
	pf->rule[IFLA_VF_SPOOFCHK] = (struct fake_rtnl_rule){0};
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	assert_int_equal(rel.v[0].state, LEDGER_RELEASED);
	release_result_done(&rel);
}

/* The address VF vf_addr's netdev ifname carries, as the fake tree has
 * it in both its copies (they must agree). */
static void netdev_address(struct fixture *f, const char *vf_addr, const char *ifname, char buf[VF_MAC_STRLEN])
{
	char p1[600], p2[600];
	snprintf(p1, sizeof(p1), "%s/class/net/%s/address", f->sys, ifname);
	snprintf(p2, sizeof(p2), "%s/bus/pci/devices/%s/net/%s/address", f->sys, vf_addr, ifname);
	_cleanup_free_ char *a = NULL, *b = NULL;
	assert_int_equal(read_text_file(p1, 64, &a), 0);
	assert_int_equal(read_text_file(p2, 64, &b), 0);
	assert_string_equal(a, b);
	snprintf(buf, VF_MAC_STRLEN, "%s", a);
}

/* consumer claims VF addr with MAC mac (6 bytes). */
static void claim_with_mac(struct fixture *f, const char *consumer, const char *addr, const char *mac)
{
	struct claim_request a = req_device(consumer, addr);
	a.has_mac = true;
	memcpy(a.mac, mac, 6);
	struct claim_result res;
	claim_ok(f, &a, &res);
	claim_result_done(&res);
}

/* A VF left on its host driver: its netdev carries the claim's MAC when the
 * claim returns, and the PF's (the stable MAC) again after the release; a
 * netdev that does not take it fails the claim, and the PF's view and the
 * netdev are put back. */
static void test_claim_netdev_mac(void **state)
{
	struct fixture *f = *state;
	char got[VF_MAC_STRLEN], stable[VF_MAC_STRLEN];
	claim_with_mac(f, A, "0000:01:10.2", "\x02\x11\x22\x33\x44\x55");
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, "02:11:22:33:44:55");
	mac_str(kvf(f, "eth0", 1), got);
	assert_string_equal(got, "02:11:22:33:44:55");

	release_clean(f, A);
	struct vf_settings want;
	desired_of(f, 1, &want);
	mac_str(&want, stable);
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, stable);

	/* The netdev refuses (igbvf while it is up): the driver is reloaded
	 * and its probe takes the PF's MAC. */
	f->address_error = -EADDRNOTAVAIL;
	claim_with_mac(f, B, "0000:01:10.2", "\x02\x66\x66\x66\x66\x66");
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, "02:66:66:66:66:66");
	f->address_error = 0;
	release_clean(f, B);
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, stable);

	/* Nor does the probe bring it: the claim fails, and the PF's view
	 * is put back, with no claim left. */
	f->address_error = -EADDRNOTAVAIL;
	f->probe_mac = "02:99:99:99:99:99";
	unsigned tries = f->n_address;
	struct claim_request b = req_device(B, "0000:01:10.2");
	b.has_mac = true;
	memcpy(b.mac, "\x02\x66\x66\x66\x66\x66", 6);
	claim_fails(f, &b, -EADDRNOTAVAIL,
		    "VF 0000:01:10.2: mac: VF 1: its netdev eth3 carries 02:99:99:99:99:99, not 02:66:66:66:66:66, even "
		    "after reloading igbvf (Cannot assign requested address)");
	assert_true(f->n_address > tries);
	mac_str(kvf(f, "eth0", 1), got);
	assert_string_equal(got, stable);
	assert_int_equal(count_claims(f, LEDGER_STATE_BIT(LEDGER_ACTIVE) | LEDGER_STATE_BIT(LEDGER_PENDING)), 0);
	f->address_error = 0;
	f->probe_mac = NULL;
}

/* A release whose PF refuses the scrub MAC leaves the claim unclean and
 * does not touch the netdev: igbvf would refuse the address, and its
 * driver would be reloaded for nothing. */
static void test_release_mac_refused(void **state)
{
	struct fixture *f = *state;
	claim_with_mac(f, A, "0000:01:10.2", "\x02\x11\x22\x33\x44\x55");
	struct fake_rtnl_pf *pf = fake_rtnl_pf(&f->k, "eth0");
	pf->rule[IFLA_VF_MAC] = (struct fake_rtnl_rule){.error = -EPERM};
	unsigned tries = f->n_address;
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	assert_int_equal(rel.v[0].state, LEDGER_UNCLEAN);
	assert_non_null(strstr(rel.v[0].reason, "the PF driver refused mac: Operation not permitted"));
	release_result_done(&rel);
	assert_int_equal(f->n_address, tries);
	char got[VF_MAC_STRLEN];
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, "02:11:22:33:44:55");
	/* Once the PF takes it, the release scrubs both copies. */
	pf->rule[IFLA_VF_MAC] = (struct fake_rtnl_rule){0};
	release_clean(f, A);
	struct vf_settings want;
	char stable[VF_MAC_STRLEN];
	desired_of(f, 1, &want);
	mac_str(&want, stable);
	netdev_address(f, "0000:01:10.2", "eth3", got);
	assert_string_equal(got, stable);
	assert_true(f->n_address > tries);
}

static void test_claim_vfio(void **state)
{
	struct fixture *f = *state;
	struct claim_result res;
	struct claim_request a = req_device(A, "0000:01:10.2");
	a.vfio = true;
	claim_ok(f, &a, &res);
	assert_true(res.devs[0].vfio);
	char node[400];
	snprintf(node, sizeof(node), "%s/%d", f->vfio, group_of(f, "0000:01:10.2"));
	assert_string_equal(res.devs[0].vfio_node, node);
	assert_int_equal(f->preflight_calls, 1);
	claim_result_done(&res);
	struct pci_tree *t;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	assert_string_equal(pci_tree_find_addr(t, "0000:01:10.2")->driver, "vfio-pci");
	pci_tree_free(t);
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	assert_int_equal(rel.v[0].state, LEDGER_RELEASED);
	release_result_done(&rel);
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	assert_string_equal(pci_tree_find_addr(t, "0000:01:10.2")->driver, "igbvf");
	pci_tree_free(t);
	/* A pre-flight that fails puts the driver back and records nothing. */
	f->preflight_error = -EIO;
	a = req_device(B, "0000:01:10.4");
	a.vfio = true;
	claim_fails(f, &a, -EIO, "0000:01:10.4: VFIO pre-flight: cannot get the device fd");
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	assert_string_equal(pci_tree_find_addr(t, "0000:01:10.4")->driver, "igbvf");
	pci_tree_free(t);
	assert_int_equal(count_claims(f, LEDGER_HOLDING), 0);
}

/* Two processes claim at once, each all three VFs of eth0 one by one: no
 * VF goes to both. */
static void test_two_processes(void **state)
{
	struct fixture *f = *state;
	const char *who[2] = {A, B};
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct ledger *l;
			char *error = NULL;
			if (ledger_open(f->sys, NULL, &l, &error) < 0)
				_exit(3);
			struct claim_env env = f->env;
			env.ledger = l;
			const char *vfs[] = {"0000:01:10.0", "0000:01:10.2", "0000:01:10.4"};
			for (int k = 0; k < 3; k++) {
				struct claim_request req = req_device(who[i], vfs[k]);
				struct claim_result res;
				int r = claim_run(&env, &req, &res, &error);
				if (r < 0 && r != -EBUSY)
					_exit(4);
				claim_result_done(&res);
			}
			ledger_close(l);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	struct ledger_holds h;
	assert_int_equal(ledger_holds(f->ledger, &h), 0);
	assert_int_equal(h.n, 3);
	ledger_holds_done(&h);
	assert_int_equal(count_claims(f, 0), 3);
}

/* Killed at each step of a claim: afterwards (the next operation rolls the
 * pending claim back) the ledger holds nothing the host does not show, and
 * the host carries nothing the ledger does not hold. */
static void crash_once(struct fixture *f, const char *step, bool expect_active)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		crash_at = step;
		struct claim_request req = req_net(A, "blue", 1);
		req.vfio = true;
		struct claim_result res;
		char *error = NULL;
		claim_run(&f->env, &req, &res, &error);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	struct ledger_claims list;
	char *error = NULL;
	unsigned n = 0;
	assert_int_equal(claim_recover(&f->env, &n, &error), 0);
	assert_int_equal(n, expect_active ? 0 : 1);
	assert_int_equal(claims_list(&f->env, NULL, &list, &error), 0);
	struct pci_tree *t;
	assert_int_equal(pci_tree_scan(f->sys, &t), 0);
	const char *drv = pci_tree_find_addr(t, "0000:01:10.0")->driver;
	const struct vf_settings *vf = kvf(f, "eth0", 0);
	if (expect_active) {
		assert_int_equal(list.n, 1);
		assert_int_equal(list.v[0].state, LEDGER_ACTIVE);
		assert_string_equal(drv, "vfio-pci");
		assert_int_equal(vf->vlan, 100);
	} else {
		assert_int_equal(list.n, 0);
		assert_string_equal(drv, "igbvf");
		assert_int_equal(vf->vlan, 0);
	}
	pci_tree_free(t);
	ledger_claims_done(&list);
	struct release_result rel;
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	release_result_done(&rel);
	assert_int_equal(count_claims(f, LEDGER_HOLDING), 0);
}

static void test_crash_at_every_step(void **state)
{
	struct fixture *f = *state;
	load(f, conf_nets);
	static const char *const steps[] = {"pending", "netlink", "vfio", "preflight"};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
		crash_once(f, steps[i], false);
	crash_once(f, "active", true);
	struct ledger_events e;
	assert_int_equal(ledger_events_since(f->ledger, 0, 0, &e), 0);
	unsigned rollbacks = 0;
	for (size_t i = 0; i < e.n; i++)
		rollbacks += strcmp(e.v[i].event, "rollback") == 0;
	assert_int_equal(rollbacks, 4);
	ledger_events_done(&e);
}

/* A crash after the scrub, before the release was recorded: the claim is
 * still active and the next release finishes it. */
static void test_crash_in_release(void **state)
{
	struct fixture *f = *state;
	struct claim_result res;
	struct claim_request req = req_device(A, "0000:01:10.0");
	claim_ok(f, &req, &res);
	claim_result_done(&res);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		crash_at = "scrub";
		struct release_result rel;
		char *error = NULL;
		release_run(&f->env, A, 0, &rel, &error);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(count_claims(f, LEDGER_STATE_BIT(LEDGER_ACTIVE)), 1);
	struct release_result rel;
	char *error = NULL;
	assert_int_equal(release_run(&f->env, A, 0, &rel, &error), 0);
	assert_int_equal(rel.n, 1);
	assert_int_equal(rel.v[0].state, LEDGER_RELEASED);
	release_result_done(&rel);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--ledger-reader") == 0)
		return ledger_reader(argv[2], argv[3]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ledger_schema_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_newer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_migrates_older, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_two_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_audit_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_device_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_refuses_naming_consumer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_alias_and_over_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_network_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_numa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_scrubs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_unclean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_mac_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_vfio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_netdev_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_at_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_in_release, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

#include <limits.h>

#include "apply/apply.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stable_mac_rows),
		cmocka_unit_test(test_stable_mac_never_collides),
		cmocka_unit_test_setup_teardown(test_duplicate_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_across_pfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_against_unmentioned_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_duplicate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

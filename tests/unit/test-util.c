/* Unit tests for util/ and the small parsers of sysfs/ and vf/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>

#include "sysfs/sysfs.h"
#include "util/util.h"
#include "vf/vf.h"

static void test_parse_u32(void **state)
{
	(void)state;
	uint32_t v = 0;
	assert_int_equal(parse_u32("7", 0, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_u32(" 0x10 \n", 0, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_u32("10ca", 16, &v), 0);
	assert_int_equal(v, 0x10ca);
	assert_int_equal(parse_u32("4294967295", 10, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	/* garbage, empty, negative, overflow, trailing junk */
	assert_int_equal(parse_u32("", 0, &v), -EINVAL);
	assert_int_equal(parse_u32("   ", 0, &v), -EINVAL);
	assert_int_equal(parse_u32("abc", 10, &v), -EINVAL);
	assert_int_equal(parse_u32("-1", 10, &v), -ERANGE);
	assert_int_equal(parse_u32("4294967296", 10, &v), -ERANGE);
	assert_int_equal(parse_u32("12x", 10, &v), -EINVAL);
	assert_int_equal(parse_u32(NULL, 10, &v), -EINVAL);
}

static void test_parse_i32(void **state)
{
	(void)state;
	int32_t v = 0;
	assert_int_equal(parse_i32("-1", 10, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(parse_i32("2147483648", 10, &v), -ERANGE);
	assert_int_equal(parse_i32("1 2", 10, &v), -EINVAL);
}

static void test_parse_u64(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int r;
		uint64_t v;
	} rows[] = {
		{"0", 0, 0},
		{"12\n", 0, 12},
		{"4294967296", 0, 4294967296ull},
		{"18446744073709551615", 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0},
		{"-1", -ERANGE, 0},
		{" -1", -ERANGE, 0},
		{"+1", 0, 1},
		{"", -EINVAL, 0},
		{" \n", -EINVAL, 0},
		{"x", -EINVAL, 0},
		{"12 3", -EINVAL, 0},
		{NULL, -EINVAL, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint64_t v = 99;
		int r = parse_u64(rows[i].in, 10, &v);
		if (r != rows[i].r || (r == 0 && v != rows[i].v))
			fail_msg("row %zu '%s': %d %llu", i, rows[i].in ? rows[i].in : "(null)", r, (unsigned long long)v);
		if (r < 0 && v != 99)
			fail_msg("row %zu: *ret set on failure", i);
	}
}

static void pci_addr_one(const char *in, int expect_r, const char *expect)
{
	struct pci_addr a;
	int r = pci_addr_parse(in, &a);
	assert_int_equal(r, expect_r);
	if (r == 0) {
		char buf[PCI_ADDR_STRLEN];
		pci_addr_format(&a, buf);
		assert_string_equal(buf, expect);
	}
}

static void test_pci_addr(void **state)
{
	(void)state;
	pci_addr_one("0000:01:00.0", 0, "0000:01:00.0");
	pci_addr_one("01:10.6", 0, "0000:01:10.6");
	pci_addr_one("ABCD:FF:1F.7", 0, "abcd:ff:1f.7");
	pci_addr_one("0:1:0.0", 0, "0000:01:00.0");
	pci_addr_one("1:0.0", 0, "0000:01:00.0");
	/* each part at its bound, and one past it */
	pci_addr_one("ffff:00:00.0", 0, "ffff:00:00.0");
	pci_addr_one("10000:01:00.0", -EINVAL, NULL);   /* domain > 0xffff */
	pci_addr_one("0000:ff:00.0", 0, "0000:ff:00.0");
	pci_addr_one("0000:100:00.0", -EINVAL, NULL);   /* bus > 0xff */
	pci_addr_one("100:00.0", -EINVAL, NULL);
	pci_addr_one("0000:01:1f.0", 0, "0000:01:1f.0");
	pci_addr_one("0000:01:20.0", -EINVAL, NULL);    /* slot > 0x1f */
	pci_addr_one("01:20.0", -EINVAL, NULL);
	pci_addr_one("0000:01:00.7", 0, "0000:01:00.7");
	pci_addr_one("0000:01:00.8", -EINVAL, NULL);    /* function > 7 */
	pci_addr_one("01:00.8", -EINVAL, NULL);
	/* overflowing parts used to wrap around (sscanf %x) */
	pci_addr_one("100000000:01:00.0", -EINVAL, NULL);
	pci_addr_one("01:00.100000007", -EINVAL, NULL);
	pci_addr_one("0000:100000001:00.0", -EINVAL, NULL);
	pci_addr_one("0000:01:100000000.0", -EINVAL, NULL);
	pci_addr_one("ffffffffffffffffffff:01:00.0", -EINVAL, NULL);
	/* too many digits even when the value fits */
	pci_addr_one("00000:01:00.0", -EINVAL, NULL);
	pci_addr_one("0000:001:00.0", -EINVAL, NULL);
	pci_addr_one("0000:01:000.0", -EINVAL, NULL);
	pci_addr_one("0000:01:00.00", -EINVAL, NULL);
	/* shape */
	pci_addr_one("eth0", -EINVAL, NULL);
	pci_addr_one("0000:01:00.0x", -EINVAL, NULL);
	pci_addr_one("0000:01:00.0:", -EINVAL, NULL);
	pci_addr_one("0000:01:00:0", -EINVAL, NULL);
	pci_addr_one("0000:01:00", -EINVAL, NULL);
	pci_addr_one("0000::00.0", -EINVAL, NULL);
	pci_addr_one(":01:00.0", -EINVAL, NULL);
	pci_addr_one("0000:01:.0", -EINVAL, NULL);
	pci_addr_one("0000:01:00.", -EINVAL, NULL);
	pci_addr_one("0:0000:01:00.0", -EINVAL, NULL);
	pci_addr_one("+1:00.0", -EINVAL, NULL);
	pci_addr_one("-1:00.0", -EINVAL, NULL);
	pci_addr_one("0x1:00.0", -EINVAL, NULL);
	pci_addr_one(" 01:00.0", -EINVAL, NULL);
	pci_addr_one("01:00.0 ", -EINVAL, NULL);
	pci_addr_one("01:00.0\n", -EINVAL, NULL);
	pci_addr_one("", -EINVAL, NULL);
	pci_addr_one(NULL, -EINVAL, NULL);
}

static void test_vf_names(void **state)
{
	(void)state;
	assert_string_equal(vf_link_state_to_string(VF_LINK_STATE_DISABLE), "disable");
	assert_null(vf_link_state_to_string(_VF_LINK_STATE_MAX));
	assert_int_equal(vf_link_state_from_string("enable"), VF_LINK_STATE_ENABLE);
	assert_int_equal(vf_link_state_from_string("up"), _VF_LINK_STATE_INVALID);
	uint16_t p;
	assert_int_equal(vf_vlan_proto_from_string("802.1ad", &p), 0);
	assert_int_equal(p, VF_ETH_P_8021AD);
	assert_string_equal(vf_vlan_proto_to_string(VF_ETH_P_8021Q), "802.1Q");
	assert_int_equal(vf_vlan_proto_from_string("qinq", &p), -EINVAL);

	uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0xff};
	char buf[VF_MAC_STRLEN];
	vf_mac_format(mac, 6, buf);
	assert_string_equal(buf, "02:11:22:33:44:ff");
	vf_mac_format(mac, 0, buf);
	assert_string_equal(buf, "");
}

static void test_strv(void **state)
{
	(void)state;
	char **v = NULL;
	assert_int_equal(strv_push(&v, strdup("eth1")), 0);
	assert_int_equal(strv_push(&v, strdup("eth0")), 0);
	strv_sort(v);
	assert_string_equal(v[0], "eth0");
	assert_int_equal(strv_length(v), 2);
	assert_true(strv_contains(v, "eth1"));
	assert_false(strv_contains(v, "eth2"));
	strv_free(v);
}

static uint64_t clock_ns(void)
{
	struct timespec ts;
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The helpers read CLOCK_MONOTONIC in their units: each reading lies
 * between two of the clock's own, taken around it. */
static void test_mono_now(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		uint64_t before = clock_ns(), ns = mono_now_ns(), after = clock_ns();
		assert_true(before <= ns && ns <= after);
		before = clock_ns();
		ns = mono_now_ns_hook(NULL);
		after = clock_ns();
		assert_true(before <= ns && ns <= after);
		before = clock_ns();
		uint64_t ms = mono_now_ms();
		after = clock_ns();
		assert_true(before / 1000000u <= ms && ms <= after / 1000000u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u32), cmocka_unit_test(test_parse_i32),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_pci_addr),  cmocka_unit_test(test_vf_names),
		cmocka_unit_test(test_strv),      cmocka_unit_test(test_mono_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

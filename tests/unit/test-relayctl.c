/* Unit tests for relayctl/: the field rules of a relay request (rows of
 * good and bad input with their exact messages), the POST body, the paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "relayctl/relayctl.h"
#include "util/util.h"

static void lcores_good(const char *in, const char *expect)
{
	uint32_t v[RELAYCTL_MAX_LCORES];
	size_t n = 0;
	char *err = NULL;
	assert_int_equal(relayctl_lcores(in, v, &n, &err), 0);
	assert_null(err);
	char buf[256] = "", *p = buf;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%u", i ? " " : "", v[i]);
	assert_string_equal(buf, expect);
}

static void lcores_bad(const char *in, const char *expect)
{
	uint32_t v[RELAYCTL_MAX_LCORES];
	size_t n = 99;
	_cleanup_free_ char *err = NULL;
	assert_int_equal(relayctl_lcores(in, v, &n, &err), -EINVAL);
	assert_non_null(err);
	assert_string_equal(err, expect);
	assert_int_equal(n, 99); /* untouched on failure */
}

static void test_lcores(void **state)
{
	(void)state;
	lcores_good("1", "1");
	lcores_good("0", "0");
	lcores_good("127", "127");
	lcores_good("1,3", "1 3");
	lcores_good("3,1", "3 1");
	lcores_good("2-4", "2 3 4");
	lcores_good("1,5-6,9", "1 5 6 9");
	lcores_good("0-15", "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15");
	lcores_bad("", "give lcore ids: N[,N...] or N-M");
	lcores_bad(NULL, "give lcore ids: N[,N...] or N-M");
	lcores_bad("128", "'128' is not an lcore id (0-127)");
	lcores_bad("x", "'x' is not an lcore id (0-127)");
	lcores_bad("1,1", "lcore 1 is given twice");
	lcores_bad("1-3,2", "lcore 2 is given twice");
	lcores_bad("4-2", "'4-2' is a range that goes down");
	lcores_bad("0-16", "at most 16 lcores");
	lcores_bad("1,", "'1,' is not N[,N...] or N-M");
	lcores_bad(",1", "',1' is not N[,N...] or N-M");
	lcores_bad("1,,2", "'1,,2' is not N[,N...] or N-M");
	lcores_bad("-1", "'' is not an lcore id (0-127)");
	lcores_bad("1-", "'' is not an lcore id (0-127)");
	lcores_bad(" 1", "' 1' is not an lcore id (0-127)");
	lcores_bad("+1", "'+1' is not an lcore id (0-127)");
}

static void test_numbers(void **state)
{
	(void)state;
	static const struct {
		int (*fn)(const char *, uint32_t *, char **);
		const char *in;
		int r;
		uint32_t v;
		const char *err;
	} rows[] = {
		{relayctl_queues, "1", 0, 1, NULL},
		{relayctl_queues, "8", 0, 8, NULL},
		{relayctl_queues, "0", -EINVAL, 0, "'0' is not a number of queue pairs (1-8)"},
		{relayctl_queues, "9", -EINVAL, 0, "'9' is not a number of queue pairs (1-8)"},
		{relayctl_queues, "-1", -EINVAL, 0, "'-1' is not a number of queue pairs (1-8)"},
		{relayctl_queues, "2x", -EINVAL, 0, "'2x' is not a number of queue pairs (1-8)"},
		{relayctl_queues, "", -EINVAL, 0, "'' is not a number of queue pairs (1-8)"},
		{relayctl_queues, "0x2", -EINVAL, 0, "'0x2' is not a number of queue pairs (1-8)"},
		{relayctl_mtu, "68", 0, 68, NULL},
		{relayctl_mtu, "1500", 0, 1500, NULL},
		{relayctl_mtu, "9600", 0, 9600, NULL},
		{relayctl_mtu, "67", -EINVAL, 0, "'67' is not an MTU (68-9600)"},
		{relayctl_mtu, "9601", -EINVAL, 0, "'9601' is not an MTU (68-9600)"},
		{relayctl_mtu, "99999999999", -EINVAL, 0, "'99999999999' is not an MTU (68-9600)"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint32_t v = 0;
		_cleanup_free_ char *err = NULL;
		assert_int_equal(rows[i].fn(rows[i].in, &v, &err), rows[i].r);
		if (rows[i].r == 0) {
			assert_int_equal(v, rows[i].v);
			assert_null(err);
		} else {
			assert_string_equal(err, rows[i].err);
		}
	}
}

static void test_words(void **state)
{
	(void)state;
	assert_int_equal(relayctl_mode("server"), 0);
	assert_int_equal(relayctl_mode("client"), 1);
	assert_int_equal(relayctl_mode("Server"), -EINVAL);
	assert_int_equal(relayctl_mode("serv"), -EINVAL);
	assert_int_equal(relayctl_mode(""), -EINVAL);
	assert_int_equal(relayctl_mode(NULL), -EINVAL);

	static const char *const good[] = {"a", "vm1", "relay0", "x.y-z_0", "abcdefghijklmnopqrstuvwxyzabcdef"};
	static const char *const bad[] = {"", "a/b", "a b", "..\x01", "caf\xc3\xa9", "a:b", "abcdefghijklmnopqrstuvwxyzabcdefg"};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(relayctl_name_ok(good[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(relayctl_name_ok(bad[i]), -EINVAL);
	assert_int_equal(relayctl_name_ok(NULL), -EINVAL);

	assert_true(relayctl_vf_passes("0000:01:10.0"));
	assert_true(relayctl_vf_passes("01:10.0"));
	assert_true(relayctl_vf_passes("net_null0"));
	assert_true(relayctl_vf_passes("net_af_packet0,iface=veth0"));
	assert_false(relayctl_vf_passes("eth0#1"));
	assert_false(relayctl_vf_passes("enp1s0v1"));
	assert_false(relayctl_vf_passes("0000:01:10.8"));
	assert_false(relayctl_vf_passes(NULL));

	_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;
	assert_int_equal(relayctl_socket_path_ok("/run/vm1.sock", NULL), 0);
	assert_int_equal(relayctl_socket_path_ok("vm1.sock", &e1), -EINVAL);
	assert_string_equal(e1, "'vm1.sock' is not an absolute path");
	assert_int_equal(relayctl_socket_path_ok("", &e2), -EINVAL);
	assert_string_equal(e2, "'' is not an absolute path");
	char longp[120];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(relayctl_socket_path_ok(longp, &e3), -ENAMETOOLONG);
	assert_non_null(strstr(e3, "is longer than a Unix socket path may be (107)"));
}

static void body_is(const struct relayctl_spec *s, const char *expect)
{
	json_t *j = relayctl_body(s);
	assert_non_null(j);
	_cleanup_free_ char *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	assert_string_equal(t, expect);
}

static void test_body(void **state)
{
	(void)state;
	body_is(&(struct relayctl_spec){.vf = "0000:01:10.0", .socket = "/run/a.sock"},
		"{\"socket\":\"/run/a.sock\",\"vf\":\"0000:01:10.0\"}");
	body_is(&(struct relayctl_spec){.name = "vm1", .vf = "0000:01:10.0", .socket = "/run/a.sock", .mode = "client",
					.queues = 2, .mtu = 9000, .lcores = {1, 3}, .n_lcores = 2},
		"{\"lcores\":[1,3],\"mode\":\"client\",\"mtu\":9000,\"name\":\"vm1\",\"queues\":2,"
		"\"socket\":\"/run/a.sock\",\"vf\":\"0000:01:10.0\"}");

	_cleanup_free_ char *p1 = relayctl_path("vm1", NULL), *p2 = relayctl_path("vm1", "stats"),
			     *p3 = relayctl_path("a/b?c", NULL);
	assert_string_equal(p1, "/v1/relays/vm1");
	assert_string_equal(p2, "/v1/relays/vm1/stats");
	assert_string_equal(p3, "/v1/relays/a%2Fb%3Fc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lcores),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

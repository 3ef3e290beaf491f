/* Unit tests for vf/: parsing `vf set` settings, good and bad rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/util.h"
#include "vf/vf.h"

/* Parses a space-separated settings line. */
static int parse_line(const char *line, struct vf_settings *s, char **err)
{
	char *copy = strdup(line), *argv[32], *save = NULL;
	int argc = 0;
	for (char *tok = strtok_r(copy, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	*s = (struct vf_settings){.index = 3};
	int r = vf_settings_parse(argc, argv, s, err);
	free(copy);
	return r;
}

static void bad(const char *line, const char *expect)
{
	struct vf_settings s;
	char *err = NULL;
	int r = parse_line(line, &s, &err);
	if (r != -EINVAL)
		fail_msg("'%s' was accepted", line);
	if (!err || !strstr(err, expect))
		fail_msg("'%s': error '%s' lacks '%s'", line, err ? err : "(null)", expect);
	free(err);
}

static void test_good(void **state)
{
	(void)state;
	struct vf_settings s;
	char *err = NULL;
	assert_int_equal(parse_line("mac 02:11:22:33:44:55 vlan 100 qos 3 proto 802.1ad spoofchk off trust on "
				    "state disable min-rate 0 max-rate 1000 query-rss on",
				    &s, &err),
			 0);
	assert_null(err);
	assert_int_equal(s.index, 3);
	assert_int_equal(s.has, VF_HAS(_VF_FIELD_MAX) - 1 - VF_HAS(VF_FIELD_STATS));
	char buf[VF_MAC_STRLEN];
	vf_field_format(&s, VF_FIELD_MAC, buf, sizeof(buf));
	assert_string_equal(buf, "02:11:22:33:44:55");
	assert_int_equal(s.vlan, 100);
	assert_int_equal(s.qos, 3);
	assert_int_equal(s.vlan_proto, VF_ETH_P_8021AD);
	assert_false(s.spoofchk);
	assert_true(s.trust);
	assert_int_equal(s.link_state, VF_LINK_STATE_DISABLE);
	assert_int_equal(s.max_tx_rate, 1000);
	assert_true(s.query_rss);
	vf_field_format(&s, VF_FIELD_VLAN_PROTO, buf, sizeof(buf));
	assert_string_equal(buf, "802.1ad");
	vf_field_format(&s, VF_FIELD_LINK_STATE, buf, sizeof(buf));
	assert_string_equal(buf, "disable");

	/* vlan alone: QoS 0 and 802.1Q, as the kernel's one attribute needs */
	assert_int_equal(parse_line("vlan 4094", &s, &err), 0);
	assert_int_equal(s.has, VF_HAS(VF_FIELD_VLAN));
	assert_int_equal(s.vlan_proto, VF_ETH_P_8021Q);
	assert_int_equal(parse_line("vlan 0", &s, &err), 0);
	assert_int_equal(parse_line("max-rate 0 min-rate 5", &s, &err), 0); /* max 0 = no limit */
	assert_int_equal(parse_line("mac 0A:bb:CC:dd:EE:ff", &s, &err), 0);
}

static void test_bad(void **state)
{
	(void)state;
	bad("", "no settings given");
	bad("mac", "mac: needs a value");
	bad("mac zz:11:22:33:44:55", "not a MAC address");
	bad("mac 02:11:22:33:44", "not a MAC address");
	bad("mac 02:11:22:33:44:55:66", "not a MAC address");
	bad("mac 2:11:22:33:44:55", "not a MAC address");
	bad("mac 01:00:5e:00:00:01", "multicast");
	bad("mac ff:ff:ff:ff:ff:ff", "multicast");
	bad("mac 00:00:00:00:00:00", "all-zero");
	bad("vlan 4095", "vlan: '4095' is out of range 0-4094");
	bad("vlan 5000", "out of range");
	bad("vlan -1", "vlan: '-1' is not a number");
	bad("vlan abc", "not a number");
	bad("vlan 1e3", "not a number");
	bad("vlan 0x10", "not a number");
	bad("vlan 99999999999999999999", "out of range");
	bad("vlan 10 qos 8", "qos: '8' is out of range 0-7");
	bad("qos 3", "qos: needs vlan");
	bad("proto 802.1ad", "proto: needs vlan");
	bad("vlan 5 proto qinq", "not 802.1Q or 802.1ad");
	bad("spoofchk yes", "spoofchk: 'yes' is not on or off");
	bad("trust 1", "trust: '1' is not on or off");
	bad("query-rss maybe", "query-rss");
	bad("state up", "state: 'up' is not auto, enable or disable");
	bad("min-rate 100 max-rate 10", "min-rate 100 is above max-rate 10");
	bad("max-rate -5", "not a number");
	bad("speed 10", "unknown setting 'speed'");
	bad("MAC 02:11:22:33:44:55", "unknown setting 'MAC'"); /* keywords match exactly */
	bad("vlan 5 vlan 6", "vlan: given twice");
	bad("vlan", "needs a value");
}

/* Which argument failed is data (argv index, field, key or value), not words. */
static void where_row(const char *line, int arg, int field, bool value)
{
	char *copy = strdup(line), *argv[32], *save = NULL;
	int argc = 0;
	for (char *tok = strtok_r(copy, " ", &save); tok && argc < 32; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	struct vf_settings s = {.index = 3};
	struct vf_parse_where w = {.arg = 99, .field = 99};
	char *err = NULL;
	assert_int_equal(vf_settings_parse_at(argc, argv, &s, &w, &err), -EINVAL);
	if (w.arg != arg || w.field != field || w.value != value)
		fail_msg("'%s': got arg %d field %d value %d, want %d %d %d", line, w.arg, w.field, w.value, arg, field,
			 value);
	free(err);
	free(copy);
}

static void test_where(void **state)
{
	(void)state;
	where_row("", -1, -1, false);
	where_row("trust on vlan 5000", 2, VF_FIELD_VLAN, true);
	where_row("mac 01:00:5e:00:00:01", 0, VF_FIELD_MAC, true);
	where_row("trust on speed 10", 2, -1, false);
	where_row("vlan 5 trust on vlan 6", 4, VF_FIELD_VLAN, false);
	where_row("trust on state", 2, VF_FIELD_LINK_STATE, false);
	where_row("max-rate 10 trust on min-rate 100", 4, VF_FIELD_MIN_RATE, false);
	where_row("trust on qos 3", 2, VF_FIELD_QOS, false);
	where_row("proto 802.1ad", 0, VF_FIELD_VLAN_PROTO, false);

	/* the cross-field rules on settings as they are, e.g. merged */
	struct vf_settings s = {.has = VF_HAS(VF_FIELD_MIN_RATE) | VF_HAS(VF_FIELD_MAX_RATE), .min_tx_rate = 200,
				.max_tx_rate = 100};
	enum vf_field f = _VF_FIELD_MAX;
	char *err = NULL;
	assert_int_equal(vf_settings_check(&s, &f, &err), -EINVAL);
	assert_int_equal(f, VF_FIELD_MIN_RATE);
	assert_string_equal(err, "min-rate 200 is above max-rate 100");
	free(err);
	s.max_tx_rate = 0; /* no limit */
	assert_int_equal(vf_settings_check(&s, &f, &err), 0);
	s.has = VF_HAS(VF_FIELD_QOS);
	assert_int_equal(vf_settings_check(&s, &f, &err), -EINVAL);
	assert_int_equal(f, VF_FIELD_QOS);
	assert_string_equal(err, "qos: needs vlan in the same command (the kernel sets VLAN, QoS and protocol together)");
	free(err);
	s.has |= VF_HAS(VF_FIELD_VLAN);
	assert_int_equal(vf_settings_check(&s, NULL, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_where),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

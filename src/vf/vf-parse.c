/* Parsing and formatting VF settings the way users write them. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/input.h"
#include "util/util.h"
#include "vf.h"

static const char *const field_names[_VF_FIELD_MAX] = {
	[VF_FIELD_MAC] = "mac",           [VF_FIELD_VLAN] = "vlan",
	[VF_FIELD_QOS] = "qos",           [VF_FIELD_VLAN_PROTO] = "proto",
	[VF_FIELD_SPOOFCHK] = "spoofchk", [VF_FIELD_TRUST] = "trust",
	[VF_FIELD_LINK_STATE] = "state",  [VF_FIELD_MIN_RATE] = "min-rate",
	[VF_FIELD_MAX_RATE] = "max-rate", [VF_FIELD_QUERY_RSS] = "query-rss",
};

const char *vf_field_name(enum vf_field f)
{
	return (unsigned)f < _VF_FIELD_MAX ? field_names[f] : NULL;
}

int vf_mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char byte[3] = {s[0], s[1], '\0'};
		mac[i] = (uint8_t)strtoul(byte, NULL, 16);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s == '\0' ? 0 : -EINVAL;
}

static int parse_bool(const char *v, bool *ret)
{
	if (strcmp(v, "on") == 0)
		*ret = true;
	else if (strcmp(v, "off") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* One parser per field; each returns 0 or fills *err. */
typedef int (*field_parser)(const char *v, struct vf_settings *s, char **err);

static int parse_mac_field(const char *v, struct vf_settings *s, char **err)
{
	uint8_t mac[6];
	if (vf_mac_parse(v, mac) < 0)
		return error_set(err, -EINVAL, "mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", QUOTE(v));
	if (mac[0] & 1)
		return error_set(err, -EINVAL, "mac: '%s' is a multicast address; a VF needs a unicast MAC", QUOTE(v));
	static const uint8_t zero[6];
	if (memcmp(mac, zero, 6) == 0)
		return error_set(err, -EINVAL, "mac: '%s' is the all-zero address; a VF needs a unicast MAC", QUOTE(v));
	memcpy(s->mac, mac, 6);
	s->mac_len = 6;
	return 0;
}

static int parse_number(const char *v, const char *name, uint32_t max, uint32_t *ret, char **err)
{
	/* Decimal only: "1e3" or "0x10" in a VLAN is more likely a typo than intent. */
	for (const char *p = v; *p; p++)
		if (!isdigit((unsigned char)*p))
			return error_set(err, -EINVAL, "%s: '%s' is not a number", name, QUOTE(v));
	if (parse_u32(v, 10, ret) < 0 || *ret > max)
		return error_set(err, -EINVAL, "%s: '%s' is out of range 0-%u", name, QUOTE(v), max);
	return 0;
}

static int parse_vlan_field(const char *v, struct vf_settings *s, char **err)
{
	uint32_t n;
	int r = parse_number(v, "vlan", 4094, &n, err);
	s->vlan = (uint16_t)n;
	return r;
}

static int parse_qos_field(const char *v, struct vf_settings *s, char **err)
{
	uint32_t n;
	int r = parse_number(v, "qos", 7, &n, err);
	s->qos = (uint8_t)n;
	return r;
}

static int parse_proto_field(const char *v, struct vf_settings *s, char **err)
{
	if (vf_vlan_proto_from_string(v, &s->vlan_proto) < 0)
		return error_set(err, -EINVAL, "proto: '%s' is not 802.1Q or 802.1ad", QUOTE(v));
	return 0;
}

#define BOOL_PARSER(fn, name, member)                                                       \
	static int fn(const char *v, struct vf_settings *s, char **err)                     \
	{                                                                                   \
		if (parse_bool(v, &s->member) < 0)                                          \
			return error_set(err, -EINVAL, "%s: '%s' is not on or off", name, QUOTE(v));             \
		return 0;                                                                   \
	}
BOOL_PARSER(parse_spoofchk_field, "spoofchk", spoofchk)
BOOL_PARSER(parse_trust_field, "trust", trust)
BOOL_PARSER(parse_query_rss_field, "query-rss", query_rss)

static int parse_state_field(const char *v, struct vf_settings *s, char **err)
{
	enum vf_link_state st = vf_link_state_from_string(v);
	if (st < 0)
		return error_set(err, -EINVAL, "state: '%s' is not auto, enable or disable", QUOTE(v));
	s->link_state = st;
	return 0;
}

static int parse_min_rate_field(const char *v, struct vf_settings *s, char **err)
{
	return parse_number(v, "min-rate", UINT32_MAX, &s->min_tx_rate, err);
}

static int parse_max_rate_field(const char *v, struct vf_settings *s, char **err)
{
	return parse_number(v, "max-rate", UINT32_MAX, &s->max_tx_rate, err);
}

static const field_parser parsers[_VF_FIELD_MAX] = {
	[VF_FIELD_MAC] = parse_mac_field,
	[VF_FIELD_VLAN] = parse_vlan_field,
	[VF_FIELD_QOS] = parse_qos_field,
	[VF_FIELD_VLAN_PROTO] = parse_proto_field,
	[VF_FIELD_SPOOFCHK] = parse_spoofchk_field,
	[VF_FIELD_TRUST] = parse_trust_field,
	[VF_FIELD_LINK_STATE] = parse_state_field,
	[VF_FIELD_MIN_RATE] = parse_min_rate_field,
	[VF_FIELD_MAX_RATE] = parse_max_rate_field,
	[VF_FIELD_QUERY_RSS] = parse_query_rss_field,
};

int vf_settings_check(const struct vf_settings *s, enum vf_field *ret_field, char **ret_error)
{
	enum vf_field f = _VF_FIELD_MAX;
	int r = 0;
	*ret_error = NULL;
	/* The kernel takes VLAN, QoS and protocol as one attribute: QoS or a
	 * protocol alone would silently reset the VLAN to 0. */
	if ((vf_has(s, VF_FIELD_QOS) || vf_has(s, VF_FIELD_VLAN_PROTO)) && !vf_has(s, VF_FIELD_VLAN)) {
		f = vf_has(s, VF_FIELD_QOS) ? VF_FIELD_QOS : VF_FIELD_VLAN_PROTO;
		r = error_set(ret_error, -EINVAL, "%s: needs vlan in the same command (the kernel sets VLAN, QoS and "
				      "protocol together)", field_names[f]);
	} else if (vf_has(s, VF_FIELD_MIN_RATE) && vf_has(s, VF_FIELD_MAX_RATE) && s->max_tx_rate != 0 &&
		   s->min_tx_rate > s->max_tx_rate) {
		f = VF_FIELD_MIN_RATE;
		r = error_set(ret_error, -EINVAL, "min-rate %u is above max-rate %u", s->min_tx_rate, s->max_tx_rate);
	}
	if (r < 0 && ret_field)
		*ret_field = f;
	return r;
}

int vf_settings_parse_at(int argc, char *const *argv, struct vf_settings *ret, struct vf_parse_where *ret_where,
			 char **ret_error)
{
	struct vf_settings s = {.index = ret->index, .vlan_proto = VF_ETH_P_8021Q};
	struct vf_parse_where where = {.arg = -1, .field = -1};
	int args[_VF_FIELD_MAX]; /* argv index of each field given */
	int r = 0;
	*ret_error = NULL;
	if (argc == 0)
		r = error_set(ret_error, -EINVAL, "no settings given (mac, vlan, qos, proto, spoofchk, trust, state, "
				      "min-rate, max-rate, query-rss)");
	for (int i = 0; i < argc && r == 0; i += 2) {
		int f;
		for (f = 0; f < _VF_FIELD_MAX; f++)
			if (field_names[f] && strcmp(argv[i], field_names[f]) == 0)
				break;
		where = (struct vf_parse_where){.arg = i, .field = f == _VF_FIELD_MAX ? -1 : f};
		if (f == _VF_FIELD_MAX)
			r = error_set(ret_error, -EINVAL, "unknown setting '%s' (settings: mac, vlan, qos, proto, spoofchk, "
					      "trust, state, min-rate, max-rate, query-rss)", QUOTE(argv[i]));
		else if (s.has & VF_HAS(f))
			r = error_set(ret_error, -EINVAL, "%s: given twice", argv[i]);
		else if (i + 1 >= argc || str_empty(argv[i + 1]))
			r = error_set(ret_error, -EINVAL, "%s: needs a value", argv[i]);
		else if ((r = parsers[f](argv[i + 1], &s, ret_error)) < 0)
			where.value = true;
		else {
			s.has |= VF_HAS(f);
			args[f] = i;
		}
	}
	enum vf_field f;
	if (r == 0 && (r = vf_settings_check(&s, &f, ret_error)) < 0)
		where = (struct vf_parse_where){.arg = args[f], .field = (int)f};
	if (r < 0) {
		if (ret_where)
			*ret_where = where;
		return r;
	}
	*ret = s;
	return 0;
}

int vf_settings_parse(int argc, char *const *argv, struct vf_settings *ret, char **ret_error)
{
	return vf_settings_parse_at(argc, argv, ret, NULL, ret_error);
}

void vf_field_format(const struct vf_settings *s, enum vf_field f, char *buf, size_t len)
{
	const char *str = NULL;
	switch (f) {
	case VF_FIELD_MAC: {
		char mac[VF_MAC_STRLEN];
		vf_mac_format(s->mac, s->mac_len, mac);
		snprintf(buf, len, "%s", mac);
		return;
	}
	case VF_FIELD_VLAN:
		snprintf(buf, len, "%u", s->vlan);
		return;
	case VF_FIELD_QOS:
		snprintf(buf, len, "%u", s->qos);
		return;
	case VF_FIELD_VLAN_PROTO:
		str = vf_vlan_proto_to_string(s->vlan_proto);
		break;
	case VF_FIELD_SPOOFCHK:
		str = s->spoofchk ? "on" : "off";
		break;
	case VF_FIELD_TRUST:
		str = s->trust ? "on" : "off";
		break;
	case VF_FIELD_QUERY_RSS:
		str = s->query_rss ? "on" : "off";
		break;
	case VF_FIELD_LINK_STATE:
		str = vf_link_state_to_string(s->link_state);
		break;
	case VF_FIELD_MIN_RATE:
		snprintf(buf, len, "%u", s->min_tx_rate);
		return;
	case VF_FIELD_MAX_RATE:
		snprintf(buf, len, "%u", s->max_tx_rate);
		return;
	default:
		break;
	}
	snprintf(buf, len, "%s", str ? str : "?");
}

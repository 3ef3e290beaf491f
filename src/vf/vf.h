/* vf: the model of one VF's L2 settings as the PF's driver sees them.
 *
 * Owns: struct vf_settings (what rtnetlink reports for a VF and what a user
 * asks to change), the "has" bits that say which fields are meaningful, and
 * the names of enumerated values. It knows nothing of sockets or sysfs:
 * netlink/ fills and applies it, the CLI and config parse into it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One bit per field: on read-back, the kernel reported the field; on a
 * change request, the user asked for it. Only fields with their bit set are
 * printed or sent. */
enum vf_field {
	VF_FIELD_MAC,
	VF_FIELD_VLAN,
	VF_FIELD_QOS,
	VF_FIELD_VLAN_PROTO,
	VF_FIELD_SPOOFCHK,
	VF_FIELD_TRUST,
	VF_FIELD_LINK_STATE,
	VF_FIELD_MIN_RATE,
	VF_FIELD_MAX_RATE,
	VF_FIELD_QUERY_RSS,
	VF_FIELD_STATS,
	_VF_FIELD_MAX,
};
#define VF_HAS(f) (1u << (f))
/* VLAN, QoS and protocol: one setting for the kernel (one attribute). */
#define VF_HAS_VLAN_GROUP (VF_HAS(VF_FIELD_VLAN) | VF_HAS(VF_FIELD_QOS) | VF_HAS(VF_FIELD_VLAN_PROTO))

enum vf_link_state {
	VF_LINK_STATE_AUTO,    /* follows the PF's link */
	VF_LINK_STATE_ENABLE,  /* always up */
	VF_LINK_STATE_DISABLE, /* always down */
	_VF_LINK_STATE_MAX,
	_VF_LINK_STATE_INVALID = -22,
};

#define VF_MAC_MAX 32 /* the kernel's struct ifla_vf_mac holds 32 bytes */
#define VF_ETH_P_8021Q 0x8100
#define VF_ETH_P_8021AD 0x88A8

struct vf_stats {
	uint64_t rx_packets, tx_packets;
	uint64_t rx_bytes, tx_bytes;
	uint64_t broadcast, multicast;
	uint64_t rx_dropped, tx_dropped;
};

struct vf_settings {
	uint32_t index; /* N in "ip link set PF vf N" and in virtfnN */
	uint32_t has;   /* VF_HAS() bits */
	uint8_t mac[VF_MAC_MAX];
	uint8_t mac_len;
	uint16_t vlan;       /* 0 = untagged */
	uint8_t qos;         /* 802.1p priority, 0-7 */
	uint16_t vlan_proto; /* VF_ETH_P_8021Q or VF_ETH_P_8021AD, host order */
	bool spoofchk;
	bool trust;
	bool query_rss;
	enum vf_link_state link_state;
	uint32_t min_tx_rate, max_tx_rate; /* Mbit/s, 0 = unlimited */
	struct vf_stats stats;
};

static inline bool vf_has(const struct vf_settings *s, enum vf_field f)
{
	return s->has & VF_HAS(f);
}

/* Merges src into dst, the later (src) winning field by field for the
 * fields src has; a VLAN in src replaces VLAN, QoS and protocol together,
 * since the kernel sets them as one. Counters are never merged. */
void vf_settings_merge(struct vf_settings *dst, const struct vf_settings *src);

/* "auto", "enable", "disable"; NULL when out of range. */
const char *vf_link_state_to_string(enum vf_link_state s);
enum vf_link_state vf_link_state_from_string(const char *s);
/* "802.1Q" / "802.1ad"; NULL for another ethertype. */
const char *vf_vlan_proto_to_string(uint16_t proto);
int vf_vlan_proto_from_string(const char *s, uint16_t *ret);

/* The user's names of the fields ("mac", "vlan", "min-rate", ...), as
 * `sriovctl vf set` and the config file spell them; NULL for VF_FIELD_STATS. */
const char *vf_field_name(enum vf_field f);

/* Parses "KEY VALUE" pairs (mac M, vlan V, qos Q, proto 802.1Q|802.1ad,
 * spoofchk on|off, trust on|off, state auto|enable|disable, min-rate R,
 * max-rate R, query-rss on|off) into *ret, setting the has bit of each.
 * Values are checked here (unicast MAC, VLAN 0-4094, QoS 0-7, min <= max);
 * on failure returns -EINVAL and, in *ret_error, a sentence naming the
 * setting and the reason. */
int vf_settings_parse(int argc, char *const *argv, struct vf_settings *ret, char **ret_error);

/* Where a failed vf_settings_parse_at() or vf_settings_check() is: data for
 * callers that point at their own source (the config's line and column),
 * so that no one reads it out of the message. */
struct vf_parse_where {
	int arg;            /* argv index of the KEY the error is about; -1: none (no settings) */
	int field;          /* its enum vf_field; -1: not a known setting */
	bool value;         /* about the VALUE (argv[arg + 1]), not the KEY */
};

/* vf_settings_parse(), and on failure *ret_where (may be NULL) says which
 * argument failed. */
int vf_settings_parse_at(int argc, char *const *argv, struct vf_settings *ret, struct vf_parse_where *ret_where,
			 char **ret_error);

/* The rules that span fields, on settings as they are (e.g. merged from
 * several sources): QoS or protocol need a VLAN, min-rate <= max-rate
 * unless max-rate is 0. -EINVAL with the same sentence vf_settings_parse()
 * gives, and *ret_field (may be NULL) the field it is about. */
int vf_settings_check(const struct vf_settings *s, enum vf_field *ret_field, char **ret_error);

/* Parses "aa:bb:cc:dd:ee:ff" (6 bytes); -EINVAL otherwise. */
int vf_mac_parse(const char *s, uint8_t mac[6]);

/* Formats the value of one field of s ("02:11:...", "100", "on", "802.1Q"). */
void vf_field_format(const struct vf_settings *s, enum vf_field f, char *buf, size_t len);

/* "02:11:22:33:44:55"; buf must hold 3 * VF_MAC_MAX bytes. */
#define VF_MAC_STRLEN (3 * VF_MAC_MAX)
void vf_mac_format(const uint8_t *mac, unsigned len, char *buf);

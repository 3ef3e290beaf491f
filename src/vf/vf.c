#include "vf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const link_state_names[_VF_LINK_STATE_MAX] = {
	[VF_LINK_STATE_AUTO] = "auto",
	[VF_LINK_STATE_ENABLE] = "enable",
	[VF_LINK_STATE_DISABLE] = "disable",
};

const char *vf_link_state_to_string(enum vf_link_state s)
{
	if ((int)s < 0 || s >= _VF_LINK_STATE_MAX)
		return NULL;
	return link_state_names[s];
}

enum vf_link_state vf_link_state_from_string(const char *s)
{
	for (int i = 0; i < _VF_LINK_STATE_MAX; i++)
		if (s && strcmp(s, link_state_names[i]) == 0)
			return (enum vf_link_state)i;
	return _VF_LINK_STATE_INVALID;
}

const char *vf_vlan_proto_to_string(uint16_t proto)
{
	switch (proto) {
	case VF_ETH_P_8021Q:
		return "802.1Q";
	case VF_ETH_P_8021AD:
		return "802.1ad";
	default:
		return NULL;
	}
}

int vf_vlan_proto_from_string(const char *s, uint16_t *ret)
{
	/* The standards write 802.1Q and 802.1ad; accept either case, as ip does. */
	if (s && strcasecmp(s, "802.1Q") == 0)
		*ret = VF_ETH_P_8021Q;
	else if (s && strcasecmp(s, "802.1ad") == 0)
		*ret = VF_ETH_P_8021AD;
	else
		return -EINVAL;
	return 0;
}

void vf_mac_format(const uint8_t *mac, unsigned len, char *buf)
{
	if (len > VF_MAC_MAX)
		len = VF_MAC_MAX;
	char *p = buf;
	*p = '\0';
	for (unsigned i = 0; i < len; i++)
		p += sprintf(p, i ? ":%02x" : "%02x", mac[i]);
}

void vf_settings_merge(struct vf_settings *dst, const struct vf_settings *src)
{
	uint32_t has = src->has;
	if (has & VF_HAS(VF_FIELD_MAC)) {
		memcpy(dst->mac, src->mac, sizeof(dst->mac));
		dst->mac_len = src->mac_len;
	}
	if (has & VF_HAS(VF_FIELD_VLAN)) {
		dst->vlan = src->vlan;
		dst->qos = src->qos;
		dst->vlan_proto = src->vlan_proto;
		dst->has &= ~VF_HAS_VLAN_GROUP;
	}
	if (has & VF_HAS(VF_FIELD_SPOOFCHK))
		dst->spoofchk = src->spoofchk;
	if (has & VF_HAS(VF_FIELD_TRUST))
		dst->trust = src->trust;
	if (has & VF_HAS(VF_FIELD_LINK_STATE))
		dst->link_state = src->link_state;
	if (has & VF_HAS(VF_FIELD_MIN_RATE))
		dst->min_tx_rate = src->min_tx_rate;
	if (has & VF_HAS(VF_FIELD_MAX_RATE))
		dst->max_tx_rate = src->max_tx_rate;
	if (has & VF_HAS(VF_FIELD_QUERY_RSS))
		dst->query_rss = src->query_rss;
	dst->has |= has & ~VF_HAS(VF_FIELD_STATS);
}


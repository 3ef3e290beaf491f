/* libFuzzer target for vf_settings_parse(), the parser of `sriovctl vf set`
 * arguments (and of every VF value in the config file): the input is split
 * into words at blanks and newlines; whatever is accepted keeps the model's
 * rules (VLAN 0-4094, QoS 0-7 only with a VLAN, a known protocol and link
 * state, min-rate <= max-rate when both are given, a unicast 6-byte MAC) and
 * formats back to values that parse again to the same settings; whatever is
 * refused comes with a reason. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vf/vf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

static int split(char *s, char **words)
{
	int n = 0;
	for (char *save = NULL, *w = strtok_r(s, " \t\n", &save); w && n < MAX_WORDS;
	     w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	return n;
}

static void check_settings(const struct vf_settings *s)
{
	if (vf_has(s, VF_FIELD_VLAN))
		assert(s->vlan <= 4094);
	if (vf_has(s, VF_FIELD_QOS))
		assert(s->qos <= 7 && vf_has(s, VF_FIELD_VLAN));
	if (vf_has(s, VF_FIELD_VLAN_PROTO))
		assert(vf_vlan_proto_to_string(s->vlan_proto));
	if (vf_has(s, VF_FIELD_LINK_STATE))
		assert(vf_link_state_to_string(s->link_state));
	if (vf_has(s, VF_FIELD_MIN_RATE) && vf_has(s, VF_FIELD_MAX_RATE) && s->max_tx_rate)
		assert(s->min_tx_rate <= s->max_tx_rate);
	if (vf_has(s, VF_FIELD_MAC))
		assert(s->mac_len == 6 && !(s->mac[0] & 1));
	assert(!vf_has(s, VF_FIELD_STATS));
}

/* Every field of s printed back as "KEY VALUE" words. */
static int reprint(const struct vf_settings *s, char bufs[][VF_MAC_STRLEN], char **words)
{
	int n = 0;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!vf_has(s, (enum vf_field)f) || !vf_field_name((enum vf_field)f))
			continue;
		words[n++] = (char *)vf_field_name((enum vf_field)f);
		vf_field_format(s, (enum vf_field)f, bufs[f], VF_MAC_STRLEN);
		words[n++] = bufs[f];
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	char *words[MAX_WORDS];
	int n = split(s, words);
	struct vf_settings v = {.index = 3};
	char *err = NULL;
	int r = vf_settings_parse(n, words, &v, &err);
	if (r == 0) {
		assert(!err);
		assert(v.index == 3);
		check_settings(&v);

		char bufs[_VF_FIELD_MAX][VF_MAC_STRLEN];
		char *again[2 * _VF_FIELD_MAX];
		int m = reprint(&v, bufs, again);
		struct vf_settings w = {.index = 3};
		r = vf_settings_parse(m, again, &w, &err);
		assert(r == 0);
		for (int f = 0; f < _VF_FIELD_MAX; f++) {
			if (!vf_has(&v, (enum vf_field)f) || !vf_field_name((enum vf_field)f))
				continue;
			char a[VF_MAC_STRLEN], b[VF_MAC_STRLEN];
			vf_field_format(&v, (enum vf_field)f, a, sizeof(a));
			vf_field_format(&w, (enum vf_field)f, b, sizeof(b));
			assert(vf_has(&w, (enum vf_field)f) && strcmp(a, b) == 0);
		}
	} else {
		assert(r == -EINVAL || r == -ENOMEM);
		assert(r == -ENOMEM || err);
	}
	free(err);
	free(s);
	return 0;
}

/* libFuzzer target for the config parser: any input either loads into a
 * model that keeps the invariants of config.h or fails with a positioned
 * message; a second pass merges the same input into the result.
 * Run by tests/fuzz (meson -Dfuzz=true); docs/fuzzing.md has the long run. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_model(const struct config *c)
{
	for (size_t p = 0; p < c->n_pfs; p++) {
		const struct pf_desired *pf = &c->pfs[p];
		assert((unsigned)pf->match < _PF_MATCH_MAX);
		assert(pf->match != PF_MATCH_NETDEV || pf->netdev);
		assert(pf->autoprobe >= -1 && pf->autoprobe <= 1);
		assert(!pf->has_numvfs || pf->numvfs <= CONFIG_MAX_NUMVFS);
		for (size_t i = 0; i < pf->n_vfs; i++) {
			const struct vf_desired *vf = &pf->vfs[i];
			assert(i == 0 || pf->vfs[i - 1].last < vf->index);
			assert(vf->index <= vf->last);
			assert(vf->index == vf->settings.index);
			assert(!pf->has_numvfs || vf->last < pf->numvfs);
			assert(pf_desired_vf(pf, vf->index) == vf && pf_desired_vf(pf, vf->last) == vf);
			assert(!vf_has(&vf->settings, VF_FIELD_MAC) || vf->index == vf->last);
			assert(vf->pos.file && vf->pos.line > 0 && vf->pos.column > 0);
			if (vf->settings.has & (VF_HAS(VF_FIELD_QOS) | VF_HAS(VF_FIELD_VLAN_PROTO)))
				assert(vf_has(&vf->settings, VF_FIELD_VLAN));
		}
	}
}

static void check_error(int r, const char *err)
{
	unsigned line, column;
	assert(r < 0);
	if (r == -EINVAL && err)
		assert(sscanf(err, "fuzz.conf:%u:%u: ", &line, &column) == 2 && line > 0 && column > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = config_new();
	char *err = NULL;
	if (!c)
		return 0;
	int r = config_parse_string(c, "fuzz.conf", (const char *)data, size, &err);
	if (r < 0) {
		check_error(r, err);
		assert(c->n_pfs == 0 && !c->files);
	} else {
		assert(!err);
		check_model(c);
		size_t n_pfs = c->n_pfs;
		r = config_parse_string(c, "fuzz.conf", (const char *)data, size, &err);
		if (r < 0) {
			check_error(r, err);
			assert(c->n_pfs == n_pfs); /* unchanged */
		} else {
			assert(c->n_pfs == n_pfs); /* every match was already there */
			check_model(c);
		}
	}
	free(err);
	config_free(c);
	return 0;
}

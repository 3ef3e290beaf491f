/* The config's relays on the running sriov-relay (relayctl-sync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply/apply.h"
#include "client/client.h"
#include "relayctl-sync.h"
#include "util/util.h"

const char *relayctl_socket(void)
{
	const char *s = getenv("SRIOV_RELAY_SOCKET");
	return str_empty(s) ? RELAYCTL_DEFAULT_SOCKET : s;
}

void relayctl_sync_report_done(struct relayctl_sync_report *r)
{
	strv_free(r->added);
	strv_free(r->present);
	strv_free(r->errors);
	*r = (struct relayctl_sync_report){0};
}

bool relayctl_config_has_relays(const struct config *cfg)
{
	for (size_t i = 0; cfg && i < cfg->n_pfs; i++)
		if (cfg->pfs[i].n_relays)
			return true;
	return false;
}

static const struct pci_function *vf_of(const struct pci_function *pf, uint32_t index)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		if (pf->vfs[i]->vf_index == index)
			return pf->vfs[i];
	return NULL;
}

/* The message of an answer that is an error document, else a default. */
static const char *answer_message(const json_t *doc, const char *def)
{
	const char *m = NULL;
	client_error_doc(doc, NULL, &m, NULL);
	return m ? m : def;
}

/* One relay: 1 added, 0 there already, -EINVAL refused (rep->errors),
 * other -errno: no answer (*ret_error). */
static int sync_one(const struct relay_desired *rd, const struct pci_function *pf, const char *socket,
		    struct relayctl_sync_report *rep, char **ret_error)
{
	char name[RELAY_DESIRED_NAME_MAX + 1];
	relay_desired_name(rd, pf->addr, name);
	const struct pci_function *vf = vf_of(pf, rd->vf);
	if (!vf)
		return strv_pushf(&rep->errors, "relay %s: %s has no VF %u (yet)", name, pf->addr, rd->vf) < 0 ? -ENOMEM
														  : -EINVAL;
	_cleanup_free_ char *path = relayctl_path(name, NULL);
	if (!path)
		return -ENOMEM;
	long status;
	json_t *doc = NULL;
	int r = client_request(socket, "GET", path, NULL, &status, &doc, ret_error);
	if (r < 0)
		return r;
	if (status == 200) {
		const char *have_vf = json_string_value(json_object_get(doc, "vf"));
		const char *have_sock = json_string_value(json_object_get(doc, "socket"));
		if (streq_ptr(have_vf, vf->addr) && streq_ptr(have_sock, rd->socket))
			r = strv_pushf(&rep->present, "%s", name) < 0 ? -ENOMEM : 0;
		else
			r = strv_pushf(&rep->errors, "relay %s: the relay has it with VF %s and socket %s, not %s and %s",
				       name, have_vf ? have_vf : "-", have_sock ? have_sock : "-", vf->addr,
				       rd->socket) < 0 ? -ENOMEM : -EINVAL;
		json_decref(doc);
		return r;
	}
	if (status != 404) {
		r = strv_pushf(&rep->errors, "relay %s: %s", name, answer_message(doc, "the relay refused GET")) < 0
			    ? -ENOMEM
			    : -EINVAL;
		json_decref(doc);
		return r;
	}
	json_decref(doc);
	doc = NULL;
	static const char *const modes[] = {"server", "client"};
	struct relayctl_spec s = {
		.name = name,
		.vf = vf->addr,
		.socket = rd->socket,
		.mode = rd->mode > 0 ? modes[1] : NULL,
		.queues = rd->queues,
		.mtu = rd->mtu,
		.n_lcores = rd->n_lcores,
	};
	memcpy(s.lcores, rd->lcores, sizeof(s.lcores));
	json_t *body = relayctl_body(&s);
	if (!body)
		return -ENOMEM;
	r = client_request(socket, "POST", "/v1/relays", body, &status, &doc, ret_error);
	json_decref(body);
	if (r < 0)
		return r;
	if (status == 201 || status == 200)
		r = strv_pushf(&rep->added, "%s: %s <-> %s", name, vf->addr, rd->socket) < 0 ? -ENOMEM : 1;
	else
		r = strv_pushf(&rep->errors, "relay %s: %s", name, answer_message(doc, "the relay refused it")) < 0
			    ? -ENOMEM
			    : -EINVAL;
	json_decref(doc);
	return r;
}

int relayctl_sync(const struct config *cfg, const struct pci_tree *t, const char *socket,
		  struct relayctl_sync_report *rep, char **ret_error)
{
	*rep = (struct relayctl_sync_report){0};
	bool refused = false;
	for (size_t i = 0; i < cfg->n_pfs; i++) {
		const struct pf_desired *e = &cfg->pfs[i];
		if (!e->n_relays)
			continue;
		for (size_t k = 0; k < t->n_devs; k++) {
			const struct pci_function *d = t->devs[k];
			if (!d->is_pf || !apply_entry_matches(e, d))
				continue;
			for (size_t j = 0; j < e->n_relays; j++) {
				int r = sync_one(&e->relays[j], d, socket, rep, ret_error);
				if (r == -EINVAL)
					refused = true;
				else if (r < 0)
					return r;
			}
		}
	}
	return refused ? -EINVAL : 0;
}

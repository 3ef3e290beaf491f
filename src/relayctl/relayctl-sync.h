/* relayctl-sync: the relays: of the desired state (config/) on the running
 * sriov-relay, asked over its control socket (client/). Part of relayctl/
 * (relayctl.h), in a library of its own because it links the client;
 * sriovctl apply and sriovd call it after they applied the VF
 * counts and drivers, so that a relay's VF is on vfio-pci when it is asked.
 *
 * It adds what the relay does not have and never removes a relay: one
 * added by hand (sriovctl relay add) stays. A relay of the same name with
 * another VF or socket is reported, not replaced. */
#pragma once

#include "config/config.h"
#include "sysfs/sysfs.h"

/* The relay's control socket: $SRIOV_RELAY_SOCKET, else
 * RELAYCTL_DEFAULT_SOCKET. */
const char *relayctl_socket(void);

struct relayctl_sync_report {
	char **added;   /* "NAME: VF <-> SOCKET", one per relay added */
	char **present; /* the names that were there already */
	char **errors;  /* one sentence per relay that could not be added */
};
void relayctl_sync_report_done(struct relayctl_sync_report *r);

/* Whether cfg asks for any relay. */
bool relayctl_config_has_relays(const struct config *cfg);

/* For every relay of every PF entry of cfg, on every PF of t the entry
 * matches: GET /v1/relays/NAME, and POST /v1/relays when it is not there.
 * Returns 0 when every relay is there, -EINVAL when some could not be added
 * (rep->errors says why, per relay: a VF the PF does not have, the relay's
 * refusal), or the client's -errno with *ret_error when the relay does not
 * answer at all (-ENOENT, -ECONNREFUSED: it does not run). */
int relayctl_sync(const struct config *cfg, const struct pci_tree *t, const char *socket,
		  struct relayctl_sync_report *rep, char **ret_error);

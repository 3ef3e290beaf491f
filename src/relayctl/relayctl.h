/* relayctl: what sriovctl and sriovd ask of a running sriov-relay
 * (docs/relay.md): a relay request (the body of POST /v1/relays) from the
 * CLI's options or from a relays: entry of the desired state, the rules its
 * fields follow (checked here, so that a bad config or command line fails
 * before anything is asked, with the field named), and the paths of the
 * relay's control routes. The calls themselves go through client/; the
 * relay program checks every request again (src/relay/).
 *
 * Functions return 0 or -errno and never print; a reason is one sentence
 * in *ret_error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The relay's own limits and default socket (relay/relay.h: its header
 * only, nothing of the relay program is linked). */
#include "relay/relay.h"
#define RELAYCTL_DEFAULT_SOCKET RELAY_DEFAULT_SOCKET
#define RELAYCTL_NAME_MAX RELAY_NAME_MAX
#define RELAYCTL_MAX_QUEUES RELAY_MAX_QUEUES
#define RELAYCTL_MAX_LCORES RELAY_MAX_LCORES
#define RELAYCTL_MAX_LCORE_ID RELAY_MAX_LCORE_ID
#define RELAYCTL_MTU_MIN RELAY_MTU_MIN
#define RELAYCTL_MTU_MAX RELAY_MTU_MAX

/* A relay request; NULL / 0 fields are left to the relay's defaults. */
struct relayctl_spec {
	const char *name;   /* NULL: the relay picks one */
	const char *vf;     /* DPDK devargs: a PCI address, or a vdev (net_...) */
	const char *socket; /* the vhost-user socket */
	const char *mode;   /* "server" | "client"; NULL: server */
	uint32_t queues;    /* 0: 1 */
	uint32_t mtu;       /* 0: the VF's */
	uint32_t lcores[RELAYCTL_MAX_LCORES];
	size_t n_lcores;
};

/* The body of POST /v1/relays: {"name", "vf", "socket", "mode", "queues",
 * "lcores", "mtu"}, only the fields given. NULL on ENOMEM. */
json_t *relayctl_body(const struct relayctl_spec *s);

/* "/v1/relays/NAME" or "/v1/relays/NAME/SUFFIX" (suffix NULL: none), NAME
 * %-encoded; NULL on ENOMEM. */
char *relayctl_path(const char *name, const char *suffix);

/* The field rules. -EINVAL with *ret_error (malloc()ed) saying why. */
int relayctl_mode(const char *s); /* 0 server, 1 client, -EINVAL */
int relayctl_name_ok(const char *s); /* [A-Za-z0-9_.-]{1,RELAYCTL_NAME_MAX} */
int relayctl_queues(const char *s, uint32_t *ret, char **ret_error); /* 1..RELAYCTL_MAX_QUEUES */
int relayctl_mtu(const char *s, uint32_t *ret, char **ret_error);    /* RELAYCTL_MTU_MIN..MAX */
/* "N[,N...]" or "N-M": distinct lcore ids 0..RELAYCTL_MAX_LCORE_ID, at most
 * RELAYCTL_MAX_LCORES of them. */
int relayctl_lcores(const char *s, uint32_t ret[RELAYCTL_MAX_LCORES], size_t *ret_n, char **ret_error);
/* An absolute path that fits a Unix socket address (sun_path). */
int relayctl_socket_path_ok(const char *s, char **ret_error);
/* Whether --vf goes to the relay as it is: a PCI address (DDDD:BB:DD.F) or
 * a DPDK vdev's devargs (net_...); anything else is a device to resolve. */
bool relayctl_vf_passes(const char *s);

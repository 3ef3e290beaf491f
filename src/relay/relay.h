/* relay: sriov-relay, the DPDK program that forwards every frame between a
 * VF (a DPDK ethdev: a VF on vfio-pci by PCI address, or a vdev such as
 * net_af_packet0,iface=veth0 in tests) and a VM's virtio-net NIC behind a
 * vhost-user socket, both directions (docs/relay.md).
 *
 * Owns: the relay model (relay_spec: what a relay is asked to be, parsed
 * and checked here from the JSON of POST /v1/relays or --relay), the
 * control routes under /v1/relays served on sriovd's HTTP server code
 * (api/, with its own socket), the counters and their rates over the last
 * second, and the engine (relay-dpdk.c): EAL, the ports, the vhost-user
 * sockets, the forwarding lcores, hot add and remove, the faults (the VM
 * going and coming back, the VF going away and coming back).
 *
 * Only relay-dpdk.c and sriov-relay.c include DPDK's headers, and nothing
 * outside this folder links DPDK. The rest (spec, routes, rates) is plain C
 * that the unit tests drive with a fake engine (struct relay_engine).
 * Functions return 0 or -errno; what went wrong is one sentence naming the
 * field, in *ret_error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RELAY_DEFAULT_SOCKET "/run/sriovd/relay.sock"
#define RELAY_MAX_QUEUES 8u
#define RELAY_MAX_LCORES 16u
#define RELAY_MAX_LCORE_ID 127u
#define RELAY_NAME_MAX 32u
#define RELAY_MTU_MIN 68u
#define RELAY_MTU_MAX 9600u

enum relay_mode { RELAY_MODE_SERVER, RELAY_MODE_CLIENT };

/* What a relay is asked to be. */
struct relay_spec {
	char *name;         /* [A-Za-z0-9_.-], at most RELAY_NAME_MAX */
	char *vf;           /* DPDK devargs: "0000:03:10.0" or "net_af_packet0,iface=veth0" */
	char *socket;       /* the vhost-user socket, an absolute path */
	enum relay_mode mode;
	unsigned queues;    /* queue pairs, 1..RELAY_MAX_QUEUES */
	unsigned lcores[RELAY_MAX_LCORES];
	size_t n_lcores;    /* queue q runs on lcores[q % n_lcores] */
	unsigned mtu;       /* 0: the VF's own */
};
void relay_spec_done(struct relay_spec *s);

/* The body of POST /v1/relays (or the JSON of --relay): keys name (absent:
 * default_name), vf, socket, mode ("server" | "client", default server),
 * queues (default 1), lcores (an array of lcore ids, or one), mtu (absent:
 * the VF's). Unknown keys are refused. -EINVAL with the key in *ret_field
 * (static) and the reason in *ret_error. */
int relay_spec_from_json(const json_t *j, const char *default_name, struct relay_spec *ret,
			 const char **ret_field, char **ret_error);
const char *relay_mode_name(enum relay_mode m);
/* The DPDK device name of a devargs: what comes before the first comma. */
char *relay_vf_name(const char *vf);
/* Whether the devargs name a PCI device (DDDD:BB:DD.F or BB:DD.F). */
bool relay_vf_is_pci(const char *vf);

/* ---- counters --------------------------------------------------------- */

struct relay_count {
	uint64_t packets, bytes, drops;
};
/* The rates over the last second: two samples at least ~1 s apart. */
struct relay_rate {
	struct relay_count last, prev;
	uint64_t last_ms, prev_ms; /* 0: no sample yet */
};
/* Records a sample of the running counters taken at now_ms (kept when at
 * least RELAY_RATE_PERIOD_MS after the previous one). */
#define RELAY_RATE_PERIOD_MS 1000u
void relay_rate_sample(struct relay_rate *r, const struct relay_count *c, uint64_t now_ms);
/* Per second between the two samples; zeros with fewer than two. */
void relay_rate_get(const struct relay_rate *r, double *ret_packets, double *ret_bytes, double *ret_drops);
/* {"packets", "bytes", "drops", "packets_per_s", "bytes_per_s", "drops_per_s"}. */
json_t *relay_count_json(const struct relay_count *c, const struct relay_rate *r);

/* ---- the engine, as the routes see it ---------------------------------- */

/* The documents come from the engine (relay-dpdk.c, or a unit test's
 * fake). add and del return 0 or -errno with *ret_field (static, may be
 * NULL) and *ret_error; -EEXIST: that name or socket is taken (409),
 * -ENOENT: no such relay (404), -EBUSY/-EADDRINUSE: in use (409),
 * -ENOMEM/-EIO: 500, other: 400. */
struct relay_engine {
	int (*add)(void *data, struct relay_spec *spec, const char **ret_field, char **ret_error); /* takes spec on success */
	int (*del)(void *data, const char *name, char **ret_error);
	json_t *(*list)(void *data);                   /* {"relays": [...]} */
	json_t *(*show)(void *data, const char *name); /* NULL: no such relay */
	json_t *(*stats)(void *data, const char *name);
	/* The next free default name ("relay0", "relay1", ...), malloc()ed. */
	char *(*next_name)(void *data);
	void *data;
};

struct api_request;
struct api_response;
/* The routes: GET|POST /v1/relays, GET|DELETE /v1/relays/{name},
 * GET /v1/relays/{name}/stats; plus GET /v1/health. data: a struct
 * relay_engine. The hook of api_opts.handle. */
int relay_handle(void *data, const struct api_request *rq, struct api_response *rs);

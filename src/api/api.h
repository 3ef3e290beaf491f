/* api: sriovd's service API, HTTP/1.1 + JSON on a Unix socket (docs/api.md).
 *
 * Owns: the listening socket (bound here with its mode and group, or handed
 * over by systemd socket activation), libmicrohttpd driven from sriovd's own
 * epoll loop (one fd, no threads: a request runs between two of the daemon's
 * reconciles, so there is one writer), the routes under /v1/ and /metrics,
 * the error documents ({"error": {"code", "message", "field"}}), the
 * authorization of mutating routes from the peer's kernel credentials
 * (SO_PEERCRED / SO_PEERGROUPS, never anything the client sends), the limits
 * (body size, JSON depth, header size, connections, slow clients, request
 * rate per connection) and the Prometheus text of /metrics.
 *
 * The documents are those of `sriovctl -j` (output/): the API calls the same
 * functions. Only this module includes microhttpd.h. Functions return 0 or
 * -errno; what went wrong is in *ret_error, printed by the daemon. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "api/api-socket.h" /* API_SOCKET_NAME, API_DEFAULT_SOCKET, api_socket_default() */
#include "apply/apply.h"
#include "inventory/inventory.h"

#define API_DEFAULT_GROUP "sriovd"

#define API_MAX_BODY (64u * 1024u)      /* bytes of a request body: 413 above */
#define API_MAX_DEPTH 16u               /* JSON nesting of a body: 400 deeper */
#define API_MAX_HEADER (16u * 1024u)    /* bytes of a request's head: 431 above */
#define API_MAX_CONNECTIONS_DEFAULT 256u
#define API_TIMEOUT_S_DEFAULT 10u       /* a request must arrive whole within this */
#define API_RATE_DEFAULT 200u           /* requests per second per connection (burst as many) */

/* The peer of a connection, as the kernel recorded it at connect(). */
#define API_MAX_PEER_GROUPS 64u
struct api_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[API_MAX_PEER_GROUPS]; /* supplementary groups */
	size_t n_groups;
	bool known; /* false: no credentials (every mutating route refused) */
};

/* What sriovd counts for /metrics. */
#define API_CLAIM_BUCKETS 10 /* claim latency histogram: 1 ms .. 10 s */
struct api_stats {
	uint64_t claims, releases;
	uint64_t claim_le[API_CLAIM_BUCKETS]; /* claims that took at most api_claim_bucket_s[i] */
	uint64_t claim_count;
	double claim_sum_s;
	uint64_t applies, apply_errors; /* apply runs (start, reload, repairs) and failed ones */
	uint64_t heals, heal_errors;    /* repairs of drift, and failed repairs */
	char *last_apply_error, *last_heal_error; /* NULL: none yet (owned by the daemon) */
	time_t last_apply_error_at, last_heal_error_at;
	unsigned drift;                 /* changes still wanted after the last reconcile */
};

/* What the daemon shows the API. Pointers into the daemon: read at each
 * request, so a reload or a new count is seen at once. */
struct api_source {
	struct config *const *cfg;
	const struct apply_env *env;
	const bool *ready;           /* false while the first apply runs: 503 */
	/* true while a request is served from inside an apply's wait (sriovd
	 * keeps serving then): mutating routes answer 503, so that there is
	 * one writer. NULL: never. */
	const bool *busy;
	struct api_stats *stats;       /* the API counts claims and releases here */
	/* The daemon's status record (as its status file holds it). */
	json_t *(*status)(void *data);
	/* POST /v1/apply: reconcile now; the status record afterwards. */
	json_t *(*apply)(void *data);
	void *data;
	/* The claim ledger (open, the daemon's; NULL with *ret_error when it
	 * cannot be opened): claims, releases, /metrics' VF states. */
	struct ledger *(*ledger)(void *data, char **ret_error);
	/* The inventory (NULL: inventory_load()); tests play the host here. */
	int (*load)(const struct inventory_opts *o, struct pci_tree **ret);
};

struct api_request;
struct api_response;
struct api_opts {
	const char *socket_path;  /* NULL: API_DEFAULT_SOCKET */
	const char *group;        /* NULL: API_DEFAULT_GROUP */
	unsigned max_connections; /* 0: API_MAX_CONNECTIONS_DEFAULT */
	unsigned timeout_s;       /* 0: API_TIMEOUT_S_DEFAULT */
	unsigned rate;            /* 0: API_RATE_DEFAULT */
	uint64_t (*now_ms)(void); /* NULL: CLOCK_MONOTONIC; tests play the clock */
	/* /proc for the peers' groups when SO_PEERGROUPS is not there. */
	const char *proc_root;
	/* Another program's routes on this server (sriov-relay's control
	 * socket): when set, every request goes to it instead of sriovd's
	 * routes, after the same limits, and, for any method but GET, the same
	 * authorization from the peer's credentials. */
	int (*handle)(void *data, const struct api_request *rq, struct api_response *rs);
	void *handle_data;
};

struct api;

/* The API without a socket (api_handle() answers; unit tests). */
int api_new(const struct api_opts *o, const struct api_source *src, struct api **ret);
/* Binds the socket (or takes systemd's: LISTEN_FDS) and starts serving;
 * warnings (a group that does not exist) go to *ret_warning. */
int api_listen(struct api *a, char **ret_error, char **ret_warning);
/* The socket's path, or "LISTEN_FDS" for systemd's. */
const char *api_where(const struct api *a);
/* The fd to poll for input; api_run() when it is readable. */
int api_fd(const struct api *a);
/* Serves whatever is ready, without blocking; cuts off clients past their
 * deadline. */
void api_run(struct api *a);
void api_free(struct api *a); /* accepts NULL; removes a socket it bound */
/* The host changed (a uevent, a link event, an apply): the model the API
 * serves from (the tree claims match on, the GET /v1/inventory document)
 * is read again when next needed. A claim that binds vfio-pci and the
 * release of one say so themselves. Accepts NULL. */
void api_model_changed(struct api *a);

/* One request as the HTTP layer hands it over. */
struct api_request {
	const char *method, *path;
	const char *content_type; /* NULL: none */
	const char *body;         /* NULL: none */
	size_t body_len;
	bool body_too_large;
	const char *(*arg)(void *ctx, const char *name); /* query arguments; may be NULL */
	void *arg_ctx;
	const struct api_peer *peer;
};
struct api_response {
	unsigned status;
	char *body;               /* malloc()ed */
	size_t body_len;
	const char *content_type; /* static */
	const char *allow;        /* 405: the methods the route takes */
	bool stream;              /* GET /v1/events: the events after seq since follow, one JSON line each */
	int64_t since;            /* -1: from now on */
};
/* Routes one request: always gives a response (-ENOMEM aside). */
int api_handle(struct api *a, const struct api_request *rq, struct api_response *ret);
void api_response_done(struct api_response *r);
/* rs: the error document {"error": {"code", "message", "field"}} (field
 * NULL: null). */
int api_reply_error(struct api_response *rs, unsigned status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A JSON object body: 415 unless application/json, 413 above the limit,
 * 400 when it is not JSON, not an object or nested too deep. *ret NULL and
 * 0 returned: the response is made. */
int api_parse_body(const struct api_request *rq, struct api_response *rs, json_t **ret);
/* rs: the document j (taken over), as `sriovctl -j` prints it. */
int api_reply_json(struct api_response *rs, unsigned status, json_t *j);

/* An event of sriovd's own for GET /v1/events ("drift", "heal",
 * "apply-error", "device-added", "device-removed"): appended to the
 * ledger's audit history, where claims and releases are too, and sent to
 * every stream. */
void api_event(struct api *a, const char *event, const char *device, const char *detail);

/* Authorization: may this peer use mutating routes (uid 0, or a member of
 * the group gid; gid (gid_t)-1: no group, root only)? */
bool api_peer_may_write(const struct api_peer *p, gid_t gid);
/* The "Groups:" line of a /proc/PID/status text, and its "Uid:" (real). */
int api_parse_proc_status(const char *text, struct api_peer *p);

/* Per-connection request rate: a bucket of rate tokens refilled at rate per
 * second; each request takes one. */
struct api_bucket {
	double tokens;
	uint64_t at_ms;
};
bool api_bucket_take(struct api_bucket *b, unsigned rate, uint64_t now_ms);

extern const double api_claim_bucket_s[API_CLAIM_BUCKETS];
/* Counts one claim that took secs in the histogram. */
void api_stats_claim(struct api_stats *s, double secs);

/* The Prometheus text format's escaping of a label value (\\, \", \n). */
char *api_prom_label_escape(const char *s);
/* The /metrics text (format 0.0.4). */
int api_metrics(struct api *a, char **ret, size_t *ret_len);

/* GET|POST /v1/relays, GET|DELETE /v1/relays/{name},
 * GET /v1/relays/{name}/stats: sriov-relay's own routes (docs/relay.md),
 * served under sriovd's API socket by passing each request on to the
 * relay's control socket ($SRIOV_RELAY_SOCKET, default
 * /run/sriovd/relay.sock) and its answer back as it is. sriovd decides who
 * may POST and DELETE (the API's group) before anything is passed on; the
 * relay sees sriovd's root. */
#include "api-private.h"
#include "client/client.h"
#include "relayctl/relayctl-sync.h"
#include "util/util.h"

/* A relay that answers slowly must not hold sriovd's loop long. */
#define API_RELAY_TIMEOUT_MS 5000u

int api_relay_forward(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs)
{
	(void)a;
	(void)param;
	const char *sock = relayctl_socket();
	struct client_opts o = {.connect_timeout_ms = 1000, .timeout_ms = API_RELAY_TIMEOUT_MS, .max_bytes = 16u << 20};
	struct client_response res = {0};
	_cleanup_free_ char *err = NULL;
	int r = client_send(sock, &o, rq->method, rq->path, rq->body, rq->body ? rq->body_len : 0, &res, &err);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return api_reply_error(rs, 502, NULL, "sriov-relay does not run at %s (%s)", sock, strerror(-r));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return api_reply_error(rs, 502, NULL, "no answer from sriov-relay at %s: %s", sock, err ? err : strerror(-r));
	rs->status = (unsigned)res.status;
	rs->body = TAKE_PTR(res.body);
	rs->body_len = res.len;
	if (!rs->body && !(rs->body = strdup("")))
		r = -ENOMEM;
	rs->content_type = res.len ? "application/json" : NULL;
	client_response_done(&res);
	return r < 0 ? r : 0;
}

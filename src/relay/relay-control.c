/* The control routes of sriov-relay (docs/relay.md): one request in, one
 * response out, over a struct relay_engine. The HTTP server, its limits,
 * the error documents and the peers' credentials are api/'s. */
#include "api/api.h"
#include "relay.h"
#include "util/util.h"

#define PREFIX "/v1/relays"

static unsigned status_of(int r)
{
	switch (r) {
	case -EEXIST:
	case -EBUSY:
	case -EADDRINUSE:
		return 409;
	case -ENOENT:
		return 404;
	case -ENOMEM:
	case -EIO:
		return 500;
	default:
		return 400;
	}
}

static int r_add(struct relay_engine *e, const struct api_request *rq, struct api_response *rs)
{
	json_t *body;
	int r = api_parse_body(rq, rs, &body);
	if (r < 0 || !body)
		return r;
	_cleanup_free_ char *def = e->next_name(e->data);
	_cleanup_free_ char *err = NULL;
	const char *field = NULL;
	struct relay_spec spec;
	r = relay_spec_from_json(body, def, &spec, &field, &err);
	json_decref(body);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return api_reply_error(rs, 400, field, "%s", err ? err : strerror(-r));
	_cleanup_free_ char *name = strdup(spec.name);
	if (!name) {
		relay_spec_done(&spec);
		return -ENOMEM;
	}
	r = e->add(e->data, &spec, &field, &err);
	if (r < 0) {
		relay_spec_done(&spec);
		return api_reply_error(rs, status_of(r), field, "%s", err ? err : strerror(-r));
	}
	json_t *j = e->show(e->data, name);
	return j ? api_reply_json(rs, 201, j) : api_reply_error(rs, 500, NULL, "relay %s went away at once", name);
}

static int get_only(const struct api_request *rq, struct api_response *rs)
{
	rs->allow = "GET";
	return api_reply_error(rs, 405, NULL, "%s %s: method not allowed (allowed: GET)", rq->method, rq->path);
}

int relay_handle(void *data, const struct api_request *rq, struct api_response *rs)
{
	struct relay_engine *e = data;
	const char *path = rq->path, *m = rq->method;
	if (strcmp(path, "/v1/health") == 0) {
		if (strcmp(m, "GET") != 0)
			return get_only(rq, rs);
		json_t *j = json_object();
		json_object_set_new(j, "status", json_string("ok"));
		return api_reply_json(rs, 200, j);
	}
	if (strcmp(path, PREFIX) == 0) {
		if (strcmp(m, "GET") == 0)
			return api_reply_json(rs, 200, e->list(e->data));
		if (strcmp(m, "POST") == 0)
			return r_add(e, rq, rs);
		rs->allow = "GET, POST";
		return api_reply_error(rs, 405, NULL, "%s %s: method not allowed (allowed: GET, POST)", m, path);
	}
	if (strncmp(path, PREFIX "/", strlen(PREFIX "/")) != 0 || !path[strlen(PREFIX "/")])
		return api_reply_error(rs, 404, NULL, "%s: no such route", path);
	const char *rest = path + strlen(PREFIX "/");
	const char *slash = strchr(rest, '/');
	_cleanup_free_ char *name = strndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	if (!name)
		return -ENOMEM;
	if (slash && strcmp(slash, "/stats") != 0)
		return api_reply_error(rs, 404, NULL, "%s: no such route", path);
	if (slash) {
		if (strcmp(m, "GET") != 0)
			return get_only(rq, rs);
		json_t *j = e->stats(e->data, name);
		return j ? api_reply_json(rs, 200, j) : api_reply_error(rs, 404, "name", "no relay named %s", name);
	}
	if (strcmp(m, "GET") == 0) {
		json_t *j = e->show(e->data, name);
		return j ? api_reply_json(rs, 200, j) : api_reply_error(rs, 404, "name", "no relay named %s", name);
	}
	if (strcmp(m, "DELETE") == 0) {
		_cleanup_free_ char *err = NULL;
		int r = e->del(e->data, name, &err);
		if (r == -ENOENT)
			return api_reply_error(rs, 404, "name", "no relay named %s", name);
		if (r < 0)
			return api_reply_error(rs, status_of(r), "name", "%s", err ? err : strerror(-r));
		rs->status = 204;
		rs->body = strdup("");
		return rs->body ? 0 : -ENOMEM;
	}
	rs->allow = "GET, DELETE";
	return api_reply_error(rs, 405, NULL, "%s %s: method not allowed (allowed: GET, DELETE)", m, path);
}

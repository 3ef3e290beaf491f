/* The HTTP side of the API: the Unix socket (ours or systemd's), peer
 * credentials, libmicrohttpd in external epoll mode (its epoll fd and a
 * timerfd of our deadlines behind one fd for sriovd's loop), the body and
 * rate limits and the cut-off of slow clients. */
#include <fcntl.h>
#include <grp.h>
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "api-private.h"
#include "daemon/log.h"
#include "util/fs.h"
#include "util/util.h"

/* Above this a too large body is not even read. */
#define API_DISCARD_MAX (1024u * 1024u)

/* One request while it arrives (libmicrohttpd's con_cls). */
struct api_call {
	char *body;
	size_t len;
	bool too_large, done;
	bool too_fast; /* answered 429 once the request is in */
};

static void peer_of(struct api *a, int fd, struct api_peer *p)
{
	*p = (struct api_peer){0};
	struct ucred uc;
	socklen_t len = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || len != sizeof(uc))
		return;
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->known = true;
	/* The supplementary groups the kernel recorded at connect(). */
	gid_t groups[API_MAX_PEER_GROUPS];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		p->n_groups = len / sizeof(gid_t);
		memcpy(p->groups, groups, p->n_groups * sizeof(gid_t));
		return;
	}
	/* An older kernel, or more groups than we keep: the process's own. */
	_cleanup_free_ char *path = NULL, *text = NULL;
	struct api_peer q = *p;
	if (asprintf(&path, "%s/%d/status", a->o.proc_root, (int)uc.pid) < 0)
		return;
	if (read_text_file(path, 65536, &text) == 0 && api_parse_proc_status(text, &q) == 0 && q.uid == uc.uid) {
		memcpy(p->groups, q.groups, q.n_groups * sizeof(gid_t));
		p->n_groups = q.n_groups;
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct api *a = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct api_conn *ac = calloc(1, sizeof(*ac));
		if (!ac)
			return;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		ac->fd = ci ? ci->connect_fd : -1;
		if (ac->fd >= 0)
			peer_of(a, ac->fd, &ac->peer);
		ac->deadline_ms = api_now_ms(a) + (uint64_t)a->o.timeout_s * 1000;
		ac->next = a->conns;
		if (a->conns)
			a->conns->prev = ac;
		a->conns = ac;
		a->n_conns++;
		*socket_context = ac;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct api_conn *ac = *socket_context;
		if (!ac)
			return;
		if (ac->prev)
			ac->prev->next = ac->next;
		else
			a->conns = ac->next;
		if (ac->next)
			ac->next->prev = ac->prev;
		a->n_conns--;
		free(ac);
		*socket_context = NULL;
	}
}

static struct api_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A request answered: the next one on this connection has its own time. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct api *a = cls;
	(void)toe;
	struct api_call *call = *con_cls;
	if (call) {
		free(call->body);
		free(call);
		*con_cls = NULL;
	}
	struct api_conn *ac = conn_of(c);
	if (ac)
		ac->deadline_ms = api_now_ms(a) + (uint64_t)a->o.timeout_s * 1000;
}

static enum MHD_Result queue(struct MHD_Connection *c, struct api_response *rs)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(rs->body_len, rs->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		api_response_done(rs);
		return MHD_NO;
	}
	rs->body = NULL;
	if (rs->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	if (rs->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rs->allow);
	if (rs->status == 429)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	enum MHD_Result ret = MHD_queue_response(c, rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- GET /v1/events ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct api_stream *st = cls;
	(void)pos;
	if (st->off < st->len) {
		size_t n = st->len - st->off < max ? st->len - st->off : max;
		memcpy(buf, st->buf + st->off, n);
		st->off += n;
		if (st->off == st->len)
			st->off = st->len = 0;
		return (ssize_t)n;
	}
	if (st->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: not polled until api_run() has more. */
	MHD_suspend_connection(st->c);
	st->suspended = true;
	return 0;
}

static void stream_free(void *cls)
{
	struct api_stream *st = cls;
	struct api *a = st->api;
	if (st->prev)
		st->prev->next = st->next;
	else
		a->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->buf);
	free(st);
}

static enum MHD_Result start_stream(struct api *a, struct MHD_Connection *c, struct api_conn *ac,
				    const struct api_response *rs)
{
	struct api_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return MHD_NO;
	st->api = a;
	st->c = c;
	st->seq = rs->since >= 0 ? rs->since : api_event_seq(a);
	st->last_ms = api_now_ms(a);
	(void)api_stream_fill(a, st);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
								      stream_free);
	if (!resp) {
		free(st->buf);
		free(st);
		return MHD_NO;
	}
	st->next = a->streams;
	if (a->streams)
		a->streams->prev = st;
	a->streams = st;
	if (ac)
		ac->deadline_ms = 0; /* a stream lasts */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	enum MHD_Result ret = MHD_queue_response(c, rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* New events (or a keep-alive line) for every stream; a suspended one
 * that has something again is resumed. */
static void feed_streams(struct api *a)
{
	uint64_t now = api_now_ms(a);
	for (struct api_stream *st = a->streams; st; st = st->next) {
		size_t before = st->len;
		(void)api_stream_fill(a, st);
		if (st->len == before && now - st->last_ms >= API_KEEPALIVE_MS) {
			char *b = realloc(st->buf, st->len + 1);
			if (b) {
				b[st->len++] = '\n';
				st->buf = b;
			}
		}
		if (st->len != before)
			st->last_ms = now;
		if (st->suspended && (st->len > st->off || st->ended)) {
			st->suspended = false;
			MHD_resume_connection(st->c);
		}
	}
}

static const char *arg_of(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* An error before the request is routed (rate, body size). */
static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status)
{
	struct api_response rs = {0};
	int r = status == 429 ? api_reply_error(&rs, 429, NULL, "too many requests on this connection; slow down")
			      : api_reply_error(&rs, 413, NULL, "the body is larger than %u bytes", API_MAX_BODY);
	return r < 0 ? MHD_NO : queue(c, &rs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	(void)version;
	struct api_call *call = *con_cls;
	struct api_conn *ac = conn_of(c);
	if (!call) {
		if (!(call = calloc(1, sizeof(*call))))
			return MHD_NO;
		*con_cls = call;
		if (ac && !api_bucket_take(&ac->bucket, a->o.rate, api_now_ms(a)))
			call->too_fast = true;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		char *end;
		errno = 0;
		unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
		if (cl && (errno || n > API_MAX_BODY)) {
			/* A client that waits for "100 Continue", or one about to
			 * send much more: answered now (the connection then closes).
			 * Else the body is read and dropped, so that the client,
			 * still sending, reads the answer. */
			const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
			if (expect || errno || n > API_DISCARD_MAX) {
				call->done = true;
				return refuse(c, 413);
			}
			call->too_large = true;
		}
		return MHD_YES;
	}
	if (call->done) {
		*upload_data_size = 0; /* answered already: what else comes is dropped */
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		if (call->too_large || call->len + n > API_MAX_BODY) {
			call->too_large = true;
		} else {
			char *b = realloc(call->body, call->len + n + 1);
			if (!b)
				return MHD_NO;
			memcpy(b + call->len, upload_data, n);
			call->body = b;
			call->len += n;
			b[call->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	call->done = true;
	if (call->too_fast)
		return refuse(c, 429);
	struct api_request rq = {
		.method = method,
		.path = url,
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		.body = call->body,
		.body_len = call->len,
		.body_too_large = call->too_large,
		.arg = arg_of,
		.arg_ctx = c,
		.peer = ac ? &ac->peer : NULL,
	};
	struct api_response rs;
	if (api_handle(a, &rq, &rs) < 0) {
		api_response_done(&rs);
		return MHD_NO;
	}
	if (rs.stream)
		return start_stream(a, c, ac, &rs);
	return queue(c, &rs);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_kv(LOG_LVL_DEBUG, "api-http", "message", msg, NULL);
	free(msg);
}

/* Our own socket: mode 0600 while it is made, then the group and 0660. */
static int bind_socket(struct api *a, char **ret_error, char **ret_warning)
{
	const char *path = a->socket_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(ret_error, -ENAMETOOLONG, "--socket %s: longer than %zu bytes", path,
				 sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return error_set(ret_error, -errno, "--socket %s: cannot make %s: %s", path, dir, strerror(errno));
	}
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return error_set(ret_error, -errno, "socket: %s", strerror(errno));
	/* A socket file left by a sriovd that died: nobody answers on it. */
	int r = unix_socket_reclaim(path);
	if (r == -EEXIST)
		return error_set(ret_error, r, "--socket %s: exists and is not a socket", path);
	if (r == -EADDRINUSE)
		return error_set(ret_error, r, "--socket %s: another process serves it", path);
	gid_t gid = (gid_t)-1;
	struct group *g = getgrnam(a->o.group);
	if (g)
		gid = g->gr_gid;
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return error_set(ret_error, -errno, "--socket %s: %s", path, strerror(errno));
	a->bound_here = true;
	if (gid == (gid_t)-1) {
		error_set(ret_warning, 0, "group '%s' does not exist: %s is root's only (mode 0600); "
			  "make the group (groupadd %s) or give --group", a->o.group, path, a->o.group);
	} else if (chown(path, geteuid() == 0 ? 0 : (uid_t)-1, gid) < 0) {
		error_set(ret_warning, 0, "cannot give %s to group '%s': %s; it stays mode 0600", path, a->o.group,
			  strerror(errno));
		gid = (gid_t)-1;
	} else if (chmod(path, 0660) < 0) {
		return error_set(ret_error, -errno, "chmod %s: %s", path, strerror(errno));
	}
	a->gid = gid;
	if (listen(fd, 128) < 0)
		return error_set(ret_error, -errno, "listen %s: %s", path, strerror(errno));
	a->listen_fd = TAKE_FD(fd);
	return 0;
}

static void arm_deadlines(struct api *a);

int api_listen(struct api *a, char **ret_error, char **ret_warning)
{
	if (!(a->socket_path = strdup(a->o.socket_path ? a->o.socket_path : API_DEFAULT_SOCKET)))
		return -ENOMEM;
	int n = sd_listen_fds(1);
	int r;
	if (n > 0) {
		/* systemd made the socket (its mode and group are the unit's). */
		if (n != 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
			return error_set(ret_error, -EINVAL, "LISTEN_FDS: expected one listening Unix stream socket, got %d fds", n);
		a->listen_fd = SD_LISTEN_FDS_START;
		a->activated = true;
		fcntl(a->listen_fd, F_SETFD, FD_CLOEXEC);
		fcntl(a->listen_fd, F_SETFL, fcntl(a->listen_fd, F_GETFL) | O_NONBLOCK);
		struct group *g = getgrnam(a->o.group);
		a->gid = g ? g->gr_gid : (gid_t)-1;
		if (!g)
			error_set(ret_warning, 0, "group '%s' does not exist: mutating routes are root's only", a->o.group);
	} else if ((r = bind_socket(a, ret_error, ret_warning)) < 0) {
		return r;
	}
	a->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, a,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
				  MHD_OPTION_LISTEN_SOCKET, a->listen_fd,
				  MHD_OPTION_CONNECTION_LIMIT, a->o.max_connections,
				  MHD_OPTION_CONNECTION_TIMEOUT, a->o.timeout_s,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_MAX_HEADER,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
				  MHD_OPTION_END);
	if (!a->mhd)
		return error_set(ret_error, -EIO, "cannot start the HTTP server on %s", a->socket_path);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	a->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!di || a->ep_fd < 0 || a->timer_fd < 0)
		return error_set(ret_error, -EIO, "cannot watch the HTTP server: %s", strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = di->epoll_fd};
	struct epoll_event tev = {.events = EPOLLIN, .data.fd = a->timer_fd};
	if (epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, di->epoll_fd, &ev) < 0 ||
	    epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->timer_fd, &tev) < 0)
		return error_set(ret_error, -errno, "epoll: %s", strerror(errno));
	arm_deadlines(a);
	return 0;
}

const char *api_where(const struct api *a)
{
	return a->activated ? "LISTEN_FDS" : a->socket_path;
}

int api_fd(const struct api *a)
{
	return a->ep_fd;
}

/* The timer: MHD's own timeout, or the earliest deadline of a client. */
static void arm_deadlines(struct api *a)
{
	uint64_t now = api_now_ms(a), next = 0;
	MHD_UNSIGNED_LONG_LONG t;
	if (MHD_get_timeout(a->mhd, &t) == MHD_YES)
		next = now + t;
	for (struct api_conn *c = a->conns; c; c = c->next)
		if (c->deadline_ms && (!next || c->deadline_ms < next))
			next = c->deadline_ms;
	/* Streams look for new events in the ledger (a claim sriovctl made
	 * in-process is only there). */
	if (a->streams && (!next || now + API_EVENTS_POLL_MS < next))
		next = now + API_EVENTS_POLL_MS;
	struct itimerspec its = {0};
	if (next) {
		if (next <= now)
			its.it_value.tv_nsec = 1; /* now: a zero value would disarm it */
		else {
			its.it_value.tv_sec = (time_t)((next - now) / 1000);
			its.it_value.tv_nsec = (long)((next - now) % 1000) * 1000000L;
		}
	}
	timerfd_settime(a->timer_fd, 0, &its, NULL);
}

/* libmicrohttpd stops listening at the connection limit and listens
 * again only in the run after a connection closed: run it again then (a
 * connection waiting to be accepted is no event of ours). */
static void run_mhd(struct api *a)
{
	for (int i = 0; i < 4; i++) {
		unsigned before = a->n_conns;
		MHD_run(a->mhd);
		if (a->n_conns >= before)
			break;
	}
}

void api_run(struct api *a)
{
	uint64_t expirations;
	if (read(a->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_kv(LOG_LVL_DEBUG, "api-timer", "error", strerror(errno), NULL);
	run_mhd(a);
	if (a->streams) {
		feed_streams(a);
		run_mhd(a);
	}
	/* A client that sends its request too slowly (or not at all) is cut
	 * off: the socket is shut, libmicrohttpd then closes it. */
	uint64_t now = api_now_ms(a);
	bool cut = false;
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (!c->deadline_ms || now < c->deadline_ms || c->fd < 0)
			continue;
		char uid[16], pid[16], s[16];
		snprintf(uid, sizeof(uid), "%u", (unsigned)c->peer.uid);
		snprintf(pid, sizeof(pid), "%d", (int)c->peer.pid);
		snprintf(s, sizeof(s), "%u", a->o.timeout_s);
		log_kv(LOG_LVL_INFO, "api-timeout", "uid", uid, "pid", pid, "timeout_s", s, NULL);
		shutdown(c->fd, SHUT_RDWR);
		c->deadline_ms = 0;
		cut = true;
	}
	if (cut)
		run_mhd(a);
	arm_deadlines(a);
}

void api_free(struct api *a)
{
	if (!a)
		return;
	/* libmicrohttpd must not stop with a connection suspended. */
	for (struct api_stream *st = a->streams; st; st = st->next) {
		st->ended = true;
		if (st->suspended) {
			st->suspended = false;
			MHD_resume_connection(st->c);
		}
	}
	if (a->mhd && a->streams)
		MHD_run(a->mhd);
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	if (a->bound_here && a->socket_path)
		unlink(a->socket_path);
	if (a->ep_fd >= 0)
		close(a->ep_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	api_model_drop(a);
	free(a->socket_path);
	free(a);
}

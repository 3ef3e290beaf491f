/* One request to sriovd's API socket (client.h). */
#include "client.h"

#include <limits.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/api-socket.h"
#include "util/util.h"

void client_response_done(struct client_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	*r = (struct client_response){0};
}

/* The transport is written here, not taken from libcurl: it speaks to one
 * server only (sriovd's libmicrohttpd, or sriov-relay's), over a local
 * socket, with no TLS, proxies, redirects or cookies, and libcurl's load
 * (about 40 libraries: TLS, Kerberos, LDAP, ...) cost a command through
 * sriovd more than the command itself. One request per connection
 * (Connection: close); the answer is read with Content-Length, chunked,
 * or to the end of the connection, bounded in bytes and in time. */
#define HEAD_MAX (64u * 1024u) /* status line and headers */

/* Waits until fd is ready for events or deadline (CLOCK_MONOTONIC ms)
 * passes: 0, -ETIMEDOUT, or -errno. */
static int wait_ready(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		uint64_t left = deadline - now;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* The answer's body, growing up to max bytes (NUL-terminated). */
struct sink {
	char *buf;
	size_t len, cap, max;
};

/* Appends n bytes: 0, -EFBIG beyond max, -ENOMEM. */
static int sink_write(struct sink *s, const char *data, size_t n)
{
	if (n > s->max - s->len)
		return -EFBIG;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return 0;
}

/* The answer as it is read: its head, then its body into body. */
struct answer {
	char head[HEAD_MAX];
	size_t head_len;
	bool have_head;
	long status;
	char *content_type;
	bool chunked;
	bool has_length;
	uint64_t length;
	/* chunked: bytes left of the chunk being read; in_size: a size line
	 * is being read (line holds it); after_data: its CRLF is due;
	 * trailer: the last chunk came, its trailer ends at an empty line. */
	uint64_t chunk_left;
	bool in_size, after_data, trailer, done;
	char line[256];
	size_t line_len;
	struct sink body;
};

/* The value of header name in the line (case-insensitive), or NULL. */
static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

/* Parses the head (its lines NUL-terminated in place): -EPROTO with the
 * reason in *ret_why, -EFBIG for a Content-Length beyond the bound. */
static int parse_head(struct answer *a, const char **ret_why)
{
	char *save = NULL, *line = strtok_r(a->head, "\r\n", &save);
	unsigned major, minor, code;
	char sp;
	if (!line || sscanf(line, "HTTP/%u.%u %3u%c", &major, &minor, &code, &sp) < 3 || major != 1 || code < 100 ||
	    code > 999) {
		*ret_why = "the answer does not start with an HTTP/1 status line";
		return -EPROTO;
	}
	a->status = (long)code;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		const char *v;
		if ((v = header_value(line, "Content-Type"))) {
			free(a->content_type);
			if (!(a->content_type = strdup(v)))
				return -ENOMEM;
		} else if ((v = header_value(line, "Content-Length"))) {
			uint64_t n;
			if (parse_u64(v, 10, &n) < 0) {
				*ret_why = "its Content-Length is not a number";
				return -EPROTO;
			}
			a->has_length = true;
			a->length = n;
			if (n > a->body.max)
				return -EFBIG;
		} else if ((v = header_value(line, "Transfer-Encoding"))) {
			if (strcasecmp(v, "chunked") != 0) {
				*ret_why = "its Transfer-Encoding is not chunked";
				return -EPROTO;
			}
			a->chunked = true;
		}
	}
	a->in_size = a->chunked;
	a->done = !a->chunked && a->has_length && a->length == 0;
	return 0;
}

static int body_add(struct answer *a, const char *data, size_t n)
{
	return n ? sink_write(&a->body, data, n) : 0;
}

/* Takes n bytes of a chunked body. */
static int chunked_feed(struct answer *a, const char *p, size_t n, const char **ret_why)
{
	while (n && !a->done) {
		if (a->chunk_left) {
			size_t take = n < a->chunk_left ? n : (size_t)a->chunk_left;
			int r = body_add(a, p, take);
			if (r < 0)
				return r;
			p += take;
			n -= take;
			if (!(a->chunk_left -= take))
				a->after_data = true;
			continue;
		}
		/* A line: a chunk's size, the CRLF after its data, or the trailer's. */
		char c = *p++;
		n--;
		if (c != '\n') {
			if (a->line_len == sizeof(a->line) - 1) {
				*ret_why = "a line of its chunked body is too long";
				return -EPROTO;
			}
			a->line[a->line_len++] = c;
			continue;
		}
		if (a->line_len && a->line[a->line_len - 1] == '\r')
			a->line_len--;
		a->line[a->line_len] = '\0';
		a->line_len = 0;
		if (a->after_data) {
			if (a->line[0]) {
				*ret_why = "a chunk of its body is longer than its size says";
				return -EPROTO;
			}
			a->after_data = false;
		} else if (a->trailer) {
			a->done = !a->line[0];
		} else {
			char *ext = strchr(a->line, ';');
			if (ext)
				*ext = '\0';
			uint64_t size;
			if (parse_u64(a->line, 16, &size) < 0) {
				*ret_why = "a chunk size of its body is not a hex number";
				return -EPROTO;
			}
			if (size > a->body.max - a->body.len)
				return -EFBIG;
			a->chunk_left = size;
			a->trailer = size == 0;
		}
	}
	return 0;
}

/* Takes n bytes read from the connection. */
static int answer_feed(struct answer *a, const char *p, size_t n, const char **ret_why)
{
	if (!a->have_head) {
		size_t take = n < sizeof(a->head) - 1 - a->head_len ? n : sizeof(a->head) - 1 - a->head_len;
		memcpy(a->head + a->head_len, p, take);
		size_t before = a->head_len;
		a->head_len += take;
		a->head[a->head_len] = '\0';
		char *end = strstr(a->head + (before > 3 ? before - 3 : 0), "\r\n\r\n");
		if (!end) {
			if (a->head_len == sizeof(a->head) - 1) {
				*ret_why = "its status line and headers are longer than 64 KiB";
				return -EPROTO;
			}
			return 0;
		}
		size_t head_end = (size_t)(end - a->head) + 4;
		size_t used = head_end - before;
		*end = '\0';
		a->have_head = true;
		int r = parse_head(a, ret_why);
		if (r < 0)
			return r;
		p += used;
		n -= used;
	}
	if (a->chunked)
		return chunked_feed(a, p, n, ret_why);
	if (a->has_length && n > a->length - a->body.len)
		n = (size_t)(a->length - a->body.len); /* what follows is not this answer's */
	int r = body_add(a, p, n);
	if (r == 0 && a->has_length && a->body.len == a->length)
		a->done = true;
	return r;
}

/* Writes all of b, bounded by deadline. -EPIPE: the server closed (its
 * answer may still be there to read). */
static int send_all(int fd, const char *b, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_ready(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (w < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Connects fd to socket within timeout_ms: 0 or -errno. */
static int connect_unix(int fd, const char *path, unsigned timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EAGAIN && errno != EINPROGRESS && errno != EINTR)
		return -errno;
	int r = wait_ready(fd, POLLOUT, mono_now_ms() + timeout_ms);
	if (r < 0)
		return r;
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* A socket connected to path within timeout_ms, in *ret_fd. */
static int dial(const char *path, unsigned timeout_ms, int *ret_fd)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int r = connect_unix(fd, path, timeout_ms);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* A path that can go on the request line as it is: no space, control byte
 * or DEL (a caller %-escapes its values). */
static bool path_ok(const char *path)
{
	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static bool method_ok(const char *method)
{
	if (!method[0] || strlen(method) > 16)
		return false;
	for (const char *c = method; *c; c++)
		if (*c < 'A' || *c > 'Z')
			return false;
	return true;
}

int client_send(const char *socket, const struct client_opts *o, const char *method, const char *path,
		const char *body, size_t body_len, struct client_response *ret, char **ret_error)
{
	struct client_opts opts = o ? *o : (struct client_opts){0};
	if (!opts.connect_timeout_ms)
		opts.connect_timeout_ms = CLIENT_CONNECT_TIMEOUT_MS_DEFAULT;
	if (!opts.timeout_ms)
		opts.timeout_ms = CLIENT_TIMEOUT_MS_DEFAULT;
	if (!opts.max_bytes)
		opts.max_bytes = CLIENT_MAX_BYTES_DEFAULT;
	if (strlen(socket) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return error_set(ret_error, -ENAMETOOLONG, "sriovd's API socket %s: the path is longer than %zu bytes",
				 socket, sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	if (path[0] != '/')
		return error_set(ret_error, -EINVAL, "sriovd's API socket %s: '%s' is not a path (it starts with /)", socket,
				 path);
	if (!path_ok(path))
		return error_set(ret_error, -EINVAL,
				 "sriovd's API socket %s: a request path has no space, control character or DEL", socket);
	if (!method_ok(method))
		return error_set(ret_error, -EINVAL, "sriovd's API socket %s: a method is 1 to 16 capital letters", socket);
	uint64_t deadline = mono_now_ms() + opts.timeout_ms;
	_cleanup_close_ int fd = -1;
	int r = dial(socket, opts.connect_timeout_ms, &fd);
	if (r == -ETIMEDOUT)
		return error_set(ret_error, r, "cannot connect to sriovd's API socket %s within %u ms", socket,
				 opts.connect_timeout_ms);
	if (r < 0)
		return error_set(ret_error, r, "cannot connect to sriovd's API socket %s: %s", socket, strerror(-r));
	_cleanup_free_ char *head = NULL;
	int hn = body ? asprintf(&head,
				 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
				 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				 method, path, body_len)
		      : asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path);
	if (hn < 0)
		return -ENOMEM;
	r = send_all(fd, head, (size_t)hn, deadline);
	if (r == 0 && body)
		r = send_all(fd, body, body_len, deadline);
	if (r < 0 && r != -EPIPE)
		return r == -ETIMEDOUT ? error_set(ret_error, r, "sriovd's API socket %s: no answer to %s %s within %u ms",
						   socket, method, path, opts.timeout_ms)
				       : error_set(ret_error, -EIO, "sriovd's API socket %s: %s %s: cannot send: %s", socket,
						   method, path, strerror(-r));
	struct answer *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->body.max = opts.max_bytes;
	const char *why = NULL;
	size_t got = 0;
	char buf[16384];
	while (!a->done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((r = wait_ready(fd, POLLIN, deadline)) < 0)
				break;
			continue;
		}
		if (n < 0) {
			r = errno == ECONNRESET ? 0 : -errno;
			break;
		}
		if (n == 0)
			break; /* the end of the connection */
		got += (size_t)n;
		if ((r = answer_feed(a, buf, (size_t)n, &why)) < 0)
			break;
	}
	/* To the end of the connection: an answer with neither length nor
	 * chunks ends there. */
	if (r == 0 && !a->done && a->have_head && !a->chunked && !a->has_length)
		a->done = true;
	if (r == -EFBIG)
		r = error_set(ret_error, r, "sriovd's API socket %s: the answer to %s %s is larger than %zu bytes", socket,
			      method, path, opts.max_bytes);
	else if (r == -ETIMEDOUT)
		r = error_set(ret_error, r, "sriovd's API socket %s: no answer to %s %s within %u ms", socket, method, path,
			      opts.timeout_ms);
	else if (r == -EPROTO)
		r = error_set(ret_error, r, "sriovd's API socket %s: %s %s: %s", socket, method, path, why);
	else if (r < 0)
		r = error_set(ret_error, -EIO, "sriovd's API socket %s: %s %s: cannot read the answer: %s", socket, method,
			      path, strerror(-r));
	else if (!got)
		r = error_set(ret_error, -EIO, "sriovd's API socket %s: %s %s: the connection closed with no answer", socket,
			      method, path);
	else if (!a->done)
		r = error_set(ret_error, -EIO, "sriovd's API socket %s: %s %s: the connection closed in the middle of the "
			      "answer (%zu bytes of it)", socket, method, path, got);
	if (r < 0) {
		free(a->body.buf);
		free(a->content_type);
		free(a);
		return r;
	}
	struct client_response res = {.status = a->status, .body = a->body.buf, .len = a->body.len,
				      .content_type = a->content_type};
	free(a);
	if (!res.body && !(res.body = strdup(""))) {
		free(res.content_type);
		return -ENOMEM;
	}
	*ret = res;
	return 0;
}

int client_request_opts(const char *socket, const struct client_opts *o, const char *method, const char *path,
			const json_t *body, long *ret_status, json_t **ret_doc, char **ret_error)
{
	_cleanup_free_ char *text = NULL;
	if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		return -ENOMEM;
	struct client_response res;
	int r = client_send(socket, o, method, path, text, text ? strlen(text) : 0, &res, ret_error);
	if (r < 0)
		return r;
	json_error_t err;
	json_t *doc = json_loadb(res.body, res.len, 0, &err);
	if (!json_is_object(doc)) {
		r = error_set(ret_error, -EBADMSG, "sriovd's API socket %s: the answer to %s %s (status %ld) is not a JSON object%s%s",
			      socket, method, path, res.status, doc ? "" : ": ", doc ? "" : err.text);
		json_decref(doc);
		client_response_done(&res);
		return r;
	}
	*ret_status = res.status;
	*ret_doc = doc;
	client_response_done(&res);
	return 0;
}

int client_request(const char *socket, const char *method, const char *path, const json_t *body,
		   long *ret_status, json_t **ret_doc, char **ret_error)
{
	return client_request_opts(socket, NULL, method, path, body, ret_status, ret_doc, ret_error);
}

bool client_error_doc(const json_t *doc, const char **ret_code, const char **ret_message, const char **ret_field)
{
	json_t *e = json_object_get(doc, "error");
	if (!json_is_object(e))
		return false;
	if (ret_code)
		*ret_code = json_string_value(json_object_get(e, "code"));
	if (ret_message)
		*ret_message = json_string_value(json_object_get(e, "message"));
	if (ret_field)
		*ret_field = json_string_value(json_object_get(e, "field"));
	return true;
}

int client_daemon_socket(const char *sysfs_root, const char *socket, char **ret_socket, char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	int r = socket ? ((path = strdup(socket)) ? 0 : -ENOMEM) : api_socket_default(sysfs_root, &path);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		*ret_socket = TAKE_PTR(path);
		return 0;
	}
	struct client_opts o = {.connect_timeout_ms = CLIENT_HEALTH_TIMEOUT_MS, .timeout_ms = CLIENT_HEALTH_TIMEOUT_MS,
				.max_bytes = 64 * 1024};
	long status;
	json_t *doc = NULL;
	_cleanup_free_ char *error = NULL;
	r = client_request_opts(path, &o, "GET", "/v1/health", NULL, &status, &doc, &error);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTSOCK) {
		*ret_socket = TAKE_PTR(path);
		return 0;
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		*ret_error = TAKE_PTR(error);
		return r;
	}
	bool health = (status == 200 || status == 503) && json_is_string(json_object_get(doc, "status"));
	json_decref(doc);
	if (!health)
		return error_set(ret_error, -EPROTO, "%s answers GET /v1/health with status %ld, not as sriovd does", path,
				 status);
	*ret_socket = TAKE_PTR(path);
	return 1;
}

char *client_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c)) {
			*p++ = (char)*c;
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	return out;
}

/* Unit tests for client/: requests to a small HTTP server on a real Unix
 * socket (a thread of this test) that answers canned documents by path: a
 * good answer, a body sent and echoed, an error document, an answer that is
 * not JSON, one larger than the bound (with and without Content-Length), a
 * chunked one with an extension and a trailer, one that runs to the end of
 * the connection, one cut short (in its head or body), one that is not
 * HTTP, a bad chunk size, a path that would smuggle a second request line,
 * the request's own head; a server that closes or never answers; a socket
 * with nothing behind it and a missing one; whether sriovd serves
 * (client_daemon_socket); the default socket of a sysfs root; %-escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/api-socket.h"
#include "client/client.h"
#include "test-helpers.h"
#include "util/util.h"

#define BIG (2u * 1024u * 1024u)

struct server {
	char dir[256];
	char path[300];
	int fd;
	pthread_t thread;
	const char *health; /* the answer to /v1/health */
};

static int send_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void reply(int fd, const char *status, const char *ct, const char *body)
{
	char head[512];
	snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, ct, strlen(body));
	if (send_all(fd, head, strlen(head)) == 0)
		send_all(fd, body, strlen(body));
}

static void big(int fd, bool chunked)
{
	char head[256];
	if (chunked)
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
	else
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					     "Content-Length: %u\r\nConnection: close\r\n\r\n", BIG);
	if (send_all(fd, head, strlen(head)) < 0)
		return;
	static char chunk[65536];
	memset(chunk, ' ', sizeof(chunk));
	for (unsigned sent = 0; sent < BIG; sent += sizeof(chunk)) {
		char size[32];
		snprintf(size, sizeof(size), "%zx\r\n", sizeof(chunk));
		if ((chunked && send_all(fd, size, strlen(size)) < 0) || send_all(fd, chunk, sizeof(chunk)) < 0 ||
		    (chunked && send_all(fd, "\r\n", 2) < 0))
			return;
	}
	if (chunked)
		send_all(fd, "0\r\n\r\n", 5);
}

/* One request: its head and (Content-Length) body, then the canned answer. */
static void serve_one(struct server *s, int fd)
{
	char buf[8192] = "";
	size_t len = 0;
	char *end = NULL;
	while (!(end = strstr(buf, "\r\n\r\n"))) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
	}
	size_t want = 0;
	char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 17, NULL, 10);
	while (len - (size_t)(end + 4 - buf) < want && len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
	}
	char method[16], path[256];
	if (sscanf(buf, "%15s %255s", method, path) != 2)
		return;
	const char *body = end + 4;
	if (strcmp(path, "/v1/health") == 0)
		reply(fd, "200 OK", "application/json", s->health);
	else if (strcmp(path, "/good") == 0)
		reply(fd, "200 OK", "application/json", "{\"a\": 1}\n");
	else if (strcmp(path, "/echo?x=1") == 0) {
		char *ct = strcasestr(buf, "\r\nContent-Type: ");
		char doc[4096];
		snprintf(doc, sizeof(doc), "{\"method\": \"%s\", \"json\": %s, \"body\": %s}", method,
			 ct && ct < end && strncmp(ct + 16, "application/json\r\n", 18) == 0 ? "true" : "false",
			 *body ? body : "null");
		reply(fd, "201 Created", "application/json", doc);
	} else if (strcmp(path, "/error") == 0)
		reply(fd, "404 Not Found", "application/json",
		      "{\"error\": {\"code\": \"not_found\", \"message\": \"no claim 7\", \"field\": \"id\"}}");
	else if (strcmp(path, "/text") == 0)
		reply(fd, "200 OK", "text/plain", "hello\n");
	else if (strcmp(path, "/list") == 0)
		reply(fd, "200 OK", "application/json", "[1, 2]");
	else if (strcmp(path, "/big") == 0)
		big(fd, false);
	else if (strcmp(path, "/bigchunked") == 0)
		big(fd, true);
	else if (strcmp(path, "/silent") == 0) {
		while (recv(fd, buf, sizeof(buf), 0) > 0) /* until the client gives up */
			;
	} else if (strcmp(path, "/close") == 0)
		;
	else if (strcmp(path, "/cut") == 0) /* 10 bytes promised, 4 sent */
		send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"", 43);
	else if (strcmp(path, "/cuthead") == 0)
		send_all(fd, "HTTP/1.1 200 OK\r\nContent-Le", 27);
	else if (strcmp(path, "/nothttp") == 0)
		send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
	else if (strcmp(path, "/chunks") == 0) /* chunk extensions, a trailer, bytes after the answer */
		send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{\"a\r\n"
			     "6\r\n\": 2}\n\r\n0\r\nX-T: 1\r\n\r\nGARBAGE", 90);
	else if (strcmp(path, "/badchunk") == 0)
		send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 51);
	else if (strcmp(path, "/tothend") == 0) /* neither length nor chunks: to the end */
		send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"b\": 3}", 59);
	else if (strcmp(path, "/head") == 0) { /* the request's head, as the server got it */
		char doc[9000];
		*end = '\0';
		json_t *j = json_pack("{s:s}", "head", buf);
		char *t = json_dumps(j, 0);
		snprintf(doc, sizeof(doc), "%s", t);
		free(t);
		json_decref(j);
		reply(fd, "200 OK", "application/json", doc);
	} else
		reply(fd, "404 Not Found", "application/json", "{\"error\": {\"code\": \"not_found\"}}");
}

static void *server_main(void *data)
{
	struct server *s = data;
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return NULL; /* shut down */
		serve_one(s, fd);
		close(fd);
	}
}

static int listen_at(const char *path, bool listening)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/test-client.XXXXXX", test_tmpdir());
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/api.sock", s->dir);
	s->health = "{\"status\": \"ok\", \"version\": \"0\", \"pid\": 1}";
	s->fd = listen_at(s->path, true);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
	char p[400];
	snprintf(p, sizeof(p), "%s/stale.sock", s->dir);
	unlink(p);
	rmdir(s->dir);
	free(s);
	return 0;
}

static void test_good(void **state)
{
	struct server *s = *state;
	long status = 0;
	json_t *doc = NULL;
	char *error = NULL;
	assert_int_equal(client_request(s->path, "GET", "/good", NULL, &status, &doc, &error), 0);
	assert_null(error);
	assert_int_equal(status, 200);
	assert_int_equal(json_integer_value(json_object_get(doc, "a")), 1);
	assert_false(client_error_doc(doc, NULL, NULL, NULL));
	json_decref(doc);
}

static void test_body(void **state)
{
	struct server *s = *state;
	long status = 0;
	json_t *doc = NULL, *body = json_pack("{s:s, s:i}", "consumer", "c1", "count", 2);
	char *error = NULL;
	assert_int_equal(client_request(s->path, "POST", "/echo?x=1", body, &status, &doc, &error), 0);
	assert_int_equal(status, 201);
	assert_string_equal(json_string_value(json_object_get(doc, "method")), "POST");
	assert_true(json_is_true(json_object_get(doc, "json")));
	assert_true(json_equal(json_object_get(doc, "body"), body));
	json_decref(doc);
	/* DELETE without a body: no Content-Type. */
	assert_int_equal(client_request(s->path, "DELETE", "/echo?x=1", NULL, &status, &doc, &error), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "method")), "DELETE");
	assert_true(json_is_false(json_object_get(doc, "json")));
	assert_true(json_is_null(json_object_get(doc, "body")));
	json_decref(doc);
	json_decref(body);
}

static void test_error_doc(void **state)
{
	struct server *s = *state;
	long status = 0;
	json_t *doc = NULL;
	char *error = NULL;
	const char *code, *message, *field;
	assert_int_equal(client_request(s->path, "GET", "/error", NULL, &status, &doc, &error), 0);
	assert_int_equal(status, 404);
	assert_true(client_error_doc(doc, &code, &message, &field));
	assert_string_equal(code, "not_found");
	assert_string_equal(message, "no claim 7");
	assert_string_equal(field, "id");
	json_decref(doc);
	/* An error document without its parts. */
	assert_int_equal(client_request(s->path, "GET", "/nosuch", NULL, &status, &doc, &error), 0);
	assert_true(client_error_doc(doc, &code, &message, &field));
	assert_string_equal(code, "not_found");
	assert_null(message);
	assert_null(field);
	json_decref(doc);
}

static void test_raw(void **state)
{
	struct server *s = *state;
	struct client_response res;
	char *error = NULL;
	assert_int_equal(client_send(s->path, NULL, "GET", "/text", NULL, 0, &res, &error), 0);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body, "hello\n");
	assert_int_equal(res.len, 6);
	assert_string_equal(res.content_type, "text/plain");
	client_response_done(&res);
	client_response_done(&res); /* twice is fine */

	/* Chunked, with an extension and a trailer; what follows the last
	 * chunk is not part of the body. */
	assert_int_equal(client_send(s->path, NULL, "GET", "/chunks", NULL, 0, &res, &error), 0);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body, "{\"a\": 2}\n");
	assert_null(res.content_type);
	client_response_done(&res);
	/* Neither Content-Length nor chunks: the body runs to the end. */
	assert_int_equal(client_send(s->path, NULL, "GET", "/tothend", NULL, 0, &res, &error), 0);
	assert_string_equal(res.body, "{\"b\": 3}");
	client_response_done(&res);
	/* The request's head: one request per connection, with a length for
	 * the body. */
	long status;
	json_t *doc;
	json_t *body = json_pack("{s:i}", "x", 1);
	assert_int_equal(client_request(s->path, "PUT", "/head", body, &status, &doc, &error), 0);
	json_decref(body);
	assert_string_equal(json_string_value(json_object_get(doc, "head")),
			    "PUT /head HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n"
			    "Content-Length: 7");
	json_decref(doc);
}

/* err_one: the request fails with want and exactly message. */
static void err_one(const char *socket, const struct client_opts *o, const char *path, int want, const char *message)
{
	long status = 0;
	json_t *doc = NULL;
	char *error = NULL;
	assert_int_equal(client_request_opts(socket, o, "GET", path, NULL, &status, &doc, &error), want);
	assert_null(doc);
	assert_non_null(error);
	assert_string_equal(error, message);
	free(error);
}

/* err_api: the same, with message "sriovd's API socket SOCKET: " + rest. */
static void err_api(const char *socket, const struct client_opts *o, const char *path, int want, const char *rest)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "sriovd's API socket %s: %s", socket, rest);
	err_one(socket, o, path, want, msg);
}

static void test_errors(void **state)
{
	struct server *s = *state;
	char msg[1024], stale[400], nosuch[400];
	err_api(s->path, NULL, "/text", -EBADMSG,
		"the answer to GET /text (status 200) is not a JSON object: '[' or '{' expected near 'hello'");
	err_api(s->path, NULL, "/list", -EBADMSG, "the answer to GET /list (status 200) is not a JSON object");
	struct client_opts small = {.max_bytes = 1024 * 1024};
	err_api(s->path, &small, "/big", -EFBIG, "the answer to GET /big is larger than 1048576 bytes");
	err_api(s->path, &small, "/bigchunked", -EFBIG, "the answer to GET /bigchunked is larger than 1048576 bytes");
	/* The default bound takes the 2 MiB answer. */
	struct client_response res;
	char *error = NULL;
	assert_int_equal(client_send(s->path, NULL, "GET", "/bigchunked", NULL, 0, &res, &error), 0);
	assert_int_equal(res.len, 2u * 1024u * 1024u);
	client_response_done(&res);
	err_api(s->path, NULL, "/close", -EIO, "GET /close: the connection closed with no answer");
	err_api(s->path, NULL, "/cut", -EIO, "GET /cut: the connection closed in the middle of the answer (43 bytes of it)");
	err_api(s->path, NULL, "/cuthead", -EIO,
		"GET /cuthead: the connection closed in the middle of the answer (27 bytes of it)");
	err_api(s->path, NULL, "/nothttp", -EPROTO, "GET /nothttp: the answer does not start with an HTTP/1 status line");
	err_api(s->path, NULL, "/badchunk", -EPROTO, "GET /badchunk: a chunk size of its body is not a hex number");
	/* No second request line smuggled in through the path. */
	err_api(s->path, NULL, "/good HTTP/1.1\r\nX: /v1/claims", -EINVAL,
		"a request path has no space, control character or DEL");
	struct client_opts quick = {.timeout_ms = 200};
	err_api(s->path, &quick, "/silent", -ETIMEDOUT, "no answer to GET /silent within 200 ms");

	/* A dead socket: the file is there, nothing listens. */
	snprintf(stale, sizeof(stale), "%s/stale.sock", s->dir);
	close(listen_at(stale, false));
	snprintf(msg, sizeof(msg), "cannot connect to sriovd's API socket %s: Connection refused", stale);
	err_one(stale, NULL, "/good", -ECONNREFUSED, msg);
	snprintf(nosuch, sizeof(nosuch), "%s/nosuch.sock", s->dir);
	snprintf(msg, sizeof(msg), "cannot connect to sriovd's API socket %s: No such file or directory", nosuch);
	err_one(nosuch, NULL, "/good", -ENOENT, msg);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(msg, sizeof(msg), "sriovd's API socket %s: the path is longer than 107 bytes", longpath);
	err_one(longpath, NULL, "/good", -ENAMETOOLONG, msg);
	snprintf(msg, sizeof(msg), "sriovd's API socket %s: 'good' is not a path (it starts with /)", s->path);
	err_one(s->path, NULL, "good", -EINVAL, msg);
}

static void test_daemon_socket(void **state)
{
	struct server *s = *state;
	char *sock = NULL, *error = NULL;
	assert_int_equal(client_daemon_socket(NULL, s->path, &sock, &error), 1);
	assert_string_equal(sock, s->path);
	free(sock);
	s->health = "{\"status\": \"starting\"}"; /* still sriovd (its 503 is taken too) */
	assert_int_equal(client_daemon_socket(NULL, s->path, &sock, &error), 1);
	free(sock);
	s->health = "{\"a\": 1}";
	assert_int_equal(client_daemon_socket(NULL, s->path, &sock, &error), -EPROTO);
	char msg[512];
	snprintf(msg, sizeof(msg), "%s answers GET /v1/health with status 200, not as sriovd does", s->path);
	assert_string_equal(error, msg);
	free(error);
	error = NULL;

	char stale[400], nosuch[400];
	snprintf(stale, sizeof(stale), "%s/stale.sock", s->dir);
	close(listen_at(stale, false));
	assert_int_equal(client_daemon_socket(NULL, stale, &sock, &error), 0);
	assert_string_equal(sock, stale);
	free(sock);
	snprintf(nosuch, sizeof(nosuch), "%s/nosuch.sock", s->dir);
	assert_int_equal(client_daemon_socket(NULL, nosuch, &sock, &error), 0);
	free(sock);
	assert_null(error);

	/* The default socket: the tree's state location, as sriovd's. */
	char root[300];
	snprintf(root, sizeof(root), "%s/tree", s->dir);
	assert_int_equal(client_daemon_socket(root, NULL, &sock, &error), 0);
	char want[400];
	snprintf(want, sizeof(want), "%s/.sriovd/api.sock", root);
	assert_string_equal(sock, want);
	free(sock);
	assert_int_equal(api_socket_default(NULL, &sock), 0);
	assert_string_equal(sock, "/run/sriovd/api.sock");
	free(sock);
	assert_int_equal(api_socket_default("/sys", &sock), 0);
	assert_string_equal(sock, "/run/sriovd/api.sock");
	free(sock);
}

static void test_escape(void **state)
{
	(void)state;
	static const char *const rows[][2] = {
		{"abc-XYZ_0.9~", "abc-XYZ_0.9~"},
		{"a b/c?d&e=f", "a%20b%2Fc%3Fd%26e%3Df"},
		{"", ""},
		{"\xc3\xa9%", "%C3%A9%25"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *e = client_escape(rows[i][0]);
		assert_string_equal(e, rows[i][1]);
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_doc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_socket, setup, teardown),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* One request to sriovd's API socket (client.h). */
#include "client.h"

#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>

/* the plain prototypes: the calls go through the pointers below */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "api/api-socket.h"
#include "util/dl.h"
#include "util/util.h"

void client_response_done(struct client_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->content_type);
	*r = (struct client_response){0};
}

/* libcurl is loaded (dlopen) the first time a request is sent, i.e. only
 * when sriovd's socket is there to talk to: a command that runs
 * in-process never maps it nor the ~40 libraries it pulls in (TLS,
 * Kerberos, LDAP, ...), which would double its start-up time and its
 * memory. The build still needs libcurl's headers; the run needs
 * libcurl.so.4 only to talk to sriovd. */
#define CURL_SONAME "libcurl.so.4"
DL_SYM_DECLARE(curl_global_init);
DL_SYM_DECLARE(curl_easy_strerror);
DL_SYM_DECLARE(curl_easy_init);
DL_SYM_DECLARE(curl_easy_cleanup);
DL_SYM_DECLARE(curl_easy_setopt);
DL_SYM_DECLARE(curl_easy_perform);
DL_SYM_DECLARE(curl_easy_getinfo);
DL_SYM_DECLARE(curl_slist_append);
DL_SYM_DECLARE(curl_slist_free_all);

static const struct dl_sym curl_syms[] = {
	DL_SYM(curl_global_init),   DL_SYM(curl_easy_strerror), DL_SYM(curl_easy_init),
	DL_SYM(curl_easy_cleanup),  DL_SYM(curl_easy_setopt),   DL_SYM(curl_easy_perform),
	DL_SYM(curl_easy_getinfo),  DL_SYM(curl_slist_append),  DL_SYM(curl_slist_free_all),
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_r = -ELIBACC;
static char *curl_init_error; /* why it could not be loaded or started */

static void curl_init(void)
{
	void *h;
	curl_init_r = dl_open_syms(CURL_SONAME, curl_syms, ARRAY_SIZE(curl_syms), &h, &curl_init_error);
	if (curl_init_r < 0)
		return;
	CURLcode c = sym_curl_global_init(CURL_GLOBAL_NOTHING);
	if (c != CURLE_OK)
		curl_init_r = error_set(&curl_init_error, -EIO, "cannot start libcurl: %s", sym_curl_easy_strerror(c));
}

struct sink {
	char *buf;
	size_t len, cap, max;
	bool too_big, no_memory;
};

static size_t sink_write(char *data, size_t size, size_t n, void *userdata)
{
	struct sink *s = userdata;
	size_t add = size * n;
	if (add > s->max - s->len) {
		s->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + add + 1)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (!b) {
			s->no_memory = true;
			return 0;
		}
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, add);
	s->len += add;
	s->buf[s->len] = '\0';
	return add;
}

static void curl_cleanupp(CURL **c)
{
	if (*c)
		sym_curl_easy_cleanup(*c);
}

static void slist_freep(struct curl_slist **l)
{
	sym_curl_slist_free_all(*l);
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
	pthread_once(&curl_once, curl_init);
	if (curl_init_r < 0)
		return error_set(ret_error, curl_init_r, "sriovd's API socket %s: %s", socket,
				 curl_init_error ? curl_init_error : strerror(-curl_init_r));
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "http://localhost%s", path) < 0)
		return -ENOMEM;
	__attribute__((cleanup(curl_cleanupp))) CURL *c = sym_curl_easy_init();
	if (!c)
		return -ENOMEM;
	__attribute__((cleanup(slist_freep))) struct curl_slist *headers = NULL;
	struct curl_slist *h = sym_curl_slist_append(NULL, "Expect:");
	if (!h)
		return -ENOMEM;
	headers = h;
	if (body && !(h = sym_curl_slist_append(headers, "Content-Type: application/json")))
		return -ENOMEM;
	struct sink sink = {.max = opts.max_bytes};
	char errbuf[CURL_ERROR_SIZE] = "";
	sym_curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	sym_curl_easy_setopt(c, CURLOPT_URL, url);
	sym_curl_easy_setopt(c, CURLOPT_PROXY, "");
	sym_curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)opts.connect_timeout_ms);
	sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)opts.timeout_ms);
	sym_curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts.max_bytes);
	sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (body) {
		sym_curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		sym_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (strcmp(method, "GET") == 0 && !body)
		sym_curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else
		sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	CURLcode cr = sym_curl_easy_perform(c);
	int r = 0;
	if (cr != CURLE_OK) {
		long os_errno = 0;
		sym_curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		if (sink.no_memory)
			r = -ENOMEM;
		else if (sink.too_big || cr == CURLE_FILESIZE_EXCEEDED)
			r = error_set(ret_error, -EFBIG, "sriovd's API socket %s: the answer to %s %s is larger than %zu bytes",
				      socket, method, path, opts.max_bytes);
		else if (cr == CURLE_COULDNT_CONNECT && os_errno > 0)
			r = error_set(ret_error, -(int)os_errno, "cannot connect to sriovd's API socket %s: %s", socket,
				      strerror((int)os_errno));
		else if (cr == CURLE_OPERATION_TIMEDOUT)
			r = error_set(ret_error, -ETIMEDOUT, "sriovd's API socket %s: no answer to %s %s within %u ms", socket,
				      method, path, opts.timeout_ms);
		else if (cr == CURLE_OUT_OF_MEMORY)
			r = -ENOMEM;
		else
			r = error_set(ret_error, cr == CURLE_GOT_NOTHING || cr == CURLE_RECV_ERROR ? -EIO : -EPROTO,
				      "sriovd's API socket %s: %s %s: %s", socket, method, path,
				      errbuf[0] ? errbuf : sym_curl_easy_strerror(cr));
		free(sink.buf);
		return r;
	}
	long status = 0;
	char *ct = NULL;
	sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	sym_curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	struct client_response res = {.status = status, .body = sink.buf, .len = sink.len};
	if (!res.body && !(res.body = strdup("")))
		return -ENOMEM;
	if (ct && !(res.content_type = strdup(ct))) {
		free(res.body);
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

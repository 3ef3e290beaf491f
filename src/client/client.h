/* client: a client of sriovd's service API (docs/api.md) over its Unix
 * socket, for sriovctl and any other program of this project that asks a
 * running sriovd.
 *
 * Owns: one HTTP/1.1 request and its answer over the socket (written on
 * libc: one request per connection, the answer by Content-Length, chunked,
 * or to the end of the connection; no library to load, so a command
 * through sriovd starts as fast as one in-process), its
 * limits (a timeout to connect, one for the whole request, a bound on the
 * answer's size), the errors that name the socket and the reason, the
 * parsing of JSON answers and of the API's error documents, and whether
 * sriovd serves on the socket of a sysfs root (the path itself is
 * api_socket_default(), the rule the daemon uses).
 *
 * Functions return 0 or -errno and never print; what went wrong is one
 * sentence in *ret_error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CLIENT_CONNECT_TIMEOUT_MS_DEFAULT 2000u
#define CLIENT_TIMEOUT_MS_DEFAULT 120000u /* a claim that binds vfio-pci may take a while */
#define CLIENT_MAX_BYTES_DEFAULT (256u * 1024u * 1024u)
#define CLIENT_HEALTH_TIMEOUT_MS 15000u /* sriovd answers between two reconciles */

struct client_opts {
	unsigned connect_timeout_ms; /* 0: CLIENT_CONNECT_TIMEOUT_MS_DEFAULT */
	unsigned timeout_ms;         /* the whole request; 0: CLIENT_TIMEOUT_MS_DEFAULT */
	size_t max_bytes;            /* of the answer's body; 0: CLIENT_MAX_BYTES_DEFAULT */
};

/* An answer as it came. */
struct client_response {
	long status;        /* the HTTP status */
	char *body;         /* NUL-terminated (the NUL is not counted in len) */
	size_t len;
	char *content_type; /* NULL: none given */
};
void client_response_done(struct client_response *r); /* accepts a zeroed one */

/* Sends METHOD path (from "/", may carry "?query") to the API socket with
 * body (NULL: none; sent as application/json) and gives the answer
 * whatever its status. o may be NULL (the defaults). -errno: the request
 * got no answer: -ENOENT / -ECONNREFUSED (nothing listens), -EACCES (the
 * socket's mode keeps this user out), -ETIMEDOUT, -EFBIG (the answer is
 * larger than max_bytes), -EINVAL (a path that does not start with / or
 * has a space or control byte; a method that is not 1-16 capital letters),
 * -EIO (the connection closed before the whole answer), -EPROTO (an answer
 * that is not HTTP/1). */
int client_send(const char *socket, const struct client_opts *o, const char *method, const char *path,
		const char *body, size_t body_len, struct client_response *ret, char **ret_error);

/* The same with a JSON body (NULL: none) and a JSON answer: *ret_status
 * and *ret_doc (the document, or the error document for a status >= 400)
 * set on 0; -EBADMSG when the answer is not a JSON object. */
int client_request(const char *socket, const char *method, const char *path, const json_t *body,
		   long *ret_status, json_t **ret_doc, char **ret_error);
int client_request_opts(const char *socket, const struct client_opts *o, const char *method, const char *path,
			const json_t *body, long *ret_status, json_t **ret_doc, char **ret_error);

/* The parts of an error document {"error": {"code", "message", "field"}}
 * (NULL each when absent); false when doc is not one. */
bool client_error_doc(const json_t *doc, const char **ret_code, const char **ret_message, const char **ret_field);

/* The socket of the sriovd for sysfs_root (NULL: /sys): socket when given,
 * else api_socket_default(); *ret_socket is a fresh string. Returns 1 when
 * sriovd serves there (GET /v1/health answers, also 503 while it starts),
 * 0 when nothing listens (no socket file, or a stale one), -EACCES (with
 * *ret_error) when something listens that this user may not connect to,
 * other -errno with *ret_error when it answers something that is not
 * sriovd's health document. */
int client_daemon_socket(const char *sysfs_root, const char *socket, char **ret_socket, char **ret_error);

/* "GET /v1/claims?consumer=..." and the like: s with every byte that is
 * not unreserved (RFC 3986) %-encoded; NULL on ENOMEM. */
char *client_escape(const char *s);

/* sriovctl through a running sriovd: whether a command goes through its
 * API socket (client/), and one request with the API's answer turned back
 * into the CLI's error line and exit status (cli.h). */
#include "cli.h"
#include "client/client.h"
#include "util/input.h"
#include "util/util.h"

int cli_daemon(const struct cli *cli, const char *verb, char **ret_socket)
{
	*ret_socket = NULL;
	if (cli->no_daemon)
		return EXIT_OK;
	/* A ledger folder of one's own is not the daemon's: in-process,
	 * unless the socket is named too. */
	if (cli->state_dir && !cli->socket)
		return EXIT_OK;
	_cleanup_free_ char *socket = NULL, *error = NULL;
	int r = client_daemon_socket(cli->sysfs_root, cli->socket, &socket, &error);
	if (r == -ENOMEM)
		return cli_error("%s: out of memory", verb);
	if (r == -EACCES)
		return cli_error("%s: %s (sriovd serves there; --no-daemon runs the command in-process)", verb,
				 error ? error : strerror(-r));
	if (r < 0)
		return cli_error("%s: %s", verb, error ? error : strerror(-r));
	if (r == 0 && cli->socket)
		return cli_error("%s: --socket %s: sriovd does not serve there (--no-daemon runs the command "
				 "in-process)", verb, QUOTE(cli->socket));
	if (r == 1)
		*ret_socket = TAKE_PTR(socket);
	return EXIT_OK;
}

/* A status other than 2xx: the API's message as "VERB: message", and the
 * exit status in-process gives the same failure: bad input 2 (the API's
 * 400), everything else 1. */
static int answer_failed(const char *verb, const char *method, const char *path, long status, const json_t *doc)
{
	const char *message = NULL;
	client_error_doc(doc, NULL, &message, NULL);
	if (message)
		cli_error("%s: %s", verb, message);
	else
		cli_error("%s: sriovd answered %s %s with status %ld", verb, method, path, status);
	return status == 400 ? EXIT_USAGE : EXIT_FAILED;
}

int cli_daemon_request(const char *verb, const char *socket, const char *method, const char *path, const json_t *body,
		       json_t **ret_doc)
{
	*ret_doc = NULL;
	long status;
	json_t *doc;
	_cleanup_free_ char *error = NULL;
	int r = client_request(socket, method, path, body, &status, &doc, &error);
	if (r < 0)
		return cli_error("%s: %s", verb, error ? error : strerror(-r));
	*ret_doc = doc;
	if (status >= 200 && status < 300)
		return EXIT_OK;
	return answer_failed(verb, method, path, status, doc);
}

int cli_daemon_get_text(const char *verb, const char *socket, const char *path, struct client_response *ret)
{
	*ret = (struct client_response){0};
	_cleanup_free_ char *error = NULL;
	int r = client_send(socket, NULL, "GET", path, NULL, 0, ret, &error);
	if (r < 0)
		return cli_error("%s: %s", verb, error ? error : strerror(-r));
	if (ret->status >= 200 && ret->status < 300)
		return EXIT_OK;
	json_t *doc = json_loadb(ret->body, ret->len, 0, NULL);
	r = answer_failed(verb, "GET", path, ret->status, doc);
	json_decref(doc);
	client_response_done(ret);
	return r;
}

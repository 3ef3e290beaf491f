/* sriovctl list: every SR-IOV PF with its VFs. */
#include "cli.h"
#include "client/client.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

/* Through sriovd: its model's document (GET /v1/inventory, what -j list
 * prints, made by the same printer: printed as it came), or its text
 * (?format=text: the "warning: " lines in-process prints on stderr first,
 * then the list, made by the same printers). */
static int list_daemon(const struct cli *cli, const char *socket)
{
	struct client_response rs;
	int r;
	if (cli->json) {
		if ((r = cli_daemon_get_text("list", socket, "/v1/inventory", &rs)) != EXIT_OK)
			return r;
		r = cli_print_json_text("list", rs.body, rs.len);
		client_response_done(&rs);
		return r;
	}
	if ((r = cli_daemon_get_text("list", socket, "/v1/inventory?format=text", &rs)) != EXIT_OK)
		return r;
	static const char warning[] = "warning: ";
	size_t off = 0;
	while (off < rs.len && rs.len - off >= strlen(warning) && memcmp(rs.body + off, warning, strlen(warning)) == 0) {
		const char *nl = memchr(rs.body + off, '\n', rs.len - off);
		size_t n = nl ? (size_t)(nl - (rs.body + off)) + 1 : rs.len - off;
		fwrite(rs.body + off, 1, n, stderr);
		off += n;
	}
	r = fwrite(rs.body + off, 1, rs.len - off, stdout) == rs.len - off && fflush(stdout) == 0
		    ? EXIT_OK
		    : cli_error("list: cannot print: %s", strerror(errno));
	client_response_done(&rs);
	return r;
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("list: unexpected argument '%s'", QUOTE(argv[first]));

	/* sriovd's model when it serves. */
	_cleanup_free_ char *socket = NULL;
	if ((r = cli_daemon(cli, "list", &socket)) != EXIT_OK)
		return r;
	if (socket)
		return list_daemon(cli, socket);
	struct pci_tree *t;
	if (cli->consumers)
		cli->consumers->readonly = true; /* who holds what: read only */
	if ((r = cli_load_inventory_to_list(cli, &t)))
		return r;
	cli_print_warnings(cli, t);
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json_stream("list", json_inventory_print, t);
	else
		text_print_list(stdout, t);
	if (FREE_AT_EXIT)
		pci_tree_free(t);
	return r;
}

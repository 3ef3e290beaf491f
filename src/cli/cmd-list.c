/* sriovctl list: every SR-IOV PF with its VFs. */
#include "cli.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

int cmd_list(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("list: unexpected argument '%s'", QUOTE(argv[first]));

	/* -j: sriovd's model when it serves (GET /v1/inventory, the same document). */
	if (cli->json) {
		_cleanup_free_ char *socket = NULL;
		if ((r = cli_daemon(cli, "list", &socket)) != EXIT_OK)
			return r;
		json_t *doc;
		if (socket) {
			if ((r = cli_daemon_request("list", socket, "GET", "/v1/inventory", NULL, &doc)) != EXIT_OK) {
				json_decref(doc);
				return r;
			}
			return cli_print_json("list", doc);
		}
	}
	struct pci_tree *t;
	if ((r = cli_load_inventory(cli, true, false, &t)))
		return r;
	cli_print_warnings(cli, t);
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json_stream("list", json_inventory_print, t);
	else
		text_print_list(stdout, t);
	pci_tree_free(t);
	return r;
}

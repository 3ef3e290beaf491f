/* sriovctl show DEV: one device, DEV being a netdev, a PCI address or PF#N. */
#include "cli.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

int cmd_show(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first >= argc)
		return cli_usage_error("show: missing DEV (a netdev, a PCI address or PF#N)");
	if (first + 1 < argc)
		return cli_usage_error("show: unexpected argument '%s'", QUOTE(argv[first + 1]));

	struct pci_tree *t;
	if ((r = cli_load_inventory(cli, true, false, &t)))
		return r;
	struct pci_function *d;
	_cleanup_free_ char *error = NULL;
	r = inventory_resolve(t, argv[first], &d, &error);
	if (r < 0) {
		cli_error("show: %s", error ? error : strerror(-r));
		pci_tree_free(t);
		return EXIT_FAILED;
	}
	cli_print_warnings(cli, t);
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("show", json_show(t, d));
	else
		text_print_show(stdout, d);
	pci_tree_free(t);
	return r;
}

/* sriovctl show DEV: one device, DEV being a netdev, a PCI address or PF#N,
 * with the settings its driver cannot do (the driver capability table). */
#include "caps/caps.h"
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
	if (cli->consumers)
		cli->consumers->readonly = true; /* who holds what: read only */
	if ((r = cli_load_inventory_to_print(cli, &t)))
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
	struct lifecycle_env env;
	struct lifecycle_rtnl rt = {0};
	cli_lifecycle_env(cli, &env, &rt);
	struct caps caps = {0};
	if ((r = caps_load(&env, &caps)) < 0 && !cli->json)
		text_printf(stderr, "warning: driver capability table: %s\n", r == -EBADMSG ? "not one (ignored)" : strerror(-r));
	lifecycle_rtnl_done(&rt);
	r = caps_annotate(&caps, t);
	caps_done(&caps);
	if (r < 0) {
		pci_tree_free(t);
		return cli_error("show: %s", strerror(-r));
	}
	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("show", json_show(t, d));
	else
		text_print_show(stdout, d);
	pci_tree_free(t);
	return r;
}

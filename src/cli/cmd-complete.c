/* sriovctl __complete WHAT: the words the bash completion offers
 * (completion/sriovctl), from sriovctl's own tables and the sysfs root it
 * would act on, so that the completion never drifts from the program and
 * needs no other tool. Hidden: not in the command list. */
#include "cli.h"
#include "util/input.h"
#include "util/util.h"

/* The options VERB takes, asked from the verb itself: its cli_parse prints
 * them instead of parsing (cli->describe). */
static int complete_options(struct cli *cli, const char *name)
{
	cli->describe = true;
	int first, r;
	if (!name) {
		char *argv[] = {(char *)"sriovctl", NULL};
		r = cli_parse_main(cli, 1, argv, &first);
	} else {
		const struct cli_verb *v = cli_find_verb(name);
		if (!v)
			return cli_usage_error("%s options: '%s' is not a command", CLI_COMPLETE_VERB, QUOTE(name));
		char *argv[] = {(char *)v->name, NULL};
		cli->verb = v;
		r = v->run(cli, 1, argv);
	}
	if (!cli->described)
		return cli_error("%s options: %s does not parse its options with cli_parse", CLI_COMPLETE_VERB,
				 name ? name : "sriovctl");
	return r > 0 ? r : EXIT_OK;
}

/* What DEV takes: the netdevs and PCI addresses of SR-IOV PFs and VFs,
 * and PF#N for every VF, by the PF's netdev and by its address. */
static int complete_devices(const struct cli *cli)
{
	struct pci_tree *t;
	int r = pci_tree_scan(cli->sysfs_root, &t);
	if (r < 0)
		return EXIT_FAILED; /* a completion stays quiet */
	for (size_t i = 0; i < t->n_devs; i++) {
		const struct pci_function *d = t->devs[i];
		if (!d->is_pf && !d->pf)
			continue;
		text_printf(stdout, "%s\n", d->addr);
		for (char **n = d->netdevs; n && *n; n++)
			text_printf(stdout, "%s\n", *n);
		for (size_t k = 0; k < d->n_vfs; k++) {
			text_printf(stdout, "%s#%u\n", d->addr, d->vfs[k]->vf_index);
			for (char **n = d->netdevs; n && *n; n++)
				text_printf(stdout, "%s#%u\n", *n, d->vfs[k]->vf_index);
		}
	}
	pci_tree_free(t);
	return EXIT_OK;
}

/* What DRIVER takes (bind): the PCI drivers of the root, and "kernel". */
static int complete_drivers(const struct cli *cli)
{
	_cleanup_(strv_freep) char **v = NULL;
	if (sysfs_pci_drivers(cli->sysfs_root, &v) < 0)
		v = NULL;
	printf("kernel\n");
	for (char **n = v; n && *n; n++)
		text_printf(stdout, "%s\n", *n);
	return EXIT_OK;
}

int cmd_complete(struct cli *cli, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (strcmp(what, "commands") == 0 && argc == 2) {
		size_t n;
		const struct cli_verb *v = cli_verbs(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].name);
		return EXIT_OK;
	}
	if (strcmp(what, "options") == 0 && argc <= 3)
		return complete_options(cli, argc == 3 ? argv[2] : NULL);
	if (strcmp(what, "args") == 0 && argc == 3) {
		/* The arguments the command's usage names (DEV, DRIVER, [FILE],
		 * set VF SETTING VALUE...): the completion maps them to words. */
		const struct cli_verb *v = cli_find_verb(argv[2]);
		if (!v)
			return cli_usage_error("%s args: '%s' is not a command", CLI_COMPLETE_VERB, QUOTE(argv[2]));
		printf("%s\n", v->args);
		return EXIT_OK;
	}
	if (strcmp(what, "devices") == 0 && argc == 2)
		return complete_devices(cli);
	if (strcmp(what, "drivers") == 0 && argc == 2)
		return complete_drivers(cli);
	return cli_usage_error("%s: give commands, options [COMMAND], args COMMAND, devices or drivers",
			       CLI_COMPLETE_VERB);
}

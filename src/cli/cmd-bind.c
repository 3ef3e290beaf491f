/* sriovctl bind DEV DRIVER [--force] [--preflight]: moves a PCI function to
 * DRIVER (vfio-pci, "kernel" for the driver it had before or the kernel's
 * choice, or any driver name), then with --preflight proves it is ready for
 * a hypervisor (vfio/). The work and the refusal rules are in lifecycle/;
 * this file parses, prints and picks the exit status. */
#include "cli.h"
#include "lifecycle/lifecycle.h"
#include "output/export.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

enum {
	OPT_FORCE = 0x200,
	OPT_PREFLIGHT,
};

struct bind_args {
	struct bind_request req;
	bool preflight;
};

static const struct option bind_opts[] = {
	{"force", no_argument, NULL, OPT_FORCE},
	{"preflight", no_argument, NULL, OPT_PREFLIGHT},
	{0},
};

static int bind_opt(int opt, const char *arg, void *data)
{
	(void)arg;
	struct bind_args *a = data;
	if (opt == OPT_FORCE) {
		a->req.force = true;
		return 0;
	}
	if (opt == OPT_PREFLIGHT) {
		a->preflight = true;
		return 0;
	}
	return cli_usage_error("bind: unexpected option");
}

static json_t *bind_json(const struct pci_function *d, const struct bind_result *res)
{
	json_t *o = json_document();
	json_object_set_new(o, "address", json_string(d->addr));
	json_object_set_new(o, "driver_before", json_str_or_null(res->driver_before));
	json_object_set_new(o, "driver", json_str_or_null(res->driver_after));
	json_object_set_new(o, "changed", json_boolean(res->changed));
	json_object_set_new(o, "restored", json_boolean(res->restored));
	json_object_set_new(o, "iommu_group", res->iommu_group >= 0 ? json_integer(res->iommu_group) : json_null());
	json_object_set_new(o, "vfio_device", json_str_or_null(res->vfio_device));
	json_object_set_new(o, "forced", json_strv(res->overridden));
	json_object_set_new(o, "destroyed_vfs", json_strv(res->destroyed_addrs));
	return o;
}

static void bind_text(const struct pci_function *d, const char *asked, const struct bind_result *res)
{
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(d, label);
	if (!res->changed) {
		if (streq_ptr(asked, LIFECYCLE_DRIVER_KERNEL))
			text_printf(stdout, "%s is already bound to its kernel driver %s; nothing to do\n", label,
			       res->driver_after ? res->driver_after : "-");
		else
			text_printf(stdout, "%s is already bound to %s; nothing to do\n", label, asked);
	} else {
		const char *how = "";
		if (streq_ptr(asked, LIFECYCLE_DRIVER_KERNEL))
			how = res->restored ? " (the driver it had before)" : " (the kernel's choice)";
		text_printf(stdout, "%s: %s -> %s%s\n", label, res->driver_before ? res->driver_before : "no driver",
		       res->driver_after ? res->driver_after : "no driver", how);
	}
	size_t n = strv_length(res->destroyed);
	if (n) {
		/* Names come from sysfs: escaped, like every text line. */
		_cleanup_free_ char *list = strv_join(res->destroyed, ", ");
		text_printf(stdout, "destroys %zu VF%s: %s\n", n, n == 1 ? "" : "s", list ? list : "(out of memory)");
	}
	if (res->vfio_device)
		text_printf(stdout, "IOMMU group %d: %s\n", res->iommu_group, res->vfio_device);
}

int cmd_bind(struct cli *cli, int argc, char **argv)
{
	struct bind_args args = {0};
	struct bind_request req;
	int first;
	int r = cli_parse(cli, argc, argv, bind_opts, NULL, bind_opt, &args, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	req = args.req;
	if (argc - first < 2)
		return cli_usage_error("bind: usage: sriovctl bind DEV DRIVER [--force] [--preflight] (DRIVER: vfio-pci, "
				       "kernel or a driver name)");
	if (argc - first > 2)
		return cli_usage_error("bind: unexpected argument '%s'", QUOTE(argv[first + 2]));
	const char *spec = argv[first];
	req.driver = argv[first + 1];
	/* Anything else is a typo, or an attempt to climb out of /sys/bus/pci/drivers. */
	if (!driver_name_valid(req.driver))
		return cli_usage_error("bind: '%s' is not a driver name (vfio-pci, kernel, or a folder of "
				       "/sys/bus/pci/drivers: " DRIVER_NAME_RULE ")", QUOTE(req.driver));

	/* The refusal is decided from a scan made under the lock. */
	if ((r = cli_host_lock(cli, "bind")))
		return r;
	struct pci_tree *t;
	struct inventory_opts io = {.sysfs_root = cli->sysfs_root};
	if ((r = inventory_load(&io, &t)) < 0)
		return cli_error("bind: cannot read PCI devices under %s/bus/pci/devices: %s",
				 cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
	struct pci_function *d;
	_cleanup_free_ char *error = NULL;
	if ((r = inventory_resolve(t, spec, &d, &error)) < 0) {
		cli_error("bind: %s", error ? error : strerror(-r));
		pci_tree_free(t);
		return EXIT_FAILED;
	}

	struct lifecycle_rtnl rt = {0};
	struct lifecycle_env env;
	cli_lifecycle_env(cli, &env, &rt);
	struct bind_result res;
	r = lifecycle_bind(&env, d, &req, &res, &error);
	lifecycle_rtnl_done(&rt);

	/* In JSON mode they are the document's "forced". */
	for (size_t i = 0; !cli->json && res.overridden && res.overridden[i]; i++)
		text_printf(stderr, "warning: --force: %s\n", res.overridden[i]);
	int status = EXIT_OK;
	if (r < 0) {
		cli_error("bind: %s", error ? error : strerror(-r));
		status = EXIT_FAILED;
	} else {
		/* The pre-flight runs on what the bind left, whatever the driver:
		 * on any other than vfio-pci its first step says so. */
		struct vfio_preflight_result pre;
		_cleanup_free_ char *pre_error = NULL;
		int pr = 0;
		if (args.preflight) {
			struct vfio_env venv = {.sysfs_root = cli->sysfs_root, .dev_root = getenv("SRIOV_DEV_ROOT")};
			pr = vfio_preflight(&venv, d->addr, &pre, &pre_error);
		}
		if (cli->json) {
			json_t *j = bind_json(d, &res);
			if (args.preflight)
				json_object_set_new(j, "preflight", json_vfio_preflight(&pre, pr, pre_error));
			status = cli_print_json("bind", j);
		} else {
			bind_text(d, req.driver, &res);
			if (args.preflight)
				text_print_vfio_preflight(stdout, &pre, pr, pre_error);
		}
		if (pr < 0) {
			fflush(stdout);
			cli_error("bind: %s", pre_error ? pre_error : strerror(-pr));
			status = EXIT_FAILED;
		}
	}
	bind_result_done(&res);
	pci_tree_free(t);
	return status;
}

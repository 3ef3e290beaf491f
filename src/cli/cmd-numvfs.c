/* sriovctl numvfs DEV N [--force] [--no-autoprobe] [--timeout SECS]: sets a
 * PF's VF count, then shows its VFs. The work and the refusal rules are in
 * lifecycle/; this file parses, prints and picks the exit status. */
#include <ctype.h>
#include <limits.h>

#include "cli.h"
#include "lifecycle/lifecycle.h"
#include "output/output.h"
#include "util/fs.h"
#include "util/input.h"
#include "util/util.h"

#define TIMEOUT_MAX_S 3600

enum {
	OPT_FORCE = 0x200,
	OPT_NO_AUTOPROBE,
	OPT_TIMEOUT,
};

static const struct option numvfs_opts[] = {
	{"force", no_argument, NULL, OPT_FORCE},
	{"no-autoprobe", no_argument, NULL, OPT_NO_AUTOPROBE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{0},
};

static int numvfs_opt(int opt, const char *arg, void *data)
{
	struct numvfs_request *req = data;
	switch (opt) {
	case OPT_FORCE:
		req->force = true;
		return 0;
	case OPT_NO_AUTOPROBE:
		req->no_autoprobe = true;
		return 0;
	case OPT_TIMEOUT:
		if (cli_parse_seconds_ms(arg, TIMEOUT_MAX_S, &req->timeout_ms) < 0)
			return cli_usage_error("numvfs: --timeout wants seconds from 0 to %d (e.g. 10 or 2.5), not '%s'",
					       TIMEOUT_MAX_S, QUOTE(arg));
		req->no_wait = req->timeout_ms == 0;
		return 0;
	}
	return cli_usage_error("numvfs: unexpected option");
}

/* A VF count is plain decimal digits: no sign, no blanks, no exponent, no
 * hex (the kernel would take 0x10; a typo should not). */
static int parse_count(const char *s, uint32_t *ret)
{
	if (str_empty(s))
		return -EINVAL;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
	return parse_u32(s, 10, ret);
}

/* getopt would take "-1" for an option and answer "option '-1' is not
 * known"; a negative count deserves its own words. */
static bool looks_negative(const char *s)
{
	return s[0] == '-' && isdigit((unsigned char)s[1]);
}

static void print_outcome(const struct pci_function *pf, const struct numvfs_result *res)
{
	char label[LIFECYCLE_LABEL_MAX];
	lifecycle_label(pf, label);
	if (!res->changed) {
		text_printf(stdout, "%s already has %u VF%s; nothing written\n", label, res->before, res->before == 1 ? "" : "s");
		return;
	}
	text_printf(stdout, "%s: %u -> %u VFs%s%s\n", label, res->before, res->after,
	       res->disabled_first ? " (through 0: the kernel cannot resize)" : "",
	       res->wrote_autoprobe ? ", sriov_drivers_autoprobe set to 0 (new VFs stay unbound)"
	       : res->after > 0 && res->autoprobe == 0 ? ", sriov_drivers_autoprobe is 0 (new VFs stay unbound)"
						      : "");
}

/* The outcome's warnings, one sentence each (stderr, or the JSON document). */
static int outcome_warnings(const struct lifecycle_env *env, const struct pci_function *pf,
			    const struct numvfs_request *req, const struct numvfs_result *res, char ***ret)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && res->overridden && res->overridden[i]; i++)
		r = strv_pushf(ret, "--force: %s", res->overridden[i]);
	if (!res->changed)
		return r;
	unsigned ms = lifecycle_numvfs_request_timeout_ms(env, req);
	if (r >= 0 && res->links < res->after)
		r = strv_pushf(ret, "%s: %u of %u virtfn links after %u.%03u s", pf->addr, res->links, res->after,
			       ms / 1000, ms % 1000);
	for (size_t i = 0; r >= 0 && res->no_driver && res->no_driver[i]; i++)
		r = strv_pushf(ret, "VF %s has no driver after %u.%03u s although autoprobe is on (see the kernel log)",
			       res->no_driver[i], ms / 1000, ms % 1000);
	return r;
}

static json_t *numvfs_json(const char *addr, const struct numvfs_request *req, const struct numvfs_result *res,
			   const char *error, const struct pci_tree *t, const struct pci_function *pf,
			   char *const *warnings)
{
	json_t *o = json_document();
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "requested", json_integer(req->count));
	json_object_set_new(o, "before", json_integer(res->before));
	json_object_set_new(o, "after", json_integer(res->after));
	json_object_set_new(o, "changed", json_boolean(res->changed));
	json_object_set_new(o, "disabled_first", json_boolean(res->disabled_first));
	json_object_set_new(o, "autoprobe_written", json_boolean(res->wrote_autoprobe));
	json_object_set_new(o, "autoprobe", res->autoprobe < 0 ? json_null() : json_boolean(res->autoprobe));
	json_object_set_new(o, "settled", json_boolean(res->settled));
	json_object_set_new(o, "links", json_integer(res->links));
	json_object_set_new(o, "no_driver", json_strv(res->no_driver));
	json_object_set_new(o, "forced", json_strv(res->overridden));
	json_object_set_new(o, "error", error ? json_string(error) : json_null());
	json_object_set_new(o, "pf", pf ? json_pci_function(pf) : json_null());
	json_t *w = json_strv(warnings);
	for (size_t i = 0; t && t->warnings && t->warnings[i]; i++)
		json_array_append_new(w, json_string(t->warnings[i]));
	json_object_set_new(o, "warnings", w);
	return o;
}

/* Shows the outcome and the PF as it is now: the PF and its VFs read again
 * (with names, VF settings and holders) in the tree the change was decided
 * on, whose other functions the change did not touch. The warnings shown
 * are those of this read (the first read's would say the same of the PF
 * twice). */
static int print_pf(struct cli *cli, struct pci_tree *t, const char *addr, const struct numvfs_request *req,
		    const struct numvfs_result *res, const char *error, char *const *warnings)
{
	struct inventory_opts io = {.sysfs_root = cli->sysfs_root, .names = true,
				    .netlink = inventory_root_is_live(cli->sysfs_root)};
	char *const addrs[] = {(char *)addr, NULL};
	strv_free(t->warnings);
	t->warnings = NULL;
	int r = inventory_reread_pfs(&io, t, addrs);
	if (r < 0)
		return cli_error("numvfs: cannot read %s again under %s: %s", addr,
				 cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
	if ((r = cli_annotate_claims(cli, t)))
		return r;
	/* A PF that is gone keeps its old entry in the tree: its folder tells. */
	_cleanup_free_ char *rel = NULL;
	if (asprintf(&rel, "bus/pci/devices/%s", addr) < 0)
		return cli_error("numvfs: %s", strerror(ENOMEM));
	struct pci_function *pf = dir_exists_beneath(t->root, rel) ? pci_tree_find_addr(t, addr) : NULL;
	cli_print_warnings(cli, t);
	if (cli->json) /* pf null when it is gone */
		r = cli_print_json("numvfs", numvfs_json(addr, req, res, error, t, pf, warnings));
	else if (pf)
		text_print_show(stdout, pf);
	if (!pf)
		return cli_error("numvfs: %s is gone after the change", addr);
	return r;
}

int cmd_numvfs(struct cli *cli, int argc, char **argv)
{
	struct numvfs_request req = {0};
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--timeout") == 0)
			i++; /* its value: --timeout's own parser judges it */
		else if (looks_negative(argv[i]))
			return cli_usage_error("numvfs: '%s' is not a VF count (a whole number, 0 disables SR-IOV)",
					       QUOTE(argv[i]));
	int first;
	int r = cli_parse(cli, argc, argv, numvfs_opts, NULL, numvfs_opt, &req, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (argc - first < 2)
		return cli_usage_error("numvfs: usage: sriovctl numvfs DEV N [--force] [--no-autoprobe] [--timeout SECS]");
	if (argc - first > 2)
		return cli_usage_error("numvfs: unexpected argument '%s'", QUOTE(argv[first + 2]));
	const char *spec = argv[first], *count = argv[first + 1];
	r = parse_count(count, &req.count);
	if (r == -ERANGE)
		return cli_usage_error("numvfs: '%s' is far too many VFs", QUOTE(count));
	if (r < 0)
		return cli_usage_error("numvfs: '%s' is not a VF count (a whole number, 0 disables SR-IOV)", QUOTE(count));

	/* The refusal is decided from a scan made under the lock. */
	if ((r = cli_host_lock(cli, "numvfs")))
		return r;
	struct pci_tree *t;
	struct inventory_opts io = {.sysfs_root = cli->sysfs_root};
	if ((r = inventory_load(&io, &t)) < 0)
		return cli_error("numvfs: cannot read PCI devices under %s/bus/pci/devices: %s",
				 cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
	struct pci_function *pf;
	_cleanup_free_ char *error = NULL;
	if ((r = inventory_resolve(t, spec, &pf, &error)) < 0) {
		cli_error("numvfs: %s", error ? error : strerror(-r));
		pci_tree_free(t);
		return EXIT_FAILED;
	}

	struct lifecycle_rtnl rt = {0};
	struct lifecycle_env env;
	cli_lifecycle_env(cli, &env, &rt);
	struct cli_progress progress;
	cli_progress_attach(cli, &env, &progress);
	struct numvfs_result res;
	r = lifecycle_set_numvfs(&env, pf, &req, &res, &error);
	cli_progress_end(&progress);
	lifecycle_rtnl_done(&rt);

	char addr[PCI_ADDR_STRLEN];
	snprintf(addr, sizeof(addr), "%s", pf->addr);
	int status = EXIT_OK;
	if (r >= 0 && !cli->json)
		print_outcome(pf, &res);
	char **warnings = NULL;
	if (outcome_warnings(&env, pf, &req, &res, &warnings) < 0)
		status = cli_error("numvfs: %s", strerror(ENOMEM));
	for (size_t i = 0; !cli->json && warnings && warnings[i]; i++)
		text_printf(stderr, "warning: %s\n", warnings[i]);
	/* After a failure the PF is shown only when its VFs changed (the kernel
	 * refused N after the old VFs were disabled, or enabled fewer). */
	if (r >= 0 || res.after != res.before) {
		int pr = print_pf(cli, t, addr, &req, &res, r < 0 ? (error ? error : strerror(-r)) : NULL, warnings);
		if (status == EXIT_OK)
			status = pr;
	}
	if (r < 0) {
		cli_error("numvfs: %s", error ? error : strerror(-r));
		status = EXIT_FAILED;
	}
	strv_free(warnings);
	numvfs_result_done(&res);
	pci_tree_free(t);
	return status;
}

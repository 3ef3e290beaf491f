/* sriovctl export CLAIM-ID|VF --format libvirt|libvirt-hostdev|qemu|xen|json:
 * what a hypervisor or an orchestrator needs to take a claim's devices or one
 * VF, in its own format. CLAIM-ID (a number) is an active claim of the
 * ledger: its devices with the MAC and VLAN the claim gave them, its
 * consumer and id. VF is any DEV `show` takes; its MAC and VLAN are the PF's
 * netlink view of it now (unknown on a tree from elsewhere). The renderers
 * are in output/export.c; this file resolves the devices, fills their input
 * and picks the exit status. */
#include <inttypes.h>

#include "cli.h"
#include "client/client.h"
#include "ledger/ledger.h"
#include "output/export.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"
#include "vf/vf.h"

enum {
	OPT_FORMAT = 0x200,
};

static const struct option export_opts[] = {
	{"format", required_argument, NULL, OPT_FORMAT},
	{0},
};

struct export_args {
	const char *format;
};

static int export_opt(int opt, const char *arg, void *data)
{
	struct export_args *a = data;
	if (opt == OPT_FORMAT) {
		a->format = arg;
		return 0;
	}
	return cli_usage_error("export: unexpected option");
}

/* A claim ID: digits only, 1 or more (a netdev is never all digits here). */
static bool parse_claim_id(const char *s, int64_t *ret)
{
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++)
		v = v * 10 + (*p - '0');
	if (v <= 0)
		return false;
	*ret = v;
	return true;
}

/* Active claim id from the ledger and its devices as export inputs
 * (export_claim_inputs()). Prints the error. */
static int claim_inputs(const struct cli *cli, const struct pci_tree *t, int64_t id, struct ledger_claim *c,
			struct export_set *ret)
{
	_cleanup_free_ char *path = NULL, *error = NULL;
	/* A read: a missing ledger is not created. */
	int r = ledger_exists(cli->sysfs_root, cli->state_dir, &path);
	if (r < 0)
		return cli_error("export: cannot find the ledger%s%s: %s", path ? " " : "", path ? path : "", strerror(-r));
	if (r == 0)
		return cli_error("export: claim %" PRId64 ": no such claim (no ledger at %s)", id, path);
	struct ledger *l = NULL;
	if ((r = ledger_open(cli->sysfs_root, cli->state_dir, &l, &error)) < 0)
		return cli_error("export: %s", error ? error : strerror(-r));
	r = ledger_claim_get(l, id, c);
	ledger_close(l);
	if (r < 0)
		return cli_error("export: claim %" PRId64 ": cannot read the ledger: %s", id, strerror(-r));
	if (r == 0)
		return cli_error("export: claim %" PRId64 ": no such claim", id);
	if ((r = export_claim_inputs(t, c, ret, &error)) < 0)
		return cli_error("export: %s", error ? error : strerror(-r));
	return 0;
}

/* The warning for a device that is not on vfio-pci yet (driver NULL: none). */
static void warn_driver(const char *addr, const char *driver)
{
	if (!streq_ptr(driver, "vfio-pci"))
		text_printf(stderr, "warning: %s is bound to %s, not vfio-pci: bind it first (sriovctl bind %s vfio-pci "
			    "--preflight)\n", addr, driver ? driver : "no driver", addr);
}

/* GET /v1/claims/{id}/export?format=F: the same text, the same errors. */
static int export_get(long long id, enum export_format fmt, const char *socket, struct client_response *ret)
{
	_cleanup_free_ char *path = NULL, *error = NULL;
	if (asprintf(&path, "/v1/claims/%lld/export?format=%s", id, export_format_to_string(fmt)) < 0)
		return cli_error("export: out of memory");
	int r = client_send(socket, NULL, "GET", path, NULL, 0, ret, &error);
	if (r < 0)
		return cli_error("export: %s", error ? error : strerror(-r));
	if (ret->status == 200)
		return EXIT_OK;
	if (ret->status == 404)
		r = cli_error("export: claim %lld: no such claim", id);
	else {
		json_t *doc = json_loadb(ret->body, ret->len, 0, NULL);
		const char *message = NULL;
		client_error_doc(doc, NULL, &message, NULL);
		r = message ? cli_error("export: %s", message)
			    : cli_error("export: sriovd answered GET %s with status %ld", path, ret->status);
		json_decref(doc);
	}
	client_response_done(ret);
	return r;
}

static int export_daemon(const struct cli *cli, int64_t id, enum export_format fmt, const char *socket)
{
	struct client_response text = {0}, js = {0};
	int r = export_get((long long)id, fmt, socket, &text);
	if (r != EXIT_OK)
		return r;
	/* The drivers for the warnings: the json format's document. */
	if (fmt != EXPORT_JSON && (r = export_get((long long)id, EXPORT_JSON, socket, &js)) != EXIT_OK) {
		client_response_done(&text);
		return r;
	}
	const struct client_response *j = fmt == EXPORT_JSON ? &text : &js;
	json_t *doc = json_loadb(j->body, j->len, JSON_DECODE_ANY, NULL);
	if (!doc) {
		r = cli_error("export: sriovd's answer for claim %lld is not JSON", (long long)id);
	} else if (cli->json) {
		r = cli_print_json("export", json_incref(doc));
	} else {
		r = fwrite(text.body, 1, text.len, stdout) == text.len && fflush(stdout) == 0
			    ? EXIT_OK
			    : cli_error("export: cannot print: %s", strerror(errno));
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(doc, "devices"), i, d)
			warn_driver(json_string_value(json_object_get(d, "address")),
				    json_string_value(json_object_get(d, "driver")));
	}
	json_decref(doc);
	client_response_done(&text);
	client_response_done(&js);
	return r;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	struct export_args args = {0};
	int first;
	int r = cli_parse(cli, argc, argv, export_opts, NULL, export_opt, &args, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first >= argc)
		return cli_usage_error("export: usage: sriovctl export CLAIM-ID|VF --format FORMAT (FORMAT: " EXPORT_FORMATS ")");
	if (first + 1 < argc)
		return cli_usage_error("export: unexpected argument '%s'", QUOTE(argv[first + 1]));
	enum export_format fmt = EXPORT_JSON;
	if (!args.format && !cli->json)
		return cli_usage_error("export: --format is required (" EXPORT_FORMATS ")");
	if (args.format && export_format_from_string(args.format, &fmt) < 0)
		return cli_usage_error("export: --format '%s' is not known (" EXPORT_FORMATS ")", QUOTE(args.format));
	if (cli->json && fmt != EXPORT_JSON)
		return cli_usage_error("export: -j prints JSON; --format %s is not (use --format json)",
				       export_format_to_string(fmt));

	int64_t claim_id = 0;
	bool by_claim = parse_claim_id(argv[first], &claim_id);
	if (by_claim) {
		_cleanup_free_ char *socket = NULL;
		if ((r = cli_daemon(cli, "export", &socket)) != EXIT_OK)
			return r;
		if (socket)
			return export_daemon(cli, claim_id, fmt, socket);
	}
	struct pci_tree *t;
	/* A claim's MAC and VLAN are the ledger's: no netlink needed. */
	if (by_claim) {
		struct inventory_opts io = {.sysfs_root = cli->sysfs_root};
		if ((r = inventory_load(&io, &t)) < 0)
			return cli_error("export: cannot read PCI devices under %s/bus/pci/devices: %s",
					 cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
	} else if ((r = cli_load_inventory(cli, false, false, &t))) {
		return r;
	}
	_cleanup_free_ char *error = NULL;
	struct export_set set = {0};
	struct ledger_claim claim = {0};
	if (by_claim) {
		if ((r = claim_inputs(cli, t, claim_id, &claim, &set))) {
			ledger_claim_done(&claim);
			pci_tree_free(t);
			return EXIT_FAILED;
		}
	} else {
		struct pci_function *d;
		if ((r = inventory_resolve(t, argv[first], &d, &error)) < 0) {
			cli_error("export: %s", error ? error : strerror(-r));
			pci_tree_free(t);
			return EXIT_FAILED;
		}
		set = (struct export_set){.in = calloc(1, sizeof(*set.in)), .vfio = calloc(1, sizeof(*set.vfio)), .n = 1};
		if (!set.in || !set.vfio) {
			export_set_done(&set);
			pci_tree_free(t);
			return cli_error("export: out of memory");
		}
		export_input_of(d, &set.in[0], set.vfio[0]);
	}
	const struct export_input *in = set.in;
	size_t n = set.n;
	int status = EXIT_OK;
	if (cli->json) {
		status = cli_print_json("export", json_export(in, n));
	} else if ((r = export_render(stdout, fmt, in, n, &error)) < 0) {
		cli_error("export: %s", error ? error : strerror(-r));
		status = EXIT_FAILED;
	} else {
		for (size_t i = 0; i < n; i++)
			warn_driver(in[i].addr, in[i].driver);
	}
	export_set_done(&set);
	ledger_claim_done(&claim);
	pci_tree_free(t);
	return status;
}

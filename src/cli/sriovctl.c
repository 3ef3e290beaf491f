#include <stdarg.h>
#include <stdio.h>

#include "batch.h"
#include "cli.h"
#include "config.h"
#include "netlink/rtnl.h"
#include "output/output.h"
#include "relayctl/relayctl.h"
#include "util/input.h"
#include "util/util.h"

/* Each command: its name, arguments, one line for `sriovctl --help`, and
 * its own options for `sriovctl COMMAND --help` (man/sriovctl.8.scd says
 * the same: tests/cli/test-cli-doc.sh holds the two in step with the
 * option tables the commands parse). */
#define PLAN_OPTIONS_HELP \
	"      --config FILE    the main config file (or FILE; default /etc/sriovd/sriovd.conf)\n" \
	"      --config-dir DIR the drop-in folder (default FILE.d; \"\" for none)\n" \
	"      --allow-missing  a PF the config names that is not here is a warning\n"

static const struct cli_verb verbs[] = {
	{"list", cmd_list, "", "every SR-IOV PF with its VFs", NULL},
	{"show", cmd_show, "DEV", "one device: DEV is a netdev, a PCI address or PF#N", NULL},
	{"check", cmd_check, "", "is this host ready for SR-IOV passthrough? (--proc-root, --kmsg)", NULL},
	{"vf", cmd_vf, "set VF SETTING VALUE...", "change a VF's MAC, VLAN, ... (all or nothing)",
	 "Arguments:\n"
	 "  VF is PF#N (eth0#2, 0000:01:00.0#2), a VF's PCI address or netdev. SETTINGs:\n"
	 "  mac M, vlan V [qos Q] [proto 802.1Q|802.1ad], spoofchk on|off, trust on|off,\n"
	 "  state auto|enable|disable, min-rate R, max-rate R (Mbit/s, 0 = none),\n"
	 "  query-rss on|off\n"},
	{"stats", cmd_stats, "DEV", "per-VF counters of a PF, or of one VF", NULL},
	{"numvfs", cmd_numvfs, "DEV N", "set a PF's VF count (--force, --no-autoprobe, --timeout SECS)",
	 "Options:\n"
	 "      --force          go ahead although VFs are in use (vfio-pci, up with\n"
	 "                       addresses or routes, in another network namespace)\n"
	 "      --no-autoprobe   write 0 to sriov_drivers_autoprobe first: new VFs stay unbound\n"
	 "      --timeout SECS   wait this long for the VFs and their drivers (default 30 s\n"
	 "                       plus 1 s per VF; 0: do not wait)\n"},
	{"bind", cmd_bind, "DEV DRIVER", "bind to DRIVER: vfio-pci, kernel (the driver before) or a name (--force, --preflight)",
	 "Options:\n"
	 "      --force          go ahead although the move destroys VFs in use\n"
	 "      --preflight      then open it as a hypervisor would (vfio-pci only): container,\n"
	 "                       group, device, regions, IRQs, IDs, each step timed\n"},
	{"mtu", cmd_mtu, "DEV N", "set the MTU of a PF's or a VF's netdev (68-65535; a VF's at most its PF's)",
	 "Arguments:\n"
	 "  DEV is a netdev, a PCI address or PF#N; N is 68-65535. A VF's MTU cannot exceed\n"
	 "  its PF's (exit 2); what the kernel refuses is printed as it said it (exit 1)\n"},
	{"link", cmd_link, "DEV up|down", "bring a PF's or a VF's netdev up or down", NULL},
	{"plan", cmd_plan, "[FILE]", "what the config would change (--allow-missing: a PF may be absent)",
	 "Options:\n"
	 PLAN_OPTIONS_HELP},
	{"apply", cmd_apply, "[FILE]", "make the host match the config; reports the writes it made (--allow-missing, --force)",
	 "Options:\n"
	 PLAN_OPTIONS_HELP
	 "      --force          count changes go ahead over the numvfs refusals\n"
	 "      --timeout SECS   how long counts wait for their VFs (over the config's\n"
	 "                       timeout:; default 30 s plus 1 s per VF)\n"
	 "      --settle SECS    how long a driver that took a VF must keep it (default 1;\n"
	 "                       0: none; vfio-pci, pci-stub, igbvf and ixgbevf never\n"
	 "                       let go: no window)\n"},
	{"status", cmd_status, "", "sriovd's state, its last errors, and the drift right now",
	 "Options:\n"
	 "      --status-file FILE  sriovd's status file (default /run/sriovd/status.json)\n"
	 "      --config FILE    the drift against this config, not the files sriovd loaded\n"
	 "      --config-dir DIR ... and this drop-in folder (\"\" for none)\n"},
	{"match", cmd_match, "--spec J | --alias J... --request R | --network N",
	 "the devices a device spec, a request or a network gets (--config FILE)",
	 "Options:\n"
	 "      --spec JSON      a device spec (Nova's [pci] device_spec; may be repeated)\n"
	 "      --alias JSON     an alias (Nova's [pci] alias; may be repeated)\n"
	 "      --request REQ    \"alias:count, ...\": what the aliases get\n"
	 "      --network NAME   the VFs a network of the config may use\n"
	 "      --config FILE    the config whose device-specs, aliases and networks count\n"
	 "      --config-dir DIR its drop-in folder (\"\" for none)\n"},
	{"claim", cmd_claim, "--consumer UUID --request R | --network N [--count N] | --device ADDR",
	 "give devices to a consumer: all or nothing, the same request again gets the same claim",
	 "Options:\n"
	 "      --consumer UUID  the consumer (a VM, a container...): required\n"
	 "      --request REQ    \"alias:count, ...\" with the config's aliases\n"
	 "      --network NAME   VFs of a network of the config (its VLAN set on them)\n"
	 "      --count N        with --network: how many VFs (default 1)\n"
	 "      --device ADDR    one device: a PCI address or a netdev\n"
	 "      --mac M          the MAC of the one VF claimed (default: the stable MAC)\n"
	 "      --vlan V         the VLAN set on the VFs (0-4094)\n"
	 "      --vfio           bind to vfio-pci and pass the VFIO pre-flight\n"
	 "      --numa-node N[,M] the consumer's NUMA nodes, for the alias's numa_policy\n"
	 "      --config FILE    the config (aliases, networks, device-specs; default\n"
	 "                       /etc/sriovd/sriovd.conf when it exists)\n"
	 "      --config-dir DIR its drop-in folder (\"\" for none)\n"
	 "Refused when it cannot be met (exit 1): how many are free and why the others do not count.\n"},
	{"release", cmd_release, "--consumer UUID [--claim ID]", "take a consumer's devices back, each VF scrubbed and read back",
	 "Options:\n"
	 "      --consumer UUID  the consumer: required (one the ledger never saw is an error)\n"
	 "      --claim ID       only this claim of the consumer\n"
	 "      --config FILE    the config whose VF settings a released VF gets back\n"
	 "      --config-dir DIR its drop-in folder (\"\" for none)\n"
	 "A second release is a no-op. A VF that does not read back clean stays out of the pool\n"
	 "(claim unclean, exit 1).\n"},
	{"claims", cmd_claims, "[--consumer UUID]", "the claims holding devices: active, lost, unclean (with the reason)",
	 "Options:\n"
	 "      --consumer UUID  only this consumer's\n"
	 "      --config FILE    the config (used when a claim cut short by a crash is rolled back)\n"
	 "      --config-dir DIR its drop-in folder (\"\" for none)\n"},
	{"export", cmd_export, "CLAIM-ID|VF --format F", "hand a claim's devices or a VF to a hypervisor",
	 "Options:\n"
	 "      --format F       libvirt (<interface type='hostdev'> with MAC and VLAN),\n"
	 "                       libvirt-hostdev (<hostdev>, for a function that is no NIC),\n"
	 "                       qemu (-device vfio-pci,...), xen (pci = [...]), json (-j: the default)\n"},
	{"relay", cmd_relay, "add|del|list|stats [NAME]", "the relays of a running sriov-relay (VF <-> vhost-user)",
	 "Subcommands:\n"
	 "  add --vf DEV --vhost-socket PATH --lcores L [--name N] [--mode M] [--queues N] [--mtu N]\n"
	 "  del NAME, list, stats [NAME] (no NAME: every relay's)\n"
	 "Options:\n"
	 "      --relay-socket PATH  sriov-relay's control socket (default " RELAYCTL_DEFAULT_SOCKET ")\n"
	 "      --vf DEV         the VF: a PCI address, PF#N or a VF's netdev (resolved to its\n"
	 "                       address), or a DPDK vdev's devargs (net_...)\n"
	 "      --vhost-socket PATH  the vhost-user socket the VM's virtio-net NIC uses\n"
	 "      --mode M         server (the relay listens: default) or client (the VM listens)\n"
	 "      --queues N       queue pairs, 1-8 (default 1)\n"
	 "      --lcores L       the relay's forwarding lcores (required): N[,N...] or N-M\n"
	 "      --mtu N          the largest frame relayed, 68-9600 (default: the VF's MTU)\n"
	 "      --name N         the relay's name ([A-Za-z0-9_.-], default relayN)\n"},
};

const struct cli_verb *cli_verbs(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(verbs);
	return verbs;
}

#define COMMON_OPTIONS_HELP \
	"  -j, --json           print JSON (schema: docs/json-schema.md)\n" \
	"      --sysfs-root DIR read devices from DIR instead of /sys ($SRIOV_SYSFS_ROOT)\n" \
	"      --proc-root DIR  read cmdline/cpuinfo/interrupts from DIR instead of /proc ($SRIOV_PROC_ROOT)\n" \
	"      --kmsg FILE      read the kernel log from FILE instead of /dev/kmsg ($SRIOV_KMSG)\n" \
	"      --state-dir DIR  the ledger of claims in DIR/ledger.db (default /var/lib/sriovd;\n" \
	"                       DIR/.sriovd for a --sysfs-root DIR)\n" \
	"      --socket PATH    sriovd's API socket (default /run/sriovd/api.sock; DIR/.sriovd/api.sock\n" \
	"                       for a --sysfs-root DIR): when sriovd serves there, claim, release,\n" \
	"                       claims, export CLAIM-ID and -j list go through it (with PATH it must)\n" \
	"      --no-daemon      run those in-process even when sriovd serves (also with --state-dir)\n"

static void usage(FILE *f)
{
	fprintf(f, "Usage: sriovctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-7s %-24s %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	fprintf(f, "\nOptions (before the command, or anywhere after it):\n"
		   COMMON_OPTIONS_HELP
		   "  -b, --batch FILE     run the commands in FILE (- = stdin), one per line, in one process;\n"
		   "                       stops at the first that fails. A line may add options (show eth0 -j);\n"
		   "                       a NUL byte, a line over 4096 bytes or over 65536 lines: nothing runs\n"
		   "  -h, --help           this text; after a command, that command's options\n"
		   "  -V, --version        version\n"
		   "\nConfig (plan, apply, status): FILE or --config FILE (default /etc/sriovd/sriovd.conf),\n"
		   "  then the *.conf files of its drop-in folder FILE.d in name order, or of --config-dir DIR\n"
		   "  (\"\" for none): the rule sriovd follows. status uses the files sriovd says it loaded.\n"
		   "  A PF the config names that is not here fails plan and apply unless --allow-missing.\n"
		   "\nVF settings (vf set): mac M, vlan V [qos Q] [proto 802.1Q|802.1ad], spoofchk on|off,\n"
		   "  trust on|off, state auto|enable|disable, min-rate R, max-rate R (Mbit/s), query-rss on|off\n"
		   "\nState: bind records in $SRIOV_STATE_DIR, else /run/sriovd/bind for /sys and\n"
		   "  DIR/.sriovd/bind for any other --sysfs-root DIR (a tree's state stays in it).\n"
		   "  Writes never leave the sysfs root: a link out of the tree is an error.\n"
		   "\nExit status: 0 success (check: host ready), 1 failure (check: not ready), 2 bad usage.\n"
		   "See sriovctl(8), sriovd.conf(5).\n");
}

/* sriovctl COMMAND --help. Printed by the dispatcher, never by running
 * the command: --help must not do what the command does. */
static void verb_usage(const struct cli_verb *v, FILE *f)
{
	fprintf(f, "Usage: sriovctl %s%s%s [OPTIONS]\n%s\n", v->name, *v->args ? " " : "", v->args, v->help);
	if (v->options)
		fprintf(f, "\n%s", v->options);
	fprintf(f, "\nOptions of every command (before the command, or anywhere after it):\n"
		   COMMON_OPTIONS_HELP
		   "  -h, --help           this text\n"
		   "  -V, --version        version\n"
		   "\nExit status: 0 success, 1 failure, 2 bad usage. See sriovctl(8).\n");
}

/* For -j: the last error sentence, and how many documents were printed, so
 * that a command that fails without a document of its own prints the error
 * document (docs/sriovctl.schema.json, "error") on stdout. */
static char *last_error;
static unsigned json_documents;

static void vmsg(const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	free(last_error);
	if (vasprintf(&last_error, fmt, copy) < 0)
		last_error = NULL;
	va_end(copy);
	/* Messages quote input and sysfs contents: never a raw control byte. */
	fputs("sriovctl: ", stderr);
	text_vprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return EXIT_FAILED;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fputs("Try 'sriovctl --help'.\n", stderr);
	return EXIT_USAGE;
}

enum {
	OPT_SYSFS_ROOT = 0x100,
	OPT_PROC_ROOT,
	OPT_KMSG,
	OPT_STATE_DIR,
	OPT_SOCKET,
	OPT_NO_DAEMON,
};

static const struct option common_opts[] = {
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
	{"proc-root", required_argument, NULL, OPT_PROC_ROOT},
	{"kmsg", required_argument, NULL, OPT_KMSG},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"no-daemon", no_argument, NULL, OPT_NO_DAEMON},
};

/* Only before the command: a batch is a sequence of commands. */
static const struct option main_opts[] = {
	{"batch", required_argument, NULL, 'b'},
	{NULL, 0, NULL, 0},
};

static int handle_main_opt(int opt, const char *arg, void *data)
{
	struct cli *cli = data;
	if (opt != 'b')
		return cli_usage_error("option '-%c' is not known", opt);
	cli->batch_file = arg;
	return 0;
}

/* Returns 1 when opt was a common option (handled), 0 when not, -1 for
 * --help/--version (printed). */
static int handle_common(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case 'j':
		cli->json = true;
		return 1;
	case 'h':
		if (cli->verb)
			verb_usage(cli->verb, stdout);
		else
			usage(stdout);
		return -1;
	case 'V':
		printf("sriovctl %s\n", SRIOVD_VERSION);
		return -1;
	case OPT_SYSFS_ROOT:
		cli->sysfs_root = arg;
		return 1;
	case OPT_PROC_ROOT:
		cli->proc_root = arg;
		return 1;
	case OPT_KMSG:
		cli->kmsg_path = arg;
		return 1;
	case OPT_STATE_DIR:
		cli->state_dir = arg;
		return 1;
	case OPT_SOCKET:
		cli->socket = arg;
		return 1;
	case OPT_NO_DAEMON:
		cli->no_daemon = true;
		return 1;
	}
	return 0;
}

static int do_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
		     const struct option *verb_opts, cli_opt_handler handler, void *data, int *first_arg)
{
	size_t n_verb = 0;
	while (verb_opts && verb_opts[n_verb].name)
		n_verb++;
	struct option opts[ARRAY_SIZE(common_opts) + 16 + 1];
	if (n_verb > 16)
		return cli_error("internal: too many options");
	memcpy(opts, common_opts, sizeof(common_opts));
	if (n_verb)
		memcpy(opts + ARRAY_SIZE(common_opts), verb_opts, n_verb * sizeof(*opts));
	opts[ARRAY_SIZE(common_opts) + n_verb] = (struct option){0};
	if (cli->describe) {
		/* sriovctl __complete options VERB: the options this parse takes,
		 * "=" marking those with a value. */
		for (const struct option *o = opts; o->name; o++)
			printf("--%s%s\n", o->name, o->has_arg == required_argument ? "=" : "");
		cli->described = true;
		return -1;
	}

	opterr = 0;
	optind = 0; /* 0, not 1: glibc then forgets the previous argv (batch mode parses many) */
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (opt == '?') {
			if (optopt)
				return cli_usage_error("option '-%c' is not known", optopt);
			return cli_usage_error("option '%s' is not known or lacks its value", QUOTE(argv[optind - 1]));
		}
		if (opt == ':')
			return cli_usage_error("option '%s' needs a value", QUOTE(argv[optind - 1]));
		int r = handle_common(cli, opt, optarg);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (!handler)
			return cli_usage_error("option '%s' is not known", QUOTE(argv[optind - 1]));
		if ((r = handler(opt, optarg, data)) != 0)
			return r;
	}
	*first_arg = optind;
	return 0;
}

int cli_parse(struct cli *cli, int argc, char **argv, const struct option *verb_opts,
	      const char *verb_short, cli_opt_handler handler, void *data, int *first_arg)
{
	char shortopts[64];
	/* Leading ':' reports a missing value as ':'; without '+' options and
	 * arguments may mix (permutation). */
	snprintf(shortopts, sizeof(shortopts), ":jhV%s", verb_short ? verb_short : "");
	return do_getopt(cli, argc, argv, shortopts, verb_opts, handler, data, first_arg);
}

int cli_parse_ordered(struct cli *cli, int argc, char **argv, const struct option *verb_opts,
		      const char *verb_short, cli_opt_handler handler, void *data, int *first_arg)
{
	char shortopts[64];
	snprintf(shortopts, sizeof(shortopts), "+:jhV%s", verb_short ? verb_short : "");
	return do_getopt(cli, argc, argv, shortopts, verb_opts, handler, data, first_arg);
}

int cli_parse_main(struct cli *cli, int argc, char **argv, int *first_arg)
{
	/* Stop at the first non-option: the command. */
	return do_getopt(cli, argc, argv, "+:jhVb:", main_opts, handle_main_opt, cli, first_arg);
}

static int load_inventory(const struct cli *cli, bool names, bool stats, bool to_print, bool to_list,
			  struct pci_tree **ret)
{
	struct inventory_opts o = {
		.sysfs_root = cli->sysfs_root,
		.names = names,
		.netlink = inventory_root_is_live(cli->sysfs_root),
		.stats = stats,
		.no_link_state = to_print,
		.sriov_only = to_list,
	};
	int r = inventory_load(&o, ret);
	if (r < 0) {
		cli_error("cannot read PCI devices under %s/bus/pci/devices: %s",
			  cli->sysfs_root ? QUOTE(cli->sysfs_root) : SYSFS_DEFAULT_ROOT, strerror(-r));
		return EXIT_FAILED;
	}
	/* Who holds each device (list, show, match: claimed_by). */
	if ((r = cli_annotate_claims(cli, *ret))) {
		pci_tree_free(*ret);
		*ret = NULL;
	}
	return r;
}

int cli_annotate_claims(const struct cli *cli, struct pci_tree *t)
{
	if (!cli->consumers)
		return 0;
	cli->consumers->sysfs_root = cli->sysfs_root;
	cli->consumers->state_dir = cli->state_dir;
	int r = claim_annotate_tree(cli->consumers, t);
	if (r < 0)
		return cli_error("cannot read the ledger of claims: %s", strerror(-r));
	return 0;
}

int cli_load_inventory(const struct cli *cli, bool names, bool stats, struct pci_tree **ret)
{
	return load_inventory(cli, names, stats, false, false, ret);
}

int cli_load_inventory_to_print(const struct cli *cli, struct pci_tree **ret)
{
	return load_inventory(cli, true, false, true, false, ret);
}

int cli_load_inventory_to_list(const struct cli *cli, struct pci_tree **ret)
{
	return load_inventory(cli, true, false, true, true, ret);
}

void cli_print_warnings(const struct cli *cli, const struct pci_tree *t)
{
	/* In JSON mode the warnings are part of the document; keep stderr quiet
	 * so that scripts see one channel. */
	if (!cli->json)
		text_print_warnings(stderr, t);
}

void cli_lifecycle_env(const struct cli *cli, struct lifecycle_env *env, struct lifecycle_rtnl *rt)
{
	*env = (struct lifecycle_env){.sysfs_root = cli->sysfs_root, .state_dir = getenv("SRIOV_STATE_DIR")};
	if (str_empty(env->state_dir))
		env->state_dir = NULL;
	if (cli->consumers) {
		cli->consumers->sysfs_root = cli->sysfs_root;
		cli->consumers->state_dir = cli->state_dir;
		env->consumer = claim_consumer_fn;
		env->consumer_data = cli->consumers;
	}
	if (inventory_root_is_live(cli->sysfs_root)) {
		env->link_usage = lifecycle_rtnl_link_usage;
		env->link_usage_data = rt;
		env->netns = lifecycle_rtnl_netns;
	}
}

int cli_print_json(const char *verb, json_t *j)
{
	json_documents++;
	int r = json_print(stdout, j);
	json_decref(j);
	return r < 0 ? cli_error("%s: cannot print: %s", verb, strerror(-r)) : EXIT_OK;
}

int cli_print_json_stream(const char *verb, int (*print)(FILE *, const struct pci_tree *), const struct pci_tree *t)
{
	json_documents++;
	int r = print(stdout, t);
	return r < 0 ? cli_error("%s: cannot print: %s", verb, strerror(-r)) : EXIT_OK;
}

/* Whether text looks as json_print() prints an object: "{\n" ... "}\n",
 * with no control byte but the newlines. */
static bool printed_object(const char *text, size_t len)
{
	if (len < 3 || text[0] != '{' || text[len - 2] != '}' || text[len - 1] != '\n')
		return false;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\n') || text[i] == 0x7f)
			return false;
	return true;
}

int cli_print_json_text(const char *verb, const char *text, size_t len)
{
	if (!printed_object(text, len)) {
		json_error_t err;
		json_t *j = json_loadb(text, len, 0, &err);
		if (!json_is_object(j)) {
			json_decref(j);
			return cli_error("%s: sriovd's answer is not a JSON object%s%s", verb, j ? "" : ": ",
					 j ? "" : err.text);
		}
		return cli_print_json(verb, j);
	}
	json_documents++;
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
		return cli_error("%s: cannot print: %s", verb, strerror(errno));
	return EXIT_OK;
}

const struct cli_verb *cli_find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

static int find_and_run_verb(struct cli *cli, int argc, char **argv)
{
	if (strcmp(argv[0], CLI_COMPLETE_VERB) == 0)
		return cmd_complete(cli, argc, argv);
	const struct cli_verb *v = cli_find_verb(argv[0]);
	if (!v)
		return cli_usage_error("'%s' is not a command", QUOTE(argv[0]));
	cli->verb = v;
	if (cli->help) {
		verb_usage(v, stdout);
		return EXIT_OK;
	}
	return v->run(cli, argc, argv);
}

/* Takes the global options (-j, --sysfs-root DIR, ..., the common_opts)
 * out of argv[from..argc), wherever they stand, so that each verb sees only
 * its own arguments: `vf set eth0#0 mac M -j` is `-j vf set eth0#0 mac M`.
 * Only whole words are options ("-1" stays a value); "--" ends them.
 * --help is noted (cli->help) for the command's own help.
 * Returns 0, -1 when --version was printed, or EXIT_USAGE. */
static int take_global_opts(struct cli *cli, int *argc, char **argv, int from)
{
	int out = from, r = 0;
	for (int i = from; i < *argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		const struct option *o = NULL;
		const char *value = NULL;
		if (a[0] == '-' && a[1] != '-' && a[1] && !a[2]) {
			for (size_t k = 0; k < ARRAY_SIZE(common_opts) && !o; k++)
				if (common_opts[k].val == a[1])
					o = &common_opts[k];
		} else if (a[0] == '-' && a[1] == '-') {
			size_t len = strcspn(a + 2, "=");
			for (size_t k = 0; k < ARRAY_SIZE(common_opts) && !o; k++)
				if (strlen(common_opts[k].name) == len && strncmp(a + 2, common_opts[k].name, len) == 0)
					o = &common_opts[k];
			if (o && a[2 + len] == '=') {
				if (o->has_arg == no_argument)
					return cli_usage_error("option '--%s' takes no value", o->name);
				value = a + 3 + len;
			}
		}
		if (!o) {
			argv[out++] = argv[i];
			continue;
		}
		if (o->val == 'h') {
			/* The command's own help, printed once the command is known. */
			cli->help = true;
			continue;
		}
		if (o->has_arg == required_argument && !value) {
			if (i + 1 >= *argc)
				return cli_usage_error("option '%s' needs a value", QUOTE(a));
			value = argv[++i];
		}
		if (handle_common(cli, o->val, value) < 0)
			r = -1;
	}
	argv[out] = NULL;
	*argc = out;
	return r;
}

static int print_error_document(const char *verb, int status)
{
	json_t *o = json_document();
	json_object_set_new(o, "command", verb ? json_text(verb) : json_null());
	json_object_set_new(o, "error", json_text(last_error ? last_error : "failed"));
	json_object_set_new(o, "exit_status", json_integer(status));
	int r = cli_print_json(verb ? verb : "sriovctl", o);
	return r == EXIT_OK ? status : r;
}

static int run_verb(struct cli *cli, int argc, char **argv)
{
	unsigned documents = json_documents;
	free(last_error);
	last_error = NULL;
	int r = find_and_run_verb(cli, argc, argv);
	if (r != EXIT_OK && cli->json && json_documents == documents)
		r = print_error_document(argv[0], r);
	return r;
}

/* Batch mode: each line of FILE is one command ("vf set eth0#3 vlan 5"),
 * read and checked all at once first (batch.h). Each command starts from
 * the command line's options and may add its own (`show eth0 -j`). */
static int run_batch(const struct cli *base, const char *path)
{
	struct batch b;
	_cleanup_free_ char *error = NULL;
	int r = batch_read(path, &b, &error);
	if (r < 0) {
		cli_error("batch: %s", error ? error : strerror(-r));
		return r == -EINVAL || r == -E2BIG || r == -EFBIG ? EXIT_USAGE : EXIT_FAILED;
	}
	struct pci_tree *vf_tree = NULL;
	struct rtnl *nl = NULL;
	r = EXIT_OK;
	/* The host lock, once a line took it, is kept to the end of the batch. */
	_cleanup_close_ int lock_fd = -1;
	for (size_t i = 0; i < b.n_cmds && r == EXIT_OK; i++) {
		struct batch_command *c = &b.cmds[i];
		struct cli cli = *base;
		cli.batch_file = NULL;
		int pr = take_global_opts(&cli, &c->argc, c->argv, 0);
		if (pr > 0 || (pr == 0 && c->argc == 0)) {
			r = pr > 0 ? pr : cli_usage_error("options but no command");
		} else if (pr == 0) {
			/* Consecutive vf set lines on one root share its scan and
			 * the rtnetlink socket; any other command drops them. */
			bool same_root = streq_ptr(cli.sysfs_root, base->sysfs_root);
			cli.batch = same_root;
			cli.vf_tree = same_root ? vf_tree : NULL;
			cli.nl = same_root ? nl : NULL;
			cli.host_lock_fd = lock_fd;
			r = run_verb(&cli, c->argc, c->argv);
			lock_fd = cli.host_lock_fd;
			if (same_root) {
				vf_tree = cli.vf_tree;
				nl = cli.nl;
			}
			if (strcmp(c->argv[0], "vf") != 0) {
				pci_tree_free(vf_tree);
				vf_tree = NULL;
			}
		}
		fflush(stdout);
		if (r != EXIT_OK)
			text_printf(stderr, "sriovctl: batch: %s:%u: '%s' failed; stopping\n", QUOTE(path), c->lineno,
				    c->argc ? QUOTE(c->argv[0]) : "");
	}
	pci_tree_free(vf_tree);
	rtnl_close(nl);
	batch_done(&b);
	return r;
}

int main(int argc, char **argv)
{
	struct cli cli = {
		.sysfs_root = getenv("SRIOV_SYSFS_ROOT"),
		.proc_root = getenv("SRIOV_PROC_ROOT"),
		.kmsg_path = getenv("SRIOV_KMSG"),
		.host_lock_fd = -1,
	};
	struct claim_consumers consumers = {0};
	cli.consumers = &consumers;
	if (str_empty(cli.sysfs_root))
		cli.sysfs_root = NULL;

	/* Global options before the command: stop at the first non-option. */
	int first;
	int r = cli_parse_main(&cli, argc, argv, &first);
	if (r < 0)
		return EXIT_OK;
	if (r > 0)
		return cli.json ? print_error_document(NULL, r) : r;
	if (cli.batch_file) {
		if (first < argc)
			return cli_usage_error("--batch takes its commands from the file, not from '%s'", QUOTE(argv[first]));
		r = run_batch(&cli, cli.batch_file);
	} else if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	} else {
		/* The rest of the global options, after the command. */
		int n = argc - first;
		r = take_global_opts(&cli, &n, argv + first, 1);
		if (r < 0)
			return EXIT_OK;
		if (r == 0)
			r = run_verb(&cli, n, argv + first);
		else if (cli.json)
			r = print_error_document(NULL, r);
	}
	free(last_error);
	claim_consumers_done(&consumers);
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_error("write error on standard output");
	return r;
}

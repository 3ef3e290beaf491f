/* cli: sriovctl, the command-line front end.
 *
 * Owns: argument parsing, the verb table, and turning -errno into one clear
 * line on stderr and an exit status. Each verb lives in its own file
 * (cmd-<verb>.c) and does its work through the library modules. */
#pragma once

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>

#include <jansson.h>

#include "inventory/inventory.h"
#include "claim/claim.h"
#include "lifecycle/lifecycle.h"

/* Exit statuses, documented in the README and `sriovctl --help`. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* the operation failed, or `check` found the host not ready */
	EXIT_USAGE = 2,  /* bad arguments */
};

struct cli_verb;

struct cli {
	bool json;
	const char *sysfs_root; /* --sysfs-root or $SRIOV_SYSFS_ROOT; NULL: /sys */
	const char *proc_root;  /* --proc-root or $SRIOV_PROC_ROOT */
	const char *kmsg_path;  /* --kmsg or $SRIOV_KMSG */
	const char *batch_file; /* --batch FILE: commands, one per line */
	const char *state_dir;  /* --state-dir DIR: where the ledger is; NULL: the rule of ledger_path() */
	const char *socket;     /* --socket PATH: sriovd's API socket, which must answer */
	bool no_daemon;         /* --no-daemon: in-process even when sriovd serves */

	/* In a batch, consecutive `vf set` lines share one device scan and one
	 * rtnetlink socket (vf set changes no device, only VF settings); any
	 * other command drops them. NULL outside a batch. */
	bool batch;
	struct pci_tree *vf_tree;
	struct rtnl *nl;

	/* The host lock (lock/), once a command that changes the host took it;
	 * -1 until then. A batch keeps it from its first such line to its end. */
	int host_lock_fd;

	/* The command being run (NULL before it is known); --help given after
	 * it: print its help instead of running it; describe: its cli_parse
	 * prints the options it takes and returns as --help does, setting
	 * described (sriovctl __complete options VERB). */
	const struct cli_verb *verb;
	bool help;
	bool describe, described;

	/* Who holds which device (the ledger), for lifecycle's refusals. */
	struct claim_consumers *consumers;
};

struct cli_verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
	const char *options; /* "Options:\n" and its own, for `sriovctl VERB --help`; NULL: none */
};

/* The command table, and one command by its exact name (NULL: none). */
const struct cli_verb *cli_verbs(size_t *ret_n);
const struct cli_verb *cli_find_verb(const char *name);

/* The hidden command the bash completion asks (cmd-complete.c):
 *   sriovctl __complete commands | options [VERB] | args VERB | devices | drivers
 * prints one word per line: the commands, the options of VERB (or those
 * before a command) with "=" after those that take a value, the names DEV
 * takes on the sysfs root (netdevs, PCI addresses, PF#N), the drivers;
 * args prints VERB's arguments as its usage line names them. */
#define CLI_COMPLETE_VERB "__complete"
int cmd_complete(struct cli *cli, int argc, char **argv);

/* Handles an option that is the verb's own; returns 0, or EXIT_USAGE after
 * printing why. */
typedef int (*cli_opt_handler)(int opt, const char *arg, void *data);

/* Parses argv (argv[0] is the verb) for the global options and the verb's
 * own (verb_opts may be NULL). Sets *first_arg to the index of the first
 * positional argument. Returns 0, -1 when --help was printed, or EXIT_USAGE.
 * Verbs return CLI_PARSE_EXIT(r) when r != 0. */
#define CLI_PARSE_EXIT(r) ((r) < 0 ? EXIT_OK : (r))
int cli_parse(struct cli *cli, int argc, char **argv, const struct option *verb_opts,
	      const char *verb_short, cli_opt_handler handler, void *data, int *first_arg);

/* The same, but options end at the first argument that is not one, so that
 * values such as "-1" in `vf set ... vlan -1` reach the verb's own parser. */
int cli_parse_ordered(struct cli *cli, int argc, char **argv, const struct option *verb_opts,
		      const char *verb_short, cli_opt_handler handler, void *data, int *first_arg);

/* The options before the command (the global ones and --batch). */
int cli_parse_main(struct cli *cli, int argc, char **argv, int *first_arg);

/* Prints "sriovctl: <message>" to stderr; returns EXIT_FAILED. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli-wait.c: "10", "2.5": seconds, at most max_s, to the millisecond
 * (-EINVAL, -ERANGE). */
int cli_parse_seconds_ms(const char *s, unsigned max_s, unsigned *ret);
/* The progress line of count waits, on stderr when it is a terminal and
 * the output is not JSON: attach before the wait, end after it (erases
 * the line). */
struct cli_progress {
	bool shown;
	char last[512];
};
void cli_progress_attach(const struct cli *cli, struct lifecycle_env *env, struct cli_progress *p);
void cli_progress_end(struct cli_progress *p);

/* Loads the inventory for a verb, printing the error when the root is
 * unreadable. */
int cli_load_inventory(const struct cli *cli, bool names, bool stats, struct pci_tree **ret);
/* The same for a command that only prints the tree (list, show): with
 * names, and without what nothing printed shows (PCI_SCAN_NO_LINK_STATE). */
int cli_load_inventory_to_print(const struct cli *cli, struct pci_tree **ret);
/* The same for list, which prints only PFs and VFs: a function that is
 * neither gets its address and IOMMU group only (PCI_SCAN_SRIOV_ONLY). */
int cli_load_inventory_to_list(const struct cli *cli, struct pci_tree **ret);
/* Who holds each device of t (claimed_by), from the ledger when this
 * invocation reads one; prints the error and returns EXIT_FAILED when the
 * ledger cannot be read, else 0. */
int cli_annotate_claims(const struct cli *cli, struct pci_tree *t);
void cli_print_warnings(const struct cli *cli, const struct pci_tree *t);

/* The lifecycle environment of this invocation: the sysfs root, the bind
 * state folder ($SRIOV_STATE_DIR, else the tree's: lifecycle_state_base()),
 * the ledger's holders as consumers, and, on the live
 * /sys only, netdev usage over rtnetlink through rt (opened on first use;
 * the caller lifecycle_rtnl_done()s it). */
void cli_lifecycle_env(const struct cli *cli, struct lifecycle_env *env, struct lifecycle_rtnl *rt);

/* Takes the host lock before a command that changes the host scans it, so
 * that its decisions rest on what the host is while it writes. Waits up to
 * $SRIOV_LOCK_TIMEOUT seconds (default 60), saying once whom it waits for.
 * Returns 0, or EXIT_FAILED/EXIT_USAGE with the reason printed. */
int cli_host_lock(struct cli *cli, const char *verb);

/* Prints j (and drops the reference); returns EXIT_OK, or EXIT_FAILED with
 * the error printed when stdout fails. */
int cli_print_json(const char *verb, json_t *j);
/* The same for a document streamed as it is written (list). */
int cli_print_json_stream(const char *verb, int (*print)(FILE *, const struct pci_tree *), const struct pci_tree *t);
/* The same for sriovd's answer (len bytes of text), printed as it came
 * when it is a JSON object made by the same printer (JSON_INDENT(2), keys
 * in order, one newline at the end, no control byte but newlines), which
 * parsing and printing again would give byte for byte; parsed and printed
 * otherwise, and EXIT_FAILED with the error printed when it is no JSON
 * object. */
int cli_print_json_text(const char *verb, const char *text, size_t len);

/* Through a running sriovd (cli-daemon.c): claim, release, claims,
 * export CLAIM-ID and -j list send their request to its API socket when it
 * serves there, so that the daemon orders them with its re-applies and is
 * the one writer; they print what the in-process path prints.
 * cli_daemon(): EXIT_OK with *ret_socket set (through the daemon) or NULL
 * (in-process: --no-daemon, an own --state-dir, nothing listening), or
 * EXIT_FAILED with the reason printed (--socket PATH where nothing serves,
 * a socket this user may not connect to). */
int cli_daemon(const struct cli *cli, const char *verb, char **ret_socket);
/* One request: EXIT_OK with the 2xx document in *ret_doc; otherwise the
 * API's error message printed as "VERB: message" and EXIT_USAGE for a 400
 * (bad input, as in-process), EXIT_FAILED else; *ret_doc is then the error
 * document (or NULL when no answer came). */
struct client_response;
int cli_daemon_request(const char *verb, const char *socket, const char *method, const char *path, const json_t *body,
		       json_t **ret_doc);
/* The same for an answer that is not JSON (GET .../?format=text): EXIT_OK
 * with the 2xx answer in *ret (client_response_done() it), the error
 * printed as cli_daemon_request() prints it otherwise. */
int cli_daemon_get_text(const char *verb, const char *socket, const char *path, struct client_response *ret);

/* A plan's changes, one line per change (plan, apply, status). */
struct plan;
void cli_text_plan_changes(FILE *out, const struct plan *p);

int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_vf(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_plan(struct cli *cli, int argc, char **argv);
int cmd_apply(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_numvfs(struct cli *cli, int argc, char **argv);
int cmd_bind(struct cli *cli, int argc, char **argv);
int cmd_match(struct cli *cli, int argc, char **argv);
int cmd_claim(struct cli *cli, int argc, char **argv);
int cmd_release(struct cli *cli, int argc, char **argv);
int cmd_claims(struct cli *cli, int argc, char **argv);
int cmd_mtu(struct cli *cli, int argc, char **argv);
int cmd_link(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_relay(struct cli *cli, int argc, char **argv);

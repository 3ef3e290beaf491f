/* sriovctl status: is sriovd running, what did it last do, what went wrong,
 * and how far the host is from the config right now (a fresh plan). */
#include <signal.h>

#include "apply/apply.h"
#include "claim/claim.h"
#include "cli.h"
#include "daemon/claims.h"
#include "daemon/status.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

enum { OPT_STATUS_FILE = 0x300, OPT_CONFIG, OPT_CONFIG_DIR };

struct status_opts {
	const char *path;
	const char *config, *config_dir; /* given: this config instead of the daemon's */
	bool config_dir_set;
};

static int status_opt(int opt, const char *arg, void *data)
{
	struct status_opts *o = data;
	switch (opt) {
	case OPT_STATUS_FILE:
		o->path = arg;
		return 0;
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_CONFIG_DIR:
		o->config_dir = arg;
		o->config_dir_set = true;
		return 0;
	default:
		return cli_usage_error("option not known");
	}
}

/* The config the daemon uses: the very files its status file lists (what it
 * loaded at start or at the last reload), else the rule applied to the main
 * file and folder it names, else the default. --config/--config-dir win. */
static int load_daemon_config(const struct status_opts *o, json_t *st, struct config **ret, char **ret_error)
{
	if (o->config || o->config_dir_set)
		return config_load_rule(o->config, o->config_dir, ret, ret_error);
	json_t *files = st ? json_object_get(st, "config_files") : NULL;
	const char *dir = st ? json_string_value(json_object_get(st, "config_dir")) : NULL;
	if (json_array_size(files)) {
		_cleanup_(strv_freep) char **v = NULL;
		size_t i;
		json_t *f;
		json_array_foreach(files, i, f) {
			const char *name = json_string_value(f);
			if (!name)
				return error_set(ret_error, -EINVAL, "status file: config_files holds a non-string");
			if (strv_pushf(&v, "%s", name) < 0)
				return -ENOMEM;
		}
		return config_load_files(v, dir, ret, ret_error);
	}
	const char *config = st ? json_string_value(json_object_get(st, "config")) : NULL;
	/* An older daemon's file: no config_dir key means the rule's default. */
	bool has_dir = st && json_object_get(st, "config_dir");
	return config_load_rule(config, has_dir ? (dir ? dir : "") : NULL, ret, ret_error);
}

/* From the ledger now (nothing when there is none): the claims marked
 * lost, and the overlay of the active ones (the drift sriovd sees). -errno
 * with *ret_error when it cannot be read. */
static int read_claims(struct cli *cli, struct ledger_claims *ret, struct apply_env *env, char **ret_error)
{
	*ret = (struct ledger_claims){0};
	struct lifecycle_env lenv;
	cli_lifecycle_env(cli, &lenv, NULL);
	int r = claim_consumers_ledger(cli->consumers, ret_error);
	if (r <= 0)
		return r;
	struct ledger *l = cli->consumers->ledger;
	r = ledger_claims_list(l, &(struct ledger_filter){.states = LEDGER_STATE_BIT(LEDGER_LOST)}, ret);
	if (r < 0)
		return error_set(ret_error, r, "%s", ledger_error(l));
	struct apply_overlay *v = NULL;
	size_t n = 0;
	if ((r = daemon_claims_overlay(l, &v, &n, ret_error)) < 0)
		return r;
	env->overlay = v;
	env->n_overlay = n;
	return 0;
}

static json_t *json_lost_claims(const struct ledger_claims *lost)
{
	json_t *a = json_array();
	for (size_t i = 0; i < lost->n; i++) {
		const struct ledger_claim *c = &lost->v[i];
		json_t *e = json_object(), *devs = json_array();
		json_object_set_new(e, "claim", json_integer(c->id));
		json_object_set_new(e, "consumer", json_string(c->consumer));
		json_object_set_new(e, "reason", json_string(c->reason ? c->reason : ""));
		for (size_t k = 0; k < c->n_devs; k++)
			json_array_append_new(devs, json_string(c->devs[k].address));
		json_object_set_new(e, "devices", devs);
		json_object_set_new(e, "since", json_time_utc((time_t)c->updated));
		json_array_append_new(a, e);
	}
	return a;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"status-file", required_argument, NULL, OPT_STATUS_FILE},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
		{NULL, 0, NULL, 0},
	};
	struct status_opts o = {.path = getenv("SRIOV_STATUS_FILE")};
	if (str_empty(o.path))
		o.path = NULL;
	int first;
	int r = cli_parse(cli, argc, argv, options, NULL, status_opt, &o, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("status: unexpected argument '%s'", QUOTE(argv[first]));
	/* Where sriovd keeps it for this sysfs root: the tree's state folder. */
	_cleanup_free_ char *default_path = NULL;
	if (!o.path) {
		_cleanup_free_ char *base = NULL;
		if (lifecycle_state_base(cli->sysfs_root, &base) < 0 || !(default_path = path_join(base, STATUS_FILE_NAME)))
			return cli_error("status: %s", strerror(ENOMEM));
		o.path = default_path;
	}
	const char *path = o.path;

	json_error_t jerr;
	json_t *st = json_load_file(path, 0, &jerr);
	if (st && !json_is_object(st)) {
		json_decref(st);
		st = NULL;
		snprintf(jerr.text, sizeof(jerr.text), "not a JSON object");
	}
	json_int_t pid = st ? json_integer_value(json_object_get(st, "pid")) : 0;
	bool running = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);

	/* Drift now, against the config the daemon uses; a missing PF is drift. */
	struct config *cfg = NULL;
	struct plan p = {0};
	char *error = NULL;
	struct apply_env env = {.lifecycle = {.sysfs_root = cli->sysfs_root}};
	struct ledger_claims lost;
	_cleanup_free_ char *ledger_error = NULL;
	int lost_r = read_claims(cli, &lost, &env, &ledger_error);
	int pr = load_daemon_config(&o, st, &cfg, &error);
	if (pr == 0)
		pr = plan_compute(cfg, &env, &p, &error);
	free((void *)env.overlay);
	const char *config = cfg && cfg->files ? cfg->files[0] : NULL;
	if (!config && st)
		config = json_string_value(json_object_get(st, "config"));
	if (str_empty(config))
		config = o.config ? o.config : CONFIG_DEFAULT_PATH;
	size_t missing = strv_length(p.missing);
	size_t drift = p.n + missing;

	if (cli->json) {
		json_t *j = json_status(running, st, config, cfg, pr, &p, error, json_lost_claims(&lost),
					lost_r < 0 ? (ledger_error ? ledger_error : strerror(-lost_r)) : NULL);
		r = cli_print_json("status", j);
	} else {
		text_printf(stdout, "sriovd:      %s", running ? "running" : "not running");
		if (running)
			text_printf(stdout, " (pid %lld)", (long long)pid);
		text_printf(stdout, "\nconfig:      %s\n", config);
		if (cfg) {
			text_printf(stdout, "config dir:  %s\n", cfg->dropin_dir ? cfg->dropin_dir : "(none)");
			for (size_t i = 1; cfg->files && cfg->files[i]; i++)
				text_printf(stdout, "drop-in:     %s\n", cfg->files[i]);
		}
		if (st) {
			text_printf(stdout, "started:     %s\n", json_string_value(json_object_get(st, "started")) ?: "-");
			text_printf(stdout, "last check:  %s, %lld apply runs, last one made %lld writes\n",
			       json_string_value(json_object_get(st, "last_reconcile")) ?: "-",
			       (long long)json_integer_value(json_object_get(st, "applies")),
			       (long long)json_integer_value(json_object_get(st, "last_writes")));
			json_t *errs = json_object_get(st, "errors");
			size_t i;
			json_t *e;
			if (json_array_size(errs))
				text_printf(stdout, "last errors:\n");
			json_array_foreach(errs, i, e)
				text_printf(stdout, "  %s  %s\n", json_string_value(json_object_get(e, "time")) ?: "-",
				       json_string_value(json_object_get(e, "message")) ?: "");
			/* The PFs it cannot heal now, each retried on its own. */
			json_t *stuck = json_object_get(st, "stuck");
			if (json_array_size(stuck))
				text_printf(stdout, "stuck PFs:\n");
			json_array_foreach(stuck, i, e) {
				const char *netdev = json_string_value(json_object_get(e, "netdev"));
				const char *hint = json_string_value(json_object_get(e, "hint"));
				text_printf(stdout, "  %s%s%s%s: %s (since %s, next try %s)\n", netdev ? netdev : "", netdev ? " (" : "",
				       json_string_value(json_object_get(e, "pf")) ?: "-", netdev ? ")" : "",
				       json_string_value(json_object_get(e, "error")) ?: "",
				       json_string_value(json_object_get(e, "since")) ?: "-",
				       json_string_value(json_object_get(e, "next_retry")) ?: "-");
				if (hint)
					text_printf(stdout, "    to get past it: %s\n", hint);
			}
		} else
			text_printf(stdout, "status file: %s: %s\n", path, jerr.text);
		if (pr < 0)
			text_printf(stdout, "drift:       cannot tell: %s\n", error ? error : strerror(-pr));
		else if (drift == 0)
			text_printf(stdout, "drift:       none, the host matches the config\n");
		else {
			text_printf(stdout, "drift:       %zu change%s wanted", drift, drift == 1 ? "" : "s");
			if (missing)
				text_printf(stdout, " (%zu PF%s missing)", missing, missing == 1 ? "" : "s");
			text_printf(stdout, ":\n");
			for (size_t i = 0; i < missing; i++)
				text_printf(stdout, "missing PF: %s\n", p.missing[i]);
			cli_text_plan_changes(stdout, &p);
		}
	}
	if (!cli->json) {
		/* Claims whose devices vanished: held until released. */
		if (lost_r < 0)
			text_printf(stdout, "claims:      cannot tell: %s\n", ledger_error ? ledger_error : strerror(-lost_r));
		else if (lost.n)
			text_printf(stdout, "lost claims: %zu (sriovctl release --consumer UUID --claim ID ends one):\n", lost.n);
		for (size_t i = 0; i < lost.n; i++)
			text_printf(stdout, "  claim %lld consumer %s: %s\n", (long long)lost.v[i].id, lost.v[i].consumer,
				    lost.v[i].reason ? lost.v[i].reason : "");
	}
	ledger_claims_done(&lost);
	bool in_sync = pr == 0 && drift == 0;
	config_free(cfg);
	free(error);
	plan_done(&p);
	json_decref(st);
	/* 0: running and in sync; 1: not running, drifting or unknown. */
	if (r != EXIT_OK)
		return r;
	return running && in_sync ? EXIT_OK : EXIT_FAILED;
}

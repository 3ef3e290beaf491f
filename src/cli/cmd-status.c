/* sriovctl status: is sriovd running, what did it last do, what went wrong,
 * and how far the host is from the config right now (a fresh plan). */
#include <signal.h>

#include "apply/apply.h"
#include "cli.h"
#include "daemon/status.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

enum { OPT_STATUS_FILE = 0x300 };

static int status_opt(int opt, const char *arg, void *data)
{
	const char **path = data;
	if (opt != OPT_STATUS_FILE)
		return cli_usage_error("option not known");
	*path = arg;
	return 0;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"status-file", required_argument, NULL, OPT_STATUS_FILE},
		{NULL, 0, NULL, 0},
	};
	const char *path = getenv("SRIOV_STATUS_FILE");
	if (str_empty(path))
		path = STATUS_DEFAULT_PATH;
	int first;
	int r = cli_parse(cli, argc, argv, options, NULL, status_opt, &path, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("status: unexpected argument '%s'", QUOTE(argv[first]));

	json_error_t jerr;
	json_t *st = json_load_file(path, 0, &jerr);
	json_int_t pid = st ? json_integer_value(json_object_get(st, "pid")) : 0;
	bool running = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	const char *config = st ? json_string_value(json_object_get(st, "config")) : NULL;
	if (str_empty(config))
		config = CONFIG_DEFAULT_PATH;

	/* Drift now, against the config the daemon uses. */
	struct config *cfg = NULL;
	struct plan p = {0};
	char *error = NULL;
	bool dropins = strcmp(config, CONFIG_DEFAULT_PATH) == 0;
	int pr = config_load(config, dropins ? CONFIG_DEFAULT_DROPIN_DIR : NULL, &cfg, &error);
	if (pr == 0) {
		struct apply_env env = {.lifecycle = {.sysfs_root = cli->sysfs_root}};
		pr = plan_compute(cfg, &env, &p, &error);
	}
	config_free(cfg);

	if (cli->json) {
		json_t *o = json_object();
		json_object_set_new(o, "schema_version", json_integer(OUTPUT_SCHEMA_VERSION));
		json_object_set_new(o, "running", json_boolean(running));
		json_object_set_new(o, "daemon", st ? json_incref(st) : json_null());
		json_object_set_new(o, "config", json_string(config));
		json_object_set_new(o, "drift", pr == 0 ? json_integer((json_int_t)p.n) : json_null());
		json_object_set_new(o, "changes", pr == 0 ? cli_json_plan_changes(&p) : json_array());
		json_object_set_new(o, "plan_error", pr < 0 ? json_string(error ? error : strerror(-pr)) : json_null());
		r = cli_print_json("status", o);
	} else {
		text_printf(stdout, "sriovd:      %s", running ? "running" : "not running");
		if (running)
			text_printf(stdout, " (pid %lld)", (long long)pid);
		text_printf(stdout, "\nconfig:      %s\n", config);
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
				printf("stuck PFs:\n");
			json_array_foreach(stuck, i, e) {
				const char *netdev = json_string_value(json_object_get(e, "netdev"));
				const char *hint = json_string_value(json_object_get(e, "hint"));
				printf("  %s%s%s%s: %s (since %s, next try %s)\n", netdev ? netdev : "", netdev ? " (" : "",
				       json_string_value(json_object_get(e, "pf")) ?: "-", netdev ? ")" : "",
				       json_string_value(json_object_get(e, "error")) ?: "",
				       json_string_value(json_object_get(e, "since")) ?: "-",
				       json_string_value(json_object_get(e, "next_retry")) ?: "-");
				if (hint)
					printf("    to get past it: %s\n", hint);
			}
		} else
			text_printf(stdout, "status file: %s: %s\n", path, jerr.text);
		if (pr < 0)
			text_printf(stdout, "drift:       cannot tell: %s\n", error ? error : strerror(-pr));
		else if (p.n == 0)
			text_printf(stdout, "drift:       none, the host matches the config\n");
		else {
			text_printf(stdout, "drift:       %zu change%s wanted:\n", p.n, p.n == 1 ? "" : "s");
			cli_text_plan_changes(stdout, &p);
		}
	}
	bool in_sync = pr == 0 && p.n == 0;
	free(error);
	plan_done(&p);
	json_decref(st);
	/* 0: running and in sync; 1: not running, drifting or unknown. */
	if (r != EXIT_OK)
		return r;
	return running && in_sync ? EXIT_OK : EXIT_FAILED;
}

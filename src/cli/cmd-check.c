/* sriovctl check: host readiness, each finding with evidence and a fix. */
#include "check/check.h"
#include "caps/caps.h"
#include "cli.h"
#include "output/output.h"
#include "util/input.h"
#include "util/util.h"

static json_t *json_report(const struct check_report *rep)
{
	json_t *o = json_object();
	enum check_status worst = check_report_worst(rep);
	json_object_set_new(o, "schema_version", json_integer(OUTPUT_SCHEMA_VERSION));
	json_object_set_new(o, "ready", json_boolean(worst != CHECK_FAIL));
	json_object_set_new(o, "worst", json_string(check_status_to_string(worst)));
	json_t *a = json_array();
	for (size_t i = 0; i < rep->n; i++) {
		const struct check_finding *f = &rep->findings[i];
		json_t *j = json_object();
		json_object_set_new(j, "check", json_string(f->check));
		json_object_set_new(j, "subject", f->subject ? json_string(f->subject) : json_null());
		json_object_set_new(j, "status", json_string(check_status_to_string(f->status)));
		json_object_set_new(j, "summary", json_string(f->summary));
		json_object_set_new(j, "evidence", f->evidence ? json_string(f->evidence) : json_null());
		json_object_set_new(j, "fix", f->fix ? json_string(f->fix) : json_null());
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "findings", a);
	return o;
}

static void text_report(FILE *out, const struct check_report *rep)
{
	static const char *const label[] = {[CHECK_OK] = " ok ", [CHECK_WARN] = "WARN", [CHECK_FAIL] = "FAIL"};
	size_t count[_CHECK_STATUS_MAX] = {0};
	for (size_t i = 0; i < rep->n; i++) {
		const struct check_finding *f = &rep->findings[i];
		count[f->status]++;
		text_printf(out, "[%s] %-10s %s%s%s\n", label[f->status], f->check, f->subject ? f->subject : "",
			f->subject ? ": " : "", f->summary);
		if (f->evidence)
			text_printf(out, "       evidence: %s\n", f->evidence);
		if (f->fix)
			text_printf(out, "       fix: %s\n", f->fix);
	}
	if (count[CHECK_FAIL])
		text_printf(out, "\nNOT READY: %zu failed, %zu warnings, %zu ok\n", count[CHECK_FAIL], count[CHECK_WARN],
			count[CHECK_OK]);
	else
		text_printf(out, "\nready: %zu warnings, %zu ok\n", count[CHECK_WARN], count[CHECK_OK]);
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	int first;
	int r = cli_parse(cli, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (r)
		return CLI_PARSE_EXIT(r);
	if (first < argc)
		return cli_usage_error("check: unexpected argument '%s'", QUOTE(argv[first]));

	/* A --kmsg that is no kernel log is the user's mistake: say so, and
	 * do not report a clean log. */
	if (cli->kmsg_path) {
		_cleanup_free_ char *error = NULL;
		bool is_kmsg;
		int fd = check_kmsg_open(cli->kmsg_path, &is_kmsg, &error);
		if (fd < 0 && fd != -EACCES && fd != -EPERM)
			return cli_error("check: --kmsg: %s", error ? error : strerror(-fd));
		if (fd >= 0)
			close(fd);
	}

	struct pci_tree *t;
	if ((r = cli_load_inventory(cli, false, false, &t)))
		return r;
	cli_print_warnings(cli, t);

	/* $SRIOV_BOOT_ROOT: where the boot loader's files are (default /). */
	struct check_env env = {.proc_root = cli->proc_root, .kmsg_path = cli->kmsg_path,
				.boot_root = getenv("SRIOV_BOOT_ROOT")};
	/* Module lists and the boot loader belong to the running kernel's host;
	 * a tree from elsewhere has neither. */
	if (!inventory_root_is_live(cli->sysfs_root)) {
		env.modules_dir = "";
		if (!env.boot_root)
			env.boot_root = "";
	}
	/* What the drivers answered EOPNOTSUPP to, learned by apply and vf set. */
	struct lifecycle_env lenv;
	struct lifecycle_rtnl lrt = {0};
	cli_lifecycle_env(cli, &lenv, &lrt);
	struct caps caps = {0};
	_cleanup_free_ char *caps_file = NULL;
	(void)caps_path(&lenv, &caps_file);
	if ((r = caps_load(&lenv, &caps)) < 0 && !cli->json)
		text_printf(stderr, "warning: driver capability table %s: %s\n", caps_file ? caps_file : CAPS_FILE,
			    r == -EBADMSG ? "not one (ignored)" : strerror(-r));
	lifecycle_rtnl_done(&lrt);
	env.caps = &caps;
	env.caps_path = caps_file;
	struct check_report rep;
	r = check_run(&env, t, &rep);
	caps_done(&caps);
	pci_tree_free(t);
	if (r < 0)
		return cli_error("check: %s", strerror(-r));

	r = EXIT_OK;
	if (cli->json)
		r = cli_print_json("check", json_report(&rep));
	else
		text_report(stdout, &rep);
	enum check_status worst = check_report_worst(&rep);
	check_report_done(&rep);
	if (r != EXIT_OK)
		return r;
	return worst == CHECK_FAIL ? EXIT_FAILED : EXIT_OK;
}

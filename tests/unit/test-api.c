/* Unit tests for api/: the authorization rule and the peer groups of
 * /proc/PID/status, the request rate bucket on a played clock, the
 * Prometheus escaping, and every route's answers (status, error field and
 * message) through api_handle() on the fake testbed, no socket needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>

#include "api/api.h"
#include "claim/claim.h"
#include "ledger/ledger.h"
#include "config/config.h"
#include "fakesysfs.h"
#include "output/output.h"
#include "util/util.h"

/* ---- authorization ---- */

static void test_may_write(void **state)
{
	(void)state;
	const gid_t grp = 990;
	static const struct {
		struct api_peer p;
		gid_t gid;
		bool want;
	} rows[] = {
		{{.known = true, .uid = 0, .gid = 0}, 990, true},                      /* root */
		{{.known = true, .uid = 0, .gid = 0}, (gid_t)-1, true},                /* root, no group */
		{{.known = false, .uid = 0}, 990, false},                              /* no credentials */
		{{.known = true, .uid = 1000, .gid = 990}, 990, true},                 /* primary group */
		{{.known = true, .uid = 1000, .gid = 1000, .groups = {4, 990}, .n_groups = 2}, 990, true},
		{{.known = true, .uid = 1000, .gid = 1000, .groups = {4, 24}, .n_groups = 2}, 990, false},
		{{.known = true, .uid = 1000, .gid = 990}, (gid_t)-1, false},          /* no group: root only */
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		gid_t g = rows[i].gid == 990 ? grp : rows[i].gid;
		if (api_peer_may_write(&rows[i].p, g) != rows[i].want)
			fail_msg("row %zu: wanted %d", i, rows[i].want);
	}
}

static void test_proc_status(void **state)
{
	(void)state;
	struct api_peer p = {0};
	assert_int_equal(api_parse_proc_status("Name:\tcurl\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\n"
					       "Groups:\t4 24 990 \nNgid:\t0\n", &p), 0);
	assert_int_equal(p.uid, 1000);
	assert_int_equal(p.n_groups, 3);
	assert_int_equal(p.groups[2], 990);
	p = (struct api_peer){0};
	assert_int_equal(api_parse_proc_status("Uid:\t0\t0\t0\t0\nGroups:\t\n", &p), 0);
	assert_int_equal(p.n_groups, 0);
	assert_int_equal(api_parse_proc_status("Uid:\t1000\n", &p), -EINVAL);          /* no Groups: */
	assert_int_equal(api_parse_proc_status("Groups:\t4\n", &p), -EINVAL);          /* no Uid: */
	assert_int_equal(api_parse_proc_status("Uid:\tx\nGroups:\t4\n", &p), -EINVAL);
	assert_int_equal(api_parse_proc_status("Uid:\t1\nGroups:\t4 x\n", &p), -EINVAL);
}

/* ---- rate ---- */

static void test_bucket(void **state)
{
	(void)state;
	struct api_bucket b = {0};
	uint64_t t = 5000;
	for (int i = 0; i < 3; i++)
		assert_true(api_bucket_take(&b, 3, t));
	assert_false(api_bucket_take(&b, 3, t));
	assert_false(api_bucket_take(&b, 3, t + 300)); /* 0.9 of a token */
	assert_true(api_bucket_take(&b, 3, t + 334));
	assert_false(api_bucket_take(&b, 3, t + 334));
	/* Idle for long: the burst is the rate, never more. */
	t += 60000;
	for (int i = 0; i < 3; i++)
		assert_true(api_bucket_take(&b, 3, t));
	assert_false(api_bucket_take(&b, 3, t));
}

static void test_prom_escape(void **state)
{
	(void)state;
	static const char *const rows[][2] = {
		{"plain", "plain"},
		{"a\"b", "a\\\"b"},
		{"back\\slash", "back\\\\slash"},
		{"two\nlines", "two\\nlines"},
		{"", ""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *s = api_prom_label_escape(rows[i][0]);
		assert_string_equal(s, rows[i][1]);
		free(s);
	}
}

/* ---- routes ---- */

struct fixture {
	char dir[PATH_MAX / 2];
	char sys[PATH_MAX];
	struct config *cfg;
	struct apply_env env;
	bool ready;
	struct api_stats stats;
	struct api *api;
	unsigned applies;
	struct ledger *ledger; /* test_model_claims' */
};

static const char conf_text[] =
	"version: 1\n"
	"pfs:\n"
	"  - match:\n"
	"      pci: 0000:01:00.0\n"
	"    numvfs: 3\n"
	"    labels: [fast]\n"
	"device-specs:\n"
	"  - vendor_id: \"8086\"\n"
	"    physical_network: physnet1\n"
	"aliases:\n"
	"  - name: a1\n"
	"    vendor_id: \"8086\"\n"
	"    device_type: type-VF\n"
	"networks:\n"
	"  - name: n1\n"
	"    vlan: 10\n"
	"    labels: [fast]\n";

static json_t *fake_status(void *data)
{
	(void)data;
	json_t *j = json_object();
	json_object_set_new(j, "pid", json_integer(1));
	return j;
}

static json_t *fake_apply(void *data)
{
	struct fixture *f = data;
	f->applies++;
	return fake_status(data);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0)
		return -1;
	char *error = NULL;
	if (!(f->cfg = config_new()) ||
	    config_parse_string(f->cfg, "test.conf", conf_text, strlen(conf_text), &error) < 0) {
		fprintf(stderr, "config: %s\n", error ? error : "?");
		return -1;
	}
	f->env.lifecycle.sysfs_root = f->sys;
	f->env.allow_missing = true;
	f->ready = true;
	struct api_source src = {
		.cfg = &f->cfg,
		.env = &f->env,
		.ready = &f->ready,
		.stats = &f->stats,
		.status = fake_status,
		.apply = fake_apply,
		.data = f,
	};
	struct api_opts o = {0};
	if (api_new(&o, &src, &f->api) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	api_free(f->api);
	ledger_close(f->ledger);
	config_free(f->cfg);
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

static const struct api_peer root_peer = {.known = true, .uid = 0, .gid = 0, .pid = 1};
static const struct api_peer user_peer = {.known = true, .uid = 1000, .gid = 1000, .pid = 2};

struct row {
	const char *method, *path, *ctype, *body;
	const struct api_peer *peer;
	unsigned status;
	const char *field;   /* the error's field; NULL: none or no error */
	const char *message; /* the error's message, exactly; NULL: a 2xx */
	const char *query;   /* the value of the query's ?format= and ?claim= */
};

static const char *row_arg(void *ctx, const char *name)
{
	const struct row *w = ctx;
	return strcmp(name, "format") == 0 || strcmp(name, "claim") == 0 ? w->query : NULL;
}

static void run_row(struct fixture *f, const struct row *w, size_t i)
{
	struct api_request rq = {
		.method = w->method,
		.path = w->path,
		.content_type = w->ctype,
		.body = w->body,
		.body_len = w->body ? strlen(w->body) : 0,
		.peer = w->peer ? w->peer : &user_peer,
		.arg = row_arg,
		.arg_ctx = (void *)w,
	};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	json_t *j = json_loadb(rs.body, rs.body_len, 0, NULL);
	if (rs.status != w->status)
		fail_msg("row %zu %s %s: status %u, wanted %u: %s", i, w->method, w->path, rs.status, w->status, rs.body);
	if (w->message) {
		json_t *e = json_object_get(j, "error");
		const char *msg = json_string_value(json_object_get(e, "message"));
		const char *field = json_string_value(json_object_get(e, "field"));
		if (!msg || strcmp(msg, w->message) != 0)
			fail_msg("row %zu: message '%s', wanted '%s'", i, msg ? msg : "(none)", w->message);
		if (!streq_ptr(field, w->field))
			fail_msg("row %zu: field '%s', wanted '%s'", i, field ? field : "(null)", w->field ? w->field : "(null)");
	}
	json_decref(j);
	api_response_done(&rs);
}

#define JSON "application/json"
#define U "11111111-2222-3333-4444-555555555555"

static void test_routes(void **state)
{
	struct fixture *f = *state;
	char deep[200] = "";
	for (int i = 0; i < 20; i++)
		strcat(deep, "[");
	for (int i = 0; i < 20; i++)
		strcat(deep, "]");
	char deep_body[256];
	snprintf(deep_body, sizeof(deep_body), "{\"spec\": %s}", deep);
	const struct row rows[] = {
		{"GET", "/v1/inventory", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/inventory", NULL, NULL, NULL, 200, NULL, NULL, "json"},
		{"GET", "/v1/inventory", NULL, NULL, NULL, 200, NULL, NULL, "text"},
		{"GET", "/v1/inventory", NULL, NULL, NULL, 400, "format", "format: 'yaml' is not known (json, text)", "yaml"},
		{"GET", "/v1/inventory", NULL, NULL, NULL, 400, "format", "format: 'TEXT' is not known (json, text)", "TEXT"},
		{"GET", "/v1/devices/0000:01:00.0", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/devices/eth0#1", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/devices/0000:09:00.0", NULL, NULL, NULL, 404, "address", NULL},
		{"GET", "/v1/devices/eth0#x", NULL, NULL, NULL, 400, "address",
		 "eth0#x: 'x' is not a VF number (PF#N, N = 0, 1, ...)"},
		{"GET", "/v1/plan", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/status", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/specs", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/aliases", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/networks", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/health", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/metrics", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/nope", NULL, NULL, NULL, 404, NULL, "/v1/nope: no such route"},
		{"GET", "/v1/devices/", NULL, NULL, NULL, 404, NULL, "/v1/devices/: no such route"},
		{"GET", "/v1/devices/a/b", NULL, NULL, NULL, 404, NULL, "/v1/devices/a/b: no such route"},
		{"DELETE", "/v1/inventory", NULL, NULL, NULL, 405, NULL,
		 "DELETE /v1/inventory: method not allowed (allowed: GET)"},
		{"GET", "/v1/match", NULL, NULL, NULL, 405, NULL, "GET /v1/match: method not allowed (allowed: POST)"},
		/* POST /v1/match: the body */
		{"POST", "/v1/match", JSON, "{\"request\": \"a1:2\"}", NULL, 200, NULL, NULL},
		{"POST", "/v1/match", JSON "; charset=utf-8", "{\"network\": \"n1\"}", NULL, 200, NULL, NULL},
		{"POST", "/v1/match", JSON, "{\"spec\": [{\"address\": \"*:01:*.*\"}]}", NULL, 200, NULL, NULL},
		{"POST", "/v1/match", NULL, "{}", NULL, 415, NULL,
		 "the body must be application/json, not (no Content-Type)"},
		{"POST", "/v1/match", "text/plain", "{}", NULL, 415, NULL, "the body must be application/json, not text/plain"},
		{"POST", "/v1/match", "application/jsonx", "{}", NULL, 415, NULL,
		 "the body must be application/json, not application/jsonx"},
		{"POST", "/v1/match", JSON, "", NULL, 400, NULL, "the body is empty; expected a JSON object"},
		{"POST", "/v1/match", JSON, "{\"spec\": ", NULL, 400, NULL,
		 "the body is not JSON: unexpected token near end of file (line 1, column 9)"},
		{"POST", "/v1/match", JSON, "[1]", NULL, 400, NULL, "the body must be a JSON object"},
		{"POST", "/v1/match", JSON, deep_body, NULL, 400, NULL, "the body is nested deeper than 16 levels"},
		{"POST", "/v1/match", JSON, "{\"bogus\": 1}", NULL, 400, "bogus",
		 "bogus: unknown key; expected spec, alias, request or network"},
		{"POST", "/v1/match", JSON, "{\"spec\": {\"address\": \"*:*:*.9\"}}", NULL, 400, "spec",
		 "spec: address: function '9' (in '*:*:*.9') is greater than the maximum allowable value (7)"},
		{"POST", "/v1/match", JSON, "{\"spec\": []}", NULL, 400, "spec", "spec: an empty list"},
		{"POST", "/v1/match", JSON, "{\"request\": 3}", NULL, 400, "request", "request: expected a string"},
		{"POST", "/v1/match", JSON, "{\"request\": \"zz:1\"}", NULL, 400, "request", NULL},
		{"POST", "/v1/match", JSON, "{\"network\": \"n9\"}", NULL, 400, "network",
		 "network: 'n9' is not a network of the config"},
		{"POST", "/v1/match", JSON, "{\"network\": \"n1\", \"request\": \"a1:1\"}", NULL, 400, "network",
		 "network: takes no spec, alias or request"},
		{"POST", "/v1/match", JSON, "{\"alias\": {\"name\": \"b\", \"vendor_id\": \"8086\"}}", NULL, 400, "alias",
		 "alias: needs a request (\"alias:count\")"},
		/* mutating: root or the group */
		{"POST", "/v1/apply", NULL, NULL, &user_peer, 403, NULL,
		 "POST /v1/apply needs uid 0 or membership of the group (none: root only)"},
		{"POST", "/v1/apply", NULL, NULL, &root_peer, 200, NULL, NULL},
		/* claims: the body is checked before the ledger is needed */
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"request\": \"a1:1\"}", &user_peer, 403, NULL,
		 "POST /v1/claims needs uid 0 or membership of the group (none: root only)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"x\", \"request\": \"a1:1\"}", &root_peer, 400, "consumer",
		 "consumer: 'x' is not a UUID (8-4-4-4-12 hex digits)"},
		{"POST", "/v1/claims", JSON, "{\"request\": \"a1:1\"}", &root_peer, 400, "consumer",
		 "consumer: required (a UUID)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\"}", &root_peer, 400, "request",
		 "give one of request (\"alias:count\"), network, device"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"request\": \"a1:1\", \"network\": \"n1\"}",
		 &root_peer, 400, "network", "network: give one of request, network, device (request is given too)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"request\": \"a1:1\", \"count\": 2}", &root_peer,
		 400, "count", "count: goes with network"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"network\": \"n1\", \"count\": 0}", &root_peer,
		 400, "count", "count: expected a number of devices (1-4096)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"device\": \"eth2\", \"vlan\": 4095}", &root_peer,
		 400, "vlan", "vlan: expected a VLAN (0-4094)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"device\": \"eth2\", \"mac\": \"01:00:00:00:00:01\"}",
		 &root_peer, 400, "mac", "mac: '01:00:00:00:00:01' is not a unicast MAC (aa:bb:cc:dd:ee:ff)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"device\": \"eth2\", \"vfio\": 1}", &root_peer, 400,
		 "vfio", "vfio: expected true or false"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"device\": \"eth2\", \"numa_nodes\": [0, 1024]}",
		 &root_peer, 400, "numa_nodes", "numa_nodes: expected NUMA nodes (0-1023)"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"device\": \"eth2\", \"bogus\": 1}", &root_peer, 400,
		 "bogus", "bogus: unknown key; expected consumer, request, network, device, count, mac, vlan, vfio or numa_nodes"},
		{"POST", "/v1/claims", JSON, "{\"consumer\": \"" U "\", \"request\": \"a1:1\"}", &root_peer, 503, NULL,
		 "the claim ledger cannot be opened: this sriovd has none"},
		{"GET", "/v1/claims", NULL, NULL, NULL, 503, NULL, "the claim ledger cannot be opened: this sriovd has none"},
		{"DELETE", "/v1/consumers/xyz", NULL, NULL, &root_peer, 400, "consumer",
		 "consumer: 'xyz' is not a UUID (8-4-4-4-12 hex digits)"},
		{"DELETE", "/v1/claims/1", NULL, NULL, &user_peer, 403, NULL, NULL},
		{"PUT", "/v1/claims/1", NULL, NULL, NULL, 405, NULL, "PUT /v1/claims/1: method not allowed (allowed: GET, DELETE)"},
		/* GET /v1/claims/{id}/export: the format before the ledger */
		{"GET", "/v1/claims/1/export", NULL, NULL, NULL, 400, "format",
		 "format: 'vmware' is not known (libvirt, libvirt-hostdev, qemu, xen, json)", "vmware"},
		{"GET", "/v1/claims/1/export", NULL, NULL, NULL, 400, "format",
		 "format: 'Libvirt' is not known (libvirt, libvirt-hostdev, qemu, xen, json)", "Libvirt"},
		{"GET", "/v1/claims/1/export", NULL, NULL, NULL, 400, "format",
		 "format: '' is not known (libvirt, libvirt-hostdev, qemu, xen, json)", ""},
		{"GET", "/v1/claims/1/export", NULL, NULL, NULL, 503, NULL,
		 "the claim ledger cannot be opened: this sriovd has none", "qemu"},
		{"GET", "/v1/claims/1/export", NULL, NULL, NULL, 503, NULL, "the claim ledger cannot be opened: this sriovd has none"},
		{"POST", "/v1/claims/1/export", NULL, NULL, NULL, 405, NULL,
		 "POST /v1/claims/1/export: method not allowed (allowed: GET)"},
		{"GET", "/v1/claims//export", NULL, NULL, NULL, 404, NULL, "/v1/claims//export: no such route"},
		{"GET", "/v1/claims/1/export/", NULL, NULL, NULL, 404, NULL, "/v1/claims/1/export/: no such route"},
		{"GET", "/v1/claims/1/exports", NULL, NULL, NULL, 404, NULL, "/v1/claims/1/exports: no such route"},
		{"GET", "/v1/claims/1/2/export", NULL, NULL, NULL, 404, NULL, "/v1/claims/1/2/export: no such route"},
		/* DELETE /v1/consumers/{uuid}?claim=ID */
		{"DELETE", "/v1/consumers/" U, NULL, NULL, &root_peer, 400, "claim", "claim: 'x' is not a claim id", "x"},
		{"DELETE", "/v1/consumers/" U, NULL, NULL, &root_peer, 400, "claim", "claim: '0' is not a claim id", "0"},
		{"DELETE", "/v1/consumers/" U, NULL, NULL, &root_peer, 503, NULL,
		 "the claim ledger cannot be opened: this sriovd has none", "1"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(f, &rows[i], i);
	assert_int_equal(f->applies, 1);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	struct api_request rq = {.method = "POST", .path = "/v1/match", .content_type = JSON, .body_too_large = true,
				 .peer = &user_peer};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	assert_int_equal(rs.status, 413);
	assert_non_null(strstr(rs.body, "\"message\": \"the body is larger than 65536 bytes\""));
	api_response_done(&rs);
}

/* While the first apply runs: 503, but health and metrics answer. */
static void test_starting(void **state)
{
	struct fixture *f = *state;
	f->ready = false;
	const struct row rows[] = {
		{"GET", "/v1/inventory", NULL, NULL, NULL, 503, NULL,
		 "sriovd is applying its config for the first time; try again shortly"},
		{"POST", "/v1/match", JSON, "{\"request\": \"a1:2\"}", NULL, 503, NULL, NULL},
		{"GET", "/v1/health", NULL, NULL, NULL, 503, NULL, NULL},
		{"GET", "/metrics", NULL, NULL, NULL, 200, NULL, NULL},
		{"GET", "/v1/nope", NULL, NULL, NULL, 404, NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(f, &rows[i], i);
	f->ready = true;
}

/* The same document as `sriovctl -j show` (output/'s json_show). */
static void test_same_documents(void **state)
{
	struct fixture *f = *state;
	struct api_request rq = {.method = "GET", .path = "/v1/devices/0000:01:10.2", .peer = &user_peer};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	struct pci_tree *t;
	struct inventory_opts o = {.sysfs_root = f->sys, .names = true};
	assert_int_equal(inventory_load(&o, &t), 0);
	json_t *want = json_show(t, pci_tree_find_addr(t, "0000:01:10.2"));
	char *text = json_dumps(want, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_int_equal(rs.body_len, strlen(text) + 1);
	assert_memory_equal(rs.body, text, strlen(text));
	free(text);
	json_decref(want);
	pci_tree_free(t);
	api_response_done(&rs);
}

/* GET /v1/inventory's document body (a fresh string). */
static char *inventory_body(struct fixture *f)
{
	struct api_request rq = {.method = "GET", .path = "/v1/inventory", .peer = &user_peer};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	assert_int_equal(rs.status, 200);
	assert_int_equal(strlen(rs.body), rs.body_len);
	return rs.body;
}

/* The inventory comes from the model, kept until the host changes. */
static void test_model(void **state)
{
	struct fixture *f = *state;
	char *before = inventory_body(f);
	assert_null(strstr(before, "\"numa_node\": 1"));
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:00.0/numa_node", "1\n"), 0);
	char *kept = inventory_body(f);
	assert_string_equal(kept, before);
	api_model_changed(f->api);
	char *after = inventory_body(f);
	assert_non_null(strstr(after, "\"numa_node\": 1"));
	api_model_changed(NULL);
	free(before);
	free(kept);
	free(after);
}

/* GET /v1/inventory?format=T's body (a fresh string) and its type. */
static char *inventory_format(struct fixture *f, const char *format, const char **ret_type)
{
	struct row w = {.query = format};
	struct api_request rq = {.method = "GET", .path = "/v1/inventory", .peer = &user_peer, .arg = row_arg,
				 .arg_ctx = &w};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	assert_int_equal(rs.status, 200);
	*ret_type = rs.content_type;
	return rs.body;
}

/* ?format=text: what `sriovctl list` prints (its warnings first), from the
 * same model as the document. */
static void test_inventory_text(void **state)
{
	struct fixture *f = *state;
	const char *type;
	char *text = inventory_format(f, "text", &type);
	assert_string_equal(type, "text/plain");
	struct pci_tree *t;
	struct inventory_opts o = {.sysfs_root = f->sys, .names = true};
	assert_int_equal(inventory_load(&o, &t), 0);
	char *want = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&want, &len);
	text_print_warnings(m, t);
	text_print_list(m, t);
	fclose(m);
	assert_string_equal(text, want);
	assert_non_null(strstr(text, "PF 0000:01:00.0"));
	/* Kept with the model: a change behind its back is not in it. */
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe", "0\n"), 0);
	char *kept = inventory_format(f, "text", &type);
	assert_string_equal(kept, text);
	api_model_changed(f->api);
	char *after = inventory_format(f, "text", &type);
	assert_non_null(strstr(after, "autoprobe off"));
	free(want);
	free(text);
	free(kept);
	free(after);
	pci_tree_free(t);
}

static struct ledger *fixture_ledger(void *data, char **ret_error)
{
	struct fixture *f = data;
	if (!f->ledger && ledger_open(f->sys, NULL, &f->ledger, ret_error) < 0)
		f->ledger = NULL;
	return f->ledger;
}

static unsigned claim_post(struct fixture *f, const char *body)
{
	struct api_request rq = {.method = "POST", .path = "/v1/claims", .content_type = JSON, .body = body,
				 .body_len = strlen(body), .peer = &root_peer};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	unsigned st = rs.status;
	api_response_done(&rs);
	return st;
}

/* claimed_by in the model's documents follows the ledger: a claim or
 * release through the API, and a claim another process wrote. */
static void test_model_claims(void **state)
{
	struct fixture *f = *state;
	api_free(f->api);
	struct api_source src = {.cfg = &f->cfg, .env = &f->env, .ready = &f->ready, .stats = &f->stats,
				 .status = fake_status, .apply = fake_apply, .data = f, .ledger = fixture_ledger};
	struct api_opts o = {0};
	assert_int_equal(api_new(&o, &src, &f->api), 0);
	const char *type;
	char *free_doc = inventory_body(f), *free_text = inventory_format(f, "text", &type);
	assert_null(strstr(free_doc, U));
	assert_int_equal(claim_post(f, "{\"consumer\": \"" U "\", \"device\": \"0000:01:10.2\"}"), 201);
	char *doc = inventory_body(f), *text = inventory_format(f, "text", &type);
	assert_non_null(strstr(doc, "\"claimed_by\": \"" U "\""));
	assert_non_null(strstr(text, "0000:01:10.2"));
	assert_non_null(strstr(text, "claimed-by " U "\n"));
	struct api_request rq = {.method = "DELETE", .path = "/v1/consumers/" U, .peer = &root_peer};
	struct api_response rs;
	assert_int_equal(api_handle(f->api, &rq, &rs), 0);
	assert_int_equal(rs.status, 200);
	api_response_done(&rs);
	char *released = inventory_body(f);
	assert_string_equal(released, free_doc);
	/* Another connection (sriovctl --no-daemon) claims behind the API's back. */
	struct ledger *other;
	char *error = NULL;
	assert_int_equal(ledger_open(f->sys, NULL, &other, &error), 0);
	struct claim_env env = {.apply = f->env, .cfg = f->cfg, .ledger = other};
	struct claim_request req = {.consumer = "22222222-2222-4222-8222-222222222222", .kind = LEDGER_KIND_DEVICE,
				    .what = "0000:01:10.4", .vlan = -1};
	struct claim_result res;
	assert_int_equal(claim_run(&env, &req, &res, &error), 0);
	claim_result_done(&res);
	ledger_close(other);
	char *outside = inventory_body(f), *outside_text = inventory_format(f, "text", &type);
	assert_non_null(strstr(outside, "\"claimed_by\": \"22222222-2222-4222-8222-222222222222\""));
	assert_non_null(strstr(outside_text, "claimed-by 22222222-2222-4222-8222-222222222222\n"));
	free(free_doc);
	free(free_text);
	free(doc);
	free(text);
	free(released);
	free(outside);
	free(outside_text);
}

static void test_metrics(void **state)
{
	struct fixture *f = *state;
	f->stats.applies = 7;
	f->stats.apply_errors = 2;
	f->stats.last_apply_error = "numvfs \"3\": refused\nsecond line";
	f->stats.last_apply_error_at = 1700000000;
	f->stats.drift = 4;
	api_stats_claim(&f->stats, 0.003);
	char *text;
	size_t len;
	assert_int_equal(api_metrics(f->api, &text, &len), 0);
	static const char *const want[] = {
		"# TYPE sriovd_vfs gauge\n",
		"sriovd_vfs{pf=\"0000:01:00.0\",pf_netdev=\"eth0\",state=\"free\"} 3\n",
		"sriovd_vfs{pf=\"0000:01:00.0\",pf_netdev=\"eth0\",state=\"claimed\"} 0\n",
		"sriovd_vfs{pf=\"0000:00:03.0\",pf_netdev=\"\",state=\"free\"} 0\n",
		"sriovd_applies_total 7\n",
		"sriovd_apply_errors_total 2\n",
		"sriovd_last_error_timestamp_seconds{kind=\"apply\",message=\"numvfs \\\"3\\\": refused\\nsecond line\"} "
		"1700000000\n",
		"sriovd_drift 4\n",
		"sriovd_claim_duration_seconds_bucket{le=\"0.0025\"} 0\n",
		"sriovd_claim_duration_seconds_bucket{le=\"0.005\"} 1\n",
		"sriovd_claim_duration_seconds_bucket{le=\"+Inf\"} 1\n",
		"sriovd_claim_duration_seconds_count 1\n",
		"# TYPE sriovd_vf_rx_packets_total counter\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("no '%s' in:\n%s", want[i], text);
	f->stats.last_apply_error = NULL;
	free(text);
}

/* The inventory with the PF's IFLA_VF_STATS for VF 2 of eth0, as a PF
 * driver with per-VF counters reports them. */
static int load_with_vf_stats(const struct inventory_opts *o, struct pci_tree **ret)
{
	int r = inventory_load(o, ret);
	if (r < 0)
		return r;
	struct pci_function *vf = pci_tree_find_addr(*ret, "0000:01:10.4");
	if (!vf || !(vf->link = calloc(1, sizeof(*vf->link))))
		return -ENOMEM;
	vf->link->has = VF_HAS(VF_FIELD_STATS);
	vf->link->stats = (struct vf_stats){.rx_packets = 7, .tx_packets = 8, .rx_bytes = 900, .tx_bytes = 1000,
					     .rx_dropped = 2, .tx_dropped = 3};
	return 0;
}

/* Per-VF counters from both sources: the PF's IFLA_VF_STATS (source="pf")
 * and the VF's own netdev under the sysfs root (source="vf_netdev"), all
 * six files or none. */
static void test_metrics_vf_counters(void **state)
{
	struct fixture *f = *state;
	static const char *const vf0[][2] = {
		{"rx_packets", "12\n"}, {"tx_packets", "34\n"}, {"rx_bytes", "5678\n"},
		{"tx_bytes", "18446744073709551615\n"}, {"rx_dropped", "1\n"}, {"tx_dropped", "0\n"},
	};
	char rel[256];
	for (size_t i = 0; i < ARRAY_SIZE(vf0); i++) {
		snprintf(rel, sizeof(rel), "bus/pci/devices/0000:01:10.0/net/eth2/statistics/%s", vf0[i][0]);
		assert_int_equal(fakesysfs_write(f->sys, rel, vf0[i][1]), 0);
		/* VF 1: the same but one file garbage: no vf_netdev rows at all */
		snprintf(rel, sizeof(rel), "bus/pci/devices/0000:01:10.2/net/eth3/statistics/%s", vf0[i][0]);
		assert_int_equal(fakesysfs_write(f->sys, rel, i == 5 ? "x\n" : vf0[i][1]), 0);
	}
	struct api_source src = {
		.cfg = &f->cfg, .env = &f->env, .ready = &f->ready, .stats = &f->stats,
		.status = fake_status, .apply = fake_apply, .data = f, .load = load_with_vf_stats,
	};
	struct api_opts o = {0};
	struct api *a;
	assert_int_equal(api_new(&o, &src, &a), 0);
	char *text;
	size_t len;
	assert_int_equal(api_metrics(a, &text, &len), 0);
#define L(name, vf, pci) name "{pf=\"0000:01:00.0\",vf=\"" vf "\",vf_pci=\"" pci "\",consumer=\"\",source="
	static const char *const want[] = {
		"# TYPE sriovd_vf_rx_packets_total counter\n",
		L("sriovd_vf_rx_packets_total", "0", "0000:01:10.0") "\"vf_netdev\"} 12\n",
		L("sriovd_vf_tx_packets_total", "0", "0000:01:10.0") "\"vf_netdev\"} 34\n",
		L("sriovd_vf_rx_bytes_total", "0", "0000:01:10.0") "\"vf_netdev\"} 5678\n",
		L("sriovd_vf_tx_bytes_total", "0", "0000:01:10.0") "\"vf_netdev\"} 18446744073709551615\n",
		L("sriovd_vf_rx_dropped_total", "0", "0000:01:10.0") "\"vf_netdev\"} 1\n",
		L("sriovd_vf_tx_dropped_total", "0", "0000:01:10.0") "\"vf_netdev\"} 0\n",
		L("sriovd_vf_rx_packets_total", "2", "0000:01:10.4") "\"pf\"} 7\n",
		L("sriovd_vf_tx_packets_total", "2", "0000:01:10.4") "\"pf\"} 8\n",
		L("sriovd_vf_rx_bytes_total", "2", "0000:01:10.4") "\"pf\"} 900\n",
		L("sriovd_vf_tx_bytes_total", "2", "0000:01:10.4") "\"pf\"} 1000\n",
		L("sriovd_vf_rx_dropped_total", "2", "0000:01:10.4") "\"pf\"} 2\n",
		L("sriovd_vf_tx_dropped_total", "2", "0000:01:10.4") "\"pf\"} 3\n",
	};
	static const char *const unwanted[] = {
		"vf_pci=\"0000:01:10.2\"",                          /* a garbage file: none of VF 1's */
		L("sriovd_vf_rx_packets_total", "0", "0000:01:10.0") "\"pf\"}", /* no IFLA_VF_STATS for VF 0 */
		"vf_pci=\"0000:01:10.4\",consumer=\"\",source=\"vf_netdev\"", /* no statistics/ folder */
	};
#undef L
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("no '%s' in:\n%s", want[i], text);
	for (size_t i = 0; i < ARRAY_SIZE(unwanted); i++)
		if (strstr(text, unwanted[i]))
			fail_msg("'%s' in:\n%s", unwanted[i], text);
	free(text);
	api_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_may_write),
		cmocka_unit_test(test_proc_status),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_prom_escape),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_vf_counters, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

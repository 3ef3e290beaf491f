/* Unit tests for relay/ without DPDK: the relay spec from JSON (rows of good
 * and bad bodies with the exact field and message), the PCI address test,
 * the rates over the last second on a played clock, and the control routes
 * through api_handle() with sriov-relay's hook over a fake engine
 * (statuses, error documents, the authorization of mutating routes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/api.h"
#include "relay/relay.h"
#include "util/util.h"

/* ---- the spec ---- */

static void test_spec_good(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *name, *vf, *socket;
		enum relay_mode mode;
		unsigned queues, n_lcores, lcore0, mtu;
	} rows[] = {
		{"{\"vf\": \"0000:03:10.0\", \"socket\": \"/run/vm1.sock\", \"lcores\": [1]}", "dflt", "0000:03:10.0",
		 "/run/vm1.sock", RELAY_MODE_SERVER, 1, 1, 1, 0},
		{"{\"name\": \"vm-1.a_b\", \"vf\": \"net_af_packet0,iface=veth0\", \"socket\": \"/s\", \"mode\": \"client\", "
		 "\"queues\": 4, \"lcores\": [2, 3], \"mtu\": 9000}", "vm-1.a_b", "net_af_packet0,iface=veth0", "/s",
		 RELAY_MODE_CLIENT, 4, 2, 2, 9000},
		{"{\"vf\": \"03:10.1\", \"socket\": \"/s\", \"lcores\": 5, \"mode\": \"server\", \"queues\": 8}", "dflt",
		 "03:10.1", "/s", RELAY_MODE_SERVER, 8, 1, 5, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].json, 0, NULL);
		assert_non_null(j);
		struct relay_spec s;
		const char *field = "x";
		char *err = NULL;
		int r = relay_spec_from_json(j, "dflt", &s, &field, &err);
		json_decref(j);
		if (r < 0)
			fail_msg("row %zu: %s", i, err);
		assert_null(field);
		assert_string_equal(s.name, rows[i].name);
		assert_string_equal(s.vf, rows[i].vf);
		assert_string_equal(s.socket, rows[i].socket);
		assert_int_equal(s.mode, rows[i].mode);
		assert_int_equal(s.queues, rows[i].queues);
		assert_int_equal(s.n_lcores, rows[i].n_lcores);
		assert_int_equal(s.lcores[0], rows[i].lcore0);
		assert_int_equal(s.mtu, rows[i].mtu);
		relay_spec_done(&s);
		free(err);
	}
}

static void test_spec_bad(void **state)
{
	(void)state;
#define OK_ "\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": [1]"
	static const struct {
		const char *json, *field, *msg;
	} rows[] = {
		{"[]", NULL, "a relay must be a JSON object"},
		{"{" OK_ ", \"cores\": [1]}", NULL,
		 "cores: unknown key (expected name, vf, socket, mode, queues, lcores, mtu)"},
		{"{\"socket\": \"/s\", \"lcores\": [1]}", "vf",
		 "vf: missing (a PCI address such as 0000:03:10.0, or a vdev such as net_af_packet0,iface=veth0)"},
		{"{\"vf\": 3, \"socket\": \"/s\", \"lcores\": [1]}", "vf", "vf: expected a PCI address or a vdev's devargs (a string)"},
		{"{\"vf\": \"\", \"socket\": \"/s\", \"lcores\": [1]}", "vf", "vf: expected a PCI address or a vdev's devargs (a string)"},
		{"{\"vf\": \"eth0\", \"socket\": \"/s\", \"lcores\": [1]}", "vf",
		 "vf: eth0 is neither a PCI address (0000:03:10.0) nor a vdev (net_...)"},
		{"{\"vf\": \"0000:03:10.8\", \"socket\": \"/s\", \"lcores\": [1]}", "vf",
		 "vf: 0000:03:10.8 is neither a PCI address (0000:03:10.0) nor a vdev (net_...)"},
		{"{\"vf\": \"net_null0\", \"lcores\": [1]}", "socket", "socket: missing (the vhost-user socket's path)"},
		{"{\"vf\": \"net_null0\", \"socket\": \"vm.sock\", \"lcores\": [1]}", "socket", "socket: expected an absolute path"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"lcores\": [1]}",
		 "socket", "socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
		 "is longer than 107 bytes (a Unix socket's limit)"},
		{"{" OK_ ", \"mode\": \"Server\"}", "mode",
		 "mode: expected \"server\" (the relay makes the socket) or \"client\" (the VM's QEMU does)"},
		{"{" OK_ ", \"queues\": 0}", "queues", "queues: expected an integer 1..8"},
		{"{" OK_ ", \"queues\": 9}", "queues", "queues: expected an integer 1..8"},
		{"{" OK_ ", \"queues\": \"2\"}", "queues", "queues: expected an integer 1..8"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\"}", "lcores", "lcores: missing (the lcore ids this relay forwards on, e.g. [1])"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": []}", "lcores",
		 "lcores: expected an lcore id or a non-empty array of lcore ids"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": \"1-2\"}", "lcores",
		 "lcores: expected an lcore id or a non-empty array of lcore ids"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": [1, 1]}", "lcores", "lcores[1]: lcore 1 is listed twice"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": [1, -1]}", "lcores",
		 "lcores[1]: expected an lcore id (an integer 0..127)"},
		{"{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": 128}", "lcores", "lcores: 128 is not an lcore id (0..127)"},
		{"{" OK_ ", \"mtu\": 67}", "mtu", "mtu: expected an integer 68..9600"},
		{"{" OK_ ", \"mtu\": 9601}", "mtu", "mtu: expected an integer 68..9600"},
		{"{" OK_ ", \"name\": \"\"}", "name", "name: expected 1 to 32 of A-Z a-z 0-9 _ . -"},
		{"{" OK_ ", \"name\": \"a/b\"}", "name", "name: expected 1 to 32 of A-Z a-z 0-9 _ . -"},
		{"{" OK_ ", \"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "name", "name: expected 1 to 32 of A-Z a-z 0-9 _ . -"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].json, 0, NULL);
		if (!j)
			fail_msg("row %zu: not JSON", i);
		struct relay_spec s = {0};
		const char *field = "unset";
		char *err = NULL;
		int r = relay_spec_from_json(j, "dflt", &s, &field, &err);
		json_decref(j);
		if (r != -EINVAL)
			fail_msg("row %zu: %d", i, r);
		if (!streq_ptr(field, rows[i].field))
			fail_msg("row %zu: field %s, wanted %s", i, field ? field : "NULL", rows[i].field ? rows[i].field : "NULL");
		if (!streq_ptr(err, rows[i].msg))
			fail_msg("row %zu:\n got  %s\n want %s", i, err, rows[i].msg);
		assert_null(s.name);
		free(err);
	}
}

static void test_vf_names(void **state)
{
	(void)state;
	static const struct {
		const char *vf;
		bool pci;
		const char *name;
	} rows[] = {
		{"0000:03:10.0", true, "0000:03:10.0"},
		{"03:10.7", true, "03:10.7"},
		{"0000:af:1f.3,foo=1", true, "0000:af:1f.3"},
		{"0000:03:10.8", false, "0000:03:10.8"},
		{"000:03:10.0", false, "000:03:10.0"},
		{"0000-03:10.0", false, "0000-03:10.0"},
		{"net_af_packet0,iface=veth0", false, "net_af_packet0"},
		{"net_null0", false, "net_null0"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		if (relay_vf_is_pci(rows[i].vf) != rows[i].pci)
			fail_msg("row %zu: %s", i, rows[i].vf);
		char *n = relay_vf_name(rows[i].vf);
		assert_string_equal(n, rows[i].name);
		free(n);
	}
}

/* ---- rates on a played clock ---- */

static void test_rates(void **state)
{
	(void)state;
	struct relay_rate r = {0};
	double p, b, d;
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 0.0 && b == 0.0 && d == 0.0);
	relay_rate_sample(&r, &(struct relay_count){100, 6400, 1}, 10000);
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 0.0); /* one sample: no rate yet */
	relay_rate_sample(&r, &(struct relay_count){600, 38400, 3}, 10500); /* too soon: not kept */
	relay_rate_sample(&r, &(struct relay_count){1100, 70400, 5}, 11000);
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 1000.0 && b == 64000.0 && d == 4.0);
	relay_rate_sample(&r, &(struct relay_count){1100, 70400, 5}, 13000); /* 2 s of nothing */
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 0.0 && b == 0.0 && d == 0.0);
	relay_rate_sample(&r, &(struct relay_count){3100, 70400, 5}, 15000);
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 1000.0);
	relay_rate_sample(&r, &(struct relay_count){10, 640, 0}, 16000); /* counters went back: no rate */
	relay_rate_get(&r, &p, &b, &d);
	assert_true(p == 0.0 && b == 0.0 && d == 0.0);
	json_t *j = relay_count_json(&(struct relay_count){7, 448, 2}, &r);
	char *text = json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
	assert_string_equal(text, "{\"packets\":7,\"bytes\":448,\"drops\":2,\"packets_per_s\":0.0,\"bytes_per_s\":0.0,"
				  "\"drops_per_s\":0.0}");
	free(text);
	json_decref(j);
}

/* ---- the routes over a fake engine ---- */

struct fake {
	char names[4][RELAY_NAME_MAX + 1];
	size_t n;
	int add_r; /* what the next add returns */
	const char *add_field;
};

static int f_add(void *data, struct relay_spec *spec, const char **ret_field, char **ret_error)
{
	struct fake *f = data;
	if (f->add_r < 0) {
		*ret_field = f->add_field;
		return error_set(ret_error, f->add_r, "%s: refused by the engine", f->add_field ? f->add_field : "-");
	}
	snprintf(f->names[f->n++], sizeof(f->names[0]), "%s", spec->name);
	relay_spec_done(spec);
	return 0;
}

static int f_del(void *data, const char *name, char **ret_error)
{
	(void)ret_error;
	struct fake *f = data;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0) {
			memmove(f->names[i], f->names[i + 1], (f->n - i - 1) * sizeof(f->names[0]));
			f->n--;
			return 0;
		}
	return -ENOENT;
}

static json_t *f_show(void *data, const char *name)
{
	struct fake *f = data;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return json_pack("{s:s, s:s}", "name", name, "state", "waiting-vm");
	return NULL;
}

static json_t *f_list(void *data)
{
	struct fake *f = data;
	json_t *a = json_array();
	for (size_t i = 0; i < f->n; i++)
		json_array_append_new(a, f_show(f, f->names[i]));
	return json_pack("{s:o}", "relays", a);
}

static json_t *f_stats(void *data, const char *name)
{
	json_t *j = f_show(data, name);
	if (j)
		json_object_set_new(j, "vf_to_vm", relay_count_json(&(struct relay_count){1, 64, 0}, &(struct relay_rate){0}));
	return j;
}

static char *f_next_name(void *data)
{
	struct fake *f = data;
	char *n = NULL;
	return asprintf(&n, "relay%zu", f->n) < 0 ? NULL : n;
}

struct rows_env {
	struct fake fake;
	struct relay_engine e;
	struct api *api;
};

static int setup(void **state)
{
	struct rows_env *env = calloc(1, sizeof(*env));
	env->e = (struct relay_engine){f_add, f_del, f_list, f_show, f_stats, f_next_name, &env->fake};
	struct api_opts o = {.handle = relay_handle, .handle_data = &env->e};
	struct api_source src = {0};
	assert_int_equal(api_new(&o, &src, &env->api), 0);
	*state = env;
	return 0;
}

static int teardown(void **state)
{
	struct rows_env *env = *state;
	api_free(env->api);
	free(env);
	return 0;
}

/* One request as root (or uid); the status, and the body's error.field +
 * ": " + message, or its compact JSON. */
static unsigned call(struct rows_env *env, uid_t uid, const char *method, const char *path, const char *body,
		     char **ret_text)
{
	struct api_peer peer = {.known = true, .uid = uid, .gid = uid};
	struct api_request rq = {
		.method = method,
		.path = path,
		.content_type = body ? "application/json" : NULL,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.peer = &peer,
	};
	struct api_response rs;
	assert_int_equal(api_handle(env->api, &rq, &rs), 0);
	json_t *j = rs.body_len ? json_loadb(rs.body, rs.body_len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	char *text = NULL;
	if (e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		if (asprintf(&text, "%s %s: %s", json_string_value(json_object_get(e, "code")), f ? f : "null",
			     json_string_value(json_object_get(e, "message"))) < 0)
			text = NULL;
	} else {
		text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("");
	}
	json_decref(j);
	api_response_done(&rs);
	*ret_text = text;
	return rs.status;
}

static void test_routes(void **state)
{
	struct rows_env *env = *state;
	static const struct {
		uid_t uid;
		const char *method, *path, *body;
		int add_r;
		const char *add_field;
		unsigned status;
		const char *text;
	} rows[] = {
		{0, "GET", "/v1/relays", NULL, 0, NULL, 200, "{\"relays\":[]}"},
		{0, "POST", "/v1/relays", "{\"vf\": \"net_null0\", \"socket\": \"/s\", \"lcores\": [1]}", 0, NULL, 201,
		 "{\"name\":\"relay0\",\"state\":\"waiting-vm\"}"},
		{0, "POST", "/v1/relays", "{\"name\": \"vm1\", \"vf\": \"net_null1\", \"socket\": \"/t\", \"lcores\": [1]}", 0,
		 NULL, 201, "{\"name\":\"vm1\",\"state\":\"waiting-vm\"}"},
		{0, "GET", "/v1/relays", NULL, 0, NULL, 200,
		 "{\"relays\":[{\"name\":\"relay0\",\"state\":\"waiting-vm\"},{\"name\":\"vm1\",\"state\":\"waiting-vm\"}]}"},
		{0, "GET", "/v1/relays/vm1", NULL, 0, NULL, 200, "{\"name\":\"vm1\",\"state\":\"waiting-vm\"}"},
		{0, "GET", "/v1/relays/vm1/stats", NULL, 0, NULL, 200,
		 "{\"name\":\"vm1\",\"state\":\"waiting-vm\",\"vf_to_vm\":{\"packets\":1,\"bytes\":64,\"drops\":0,"
		 "\"packets_per_s\":0.0,\"bytes_per_s\":0.0,\"drops_per_s\":0.0}}"},
		{0, "GET", "/v1/relays/nope", NULL, 0, NULL, 404, "not_found name: no relay named nope"},
		{0, "GET", "/v1/relays/nope/stats", NULL, 0, NULL, 404, "not_found name: no relay named nope"},
		{0, "GET", "/v1/relays/vm1/other", NULL, 0, NULL, 404, "not_found null: /v1/relays/vm1/other: no such route"},
		{0, "GET", "/v1/relays/", NULL, 0, NULL, 404, "not_found null: /v1/relays/: no such route"},
		{0, "GET", "/v1/claims", NULL, 0, NULL, 404, "not_found null: /v1/claims: no such route"},
		{0, "PUT", "/v1/relays", NULL, 0, NULL, 405,
		 "method_not_allowed null: PUT /v1/relays: method not allowed (allowed: GET, POST)"},
		{0, "POST", "/v1/relays/vm1", NULL, 0, NULL, 405,
		 "method_not_allowed null: POST /v1/relays/vm1: method not allowed (allowed: GET, DELETE)"},
		{0, "DELETE", "/v1/relays/vm1/stats", NULL, 0, NULL, 405,
		 "method_not_allowed null: DELETE /v1/relays/vm1/stats: method not allowed (allowed: GET)"},
		{0, "POST", "/v1/relays", "{\"vf\": \"net_null0\", \"lcores\": [1]}", 0, NULL, 400,
		 "bad_request socket: socket: missing (the vhost-user socket's path)"},
		{0, "POST", "/v1/relays", "{\"vf\": ", 0, NULL, 400,
		 "bad_request null: the body is not JSON: unexpected token near end of file (line 1, column 7)"},
		{0, "POST", "/v1/relays", "{\"vf\": \"net_null2\", \"socket\": \"/u\", \"lcores\": [1]}", -EEXIST, "socket", 409,
		 "conflict socket: socket: refused by the engine"},
		{0, "POST", "/v1/relays", "{\"vf\": \"net_null2\", \"socket\": \"/u\", \"lcores\": [1]}", -EADDRINUSE, "socket",
		 409, "conflict socket: socket: refused by the engine"},
		{0, "POST", "/v1/relays", "{\"vf\": \"0000:03:10.0\", \"socket\": \"/u\", \"lcores\": [1]}", -ENODEV, "vf", 400,
		 "bad_request vf: vf: refused by the engine"},
		{0, "POST", "/v1/relays", "{\"vf\": \"net_null2\", \"socket\": \"/u\", \"lcores\": [1]}", -ENOMEM, NULL, 500,
		 "internal null: -: refused by the engine"},
		{1000, "POST", "/v1/relays", "{\"vf\": \"net_null2\", \"socket\": \"/u\", \"lcores\": [1]}", 0, NULL, 403,
		 "forbidden null: POST /v1/relays needs uid 0 or membership of the group (none: root only)"},
		{1000, "DELETE", "/v1/relays/vm1", NULL, 0, NULL, 403,
		 "forbidden null: DELETE /v1/relays/vm1 needs uid 0 or membership of the group (none: root only)"},
		{1000, "GET", "/v1/relays/vm1", NULL, 0, NULL, 200, "{\"name\":\"vm1\",\"state\":\"waiting-vm\"}"},
		{0, "DELETE", "/v1/relays/vm1", NULL, 0, NULL, 204, ""},
		{0, "DELETE", "/v1/relays/vm1", NULL, 0, NULL, 404, "not_found name: no relay named vm1"},
		{0, "GET", "/v1/relays", NULL, 0, NULL, 200, "{\"relays\":[{\"name\":\"relay0\",\"state\":\"waiting-vm\"}]}"},
		{1000, "GET", "/v1/health", NULL, 0, NULL, 200, "{\"status\":\"ok\"}"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		env->fake.add_r = rows[i].add_r;
		env->fake.add_field = rows[i].add_field;
		char *text = NULL;
		unsigned st = call(env, rows[i].uid, rows[i].method, rows[i].path, rows[i].body, &text);
		if (st != rows[i].status || !streq_ptr(text, rows[i].text))
			fail_msg("row %zu: %s %s:\n got  %u %s\n want %u %s", i, rows[i].method, rows[i].path, st, text,
				 rows[i].status, rows[i].text);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_good),
		cmocka_unit_test(test_spec_bad),
		cmocka_unit_test(test_vf_names),
		cmocka_unit_test(test_rates),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

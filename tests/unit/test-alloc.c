/* Unit tests for alloc/: the device spec grammar (Nova's device_spec plus
 * pf: PF#VFS) as rows of specs with the exact set of devices each gets on
 * the fake testbed, or the exact message each is refused with; the PF rule;
 * tags; aliases (ORed entries, device_type, the entries' agreement),
 * requests and networks, each with their errors; and the matcher's reasons
 * and order on a grid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>

#include "alloc/alloc.h"
#include "fakesysfs.h"
#include "util/util.h"

struct fixture {
	char dir[PATH_MAX / 2];
	char sys[PATH_MAX];
	struct pci_tree *t;
};

static int setup_tree(void **state, bool grid)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/alloc-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	if ((grid ? fakesysfs_build_grid(f->sys, 3, 4) : fakesysfs_build_testbed(f->sys, true)) < 0)
		return -1;
	if (pci_tree_scan(f->sys, &f->t) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_testbed(void **state)
{
	return setup_tree(state, false);
}

static int setup_grid(void **state)
{
	return setup_tree(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pci_tree_free(f->t);
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

/* The matched addresses, space-separated, or "ERROR: message". */
static char *run_specs(const struct pci_tree *t, const char *json)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	assert_non_null(j);
	struct alloc_spec *specs[8];
	size_t n = 0;
	char *error = NULL, *out = NULL;
	json_t *one = j;
	for (size_t i = 0; i < (json_is_array(j) ? json_array_size(j) : 1); i++) {
		if (json_is_array(j))
			one = json_array_get(j, i);
		int r = alloc_spec_parse(one, &specs[n], &error);
		if (r < 0) {
			assert_int_equal(r, -EINVAL);
			assert_non_null(error);
			assert_true(asprintf(&out, "ERROR: %s", error) > 0);
			free(error);
			goto done;
		}
		n++;
	}
	struct alloc_result res;
	assert_int_equal(alloc_match_specs(t, specs, n, &res), 0);
	assert_int_equal(res.n, t->n_devs);
	out = strdup("");
	for (size_t i = 0; i < res.n; i++) {
		if (!res.rows[i].ok) {
			assert_non_null(res.rows[i].reason);
			continue;
		}
		assert_null(res.rows[i].reason);
		char *o = out;
		assert_true(asprintf(&out, "%s%s%s", o, *o ? " " : "", res.rows[i].dev->addr) > 0);
		free(o);
	}
	alloc_result_done(&res);
done:
	for (size_t i = 0; i < n; i++)
		alloc_spec_free(specs[i]);
	json_decref(j);
	return out;
}

struct row {
	const char *spec, *want;
};

#define PF0 "0000:01:00.0"
#define VFS0 "0000:01:10.0 0000:01:10.2 0000:01:10.4"
#define PF1 "0000:02:00.0"
#define VFS1 "0000:02:10.0 0000:02:10.2 0000:02:10.4"
#define ALL "0000:00:00.0 0000:00:02.0 0000:00:03.0 " PF0 " " VFS0 " " PF1 " " VFS1

static const struct row spec_rows[] = {
	/* no address: every function */
	{"{}", ALL},
	{"{\"address\": \"\"}", ALL},
	{"{\"address\": \"*:*:*.*\"}", ALL},
	{"{\"address\": \"*\"}", ALL},
	/* globs: missing leading parts are wildcards, values hex */
	{"{\"address\": \"*:01:*.*\"}", PF0 " " VFS0},
	{"{\"address\": \":02:\"}", PF1 " " VFS1},
	{"{\"address\": \"10.\"}", VFS0 " " VFS1},
	{"{\"address\": \".4\"}", "0000:01:10.4 0000:02:10.4"},
	{"{\"address\": \"*:*:10.2\"}", "0000:01:10.2 0000:02:10.2"},
	{"{\"address\": \"0:2:10.0\"}", "0000:02:10.0"},
	{"{\"address\": \"0x0:0x2:0x10.0\"}", "0000:02:10.0"},
	{"{\"address\": \" 0000 : 02 : 10 . 2 \"}", "0000:02:10.2"},
	{"{\"address\": \"0_0:02:10.0\"}", "0000:02:10.0"},
	/* the PF rule: an address or devname naming a PF gets its VFs, not it */
	{"{\"address\": \"0000:01:00.0\"}", VFS0},
	{"{\"address\": \"0000:01:00.*\"}", PF0},
	{"{\"address\": \"01:00.0\"}", PF0}, /* not a single address: no domain */
	{"{\"address\": \"0000:00:03.0\"}", ""}, /* the nvme PF, no VFs enabled */
	{"{\"address\": \"0000:00:02.0\"}", "0000:00:02.0"},
	{"{\"address\": {\"domain\": \"0000\", \"bus\": \"02\", \"slot\": \"00\", \"function\": \"0\"}}", VFS1},
	{"{\"devname\": \"eth0\"}", VFS0},
	{"{\"devname\": \"eth3\"}", "0000:01:10.2"},
	{"{\"devname\": \"eth8\"}", "0000:00:02.0"},
	{"{\"devname\": \"nope0\"}", ""},
	{"{\"devname\": \"\"}", ALL},
	{"{\"devname\": \"eth0\", \"address\": \"\"}", VFS0},
	/* regex mappings: anchored at the start only, as re.match */
	{"{\"address\": {\"bus\": \"0[12]\", \"function\": \"[02]\"}}",
	 PF0 " 0000:01:10.0 0000:01:10.2 " PF1 " 0000:02:10.0 0000:02:10.2"},
	{"{\"address\": {\"bus\": \"0\"}}", ALL},
	{"{\"address\": {\"slot\": \"1\"}}", VFS0 " " VFS1},
	{"{\"address\": {\"bus\": \"01\", \"slot\": \"0\"}}", PF0}, /* "0" does not match slot "10" */
	{"{\"address\": {\"slot\": \"0\", \"bus\": \"00\"}}", "0000:00:00.0 0000:00:02.0 0000:00:03.0"},
	{"{\"address\": {\"domain\": \".*\", \"bus\": \"(01|02)\", \"slot\": \"10\", \"function\": \"[0-2]\"}}",
	 "0000:01:10.0 0000:01:10.2 0000:02:10.0 0000:02:10.2"},
	{"{\"address\": {}}", ALL},
	{"{\"address\": {\"bus\": \"\"}}", ALL},
	{"{\"address\": {\"function\": \"1|2\"}}", "0000:01:10.2 0000:02:10.2"},
	/* vendor and product */
	{"{\"vendor_id\": \"8086\", \"product_id\": \"10ca\"}", VFS0 " " VFS1},
	{"{\"vendor_id\": \" 8086 \", \"product_id\": \"10C9\"}", PF0 " " PF1},
	{"{\"vendor_id\": \"0x1b36\"}", "0000:00:03.0"},
	{"{\"vendor_id\": \"*\", \"product_id\": \"10d3\"}", "0000:00:02.0"},
	{"{\"devname\": \"eth1\", \"product_id\": \"10c9\"}", ""},
	/* pf: PF#VFS */
	{"{\"pf\": \"eth1#0,2\"}", "0000:02:10.0 0000:02:10.4"},
	{"{\"pf\": \"0000:01:00.0#1-2\"}", "0000:01:10.2 0000:01:10.4"},
	{"{\"pf\": \"01:00.0#0-9\"}", VFS0},
	{"{\"pf\": \"eth2#0\"}", ""},  /* a VF, not a PF */
	{"{\"pf\": \"nope#0\"}", ""},
	{"{\"pf\": \"eth0#0\", \"vendor_id\": \"1234\"}", ""},
	/* several specs: ORed */
	{"[{\"devname\": \"eth8\"}, {\"pf\": \"eth0#1\"}]", "0000:00:02.0 0000:01:10.2"},
	/* errors, each naming its key */
	{"{\"address\": \"1:2:3:4.0\"}", "ERROR: address: '1:2:3:4.0' is not [[[[domain]:]bus]:][slot][.[function]]"},
	{"{\"address\": \"10000:*:*.*\"}",
	 "ERROR: address: domain '10000' (in '10000:*:*.*') is greater than the maximum allowable value (FFFF)"},
	{"{\"address\": \"*:100:*.*\"}",
	 "ERROR: address: bus '100' (in '*:100:*.*') is greater than the maximum allowable value (FF)"},
	{"{\"address\": \"*:*:20.*\"}",
	 "ERROR: address: slot '20' (in '*:*:20.*') is greater than the maximum allowable value (1F)"},
	{"{\"address\": \"*:*:*.8\"}",
	 "ERROR: address: function '8' (in '*:*:*.8') is greater than the maximum allowable value (7)"},
	{"{\"address\": \"g:*:*.*\"}", "ERROR: address: domain 'g' (in 'g:*:*.*') does not parse as a hex number"},
	{"{\"address\": \"*:*:*.0.1\"}", "ERROR: address: function '0.1' (in '*:*:*.0.1') does not parse as a hex number"},
	{"{\"address\": \"**:*:*.*\"}", "ERROR: address: domain '**' (in '**:*:*.*') does not parse as a hex number"},
	{"{\"address\": \"*:*:*. \"}", "ERROR: address: function '' (in '*:*:*. ') does not parse as a hex number"},
	{"{\"address\": \"_0:01:00.0\"}", "ERROR: address: domain '_0' (in '_0:01:00.0') does not parse as a hex number"},
	{"{\"address\": \"0:-1:00.0\"}", "ERROR: address: bus '-1' (in '0:-1:00.0') does not parse as a hex number"},
	{"{\"address\": {\"bus\": \"(\"}}",
	 "ERROR: address: bus: '(' is not a regular expression (Unmatched ( or \\()"},
	{"{\"address\": {\"slot\": \"[\"}}",
	 "ERROR: address: slot: '[' is not a regular expression (Unmatched [, [^, [:, [., or [=)"},
	/* bounded work: regcomp copies repeated parts, nested repeats multiply */
	{"{\"address\": {\"bus\": \"0+1+2?3*4+5+6+7+8+\"}}",
	 "ERROR: address: bus: more than 8 repetitions ('*', '+', '?') in one pattern"},
	{"{\"address\": {\"bus\": \"(0{1,16}){1,17}\"}}",
	 "ERROR: address: bus: repetition bounds {m,n} multiply to more than 256 in one pattern"},
	{"{\"address\": {\"bus\": \"0{3,}\"}}",
	 "ERROR: address: bus: repetition bounds {m,n} multiply to more than 256 in one pattern"},
	/* a repetition stacked on another: each one doubles regcomp's work */
	{"{\"address\": {\"domain\": \"5*+++++++0500008z\"}}",
	 "ERROR: address: domain: a repetition ('*', '+', '?', '{m,n}') directly after another, as in 'a*+', is not "
	 "allowed"},
	{"{\"address\": {\"bus\": \"0{2}*\"}}",
	 "ERROR: address: bus: a repetition ('*', '+', '?', '{m,n}') directly after another, as in 'a*+', is not "
	 "allowed"},
	{"{\"address\": {\"bus\": \"0?{2}\"}}",
	 "ERROR: address: bus: a repetition ('*', '+', '?', '{m,n}') directly after another, as in 'a*+', is not "
	 "allowed"},
	{"{\"address\": {\"bus\": \"((0+)+)+\\\\++\"}}", ""},
	{"{\"address\": {\"bus\": \"[+]+[*]*\"}}", ""},
	{"{\"address\": {\"bus\": \"(f[1+*?]{1,16}){1,16}\"}}", ""},
	{"{\"address\": {\"bus\": \"f\\\\+1\"}}", ""},
	{"{\"address\": {\"bus\": 1}}", "ERROR: address: bus: expected a string, found a number"},
	{"{\"address\": {\"bus\": \"0\", \"fn\": \"0\"}}",
	 "ERROR: address: unknown key 'fn' (expected domain, bus, slot, function)"},
	{"{\"address\": 5}",
	 "ERROR: address: expected a string or an object of domain, bus, slot, function; found a number"},
	{"{\"address\": [\"0\"]}",
	 "ERROR: address: expected a string or an object of domain, bus, slot, function; found a list"},
	{"{\"devname\": \"eth0\", \"address\": \"*:01:*.*\"}",
	 "ERROR: address: cannot be given with devname (one names the device)"},
	{"{\"devname\": true}", "ERROR: devname: expected a string, found a boolean"},
	{"{\"vendor_id\": \"10000\"}", "ERROR: vendor_id: '10000' is greater than the maximum allowable value (FFFF)"},
	{"{\"product_id\": \"xyz\"}", "ERROR: product_id: 'xyz' does not parse as a hex number"},
	{"{\"product_id\": \" * \"}", "ERROR: product_id: ' * ' does not parse as a hex number"},
	{"{\"vendor_id\": \"\"}", "ERROR: vendor_id: '' does not parse as a hex number"},
	{"{\"vendor_id\": \"80__86\"}", "ERROR: vendor_id: '80__86' does not parse as a hex number"},
	{"{\"vendor_id\": \"8086_\"}", "ERROR: vendor_id: '8086_' does not parse as a hex number"},
	{"{\"vendor_id\": 8086}", "ERROR: vendor_id: expected a string, found a number"},
	{"{\"pf\": \"eth0\"}",
	 "ERROR: pf: 'eth0' is not PF#VFS (a PF netdev or PCI address, '#', VF indexes and ranges: eth0#0-3,5)"},
	{"{\"pf\": \"#1\"}",
	 "ERROR: pf: '#1' is not PF#VFS (a PF netdev or PCI address, '#', VF indexes and ranges: eth0#0-3,5)"},
	{"{\"pf\": \"eth0#1,\"}", "ERROR: pf: '' (in 'eth0#1,') is not a VF index or a range A-B"},
	{"{\"pf\": \"eth0#a\"}", "ERROR: pf: 'a' (in 'eth0#a') is not a VF index or a range A-B"},
	{"{\"pf\": \"eth0#3-1\"}", "ERROR: pf: range '3-1' (in 'eth0#3-1') ends before it starts"},
	{"{\"pf\": \"eth0#1\", \"devname\": \"eth0\"}", "ERROR: pf: cannot be given with devname (pf names the device)"},
	{"{\"pf\": \"eth0#1\", \"address\": \"*\"}", "ERROR: pf: cannot be given with address (pf names the device)"},
	{"{\"pf\": 3}", "ERROR: pf: expected a string, found a number"},
	{"[1]", "ERROR: device spec: expected an object, found a number"},
};

static void test_spec_rows(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < ARRAY_SIZE(spec_rows); i++) {
		char *got = run_specs(f->t, spec_rows[i].spec);
		if (strcmp(got, spec_rows[i].want) != 0)
			fail_msg("spec %s\n  got  %s\n  want %s", spec_rows[i].spec, got, spec_rows[i].want);
		free(got);
	}
}

/* Every other key is a tag, kept as given, and goes with the first spec
 * that matched. */
static void test_tags(void **state)
{
	struct fixture *f = *state;
	json_t *a = json_loads("{\"devname\": \"eth8\", \"physical_network\": \"p1\", \"trusted\": \"true\", \"n\": 3}", 0,
			       NULL);
	json_t *b = json_loads("{\"physical_network\": \"p2\"}", 0, NULL);
	struct alloc_spec *s[2];
	char *err = NULL;
	assert_int_equal(alloc_spec_parse(a, &s[0], &err), 0);
	assert_int_equal(alloc_spec_parse(b, &s[1], &err), 0);
	char *tags = json_dumps(s[0]->tags, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(tags, "{\"n\":3,\"physical_network\":\"p1\",\"trusted\":\"true\"}");
	free(tags);
	struct alloc_result res;
	assert_int_equal(alloc_match_specs(f->t, s, 2, &res), 0);
	for (size_t i = 0; i < res.n; i++) {
		assert_true(res.rows[i].ok);
		assert_ptr_equal(res.rows[i].spec, strcmp(res.rows[i].dev->addr, "0000:00:02.0") == 0 ? s[0] : s[1]);
	}
	alloc_result_done(&res);
	alloc_spec_free(s[0]);
	alloc_spec_free(s[1]);
	json_decref(a);
	json_decref(b);
}

/* Why a device does not count, per rule. */
static void test_reasons(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *spec, *addr, *reason;
	} rows[] = {
		{"{\"vendor_id\": \"1234\"}", "0000:01:10.0", "vendor_id differs"},
		{"{\"product_id\": \"1234\"}", "0000:01:10.0", "product_id differs"},
		{"{\"address\": \"0000:01:00.0\"}", "0000:01:00.0", "the spec names a PF: its VFs count, not it"},
		{"{\"address\": \"0000:01:00.0\"}", "0000:02:10.0", "not a VF of the addressed PF"},
		{"{\"devname\": \"eth0\"}", "0000:02:10.0", "not a VF of the devname's PF"},
		{"{\"devname\": \"eth8\"}", "0000:02:10.0", "not the devname's device"},
		{"{\"devname\": \"zz\"}", "0000:02:10.0", "devname names no device here"},
		{"{\"pf\": \"zz#1\"}", "0000:02:10.0", "pf names no PF here"},
		{"{\"pf\": \"eth0#1\"}", "0000:02:10.0", "not a VF of the pf"},
		{"{\"pf\": \"eth0#1\"}", "0000:01:10.0", "VF index not in the pf list"},
		{"{\"address\": \"*:03:*.*\"}", "0000:01:10.0", "address differs"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].spec, 0, NULL);
		struct alloc_spec *s;
		char *err = NULL;
		assert_int_equal(alloc_spec_parse(j, &s, &err), 0);
		struct alloc_result res;
		assert_int_equal(alloc_match_specs(f->t, &s, 1, &res), 0);
		bool seen = false;
		for (size_t k = 0; k < res.n; k++)
			if (strcmp(res.rows[k].dev->addr, rows[i].addr) == 0) {
				assert_false(res.rows[k].ok);
				assert_string_equal(res.rows[k].reason, rows[i].reason);
				seen = true;
			}
		assert_true(seen);
		alloc_result_done(&res);
		alloc_spec_free(s);
		json_decref(j);
	}
	struct alloc_result res;
	assert_int_equal(alloc_match_specs(f->t, NULL, 0, &res), 0);
	for (size_t k = 0; k < res.n; k++) {
		assert_false(res.rows[k].ok);
		assert_string_equal(res.rows[k].reason, "no device spec");
	}
	alloc_result_done(&res);
}

/* Aliases: rows of alias lists, the addresses the alias gets from every
 * device, or the error of the last entry. */
static char *run_alias(const struct pci_tree *t, const char *const *entries, const char *name)
{
	struct alloc_aliases a = {0};
	char *out = NULL, *err = NULL;
	for (size_t i = 0; entries[i]; i++) {
		json_t *j = json_loads(entries[i], 0, NULL);
		assert_non_null(j);
		int r = alloc_aliases_add(&a, j, &err);
		json_decref(j);
		if (r < 0) {
			assert_true(asprintf(&out, "ERROR: %s", err) > 0);
			free(err);
			alloc_aliases_done(&a);
			return out;
		}
	}
	struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY}, *anyp = &any;
	struct alloc_result res;
	assert_int_equal(alloc_match_specs(t, &anyp, 1, &res), 0);
	const struct alloc_alias *al = alloc_aliases_find(&a, name);
	assert_non_null(al);
	alloc_result_filter_alias(&res, al);
	out = strdup("");
	for (size_t i = 0; i < res.n; i++) {
		if (!res.rows[i].ok)
			continue;
		char *o = out;
		assert_true(asprintf(&out, "%s%s%s", o, *o ? " " : "", res.rows[i].dev->addr) > 0);
		free(o);
	}
	alloc_result_done(&res);
	alloc_aliases_done(&a);
	return out;
}

static void test_alias_rows(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *entries[4];
		const char *want;
	} rows[] = {
		{{"{\"name\": \"vf\", \"device_type\": \"type-VF\"}"}, VFS0 " " VFS1},
		{{"{\"name\": \"pf\", \"device_type\": \"type-PF\"}"}, "0000:00:03.0 " PF0 " " PF1},
		{{"{\"name\": \"pci\", \"device_type\": \"type-PCI\"}"}, "0000:00:00.0 0000:00:02.0"},
		{{"{\"name\": \"igb\", \"vendor_id\": \"8086\", \"product_id\": \"10c9\"}"}, PF0 " " PF1},
		{{"{\"name\": \"x\", \"product_id\": \"10d3\"}", "{\"name\": \"x\", \"vendor_id\": \"1b36\"}"},
		 "0000:00:02.0 0000:00:03.0"},
		{{"{\"name\": \"x\", \"product_id\": \"10ca\", \"device_type\": \"type-VF\", \"numa_policy\": \"required\"}",
		  "{\"name\": \"x\", \"product_id\": \"10c9\", \"device_type\": \"type-VF\", \"numa_policy\": \"required\"}"},
		 VFS0 " " VFS1},
		{{"{\"name\": \"a\", \"device_type\": \"type-VF\"}", "{\"name\": \"a\", \"device_type\": \"type-PF\"}"},
		 "ERROR: device_type: alias 'a' is given as type-PF here and as type-VF before; entries of one alias must agree"},
		{{"{\"name\": \"a\", \"device_type\": \"type-VF\"}", "{\"name\": \"a\"}"},
		 "ERROR: device_type: alias 'a' is given as any type here and as type-VF before; entries of one alias must agree"},
		{{"{\"name\": \"a\", \"numa_policy\": \"socket\"}", "{\"name\": \"a\"}"},
		 "ERROR: numa_policy: alias 'a' is given as legacy here and as socket before; entries of one alias must agree"},
		{{"{\"name\": \"a\", \"device_type\": \"VF\"}"}, "ERROR: device_type: 'VF' is not type-VF, type-PF or type-PCI"},
		{{"{\"name\": \"a\", \"numa_policy\": \"strict\"}"},
		 "ERROR: numa_policy: 'strict' is not required, legacy, preferred or socket"},
		{{"{\"vendor_id\": \"8086\"}"}, "ERROR: name: missing"},
		{{"{\"name\": \"\"}"}, "ERROR: name: '' is not a name (1-64 letters, digits, '-', '_', '.')"},
		{{"{\"name\": \"a b\"}"}, "ERROR: name: 'a b' is not a name (1-64 letters, digits, '-', '_', '.')"},
		{{"{\"name\": \"a\", \"vendor_id\": \"fffff\"}"},
		 "ERROR: vendor_id: 'fffff' is greater than the maximum allowable value (FFFF)"},
		{{"{\"name\": \"a\", \"colour\": \"red\"}"},
		 "ERROR: colour: unknown key (expected name, vendor_id, product_id, device_type, numa_policy)"},
		{{"[]"}, "ERROR: alias: expected an object, found a list"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		json_t *j = json_loads(rows[i].entries[0], 0, NULL);
		const char *name = json_is_object(j) && json_is_string(json_object_get(j, "name"))
					   ? json_string_value(json_object_get(j, "name")) : "";
		char *got = run_alias(f->t, rows[i].entries, name);
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("alias row %zu\n  got  %s\n  want %s", i, got, rows[i].want);
		free(got);
		json_decref(j);
	}
}

static void test_request_rows(void **state)
{
	(void)state;
	struct alloc_aliases a = {0};
	char *err = NULL;
	json_t *j1 = json_loads("{\"name\": \"a1\"}", 0, NULL), *j2 = json_loads("{\"name\": \"a2\"}", 0, NULL);
	assert_int_equal(alloc_aliases_add(&a, j1, &err), 0);
	assert_int_equal(alloc_aliases_add(&a, j2, &err), 0);
	json_decref(j1);
	json_decref(j2);
	struct alloc_request q;
	assert_int_equal(alloc_request_parse("a1:2", &a, &q, &err), 0);
	assert_int_equal(q.n, 1);
	assert_string_equal(q.items[0].alias, "a1");
	assert_int_equal(q.items[0].count, 2);
	alloc_request_done(&q);
	assert_int_equal(alloc_request_parse(" a1 : 2 , a2:1", &a, &q, &err), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(q.items[1].alias, "a2");
	assert_int_equal(q.items[1].count, 1);
	alloc_request_done(&q);
	static const struct {
		const char *req, *error;
	} bad[] = {
		{"a1", "'a1' is not alias:count"},
		{"", "'' is not alias:count"},
		{"a1:2,", "'' is not alias:count"},
		{":2", "':2' is not alias:count"},
		{"a1:0", "count '0' of alias 'a1' is not a number 1-65535"},
		{"a1:-1", "count '-1' of alias 'a1' is not a number 1-65535"},
		{"a1:x", "count 'x' of alias 'a1' is not a number 1-65535"},
		{"a1:65536", "count '65536' of alias 'a1' is not a number 1-65535"},
		{"a3:1", "alias 'a3' is not defined"},
		{"a1:1,a1:2", "alias 'a1' is given twice"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(alloc_request_parse(bad[i].req, &a, &q, &err), -EINVAL);
		if (strcmp(err, bad[i].error) != 0)
			fail_msg("request '%s': got '%s', want '%s'", bad[i].req, err, bad[i].error);
		free(err);
		err = NULL;
	}
	alloc_aliases_done(&a);
}

static char *const *labels_of(const struct pci_function *pf, void *data)
{
	(void)data;
	static char *l1[] = {"fast", NULL};
	return strcmp(pf->addr, "0000:02:00.0") == 0 ? l1 : NULL;
}

static void test_network_rows(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *net, *want;
	} rows[] = {
		{"{\"name\": \"n1\", \"vlan\": 100, \"pfs\": [\"eth0\"]}", VFS0},
		{"{\"name\": \"n1\", \"pfs\": [\"02:00.0\"]}", VFS1},
		{"{\"name\": \"n1\", \"labels\": [\"fast\"]}", VFS1},
		{"{\"name\": \"n1\", \"labels\": [\"slow\"], \"pfs\": [\"eth0\", \"eth1\"]}", VFS0 " " VFS1},
		{"{\"name\": \"n1\", \"pfs\": [\"eth2\"]}", ""},
		{"{\"name\": \"n1\", \"vlan\": 0, \"pfs\": [\"eth0\"]}", "ERROR: vlan: expected a VLAN id 1-4095"},
		{"{\"name\": \"n1\", \"vlan\": 4096, \"pfs\": [\"eth0\"]}", "ERROR: vlan: expected a VLAN id 1-4095"},
		{"{\"name\": \"n1\", \"vlan\": \"5x\", \"pfs\": [\"eth0\"]}", "ERROR: vlan: expected a VLAN id 1-4095"},
		{"{\"name\": \"n1\", \"vlan\": \"5\", \"pfs\": [\"eth0\"]}", VFS0},
		{"{\"name\": \"n1\"}", "ERROR: pfs: network 'n1' allows no PF (give pfs or labels)"},
		{"{\"name\": \"n1\", \"pfs\": \"eth0\"}", "ERROR: pfs: expected a list of strings, found a string"},
		{"{\"name\": \"n1\", \"pfs\": [1]}", "ERROR: pfs: expected a string, found a number"},
		{"{\"name\": \"n1\", \"pfs\": [\"\"]}", "ERROR: pfs: '' is not a netdev name or PCI address"},
		{"{\"name\": \"n1\", \"labels\": [\"\"]}", "ERROR: labels: '' is not a label"},
		{"{\"name\": \"n1\", \"mtu\": 9000}", "ERROR: mtu: unknown key (expected name, vlan, pfs, labels)"},
		{"{\"pfs\": [\"eth0\"]}", "ERROR: name: missing"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct alloc_networks nets = {0};
		char *err = NULL, *got = NULL;
		json_t *j = json_loads(rows[i].net, 0, NULL);
		assert_non_null(j);
		int r = alloc_networks_add(&nets, j, &err);
		json_decref(j);
		if (r < 0) {
			assert_true(asprintf(&got, "ERROR: %s", err) > 0);
			free(err);
		} else {
			struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY}, *anyp = &any;
			struct alloc_result res;
			assert_int_equal(alloc_match_specs(f->t, &anyp, 1, &res), 0);
			alloc_result_filter_network(&res, alloc_networks_find(&nets, "n1"), labels_of, NULL);
			got = strdup("");
			for (size_t k = 0; k < res.n; k++) {
				if (!res.rows[k].ok)
					continue;
				char *o = got;
				assert_true(asprintf(&got, "%s%s%s", o, *o ? " " : "", res.rows[k].dev->addr) > 0);
				free(o);
			}
			alloc_result_done(&res);
		}
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("network %s\n  got  %s\n  want %s", rows[i].net, got, rows[i].want);
		free(got);
		alloc_networks_done(&nets);
	}
	/* a name twice */
	struct alloc_networks nets = {0};
	char *err = NULL;
	json_t *j = json_loads("{\"name\": \"n\", \"vlan\": 7, \"pfs\": [\"eth0\"]}", 0, NULL);
	assert_int_equal(alloc_networks_add(&nets, j, &err), 0);
	assert_int_equal(nets.v[0].vlan, 7);
	assert_int_equal(alloc_networks_add(&nets, j, &err), -EINVAL);
	assert_string_equal(err, "name: network 'n' is given twice");
	free(err);
	json_decref(j);
	alloc_networks_done(&nets);
}

/* On a grid: tree order, and the PF rule for every PF. */
static void test_grid_order(void **state)
{
	struct fixture *f = *state;
	size_t pfs = 0;
	for (size_t i = 0; i < f->t->n_devs; i++) {
		const struct pci_function *pf = f->t->devs[i];
		if (!pf->is_pf)
			continue;
		pfs++;
		char spec[64];
		snprintf(spec, sizeof(spec), "{\"address\": \"%s\"}", pf->addr);
		char *got = run_specs(f->t, spec), *want = strdup("");
		for (size_t k = 0; k < pf->n_vfs; k++) {
			char *o = want;
			assert_true(asprintf(&want, "%s%s%s", o, *o ? " " : "", pf->vfs[k]->addr) > 0);
			free(o);
		}
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
	assert_int_equal(pfs, 3);
	char *all = run_specs(f->t, "{}");
	char *prev = NULL;
	for (char *tok = strtok(all, " "); tok; tok = strtok(NULL, " ")) {
		if (prev)
			assert_true(strcmp(prev, tok) < 0);
		prev = tok;
	}
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spec_rows, setup_testbed, teardown),
		cmocka_unit_test_setup_teardown(test_tags, setup_testbed, teardown),
		cmocka_unit_test_setup_teardown(test_reasons, setup_testbed, teardown),
		cmocka_unit_test_setup_teardown(test_alias_rows, setup_testbed, teardown),
		cmocka_unit_test(test_request_rows),
		cmocka_unit_test_setup_teardown(test_network_rows, setup_testbed, teardown),
		cmocka_unit_test_setup_teardown(test_grid_order, setup_grid, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for caps/, the driver capability table: the file's grammar
 * (rows of good and bad text), its bounds, learning (only EOPNOTSUPP, once
 * per pair, atomically, a garbled or planted file replaced), and what it
 * gives each device (caps_annotate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps/caps.h"
#include "util/util.h"
#include "test-helpers.h"

static void test_parse_rows(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int r;
		unsigned line; /* of the error */
		size_t n;
	} rows[] = {
		{"", 0, 0, 0},
		{"# a comment\n\n", 0, 0, 0},
		{"igb trust EOPNOTSUPP\n", 0, 0, 1},
		{"igb trust EOPNOTSUPP\nigb state EOPNOTSUPP\nigbvf mtu EOPNOTSUPP", 0, 0, 3},
		{"igb trust EOPNOTSUPP\nigb trust EOPNOTSUPP\n", -EBADMSG, 2, 0},   /* twice */
		{"igb trust\n", -EBADMSG, 1, 0},                                   /* no error */
		{"igb trust EOPNOTSUPP extra\n", -EBADMSG, 1, 0},
		{"igb trust ENOTANERRNO\n", -EBADMSG, 1, 0},
		{"igb Trust EOPNOTSUPP\n", -EBADMSG, 1, 0},                        /* keywords exact */
		{"ig/b trust EOPNOTSUPP\n", -EBADMSG, 1, 0},                       /* not a driver name */
		{"igb a-setting-far-too-long EOPNOTSUPP\n", -EBADMSG, 1, 0},
		{"# ok\nigb trust EOPNOTSUPP\nx\n", -EBADMSG, 3, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct caps c = {0};
		unsigned line = 0;
		int r = caps_parse(rows[i].text, &c, &line);
		if (r != rows[i].r || (r < 0 && line != rows[i].line) || (r == 0 && c.n != rows[i].n))
			fail_msg("row %zu: got %d line %u n %zu", i, r, line, c.n);
		caps_done(&c);
	}
}

static void test_add_format_find(void **state)
{
	(void)state;
	struct caps c = {0};
	assert_int_equal(caps_add(&c, "igb", "trust", -EOPNOTSUPP), 1);
	assert_int_equal(caps_add(&c, "igb", "state", -EOPNOTSUPP), 1);
	assert_int_equal(caps_add(&c, "e1000e", "mtu", -EOPNOTSUPP), 1);
	assert_int_equal(caps_add(&c, "igb", "trust", -EOPNOTSUPP), 0);
	assert_int_equal(caps_add(&c, "ig b", "trust", -EOPNOTSUPP), -EINVAL);
	assert_int_equal(caps_add(&c, "igb", "", -EOPNOTSUPP), -EINVAL);
	assert_int_equal(caps_add(&c, "igb", "trust", 0), -EINVAL);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(caps_format(&c, &text), 0);
	const char *body = strstr(text, "\ne1000e");
	assert_non_null(body);
	assert_string_equal(body, "\ne1000e mtu EOPNOTSUPP\nigb state EOPNOTSUPP\nigb trust EOPNOTSUPP\n");
	struct caps back = {0};
	assert_int_equal(caps_parse(text, &back, NULL), 0); /* what it writes, it reads */
	assert_int_equal(back.n, 3);
	caps_done(&back);
	assert_non_null(caps_find(&c, "igb", "trust"));
	assert_null(caps_find(&c, "igb", "mtu"));
	assert_null(caps_find(&c, NULL, "mtu"));
	const struct caps_entry *e;
	assert_int_equal(caps_for_driver(&c, "igb", &e), 2);
	assert_string_equal(e[0].setting, "state");
	assert_int_equal(caps_for_driver(&c, "igbvf", &e), 0);
	assert_true(caps_setting_is_vf("trust"));
	assert_true(caps_setting_is_vf("query-rss"));
	assert_false(caps_setting_is_vf("mtu"));
	assert_false(caps_setting_is_vf("up"));
	caps_done(&c);
}

/* At most CAPS_MAX_ENTRIES pairs: the next is refused, and a file with more
 * (or larger than CAPS_MAX_BYTES) is not a table. */
static void test_bounds(void **state)
{
	(void)state;
	struct caps c = {0};
	char drv[32];
	for (unsigned i = 0; i < CAPS_MAX_ENTRIES; i++) {
		snprintf(drv, sizeof(drv), "drv%03u", i);
		assert_int_equal(caps_add(&c, drv, "trust", -EOPNOTSUPP), 1);
	}
	assert_int_equal(caps_add(&c, "zzz", "trust", -EOPNOTSUPP), -ENOSPC);
	assert_int_equal(c.n, CAPS_MAX_ENTRIES);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(caps_format(&c, &text), 0);
	assert_true(strlen(text) < CAPS_MAX_BYTES);
	_cleanup_free_ char *more = NULL;
	assert_true(asprintf(&more, "%szzz trust EOPNOTSUPP\n", text) > 0);
	struct caps big = {0};
	unsigned line = 0;
	assert_int_equal(caps_parse(more, &big, &line), -EBADMSG);
	assert_int_equal(line, CAPS_MAX_ENTRIES + 3); /* two comment lines first */
	caps_done(&c);
}

struct dirs {
	char dir[256], state[300];
	struct lifecycle_env env;
};

static int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s/sriovd-caps-XXXXXX", test_tmpdir());
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	d->env = (struct lifecycle_env){.sysfs_root = d->dir, .state_dir = d->state};
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dirs *d = *state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	assert_int_equal(system(cmd), 0);
	free(d);
	return 0;
}

static void test_learn(void **state)
{
	struct dirs *d = *state;
	struct caps c;
	assert_int_equal(caps_load(&d->env, &c), 0); /* no folder yet: empty */
	assert_int_equal(c.n, 0);
	assert_int_equal(caps_learn(&d->env, "igb", "trust", -EINVAL), 0); /* not a capability */
	assert_int_equal(access(d->state, F_OK), -1);
	assert_int_equal(caps_learn(&d->env, "igb", "trust", -EOPNOTSUPP), 1);
	assert_int_equal(caps_learn(&d->env, "igb", "trust", -EOPNOTSUPP), 0);
	assert_int_equal(caps_learn(&d->env, "igbvf", "mtu", -EOPNOTSUPP), 1);
	char path[400];
	snprintf(path, sizeof(path), "%s/" CAPS_FILE, d->state);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(caps_load(&d->env, &c), 0);
	assert_int_equal(c.n, 2);
	caps_done(&c);
	_cleanup_free_ char *p = NULL;
	assert_int_equal(caps_path(&d->env, &p), 0);
	assert_string_equal(p, path);

	/* Garbage is not a table: load says so, learn replaces it. */
	FILE *f = fopen(path, "we");
	fputs("igb trust\n", f);
	fclose(f);
	assert_int_equal(caps_load(&d->env, &c), -EBADMSG);
	assert_int_equal(caps_learn(&d->env, "igb", "state", -EOPNOTSUPP), 1);
	assert_int_equal(caps_load(&d->env, &c), 0);
	assert_int_equal(c.n, 1);
	caps_done(&c);

	/* A link planted in its place is never followed: not a table, and
	 * replaced (renamed over), the link's target left alone. */
	char target[400];
	snprintf(target, sizeof(target), "%s/target", d->dir);
	f = fopen(target, "we");
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(caps_load(&d->env, &c), -EBADMSG);
	assert_int_equal(caps_learn(&d->env, "igb", "state", -EOPNOTSUPP), 1);
	_cleanup_free_ char *kept = NULL;
	assert_int_equal(read_text_file(target, 64, &kept), 0);
	assert_string_equal(kept, "precious");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* Larger than CAPS_MAX_BYTES: not a table. */
	f = fopen(path, "we");
	for (unsigned i = 0; i < CAPS_MAX_BYTES / 8 + 1; i++)
		fputs("#comment", f);
	fclose(f);
	assert_int_equal(caps_load(&d->env, &c), -EBADMSG);
}

/* Each device gets its driver's entries; a VF also the VF settings of its
 * PF's driver, not the PF's own mtu/up. */
static void test_annotate(void **state)
{
	(void)state;
	struct caps c = {0};
	assert_int_equal(caps_add(&c, "igb", "trust", -EOPNOTSUPP), 1);
	assert_int_equal(caps_add(&c, "igb", "mtu", -EOPNOTSUPP), 1);
	assert_int_equal(caps_add(&c, "igbvf", "mtu", -EOPNOTSUPP), 1);
	struct pci_function pf = {.driver = (char *)"igb", .is_pf = true}, vf = {.driver = (char *)"igbvf", .pf = &pf},
			    other = {.driver = (char *)"e1000e"};
	struct pci_function *devs[] = {&pf, &vf, &other};
	struct pci_tree t = {.devs = devs, .n_devs = 3};
	assert_int_equal(caps_annotate(&c, &t), 0);
	assert_int_equal(pf.n_unsupported, 2);
	assert_string_equal(pf.unsupported[0].setting, "mtu");
	assert_string_equal(pf.unsupported[1].setting, "trust");
	assert_int_equal(vf.n_unsupported, 2);
	assert_string_equal(vf.unsupported[0].setting, "mtu");
	assert_string_equal(vf.unsupported[0].driver, "igbvf");
	assert_string_equal(vf.unsupported[1].setting, "trust");
	assert_string_equal(vf.unsupported[1].driver, "igb");
	assert_int_equal(other.n_unsupported, 0);
	free(pf.unsupported);
	free(vf.unsupported);
	caps_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_add_format_find),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test_setup_teardown(test_learn, setup, teardown),
		cmocka_unit_test(test_annotate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

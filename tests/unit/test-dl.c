/* Unit tests for util/dl: optional libraries loaded at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/dl.h"
#include "util/util.h"

static size_t (*sym_strlen)(const char *);
static int (*sym_abs)(int);

static void test_dl_loads(void **state)
{
	(void)state;
	const struct dl_sym syms[] = {{"strlen", (void **)&sym_strlen}, {"abs", (void **)&sym_abs}};
	void *h = NULL;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(dl_open_syms("libc.so.6", syms, ARRAY_SIZE(syms), &h, &error), 0);
	assert_non_null(h);
	assert_null(error);
	assert_int_equal(sym_strlen("four"), 4);
	assert_int_equal(sym_abs(-3), 3);
}

static void test_dl_missing_library(void **state)
{
	(void)state;
	sym_strlen = NULL;
	const struct dl_sym syms[] = {{"strlen", (void **)&sym_strlen}};
	void *h = NULL;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(dl_open_syms("libsriovd-test-absent.so.9", syms, ARRAY_SIZE(syms), &h, &error), -ELIBACC);
	assert_null(h);
	assert_null(sym_strlen);
	assert_string_equal(error, "cannot load libsriovd-test-absent.so.9: libsriovd-test-absent.so.9: cannot open "
				   "shared object file: No such file or directory");
}

/* One symbol missing: none of them is set. */
static void test_dl_missing_symbol(void **state)
{
	(void)state;
	sym_strlen = NULL;
	sym_abs = NULL;
	const struct dl_sym syms[] = {{"strlen", (void **)&sym_strlen},
				      {"sriovd_test_no_such_symbol", (void **)&sym_abs}};
	void *h = NULL;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(dl_open_syms("libc.so.6", syms, ARRAY_SIZE(syms), &h, &error), -ELIBACC);
	assert_null(h);
	assert_null(sym_strlen);
	assert_null(sym_abs);
	assert_string_equal(error, "cannot load libc.so.6: it has no symbol sriovd_test_no_such_symbol");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dl_loads),
		cmocka_unit_test(test_dl_missing_library),
		cmocka_unit_test(test_dl_missing_symbol),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

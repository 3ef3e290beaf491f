/* Unit tests for util/input: the driver-name rule, text escaping, quoting
 * input back in messages. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/log.h"
#include "util/input.h"
#include "util/util.h"

static void test_driver_name(void **state)
{
	(void)state;
	static const char *const good[] = {
		"vfio-pci", "kernel", "igb", "igbvf", "mlx5_core", "pci-stub", "a", "8250_pci", "x.y",
		/* 63 characters, the longest */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk",
	};
	static const char *const bad[] = {
		"", ".", "..", "../igb", ".hidden", "x/y", "a b", "vfio pci", "tab\there", "nl\n", "esc\x1b[2J",
		"caf\xc3\xa9", "a:b", "a*",
		/* 64 characters, one too many */
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_true(driver_name_valid(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_false(driver_name_valid(bad[i]));
	assert_false(driver_name_valid(NULL));
	assert_int_equal(strlen(good[ARRAY_SIZE(good) - 1]), DRIVER_NAME_MAX);
}

static void escape_one(const char *in, const char *expect)
{
	_cleanup_free_ char *s = text_escape(in);
	assert_string_equal(s, expect);

	/* text_fputs writes the same bytes */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	text_fputs(in, f);
	fclose(f);
	assert_string_equal(buf, expect);
	free(buf);
}

static void test_escape(void **state)
{
	(void)state;
	escape_one("eth0", "eth0");
	escape_one("", "");
	escape_one(" ~!\\\"'", " ~!\\\"'");
	escape_one("\x1b[2Jx\n", "\\x1b[2Jx\\x0a");
	escape_one("a\tb\rc", "a\\x09b\\x0dc");
	escape_one("\x7f", "\\x7f");
	escape_one("\x01\x1f", "\\x01\\x1f");
	escape_one("caf\xc3\xa9", "caf\\xc3\\xa9");
	escape_one("\x9b" "31m", "\\x9b31m"); /* the 8-bit CSI */
	escape_one("\xff", "\\xff");
	/* OSC: sets the terminal title */
	escape_one("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");

	/* longer than the internal chunk */
	char big[700];
	memset(big, '\x1b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	_cleanup_free_ char *s = text_escape(big);
	assert_int_equal(strlen(s), 4 * (sizeof(big) - 1));
	assert_memory_equal(s + 4 * 600, "\\x1b", 4);
}

static char *printed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printed(const char *fmt, ...)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	va_list ap;
	va_start(ap, fmt);
	int n = text_vprintf(f, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	fclose(f);
	return buf;
}

static void test_text_printf(void **state)
{
	(void)state;
	struct {
		char *got;
		const char *expect;
	} rows[] = {
		{printed("PF %s  driver %s\n", "\x1b[2Jeth0\nPF forged", "igb"),
		 "PF \\x1b[2Jeth0\\x0aPF forged  driver igb\n"},
		{printed("\n%zu PFs, %zu VFs\n", (size_t)2, (size_t)7), "\n2 PFs, 7 VFs\n"},
		{printed("%s\n\n", "a\n"), "a\\x0a\n\n"},
		{printed("%s", "a\n"), "a\\x0a"},
		{printed("\n"), "\n"},
		{printed("%s", ""), ""},
		{printed("warning: %s: driver_override is %s\n", "0000:01:10.0", "\x1b]0;title\x07"),
		 "warning: 0000:01:10.0: driver_override is \\x1b]0;title\\x07\n"},
		{printed("%-6s|\n", "\x01"), "\\x01     |\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_string_equal(rows[i].got, rows[i].expect);
		free(rows[i].got);
	}
}

/* sriovd's key=value log lines: a value with a control byte is quoted and
 * escaped, so that it cannot end the line. */
static void test_log_escape(void **state)
{
	(void)state;
	char buf[512] = "";
	FILE *f = tmpfile();
	assert_non_null(f);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	log_kv(LOG_LVL_ERROR, "apply-failed", "pf", "eth0\nts=forged level=info", "why", "a\x1b]0;t\x07",
	       "plain", "ok", NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rest = strstr(buf, " level=error event=apply-failed ");
	assert_non_null(rest);
	assert_string_equal(rest, " level=error event=apply-failed pf=\"eth0\\x0ats=forged level=info\" "
				  "why=\"a\\x1b]0;t\\x07\" plain=ok\n");
}

/* The last event at info or above is kept, without time stamp and level,
 * for sriovd's STATUS= line; debug lines never replace it. */
static void test_log_last_event(void **state)
{
	(void)state;
	int saved = dup(STDERR_FILENO);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(saved >= 0 && null >= 0);
	fflush(stderr);
	assert_true(dup2(null, STDERR_FILENO) >= 0);
	log_kv(LOG_LVL_INFO, "applied", "pf", "eth0", "reason", "start", NULL);
	const char *first = log_last_event();
	char *kept = first ? strdup(first) : NULL;
	log_set_min_level(LOG_LVL_DEBUG);
	log_kv(LOG_LVL_DEBUG, "uevent", "action", "change", NULL);
	log_set_min_level(LOG_LVL_INFO);
	log_kv(LOG_LVL_DEBUG, "link-changed", "netdev", "eth1", NULL);
	const char *after_debug = log_last_event();
	char *kept_debug = after_debug ? strdup(after_debug) : NULL;
	log_kv(LOG_LVL_ERROR, "config-rejected", "error", "x.conf:1:1: bad\nline", NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	assert_non_null(kept);
	assert_string_equal(kept, "event=applied pf=eth0 reason=start");
	assert_non_null(kept_debug);
	assert_string_equal(kept_debug, "event=applied pf=eth0 reason=start");
	assert_string_equal(log_last_event(), "event=config-rejected error=\"x.conf:1:1: bad\\x0aline\"");
	free(kept);
	free(kept_debug);
}

static void test_quote(void **state)
{
	(void)state;
	char buf[INPUT_QUOTE_BUFSIZE];
	assert_string_equal(input_quote("eth0", buf), "eth0");
	assert_string_equal(input_quote(NULL, buf), "");
	char in[2000];
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	/* exactly the limit is kept whole, one more is cut */
	in[INPUT_QUOTE_MAX] = '\0';
	assert_ptr_equal(input_quote(in, buf), in);
	in[INPUT_QUOTE_MAX] = 'b';
	const char *q = input_quote(in, buf);
	assert_int_equal(strlen(q), INPUT_QUOTE_MAX + 3);
	assert_memory_equal(q, in, INPUT_QUOTE_MAX);
	assert_string_equal(q + INPUT_QUOTE_MAX, "...");
	char *msg = NULL;
	assert_int_equal(error_set(&msg, -ENODEV, "'%s' is not a device", QUOTE(in)), -ENODEV);
	assert_int_equal(strlen(msg), INPUT_QUOTE_MAX + 3 + strlen("'' is not a device"));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_name),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_text_printf),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_last_event),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

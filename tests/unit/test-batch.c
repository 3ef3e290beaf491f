/* Unit tests for cli/batch: the batch file reader, rows of files with the
 * commands they give or their exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "cli/batch.h"
#include "util/util.h"

/* Reads content (len bytes) and returns the commands as
 * "LINE:word word|LINE:word" or the error; *ret_r gets the return value. */
static char *batch_run(const char *content, size_t len, int *ret_r)
{
	int fd = memfd_create("batch", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	struct batch b = {0};
	char *error = NULL;
	*ret_r = batch_read_fd(fd, "cmds", &b, &error);
	close(fd);
	if (*ret_r < 0) {
		assert_non_null(error);
		return error;
	}
	assert_null(error);
	char *got = strdup("");
	for (size_t i = 0; i < b.n_cmds; i++) {
		char *next;
		assert_true(asprintf(&next, "%s%s%u:", got, i ? "|" : "", b.cmds[i].lineno) > 0);
		free(got);
		got = next;
		for (int k = 0; k < b.cmds[i].argc; k++) {
			assert_true(asprintf(&next, "%s%s%s", got, k ? " " : "", b.cmds[i].argv[k]) > 0);
			free(got);
			got = next;
		}
		assert_null(b.cmds[i].argv[b.cmds[i].argc]);
	}
	batch_done(&b);
	return got;
}

static void batch_one(const char *content, size_t len, int expect_r, const char *expect)
{
	int r;
	_cleanup_free_ char *got = batch_run(content, len, &r);
	assert_int_equal(r, expect_r);
	assert_string_equal(got, expect);
}

#define ROW(s, r, e) batch_one((s), sizeof(s) - 1, (r), (e))

static void test_batch_lines(void **state)
{
	(void)state;
	ROW("", 0, "");
	ROW("\n\n", 0, "");
	ROW("show eth0\n", 0, "1:show eth0");
	ROW("show eth0", 0, "1:show eth0"); /* no final newline */
	ROW("# comment\n\n  vf set eth0#1 vlan 5  \nlist\n", 0, "3:vf set eth0#1 vlan 5|4:list");
	ROW("\tshow\teth0\r\n", 0, "1:show eth0"); /* tabs, CRLF */
	ROW("  #indented comment\nshow x#1\n", 0, "2:show x#1");
	ROW("-j show eth0\n", 0, "1:-j show eth0");
	/* a NUL anywhere: named by line and byte, nothing run */
	ROW("show eth0\0#0\n", -EINVAL, "cmds:1: holds a NUL byte (at byte 10; a batch file is text)");
	ROW("list\nlist\n\0", -EINVAL, "cmds:3: holds a NUL byte (at byte 1; a batch file is text)");
	ROW("# \0 in a comment\n", -EINVAL, "cmds:1: holds a NUL byte (at byte 3; a batch file is text)");
}

static void test_batch_limits(void **state)
{
	(void)state;
	int r;
	/* a line of exactly BATCH_LINE_MAX bytes, and one byte more */
	_cleanup_free_ char *s = malloc(BATCH_LINE_MAX + 2);
	memset(s, 'a', BATCH_LINE_MAX + 1);
	memcpy(s, "show ", 5);
	s[BATCH_LINE_MAX] = '\n';
	_cleanup_free_ char *got = batch_run(s, BATCH_LINE_MAX + 1, &r);
	assert_int_equal(r, 0);
	assert_int_equal(strlen(got), 2 + BATCH_LINE_MAX);
	s[BATCH_LINE_MAX] = 'a';
	batch_one(s, BATCH_LINE_MAX + 1, -E2BIG, "cmds:1: longer than 4096 bytes");

	/* BATCH_WORDS_MAX words, and one more */
	char words[4 * (BATCH_WORDS_MAX + 1) + 1] = "";
	for (int i = 0; i < BATCH_WORDS_MAX; i++)
		strcat(words, "ab ");
	free(got);
	got = batch_run(words, strlen(words), &r);
	assert_int_equal(r, 0);
	strcat(words, "cd");
	batch_one(words, strlen(words), -E2BIG, "cmds:1: more than 63 words in one command");
	/* a comment line may hold any number of words */
	char comment[4 * (BATCH_WORDS_MAX + 1) + 3] = "# ";
	strcat(comment, words);
	batch_one(comment, strlen(comment), 0, "");

	/* BATCH_LINES_MAX lines, and one more (empty lines count too) */
	_cleanup_free_ char *lines = malloc(BATCH_LINES_MAX + 8);
	memset(lines, '\n', BATCH_LINES_MAX + 1);
	batch_one(lines, BATCH_LINES_MAX, 0, "");
	batch_one(lines, BATCH_LINES_MAX + 1, -E2BIG, "cmds: more than 65536 lines");
	/* the last line without its newline counts too */
	lines[BATCH_LINES_MAX] = 'x';
	batch_one(lines, BATCH_LINES_MAX + 1, -E2BIG, "cmds: more than 65536 lines");

	/* the size: 16 MiB of text is read, one byte more is not */
	size_t big = BATCH_SIZE_MAX + 1;
	_cleanup_free_ char *huge = malloc(big);
	memset(huge, ' ', big);
	for (size_t i = 255; i < big; i += 256)
		huge[i] = '\n'; /* 65536 lines of 255 blanks */
	batch_one(huge, BATCH_SIZE_MAX, 0, "");
	batch_one(huge, big, -EFBIG, "cmds: larger than 16 MiB");
}

static void test_batch_files(void **state)
{
	(void)state;
	struct {
		const char *path;
		int r;
		const char *error;
	} rows[] = {
		{"/", -EISDIR, "cannot read /: Is a directory"},
		{"/nonexistent/batch", -ENOENT, "cannot read /nonexistent/batch: No such file or directory"},
		{"/proc/self/mem", -EIO, "cannot read /proc/self/mem: Input/output error"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct batch b = {0};
		_cleanup_free_ char *error = NULL;
		assert_int_equal(batch_read(rows[i].path, &b, &error), rows[i].r);
		assert_string_equal(error, rows[i].error);
	}
	struct batch b = {0};
	char *error = NULL;
	assert_int_equal(batch_read("/dev/null", &b, &error), 0);
	assert_int_equal(b.n_cmds, 0);
	batch_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_lines),
		cmocka_unit_test(test_batch_limits),
		cmocka_unit_test(test_batch_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

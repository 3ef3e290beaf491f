/* Unit tests for lock/: the instance and host locks, with a played clock
 * (no test waits on wall time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lock/lock.h"
#include "test-helpers.h"
#include "util/util.h"

struct fake_clock {
	uint64_t now_ns;
	unsigned sleeps;
	uint64_t slept_ns;
	int release_fd;       /* closed at the release_after-th sleep: the holder lets go */
	unsigned release_after;
};

static uint64_t fake_now(void *data)
{
	return ((struct fake_clock *)data)->now_ns;
}

static void fake_sleep(void *data, uint64_t ns)
{
	struct fake_clock *c = data;
	c->now_ns += ns;
	c->slept_ns += ns;
	c->sleeps++;
	if (c->release_fd >= 0 && c->sleeps == c->release_after) {
		close(c->release_fd);
		c->release_fd = -1;
	}
}

struct waited {
	unsigned calls;
	pid_t holder;
	char path[256];
};

static void on_waiting(void *data, const char *path, pid_t holder)
{
	struct waited *w = data;
	w->calls++;
	w->holder = holder;
	snprintf(w->path, sizeof(w->path), "%s", path);
}

static char *make_dir(void)
{
	char *dir = NULL;
	assert_true(asprintf(&dir, "%s/test-lock.XXXXXX", test_tmpdir()) > 0);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(char *dir)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static void test_take_creates_folder_and_names_holder(void **state)
{
	(void)state;
	char *dir = make_dir();
	_cleanup_free_ char *sub = path_join(dir, "run/sriovd");
	int fd = -1;
	char *error = NULL;
	assert_int_equal(lock_take(sub, LOCK_HOST_NAME, NULL, &fd, NULL, &error), 0);
	assert_true(fd >= 0);
	assert_null(error);
	assert_int_equal(lock_holder(sub, LOCK_HOST_NAME), getpid());
	int flags = fcntl(fd, F_GETFD);
	assert_true(flags & FD_CLOEXEC);
	close(fd);
	remove_dir(dir);
}

static void test_second_holder_refused(void **state)
{
	(void)state;
	char *dir = make_dir();
	int first = -1, second = -1;
	assert_int_equal(lock_take(dir, LOCK_INSTANCE_NAME, NULL, &first, NULL, NULL), 0);
	/* Another open file description: what a second process would have. */
	struct fake_clock c = {.release_fd = -1};
	struct lock_clock clk = {fake_now, fake_sleep, &c};
	struct lock_opts o = {.clock = &clk};
	pid_t holder = -1;
	char *error = NULL;
	assert_int_equal(lock_take(dir, LOCK_INSTANCE_NAME, &o, &second, &holder, &error), -EAGAIN);
	assert_int_equal(second, -1);
	assert_int_equal(holder, getpid());
	assert_int_equal(c.sleeps, 0); /* timeout 0: one try, no wait */
	char *want = NULL;
	assert_true(asprintf(&want, "pid %d (test-lock) holds the lock %s/sriovd.lock", (int)getpid(), dir) > 0);
	assert_string_equal(error, want);
	free(want);
	free(error);
	/* Released: the next one gets it. */
	close(first);
	assert_int_equal(lock_take(dir, LOCK_INSTANCE_NAME, &o, &second, NULL, NULL), 0);
	close(second);
	remove_dir(dir);
}

static void test_waits_until_released(void **state)
{
	(void)state;
	char *dir = make_dir();
	int first = -1, second = -1;
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, NULL, &first, NULL, NULL), 0);
	struct fake_clock c = {.now_ns = 5, .release_fd = first, .release_after = 4};
	struct lock_clock clk = {fake_now, fake_sleep, &c};
	struct waited w = {0};
	struct lock_opts o = {.timeout_ms = 10000, .clock = &clk, .waiting = on_waiting, .waiting_data = &w};
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, &o, &second, NULL, NULL), 0);
	assert_int_equal(c.sleeps, 4);
	/* 10 + 20 + 40 + 80 ms: polls back off. */
	assert_int_equal(c.slept_ns, 150000000ULL);
	assert_int_equal(w.calls, 1); /* said once whom it waits for */
	assert_int_equal(w.holder, getpid());
	_cleanup_free_ char *path = path_join(dir, LOCK_HOST_NAME);
	assert_string_equal(w.path, path);
	close(second);
	remove_dir(dir);
}

static void test_timeout_bounded(void **state)
{
	(void)state;
	char *dir = make_dir();
	int first = -1, second = -1;
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, NULL, &first, NULL, NULL), 0);
	struct fake_clock c = {.release_fd = -1};
	struct lock_clock clk = {fake_now, fake_sleep, &c};
	struct lock_opts o = {.timeout_ms = 2500, .clock = &clk};
	char *error = NULL;
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, &o, &second, NULL, &error), -ETIMEDOUT);
	/* It waited exactly the timeout, never longer. */
	assert_int_equal(c.slept_ns, 2500000000ULL);
	char *want = NULL;
	assert_true(asprintf(&want, "pid %d (test-lock) holds the lock %s/lock; gave up after 2.500 s", (int)getpid(),
			     dir) > 0);
	assert_string_equal(error, want);
	free(want);
	free(error);
	close(first);
	remove_dir(dir);
}

static void test_refuses_symlink(void **state)
{
	(void)state;
	char *dir = make_dir();
	_cleanup_free_ char *victim = path_join(dir, "victim");
	_cleanup_free_ char *link = path_join(dir, LOCK_HOST_NAME);
	assert_int_equal(symlink(victim, link), 0);
	int fd = -1;
	char *error = NULL;
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, NULL, &fd, NULL, &error), -ELOOP);
	assert_non_null(strstr(error, "cannot open the lock"));
	assert_int_equal(access(victim, F_OK), -1); /* nothing created through the link */
	free(error);
	remove_dir(dir);
}

static void test_holder_from_the_kernel(void **state)
{
	(void)state;
	char *dir = make_dir();
	assert_int_equal(lock_holder(dir, LOCK_HOST_NAME), 0); /* no file */
	/* A pid left in the file by an earlier holder is not believed. */
	_cleanup_free_ char *path = path_join(dir, LOCK_HOST_NAME);
	FILE *f = fopen(path, "we");
	fputs("1\n", f);
	fclose(f);
	assert_int_equal(lock_holder(dir, LOCK_HOST_NAME), 0);
	int fd = -1;
	assert_int_equal(lock_take(dir, LOCK_HOST_NAME, NULL, &fd, NULL, NULL), 0);
	assert_int_equal(lock_holder(dir, LOCK_HOST_NAME), getpid());
	close(fd);
	assert_int_equal(lock_holder(dir, LOCK_HOST_NAME), 0);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_creates_folder_and_names_holder),
		cmocka_unit_test(test_second_holder_refused),
		cmocka_unit_test(test_waits_until_released),
		cmocka_unit_test(test_timeout_bounded),
		cmocka_unit_test(test_refuses_symlink),
		cmocka_unit_test(test_holder_from_the_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "lock.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "util/util.h"

#define POLL_FIRST_NS 10000000ULL /* 10 ms, doubling up to: */
#define POLL_MAX_NS 200000000ULL  /* 200 ms */

static void real_sleep_ns(void *data, uint64_t ns)
{
	(void)data;
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const struct lock_clock real_clock = {mono_now_ns_hook, real_sleep_ns, NULL};

/* The pid that holds a flock(2) on the file open at fd, from /proc/locks
 * (the kernel's own record: right even when the holder left no trace in
 * the file); 0 when none is listed. */
static pid_t holder_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	_cleanup_fclose_ FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char type[16], mode[16];
		int pid;
		unsigned maj, min;
		unsigned long long ino;
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters
		 * ("1: -> FLOCK ...") do not match. */
		if (sscanf(line, "%*d: %15s %*s %15s %d %x:%x:%llu", type, mode, &pid, &maj, &min, &ino) != 6)
			continue;
		/* A network file system (9p, NFS) may hold a flock as a POSIX lock. */
		bool same = ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) && min == minor(st.st_dev);
		if (same && pid > 0 && (strcmp(type, "FLOCK") == 0 || strcmp(type, "POSIX") == 0))
			return (pid_t)pid;
	}
	return 0;
}

pid_t lock_holder(const char *dir, const char *name)
{
	_cleanup_free_ char *path = path_join(dir, name);
	if (!path)
		return 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	return fd < 0 ? 0 : holder_of(fd);
}

/* "pid 1234 (sriovd)", "pid 1234", or "another process". */
static void describe_holder(pid_t pid, char *buf, size_t len)
{
	if (pid <= 0) {
		snprintf(buf, len, "another process");
		return;
	}
	char comm_path[48];
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/comm", (int)pid);
	_cleanup_free_ char *comm = NULL;
	if (read_text_file(comm_path, 64, &comm) == 0 && !str_empty(comm))
		snprintf(buf, len, "pid %d (%s)", (int)pid, comm);
	else
		snprintf(buf, len, "pid %d", (int)pid);
}

/* The holder's pid, for a human who looks (waiters ask /proc/locks). */
static void write_pid(int fd)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, buf, (size_t)n, 0);
}

int lock_take(const char *dir, const char *name, const struct lock_opts *o, int *ret_fd, pid_t *ret_holder,
	      char **ret_error)
{
	static const struct lock_opts none = {0};
	if (!o)
		o = &none;
	const struct lock_clock *clk = o->clock ? o->clock : &real_clock;
	if (ret_holder)
		*ret_holder = 0;
	_cleanup_free_ char *path = path_join(dir, name);
	if (!path)
		return -ENOMEM;
	int r = mkdir_p(dir, 0755);
	if (r < 0)
		return error_set(ret_error, r, "cannot create the state folder %s: %s", dir, strerror(-r));
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0)
		return error_set(ret_error, -errno, "cannot open the lock %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(ret_error, -EBADF, "the lock %s is not a regular file", path);

	uint64_t start = clk->now_ns(clk->data);
	uint64_t timeout_ns = (uint64_t)o->timeout_ms * 1000000ULL;
	uint64_t step = POLL_FIRST_NS;
	bool told = false;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return error_set(ret_error, -errno, "cannot lock %s: %s", path, strerror(errno));
		pid_t holder = holder_of(fd);
		uint64_t waited = clk->now_ns(clk->data) - start;
		if (waited >= timeout_ns) {
			char who[96];
			describe_holder(holder, who, sizeof(who));
			if (ret_holder)
				*ret_holder = holder;
			if (o->timeout_ms == 0)
				return error_set(ret_error, -EAGAIN, "%s holds the lock %s", who, path);
			return error_set(ret_error, -ETIMEDOUT, "%s holds the lock %s; gave up after %u.%03u s", who, path,
					 o->timeout_ms / 1000, o->timeout_ms % 1000);
		}
		if (!told && o->waiting) {
			o->waiting(o->waiting_data, path, holder);
			told = true;
		}
		uint64_t left = timeout_ns - waited;
		clk->sleep_ns(clk->data, step < left ? step : left);
		if (step < POLL_MAX_NS)
			step *= 2;
	}
	write_pid(fd);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

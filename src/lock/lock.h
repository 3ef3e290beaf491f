/* lock: one writer at a time.
 *
 * Owns the two advisory locks (flock(2), LOCK_EX) in the state folder, and
 * nothing else. The kernel drops a lock when its holder exits, however it
 * exits, so a lock is never left behind.
 *   STATE/sriovd.lock  the instance lock: one sriovd per state folder (and so
 *                      per sysfs root and status file), held for its life;
 *   STATE/lock         the host lock: held by every command that changes the
 *                      host (numvfs, bind, vf set, apply, a batch from its
 *                      first such line to its end) and by sriovd around each
 *                      apply of one PF, so that writers never interleave and a
 *                      refusal is decided from a scan made under the lock.
 * Whoever waits names the holder's pid, from the kernel's /proc/locks (the
 * holder also writes it into the file, for a human who looks). Files are opened O_CLOEXEC|O_NOFOLLOW; the folder is created when
 * missing. Waiting polls, through a clock hook that a unit test plays. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#define LOCK_HOST_NAME "lock"
#define LOCK_INSTANCE_NAME "sriovd.lock"
/* How long sriovctl waits for the host lock: longer than an apply that
 * creates VFs and binds them (each count change may take 10 s). */
#define LOCK_WAIT_DEFAULT_MS 60000

struct lock_clock {
	uint64_t (*now_ns)(void *data);            /* CLOCK_MONOTONIC */
	void (*sleep_ns)(void *data, uint64_t ns); /* at most ns */
	void *data;
};

struct lock_opts {
	unsigned timeout_ms;            /* 0: try once */
	const struct lock_clock *clock; /* NULL: the real one */
	/* Called once, when the lock is busy and the caller is going to wait;
	 * holder is the pid in the file (0: not known). May be NULL. */
	void (*waiting)(void *data, const char *path, pid_t holder);
	void *waiting_data;
};

/* Takes the lock dir/name. Returns 0 with *ret_fd holding it (close it to
 * let go), or -EAGAIN (busy, timeout 0) / -ETIMEDOUT (still busy after the
 * timeout) with *ret_error naming the file and the holder, or another
 * -errno when the file cannot be made or opened. *ret_holder (may be NULL)
 * gets the holder's pid when busy, 0 if unknown. */
int lock_take(const char *dir, const char *name, const struct lock_opts *o, int *ret_fd, pid_t *ret_holder,
	      char **ret_error);

/* The pid holding the lock dir/name, 0 when none does (or it is not known). */
pid_t lock_holder(const char *dir, const char *name);

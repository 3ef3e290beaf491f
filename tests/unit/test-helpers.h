/* Shared by the unit tests. */
#pragma once

#include <stdlib.h>
#include <unistd.h>

/* Fake trees are tens of thousands of small files: on tmpfs they build in
 * under a second, on a disk-backed /tmp in tens of seconds. */
static inline const char *test_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	if (t && *t)
		return t;
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

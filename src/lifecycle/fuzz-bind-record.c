/* libFuzzer target for the bind state record (STATE_DIR/ADDRESS, the driver
 * a bind replaced): the input is the record file's contents; whatever loads
 * names a valid driver, and saving what was loaded then loading it again
 * gives the same record. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakesysfs.h"
#include "lifecycle/lifecycle.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ADDR "0000:01:10.0"

static char dir[] = "/tmp/sriovd-fuzz-record-XXXXXX";
static char *record;

static void cleanup(void)
{
	fakesysfs_rmtree(dir);
	free(record);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!mkdtemp(dir) || asprintf(&record, "%s/%s", dir, ADDR) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	const struct lifecycle_env env = {.sysfs_root = "/sys", .state_dir = dir};
	struct bind_record rec;
	memset(&rec, 0xa5, sizeof(rec));
	if (lifecycle_record_load(&env, ADDR, &rec) == 0) {
		assert(memchr(rec.driver, '\0', sizeof(rec.driver)) && rec.driver[0]);
		assert(lifecycle_record_save(&env, ADDR, &rec) == 0);
		struct bind_record again;
		assert(lifecycle_record_load(&env, ADDR, &again) == 0);
		assert(strcmp(rec.driver, again.driver) == 0);
		assert(rec.vendor_id == again.vendor_id && rec.device_id == again.device_id);
	}
	return 0;
}

/* libFuzzer target for the --batch reader: the input is the file's
 * contents, read through a memory file as from a pipe or a file. Whatever
 * is accepted becomes commands whose words are non-empty, free of blanks,
 * NULs and newlines, within the documented limits, with line numbers that
 * only grow; whatever is refused is refused whole with one reason that
 * names the file. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-batch", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();

	struct batch b;
	char *err = NULL;
	int r = batch_read_fd(fd, "fuzz.batch", &b, &err);
	close(fd);
	if (r == 0) {
		assert(!err);
		unsigned last = 0;
		for (size_t i = 0; i < b.n_cmds; i++) {
			const struct batch_command *c = &b.cmds[i];
			assert(c->lineno > last);
			last = c->lineno;
			assert(c->argc > 0 && c->argc <= BATCH_WORDS_MAX);
			assert(c->argv[c->argc] == NULL);
			assert(c->argv[0][0] != '#');
			for (int k = 0; k < c->argc; k++) {
				size_t n = strlen(c->argv[k]);
				assert(n > 0 && n <= BATCH_LINE_MAX);
				assert(!strpbrk(c->argv[k], " \t\n\r"));
			}
		}
		assert(last <= BATCH_LINES_MAX);
		batch_done(&b);
	} else {
		assert(r == -ENOMEM || (err && strncmp(err, "fuzz.batch", 10) == 0));
	}
	free(err);
	return 0;
}

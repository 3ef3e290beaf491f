#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/input.h"
#include "util/util.h"

void batch_done(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_cmds; i++)
		free(b->cmds[i].argv);
	free(b->cmds);
	free(b->text);
	*b = (struct batch){0};
}

/* Reads all of fd, stopping with -EFBIG past max bytes. */
static int read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 0;
	_cleanup_free_ char *buf = NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			char *nbuf = realloc(buf, cap + 1);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int split_line(struct batch *b, char *line, unsigned lineno, const char *name, char **ret_error)
{
	char **words = NULL;
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (n == 0 && w[0] == '#')
			break;
		if (n == BATCH_WORDS_MAX) {
			free(words);
			return error_set(ret_error, -E2BIG, "%s:%u: more than %d words in one command", QUOTE(name),
					 lineno, BATCH_WORDS_MAX);
		}
		char **nw = realloc(words, (size_t)(n + 2) * sizeof(*words));
		if (!nw) {
			free(words);
			return -ENOMEM;
		}
		words = nw;
		words[n++] = w;
		words[n] = NULL;
	}
	if (n == 0)
		return 0;
	struct batch_command *cmds = realloc(b->cmds, (b->n_cmds + 1) * sizeof(*cmds));
	if (!cmds) {
		free(words);
		return -ENOMEM;
	}
	b->cmds = cmds;
	b->cmds[b->n_cmds++] = (struct batch_command){.lineno = lineno, .argc = n, .argv = words};
	return 0;
}

int batch_read_fd(int fd, const char *name, struct batch *ret, char **ret_error)
{
	struct batch b = {0};
	size_t len = 0;
	int r = read_all(fd, BATCH_SIZE_MAX, &b.text, &len);
	if (r == -EFBIG)
		return error_set(ret_error, r, "%s: larger than %u MiB", QUOTE(name), BATCH_SIZE_MAX >> 20);
	if (r < 0)
		return error_set(ret_error, r, "cannot read %s: %s", QUOTE(name), strerror(-r));

	unsigned lineno = 0;
	for (char *p = b.text, *end = b.text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		if (++lineno > BATCH_LINES_MAX) {
			r = error_set(ret_error, -E2BIG, "%s: more than %d lines", QUOTE(name), BATCH_LINES_MAX);
			goto fail;
		}
		char *nul = memchr(p, '\0', n);
		if (nul) {
			r = error_set(ret_error, -EINVAL, "%s:%u: holds a NUL byte (at byte %zu; a batch file is text)",
				      QUOTE(name), lineno, (size_t)(nul - p) + 1);
			goto fail;
		}
		if (n > BATCH_LINE_MAX) {
			r = error_set(ret_error, -E2BIG, "%s:%u: longer than %d bytes", QUOTE(name), lineno,
				      BATCH_LINE_MAX);
			goto fail;
		}
		*eol = '\0';
		if ((r = split_line(&b, p, lineno, name, ret_error)) < 0)
			goto fail;
		p = eol + 1;
	}
	*ret = b;
	return 0;
fail:
	batch_done(&b);
	return r;
}

int batch_read(const char *path, struct batch *ret, char **ret_error)
{
	if (strcmp(path, "-") == 0)
		return batch_read_fd(STDIN_FILENO, "-", ret, ret_error);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r = fd < 0 || fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (r < 0)
		return error_set(ret_error, r, "cannot read %s: %s", QUOTE(path), strerror(-r));
	return batch_read_fd(fd, path, ret, ret_error);
}

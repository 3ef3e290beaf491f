/* cli/batch: reading a --batch file into commands, before any is run.
 *
 * Owns: the batch file's format (one command per line, words separated by
 * blanks, empty lines and lines whose first word starts with '#' skipped)
 * and its limits. The whole file is read and checked first, so that a file
 * that is not text (a NUL byte), too long a line, too many lines or words,
 * or a file that cannot be read runs nothing at all. */
#pragma once

#include <stddef.h>

#define BATCH_LINE_MAX 4096      /* bytes in one line, newline excluded */
#define BATCH_LINES_MAX 65536    /* lines in a file, empty and comments included */
#define BATCH_SIZE_MAX (16u << 20) /* bytes in a file: 16 MiB */
#define BATCH_WORDS_MAX 63       /* words in one command */

struct batch_command {
	unsigned lineno;         /* 1-based */
	int argc;
	char **argv;             /* NULL-terminated; words point into text */
};

struct batch {
	char *text;              /* the file, words cut out in place */
	struct batch_command *cmds;
	size_t n_cmds;
};

/* Reads and splits fd (name is for messages: the path, or "-" for stdin).
 * Returns 0, or -errno with *ret_error naming the file, the line and the
 * reason: "FILE:3: holds a NUL byte (a batch file is text)". */
int batch_read_fd(int fd, const char *name, struct batch *ret, char **ret_error);
/* Opens path ("-": standard input) and reads it; a folder, a missing or an
 * unreadable file is an error. */
int batch_read(const char *path, struct batch *ret, char **ret_error);
void batch_done(struct batch *b);

/* util/input: the rules for text that comes from outside (the command line,
 * config files, batch files, sysfs names and contents) on its way in and on
 * its way back out to a person.
 *
 * Owns: what a driver name may look like (one rule for the CLI, the config
 * and the lifecycle); escaping every byte outside printable ASCII for text
 * output (as `ip` does, "\x1b"); cutting input that a message quotes back to
 * a bounded length. Nothing here prints or fails other than with ENOMEM. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A driver name as /sys/bus/pci/drivers/ lists them: 1 to DRIVER_NAME_MAX
 * characters from [A-Za-z0-9_.-], not starting with '.' (so neither "." nor
 * ".." nor anything that climbs out of that folder). */
#define DRIVER_NAME_MAX 63
/* The rule in words, for messages. */
#define DRIVER_NAME_RULE "1 to 63 characters from A-Z a-z 0-9 _ - . not starting with '.'"
bool driver_name_valid(const char *s);

/* Text output: every byte outside printable ASCII (0x20-0x7e) becomes
 * "\xHH" (lower-case hex); printable ASCII comes out unchanged. */
void text_fputs(const char *s, FILE *f);
/* One byte of it. */
void text_fputc(int c, FILE *f);
/* Whether s holds a byte that text output escapes. */
bool text_needs_escape(const char *s);
/* The same into a new string (NULL on ENOMEM). */
char *text_escape(const char *s);
/* fprintf for every human-readable line: the whole formatted text is escaped,
 * except the newlines that open or close the format itself ("\n%zu PFs\n"),
 * so that data (a netdev name holding ESC [2J or a newline) can neither
 * drive the terminal nor forge a line. A format may hold newlines only at
 * its start and its end. Returns what fprintf returns. */
int text_vprintf(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
int text_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Input quoted back in a message is cut to this many bytes, then "...". */
#define INPUT_QUOTE_MAX 128
/* s itself when it is short enough (at most INPUT_QUOTE_MAX bytes), else
 * its first INPUT_QUOTE_MAX bytes followed by "..." in buf. NULL gives "". */
#define INPUT_QUOTE_BUFSIZE (INPUT_QUOTE_MAX + 4)
const char *input_quote(const char *s, char buf[INPUT_QUOTE_BUFSIZE]);
/* Shorthand for a format argument: input_quote() into a buffer that lives
 * as long as the enclosing block. */
#define QUOTE(s) input_quote((s), (char[INPUT_QUOTE_BUFSIZE]){0})

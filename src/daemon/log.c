#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/input.h"

static enum log_level min_level = LOG_LVL_INFO;

void log_set_min_level(enum log_level l)
{
	min_level = l;
}

static void put_value(FILE *f, const char *v)
{
	/* A value holding a control byte is quoted and escaped (\x0a), so that
	 * no value can end a line or drive a terminal. */
	bool quote = !*v || strpbrk(v, " \t\"=") != NULL || text_needs_escape(v);
	if (!quote) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f);
		text_fputc(*v, f);
	}
	fputc('"', f);
}

void log_kv(enum log_level level, const char *event, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (level < min_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per field into a locked stream keeps a line whole. */
	flockfile(stderr);
	fprintf(stderr, "ts=%s.%03ldZ level=%s event=", when, ts.tv_nsec / 1000000, names[level]);
	put_value(stderr, event);
	va_list ap;
	va_start(ap, event);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		fprintf(stderr, " %s=", k);
		put_value(stderr, v ? v : "");
	}
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

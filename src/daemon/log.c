#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/input.h"

static enum log_level min_level = LOG_LVL_INFO;
/* The fields of the last line at LOG_LVL_INFO or above (heap). */
static char *last_event;

void log_set_min_level(enum log_level l)
{
	min_level = l;
}

const char *log_last_event(void)
{
	return last_event;
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

/* "event=E k=v ...", without the time stamp and level. */
static void put_fields(FILE *f, const char *event, va_list ap)
{
	fputs("event=", f);
	put_value(f, event);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		fprintf(f, " %s=", k);
		put_value(f, v ? v : "");
	}
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
	/* The fields go to memory first, so the last event can be kept; out
	 * of memory, they go straight to stderr. */
	char *fields = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&fields, &len);
	va_list ap;
	va_start(ap, event);
	if (mem) {
		put_fields(mem, event, ap);
		if (fclose(mem) != 0) {
			free(fields);
			fields = NULL;
		}
	}
	va_end(ap);
	/* One locked stream keeps a line whole. */
	flockfile(stderr);
	fprintf(stderr, "ts=%s.%03ldZ level=%s ", when, ts.tv_nsec / 1000000, names[level]);
	if (fields)
		fputs(fields, stderr);
	else {
		va_start(ap, event);
		put_fields(stderr, event, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	if (fields && level >= LOG_LVL_INFO) {
		free(last_event);
		last_event = fields;
		fields = NULL;
	}
	funlockfile(stderr);
	free(fields);
}

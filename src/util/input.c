#include "input.h"

#include <stdlib.h>
#include <string.h>

bool driver_name_valid(const char *s)
{
	if (!s || s[0] == '\0' || s[0] == '.' || strlen(s) > DRIVER_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
		    *p != '_' && *p != '-' && *p != '.')
			return false;
	return true;
}

static bool printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Escapes s[0..len) into out (at least 4 * len + 1 bytes); returns the end. */
static char *escape_into(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (printable(c)) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '\\';
		*out++ = 'x';
		*out++ = hex[c >> 4];
		*out++ = hex[c & 0xf];
	}
	*out = '\0';
	return out;
}

char *text_escape(const char *s)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	char *out = malloc(4 * len + 1);
	if (out)
		escape_into(out, s, len);
	return out;
}

static void fwrite_escaped(const char *s, size_t len, FILE *f)
{
	char buf[4 * 256 + 1];
	while (len) {
		size_t n = len < 256 ? len : 256;
		char *end = escape_into(buf, s, n);
		fwrite(buf, 1, (size_t)(end - buf), f);
		s += n;
		len -= n;
	}
}

void text_fputc(int c, FILE *f)
{
	char ch = (char)c, buf[5];
	escape_into(buf, &ch, 1);
	fputs(buf, f);
}

bool text_needs_escape(const char *s)
{
	for (; s && *s; s++)
		if (!printable((unsigned char)*s))
			return true;
	return false;
}

void text_fputs(const char *s, FILE *f)
{
	if (s)
		fwrite_escaped(s, strlen(s), f);
}

int text_vprintf(FILE *f, const char *fmt, va_list ap)
{
	size_t lead = strspn(fmt, "\n"), flen = strlen(fmt), trail = 0;
	while (trail < flen - lead && fmt[flen - 1 - trail] == '\n')
		trail++;
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return n;
	/* The format's own leading and trailing newlines are its first and last
	 * bytes of output: literal text, not data. */
	size_t len = (size_t)n;
	if (lead + trail > len)
		lead = trail = 0; /* cannot happen; escape everything */
	fwrite(s, 1, lead, f);
	fwrite_escaped(s + lead, len - lead - trail, f);
	fwrite(s + len - trail, 1, trail, f);
	free(s);
	return ferror(f) ? -1 : n;
}

int text_printf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = text_vprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

const char *input_quote(const char *s, char buf[INPUT_QUOTE_BUFSIZE])
{
	if (!s)
		return "";
	if (strnlen(s, INPUT_QUOTE_MAX + 1) <= INPUT_QUOTE_MAX)
		return s;
	memcpy(buf, s, INPUT_QUOTE_MAX);
	memcpy(buf + INPUT_QUOTE_MAX, "...", 4);
	return buf;
}

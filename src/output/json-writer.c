/* The JSON writer (output.h, struct jw): one set of calls that either
 * streams JSON to a FILE, byte for byte as jansson's json_dumpf() prints
 * with JSON_INDENT(2) | JSON_PRESERVE_ORDER, or builds the same document as
 * a jansson value. */
#include "output.h"

#include "util/input.h"
#include "util/util.h"

/* Streamed output goes through the writer's own buffer, flushed to the
 * FILE in large writes: no stdio call (and lock) per token. */
#define JW_BUF 65536

void jw_init_stream(struct jw *w, FILE *f)
{
	*w = (struct jw){.f = f, .buf = malloc(JW_BUF)};
	if (!w->buf)
		w->oom = true;
}

void jw_init_tree(struct jw *w)
{
	*w = (struct jw){0};
}

json_t *jw_take(struct jw *w)
{
	json_t *root = w->root;
	w->root = NULL;
	if (w->oom || w->depth) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static void flush(struct jw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->io_error = true;
	w->len = 0;
}

static void out(struct jw *w, const char *s, size_t n)
{
	if (!w->buf)
		return;
	while (n) {
		if (w->len == JW_BUF)
			flush(w);
		size_t k = JW_BUF - w->len < n ? JW_BUF - w->len : n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void out_str(struct jw *w, const char *s)
{
	out(w, s, strlen(s));
}

int jw_finish(struct jw *w)
{
	bool oom = w->oom || w->depth;
	out(w, "\n", 1);
	if (w->buf)
		flush(w);
	free(w->buf);
	w->buf = NULL;
	if (oom)
		return -ENOMEM;
	if (w->io_error || fflush(w->f) == EOF || ferror(w->f))
		return -EIO;
	return 0;
}

/* --- streaming ------------------------------------------------------------------ */

/* Whether s is well-formed UTF-8 (no overlong forms, no surrogates, at most
 * U+10FFFF): what json_string() accepts. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, n, cp;
		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

/* s as a JSON string literal, escaped as jansson escapes: \" \\ \b \f \n
 * \r \t, other control characters \u00XX, everything else as is. */
static void put_literal(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	out(w, "\"", 1);
	const char *run = s;
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c && c >= 0x20 && c != '"' && c != '\\')
			continue;
		out(w, run, (size_t)(p - run));
		if (!c)
			break;
		run = p + 1;
		switch (c) {
		case '"': out_str(w, "\\\""); break;
		case '\\': out_str(w, "\\\\"); break;
		case '\b': out_str(w, "\\b"); break;
		case '\f': out_str(w, "\\f"); break;
		case '\n': out_str(w, "\\n"); break;
		case '\r': out_str(w, "\\r"); break;
		case '\t': out_str(w, "\\t"); break;
		default: {
			char seq[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
			out(w, seq, sizeof(seq));
			break;
		}
		}
	}
	out(w, "\"", 1);
}

/* A string value as json_text() makes it: bytes that are not UTF-8 (a
 * netdev name is any bytes) come out escaped as "\xHH". */
static void put_string(struct jw *w, const char *s)
{
	if (utf8_valid((const unsigned char *)s)) {
		put_literal(w, s);
		return;
	}
	_cleanup_free_ char *escaped = text_escape(s);
	if (!escaped) {
		w->oom = true;
		return;
	}
	put_literal(w, escaped);
}

static void indent(struct jw *w, unsigned depth)
{
	static const char spaces[] = "                                ";
	for (unsigned n = 2 * depth; n;) {
		unsigned k = n < sizeof(spaces) - 1 ? n : (unsigned)sizeof(spaces) - 1;
		out(w, spaces, k);
		n -= k;
	}
}

/* What comes before a value: the separator, the indentation, the key. */
static void stream_prefix(struct jw *w, const char *key)
{
	if (w->depth) {
		if (w->has_items[w->depth])
			out(w, ",\n", 2);
		else
			out(w, "\n", 1);
		indent(w, w->depth);
		w->has_items[w->depth] = true;
	}
	if (key) {
		put_string(w, key);
		out(w, ": ", 2);
	}
}

/* --- building -------------------------------------------------------------------- */

/* Adds v (taken) to the open container under key, or makes it the root. */
static void tree_add(struct jw *w, const char *key, json_t *v)
{
	if (w->oom) {
		json_decref(v);
		return;
	}
	if (!v) {
		w->oom = true;
		return;
	}
	if (w->depth == 0) {
		json_decref(w->root);
		w->root = v;
		return;
	}
	json_t *top = w->stack[w->depth];
	int r = key ? json_object_set_new(top, key, v) : json_array_append_new(top, v);
	if (r < 0)
		w->oom = true;
}

/* --- the calls ------------------------------------------------------------------- */

static void begin(struct jw *w, const char *key, bool object)
{
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->oom = true;
		return;
	}
	if (w->f) {
		stream_prefix(w, key);
		out(w, object ? "{" : "[", 1);
		w->depth++;
		w->has_items[w->depth] = false;
		return;
	}
	json_t *v = object ? json_object() : json_array();
	tree_add(w, key, json_incref(v));
	w->depth++;
	w->stack[w->depth] = w->oom ? NULL : v;
	json_decref(v); /* the parent (or root) holds it */
}

static void end(struct jw *w, bool object)
{
	if (w->depth == 0) {
		w->oom = true;
		return;
	}
	if (w->f) {
		if (w->has_items[w->depth]) {
			out(w, "\n", 1);
			indent(w, w->depth - 1);
		}
		out(w, object ? "}" : "]", 1);
	}
	w->depth--;
}

void jw_object_begin(struct jw *w, const char *key)
{
	begin(w, key, true);
}

void jw_object_end(struct jw *w)
{
	end(w, true);
}

void jw_array_begin(struct jw *w, const char *key)
{
	begin(w, key, false);
}

void jw_array_end(struct jw *w)
{
	end(w, false);
}

void jw_null(struct jw *w, const char *key)
{
	if (w->f) {
		stream_prefix(w, key);
		out(w, "null", 4);
	} else
		tree_add(w, key, json_null());
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	if (!s)
		jw_null(w, key);
	else if (w->f) {
		stream_prefix(w, key);
		put_string(w, s);
	} else
		tree_add(w, key, json_text(s));
}

void jw_int(struct jw *w, const char *key, long long v)
{
	if (w->f) {
		stream_prefix(w, key);
		char buf[24], *p = buf + sizeof(buf);
		unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (v < 0)
			*--p = '-';
		out(w, p, (size_t)(buf + sizeof(buf) - p));
	} else
		tree_add(w, key, json_integer((json_int_t)v));
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	if (w->f) {
		stream_prefix(w, key);
		out_str(w, v ? "true" : "false");
	} else
		tree_add(w, key, json_boolean(v));
}

void jw_hex(struct jw *w, const char *key, unsigned v, int width)
{
	static const char hex[] = "0123456789abcdef";
	char buf[16], *p = buf + sizeof(buf) - 1;
	*p = '\0';
	int n = 0;
	do {
		*--p = hex[v & 0xf];
		v >>= 4;
		n++;
	} while ((v || n < width) && p > buf);
	jw_str(w, key, p);
}

void jw_strv(struct jw *w, const char *key, char *const *v)
{
	jw_array_begin(w, key);
	for (size_t i = 0; v && v[i]; i++)
		jw_str(w, NULL, v[i]);
	jw_array_end(w);
}

/* The JSON writer (output.h, struct jw): one set of calls that either
 * streams JSON to a FILE, byte for byte as jansson's json_dumpf() prints
 * with JSON_INDENT(2) | JSON_PRESERVE_ORDER, or builds the same document as
 * a jansson value. */
#include "output.h"

#include "util/input.h"
#include "util/util.h"

void jw_init_stream(struct jw *w, FILE *f)
{
	*w = (struct jw){.f = f};
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

int jw_finish(struct jw *w)
{
	if (w->oom || w->depth)
		return -ENOMEM;
	if (fputc('\n', w->f) == EOF || fflush(w->f) == EOF || ferror(w->f))
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
static void put_literal(FILE *f, const char *s)
{
	fputc('"', f);
	const char *run = s;
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c && c >= 0x20 && c != '"' && c != '\\')
			continue;
		fwrite(run, 1, (size_t)(p - run), f);
		if (!c)
			break;
		run = p + 1;
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default: fprintf(f, "\\u%04X", c); break;
		}
	}
	fputc('"', f);
}

/* A string value as json_text() makes it: bytes that are not UTF-8 (a
 * netdev name is any bytes) come out escaped as "\xHH". */
static void put_string(struct jw *w, const char *s)
{
	if (utf8_valid((const unsigned char *)s)) {
		put_literal(w->f, s);
		return;
	}
	_cleanup_free_ char *escaped = text_escape(s);
	if (!escaped) {
		w->oom = true;
		return;
	}
	put_literal(w->f, escaped);
}

static void indent(FILE *f, unsigned depth)
{
	static const char spaces[] = "                                ";
	for (unsigned n = 2 * depth; n;) {
		unsigned k = n < sizeof(spaces) - 1 ? n : (unsigned)sizeof(spaces) - 1;
		fwrite(spaces, 1, k, f);
		n -= k;
	}
}

/* What comes before a value: the separator, the indentation, the key. */
static void stream_prefix(struct jw *w, const char *key)
{
	if (w->depth) {
		fputs(w->has_items[w->depth] ? ",\n" : "\n", w->f);
		indent(w->f, w->depth);
		w->has_items[w->depth] = true;
	}
	if (key) {
		put_string(w, key);
		fputs(": ", w->f);
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
		fputc(object ? '{' : '[', w->f);
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
			fputc('\n', w->f);
			indent(w->f, w->depth - 1);
		}
		fputc(object ? '}' : ']', w->f);
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
		fputs("null", w->f);
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
		fprintf(w->f, "%lld", v);
	} else
		tree_add(w, key, json_integer((json_int_t)v));
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	if (w->f) {
		stream_prefix(w, key);
		fputs(v ? "true" : "false", w->f);
	} else
		tree_add(w, key, json_boolean(v));
}

void jw_hex(struct jw *w, const char *key, unsigned v, int width)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%0*x", width, v);
	jw_str(w, key, buf);
}

void jw_strv(struct jw *w, const char *key, char *const *v)
{
	jw_array_begin(w, key);
	for (size_t i = 0; v && v[i]; i++)
		jw_str(w, NULL, v[i]);
	jw_array_end(w);
}

/* alloc: device specs, aliases, requests, networks and the matcher (alloc.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "util/util.h"

static const char *const addr_field_names[_ALLOC_ADDR_MAX] = {"domain", "bus", "slot", "function"};
static const uint32_t addr_field_max[_ALLOC_ADDR_MAX] = {ALLOC_MAX_DOMAIN, ALLOC_MAX_BUS, ALLOC_MAX_SLOT,
							 ALLOC_MAX_FUNCTION};
static const int addr_field_width[_ALLOC_ADDR_MAX] = {4, 2, 2, 1};

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* A hex number as Python's int(s, 16) reads it (Nova's parser): blanks
 * around it, an optional 0x, underscores between digits. A sign is not
 * taken (Nova would take "-1" and then match nothing). -EINVAL when it is
 * not a number, -ERANGE when it passes max. */
static int parse_pyhex(const char *s, uint32_t max, uint32_t *ret)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len && s[0] == '+') {
		s++;
		len--;
	}
	bool prefix = len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	size_t i = prefix ? 2 : 0;
	bool any = false, big = false, last_us = prefix; /* "0x_1" is fine, "_1" is not */
	if (!prefix && i < len && s[i] == '_')
		return -EINVAL;
	uint64_t v = 0;
	for (; i < len; i++) {
		char c = s[i];
		if (c == '_') {
			if (!any && !prefix)
				return -EINVAL;
			if (last_us && any)
				return -EINVAL;
			if (last_us && !any && i != 2)
				return -EINVAL;
			last_us = true;
			continue;
		}
		if (!isxdigit((unsigned char)c))
			return -EINVAL;
		any = true;
		last_us = false;
		v = v * 16 + (uint64_t)(isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10));
		if (v > max)
			big = true, v = (uint64_t)max + 1;
	}
	if (!any || last_us)
		return -EINVAL;
	if (big)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

/* A vendor_id/product_id-like value: "*" or a hex number up to max. */
static int parse_id_value(const char *key, const char *what, const char *s, uint32_t max, int32_t *ret,
			  char **ret_error)
{
	if (strcmp(s, "*") == 0) {
		*ret = ALLOC_ANY;
		return 0;
	}
	uint32_t v;
	int r = parse_pyhex(s, max, &v);
	if (r == -ERANGE)
		return error_set(ret_error, -EINVAL, "%s%s'%s' is greater than the maximum allowable value (%X)", key,
				 what, s, max);
	if (r < 0)
		return error_set(ret_error, -EINVAL, "%s%s'%s' does not parse as a hex number", key, what, s);
	*ret = (int32_t)v;
	return 0;
}

static int get_string(const json_t *j, const char *key, const char **ret, char **ret_error)
{
	if (!json_is_string(j))
		return error_set(ret_error, -EINVAL, "%s: expected a string, found %s", key, json_kind(j));
	const char *s = json_string_value(j);
	if (strlen(s) != json_string_length(j))
		return error_set(ret_error, -EINVAL, "%s: contains a NUL character", key);
	*ret = s;
	return 0;
}

/* ---- address ------------------------------------------------------------ */

static void addr_done(struct alloc_addr *a)
{
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++) {
		if (a->has_re[f])
			regfree(&a->re[f]);
		a->has_re[f] = false;
		free(a->text[f]);
		a->text[f] = NULL;
	}
}

static int glob_field(struct alloc_addr *a, int f, const char *s, size_t len, const char *whole, char **ret_error)
{
	_cleanup_free_ char *v = strndup(s, len);
	if (!v)
		return -ENOMEM;
	if (strcmp(v, "*") == 0) {
		a->glob[f] = ALLOC_ANY;
		a->text[f] = strdup("*");
		return a->text[f] ? 0 : -ENOMEM;
	}
	uint32_t n;
	int r = parse_pyhex(v, addr_field_max[f], &n);
	if (r == -ERANGE)
		return error_set(ret_error, -EINVAL,
				 "address: %s '%s' (in '%s') is greater than the maximum allowable value (%X)",
				 addr_field_names[f], v, whole, addr_field_max[f]);
	if (r < 0)
		return error_set(ret_error, -EINVAL, "address: %s '%s' (in '%s') does not parse as a hex number",
				 addr_field_names[f], v, whole);
	a->glob[f] = (int32_t)n;
	if (asprintf(&a->text[f], "%0*x", addr_field_width[f], n) < 0)
		a->text[f] = NULL;
	return a->text[f] ? 0 : -ENOMEM;
}

static char *strip_dup(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

/* "[[[[domain]:]bus]:][slot][.[function]]", as Nova's PciAddressGlobSpec. */
static int parse_addr_glob(const char *s, struct alloc_addr *a, char **ret_error)
{
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++)
		a->glob[f] = ALLOC_ANY;
	int r;
	const char *dot = strchr(s, '.');
	size_t dbs_len = dot ? (size_t)(dot - s) : strlen(s);
	if (dot && dot[1]) {
		/* The function is taken as written after the first '.' (stripped). */
		_cleanup_free_ char *fn = strip_dup(dot + 1, strlen(dot + 1));
		if (!fn)
			return -ENOMEM;
		if ((r = glob_field(a, ALLOC_FUNCTION, fn, strlen(fn), s, ret_error)) < 0)
			return r;
	}
	if (dbs_len) {
		const char *parts[3];
		size_t lens[3], n = 0;
		const char *p = s, *end = s + dbs_len;
		for (;;) {
			const char *c = memchr(p, ':', (size_t)(end - p));
			if (n == 3)
				return error_set(ret_error, -EINVAL,
						 "address: '%s' is not [[[[domain]:]bus]:][slot][.[function]]", s);
			parts[n] = p;
			lens[n++] = c ? (size_t)(c - p) : (size_t)(end - p);
			if (!c)
				break;
			p = c + 1;
		}
		/* Missing leading parts are wildcards; blank parts are too. */
		size_t skip = 3 - n;
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *v = strip_dup(parts[i], lens[i]);
			if (!v)
				return -ENOMEM;
			int f = (int)(skip + i);
			if ((r = glob_field(a, f, *v ? v : "*", strlen(*v ? v : "*"), s, ret_error)) < 0)
				return r;
		}
	}
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++)
		if (!a->text[f] && !(a->text[f] = strdup("*")))
			return -ENOMEM;
	return 0;
}

/* {"domain": RE, "bus": RE, "slot": RE, "function": RE}, each optional. */
/* Refuses a pattern whose compilation would take unbounded memory (see
 * ALLOC_MAX_REGEX_REPEATS): glibc's regcomp duplicates a repeated part for
 * every repetition, so "a{1,200}{1,200}" or a run of '+' costs megabytes,
 * and a repetition stacked on another ("5*+++++", which POSIX leaves
 * undefined) costs it seconds, each one more doubling the work. */
static int regex_bounded(const char *re, const char *k, char **ret_error)
{
	unsigned repeats = 0, bounds = 1;
	bool after_repeat = false; /* the last token was a repetition */
	for (const char *p = re; *p; p++) {
		bool repeat = *p == '*' || *p == '+' || *p == '?' || (*p == '{' && p[1] >= '0' && p[1] <= '9');
		if (repeat && after_repeat)
			return error_set(ret_error, -EINVAL,
					 "%s: a repetition ('*', '+', '?', '{m,n}') directly after another, as in 'a*+', "
					 "is not allowed",
					 k);
		after_repeat = repeat;
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			/* a bracket expression: ']' first (after an optional '^') is a member */
			const char *q = p + 1;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q)
				break; /* unterminated: regcomp says so */
			p = q;
		} else if (*p == '*' || *p == '+' || *p == '?') {
			if (++repeats > ALLOC_MAX_REGEX_REPEATS)
				return error_set(ret_error, -EINVAL,
						 "%s: more than %u repetitions ('*', '+', '?') in one pattern", k,
						 ALLOC_MAX_REGEX_REPEATS);
		} else if (*p == '{') {
			char *end;
			unsigned long m = strtoul(p + 1, &end, 10), n = m;
			if (end == p + 1)
				continue; /* not a bound: a literal '{' or regcomp's error */
			if (*end == ',') {
				const char *q = end + 1;
				n = strtoul(q, &end, 10);
				if (end == q)
					n = ULONG_MAX; /* {m,}: no upper bound */
			}
			if (*end != '}')
				continue;
			if (n == 0)
				n = 1;
			if (n > ALLOC_MAX_REGEX_BOUNDS || bounds * n > ALLOC_MAX_REGEX_BOUNDS)
				return error_set(ret_error, -EINVAL,
						 "%s: repetition bounds {m,n} multiply to more than %u in one pattern", k,
						 ALLOC_MAX_REGEX_BOUNDS);
			bounds *= (unsigned)n;
			p = end;
		}
	}
	return 0;
}

static int parse_addr_regex(const json_t *j, struct alloc_addr *a, char **ret_error)
{
	a->regex = true;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		int f = 0;
		while (f < _ALLOC_ADDR_MAX && strcmp(addr_field_names[f], key) != 0)
			f++;
		if (f == _ALLOC_ADDR_MAX)
			return error_set(ret_error, -EINVAL,
					 "address: unknown key '%s' (expected domain, bus, slot, function)", key);
	}
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++) {
		json_t *fv = json_object_get(j, addr_field_names[f]);
		if (!fv) {
			if (!(a->text[f] = strdup(".*")))
				return -ENOMEM;
			continue;
		}
		_cleanup_free_ char *k = NULL;
		if (asprintf(&k, "address: %s", addr_field_names[f]) < 0)
			return -ENOMEM;
		const char *re;
		int r = get_string(fv, k, &re, ret_error);
		if (r < 0)
			return r;
		if (strlen(re) > ALLOC_MAX_REGEX_LEN)
			return error_set(ret_error, -EINVAL, "%s: longer than %u bytes", k, ALLOC_MAX_REGEX_LEN);
		if (!(a->text[f] = strdup(re)))
			return -ENOMEM;
		if (!*re)
			continue; /* the empty pattern matches everything */
		r = regex_bounded(re, k, ret_error);
		if (r < 0)
			return r;
		/* re.match: anchored at the start only. */
		_cleanup_free_ char *anchored = NULL;
		if (asprintf(&anchored, "^(%s)", re) < 0)
			return -ENOMEM;
		int rc = regcomp(&a->re[f], anchored, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char buf[128];
			regerror(rc, &a->re[f], buf, sizeof(buf));
			return error_set(ret_error, -EINVAL, "%s: '%s' is not a regular expression (%s)", k, re, buf);
		}
		a->has_re[f] = true;
	}
	return 0;
}

/* Nova's is_single_address(): every field hex digits. The PF rule then
 * looks up exactly that text as a device folder, so only the canonical
 * spelling ("0000:01:00.0") can name a PF. *ret is that text. */
static bool addr_single_text(const struct alloc_addr *a, char **ret)
{
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++)
		for (const char *p = a->text[f]; p && *p; p++)
			if (!isxdigit((unsigned char)*p))
				return false;
	return asprintf(ret, "%s:%s:%s.%s", a->text[0], a->text[1], a->text[2], a->text[3]) >= 0;
}

static bool addr_match(const struct alloc_addr *a, const char *addr)
{
	struct pci_addr pa;
	if (pci_addr_parse(addr, &pa) < 0)
		return false;
	uint32_t v[_ALLOC_ADDR_MAX] = {pa.domain, pa.bus, pa.slot, pa.function};
	for (int f = 0; f < _ALLOC_ADDR_MAX; f++) {
		if (!a->regex) {
			if (a->glob[f] != ALLOC_ANY && (uint32_t)a->glob[f] != v[f])
				return false;
			continue;
		}
		if (!a->has_re[f])
			continue;
		char text[16];
		snprintf(text, sizeof(text), "%0*x", addr_field_width[f], v[f]);
		if (regexec(&a->re[f], text, 0, NULL, 0) != 0)
			return false;
	}
	return true;
}

/* ---- pf: "eth0#0-3,5" --------------------------------------------------- */

static int parse_decimal(const char *s, size_t len, uint32_t *ret)
{
	if (len == 0 || len > 9)
		return -EINVAL;
	uint32_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

static int parse_pf(const char *s, struct alloc_spec *spec, char **ret_error)
{
	const char *hash = strchr(s, '#');
	if (!hash || hash == s || !hash[1])
		return error_set(ret_error, -EINVAL,
				 "pf: '%s' is not PF#VFS (a PF netdev or PCI address, '#', VF indexes and ranges: eth0#0-3,5)",
				 s);
	if (!(spec->pf = strndup(s, (size_t)(hash - s))))
		return -ENOMEM;
	const char *p = hash + 1;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *dash = memchr(p, '-', len);
		uint32_t a, b;
		if (parse_decimal(p, dash ? (size_t)(dash - p) : len, &a) < 0 ||
		    (dash && parse_decimal(dash + 1, len - (size_t)(dash + 1 - p), &b) < 0))
			return error_set(ret_error, -EINVAL, "pf: '%.*s' (in '%s') is not a VF index or a range A-B",
					 (int)len, p, s);
		if (!dash)
			b = a;
		if (b < a)
			return error_set(ret_error, -EINVAL, "pf: range '%.*s' (in '%s') ends before it starts", (int)len,
					 p, s);
		if (spec->n_pf_vfs == ALLOC_MAX_PF_RANGES)
			return error_set(ret_error, -EINVAL, "pf: more than %u indexes and ranges in '%s'",
					 ALLOC_MAX_PF_RANGES, s);
		struct alloc_vf_range *v = realloc(spec->pf_vfs, (spec->n_pf_vfs + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		spec->pf_vfs = v;
		v[spec->n_pf_vfs++] = (struct alloc_vf_range){a, b};
		if (!p[len])
			break;
		p += len + 1;
	}
	return 0;
}

/* ---- spec --------------------------------------------------------------- */

void alloc_spec_free(struct alloc_spec *s)
{
	if (!s)
		return;
	if (s->has_address)
		addr_done(&s->address);
	free(s->devname);
	free(s->pf);
	free(s->pf_vfs);
	json_decref(s->tags);
	json_decref(s->obj);
	free(s);
}

static void alloc_spec_freep(struct alloc_spec **s)
{
	alloc_spec_free(*s);
}

int alloc_spec_parse(const json_t *j, struct alloc_spec **ret, char **ret_error)
{
	if (!json_is_object(j))
		return error_set(ret_error, -EINVAL, "device spec: expected an object, found %s", json_kind(j));
	_cleanup_(alloc_spec_freep) struct alloc_spec *s = calloc(1, sizeof(*s));
	if (!s || !(s->tags = json_object()) || !(s->obj = json_deep_copy(j)))
		return -ENOMEM;
	s->vendor_id = s->product_id = ALLOC_ANY;
	const json_t *address = NULL, *devname = NULL, *pf = NULL;
	const char *key;
	json_t *v;
	int r;
	json_object_foreach((json_t *)j, key, v) {
		if (strcmp(key, "vendor_id") == 0 || strcmp(key, "product_id") == 0) {
			const char *str;
			if ((r = get_string(v, key, &str, ret_error)) < 0)
				return r;
			/* Nova strips vendor_id (not product_id) before its '*' test. */
			_cleanup_free_ char *stripped = key[0] == 'v' ? strip_dup(str, strlen(str)) : strdup(str);
			if (!stripped)
				return -ENOMEM;
			if ((r = parse_id_value(key, ": ", stripped, ALLOC_MAX_ID,
						key[0] == 'v' ? &s->vendor_id : &s->product_id, ret_error)) < 0)
				return r;
		} else if (strcmp(key, "address") == 0) {
			address = v;
		} else if (strcmp(key, "devname") == 0) {
			devname = v;
		} else if (strcmp(key, "pf") == 0) {
			pf = v;
		} else if (json_object_set(s->tags, key, v) < 0) {
			return -ENOMEM;
		}
	}
	const char *name = NULL;
	if (devname && (r = get_string(devname, "devname", &name, ret_error)) < 0)
		return r;
	if (name && *name && !(s->devname = strdup(name)))
		return -ENOMEM;
	/* Nova: an empty address is every address, as is none. */
	bool has_addr = address && !(json_is_string(address) && json_string_length(address) == 0);
	if (has_addr && s->devname)
		return error_set(ret_error, -EINVAL, "address: cannot be given with devname (one names the device)");
	if (pf) {
		const char *str;
		if (has_addr || s->devname)
			return error_set(ret_error, -EINVAL, "pf: cannot be given with %s (pf names the device)",
					 has_addr ? "address" : "devname");
		if ((r = get_string(pf, "pf", &str, ret_error)) < 0)
			return r;
		if ((r = parse_pf(str, s, ret_error)) < 0)
			return r;
	}
	if (has_addr) {
		s->has_address = true;
		if (json_is_string(address)) {
			const char *str;
			if ((r = get_string(address, "address", &str, ret_error)) < 0)
				return r;
			r = parse_addr_glob(str, &s->address, ret_error);
		} else if (json_is_object(address)) {
			r = parse_addr_regex(address, &s->address, ret_error);
		} else {
			r = error_set(ret_error, -EINVAL,
				      "address: expected a string or an object of domain, bus, slot, function; found %s",
				      json_kind(address));
		}
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* ---- aliases ------------------------------------------------------------ */

static const char *const device_type_names[_ALLOC_TYPE_MAX] = {"type-PCI", "type-PF", "type-VF"};
static const char *const numa_policy_names[_ALLOC_NUMA_MAX] = {"legacy", "required", "preferred", "socket"};

const char *alloc_device_type_to_string(enum alloc_device_type t)
{
	return t >= 0 && t < _ALLOC_TYPE_MAX ? device_type_names[t] : NULL;
}

const char *alloc_numa_policy_to_string(enum alloc_numa_policy p)
{
	return p >= 0 && p < _ALLOC_NUMA_MAX ? numa_policy_names[p] : NULL;
}

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

bool alloc_name_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > ALLOC_MAX_NAME_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

static int get_name(const json_t *j, const char *key, const char **ret, char **ret_error)
{
	json_t *v = json_object_get(j, key);
	if (!v)
		return error_set(ret_error, -EINVAL, "%s: missing", key);
	int r = get_string(v, key, ret, ret_error);
	if (r < 0)
		return r;
	if (!alloc_name_valid(*ret))
		return error_set(ret_error, -EINVAL,
				 "%s: '%s' is not a name (1-%u letters, digits, '-', '_', '.')", key, *ret,
				 ALLOC_MAX_NAME_LEN);
	return 0;
}

const struct alloc_alias *alloc_aliases_find(const struct alloc_aliases *a, const char *name)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

void alloc_aliases_done(struct alloc_aliases *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].entries);
	}
	free(a->v);
	*a = (struct alloc_aliases){0};
}

int alloc_aliases_add(struct alloc_aliases *a, const json_t *j, char **ret_error)
{
	if (!json_is_object(j))
		return error_set(ret_error, -EINVAL, "alias: expected an object, found %s", json_kind(j));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		static const char *const known[] = {"name", "vendor_id", "product_id", "device_type", "numa_policy"};
		if (lookup(known, (int)ARRAY_SIZE(known), key) < 0)
			return error_set(ret_error, -EINVAL,
					 "%s: unknown key (expected name, vendor_id, product_id, device_type, numa_policy)",
					 key);
	}
	const char *name;
	int r = get_name(j, "name", &name, ret_error);
	if (r < 0)
		return r;
	struct alloc_alias_entry e = {ALLOC_ANY, ALLOC_ANY};
	for (int k = 0; k < 2; k++) {
		const char *id = k ? "product_id" : "vendor_id", *str;
		json_t *iv = json_object_get(j, id);
		if (!iv)
			continue;
		if ((r = get_string(iv, id, &str, ret_error)) < 0)
			return r;
		if ((r = parse_id_value(id, ": ", str, ALLOC_MAX_ID, k ? &e.product_id : &e.vendor_id, ret_error)) < 0)
			return r;
	}
	int type = -1, numa = -1;
	json_t *tv = json_object_get(j, "device_type"), *nv = json_object_get(j, "numa_policy");
	const char *str;
	if (tv) {
		if ((r = get_string(tv, "device_type", &str, ret_error)) < 0)
			return r;
		if ((type = lookup(device_type_names, _ALLOC_TYPE_MAX, str)) < 0)
			return error_set(ret_error, -EINVAL, "device_type: '%s' is not type-VF, type-PF or type-PCI",
					 str);
	}
	if (nv) {
		if ((r = get_string(nv, "numa_policy", &str, ret_error)) < 0)
			return r;
		if ((numa = lookup(numa_policy_names, _ALLOC_NUMA_MAX, str)) < 0)
			return error_set(ret_error, -EINVAL,
					 "numa_policy: '%s' is not required, legacy, preferred or socket", str);
	}
	struct alloc_alias *al = (struct alloc_alias *)alloc_aliases_find(a, name);
	if (al) {
		/* Nova: entries of one name must agree on these. */
		enum alloc_device_type t = type < 0 ? ALLOC_TYPE_ANY : (enum alloc_device_type)type;
		if (t != al->device_type)
			return error_set(ret_error, -EINVAL,
					 "device_type: alias '%s' is given as %s here and as %s before; entries of one alias must agree",
					 name, t == ALLOC_TYPE_ANY ? "any type" : device_type_names[t],
					 al->device_type == ALLOC_TYPE_ANY ? "any type" : device_type_names[al->device_type]);
		enum alloc_numa_policy p = numa < 0 ? ALLOC_NUMA_LEGACY : (enum alloc_numa_policy)numa;
		if (p != al->numa_policy)
			return error_set(ret_error, -EINVAL,
					 "numa_policy: alias '%s' is given as %s here and as %s before; entries of one alias must agree",
					 name, numa_policy_names[p], numa_policy_names[al->numa_policy]);
	} else {
		struct alloc_alias *nvv = realloc(a->v, (a->n + 1) * sizeof(*nvv));
		if (!nvv)
			return -ENOMEM;
		a->v = nvv;
		al = &a->v[a->n];
		*al = (struct alloc_alias){
			.device_type = type < 0 ? ALLOC_TYPE_ANY : (enum alloc_device_type)type,
			.numa_policy = numa < 0 ? ALLOC_NUMA_LEGACY : (enum alloc_numa_policy)numa,
			.has_device_type = type >= 0,
			.has_numa_policy = numa >= 0,
		};
		if (!(al->name = strdup(name)))
			return -ENOMEM;
		a->n++;
	}
	struct alloc_alias_entry *ne = realloc(al->entries, (al->n_entries + 1) * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	al->entries = ne;
	ne[al->n_entries++] = e;
	return 0;
}

/* ---- requests ----------------------------------------------------------- */

void alloc_request_done(struct alloc_request *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i].alias);
	free(r->items);
	*r = (struct alloc_request){0};
}

int alloc_request_parse(const char *s, const struct alloc_aliases *aliases, struct alloc_request *ret,
			char **ret_error)
{
	struct alloc_request q = {0};
	int r = 0;
	const char *p = s;
	for (;;) {
		size_t len = strcspn(p, ",");
		_cleanup_free_ char *item = strip_dup(p, len);
		if (!item) {
			r = -ENOMEM;
			goto fail;
		}
		char *colon = strchr(item, ':');
		if (colon)
			*colon = '\0';
		_cleanup_free_ char *name = strip_dup(item, strlen(item));
		_cleanup_free_ char *count = colon ? strip_dup(colon + 1, strlen(colon + 1)) : NULL;
		if (!name || (colon && !count)) {
			r = -ENOMEM;
			goto fail;
		}
		uint32_t n;
		if (!colon || !alloc_name_valid(name)) {
			r = error_set(ret_error, -EINVAL, "'%.*s' is not alias:count", (int)len, p);
			goto fail;
		}
		if (parse_decimal(count, strlen(count), &n) < 0 || n == 0 || n > ALLOC_MAX_COUNT) {
			r = error_set(ret_error, -EINVAL, "count '%s' of alias '%s' is not a number 1-%u", count,
				      name, ALLOC_MAX_COUNT);
			goto fail;
		}
		if (aliases && !alloc_aliases_find(aliases, name)) {
			r = error_set(ret_error, -EINVAL, "alias '%s' is not defined", name);
			goto fail;
		}
		for (size_t i = 0; i < q.n; i++)
			if (strcmp(q.items[i].alias, name) == 0) {
				r = error_set(ret_error, -EINVAL, "alias '%s' is given twice", name);
				goto fail;
			}
		if (q.n == ALLOC_MAX_REQUEST_ITEMS) {
			r = error_set(ret_error, -EINVAL, "more than %u aliases", ALLOC_MAX_REQUEST_ITEMS);
			goto fail;
		}
		struct alloc_request_item *v = realloc(q.items, (q.n + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			goto fail;
		}
		q.items = v;
		v[q.n++] = (struct alloc_request_item){.alias = TAKE_PTR(name), .count = n};
		if (!p[len])
			break;
		p += len + 1;
	}
	*ret = q;
	return 0;
fail:
	alloc_request_done(&q);
	return r;
}

/* ---- networks ----------------------------------------------------------- */

const struct alloc_network *alloc_networks_find(const struct alloc_networks *a, const char *name)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

static void network_done(struct alloc_network *n)
{
	free(n->name);
	strv_free(n->pfs);
	strv_free(n->labels);
}

void alloc_networks_done(struct alloc_networks *a)
{
	for (size_t i = 0; i < a->n; i++)
		network_done(&a->v[i]);
	free(a->v);
	*a = (struct alloc_networks){0};
}

static int get_strv(const json_t *j, const char *key, bool pf, char ***ret, char **ret_error)
{
	json_t *v = json_object_get(j, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return error_set(ret_error, -EINVAL, "%s: expected a list of strings, found %s", key, json_kind(v));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		const char *s;
		int r = get_string(e, key, &s, ret_error);
		if (r < 0)
			return r;
		struct pci_addr a;
		if (pf && pci_addr_parse(s, &a) == 0) {
			char buf[PCI_ADDR_STRLEN];
			pci_addr_format(&a, buf);
			r = strv_pushf(ret, "%s", buf);
		} else if (!*s || strlen(s) > 64) {
			return error_set(ret_error, -EINVAL, "%s: '%s' is not a %s", key, s,
					 pf ? "netdev name or PCI address" : "label");
		} else {
			r = strv_pushf(ret, "%s", s);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int alloc_networks_add(struct alloc_networks *a, const json_t *j, char **ret_error)
{
	if (!json_is_object(j))
		return error_set(ret_error, -EINVAL, "network: expected an object, found %s", json_kind(j));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)j, key, v) {
		static const char *const known[] = {"name", "vlan", "pfs", "labels"};
		if (lookup(known, (int)ARRAY_SIZE(known), key) < 0)
			return error_set(ret_error, -EINVAL, "%s: unknown key (expected name, vlan, pfs, labels)", key);
	}
	const char *name;
	int r = get_name(j, "name", &name, ret_error);
	if (r < 0)
		return r;
	if (alloc_networks_find(a, name))
		return error_set(ret_error, -EINVAL, "name: network '%s' is given twice", name);
	struct alloc_network n = {.vlan = -1};
	json_t *vl = json_object_get(j, "vlan");
	if (vl && !json_is_null(vl)) {
		/* a number in JSON; YAML's values reach here as strings */
		uint32_t id = 0;
		if (json_is_integer(vl) && json_integer_value(vl) >= 1 && json_integer_value(vl) <= 4095)
			id = (uint32_t)json_integer_value(vl);
		else if (json_is_string(vl) &&
			 parse_decimal(json_string_value(vl), json_string_length(vl), &id) < 0)
			id = 0;
		if (id < 1 || id > 4095)
			return error_set(ret_error, -EINVAL, "vlan: expected a VLAN id 1-4095");
		n.vlan = (int32_t)id;
	}
	if ((r = get_strv(j, "pfs", true, &n.pfs, ret_error)) < 0 ||
	    (r = get_strv(j, "labels", false, &n.labels, ret_error)) < 0)
		goto fail;
	if (!n.pfs && !n.labels) {
		r = error_set(ret_error, -EINVAL, "pfs: network '%s' allows no PF (give pfs or labels)", name);
		goto fail;
	}
	struct alloc_network *nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
	if (!nv) {
		r = -ENOMEM;
		goto fail;
	}
	a->v = nv;
	if (!(n.name = strdup(name))) {
		r = -ENOMEM;
		goto fail;
	}
	a->v[a->n++] = n;
	return 0;
fail:
	network_done(&n);
	return r;
}

/* ---- the matcher -------------------------------------------------------- */

const char *alloc_role(const struct pci_function *d)
{
	return d->pf ? "vf" : d->is_pf ? "pf" : "pci";
}

static enum alloc_device_type device_type(const struct pci_function *d)
{
	return d->pf ? ALLOC_TYPE_VF : d->is_pf ? ALLOC_TYPE_PF : ALLOC_TYPE_PCI;
}

void alloc_result_done(struct alloc_result *r)
{
	free(r->rows);
	*r = (struct alloc_result){0};
}

/* What a spec names on this host, looked up once per match. */
struct bound_spec {
	const struct alloc_spec *s;
	bool none;                      /* devname/pf names nothing here */
	const struct pci_function *dev; /* devname: the function */
	bool pf_rule;                   /* address/devname names a PF: its VFs match */
	const struct pci_function *pf;  /* pf: */
};

/* Nova's is_physical_function(): sriov_totalvfs > 0. */
static bool is_sriov_pf(const struct pci_function *d)
{
	return d && d->is_pf && d->sriov.valid && d->sriov.totalvfs > 0;
}

static void bind_spec(const struct pci_tree *t, const struct alloc_spec *s, struct bound_spec *b)
{
	*b = (struct bound_spec){.s = s};
	if (s->devname) {
		b->dev = pci_tree_find_netdev(t, s->devname);
		b->none = !b->dev;
		b->pf_rule = is_sriov_pf(b->dev);
	} else if (s->pf) {
		struct pci_addr a;
		char buf[PCI_ADDR_STRLEN];
		if (pci_addr_parse(s->pf, &a) == 0) {
			pci_addr_format(&a, buf);
			b->pf = pci_tree_find_addr(t, buf);
		} else {
			b->pf = pci_tree_find_netdev(t, s->pf);
		}
		b->none = !b->pf || !b->pf->is_pf;
	} else if (s->has_address) {
		_cleanup_free_ char *single = NULL;
		if (addr_single_text(&s->address, &single))
		{
			const struct pci_function *d = pci_tree_find_addr(t, single);
			b->pf_rule = d && strcmp(d->addr, single) == 0 && is_sriov_pf(d);
		}
	}
}

static bool id_match(int32_t want, uint16_t have)
{
	return want == ALLOC_ANY || (uint32_t)want == have;
}

/* NULL when the spec takes d, else why not. */
static const char *spec_why_not(const struct bound_spec *b, const struct pci_function *d)
{
	const struct alloc_spec *s = b->s;
	if (b->none)
		return s->devname ? "devname names no device here" : "pf names no PF here";
	if (!d->ids_valid && (s->vendor_id != ALLOC_ANY || s->product_id != ALLOC_ANY))
		return "vendor and product unreadable";
	if (!id_match(s->vendor_id, d->vendor_id))
		return "vendor_id differs";
	if (!id_match(s->product_id, d->device_id))
		return "product_id differs";
	if (s->pf) {
		if (d->pf != b->pf)
			return "not a VF of the pf";
		for (size_t i = 0; i < s->n_pf_vfs; i++)
			if (d->vf_index >= s->pf_vfs[i].first && d->vf_index <= s->pf_vfs[i].last)
				return NULL;
		return "VF index not in the pf list";
	}
	if (b->pf_rule) {
		/* Nova: a PF named by address or devname stands for its VFs. */
		if (!d->pf)
			return "the spec names a PF: its VFs count, not it";
		if (b->dev)
			return d->pf == b->dev ? NULL : "not a VF of the devname's PF";
		return addr_match(&s->address, d->pf->addr) ? NULL : "not a VF of the addressed PF";
	}
	if (b->dev)
		return d == b->dev ? NULL : "not the devname's device";
	if (s->has_address && !addr_match(&s->address, d->addr))
		return "address differs";
	return NULL;
}

int alloc_match_specs(const struct pci_tree *t, struct alloc_spec *const *specs, size_t n,
		      struct alloc_result *ret)
{
	struct alloc_result res = {.rows = calloc(t->n_devs ? t->n_devs : 1, sizeof(struct alloc_row))};
	_cleanup_free_ struct bound_spec *b = calloc(n ? n : 1, sizeof(*b));
	if (!res.rows || !b) {
		free(res.rows);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		bind_spec(t, specs[k], &b[k]);
	for (size_t i = 0; i < t->n_devs; i++) {
		struct alloc_row *row = &res.rows[res.n++];
		*row = (struct alloc_row){.dev = t->devs[i], .reason = "no device spec"};
		for (size_t k = 0; k < n; k++) {
			const char *why = spec_why_not(&b[k], t->devs[i]);
			if (!why) {
				row->ok = true;
				row->spec = specs[k];
				row->reason = NULL;
				break;
			}
			if (k == 0 || n == 1)
				row->reason = why;
			else
				row->reason = "no device spec matches";
		}
	}
	*ret = res;
	return 0;
}

void alloc_result_filter_alias(struct alloc_result *r, const struct alloc_alias *a)
{
	for (size_t i = 0; i < r->n; i++) {
		struct alloc_row *row = &r->rows[i];
		if (!row->ok)
			continue;
		const struct pci_function *d = row->dev;
		if (a->device_type != ALLOC_TYPE_ANY && device_type(d) != a->device_type) {
			row->ok = false;
			row->reason = "device_type differs from the alias";
			continue;
		}
		bool any = false;
		for (size_t e = 0; e < a->n_entries && !any; e++)
			any = d->ids_valid && id_match(a->entries[e].vendor_id, d->vendor_id) &&
			      id_match(a->entries[e].product_id, d->device_id);
		if (!any) {
			row->ok = false;
			row->reason = "vendor_id/product_id differ from the alias";
		}
	}
}

void alloc_result_filter_network(struct alloc_result *r, const struct alloc_network *n, alloc_pf_labels_fn labels,
				 void *data)
{
	for (size_t i = 0; i < r->n; i++) {
		struct alloc_row *row = &r->rows[i];
		if (!row->ok)
			continue;
		const struct pci_function *pf = row->dev->pf;
		if (!pf) {
			row->ok = false;
			row->reason = "not a VF";
			continue;
		}
		bool allowed = strv_contains(n->pfs, pf->addr);
		for (size_t k = 0; !allowed && pf->netdevs && pf->netdevs[k]; k++)
			allowed = strv_contains(n->pfs, pf->netdevs[k]);
		char *const *l = labels ? labels(pf, data) : NULL;
		for (size_t k = 0; !allowed && l && l[k]; k++)
			allowed = strv_contains(n->labels, l[k]);
		if (!allowed) {
			row->ok = false;
			row->reason = "its PF does not carry the network";
		}
	}
}

/* The request's devices: those of each alias, in tree order, once each. */
static int match_request(const struct pci_tree *t, const struct alloc_query *q, struct alloc_result *ret,
			 char **ret_error)
{
	struct alloc_request req;
	int r = alloc_request_parse(q->request, q->aliases, &req, ret_error);
	if (r < 0)
		return r;
	/* No device spec given: every device is in the pool. */
	struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY};
	struct alloc_spec *anyp = &any;
	struct alloc_result all = {0};
	bool have_specs = q->n_specs > 0;
	r = alloc_match_specs(t, have_specs ? q->specs : &anyp, have_specs ? q->n_specs : 1, &all);
	if (r < 0)
		goto out;
	struct alloc_row *ok = calloc(all.n ? all.n : 1, sizeof(*ok));
	if (!ok) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < req.n; i++) {
		struct alloc_result one = {.rows = malloc((all.n ? all.n : 1) * sizeof(*one.rows)), .n = all.n};
		if (!one.rows) {
			free(ok);
			r = -ENOMEM;
			goto out;
		}
		memcpy(one.rows, all.rows, all.n * sizeof(*one.rows));
		alloc_result_filter_alias(&one, alloc_aliases_find(q->aliases, req.items[i].alias));
		for (size_t k = 0; k < one.n; k++)
			if (one.rows[k].ok && !ok[k].ok)
				ok[k] = one.rows[k];
		alloc_result_done(&one);
	}
	for (size_t i = 0; i < all.n; i++)
		if (!ok[i].ok) {
			ok[i] = all.rows[i];
			ok[i].ok = false;
		} else if (!have_specs) {
			ok[i].spec = NULL;
		}
	free(all.rows);
	all.rows = ok;
	*ret = all;
	all = (struct alloc_result){0};
out:
	alloc_result_done(&all);
	alloc_request_done(&req);
	return r;
}

int alloc_match_query(const struct pci_tree *t, const struct alloc_query *q, struct alloc_result *ret,
		      char **ret_error)
{
	if (q->request)
		return match_request(t, q, ret, ret_error);
	/* A network takes the VFs the device specs offer (every device when
	 * there are none) on the PFs it allows. */
	struct alloc_spec any = {.vendor_id = ALLOC_ANY, .product_id = ALLOC_ANY}, *anyp = &any;
	bool pool = q->n_specs > 0;
	struct alloc_result res;
	int r = alloc_match_specs(t, pool ? q->specs : &anyp, pool ? q->n_specs : 1, &res);
	if (r < 0)
		return r;
	if (q->network)
		alloc_result_filter_network(&res, q->network, q->labels, q->labels_data);
	for (size_t i = 0; !pool && i < res.n; i++)
		res.rows[i].spec = NULL;
	*ret = res;
	return 0;
}

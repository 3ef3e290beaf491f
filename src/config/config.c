/* config: YAML text -> struct config (see config.h and docs/config.md).
 *
 * libyaml composes each file into a node tree (yaml_parser_load); we walk it
 * with one table of keys per mapping, so that unknown and repeated keys are
 * caught in one place, and every error points at the node it is about.
 * A file is merged into a copy of the config, which replaces the original
 * only when the whole file is valid. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config/config.h"
#include "util/input.h"
#include "util/util.h"

#define VF_INDEX_MAX (CONFIG_MAX_NUMVFS - 1)

/* ---- the model ---------------------------------------------------------- */

static const char *const match_kind_names[_PF_MATCH_MAX] = {
	[PF_MATCH_NETDEV] = "netdev",
	[PF_MATCH_PCI] = "pci",
	[PF_MATCH_DEVICE] = "device",
	[PF_MATCH_ALTNAME] = "altname",
	[PF_MATCH_PATH] = "path",
};
#define MATCH_KEYS "netdev, pci, device, altname, path"
#define MATCH_KEYS_OR "netdev, pci, device, altname or path"


static const char *const mac_scheme_names[_MAC_SCHEME_MAX] = {
	[MAC_SCHEME_NONE] = "none",
	[MAC_SCHEME_STABLE] = "stable",
};

const char *pf_match_kind_to_string(enum pf_match_kind k)
{
	return (unsigned)k < _PF_MATCH_MAX ? match_kind_names[k] : NULL;
}

const char *mac_scheme_to_string(enum mac_scheme s)
{
	return (unsigned)s < _MAC_SCHEME_MAX ? mac_scheme_names[s] : NULL;
}

void pf_desired_match_format(const struct pf_desired *pf, char buf[PF_MATCH_STRLEN])
{
	switch (pf->match) {
	case PF_MATCH_NETDEV:
		snprintf(buf, PF_MATCH_STRLEN, "netdev %s", pf->netdev ? pf->netdev : "?");
		break;
	case PF_MATCH_PCI:
		snprintf(buf, PF_MATCH_STRLEN, "pci %s", pf->pci);
		break;
	case PF_MATCH_DEVICE:
		snprintf(buf, PF_MATCH_STRLEN, "device %04x:%04x", pf->vendor, pf->device);
		break;
	case PF_MATCH_ALTNAME:
		snprintf(buf, PF_MATCH_STRLEN, "altname %s", pf->netdev ? pf->netdev : "?");
		break;
	case PF_MATCH_PATH:
		snprintf(buf, PF_MATCH_STRLEN, "path pci-%s", pf->pci);
		break;
	default:
		snprintf(buf, PF_MATCH_STRLEN, "?");
		break;
	}
}

/* Position of the first run of pf whose last VF is >= index. */
static size_t vf_lower_bound(const struct pf_desired *pf, uint32_t index)
{
	size_t lo = 0, hi = pf->n_vfs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pf->vfs[mid].last < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vf_desired *pf_desired_vf(const struct pf_desired *pf, uint32_t index)
{
	size_t i = vf_lower_bound(pf, index);
	return i < pf->n_vfs && pf->vfs[i].index <= index ? &pf->vfs[i] : NULL;
}

static void alloc_specs_free(struct alloc_spec **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		alloc_spec_free(v[i]);
	free(v);
}

static void relays_free(struct relay_desired *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].socket);
	}
	free(v);
}

/* A deep copy of n relays; NULL for none (and on ENOMEM, with *ret_r). */
static struct relay_desired *relays_clone(const struct relay_desired *src, size_t n, int *ret_r)
{
	*ret_r = 0;
	if (!n)
		return NULL;
	struct relay_desired *v = calloc(n, sizeof(*v));
	if (!v) {
		*ret_r = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = src[i];
		v[i].name = src[i].name ? strdup(src[i].name) : NULL;
		v[i].socket = strdup(src[i].socket);
		if ((src[i].name && !v[i].name) || !v[i].socket) {
			relays_free(v, i + 1);
			*ret_r = -ENOMEM;
			return NULL;
		}
	}
	return v;
}

static void pf_desired_done(struct pf_desired *pf)
{
	relays_free(pf->relays, pf->n_relays);
	for (size_t i = 0; i < pf->n_vfs; i++)
		free(pf->vfs[i].driver);
	free(pf->vfs);
	free(pf->netdev);
	strv_free(pf->labels);
}

static void pfs_free(struct pf_desired *pfs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pf_desired_done(&pfs[i]);
	free(pfs);
}

struct config *config_new(void)
{
	return calloc(1, sizeof(struct config));
}

void config_free(struct config *c)
{
	if (!c)
		return;
	pfs_free(c->pfs, c->n_pfs);
	alloc_specs_free(c->specs, c->n_specs);
	alloc_aliases_done(&c->aliases);
	alloc_networks_done(&c->networks);
	json_decref(c->alias_objs);
	json_decref(c->network_objs);
	strv_free(c->files);
	free(c->dropin_dir);
	free(c);
}

/* A deep copy of pfs; positions keep pointing at the same file names. */
static int pfs_clone(const struct pf_desired *src, size_t n, struct pf_desired **ret)
{
	*ret = NULL;
	if (n == 0)
		return 0;
	struct pf_desired *pfs = calloc(n, sizeof(*pfs));
	if (!pfs)
		return -ENOMEM;
	size_t done = 0;
	for (; done < n; done++) {
		const struct pf_desired *s = &src[done];
		struct pf_desired *d = &pfs[done];
		*d = *s;
		d->netdev = NULL;
		d->labels = NULL;
		d->relays = NULL;
		d->n_relays = 0;
		d->vfs = NULL;
		d->n_vfs = d->vfs_allocated = 0;
		if (s->netdev && !(d->netdev = strdup(s->netdev)))
			goto oom;
		for (size_t i = 0; s->labels && s->labels[i]; i++)
			if (strv_pushf(&d->labels, "%s", s->labels[i]) < 0)
				goto oom;
		int rr;
		if (s->n_relays && !(d->relays = relays_clone(s->relays, s->n_relays, &rr)))
			goto oom;
		d->n_relays = s->n_relays;
		if (s->n_vfs == 0)
			continue;
		d->vfs = malloc(s->n_vfs * sizeof(*d->vfs));
		if (!d->vfs)
			goto oom;
		memcpy(d->vfs, s->vfs, s->n_vfs * sizeof(*d->vfs));
		for (size_t i = 0; i < s->n_vfs; i++)
			d->vfs[i].driver = NULL;
		d->n_vfs = s->n_vfs;
		d->vfs_allocated = s->n_vfs;
		for (size_t i = 0; i < s->n_vfs; i++)
			if (s->vfs[i].driver && !(d->vfs[i].driver = strdup(s->vfs[i].driver)))
				goto oom;
	}
	*ret = pfs;
	return 0;
oom:
	pfs_free(pfs, done + 1);
	return -ENOMEM;
}

/* A copy of run src cut to first..last; the driver is duplicated. */
static int run_cut(const struct vf_desired *src, uint32_t first, uint32_t last, struct vf_desired *ret)
{
	*ret = *src;
	ret->index = ret->settings.index = first;
	ret->last = last;
	ret->driver = NULL;
	if (src->driver && !(ret->driver = strdup(src->driver)))
		return -ENOMEM;
	return 0;
}

/* Makes the runs of pf cover a..b (a <= b) exactly with whole runs: cuts the
 * runs that straddle a or b, and fills the gaps with empty runs.
 * *ret_first and *ret_count are the positions of the runs covering a..b.
 * Every run written or moved is counted in *work. */
static int pf_runs_cover(struct pf_desired *pf, uint32_t a, uint32_t b, size_t *ret_first, size_t *ret_count,
			 size_t *work)
{
	size_t lo = vf_lower_bound(pf, a), hi = lo;
	while (hi < pf->n_vfs && pf->vfs[hi].index <= b)
		hi++;
	/* The new runs for positions lo..hi-1: at most two cut-off ends, and
	 * per old run one piece plus the gap before it, plus the gap at the end. */
	size_t cap = 2 * (hi - lo) + 3, m = 0;
	_cleanup_free_ struct vf_desired *seg = calloc(cap, sizeof(*seg));
	if (!seg)
		return -ENOMEM;
	int r = 0;
	size_t first = 0, count = 0;
	uint32_t next = a; /* the first VF of a..b not yet covered */
	bool done = false;
	for (size_t i = lo; i < hi && r >= 0; i++) {
		const struct vf_desired *o = &pf->vfs[i];
		if (o->index < a && (r = run_cut(o, o->index, a - 1, &seg[m++])) < 0)
			break;
		uint32_t from = o->index > a ? o->index : a, to = o->last < b ? o->last : b;
		if (from > next) {
			if (!count)
				first = m;
			seg[m++] = (struct vf_desired){.index = next, .last = from - 1,
						       .settings = {.index = next, .vlan_proto = VF_ETH_P_8021Q}};
			count++;
		}
		if (!count)
			first = m;
		if ((r = run_cut(o, from, to, &seg[m++])) < 0)
			break;
		count++;
		if (to == b)
			done = true;
		else
			next = to + 1;
		if (o->last > b && (r = run_cut(o, b + 1, o->last, &seg[m++])) < 0)
			break;
	}
	if (r >= 0 && !done) {
		if (!count)
			first = m;
		seg[m++] = (struct vf_desired){.index = next, .last = b,
					       .settings = {.index = next, .vlan_proto = VF_ETH_P_8021Q}};
		count++;
	}
	if (r < 0) {
		for (size_t i = 0; i < m; i++)
			free(seg[i].driver);
		return r;
	}
	size_t n = pf->n_vfs - (hi - lo) + m;
	if (n > pf->vfs_allocated) {
		size_t ncap = pf->vfs_allocated ? pf->vfs_allocated : 16;
		while (ncap < n)
			ncap *= 2;
		struct vf_desired *v = realloc(pf->vfs, ncap * sizeof(*v));
		if (!v) {
			for (size_t i = 0; i < m; i++)
				free(seg[i].driver);
			return -ENOMEM;
		}
		pf->vfs = v;
		pf->vfs_allocated = ncap;
	}
	for (size_t i = lo; i < hi; i++)
		free(pf->vfs[i].driver);
	memmove(pf->vfs + lo + m, pf->vfs + hi, (pf->n_vfs - hi) * sizeof(*pf->vfs));
	memcpy(pf->vfs + lo, seg, m * sizeof(*seg));
	*work += (pf->n_vfs - hi) + m;
	pf->n_vfs = n;
	*ret_first = lo + first;
	*ret_count = count;
	return 0;
}

/* ---- the walk over libyaml's node tree ---------------------------------- */

struct ctx {
	yaml_document_t *doc;
	const char *file;       /* this document's name, owned by the caller */
	struct pf_desired *pfs; /* the working copy */
	size_t n_pfs;
	size_t work;            /* the config's merge work so far (CONFIG_MAX_WORK) */
	char **error;
	/* allocation: this document's device specs; aliases and networks of
	 * the config with this document's added */
	struct alloc_spec **specs;
	size_t n_specs;
	struct alloc_aliases aliases;
	struct alloc_networks networks;
	json_t *alias_objs, *network_objs;
};

static int fail_mark(struct ctx *x, yaml_mark_t m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_mark(struct ctx *x, yaml_mark_t m, const char *key, const char *fmt, ...)
{
	char *reason = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&reason, fmt, ap);
	va_end(ap);
	free(*x->error);
	*x->error = NULL;
	if (r >= 0 && asprintf(x->error, "%s:%zu:%zu: %s%s%s", x->file, m.line + 1, m.column + 1,
			       key ? key : "", key ? ": " : "", reason) < 0)
		*x->error = NULL;
	free(reason);
	return -EINVAL;
}

static int fail_pos(struct ctx *x, struct config_pos p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_pos(struct ctx *x, struct config_pos p, const char *key, const char *fmt, ...)
{
	char *reason = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&reason, fmt, ap);
	va_end(ap);
	free(*x->error);
	*x->error = NULL;
	if (r >= 0 && asprintf(x->error, "%s:%u:%u: %s%s%s", p.file, p.line, p.column, key ? key : "",
			       key ? ": " : "", reason) < 0)
		*x->error = NULL;
	free(reason);
	return -EINVAL;
}

static struct config_pos pos_of(const struct ctx *x, yaml_mark_t m)
{
	return (struct config_pos){.file = x->file, .line = (unsigned)m.line + 1, .column = (unsigned)m.column + 1};
}

static yaml_node_t *node_at(struct ctx *x, int id)
{
	return yaml_document_get_node(x->doc, id);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a single value";
	}
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* `key:`, `key: ~`, `key: null`: YAML's way of saying nothing. */
static bool node_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = scalar_text(n);
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* YAML's booleans (the core schema's spellings); -1 for anything else. */
static int node_yaml_bool(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -1;
	const char *s = scalar_text(n);
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return 1;
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return 0;
	return -1;
}

/* The text of a node that must be one non-empty value. */
static int get_scalar(struct ctx *x, const char *key, const yaml_node_t *n, const char **ret)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail_mark(x, n->start_mark, key, "expected a single value, found %s", node_kind(n));
	if (node_is_null(n) || n->data.scalar.length == 0)
		return fail_mark(x, n->start_mark, key, "needs a value");
	if (strlen(scalar_text(n)) != n->data.scalar.length)
		return fail_mark(x, n->start_mark, key, "contains a NUL character");
	*ret = scalar_text(n);
	return 0;
}

struct slot {
	yaml_node_t *key, *value; /* NULL when the key is absent */
	size_t order;             /* position among the mapping's pairs */
};

/* Sorts the keys of map into slots[], one per name, checking that every key
 * is a known word given once. where: " in match"...; expected: the list of
 * known keys for the message; reserved: NULL-terminated, may be NULL. */
static int map_collect(struct ctx *x, const yaml_node_t *map, const char *const *names, size_t n,
		       struct slot *slots, const char *where, const char *expected, const char *const *reserved)
{
	memset(slots, 0, n * sizeof(*slots));
	size_t order = 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++, order++) {
		yaml_node_t *k = node_at(x, p->key), *v = node_at(x, p->value);
		if (!k || !v)
			return fail_mark(x, map->start_mark, NULL, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE)
			return fail_mark(x, k->start_mark, NULL, "a key must be a word, found %s", node_kind(k));
		const char *name = scalar_text(k);
		size_t i = 0;
		if (strlen(name) == k->data.scalar.length)
			while (i < n && !(names[i] && strcmp(names[i], name) == 0))
				i++;
		else
			i = n;
		if (i == n) {
			for (size_t j = 0; reserved && reserved[j]; j++)
				if (strcmp(reserved[j], name) == 0)
					return fail_mark(x, k->start_mark, name,
							 "'%s' is reserved for the allocation features and not "
							 "supported yet", name);
			return fail_mark(x, k->start_mark, name, "unknown key%s (expected %s)", where, expected);
		}
		if (slots[i].key)
			return fail_mark(x, k->start_mark, name, "given twice (first on line %zu)",
					 slots[i].key->start_mark.line + 1);
		slots[i] = (struct slot){.key = k, .value = v, .order = order};
	}
	return 0;
}

/* Decimal count, 0-max. */
static int parse_range(struct ctx *x, const char *key, const yaml_node_t *n, uint32_t min, uint32_t max,
		       uint32_t *ret)
{
	const char *s;
	int r = get_scalar(x, key, n, &s);
	if (r < 0)
		return r;
	const char *digits = s[0] == '-' ? s + 1 : s;
	bool ok = *digits != '\0';
	for (const char *p = digits; *p; p++)
		if (!isdigit((unsigned char)*p))
			ok = false;
	if (!ok)
		return fail_mark(x, n->start_mark, key, "'%s' is not a number", s);
	uint32_t v;
	if (s[0] == '-' || parse_u32(s, 10, &v) < 0 || v < min || v > max)
		return fail_mark(x, n->start_mark, key, "'%s' is out of range %u-%u", s, min, max);
	*ret = v;
	return 0;
}

static int parse_count(struct ctx *x, const char *key, const yaml_node_t *n, uint32_t max, uint32_t *ret)
{
	return parse_range(x, key, n, 0, max, ret);
}

/* ---- match -------------------------------------------------------------- */

/* The kernel's dev_valid_name(). */
static bool netdev_name_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return false;
	return true;
}

/* An alternative name, as the kernel takes one (IFLA_ALT_IFNAME): up to
 * 127 bytes, no '/', ':' or white space, not "." or "..". */
static bool altname_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > CONFIG_ALTNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}

/* udev's ID_PATH of a PCI function: "pci-" and its full address
 * ("pci-0000:01:00.0"), normalized into buf. */
static int parse_pci_path(const char *s, char buf[PCI_ADDR_STRLEN])
{
	struct pci_addr a;
	if (strncmp(s, "pci-", 4) != 0 || strlen(s + 4) != PCI_ADDR_STRLEN - 1 || pci_addr_parse(s + 4, &a) < 0)
		return -EINVAL;
	pci_addr_format(&a, buf);
	return 0;
}

static int parse_hex16(const char *s, size_t len, uint16_t *ret)
{
	if (len == 0 || len > 4)
		return -EINVAL;
	char hex[5] = "";
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		hex[i] = s[i];
	}
	*ret = (uint16_t)strtoul(hex, NULL, 16);
	return 0;
}

static int parse_match(struct ctx *x, const yaml_node_t *key, const yaml_node_t *m, struct pf_desired *ret)
{
	if (m->type != YAML_MAPPING_NODE)
		return fail_mark(x, node_is_null(m) ? key->start_mark : m->start_mark, "match",
				 "expected a mapping with one of " MATCH_KEYS "; found %s",
				 node_is_null(m) ? "nothing" : node_kind(m));
	struct slot s[_PF_MATCH_MAX];
	int r = map_collect(x, m, match_kind_names, _PF_MATCH_MAX, s, " in match", MATCH_KEYS_OR, NULL);
	if (r < 0)
		return r;
	int kind = -1;
	for (int k = 0; k < _PF_MATCH_MAX; k++) {
		if (!s[k].key)
			continue;
		if (kind < 0) {
			kind = k;
			continue;
		}
		/* Report the later one, in document order. */
		int first = s[kind].order < s[k].order ? kind : k, second = first == kind ? k : kind;
		return fail_mark(x, s[second].key->start_mark, match_kind_names[second],
				 "match takes exactly one of " MATCH_KEYS " (%s is given too)",
				 match_kind_names[first]);
	}
	if (kind < 0)
		return fail_mark(x, m->start_mark, "match", "needs one of " MATCH_KEYS);

	const char *name = match_kind_names[kind], *v;
	r = get_scalar(x, name, s[kind].value, &v);
	if (r < 0)
		return r;
	*ret = (struct pf_desired){.match = (enum pf_match_kind)kind, .autoprobe = -1, .up = -1,
				   .pos = pos_of(x, s[kind].key->start_mark)};
	switch (kind) {
	case PF_MATCH_NETDEV:
		if (!netdev_name_valid(v))
			return fail_mark(x, s[kind].value->start_mark, name,
					 "'%s' is not a network interface name", v);
		ret->netdev = strdup(v);
		if (!ret->netdev)
			return -ENOMEM;
		break;
	case PF_MATCH_PCI: {
		struct pci_addr a;
		if (pci_addr_parse(v, &a) < 0)
			return fail_mark(x, s[kind].value->start_mark, name,
					 "'%s' is not a PCI address (0000:01:00.0 or 01:00.0)", v);
		pci_addr_format(&a, ret->pci);
		break;
	}
	case PF_MATCH_ALTNAME:
		if (!altname_valid(v))
			return fail_mark(x, s[kind].value->start_mark, name,
					 "'%s' is not an alternative interface name (1-%u bytes, no '/', ':' or white space)", v,
					 CONFIG_ALTNAME_MAX);
		ret->netdev = strdup(v);
		if (!ret->netdev)
			return -ENOMEM;
		break;
	case PF_MATCH_PATH:
		if (parse_pci_path(v, ret->pci) < 0)
			return fail_mark(x, s[kind].value->start_mark, name,
					 "'%s' is not a PCI path (udev's ID_PATH, pci-0000:01:00.0)", v);
		break;
	case PF_MATCH_DEVICE: {
		const char *colon = strchr(v, ':');
		if (!colon || parse_hex16(v, (size_t)(colon - v), &ret->vendor) < 0 ||
		    parse_hex16(colon + 1, strlen(colon + 1), &ret->device) < 0)
			return fail_mark(x, s[kind].value->start_mark, name,
					 "'%s' is not vendor:device in hex (8086:10c9)", v);
		break;
	}
	}
	return 0;
}

static bool match_equal(const struct pf_desired *a, const struct pf_desired *b)
{
	if (a->match != b->match)
		return false;
	switch (a->match) {
	case PF_MATCH_NETDEV:
	case PF_MATCH_ALTNAME:
		return streq_ptr(a->netdev, b->netdev);
	case PF_MATCH_PCI:
	case PF_MATCH_PATH:
		return strcmp(a->pci, b->pci) == 0;
	case PF_MATCH_DEVICE:
		return a->vendor == b->vendor && a->device == b->device;
	default:
		return false;
	}
}

/* mtu: N, CONFIG_MTU_MIN-CONFIG_MTU_MAX (a PF's or a VF netdev's). */
static int parse_mtu(struct ctx *x, const yaml_node_t *n, uint32_t *ret)
{
	return parse_range(x, "mtu", n, CONFIG_MTU_MIN, CONFIG_MTU_MAX, ret);
}

/* ---- VF entries --------------------------------------------------------- */

enum { VF_KEY_INDEX = _VF_FIELD_MAX, VF_KEY_DRIVER, VF_KEY_MTU, _VF_KEY_MAX };

/* index: N, A-B or all -> *a..*b, or *count 0 when the range is empty. */
static int parse_index(struct ctx *x, const struct pf_desired *pf, const yaml_node_t *n, uint32_t *a,
		       uint32_t *b, size_t *count)
{
	const char *s;
	int r = get_scalar(x, "index", n, &s);
	if (r < 0)
		return r;
	bool range = false;
	if (strcmp(s, "all") == 0) {
		if (!pf->has_numvfs)
			return fail_mark(x, n->start_mark, "index",
					 "'all' needs numvfs in this PF entry (or an earlier one with the same match)");
		*a = 0;
		*b = pf->numvfs ? pf->numvfs - 1 : 0;
		*count = pf->numvfs;
		return 0;
	}
	/* N or A-B, decimal */
	const char *dash = strchr(s, '-');
	size_t la = dash ? (size_t)(dash - s) : strlen(s);
	bool ok = la > 0 && (!dash || dash[1] != '\0');
	for (const char *p = s; *p && ok; p++)
		if (!isdigit((unsigned char)*p) && p != dash)
			ok = false;
	if (!ok)
		return fail_mark(x, n->start_mark, "index", "'%s' is not a VF number, a range A-B or all", s);
	char first[16] = "";
	if (la < sizeof(first))
		memcpy(first, s, la);
	if (la >= sizeof(first) || parse_u32(first, 10, a) < 0 || *a > VF_INDEX_MAX ||
	    (dash && (parse_u32(dash + 1, 10, b) < 0 || *b > VF_INDEX_MAX)))
		return fail_mark(x, n->start_mark, "index", "'%s' is out of range 0-%u", s, VF_INDEX_MAX);
	if (!dash)
		*b = *a;
	else {
		range = true;
		if (*a > *b)
			return fail_mark(x, n->start_mark, "index", "'%s' is a reversed range (write %u-%u)", s, *b,
					 *a);
		if (!pf->has_numvfs)
			return fail_mark(x, n->start_mark, "index",
					 "range '%s' needs numvfs in this PF entry (or an earlier one with the same "
					 "match)", s);
	}
	if (pf->has_numvfs && *b >= pf->numvfs) {
		char vfs[32];
		if (pf->numvfs)
			snprintf(vfs, sizeof(vfs), "VFs are 0-%u", pf->numvfs - 1);
		else
			snprintf(vfs, sizeof(vfs), "no VFs");
		if (range)
			return fail_mark(x, n->start_mark, "index", "range %s is beyond numvfs %u (%s)", s,
					 pf->numvfs, vfs);
		return fail_mark(x, n->start_mark, "index", "%u is beyond numvfs %u (%s)", *a, pf->numvfs, vfs);
	}
	*count = (size_t)(*b - *a) + 1;
	return 0;
}

static int parse_vf_entry(struct ctx *x, struct pf_desired *pf, const yaml_node_t *e)
{
	if (e->type != YAML_MAPPING_NODE)
		return fail_mark(x, e->start_mark, "vfs", "each entry must be a mapping (index: N, ...), found %s",
				 node_kind(e));

	const char *names[_VF_KEY_MAX] = {[VF_KEY_INDEX] = "index", [VF_KEY_DRIVER] = "driver", [VF_KEY_MTU] = "mtu"};
	char expected[256] = "index";
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		names[f] = vf_field_name((enum vf_field)f);
		if (names[f]) {
			strcat(expected, ", ");
			strcat(expected, names[f]);
		}
	}
	strcat(expected, ", driver, mtu");
	struct slot s[_VF_KEY_MAX];
	int r = map_collect(x, e, names, _VF_KEY_MAX, s, " in a VF entry", expected, NULL);
	if (r < 0)
		return r;

	if (!s[VF_KEY_INDEX].key)
		return fail_mark(x, e->start_mark, "index", "missing in a VF entry (a number, a range A-B or all)");
	uint32_t a, b;
	size_t count = 0;
	r = parse_index(x, pf, s[VF_KEY_INDEX].value, &a, &b, &count);
	if (r < 0)
		return r;

	/* The VF settings, in the order they were written, as `vf set` arguments. */
	int order[_VF_FIELD_MAX], n_fields = 0;
	for (int f = 0; f < _VF_FIELD_MAX; f++) {
		if (!s[f].key)
			continue;
		int i = n_fields++;
		while (i > 0 && s[order[i - 1]].order > s[f].order) {
			order[i] = order[i - 1];
			i--;
		}
		order[i] = f;
	}
	char *argv[2 * _VF_FIELD_MAX];
	for (int i = 0; i < n_fields; i++) {
		int f = order[i];
		const char *v;
		int yb = -1;
		if (f == VF_FIELD_SPOOFCHK || f == VF_FIELD_TRUST || f == VF_FIELD_QUERY_RSS)
			yb = node_yaml_bool(s[f].value);
		if (yb >= 0)
			v = yb ? "on" : "off";
		else if ((r = get_scalar(x, names[f], s[f].value, &v)) < 0)
			return r;
		argv[2 * i] = (char *)names[f];
		argv[2 * i + 1] = (char *)v;
	}

	struct vf_settings set = {.index = a, .vlan_proto = VF_ETH_P_8021Q};
	if (n_fields > 0) {
		/* vf_settings_parse() says "in the same command"; say it our way first. */
		int lone = s[VF_FIELD_QOS].key ? VF_FIELD_QOS : s[VF_FIELD_VLAN_PROTO].key ? VF_FIELD_VLAN_PROTO : -1;
		if (lone >= 0 && !s[VF_FIELD_VLAN].key)
			return fail_mark(x, s[lone].key->start_mark, names[lone],
					 "needs vlan in the same VF entry (the kernel sets VLAN, QoS and protocol "
					 "together)");
		_cleanup_free_ char *err = NULL;
		struct vf_parse_where where;
		r = vf_settings_parse_at(2 * n_fields, argv, &set, &where, &err);
		if (r < 0) {
			if (!err)
				return r == -EINVAL ? -ENOMEM : r;
			/* Point at the key or value vf_settings_parse_at() names. */
			yaml_mark_t m = e->start_mark;
			if (where.arg >= 0 && where.arg / 2 < n_fields) {
				const struct slot *sl = &s[order[where.arg / 2]];
				m = where.value ? sl->value->start_mark : sl->key->start_mark;
			}
			return fail_mark(x, m, NULL, "%s", err);
		}
	}
	if (s[VF_FIELD_MAC].key && count > 1)
		return fail_mark(x, s[VF_FIELD_MAC].key->start_mark, "mac",
				 "index '%s' covers %zu VFs, and two VFs cannot share a MAC: give each VF its own "
				 "entry", scalar_text(s[VF_KEY_INDEX].value), count);

	const char *driver = NULL;
	if (s[VF_KEY_DRIVER].key) {
		r = get_scalar(x, "driver", s[VF_KEY_DRIVER].value, &driver);
		if (r < 0)
			return r;
		if (!driver_name_valid(driver))
			return fail_mark(x, s[VF_KEY_DRIVER].value->start_mark, "driver",
					 "'%s' is not a driver name (vfio-pci, kernel, or a driver such as iavf)",
					 driver);
	}

	uint32_t mtu = 0;
	if (s[VF_KEY_MTU].key && (r = parse_mtu(x, s[VF_KEY_MTU].value, &mtu)) < 0)
		return r;

	if (count == 0)
		return 0;
	size_t first, n_runs;
	r = pf_runs_cover(pf, a, b, &first, &n_runs, &x->work);
	if (r < 0)
		return r;
	x->work += n_runs;
	if (x->work > CONFIG_MAX_WORK)
		return fail_mark(x, s[VF_KEY_INDEX].value->start_mark, "index",
				 "the VF entries take more than %u updates of VF ranges to merge (the limit of a "
				 "config); write fewer entries, or ranges in index order", CONFIG_MAX_WORK);
	struct config_pos pos = pos_of(x, s[VF_KEY_INDEX].value->start_mark);
	for (size_t i = 0; i < n_runs; i++) {
		struct vf_desired *vf = &pf->vfs[first + i];
		if (driver) {
			char *d = strdup(driver);
			if (!d)
				return -ENOMEM;
			free(vf->driver);
			vf->driver = d;
		}
		vf_settings_merge(&vf->settings, &set);
		vf->pos = pos;
		if (s[VF_FIELD_MAC].key)
			vf->mac_pos = pos_of(x, s[VF_FIELD_MAC].value->start_mark);
		if (mtu) {
			vf->mtu = mtu;
			vf->mtu_pos = pos_of(x, s[VF_KEY_MTU].value->start_mark);
		}
	}
	return 0;
}

/* ---- PF entries and the document ---------------------------------------- */

enum { PF_KEY_MATCH, PF_KEY_NUMVFS, PF_KEY_AUTOPROBE, PF_KEY_MAC, PF_KEY_VFS, PF_KEY_LABELS, PF_KEY_MTU, PF_KEY_UP,
       PF_KEY_RELAYS, PF_KEY_TIMEOUT, _PF_KEY_MAX };
static const char *const pf_keys[_PF_KEY_MAX] = {
	[PF_KEY_MATCH] = "match",         [PF_KEY_NUMVFS] = "numvfs", [PF_KEY_AUTOPROBE] = "autoprobe",
	[PF_KEY_MAC] = "mac",             [PF_KEY_VFS] = "vfs",       [PF_KEY_LABELS] = "labels",
	[PF_KEY_MTU] = "mtu",             [PF_KEY_UP] = "up",         [PF_KEY_RELAYS] = "relays",
	[PF_KEY_TIMEOUT] = "timeout",
};

/* labels: [a, b]: the PF's labels for networks. */
static int parse_labels(struct ctx *x, const yaml_node_t *n, char ***ret)
{
	if (node_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_mark(x, n->start_mark, "labels", "expected a list of labels, found %s", node_kind(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *l = node_at(x, *it);
		const char *v;
		int r;
		if (!l)
			return fail_mark(x, n->start_mark, "labels", "malformed list");
		if ((r = get_scalar(x, "labels", l, &v)) < 0)
			return r;
		if (!alloc_name_valid(v))
			return fail_mark(x, l->start_mark, "labels",
					 "'%s' is not a label (1-%u letters, digits, '-', '_', '.')", v, ALLOC_MAX_NAME_LEN);
		if (strv_contains(*ret, v))
			return fail_mark(x, l->start_mark, "labels", "'%s' is given twice", v);
		if ((r = strv_pushf(ret, "%s", v)) < 0)
			return r;
	}
	return 0;
}

/* relays: [{vf, socket, mode, queues, lcores, mtu, name}]: the relays of
 * the PF entry's VFs. Checked whole before the entry joins the config. */
enum { RELAY_KEY_VF, RELAY_KEY_SOCKET, RELAY_KEY_MODE, RELAY_KEY_QUEUES, RELAY_KEY_LCORES, RELAY_KEY_MTU,
       RELAY_KEY_NAME, _RELAY_KEY_MAX };
static const char *const relay_keys[_RELAY_KEY_MAX] = {
	[RELAY_KEY_VF] = "vf",         [RELAY_KEY_SOCKET] = "socket", [RELAY_KEY_MODE] = "mode",
	[RELAY_KEY_QUEUES] = "queues", [RELAY_KEY_LCORES] = "lcores", [RELAY_KEY_MTU] = "mtu",
	[RELAY_KEY_NAME] = "name",
};

/* A relayctl rule's verdict as the config's error at n. */
static int relay_rule(struct ctx *x, const yaml_node_t *n, const char *key, int r, char *err)
{
	if (r >= 0)
		return 0;
	if (!err)
		return r == -ENOMEM ? r : fail_mark(x, n->start_mark, key, "%s", strerror(-r));
	r = fail_mark(x, n->start_mark, key, "%s", err);
	free(err);
	return r;
}

/* lcores: [1, 2], 1, or "1,3-4". */
static int parse_relay_lcores(struct ctx *x, const yaml_node_t *n, struct relay_desired *d)
{
	_cleanup_free_ char *text = NULL;
	if (n->type == YAML_SEQUENCE_NODE) {
		size_t len = 0;
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			yaml_node_t *l = node_at(x, *it);
			const char *v;
			int r;
			if (!l)
				return fail_mark(x, n->start_mark, "lcores", "malformed list");
			if ((r = get_scalar(x, "lcores", l, &v)) < 0)
				return r;
			if (strchr(v, ',') || strchr(v, '-'))
				return fail_mark(x, l->start_mark, "lcores", "'%s' is not an lcore id (0-%u)", v,
						 RELAYCTL_MAX_LCORE_ID);
			char *t = realloc(text, len + strlen(v) + 2);
			if (!t)
				return -ENOMEM;
			text = t;
			len += (size_t)sprintf(text + len, "%s%s", len ? "," : "", v);
		}
		if (!text)
			return fail_mark(x, n->start_mark, "lcores", "give at least one lcore id");
	} else {
		const char *v;
		int r = get_scalar(x, "lcores", n, &v);
		if (r < 0)
			return r;
		if (!(text = strdup(v)))
			return -ENOMEM;
	}
	char *err = NULL;
	int r = relayctl_lcores(text, d->lcores, &d->n_lcores, &err);
	return relay_rule(x, n, "lcores", r, err);
}

static int parse_relay_entry(struct ctx *x, const yaml_node_t *e, struct relay_desired *d)
{
	if (e->type != YAML_MAPPING_NODE)
		return fail_mark(x, e->start_mark, "relays",
				 "each entry must be a mapping (vf: N, socket: PATH, lcores: [N]...), found %s",
				 node_kind(e));
	struct slot s[_RELAY_KEY_MAX];
	int r = map_collect(x, e, relay_keys, _RELAY_KEY_MAX, s, " in a relay entry",
			    "vf, socket, mode, queues, lcores, mtu, name", NULL);
	if (r < 0)
		return r;
	if (!s[RELAY_KEY_VF].key)
		return fail_mark(x, e->start_mark, "vf", "missing (every relay entry names its VF by index)");
	if (!s[RELAY_KEY_SOCKET].key)
		return fail_mark(x, e->start_mark, "socket", "missing (every relay entry needs its vhost-user socket)");
	if (!s[RELAY_KEY_LCORES].key)
		return fail_mark(x, e->start_mark, "lcores", "missing (every relay entry needs the lcores it forwards on)");
	*d = (struct relay_desired){.pos = pos_of(x, s[RELAY_KEY_VF].value->start_mark)};
	if ((r = parse_range(x, "vf", s[RELAY_KEY_VF].value, 0, CONFIG_MAX_NUMVFS - 1, &d->vf)) < 0)
		return r;
	const char *v;
	char *err = NULL;
	if ((r = get_scalar(x, "socket", s[RELAY_KEY_SOCKET].value, &v)) < 0)
		return r;
	r = relayctl_socket_path_ok(v, &err);
	if ((r = relay_rule(x, s[RELAY_KEY_SOCKET].value, "socket", r, err)) < 0)
		return r;
	if (!(d->socket = strdup(v)))
		return -ENOMEM;
	if (s[RELAY_KEY_MODE].key) {
		if ((r = get_scalar(x, "mode", s[RELAY_KEY_MODE].value, &v)) < 0)
			return r;
		if ((d->mode = relayctl_mode(v)) < 0)
			return fail_mark(x, s[RELAY_KEY_MODE].value->start_mark, "mode", "'%s' is not server or client", v);
	}
	if (s[RELAY_KEY_QUEUES].key &&
	    (r = parse_range(x, "queues", s[RELAY_KEY_QUEUES].value, 1, RELAYCTL_MAX_QUEUES, &d->queues)) < 0)
		return r;
	if (s[RELAY_KEY_MTU].key &&
	    (r = parse_range(x, "mtu", s[RELAY_KEY_MTU].value, RELAYCTL_MTU_MIN, RELAYCTL_MTU_MAX, &d->mtu)) < 0)
		return r;
	if ((r = parse_relay_lcores(x, s[RELAY_KEY_LCORES].value, d)) < 0)
		return r;
	if (s[RELAY_KEY_NAME].key) {
		if ((r = get_scalar(x, "name", s[RELAY_KEY_NAME].value, &v)) < 0)
			return r;
		if (relayctl_name_ok(v) < 0)
			return fail_mark(x, s[RELAY_KEY_NAME].value->start_mark, "name",
					 "'%s' is not a relay name (1-%u of A-Z a-z 0-9 _ . -)", v, RELAYCTL_NAME_MAX);
		if (!(d->name = strdup(v)))
			return -ENOMEM;
	}
	return 0;
}

static int parse_relays(struct ctx *x, const yaml_node_t *n, struct relay_desired **ret, size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	if (node_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail_mark(x, n->start_mark, "relays", "expected a list of relay entries, found %s", node_kind(n));
	size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	struct relay_desired *v = calloc(count ? count : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t k = 0;
	int r = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(x, *it);
		if (!e) {
			r = fail_mark(x, n->start_mark, "relays", "malformed list");
			break;
		}
		if ((r = parse_relay_entry(x, e, &v[k])) < 0) {
			k++; /* its strings, if any, are freed below */
			break;
		}
		k++;
		for (size_t j = 0; j + 1 < k; j++) {
			const struct relay_desired *a = &v[j], *b = &v[k - 1];
			if (a->vf == b->vf)
				r = fail_mark(x, e->start_mark, "vf", "VF %u has a relay already (line %u)", b->vf,
					      a->pos.line);
			else if (strcmp(a->socket, b->socket) == 0)
				r = fail_mark(x, e->start_mark, "socket", "%s is the socket of VF %u's relay too",
					      b->socket, a->vf);
			else if (a->name && b->name && strcmp(a->name, b->name) == 0)
				r = fail_mark(x, e->start_mark, "name", "%s names VF %u's relay too", b->name, a->vf);
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		relays_free(v, k);
		return r;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

static int parse_pf_entry(struct ctx *x, const yaml_node_t *e)
{
	if (e->type != YAML_MAPPING_NODE)
		return fail_mark(x, e->start_mark, "pfs",
				 "each entry must be a mapping (match:, numvfs:, vfs:...), found %s", node_kind(e));
	struct slot s[_PF_KEY_MAX];
	int r = map_collect(x, e, pf_keys, _PF_KEY_MAX, s,  " in a PF entry",
			    "match, numvfs, autoprobe, mac, vfs, labels, mtu, up, relays, timeout",
			    NULL);
	if (r < 0)
		return r;
	if (!s[PF_KEY_MATCH].key)
		return fail_mark(x, e->start_mark, "match", "missing (every PF entry needs one)");

	struct pf_desired m = {.autoprobe = -1, .up = -1};
	_cleanup_(strv_freep) char **labels = NULL; /* before any goto fail */
	struct relay_desired *relays = NULL;
	size_t n_relays = 0;
	r = parse_match(x, s[PF_KEY_MATCH].key, s[PF_KEY_MATCH].value, &m);
	if (r < 0) {
		pf_desired_done(&m);
		return r;
	}
	/* The other settings are checked before the entry joins the config, so
	 * that every path below only changes the working copy. */
	uint32_t numvfs = 0;
	if (s[PF_KEY_NUMVFS].key && (r = parse_count(x, "numvfs", s[PF_KEY_NUMVFS].value, CONFIG_MAX_NUMVFS,
						     &numvfs)) < 0)
		goto fail;
	int autoprobe = -1;
	if (s[PF_KEY_AUTOPROBE].key) {
		const char *v;
		autoprobe = node_yaml_bool(s[PF_KEY_AUTOPROBE].value);
		if (autoprobe < 0) {
			if ((r = get_scalar(x, "autoprobe", s[PF_KEY_AUTOPROBE].value, &v)) < 0)
				goto fail;
			if (strcmp(v, "on") == 0)
				autoprobe = 1;
			else if (strcmp(v, "off") == 0)
				autoprobe = 0;
			else {
				r = fail_mark(x, s[PF_KEY_AUTOPROBE].value->start_mark, "autoprobe",
					      "'%s' is not true or false", v);
				goto fail;
			}
		}
	}
	uint32_t mtu = 0;
	if (s[PF_KEY_MTU].key && (r = parse_mtu(x, s[PF_KEY_MTU].value, &mtu)) < 0)
		goto fail;
	uint32_t timeout_s = 0;
	if (s[PF_KEY_TIMEOUT].key && (r = parse_range(x, "timeout", s[PF_KEY_TIMEOUT].value, CONFIG_TIMEOUT_MIN_S,
						      CONFIG_TIMEOUT_MAX_S, &timeout_s)) < 0)
		goto fail;
	int up = -1;
	if (s[PF_KEY_UP].key) {
		up = node_yaml_bool(s[PF_KEY_UP].value);
		if (up < 0) {
			const char *v;
			if ((r = get_scalar(x, "up", s[PF_KEY_UP].value, &v)) < 0)
				goto fail;
			r = fail_mark(x, s[PF_KEY_UP].value->start_mark, "up", "'%s' is not true or false", v);
			goto fail;
		}
	}
	int scheme = -1;
	if (s[PF_KEY_MAC].key) {
		const char *v;
		if ((r = get_scalar(x, "mac", s[PF_KEY_MAC].value, &v)) < 0)
			goto fail;
		for (int i = 0; i < _MAC_SCHEME_MAX; i++)
			if (strcmp(v, mac_scheme_names[i]) == 0)
				scheme = i;
		if (scheme < 0) {
			r = fail_mark(x, s[PF_KEY_MAC].value->start_mark, "mac",
				      "'%s' is not stable or none (a VF's own MAC goes in its vfs entry)", v);
			goto fail;
		}
	}
	if (s[PF_KEY_LABELS].key && (r = parse_labels(x, s[PF_KEY_LABELS].value, &labels)) < 0)
		goto fail;
	if (s[PF_KEY_RELAYS].key && (r = parse_relays(x, s[PF_KEY_RELAYS].value, &relays, &n_relays)) < 0)
		goto fail;
	const yaml_node_t *vfs = s[PF_KEY_VFS].value;
	if (vfs && !node_is_null(vfs) && vfs->type != YAML_SEQUENCE_NODE) {
		r = fail_mark(x, vfs->start_mark, "vfs", "expected a list of VF entries, found %s", node_kind(vfs));
		goto fail;
	}

	struct pf_desired *pf = NULL;
	for (size_t i = 0; i < x->n_pfs && !pf; i++)
		if (match_equal(&x->pfs[i], &m))
			pf = &x->pfs[i];
	if (pf)
		pf_desired_done(&m);
	else if (x->n_pfs == CONFIG_MAX_PFS) {
		r = fail_mark(x, s[PF_KEY_MATCH].key->start_mark, "match",
			      "more than %u PF entries with different matches (the limit of a config)", CONFIG_MAX_PFS);
		goto fail;
	} else {
		struct pf_desired *n = realloc(x->pfs, (x->n_pfs + 1) * sizeof(*n));
		if (!n) {
			r = -ENOMEM;
			goto fail;
		}
		x->pfs = n;
		pf = &x->pfs[x->n_pfs++];
		*pf = m;
	}

	if (s[PF_KEY_NUMVFS].key) {
		pf->has_numvfs = true;
		pf->numvfs = numvfs;
		pf->numvfs_pos = pos_of(x, s[PF_KEY_NUMVFS].value->start_mark);
	}
	if (autoprobe >= 0)
		pf->autoprobe = autoprobe;
	if (mtu) {
		pf->mtu = mtu;
		pf->mtu_pos = pos_of(x, s[PF_KEY_MTU].value->start_mark);
	}
	if (timeout_s)
		pf->timeout_s = timeout_s;
	if (up >= 0) {
		pf->up = up;
		pf->up_pos = pos_of(x, s[PF_KEY_UP].value->start_mark);
	}
	if (s[PF_KEY_LABELS].key) {
		strv_free(pf->labels);
		pf->labels = TAKE_PTR(labels);
	}
	if (s[PF_KEY_RELAYS].key) {
		relays_free(pf->relays, pf->n_relays);
		pf->relays = TAKE_PTR(relays);
		pf->n_relays = n_relays;
	}
	if (scheme >= 0) {
		pf->has_mac_scheme = true;
		pf->mac_scheme = (enum mac_scheme)scheme;
		pf->mac_scheme_pos = pos_of(x, s[PF_KEY_MAC].value->start_mark);
	}
	if (vfs && vfs->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *it = vfs->data.sequence.items.start; it < vfs->data.sequence.items.top; it++) {
			yaml_node_t *ve = node_at(x, *it);
			if (!ve)
				return fail_mark(x, vfs->start_mark, "vfs", "malformed list");
			r = parse_vf_entry(x, pf, ve);
			if (r < 0)
				return r;
		}
	return 0;
fail:
	relays_free(relays, n_relays);
	pf_desired_done(&m);
	return r;
}

/* ---- allocation: device-specs, aliases, networks ------------------------ */

/* A YAML value as JSON for alloc/: every scalar a string (null for YAML's
 * nothing), mappings objects, lists arrays. */
static int node_to_json(struct ctx *x, const char *key, const yaml_node_t *n, unsigned depth, json_t **ret)
{
	if (depth > 2 * CONFIG_MAX_DEPTH)
		return fail_mark(x, n->start_mark, key, "more than %u levels of nesting", 2 * CONFIG_MAX_DEPTH);
	if (n->type == YAML_SCALAR_NODE) {
		if (node_is_null(n))
			*ret = json_null();
		else if (strlen(scalar_text(n)) != n->data.scalar.length)
			return fail_mark(x, n->start_mark, key, "contains a NUL character");
		else
			*ret = json_string(scalar_text(n));
		return *ret ? 0 : fail_mark(x, n->start_mark, key, "not UTF-8 text");
	}
	json_t *j = n->type == YAML_MAPPING_NODE ? json_object() : json_array();
	if (!j)
		return -ENOMEM;
	int r = 0;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && r >= 0; it++) {
			yaml_node_t *e = node_at(x, *it);
			json_t *v = NULL;
			if (!e)
				r = fail_mark(x, n->start_mark, key, "malformed list");
			else if ((r = node_to_json(x, key, e, depth + 1, &v)) >= 0 && json_array_append_new(j, v) < 0)
				r = -ENOMEM;
		}
	} else {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && r >= 0; p++) {
			yaml_node_t *k = node_at(x, p->key), *e = node_at(x, p->value);
			json_t *v = NULL;
			if (!k || !e)
				r = fail_mark(x, n->start_mark, key, "malformed mapping");
			else if (k->type != YAML_SCALAR_NODE || strlen(scalar_text(k)) != k->data.scalar.length)
				r = fail_mark(x, k->start_mark, key, "a key must be a word, found %s", node_kind(k));
			else if (json_object_get(j, scalar_text(k)))
				r = fail_mark(x, k->start_mark, scalar_text(k), "given twice");
			else if ((r = node_to_json(x, key, e, depth + 1, &v)) >= 0 &&
				 json_object_set_new(j, scalar_text(k), v) < 0)
				r = -ENOMEM;
		}
	}
	if (r < 0) {
		json_decref(j);
		return r;
	}
	*ret = j;
	return 0;
}

/* device-specs:, aliases:, networks: each a list of mappings, parsed by
 * alloc/ into this document's working copy (x->alloc). */
static int parse_alloc_list(struct ctx *x, const char *key, const yaml_node_t *list)
{
	if (node_is_null(list))
		return 0;
	if (list->type != YAML_SEQUENCE_NODE)
		return fail_mark(x, list->start_mark, key, "expected a list of mappings, found %s", node_kind(list));
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(x, *it);
		if (!e)
			return fail_mark(x, list->start_mark, key, "malformed list");
		if (e->type != YAML_MAPPING_NODE)
			return fail_mark(x, e->start_mark, key, "each entry must be a mapping, found %s", node_kind(e));
		json_t *j;
		int r = node_to_json(x, key, e, 0, &j);
		if (r < 0)
			return r;
		_cleanup_free_ char *err = NULL;
		if (key[0] == 'd') {
			struct alloc_spec *spec;
			r = alloc_spec_parse(j, &spec, &err);
			if (r >= 0) {
				struct alloc_spec **v = realloc(x->specs, (x->n_specs + 1) * sizeof(*v));
				if (!v) {
					alloc_spec_free(spec);
					r = -ENOMEM;
				} else {
					x->specs = v;
					v[x->n_specs++] = spec;
				}
			}
		} else if (key[0] == 'a') {
			r = alloc_aliases_add(&x->aliases, j, &err);
			if (r >= 0 && json_array_append(x->alias_objs, j) < 0)
				r = -ENOMEM;
		} else {
			r = alloc_networks_add(&x->networks, j, &err);
			if (r >= 0 && json_array_append(x->network_objs, j) < 0)
				r = -ENOMEM;
		}
		json_decref(j);
		if (r == -EINVAL && err)
			return fail_mark(x, e->start_mark, key, "%s", err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The aliases and networks of c, parsed again from their objects into x
 * (so that this document adds to a copy). */
static int alloc_copy(const struct config *c, struct ctx *x)
{
	if (!(x->alias_objs = json_array()) || !(x->network_objs = json_array()))
		return -ENOMEM;
	size_t i;
	json_t *j;
	_cleanup_free_ char *err = NULL;
	json_array_foreach(c->alias_objs, i, j) {
		int r = alloc_aliases_add(&x->aliases, j, &err);
		if (r < 0 || json_array_append(x->alias_objs, j) < 0)
			return r < 0 ? r : -ENOMEM;
	}
	json_array_foreach(c->network_objs, i, j) {
		int r = alloc_networks_add(&x->networks, j, &err);
		if (r < 0 || json_array_append(x->network_objs, j) < 0)
			return r < 0 ? r : -ENOMEM;
	}
	return 0;
}

static void alloc_ctx_done(struct ctx *x)
{
	alloc_specs_free(x->specs, x->n_specs);
	alloc_aliases_done(&x->aliases);
	alloc_networks_done(&x->networks);
	json_decref(x->alias_objs);
	json_decref(x->network_objs);
}

static int parse_root(struct ctx *x)
{
	yaml_node_t *root = yaml_document_get_root_node(x->doc);
	if (!root || node_is_null(root))
		return 0; /* an empty file: nothing desired */
	if (root->type != YAML_MAPPING_NODE)
		return fail_mark(x, root->start_mark, NULL,
				 "the file must be a mapping (version: 1, pfs: ...), found %s", node_kind(root));

	static const char *const top_keys[] = {"version", "pfs", "device-specs", "aliases", "networks"};
	struct slot s[ARRAY_SIZE(top_keys)];
	int r = map_collect(x, root, top_keys, ARRAY_SIZE(top_keys), s, "",
			    "version, pfs, device-specs, aliases, networks", NULL);
	if (r < 0)
		return r;

	if (!s[0].key)
		return fail_mark(x, root->start_mark, "version", "missing (the file must say version: %d)",
				 CONFIG_VERSION);
	const char *v;
	r = get_scalar(x, "version", s[0].value, &v);
	if (r < 0)
		return r;
	if (strcmp(v, "1") != 0)
		return fail_mark(x, s[0].value->start_mark, "version", "'%s' is not supported (only %d)", v,
				 CONFIG_VERSION);

	for (size_t k = 2; k < ARRAY_SIZE(top_keys); k++)
		if (s[k].value && (r = parse_alloc_list(x, top_keys[k], s[k].value)) < 0)
			return r;

	const yaml_node_t *pfs = s[1].value;
	if (!pfs || node_is_null(pfs))
		return 0;
	if (pfs->type != YAML_SEQUENCE_NODE)
		return fail_mark(x, pfs->start_mark, "pfs", "expected a list of PF entries, found %s", node_kind(pfs));
	for (yaml_node_item_t *it = pfs->data.sequence.items.start; it < pfs->data.sequence.items.top; it++) {
		yaml_node_t *e = node_at(x, *it);
		if (!e)
			return fail_mark(x, pfs->start_mark, "pfs", "malformed list");
		r = parse_pf_entry(x, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- checks on the merged result ---------------------------------------- */

static int cmp_vf_mac(const void *pa, const void *pb)
{
	const struct vf_desired *a = *(const struct vf_desired *const *)pa, *b = *(const struct vf_desired *const *)pb;
	int c = memcmp(a->settings.mac, b->settings.mac, sizeof(a->settings.mac));
	if (c)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

static bool pos_after(struct config_pos a, struct config_pos b)
{
	return a.line > b.line || (a.line == b.line && a.column > b.column);
}

/* What this document changed must still hold once merged with what earlier
 * entries and files said: VFs within numvfs, distinct MACs, and settings
 * vf_settings_parse() accepts as a whole (min-rate <= max-rate...). */
static int check_merged(struct ctx *x)
{
	for (size_t p = 0; p < x->n_pfs; p++) {
		struct pf_desired *pf = &x->pfs[p];

		for (size_t i = 0; i < pf->n_relays; i++) {
			const struct relay_desired *rl = &pf->relays[i];
			if (pf->has_numvfs && rl->vf >= pf->numvfs)
				return fail_pos(x, rl->pos, "vf", "the relay's VF %u is beyond numvfs %u", rl->vf,
						pf->numvfs);
			for (size_t q = 0; q <= p; q++)
				for (size_t j = 0; j < x->pfs[q].n_relays && !(q == p && j >= i); j++) {
					const struct relay_desired *o = &x->pfs[q].relays[j];
					if (q != p && strcmp(o->socket, rl->socket) == 0)
						return fail_pos(x, rl->pos, "socket",
								"%s is the socket of another PF's relay too (%s:%u:%u)",
								rl->socket, o->pos.file, o->pos.line, o->pos.column);
					if (q != p && o->name && rl->name && strcmp(o->name, rl->name) == 0)
						return fail_pos(x, rl->pos, "name",
								"%s names another PF's relay too (%s:%u:%u)", rl->name,
								o->pos.file, o->pos.line, o->pos.column);
				}
		}

		if (pf->has_numvfs && pf->n_vfs && pf->vfs[pf->n_vfs - 1].last >= pf->numvfs) {
			const struct vf_desired *vf = &pf->vfs[pf->n_vfs - 1];
			return fail_pos(x, pf->numvfs_pos, "numvfs", "%u leaves out VF %u, configured at %s:%u:%u",
					pf->numvfs, vf->last, vf->pos.file, vf->pos.line, vf->pos.column);
		}

		size_t n_mac = 0;
		for (size_t i = 0; i < pf->n_vfs; i++)
			if (vf_has(&pf->vfs[i].settings, VF_FIELD_MAC))
				n_mac++;
		if (n_mac > 1) {
			_cleanup_free_ const struct vf_desired **v = malloc(n_mac * sizeof(*v));
			if (!v)
				return -ENOMEM;
			n_mac = 0;
			for (size_t i = 0; i < pf->n_vfs; i++)
				if (vf_has(&pf->vfs[i].settings, VF_FIELD_MAC))
					v[n_mac++] = &pf->vfs[i];
			qsort(v, n_mac, sizeof(*v), cmp_vf_mac);
			for (size_t i = 1; i < n_mac; i++) {
				if (memcmp(v[i - 1]->settings.mac, v[i]->settings.mac, sizeof(v[i]->settings.mac)) != 0)
					continue;
				/* Point at the one this document wrote (the later, if both). */
				const struct vf_desired *a = v[i - 1], *b = v[i];
				bool a_here = a->mac_pos.file == x->file, b_here = b->mac_pos.file == x->file;
				if ((a_here && !b_here) || (a_here && b_here && pos_after(a->mac_pos, b->mac_pos))) {
					const struct vf_desired *t = a;
					a = b;
					b = t;
				}
				char mac[VF_MAC_STRLEN];
				vf_mac_format(b->settings.mac, b->settings.mac_len, mac);
				return fail_pos(x, b->mac_pos, "mac",
						"%s of VF %u is also given to VF %u (%s:%u:%u); two VFs cannot share a MAC",
						mac, b->index, a->index, a->mac_pos.file, a->mac_pos.line,
						a->mac_pos.column);
			}
		}

		for (size_t i = 0; i < pf->n_vfs; i++) {
			const struct vf_desired *vf = &pf->vfs[i];
			if (vf->pos.file != x->file || !vf->settings.has)
				continue;
			_cleanup_free_ char *err = NULL;
			int r = vf_settings_check(&vf->settings, NULL, &err);
			if (r < 0 && !err)
				return -ENOMEM;
			if (r < 0)
				return fail_pos(x, vf->pos, "index", "VF %u, merged with earlier entries: %s", vf->index,
						err);
		}
	}
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

static int syntax_error(const yaml_parser_t *p, const char *file, const char *text, size_t len, char **ret_error)
{
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	size_t line, column;
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		size_t off = p->problem_offset < len ? p->problem_offset : len, bol = 0;
		line = 1;
		for (size_t i = 0; i < off; i++)
			if (text[i] == '\n') {
				line++;
				bol = i + 1;
			}
		column = off - bol + 1;
	} else {
		line = p->problem_mark.line + 1;
		column = p->problem_mark.column + 1;
	}
	const char *problem = p->problem ? p->problem : "not valid YAML";
	int r;
	if (p->context && p->error != YAML_READER_ERROR)
		r = asprintf(ret_error, "%s:%zu:%zu: syntax error: %s (%s at %zu:%zu)", file, line, column, problem,
			     p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	else
		r = asprintf(ret_error, "%s:%zu:%zu: syntax error: %s", file, line, column, problem);
	if (r < 0)
		*ret_error = NULL;
	return -EINVAL;
}

/* Bounds the work of a document before it is composed: nesting depth,
 * anchors and aliases, and the number of nodes with every alias expanded
 * (*nodes: the config's count so far, updated). libyaml's events are read
 * once; a syntax error is left to yaml_parser_load() to report. */
struct anchor {
	char *name;
	size_t size; /* nodes under it, aliases expanded */
};

struct frame {
	size_t size;
	char *anchor;
};

static int limit_fail(char **ret_error, const char *file, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int limit_fail(char **ret_error, const char *file, yaml_mark_t m, const char *fmt, ...)
{
	struct ctx x = {.file = file, .error = ret_error};
	char *reason = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = fail_mark(&x, m, NULL, "%s", reason);
	free(reason);
	return r;
}

static int check_limits(const char *file, const char *text, size_t len, size_t *nodes, char **ret_error)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	struct frame frames[CONFIG_MAX_DEPTH + 1];
	struct anchor anchors[CONFIG_MAX_ALIASES];
	size_t depth = 0, n_anchors = 0, n_aliases = 0, total = *nodes;
	int r = 0;
	for (bool end = false; !end && r == 0;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev))
			break; /* the syntax error is reported by the real parse */
		size_t add = 0;
		const char *anchor = NULL;
		char *closing = NULL; /* the anchor of a collection just closed */
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_ALIAS_EVENT: {
			const char *name = (const char *)ev.data.alias.anchor;
			if (++n_aliases > CONFIG_MAX_ALIASES) {
				r = limit_fail(ret_error, file, ev.start_mark,
					       "alias *%.64s: more than %u aliases in one file (the limit of a config)",
					       name, CONFIG_MAX_ALIASES);
				break;
			}
			add = 1; /* an alias to a node still open, or unknown (the parser says so) */
			for (size_t i = n_anchors; i-- > 0;)
				if (strcmp(anchors[i].name, name) == 0) {
					add = anchors[i].size;
					break;
				}
			break;
		}
		case YAML_SCALAR_EVENT:
			add = 1;
			anchor = (const char *)ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == CONFIG_MAX_DEPTH) {
				r = limit_fail(ret_error, file, ev.start_mark,
					       "nesting: more than %u levels of lists and mappings (the limit of a config)",
					       CONFIG_MAX_DEPTH);
				break;
			}
			anchor = (const char *)(ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
										   : ev.data.mapping_start.anchor);
			frames[depth] = (struct frame){.size = 1};
			if (anchor && !(frames[depth].anchor = strdup(anchor)))
				r = -ENOMEM;
			depth++;
			total++;
			anchor = NULL;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth == 0)
				break;
			depth--;
			add = frames[depth].size;
			anchor = closing = frames[depth].anchor;
			total -= add; /* counted as it was read */
			break;
		default:
			break;
		}
		if (r == 0 && anchor) {
			if (n_anchors == CONFIG_MAX_ALIASES)
				r = limit_fail(ret_error, file, ev.start_mark,
					       "anchor &%.64s: more than %u anchors in one file (the limit of a config)",
					       anchor, CONFIG_MAX_ALIASES);
			else if (!(anchors[n_anchors].name = strdup(anchor)))
				r = -ENOMEM;
			else
				anchors[n_anchors++].size = add;
		}
		free(closing);
		if (r == 0 && add) {
			if (depth)
				frames[depth - 1].size += add;
			total += add;
		}
		if (r == 0 && total > CONFIG_MAX_NODES)
			r = limit_fail(ret_error, file, ev.start_mark,
				       "size: more than %u values, lists and mappings, aliases expanded (the limit of "
				       "a config, all its files together)", CONFIG_MAX_NODES);
		yaml_event_delete(&ev);
	}
	while (depth)
		free(frames[--depth].anchor);
	for (size_t i = 0; i < n_anchors; i++)
		free(anchors[i].name);
	yaml_parser_delete(&parser);
	if (r == 0)
		*nodes = total;
	return r;
}

int config_parse_string(struct config *c, const char *name, const char *text, size_t len, char **ret_error)
{
	*ret_error = NULL;
	_cleanup_free_ char *file = strdup(name);
	if (!file)
		return -ENOMEM;

	size_t nodes = c->nodes;
	int lr = check_limits(file, text, len, &nodes, ret_error);
	if (lr < 0)
		return lr;

	yaml_parser_t parser;
	yaml_document_t doc, extra;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		int r = syntax_error(&parser, file, text, len, ret_error);
		yaml_parser_delete(&parser);
		return r;
	}

	struct ctx x = {.doc = &doc, .file = file, .work = c->work, .error = ret_error};
	int r;
	/* A second document would be silently ignored; refuse it. */
	if (!yaml_parser_load(&parser, &extra)) {
		r = syntax_error(&parser, file, text, len, ret_error);
		goto out;
	}
	yaml_node_t *second = yaml_document_get_root_node(&extra);
	if (second)
		r = fail_mark(&x, second->start_mark, NULL, "a second YAML document; a config file holds one");
	yaml_document_delete(&extra);
	if (second)
		goto out;

	r = pfs_clone(c->pfs, c->n_pfs, &x.pfs);
	if (r < 0)
		goto out;
	x.n_pfs = c->n_pfs;
	/* Each file works on a copy: copying counts as work too. */
	for (size_t i = 0; i < x.n_pfs; i++)
		x.work += 1 + x.pfs[i].n_vfs;
	if (x.work > CONFIG_MAX_WORK) {
		r = error_set(ret_error, -EINVAL, "%s: the files before it take more than %u updates of VF ranges "
				      "to merge (the limit of a config)", file, CONFIG_MAX_WORK);
		goto out;
	}
	r = alloc_copy(c, &x);
	if (r >= 0)
		r = parse_root(&x);
	if (r >= 0)
		r = check_merged(&x);
	if (r >= 0)
		r = strv_push(&c->files, TAKE_PTR(file));
	if (r >= 0) {
		pfs_free(c->pfs, c->n_pfs);
		c->pfs = TAKE_PTR(x.pfs);
		c->n_pfs = x.n_pfs;
		x.n_pfs = 0;
		c->nodes = nodes;
		c->work = x.work;
		struct alloc_spec **v = x.n_specs ? realloc(c->specs, (c->n_specs + x.n_specs) * sizeof(*v)) : c->specs;
		if (x.n_specs && !v) {
			r = -ENOMEM; /* the PF part is in; the config is dropped by the caller */
		} else {
			c->specs = v;
			if (x.n_specs)
				memcpy(c->specs + c->n_specs, x.specs, x.n_specs * sizeof(*v));
			c->n_specs += x.n_specs;
			x.n_specs = 0;
			alloc_aliases_done(&c->aliases);
			alloc_networks_done(&c->networks);
			c->aliases = x.aliases;
			c->networks = x.networks;
			x.aliases = (struct alloc_aliases){0};
			x.networks = (struct alloc_networks){0};
			json_decref(c->alias_objs);
			json_decref(c->network_objs);
			c->alias_objs = TAKE_PTR(x.alias_objs);
			c->network_objs = TAKE_PTR(x.network_objs);
		}
	}
out:
	alloc_ctx_done(&x);
	pfs_free(x.pfs, x.n_pfs);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

static int read_config_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= CONFIG_MAX_FILE_SIZE
			     ? (size_t)st.st_size + 1
			     : 4096;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_MAX_FILE_SIZE)
				return -EFBIG;
			size_t ncap = cap * 2 > CONFIG_MAX_FILE_SIZE + 1 ? CONFIG_MAX_FILE_SIZE + 1 : cap * 2;
			char *n = realloc(buf, ncap);
			if (!n)
				return -ENOMEM;
			buf = n;
			cap = ncap;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	if (len > CONFIG_MAX_FILE_SIZE)
		return -EFBIG;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int fail_file(char **ret_error, const char *path, int r)
{
	int q;
	if (r == -EFBIG)
		q = asprintf(ret_error, "%s: larger than %u MiB", path, CONFIG_MAX_FILE_SIZE >> 20);
	else
		q = asprintf(ret_error, "%s: %s", path, strerror(-r));
	if (q < 0)
		*ret_error = NULL;
	return r;
}

int config_parse_file(struct config *c, const char *path, char **ret_error)
{
	*ret_error = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_config_file(path, &text, &len);
	if (r < 0)
		return fail_file(ret_error, path, r);
	if (c->bytes + len > CONFIG_MAX_FILE_SIZE)
		return error_set(ret_error, -EFBIG, "%s: with the files before it, larger than %u MiB (the limit of "
				       "a config)", path, CONFIG_MAX_FILE_SIZE >> 20);
	r = config_parse_string(c, path, text, len, ret_error);
	if (r >= 0)
		c->bytes += len;
	return r;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* DIR's NAME.conf regular files, sorted; *ret NULL when none. */
static int list_dropins(const char *dir, char ***ret, char **ret_error)
{
	*ret = NULL;
	_cleanup_(closedirp) DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return fail_file(ret_error, dir, -errno);
	}
	_cleanup_(strv_freep) char **names = NULL;
	const size_t suffix = strlen(CONFIG_DROPIN_SUFFIX);
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				return fail_file(ret_error, dir, -errno);
			break;
		}
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= suffix || strcmp(de->d_name + len - suffix, CONFIG_DROPIN_SUFFIX) != 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0) {
			int r = -errno;
			_cleanup_free_ char *p = path_join(dir, de->d_name);
			return fail_file(ret_error, p ? p : dir, r);
		}
		if (!S_ISREG(st.st_mode))
			continue;
		char *n = strdup(de->d_name);
		if (!n || strv_push(&names, n) < 0)
			return -ENOMEM;
	}
	strv_sort(names);
	*ret = TAKE_PTR(names);
	return 0;
}

int config_load(const char *main_path, const char *dropin_dir, struct config **ret, char **ret_error)
{
	*ret_error = NULL;
	_cleanup_(strv_freep) char **files = NULL, **names = NULL;
	int r = strv_pushf(&files, "%s", main_path);
	if (r >= 0 && dropin_dir)
		r = list_dropins(dropin_dir, &names, ret_error);
	for (size_t i = 0; r >= 0 && names && names[i]; i++) {
		char *p = path_join(dropin_dir, names[i]);
		r = p ? strv_push(&files, p) : -ENOMEM;
	}
	if (r < 0)
		return r;
	return config_load_files(files, dropin_dir, ret, ret_error);
}

int config_dropin_dir(const char *main_path, const char *dropin_dir, char **ret)
{
	*ret = NULL;
	if (dropin_dir)
		return *dropin_dir && !(*ret = strdup(dropin_dir)) ? -ENOMEM : 0;
	if (str_empty(main_path))
		main_path = CONFIG_DEFAULT_PATH;
	return asprintf(ret, "%s.d", main_path) < 0 ? (*ret = NULL, -ENOMEM) : 0;
}

int config_load_rule(const char *main_path, const char *dropin_dir, struct config **ret, char **ret_error)
{
	*ret_error = NULL;
	_cleanup_free_ char *dir = NULL;
	if (config_dropin_dir(main_path, dropin_dir, &dir) < 0)
		return -ENOMEM;
	return config_load(str_empty(main_path) ? CONFIG_DEFAULT_PATH : main_path, dir, ret, ret_error);
}

int config_load_files(char *const *files, const char *dropin_dir, struct config **ret, char **ret_error)
{
	*ret_error = NULL;
	if (!files || !files[0])
		return error_set(ret_error, -EINVAL, "no config file given");
	struct config *c = config_new();
	if (!c)
		return -ENOMEM;
	int r = 0;
	if (dropin_dir && !(c->dropin_dir = strdup(dropin_dir)))
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && files[i]; i++)
		r = config_parse_file(c, files[i], ret_error);
	if (r < 0) {
		config_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void relay_desired_name(const struct relay_desired *r, const char *pf_addr, char buf[RELAY_DESIRED_NAME_MAX + 1])
{
	if (r->name) {
		snprintf(buf, RELAY_DESIRED_NAME_MAX + 1, "%s", r->name);
		return;
	}
	/* "dddd:bb:ss.f" (12) + "-vf" + at most 5 digits: 20, within the limit. */
	snprintf(buf, RELAY_DESIRED_NAME_MAX + 1, "%s-vf%u", pf_addr, r->vf);
	for (char *c = buf; *c; c++)
		if (*c == ':')
			*c = '.';
}

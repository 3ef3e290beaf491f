/* alloc: which devices of the host a consumer may be given.
 *
 * Owns: the grammars of device specs (Nova's `[pci] device_spec`, plus
 * sriovd's `pf: "eth0#0-3,5"`), aliases (Nova's `[pci] alias`), requests
 * ("alias:count[, alias:count...]") and networks (oVirt's model: an
 * optional VLAN and the PFs allowed to carry it, by netdev, PCI address or
 * label); and the matcher that walks a struct pci_tree and says, in tree
 * order (by PCI address), which functions a spec, an alias or a network
 * offers, and for every other function why it does not count.
 * docs/allocation.md is the reference of the grammar.
 *
 * It is pure: JSON objects (jansson) in, model out; the matcher reads only
 * the tree it is given. Functions return 0 or -errno and never print; a
 * parse error sets *ret_error to one line "KEY: reason" naming the key
 * (the caller prefixes where the object came from). */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sysfs/sysfs.h"

/* Nova's bounds. */
#define ALLOC_MAX_DOMAIN 0xffffu
#define ALLOC_MAX_BUS 0xffu
#define ALLOC_MAX_SLOT 0x1fu
#define ALLOC_MAX_FUNCTION 0x7u
#define ALLOC_MAX_ID 0xffffu
/* Bounds of our own on what one object may hold. */
#define ALLOC_MAX_REGEX_LEN 256u   /* bytes of one address regex */
/* The work of compiling one: regcomp copies a repeated part once per
 * repetition, nested repeats multiplying, so `*`, `+`, `?` count (at most
 * this many) and the upper bounds of `{m,n}` multiply (at most this much). */
#define ALLOC_MAX_REGEX_REPEATS 8u
#define ALLOC_MAX_REGEX_BOUNDS 256u
#define ALLOC_MAX_PF_RANGES 64u    /* entries of a pf: "PF#..." list */
#define ALLOC_MAX_REQUEST_ITEMS 64u
#define ALLOC_MAX_COUNT 65535u     /* devices one request item may ask for */
#define ALLOC_MAX_NAME_LEN 64u     /* alias and network names */
#define ALLOC_ANY (-1)

enum alloc_addr_field { ALLOC_DOMAIN, ALLOC_BUS, ALLOC_SLOT, ALLOC_FUNCTION, _ALLOC_ADDR_MAX };

/* The `address` of a spec: a glob string (each field a value or ALLOC_ANY)
 * or a mapping of regular expressions (POSIX ERE, anchored at the start as
 * Python's re.match; a field left out matches anything). */
struct alloc_addr {
	bool regex;
	int32_t glob[_ALLOC_ADDR_MAX];
	bool has_re[_ALLOC_ADDR_MAX];
	regex_t re[_ALLOC_ADDR_MAX];
	/* The text of each field as Nova keeps it ("0000", "01", "*", or the
	 * regex): a "single address" (every field hex digits) is what the PF
	 * rule looks up on the host. */
	char *text[_ALLOC_ADDR_MAX];
};

struct alloc_vf_range {
	uint32_t first, last;
};

struct alloc_spec {
	int32_t vendor_id, product_id; /* ALLOC_ANY or the value */
	bool has_address;
	struct alloc_addr address;     /* has_address; else every address */
	char *devname;                 /* NULL when not given */
	char *pf;                      /* pf: the PF (netdev or PCI address) before '#' */
	struct alloc_vf_range *pf_vfs; /* its VF index ranges */
	size_t n_pf_vfs;
	json_t *tags;                  /* every other key, as given (an object) */
	json_t *obj;                   /* the whole object, as given */
};

/* Parses one device spec object. */
int alloc_spec_parse(const json_t *j, struct alloc_spec **ret, char **ret_error);
void alloc_spec_free(struct alloc_spec *s);

enum alloc_device_type {
	ALLOC_TYPE_ANY = -1,
	ALLOC_TYPE_PCI, /* "type-PCI": neither a PF nor a VF */
	ALLOC_TYPE_PF,  /* "type-PF": a function with the SR-IOV capability */
	ALLOC_TYPE_VF,  /* "type-VF" */
	_ALLOC_TYPE_MAX,
};

enum alloc_numa_policy {
	ALLOC_NUMA_LEGACY, /* the default: Nova's "legacy" */
	ALLOC_NUMA_REQUIRED,
	ALLOC_NUMA_PREFERRED,
	ALLOC_NUMA_SOCKET,
	_ALLOC_NUMA_MAX,
};

/* One alias: every entry with its name, ORed. */
struct alloc_alias_entry {
	int32_t vendor_id, product_id; /* ALLOC_ANY or the value */
};
struct alloc_alias {
	char *name;
	enum alloc_device_type device_type; /* ALLOC_TYPE_ANY when no entry says */
	enum alloc_numa_policy numa_policy;
	bool has_device_type, has_numa_policy;
	struct alloc_alias_entry *entries;
	size_t n_entries;
};

struct alloc_aliases {
	struct alloc_alias *v;
	size_t n;
};

/* Parses one alias object and adds it to a: a new name makes a new alias,
 * a known one adds an entry, which must agree on device_type and
 * numa_policy with the entries before it. On failure a is unchanged. */
int alloc_aliases_add(struct alloc_aliases *a, const json_t *j, char **ret_error);
const struct alloc_alias *alloc_aliases_find(const struct alloc_aliases *a, const char *name);
void alloc_aliases_done(struct alloc_aliases *a);

/* "a1:2, a2:1" (Nova's pci_passthrough:alias): alias names and counts. */
struct alloc_request_item {
	char *alias;
	uint32_t count; /* >= 1 */
};
struct alloc_request {
	struct alloc_request_item *items;
	size_t n;
};
/* aliases (may be NULL) is checked: every name must be one of them. */
int alloc_request_parse(const char *s, const struct alloc_aliases *aliases, struct alloc_request *ret,
			char **ret_error);
void alloc_request_done(struct alloc_request *r);

/* A network: its VFs come from the PFs it allows. */
struct alloc_network {
	char *name;
	int32_t vlan;   /* -1: none, else 1-4095 */
	char **pfs;     /* netdev names or PCI addresses ("dddd:bb:ss.f"); NULL-terminated, may be NULL */
	char **labels;  /* PF labels; NULL-terminated, may be NULL */
};
struct alloc_networks {
	struct alloc_network *v;
	size_t n;
};
/* Parses one network object and adds it (a name given twice is an error). */
int alloc_networks_add(struct alloc_networks *a, const json_t *j, char **ret_error);
const struct alloc_network *alloc_networks_find(const struct alloc_networks *a, const char *name);
void alloc_networks_done(struct alloc_networks *a);

/* What the matcher found: one row per function of the tree, in tree order.
 * A row that counts has ok set and spec (the first spec that matched: its
 * tags go with the device); one that does not has reason. */
struct alloc_row {
	const struct pci_function *dev;
	bool ok;
	const struct alloc_spec *spec; /* may be NULL when no specs were given */
	const char *reason;            /* static text, when !ok */
};
struct alloc_result {
	struct alloc_row *rows;
	size_t n;
};
void alloc_result_done(struct alloc_result *r);

/* The devices the specs offer (specs NULL/n 0: none, as Nova's empty
 * device_spec). */
int alloc_match_specs(const struct pci_tree *t, struct alloc_spec *const *specs, size_t n,
		      struct alloc_result *ret);
/* Narrows a result to what an alias takes (vendor, product, device type). */
void alloc_result_filter_alias(struct alloc_result *r, const struct alloc_alias *a);
/* PF labels of the host (from the config): which labels a PF carries. */
typedef char *const *(*alloc_pf_labels_fn)(const struct pci_function *pf, void *data);
/* Narrows a result to the VFs of the PFs a network allows. */
void alloc_result_filter_network(struct alloc_result *r, const struct alloc_network *n, alloc_pf_labels_fn labels,
				 void *data);

/* What `sriovctl match` and the API's POST /v1/match ask: the devices of a
 * request (its aliases' devices among the specs' pool), or of a network (the
 * pool's VFs on the PFs it allows), or of the specs alone. A pool of no specs
 * is every device. */
struct alloc_query {
	struct alloc_spec *const *specs;
	size_t n_specs;
	const struct alloc_aliases *aliases; /* for request */
	const char *request;                 /* NULL: none */
	const struct alloc_network *network; /* NULL: none (ignored with request) */
	alloc_pf_labels_fn labels;           /* for network */
	void *labels_data;
};
/* -EINVAL with *ret_error (alloc_request_parse's) for a bad request. */
int alloc_match_query(const struct pci_tree *t, const struct alloc_query *q, struct alloc_result *ret,
		      char **ret_error);

/* An alias, network or label name: 1-ALLOC_MAX_NAME_LEN letters, digits, '-', '_', '.'. */
bool alloc_name_valid(const char *s);

/* "pf", "vf", "pci": the role a function plays. */
const char *alloc_role(const struct pci_function *d);
const char *alloc_device_type_to_string(enum alloc_device_type t);
const char *alloc_numa_policy_to_string(enum alloc_numa_policy p);

/* output: how the model is shown to people and programs.
 *
 * Owns: the JSON schema (one mapping from the model to jansson objects, used
 * by `sriovctl -j` now and by the daemon's API later; its keys are documented
 * in docs/json-schema.md, checked by docs/sriovctl.schema.json, and only
 * ever added to; a value the model could not read is null) and the human text layouts
 * (the list tree and the show page). Nothing here reads sysfs or netlink. */
#pragma once

#include <time.h>

#include <jansson.h>
#include <stdio.h>

#include "sysfs/sysfs.h"

struct plan;
struct config;
struct alloc_row;
struct alloc_result;
struct alloc_network;
struct claim_device;
struct claim_result;
struct release_result;
struct ledger_claim;
struct ledger_claims;

#define OUTPUT_SCHEMA_VERSION 1
/* The list document (`sriovctl -j list`, GET /v1/inventory): version 2
 * prints each IOMMU group once, in "iommu_groups", instead of every
 * member's list of members (docs/json-schema.md). */
#define OUTPUT_INVENTORY_SCHEMA_VERSION 2

/* The JSON writer: the model is mapped to JSON once, through these calls,
 * and the writer either streams it to a FILE as it goes (as json_dumpf()
 * with JSON_INDENT(2) | JSON_PRESERVE_ORDER would print it, byte for byte,
 * without holding the document) or builds a jansson value. key is NULL
 * inside arrays and for the outermost value. Errors (ENOMEM, nesting
 * deeper than JW_MAX_DEPTH) stick and surface at jw_take() / jw_finish(). */
#define JW_MAX_DEPTH 16
struct jw {
	FILE *f; /* streaming; NULL: building */
	char *buf; /* streaming: what is not yet handed to f */
	size_t len;
	bool io_error;
	json_t *root, *stack[JW_MAX_DEPTH];
	bool has_items[JW_MAX_DEPTH];
	unsigned depth;
	bool oom;
};
void jw_init_stream(struct jw *w, FILE *f);
void jw_init_tree(struct jw *w);
/* Building: the value built (the caller owns it), or NULL on failure. */
json_t *jw_take(struct jw *w);
/* Streaming: ends the document with a newline; -ENOMEM or -EIO. */
int jw_finish(struct jw *w);
void jw_object_begin(struct jw *w, const char *key);
void jw_object_end(struct jw *w);
void jw_array_begin(struct jw *w, const char *key);
void jw_array_end(struct jw *w);
void jw_null(struct jw *w, const char *key);
/* s as json_text() has it; null for NULL. */
void jw_str(struct jw *w, const char *key, const char *s);
void jw_int(struct jw *w, const char *key, long long v);
void jw_bool(struct jw *w, const char *key, bool v);
/* v as width lower-case hex digits ("8086"). */
void jw_hex(struct jw *w, const char *key, unsigned v, int width);
void jw_strv(struct jw *w, const char *key, char *const *v);

/* {"schema_version": 1}: every document starts so (docs/sriovctl.schema.json). */
json_t *json_document(void);
json_t *json_vf_settings(const struct vf_settings *s);
/* One DEVICE. A PF's VFs are printed one level down and never further: no
 * path through the model (a VF listed as its own PF's VF, say) recurses. */
json_t *json_pci_function(const struct pci_function *d);
/* show: a DEVICE with schema_version and the tree's warnings. */
json_t *json_show(const struct pci_tree *t, const struct pci_function *d);
/* {"schema_version": 2, "sysfs_root", "pfs": [...], "iommu_groups": [...],
 * "warnings": [...]}: the DEVICEs in it have no iommu_group_members. */
json_t *json_inventory(const struct pci_tree *t);
/* The same document streamed to f as it is written (`sriovctl -j list`). */
int json_inventory_print(FILE *f, const struct pci_tree *t);
json_t *json_warnings(const struct pci_tree *t);
/* s as a JSON string; bytes that are not UTF-8 (a netdev name is any bytes)
 * come out escaped as "\xHH" rather than dropping the key. NULL for NULL. */
json_t *json_text(const char *s);
json_t *json_strv(char *const *v);
json_t *json_str_or_null(const char *s); /* a string, or null for NULL */
/* "2026-12-02T01:09:41Z" (UTC), or null for 0. */
json_t *json_time_utc(time_t t);

/* A plan's changes, one object per change (plan, apply, status). */
json_t *json_plan_changes(const struct plan *p);
/* plan: {"schema_version", "changes", "missing", "warnings"} */
json_t *json_plan(const struct plan *p);
/* status: whether sriovd runs, its status record (daemon, may be NULL), the
 * config in use and its drift now (plan_r < 0: plan_error says why not),
 * the lost claims (an array, taken over; NULL: []) and why the ledger could
 * not be read (NULL: it could). */
json_t *json_status(bool running, json_t *daemon, const char *config, const struct config *cfg, int plan_r,
		    const struct plan *p, const char *plan_error, json_t *lost_claims, const char *ledger_error);
/* match: {"schema_version", "devices": [{"address", "role", "pf", "tags",
 * "claimed_by"}]}, the rows that count; a network's name and VLAN are tags. */
json_t *json_match(const struct alloc_result *res, const struct alloc_network *net);
json_t *json_match_tags(const struct alloc_row *row, const struct alloc_network *net);
/* Whether no value of j is nested more than max_depth levels below it. */
bool json_depth_ok(const json_t *j, unsigned max_depth);

/* claim, release, claims (claim/, ledger/): one device of a claim; a
 * claim as the ledger holds it; {"schema_version", "claims": [...]}; the
 * document of `claim -j` (r < 0: refused, with the counts of res and the
 * error); that of `release -j`. */
json_t *json_claim_device(const struct claim_device *d);
json_t *json_claim(const struct ledger_claim *c);
json_t *json_claims(const struct ledger_claims *list);
json_t *json_claim_result(const char *consumer, int r, const struct claim_result *res, const char *error);
json_t *json_release_result(const char *consumer, const struct release_result *res);
/* The devices of a ledger claim as claim_run() gives them (out: c->n_devs). */
void claim_devices_of(const struct ledger_claim *c, struct claim_device *out);

/* Prints j with a trailing newline. -EIO when the stream fails. */
int json_print(FILE *f, json_t *j);

void text_print_list(FILE *f, const struct pci_tree *t);
void text_print_show(FILE *f, const struct pci_function *d);
void text_print_warnings(FILE *f, const struct pci_tree *t);

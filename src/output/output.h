/* output: how the model is shown to people and programs.
 *
 * Owns: the JSON schema (one mapping from the model to jansson objects, used
 * by `sriovctl -j` now and by the daemon's API later; its keys are documented
 * in docs/json-schema.md, checked by docs/sriovctl.schema.json, and only
 * ever added to; a value the model could not read is null) and the human text layouts
 * (the list tree and the show page). Nothing here reads sysfs or netlink. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "sysfs/sysfs.h"

#define OUTPUT_SCHEMA_VERSION 1

/* {"schema_version": 1}: every document starts so (docs/sriovctl.schema.json). */
json_t *json_document(void);
json_t *json_vf_settings(const struct vf_settings *s);
/* One DEVICE. A PF's VFs are printed one level down and never further: no
 * path through the model (a VF listed as its own PF's VF, say) recurses. */
json_t *json_pci_function(const struct pci_function *d);
/* show: a DEVICE with schema_version and the tree's warnings. */
json_t *json_show(const struct pci_tree *t, const struct pci_function *d);
/* {"schema_version", "sysfs_root", "pfs": [...], "warnings": [...]} */
json_t *json_inventory(const struct pci_tree *t);
json_t *json_warnings(const struct pci_tree *t);
/* s as a JSON string; bytes that are not UTF-8 (a netdev name is any bytes)
 * come out escaped as "\xHH" rather than dropping the key. NULL for NULL. */
json_t *json_text(const char *s);
json_t *json_strv(char *const *v);
json_t *json_str_or_null(const char *s); /* a string, or null for NULL */

/* Prints j with a trailing newline. -EIO when the stream fails. */
int json_print(FILE *f, json_t *j);

void text_print_list(FILE *f, const struct pci_tree *t);
void text_print_show(FILE *f, const struct pci_function *d);
void text_print_warnings(FILE *f, const struct pci_tree *t);

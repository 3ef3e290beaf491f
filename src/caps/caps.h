/* caps: the driver capability table, learned from the kernel.
 *
 * Owns: the table of settings a driver cannot do, as the kernel itself
 * said: the first EOPNOTSUPP a driver answers for a setting ("igb trust":
 * igb has no ndo_set_vf_trust) is remembered, per driver, in one small file
 * of the state folder (STATE/capabilities, beside the bind records and the
 * locks), so that `show` and `check` can say it and `plan` can warn before
 * `apply` sends it again. VF settings (mac, vlan, ..., query-rss) are the
 * PF driver's (it takes them over the PF's netdev); mtu and up are the
 * driver of the netdev they were set on.
 *
 * The file: "DRIVER SETTING ERRNO_NAME" lines (one per pair, sorted), with a
 * comment heading. It is written confined (beneath the state folder's
 * anchor, no link followed) and atomically (write_file_atomic_at), and is
 * bounded: at most CAPS_MAX_ENTRIES pairs and CAPS_MAX_BYTES; a pair beyond
 * the bound is not recorded (-ENOSPC), a larger or garbled file is refused
 * on reading (-EBADMSG) and replaced by the next learn.
 *
 * Functions return 0 or -errno and never print. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lifecycle/lifecycle.h"
#include "sysfs/sysfs.h"
#include "util/input.h"

#define CAPS_FILE "capabilities"
#define CAPS_MAX_ENTRIES 256u
#define CAPS_MAX_BYTES (32u << 10)
#define CAPS_SETTING_MAX 15 /* "query-rss", "max-rate", "mtu", "up" */

struct caps_entry {
	char driver[DRIVER_NAME_MAX + 1];
	char setting[CAPS_SETTING_MAX + 1];
	int error; /* -EOPNOTSUPP */
};

struct caps {
	struct caps_entry *v; /* sorted by driver, then setting */
	size_t n;
};
void caps_done(struct caps *c);

/* The file's text <-> the table (pure, for the store and its tests).
 * caps_parse: -EBADMSG with *ret_line (1-based) on a line that is not
 * "DRIVER SETTING ERRNO_NAME", a pair given twice or more than
 * CAPS_MAX_ENTRIES pairs. */
int caps_parse(const char *text, struct caps *ret, unsigned *ret_line);
int caps_format(const struct caps *c, char **ret);

/* Adds a pair to c (sorted): 1 when added, 0 when it was there, -ENOSPC
 * beyond CAPS_MAX_ENTRIES, -EINVAL for a driver or setting name that is not
 * one. */
int caps_add(struct caps *c, const char *driver, const char *setting, int error);

/* The entry for (driver, setting), or NULL. */
const struct caps_entry *caps_find(const struct caps *c, const char *driver, const char *setting);
/* The entries of driver (they are next to each other): how many, the first
 * in *ret_first. 0 for NULL c or driver. */
size_t caps_for_driver(const struct caps *c, const char *driver, const struct caps_entry **ret_first);
/* Whether setting is one the PF driver takes for its VFs (a vf set
 * setting), rather than one of a netdev's own (mtu, up). */
bool caps_setting_is_vf(const char *setting);

/* Fills each function's unsupported settings from c (its driver's; for a
 * VF also the VF settings of its PF's driver). */
int caps_annotate(const struct caps *c, struct pci_tree *t);

/* The file of env's state folder: *ret is a fresh path (for messages). */
int caps_path(const struct lifecycle_env *env, char **ret);

/* Reads the table of env's state folder: an empty table when there is none
 * yet; -EBADMSG when the file is not one (too large, garbled). */
int caps_load(const struct lifecycle_env *env, struct caps *ret);

/* Remembers that driver answered error to setting. Only -EOPNOTSUPP is a
 * capability (other errors are about the value or the moment): 0 and
 * nothing written for any other. 1 when the pair is new (the file was
 * rewritten), 0 when it was known, -errno when it could not be written. */
int caps_learn(const struct lifecycle_env *env, const char *driver, const char *setting, int error);

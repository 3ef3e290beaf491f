/* config: the desired state of the host, read from the declarative YAML file
 * (/etc/sriovd/sriovd.conf) and its drop-in folder (sriovd.conf.d/ *.conf).
 *
 * Owns: the format (docs/config.md) and its parser (libyaml: only this
 * module includes yaml.h), the model the daemon and `sriovctl plan/apply`
 * walk (struct config -> struct pf_desired -> struct vf_desired), the rules
 * that make a file valid, and the merge of several files into one model.
 * It is pure: text in, model out; no sysfs, no netlink. Whether a PF entry
 * matches a device on this host is the applier's business.
 *
 * VF settings are validated by vf_settings_parse() (vf/), the same function
 * `sriovctl vf set` uses, so the config and the CLI never disagree on what
 * is a valid VLAN, MAC, rate...
 *
 * Functions return 0 or a negative errno and never print or exit. On
 * failure *ret_error receives one line "FILE:LINE:COLUMN: KEY: reason"
 * (1-based; "FILE: reason" when no position applies), to be freed by the
 * caller; it may be NULL on -ENOMEM. Loading stops at the first error. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h"
#include "relayctl/relayctl.h"
#include "sysfs/sysfs.h"
#include "vf/vf.h"

#define CONFIG_DEFAULT_PATH "/etc/sriovd/sriovd.conf"
#define CONFIG_DEFAULT_DROPIN_DIR "/etc/sriovd/sriovd.conf.d"
#define CONFIG_DROPIN_SUFFIX ".conf"
#define CONFIG_VERSION 1
#define CONFIG_MAX_FILE_SIZE (16u << 20) /* larger files, or all files together, are refused (-EFBIG) */
#define CONFIG_MAX_NUMVFS 65535u        /* sriov_numvfs is a 16-bit count; the PF's
					 * sriov_totalvfs bounds it further (plan checks) */
/* The work of a config is bounded, not just its bytes; each limit hit is an
 * error naming it ("FILE:LINE:COL: nesting: more than 32 levels ..."). */
#define CONFIG_MAX_DEPTH 32u            /* levels of lists and mappings in a file */
#define CONFIG_MAX_ALIASES 1000u        /* anchors, and aliases, in one file */
#define CONFIG_MAX_NODES 200000u        /* values, lists and mappings of all files, aliases expanded */
#define CONFIG_MAX_WORK 4000000u        /* VF range updates to merge the VF entries of all files */
#define CONFIG_MAX_PFS 1024u            /* PF entries with different matches */
/* timeout: of a PF entry, in whole seconds. */
#define CONFIG_TIMEOUT_MIN_S 1
#define CONFIG_TIMEOUT_MAX_S 3600

/* mtu: of a PF or VF netdev: ETH_MIN_MTU (68, the IPv4 minimum) to 65535
 * (IP_MAX_MTU); the driver's own min_mtu/max_mtu bound it further (the
 * kernel answers EINVAL beyond them). */
#define CONFIG_MTU_MIN 68u
#define CONFIG_MTU_MAX 65535u
/* altname: an alternative netdev name (ALTIFNAMSIZ 128, NUL included). */
#define CONFIG_ALTNAME_MAX 127u
/* The pseudo-driver "kernel": the driver the kernel itself picks for the VF
 * (by its IDs), i.e. undo any override. Any other driver string is a driver
 * name ("vfio-pci", "iavf", ...). */
#define CONFIG_DRIVER_KERNEL "kernel"
#define CONFIG_DRIVER_VFIO "vfio-pci"

/* Where something was written; file points into the config's files[]. */
struct config_pos {
	const char *file;
	unsigned line, column; /* 1-based */
};

enum pf_match_kind {
	PF_MATCH_NETDEV, /* netdev */
	PF_MATCH_PCI,    /* pci */
	PF_MATCH_DEVICE, /* vendor and device */
	PF_MATCH_ALTNAME, /* altname: an alternative name of the PF's netdev (in netdev) */
	PF_MATCH_PATH,   /* path: udev's ID_PATH "pci-0000:01:00.0" (the address in pci) */
	_PF_MATCH_MAX,
};

enum mac_scheme {
	MAC_SCHEME_NONE,   /* VFs keep whatever MAC the driver gives them */
	MAC_SCHEME_STABLE, /* derived from the PF's permanent MAC and the VF index */
	_MAC_SCHEME_MAX,
};

/* What one VF should look like. Only the fields whose VF_HAS() bit is set
 * in settings.has were given; the others are left as the host has them.
 * VLAN, QoS and protocol travel as one (the kernel sets them together): when
 * VF_FIELD_QOS or VF_FIELD_VLAN_PROTO is set, VF_FIELD_VLAN is too, and a
 * VLAN without them means QoS 0 and 802.1Q. */
struct vf_desired {
	uint32_t index;              /* the first VF of the run; == settings.index */
	uint32_t last;               /* the last VF of the run (>= index): `all` and ranges stay ranges */
	struct vf_settings settings;
	char *driver;                /* NULL: unset; CONFIG_DRIVER_KERNEL, or a driver name */
	struct config_pos pos;       /* the `index:` of the last VF entry that set something */
	struct config_pos mac_pos;   /* the `mac:` value, when VF_FIELD_MAC is set */
	uint32_t mtu;                /* the MTU of the VF's netdev; 0: unset */
	struct config_pos mtu_pos;   /* the `mtu:` value, when mtu is set */
};

/* relays: one relay of sriov-relay per entry (docs/config.md, docs/relay.md):
 * VF vf of the PF entry, forwarded to the vhost-user socket. apply asks the
 * running sriov-relay for each one it does not have. */
struct relay_desired {
	uint32_t vf;                 /* the VF index */
	char *name;                  /* NULL: relay_desired_name() */
	char *socket;                /* the vhost-user socket, an absolute path */
	int mode;                    /* relayctl_mode(): 0 server, 1 client */
	uint32_t queues;             /* 0: the relay's default (1) */
	uint32_t mtu;                /* 0: the VF's */
	uint32_t lcores[RELAYCTL_MAX_LCORES];
	size_t n_lcores;             /* at least 1 */
	struct config_pos pos;       /* the entry's vf: */
};

/* One PF entry of the file(s), after merging entries with the same match. */
struct pf_desired {
	enum pf_match_kind match;
	char *netdev;                /* PF_MATCH_NETDEV, PF_MATCH_ALTNAME: the name */
	char pci[PCI_ADDR_STRLEN];   /* PF_MATCH_PCI, PF_MATCH_PATH: normalized "dddd:bb:ss.f" */
	uint16_t vendor, device;     /* PF_MATCH_DEVICE */

	bool has_numvfs;
	uint32_t numvfs;             /* 0-65535 */
	int autoprobe;               /* sriov_drivers_autoprobe: 1, 0, -1 unset */
	bool has_mac_scheme;
	enum mac_scheme mac_scheme;
	uint32_t mtu;                /* the PF netdev's MTU; 0: unset */
	int up;                      /* the PF netdev's admin state (IFF_UP): 1, 0, -1 unset */
	uint32_t timeout_s;          /* timeout: how long a count change waits for the VFs and
				      * their drivers, CONFIG_TIMEOUT_MIN_S-CONFIG_TIMEOUT_MAX_S; 0: unset
				      * (30 s plus 1 s per VF) */

	struct vf_desired *vfs;      /* runs of VFs with the same settings: disjoint, sorted by index */
	size_t n_vfs;
	size_t vfs_allocated;        /* internal to config.c */

	struct config_pos pos;        /* the match: of the first entry */
	struct config_pos numvfs_pos; /* the numvfs: value that won, when has_numvfs */
	struct config_pos mac_scheme_pos; /* the mac: value that won, when has_mac_scheme */
	struct config_pos mtu_pos, up_pos; /* the mtu: and up: values that won, when set */
	char **labels;                /* labels: the networks' PF labels (the later entry's list wins); may be NULL */
	struct relay_desired *relays; /* relays: (the later entry's list wins) */
	size_t n_relays;
};

struct config {
	struct pf_desired *pfs;      /* in order of first appearance */
	size_t n_pfs;
	char **files;                /* every file read, in order; NULL-terminated, NULL when none */
	char *dropin_dir;            /* the drop-in folder config_load() looked in; NULL: none */
	size_t nodes, work, bytes;   /* internal: what the files so far used of the limits */
	/* Allocation (docs/allocation.md): device-specs:, aliases:, networks:
	 * of every file, in order, parsed by alloc/. */
	struct alloc_spec **specs;
	size_t n_specs;
	struct alloc_aliases aliases;
	struct alloc_networks networks;
	json_t *alias_objs, *network_objs; /* internal: the objects as given, for the merge */
};

struct config *config_new(void); /* NULL on ENOMEM */
void config_free(struct config *c); /* accepts NULL */

/* Reads main_path, then every DIR/NAME.conf of dropin_dir (regular files,
 * not hidden, in strcmp order of NAME) and merges them into a new config.
 * dropin_dir NULL: none; a missing dropin_dir is fine. A missing main file
 * is -ENOENT (with a message). Nothing is returned unless every file is
 * valid. */
int config_load(const char *main_path, const char *dropin_dir, struct config **ret, char **ret_error);

/* Which files make the config: the one rule of sriovctl plan, apply, status
 * and sriovd. The main file is main_path (NULL or "": CONFIG_DEFAULT_PATH);
 * the drop-in folder is dropin_dir when given ("" for none), else MAIN.d next
 * to the main file (so /etc/sriovd/sriovd.conf.d by default). Then as
 * config_load(). */
int config_load_rule(const char *main_path, const char *dropin_dir, struct config **ret, char **ret_error);

/* The drop-in folder of that rule: *ret is malloc'ed, NULL for none. */
int config_dropin_dir(const char *main_path, const char *dropin_dir, char **ret);

/* Reads exactly these files (NULL-terminated, in order, the first being the
 * main file) as one config, e.g. the list a running sriovd reports it used;
 * dropin_dir is only recorded. */
int config_load_files(char *const *files, const char *dropin_dir, struct config **ret, char **ret_error);

/* Parses one YAML document named NAME (used in messages and recorded in
 * files[]) and merges it into c: entries whose match equals an existing
 * entry's are merged field by field (the later wins), others are appended.
 * On failure c is unchanged. */
int config_parse_string(struct config *c, const char *name, const char *text, size_t len,
			char **ret_error);

/* Reads a file and config_parse_string()s it. */
int config_parse_file(struct config *c, const char *path, char **ret_error);

/* The run holding VF index of pf (its settings are that VF's), or NULL when
 * the config says nothing about it. */
const struct vf_desired *pf_desired_vf(const struct pf_desired *pf, uint32_t index);

/* "netdev eth0", "pci 0000:01:00.0", "device 8086:10c9", "altname uplink0",
 * "path pci-0000:01:00.0" */
#define PF_MATCH_STRLEN 144
void pf_desired_match_format(const struct pf_desired *pf, char buf[PF_MATCH_STRLEN]);

/* The name of a relay the config does not name: "<PF address>-vf<N>" with
 * the address's ':' as '.' ("0000.01.00.0-vf0"), which the relay accepts. */
#define RELAY_DESIRED_NAME_MAX 32
void relay_desired_name(const struct relay_desired *r, const char *pf_addr, char buf[RELAY_DESIRED_NAME_MAX + 1]);

/* "netdev", "pci", "device", "altname", "path"; "stable", "none". NULL out of range. */
const char *pf_match_kind_to_string(enum pf_match_kind k);
const char *mac_scheme_to_string(enum mac_scheme s);

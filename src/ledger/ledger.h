/* ledger: the durable record of who holds which device.
 *
 * Owns: the SQLite database (the only code that includes sqlite3.h, and
 * that loads libsqlite3, when a ledger is first opened): where
 * it lives (ledger_path()), opening it (WAL, synchronous=FULL, a busy
 * timeout), its schema and the migrations between schema versions (PRAGMA
 * user_version; a newer version than this code knows is refused), the
 * claims with the devices each holds, and the append-only audit history.
 * docs/ledger.md documents the schema and every state.
 *
 * It decides nothing: claim/ says what is claimed and released, under the
 * host lock and inside one ledger_begin()/ledger_commit() (BEGIN
 * IMMEDIATE: a second writer waits for the first, so two claims never read
 * the same free device). Functions return 0 (or 1 for "found") or -errno
 * and never print; on failure ledger_error() holds one sentence naming the
 * database and what SQLite said. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sysfs/sysfs.h"

/* Where the live host keeps it; --state-dir DIR puts it in DIR. A tree given
 * with --sysfs-root keeps its own in ROOT/.sriovd, beside the bind records. */
#define LEDGER_STATE_DIR "/var/lib/sriovd"
#define LEDGER_TREE_STATE ".sriovd"
#define LEDGER_FILE "ledger.db"
/* The schema this code writes; older ones are migrated on open. */
#define LEDGER_SCHEMA_VERSION 1
/* How long a writer waits for another one's transaction (SQLite's busy
 * timeout). */
#define LEDGER_BUSY_TIMEOUT_MS 30000
#define LEDGER_CONSUMER_MAX 36 /* a UUID */
#define LEDGER_MAC_STRLEN 18

enum ledger_kind {
	LEDGER_KIND_ALIAS,   /* a request "alias:count[, ...]" */
	LEDGER_KIND_NETWORK, /* a network name and a count */
	LEDGER_KIND_DEVICE,  /* one PCI address */
	_LEDGER_KIND_MAX,
	_LEDGER_KIND_INVALID = -22,
};

enum ledger_state {
	LEDGER_PENDING,  /* recorded, host steps under way (or cut short by a crash) */
	LEDGER_ACTIVE,   /* the consumer has it */
	LEDGER_LOST,     /* a device it held vanished from the host */
	LEDGER_UNCLEAN,  /* released, but a device did not come back clean: out of the pool */
	LEDGER_RELEASED, /* back in the pool; kept for the history */
	_LEDGER_STATE_MAX,
	_LEDGER_STATE_INVALID = -22,
};
#define LEDGER_STATE_BIT(s) (1u << (s))
/* The states in which a claim's devices are out of the pool. */
#define LEDGER_HOLDING                                                                                           \
	(LEDGER_STATE_BIT(LEDGER_PENDING) | LEDGER_STATE_BIT(LEDGER_ACTIVE) | LEDGER_STATE_BIT(LEDGER_LOST) |      \
	 LEDGER_STATE_BIT(LEDGER_UNCLEAN))

enum ledger_role {
	LEDGER_ROLE_VF,
	LEDGER_ROLE_PF,
	LEDGER_ROLE_PCI, /* neither */
	_LEDGER_ROLE_MAX,
	_LEDGER_ROLE_INVALID = -22,
};

const char *ledger_kind_to_string(enum ledger_kind k);   /* "alias", "network", "device" */
enum ledger_kind ledger_kind_from_string(const char *s);
const char *ledger_state_to_string(enum ledger_state s); /* "pending", "active", ... */
enum ledger_state ledger_state_from_string(const char *s);
const char *ledger_role_to_string(enum ledger_role r);   /* "vf", "pf", "pci" */
enum ledger_role ledger_role_from_string(const char *s);

/* One device a claim holds, and what it was given. */
struct ledger_device {
	char address[PCI_ADDR_STRLEN];
	enum ledger_role role;
	char pf[PCI_ADDR_STRLEN];      /* a VF's PF; "" otherwise */
	int32_t vf_index;              /* -1: not a VF */
	char mac[LEDGER_MAC_STRLEN];   /* the MAC it was given; "" none */
	int32_t vlan;                  /* the VLAN it was given; -1 none */
	bool vfio;                     /* bound to vfio-pci for the consumer */
	char vfio_node[64];            /* "/dev/vfio/12"; "" none */
	char driver_before[64];        /* its driver before the claim; "" unbound */
};

struct ledger_claim {
	int64_t id;
	char consumer[LEDGER_CONSUMER_MAX + 1];
	enum ledger_kind kind;
	char *request;                 /* the request, device address or network name */
	uint32_t count;
	char mac[LEDGER_MAC_STRLEN];   /* --mac asked for; "" none */
	int32_t vlan;                  /* --vlan asked for; -1 none */
	bool vfio;
	char *numa_nodes;              /* "0,1"; NULL none */
	enum ledger_state state;
	char *reason;                  /* lost, unclean: why; NULL otherwise */
	uint32_t uid;                  /* who asked */
	int32_t pid;
	int64_t created, updated;      /* Unix time, seconds */
	struct ledger_device *devs;
	size_t n_devs;
};
void ledger_claim_done(struct ledger_claim *c);

struct ledger_claims {
	struct ledger_claim *v;
	size_t n;
};
void ledger_claims_done(struct ledger_claims *c);

/* One audit line. */
struct ledger_event {
	int64_t seq;         /* monotonically increasing, never reused */
	int64_t time;        /* Unix time, seconds */
	char *event;         /* "claim", "activate", "release", "rollback", "unclean", "lost", ... */
	char *consumer;      /* NULL none */
	int64_t claim;       /* 0 none */
	char *device;        /* NULL none */
	char *detail;        /* NULL none */
};
struct ledger_events {
	struct ledger_event *v;
	size_t n;
};
void ledger_events_done(struct ledger_events *e);

struct ledger;

/* The ledger's file for the tree at sysfs_root (NULL: /sys): state_dir
 * when given, else LEDGER_STATE_DIR for the live /sys and
 * ROOT/LEDGER_TREE_STATE for any other tree. *ret is a fresh string. */
int ledger_path(const char *sysfs_root, const char *state_dir, char **ret);
/* Whether that ledger's file exists: 1 or 0, with its path in *ret_path
 * (the caller frees it, also on -errno once it is known). A command that
 * only reads the ledger does not open, and so create, one that is not
 * there. */
int ledger_exists(const char *sysfs_root, const char *state_dir, char **ret_path);

/* Opens (and creates, 0600, in a folder created 0755) the ledger of that
 * tree: the tree's own folder is made beneath the tree refusing any link on
 * the way, as the bind records are; the file is opened O_NOFOLLOW and must
 * be a regular file. Then WAL, synchronous=FULL, the busy timeout, and the
 * schema: created, migrated from an older user_version, or refused
 * (-EPROTO) when newer than LEDGER_SCHEMA_VERSION. */
int ledger_open(const char *sysfs_root, const char *state_dir, struct ledger **ret, char **ret_error);
/* The host's ledger (the state folder, or LEDGER_STATE_DIR) for reading
 * only: no folder or file is created, no schema migrated, nothing written
 * (SQLite's read-only connection). -ENOENT when there is none, -EPROTO
 * when its schema is not LEDGER_SCHEMA_VERSION (a writer brings it up to
 * date: ledger_open). */
int ledger_open_readonly(const char *state_dir, struct ledger **ret, char **ret_error);
/* The same for an explicit file (tests, the benchmark). */
int ledger_open_file(const char *path, struct ledger **ret, char **ret_error);
void ledger_close(struct ledger *l);
static inline void ledger_closep(struct ledger **l)
{
	ledger_close(*l);
}
const char *ledger_error(const struct ledger *l);
const char *ledger_file(const struct ledger *l);
/* PRAGMA user_version as found on open, before any migration. */
int ledger_found_version(const struct ledger *l);

/* BEGIN IMMEDIATE (waits up to the busy timeout for another writer), COMMIT
 * (durable when it returns), ROLLBACK (never fails). */
int ledger_begin(struct ledger *l);
int ledger_commit(struct ledger *l);
void ledger_rollback(struct ledger *l);

/* Records c (its devices too) and sets c->id. */
int ledger_claim_add(struct ledger *l, struct ledger_claim *c);
/* Sets a claim's state and reason (NULL clears it) at time now. */
int ledger_claim_set_state(struct ledger *l, int64_t id, enum ledger_state state, const char *reason, int64_t now);
/* Deletes a claim that never became active (its host steps failed and were
 * put back): the claim and its devices, not its audit lines. */
int ledger_claim_delete(struct ledger *l, int64_t id);
/* Updates what device addr of claim id was given (mac, vlan, vfio, vfio_node, driver_before). */
int ledger_device_update(struct ledger *l, int64_t id, const struct ledger_device *d);

struct ledger_filter {
	const char *consumer; /* NULL: any */
	unsigned states;      /* LEDGER_STATE_BIT()s; 0: any */
	const char *pf;       /* NULL: any; else claims holding that PF or one of its VFs */
	int64_t id;           /* 0: any */
};
/* The claims that pass f, by id, with their devices. */
int ledger_claims_list(struct ledger *l, const struct ledger_filter *f, struct ledger_claims *ret);
/* 1 with *ret filled, 0 when there is no such claim. */
int ledger_claim_get(struct ledger *l, int64_t id, struct ledger_claim *ret);
/* Whether consumer has (had) any claim at all, in any state: 1 or 0. */
int ledger_consumer_known(struct ledger *l, const char *consumer);

/* A device out of the pool: held by a claim in a LEDGER_HOLDING state. */
struct ledger_hold {
	char address[PCI_ADDR_STRLEN];
	char pf[PCI_ADDR_STRLEN]; /* "" when not a VF */
	enum ledger_role role;
	char consumer[LEDGER_CONSUMER_MAX + 1];
	int64_t claim;
	enum ledger_state state;
};
struct ledger_holds {
	struct ledger_hold *v; /* sorted by address */
	size_t n;
};
void ledger_holds_done(struct ledger_holds *h);
int ledger_holds(struct ledger *l, struct ledger_holds *ret);
/* A number that changes whenever another connection (another process)
 * commits to the ledger, and only then: what this connection writes
 * itself leaves it alone (SQLite's PRAGMA data_version). */
int ledger_data_version(struct ledger *l, int64_t *ret);
/* The hold of address addr, or NULL. */
const struct ledger_hold *ledger_holds_find(const struct ledger_holds *h, const char *addr);

/* For sriovd's reconcile: the claims holding PF pf_addr or its VFs, and
 * marking a claim lost (state and an audit line "lost" with the reason). */
int ledger_claims_of_pf(struct ledger *l, const char *pf_addr, struct ledger_claims *ret);
int ledger_claim_mark_lost(struct ledger *l, int64_t id, const char *reason, int64_t now);

/* Appends an audit line (any argument but event may be NULL / 0). */
int ledger_audit(struct ledger *l, int64_t now, const char *event, const char *consumer, int64_t claim,
		 const char *device, const char *detail);
/* The audit lines with seq > since, oldest first, at most limit (0: all). */
int ledger_events_since(struct ledger *l, int64_t since, size_t limit, struct ledger_events *ret);

/* For the benchmark: SQLite's own rate of durable single-row transactions
 * on this database's disk (same pragmas): n inserts, each its own
 * BEGIN IMMEDIATE/COMMIT, into a scratch table that is dropped after. */
int ledger_bench_single_rows(struct ledger *l, unsigned n);

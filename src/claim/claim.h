/* claim: giving devices to consumers, and taking them back clean.
 *
 * Owns the claim, release and listing operations over the ledger (ledger/),
 * the matcher (alloc/), the host steps (apply/'s VF settings, lifecycle/'s
 * binding) and the host lock (lock/); and the lifecycle_consumer_fn that
 * tells numvfs, bind and apply which devices consumers hold. The CLI
 * (sriovctl claim/release/claims) and the daemon's API call exactly these
 * functions; they return 0 or -errno and never print: on failure *ret_error
 * holds one sentence naming the field or the device and the reason.
 *
 * A claim is all-or-nothing and idempotent (the same consumer with the same
 * request gets the same claim back and nothing changes). It is exclusive: a
 * device held by a claim (pending, active, lost or unclean) is not given
 * again, a claimed PF makes its VFs unavailable, a PF with a claimed VF
 * cannot be claimed, and the consumer hook makes lifecycle refuse a VF
 * count change of a PF whose VFs are held. Between processes it is safe:
 * every operation runs under the host lock, and the ledger's BEGIN
 * IMMEDIATE makes a second writer wait.
 *
 * Crash safety: a claim is committed as pending before the host is touched
 * (MAC and VLAN over netlink, vfio-pci and the VFIO pre-flight with
 * --vfio), then marked active. Any failure puts everything back and
 * deletes the claim (the audit history keeps a line). A pending claim
 * found later, by the next claim, release or listing and by sriovd at
 * start, was cut short by a crash: its devices are scrubbed and it is
 * marked released, with an audit line.
 *
 * Release scrubs every VF before it returns to the pool: MAC back to what
 * the config says (else the stable MAC), VLAN/QoS 0, spoof checking on,
 * trust off, rates 0, link state auto (the config's values where it gives
 * them), the driver the config wants (else the one before the claim), and
 * reads each back; a VF that does not come back clean keeps the claim
 * unclean with the reason, out of the pool. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "apply/apply.h"
#include "config/config.h"
#include "ledger/ledger.h"
#include "lock/lock.h"

#define CLAIM_MAX_NUMA_NODES 64
#define CLAIM_MAX_COUNT 4096u     /* devices one claim may hold */
/* The test hook: when $SRIOV_TEST_CRASH_AT names a step (see
 * docs/ledger.md), the process kills itself with SIGKILL there. */
#define CLAIM_CRASH_ENV "SRIOV_TEST_CRASH_AT"

struct claim_request {
	const char *consumer;   /* a UUID */
	enum ledger_kind kind;
	const char *what;       /* "nic:2" (alias), a network name, or a device (PCI address or netdev) */
	uint32_t count;         /* network: how many VFs (0: 1); must be 0 or 1 otherwise */
	bool has_mac;
	uint8_t mac[6];         /* only for a claim of one VF */
	int32_t vlan;           /* -1: none (a network gives its own) */
	bool vfio;              /* bind to vfio-pci and pass the VFIO pre-flight */
	int32_t numa_nodes[CLAIM_MAX_NUMA_NODES];
	size_t n_numa_nodes;    /* 0: the consumer did not say */
	uid_t uid;              /* who asks (the CLI: itself; the API: the peer) */
	pid_t pid;
};

/* One device of a claim as the consumer is given it. */
struct claim_device {
	char address[PCI_ADDR_STRLEN];
	enum ledger_role role;
	char pf[PCI_ADDR_STRLEN]; /* "" when not a VF */
	int32_t vf_index;         /* -1 when not a VF */
	char mac[LEDGER_MAC_STRLEN]; /* "" none */
	int32_t vlan;             /* -1 none */
	bool vfio;
	char vfio_node[64];       /* "" none */
};

struct claim_result {
	int64_t id;
	bool repeat;              /* the same request again: the claim it already had */
	struct claim_device *devs;
	size_t n_devs;
	/* On a refusal (-ENOSPC): how many were wanted and free, and why the
	 * others do not count. */
	uint32_t wanted, free, claimed, wrong_numa, not_matched;
};
void claim_result_done(struct claim_result *r);

/* The VFIO pre-flight (a hypervisor's first steps on the device): 0, or
 * -errno with *ret_error saying which step failed. */
typedef int (*claim_preflight_fn)(void *data, const char *sysfs_root, const struct pci_function *dev,
				  char **ret_error);

struct claim_env {
	/* The sysfs root, the lifecycle hooks (write, clock, vfio_dir) and the
	 * netlink table (NULL: the live one) the host steps use. */
	struct apply_env apply;
	const struct config *cfg; /* aliases, networks, device specs, the VF settings release puts back; may be NULL */
	struct ledger *ledger;    /* open (ledger_open()) */
	bool lock_held;           /* the caller holds the host lock; else it is taken here */
	unsigned lock_timeout_ms; /* 0: LOCK_WAIT_DEFAULT_MS */
	bool no_host;             /* the benchmark: ledger and matching only, nothing written to the host */
	/* A scan of the host the caller made (the benchmark under the host
	 * lock, sriovd's model), matched against instead of a fresh one, and
	 * read by a release for a device the claim did not bind to vfio-pci;
	 * NULL: a fresh scan. */
	const struct pci_tree *tree;
	int64_t (*now)(void *data);                   /* Unix time, seconds; NULL: time() */
	void (*crash)(void *data, const char *step);  /* NULL: SIGKILL when $SRIOV_TEST_CRASH_AT is step */
	claim_preflight_fn preflight;                 /* NULL: vfio_preflight() on the host */
	void *data;
};

/* Claims what req asks for. 0 with *ret filled (ret->repeat for an
 * idempotent repeat); -EINVAL (bad request: the sentence names the field),
 * -ENOENT (no such alias, network or device), -ENOSPC (cannot be met:
 * ret->free and the counts say why; the sentence too), -EBUSY (the device
 * is held: the sentence names the consumer), or the host's -errno (after
 * everything was put back). */
int claim_run(const struct claim_env *env, const struct claim_request *req, struct claim_result *ret,
	      char **ret_error);

/* What a release did, claim by claim. */
struct release_item {
	int64_t id;
	enum ledger_state state;  /* released, or unclean */
	char *reason;             /* unclean: why */
	char **devices;           /* the addresses scrubbed */
};
struct release_result {
	struct release_item *v;
	size_t n;                 /* 0: nothing was held (a second release) */
};
void release_result_done(struct release_result *r);

/* Releases every claim consumer holds, or claim id alone (id > 0): scrubs
 * and reads back each VF, then marks the claim released (or unclean).
 * -ENOENT for a consumer the ledger never saw, or an id that is not
 * consumer's; 0 with ret->n == 0 when nothing is held any more. */
int release_run(const struct claim_env *env, const char *consumer, int64_t id, struct release_result *ret,
		char **ret_error);

/* The claims in the pool's way (active, lost, unclean), of one consumer or
 * (NULL) all, after rolling back any pending one left by a crash. */
int claims_list(const struct claim_env *env, const char *consumer, struct ledger_claims *ret, char **ret_error);

/* Rolls back every pending claim (a crash cut it short): scrubs its devices
 * and marks it released with an audit line. *ret_n (may be NULL) counts
 * them. Takes the host lock unless env->lock_held. */
int claim_recover(const struct claim_env *env, unsigned *ret_n, char **ret_error);

/* A consumer id: a UUID, 8-4-4-4-12 hex digits. */
bool claim_consumer_valid(const char *s);

/* The lifecycle_consumer_fn over the ledger: the ledger at (sysfs_root,
 * state_dir) is opened on first use, and only when it exists (nothing is
 * held on a host that never had one). The holder reads "consumer UUID
 * (claim N)". */
struct claim_consumers {
	const char *sysfs_root;
	const char *state_dir;
	struct ledger *ledger; /* opened by the hook; claim_consumers_done() closes it */
	/* Only read through it (list, show, match): the host's ledger is
	 * opened read-only, a tree's as always. */
	bool readonly;
};
int claim_consumer_fn(void *userdata, const struct pci_function *dev, char **ret_holder);
/* Opens c->ledger when the file exists (once): 1 open, 0 there is none
 * (nothing was ever claimed), or -errno with *ret_error. */
int claim_consumers_ledger(struct claim_consumers *c, char **ret_error);
void claim_consumers_done(struct claim_consumers *c);
/* Fills claimed_by of every device of t a claim holds (the ledger opened as
 * the hook opens it: not at all when it does not exist). A ledger that
 * cannot be read is a warning of t, not a failure. */
int claim_annotate_tree(struct claim_consumers *c, struct pci_tree *t);
/* Who holds dev (itself, its PF, or for a PF one of its VFs): 1 with
 * *ret_holder ("consumer UUID (claim N)"), 0 free, or -errno. */
int claim_holder(struct ledger *l, const struct pci_function *dev, char **ret_holder);

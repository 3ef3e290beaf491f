/* daemon/claims: what sriovd does with the consumers' claims.
 *
 * Owns the ledger (ledger/) as sriovd reads it, and two things made of it:
 *
 * - The overlay of the active claims over the config (apply_overlay): a VF
 *   a consumer holds keeps the MAC and VLAN it was given, and vfio-pci when
 *   it was claimed with --vfio, through every re-apply (start, SIGHUP, a PF
 *   driver reload that re-creates the VFs, drift); apply never gives it the
 *   config's MAC or VLAN, nor rebinds it. Rebuilt from the ledger before
 *   each plan and again under the host lock before each apply: claims come
 *   and go from sriovctl while sriovd runs.
 *
 * - The reconcile of the ledger with the host, under the host lock: a
 *   pending claim left by a crash is rolled back (claim_recover()), and an
 *   active claim whose device vanished is marked lost with the reason and
 *   an audit line (ledger_claim_mark_lost()), never dropped. At start
 *   (sriovd was not watching) a device is judged as the host is before the
 *   first apply: its PF gone, its VF index not there (the VF count changed
 *   behind sriovd's back), its address now another device. While sriovd
 *   runs it is judged after each re-apply, and a VF index the config's
 *   count brings back (a PF driver reload re-created the VFs) is not lost:
 *   the VF gets the claim's settings again. A PF without a driver (a reload
 *   under way) loses nothing yet.
 *
 * The ledger is opened once it exists (a host that never had a claim has
 * none, and sriovd does not create it). The same handle serves lifecycle's
 * consumer hook (claim_consumer_fn() over cons), so a re-apply refuses a VF
 * count change that would destroy a held VF. No printing: 0 or -errno with
 * one sentence in *ret_error. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apply/apply.h"
#include "claim/claim.h"
#include "daemon/status.h"
#include "ledger/ledger.h"

struct daemon_claims {
	struct claim_consumers cons;   /* the ledger (cons.ledger, NULL until it exists) and the consumer hook */
	struct apply_overlay *overlay; /* one per VF an active claim holds */
	size_t n_overlay;
	struct ledger_claims lost;     /* the lost claims, as of the last reconcile */
};

void daemon_claims_init(struct daemon_claims *c, const char *sysfs_root, const char *state_dir);
void daemon_claims_done(struct daemon_claims *c);

/* Rebuilds c->overlay from the active claims of the ledger (none when there
 * is no ledger yet). On failure the previous overlay stays. */
int daemon_claims_refresh(struct daemon_claims *c, char **ret_error);

/* The overlay of the active claims of ledger l, one per VF they hold (the
 * same for sriovctl plan, apply and status). *ret is freed with free(). */
int daemon_claims_overlay(struct ledger *l, struct apply_overlay **ret, size_t *ret_n, char **ret_error);

/* When the reconcile is made. */
enum daemon_claims_when {
	DAEMON_CLAIMS_START,    /* before the first apply: the host as sriovd finds it */
	DAEMON_CLAIMS_REAPPLY,  /* after a re-apply: what the config's count brings back is not lost */
};

struct daemon_claims_report {
	unsigned recovered;        /* pending claims rolled back */
	struct ledger_claims lost; /* the claims marked lost by this reconcile, with the reason */
};
void daemon_claims_report_done(struct daemon_claims_report *r);

/* The reconcile; the caller holds the host lock. env: the sysfs root and the
 * netlink table the rollback's scrub uses; cfg (may be NULL) the config in
 * use (its VF counts, the settings a scrub puts back); now Unix seconds.
 * Then c->lost and c->overlay are rebuilt. */
int daemon_claims_reconcile(struct daemon_claims *c, const struct apply_env *env, const struct config *cfg,
			    enum daemon_claims_when when, int64_t now, struct daemon_claims_report *rep,
			    char **ret_error);

/* Why device d of a claim is no longer on the host t: 1 with *ret_reason
 * ("VF 1 of 0000:01:00.0 no longer exists (the PF has 0 VFs)"), 0 it is
 * there (or may come back: see above), -ENOMEM. want_vfs: the VF count the
 * config gives d's PF (-1: none, or at start). */
int daemon_claims_device_gone(const struct pci_tree *t, const struct ledger_device *d, int64_t want_vfs,
			      char **ret_reason);

/* The lost claims into the status file's list. */
void daemon_claims_status(const struct daemon_claims *c, struct daemon_status *s);

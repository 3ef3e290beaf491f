/* sriovd: keeps the host in the state the config file describes.
 *
 * Applies the config at start, then watches the kernel (device uevents:
 * PCI add/remove/bind/unbind; rtnetlink link events, which include every VF
 * setting change on a PF) and reconciles when the host drifts: a PF driver
 * reload that wiped its VFs, a VF MAC changed behind its back. Events are
 * coalesced (a settle delay); the PFs with drift are applied in one apply
 * (one wait for all), and PF by PF when that fails, so that a failure is
 * one PF's alone; failures are retried with exponential back-off,
 * and a host that keeps drifting right after each repair is backed off too,
 * so sriovd never loops. SIGHUP reloads the config (a bad file is rejected
 * and the old state kept); SIGTERM/SIGINT stop it. One log line per event,
 * key=value. The last outcome is written to a status file for
 * `sriovctl status`. Under systemd (Type=notify) it says READY=1 after the
 * first apply, RELOADING=1 ... READY=1 around a reload, and STATUS= with
 * where the host stands and the last event. A config that cannot be used at
 * start ends it with SRIOVD_EXIT_CONFIG, which the unit does not restart. */
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "api/api.h"
#include "ledger/ledger.h"
#include "apply/apply.h"
#include "config.h"
#include "daemon/claims.h"
#include "daemon/heal.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "netlink/uevent.h"
#include "inventory/inventory.h"
#include "lock/lock.h"
#include "netlink/rtnl.h"
#include "util/fs.h"
#include "relayctl/relayctl-sync.h"
#include "util/util.h"

#define SETTLE_MS_DEFAULT 300
/* Not every change is announced: the kernel sends RTM_NEWLINK for a VF
 * setting only while the PF is up. A periodic look bounds the delay then. */
#define RESYNC_S_DEFAULT 60
/* A command holds the host lock: look again this much later. */
#define HOST_BUSY_RETRY_MS 500
/* sysexits.h's EX_CONFIG, which systemd calls "CONFIG": the config given at
 * start cannot be used. The unit names it in RestartPreventExitStatus=, so
 * a bad file fails the unit once instead of restarting it forever. */
#define SRIOVD_EXIT_CONFIG 78
/* The last event in STATUS= is cut after this many bytes. */
#define NOTIFY_EVENT_MAX 400

struct daemon {
	const char *config_path, *config_dir; /* config_dir NULL: CONFIG.d ("" none) */
	size_t n_missing;                     /* PFs the config names that are not here */
	struct config *cfg;
	struct apply_env env;
	struct lifecycle_rtnl rt;
	const char *status_path;
	const char *state_dir;
	char *force_hint; /* the command that gets past a refusal */
	unsigned settle_ms;
	unsigned resync_s; /* 0: only events */
	int timer_fd;
	uint64_t pending_at_ms; /* a reconcile of every PF is due then; 0: none */
	const char *pending_reason;
	struct heal heal;       /* per PF: back-off, last error, repairs */
	struct heal_pf global;  /* failures that belong to no PF (the tree unreadable) */
	struct daemon_status status;
	bool notify_ready; /* READY=1 is due after the next reconcile (the start, a reload) */
	/* The service API (api/): served from this loop, between reconciles. */
	struct api *api;
	bool ready; /* the first apply is done */
	struct api_stats stats;
	struct ledger *ledger; /* the claim ledger, opened on the API's first use */
	const char *ledger_dir; /* --state-dir: its folder (NULL: the tree's default, as sriovctl's) */
	/* The consumers' claims: their VFs keep what they were given; the
	 * ledger reconciled with the host (daemon/claims.h). */
	struct daemon_claims claims;
	/* The start's look at the claims, and the apply count then: the look
	 * after the start's apply is the same when no apply ran in between. */
	bool claims_start_fresh;
	uint64_t claims_start_applies;
	bool relay_unreachable; /* the last relay sync found no sriov-relay (said once) */
	/* Serving from inside an apply's waits (pump_wait): the kernel's
	 * uevents, and the API unless the wait runs inside one of its own
	 * requests (then in_api). busy: what the API sees (mutating routes 503). */
	int uev_fd;
	bool in_api;
	bool busy;
};

/* One timer for the earliest of: the pending reconcile, each PF's retry. */
static void arm_timer(struct daemon *d)
{
	uint64_t next = d->pending_at_ms, retry = heal_next_retry(&d->heal);
	if (retry && (!next || retry < next))
		next = retry;
	if (d->global.backoff_ms && (!next || d->global.retry_at_ms < next))
		next = d->global.retry_at_ms;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(next / 1000), .tv_nsec = (long)(next % 1000) * 1000000L}};
	timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void schedule(struct daemon *d, unsigned delay_ms, const char *why)
{
	uint64_t at = mono_now_ms() + delay_ms;
	/* Every event may have changed the host: the API's model is read again. */
	api_model_changed(d->api);
	/* An earlier deadline already pending covers this event too. */
	if (d->pending_at_ms && d->pending_at_ms <= at)
		return;
	d->pending_at_ms = at;
	d->pending_reason = why;
	arm_timer(d);
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", delay_ms);
	log_kv(LOG_LVL_DEBUG, "reconcile-scheduled", "reason", why, "delay_ms", ms, NULL);
}

static int load_config(struct daemon *d, struct config **ret)
{
	char *error = NULL;
	int r = config_load_rule(d->config_path, d->config_dir, ret, &error);
	if (r >= 0 && status_set_config(&d->status, (*ret)->files, (*ret)->dropin_dir) < 0) {
		config_free(*ret);
		*ret = NULL;
		r = -ENOMEM;
	}
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "config-rejected", "file", d->config_path, "error", error ? error : strerror(-r), NULL);
		status_add_error(&d->status, error ? error : strerror(-r));
	}
	free(error);
	return r;
}

/* What an operator runs to get past a refusal: the same config, the same
 * tree, with --force. sriovd itself never forces. */
static char *make_force_hint(const struct daemon *d)
{
	char *hint = NULL;
	bool default_file = strcmp(d->config_path, CONFIG_DEFAULT_PATH) == 0;
	/* NULL: FILE.d, the rule sriovctl follows too */
	const char *dir = d->config_dir;
	const char *root = d->env.lifecycle.sysfs_root;
	if (asprintf(&hint, "sriovctl apply --force%s%s%s%s%s%s", root ? " --sysfs-root " : "", root ? root : "",
		     dir ? " --config-dir " : "", dir ? (*dir ? dir : "''") : "", default_file ? "" : " ",
		     default_file ? "" : d->config_path) < 0)
		return NULL;
	return hint;
}

/* "eth1", or the PCI address of a PF without a netdev. */
static const char *pf_label(const struct heal_pf *hp)
{
	return hp->netdev[0] ? hp->netdev : hp->addr;
}

/* Any PF stuck, or the tree unreadable. */
static bool any_stuck(const struct daemon *d)
{
	if (d->global.backoff_ms)
		return true;
	for (size_t i = 0; i < d->heal.n_pfs; i++)
		if (d->heal.pfs[i].backoff_ms)
			return true;
	return false;
}

/* Tells systemd TAGS ("READY=1\n", or "") and STATUS=: STATE (NULL: where
 * the host stands after the last reconcile) and the last event logged. Does
 * nothing when sriovd was not started by systemd (no $NOTIFY_SOCKET). */
static void notify(const struct daemon *d, const char *tags, const char *state)
{
	char buf[96];
	if (!state) {
		size_t stuck = d->global.backoff_ms ? 1 : 0;
		for (size_t i = 0; i < d->heal.n_pfs; i++)
			stuck += d->heal.pfs[i].error != NULL;
		if (d->status.last_drift == 0 && !any_stuck(d))
			state = "in sync";
		else {
			snprintf(buf, sizeof(buf), "%u change%s pending, %zu PF%s stuck", d->status.last_drift,
				 d->status.last_drift == 1 ? "" : "s", stuck, stuck == 1 ? "" : "s");
			state = buf;
		}
	}
	const char *last = log_last_event();
	size_t len = last ? strlen(last) : 0;
	sd_notifyf(0, "%sSTATUS=%s; last: %.*s%s", tags, state, NOTIFY_EVENT_MAX, last ? last : "none",
		   len > NOTIFY_EVENT_MAX ? "..." : "");
}

enum { PF_FAILED, PF_REFUSED, PF_FLAPPING };

static void pf_failed(struct daemon *d, struct heal_pf *hp, const char *error, int how, uint64_t now)
{
	unsigned delay = how == PF_FLAPPING ? heal_pf_flapping(hp, error, now)
					    : heal_pf_failed(hp, error, how == PF_REFUSED, now);
	status_add_error(&d->status, error);
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", delay);
	log_kv(LOG_LVL_WARN, "retry-later", "pf", pf_label(hp), "pci", hp->addr, "delay_ms", ms, NULL);
}

/* /metrics: apply runs, repairs, and the last error of each. */
static void count_apply(struct daemon *d, bool repair, const char *error)
{
	struct api_stats *st = &d->stats;
	st->applies++;
	if (repair)
		st->heals++;
	if (!error)
		return;
	st->apply_errors++;
	char *e = strdup(error);
	if (e) {
		free(st->last_apply_error);
		st->last_apply_error = e;
		st->last_apply_error_at = time(NULL);
	}
	if (!repair)
		return;
	st->heal_errors++;
	if ((e = strdup(error))) {
		free(st->last_heal_error);
		st->last_heal_error = e;
		st->last_heal_error_at = time(NULL);
	}
}

/* The overlay of the claims over the config (a failure keeps the last). */
static void refresh_claims(struct daemon *d)
{
	_cleanup_free_ char *error = NULL;
	if (daemon_claims_refresh(&d->claims, &error) < 0)
		log_kv(LOG_LVL_ERROR, "ledger-failed", "error", error ? error : "?", NULL);
	d->env.overlay = d->claims.overlay;
	d->env.n_overlay = d->claims.n_overlay;
}

/* The ledger against the host, under the host lock: pending claims of a
 * crash rolled back, claims whose devices vanished marked lost. At start
 * before the first apply; then after each re-apply. */
static void reconcile_claims(struct daemon *d, enum daemon_claims_when when)
{
	int lock_fd;
	pid_t holder;
	_cleanup_free_ char *error = NULL;
	/* Right after the start's look, with no apply since (nothing of the
	 * host was changed): the host is as that look judged it, and the look
	 * after a re-apply only judges more leniently (a VF the config's count
	 * brings back is not lost). A restart on a host of thousands of VFs
	 * reads it once less. */
	bool fresh = d->claims_start_fresh && d->stats.applies == d->claims_start_applies;
	d->claims_start_fresh = false;
	if (when == DAEMON_CLAIMS_REAPPLY && fresh)
		return;
	/* A host that never had a claim has no ledger: nothing to look at. */
	int r = claim_consumers_ledger(&d->claims.cons, &error);
	if (r <= 0) {
		if (r < 0)
			log_kv(LOG_LVL_ERROR, "ledger-failed", "error", error ? error : strerror(-r), NULL);
		return;
	}
	struct lock_opts lo = {.timeout_ms = when == DAEMON_CLAIMS_START ? LOCK_WAIT_DEFAULT_MS : 0};
	r = lock_take(d->state_dir, LOCK_HOST_NAME, &lo, &lock_fd, &holder, &error);
	if (r == -EAGAIN) {
		schedule(d, HOST_BUSY_RETRY_MS, "host-busy");
		return;
	}
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "lock-failed", "error", error ? error : strerror(-r), NULL);
		return;
	}
	struct daemon_claims_report rep;
	r = daemon_claims_reconcile(&d->claims, &d->env, d->cfg, when, (int64_t)time(NULL), &rep, &error);
	close(lock_fd);
	d->env.overlay = d->claims.overlay;
	d->env.n_overlay = d->claims.n_overlay;
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "ledger-failed", "error", error ? error : strerror(-r), NULL);
		status_add_error(&d->status, error ? error : strerror(-r));
		return;
	}
	if (when == DAEMON_CLAIMS_START) {
		d->claims_start_fresh = true;
		d->claims_start_applies = d->stats.applies;
	}
	if (rep.recovered) {
		char n[16];
		snprintf(n, sizeof(n), "%u", rep.recovered);
		log_kv(LOG_LVL_WARN, "claims-rolled-back", "claims", n, "note", "pending claims left by a crash", NULL);
	}
	for (size_t i = 0; i < rep.lost.n; i++) {
		const struct ledger_claim *c = &rep.lost.v[i];
		char id[24];
		snprintf(id, sizeof(id), "%lld", (long long)c->id);
		log_kv(LOG_LVL_WARN, "claim-lost", "claim", id, "consumer", c->consumer, "reason", c->reason, NULL);
		status_add_error(&d->status, c->reason);
	}
	daemon_claims_report_done(&rep);
}

/* The drift of PF hp in p: each change logged, and announced when it is a
 * repair. Returns how many there are. */
static size_t pf_drift(struct daemon *d, struct heal_pf *hp, const struct plan *p, bool repair)
{
	size_t drift = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_change *c = &p->changes[i];
		if (strcmp(c->pf, hp->addr) != 0)
			continue;
		if (!drift++)
			snprintf(hp->netdev, sizeof(hp->netdev), "%s", c->pf_netdev);
		char vf[16] = "-";
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), "%d", c->vf);
		log_kv(LOG_LVL_INFO, "drift", "pf", pf_label(hp), "pci", c->pf, "vf", vf, "field",
		       c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind), "now",
		       c->now, "want", c->want, NULL);
	}
	if (drift && repair) {
		char detail[32];
		snprintf(detail, sizeof(detail), "%zu change%s", drift, drift == 1 ? "" : "s");
		api_event(d->api, "drift", hp->addr, detail);
	}
	return drift;
}

/* apply_run of the PFs pfs (NULL-terminated) under the host lock, which
 * makes it decide from what the host is now with no command writing in
 * between, and with the claims as they are then (sriovctl claims and
 * releases while sriovd runs). Returns the lock's outcome (-EAGAIN: held by
 * *ret_holder; another -errno with *ret_lock_error), and when it was taken
 * the apply's in *ret_r, with *rep and the time it took. */
static int apply_locked(struct daemon *d, char *const *pfs, struct apply_report *rep, int *ret_r,
			uint64_t *ret_took_ms, pid_t *ret_holder, char **ret_lock_error)
{
	int lock_fd;
	struct lock_opts lo = {0};
	int r = lock_take(d->state_dir, LOCK_HOST_NAME, &lo, &lock_fd, ret_holder, ret_lock_error);
	if (r < 0)
		return r;
	refresh_claims(d);
	struct apply_env env = d->env;
	env.only_pfs = pfs;
	env.overlay = d->claims.overlay;
	env.n_overlay = d->claims.n_overlay;
	uint64_t start = mono_now_ms();
	*ret_r = apply_run(d->cfg, &env, rep);
	close(lock_fd);
	*ret_took_ms = mono_now_ms() - start;
	d->status.last_writes = rep->writes;
	d->status.applies++;
	return 0;
}

/* The lock was held by another process: the host is looked at again soon.
 * The start or a reload waits its turn and stays what it is. */
static void host_busy(struct daemon *d, const struct heal_pf *hp, pid_t holder, const char *lock_error,
		      const char *reason, bool repair)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)holder);
	log_kv(LOG_LVL_INFO, "host-busy", "pf", pf_label(hp), "pci", hp->addr, "holder_pid", pid, "error",
	       lock_error ? lock_error : "", NULL);
	schedule(d, HOST_BUSY_RETRY_MS, repair ? "host-busy" : reason);
}

/* What an apply that went through did on PF hp: logged (with the writes
 * and the time of the whole apply, which took n_pfs PFs), the repair
 * announced, and a host that keeps undoing it backed off. */
static void pf_applied(struct daemon *d, struct heal_pf *hp, const struct apply_report *rep, const char *reason,
		       bool repair, uint64_t now, uint64_t took_ms, size_t n_pfs)
{
	size_t changes = 0;
	for (size_t i = 0; i < rep->done.n; i++)
		changes += strcmp(rep->done.changes[i].pf, hp->addr) == 0;
	char writes[16], took[24], n[24], pfs[24];
	snprintf(writes, sizeof(writes), "%u", rep->writes);
	snprintf(took, sizeof(took), "%llu", (unsigned long long)took_ms);
	snprintf(n, sizeof(n), "%zu", changes);
	snprintf(pfs, sizeof(pfs), "%zu", n_pfs);
	if (repair) {
		char detail[32];
		snprintf(detail, sizeof(detail), "%u write%s", rep->writes, rep->writes == 1 ? "" : "s");
		api_event(d->api, "heal", hp->addr, detail);
	}
	log_kv(LOG_LVL_INFO, "applied", "pf", pf_label(hp), "pci", hp->addr, "reason", reason, "changes", n, "writes",
	       writes, "took_ms", took, n_pfs > 1 ? "pfs" : NULL, pfs, NULL);
	/* Something reverts sriovd's work when the same field of the same VF
	 * needs repairing again and again; other edits are normal work. */
	const struct plan_change *flap = NULL;
	unsigned times = 0;
	for (size_t i = 0; repair && i < rep->done.n; i++) {
		const struct plan_change *c = &rep->done.changes[i];
		if (strcmp(c->pf, hp->addr) != 0)
			continue;
		const char *field = c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind);
		unsigned k = heal_note_repair(&d->heal, c->pf, c->vf, field, now);
		if (k >= HEAL_FLAP_REPAIRS && !flap) {
			flap = c;
			times = k;
		}
	}
	if (!flap) {
		heal_pf_ok(hp);
		return;
	}
	const char *field = flap->kind == CHANGE_VF_FIELD ? vf_field_name(flap->field) : change_kind_to_string(flap->kind);
	char vf[16] = "-", nrep[16], why[160];
	if (flap->vf >= 0)
		snprintf(vf, sizeof(vf), "%d", flap->vf);
	snprintf(nrep, sizeof(nrep), "%u", times);
	snprintf(why, sizeof(why), "something reverts %s of %s%s%s %u times within %d s; slowing down", field,
		 pf_label(hp), flap->vf >= 0 ? " VF " : "", flap->vf >= 0 ? vf : "", times, HEAL_FLAP_WINDOW_MS / 1000);
	log_kv(LOG_LVL_WARN, "host-keeps-drifting", "pf", pf_label(hp), "pci", hp->addr, "vf", vf, "field", field,
	       "repairs", nrep, "window_ms", "60000", "note", "something reverts these settings; slowing down", NULL);
	pf_failed(d, hp, why, PF_FLAPPING, now);
}

/* The drift of one PF (from full, the plan of every PF, when there is one;
 * logged already when drift_logged) and, when there is some, an apply of
 * that PF alone under the host lock. A failure here backs off this PF
 * only. Returns the changes still wanted. */
static size_t heal_one(struct daemon *d, const char *addr, const struct plan *full, const char *reason, bool repair,
		       uint64_t now, bool drift_logged)
{
	struct heal_pf *hp = heal_pf(&d->heal, addr);
	if (!hp)
		return 0;
	if (!heal_pf_due(hp, now)) {
		log_kv(LOG_LVL_DEBUG, "backing-off", "pf", pf_label(hp), "pci", hp->addr, NULL);
		return 1;
	}
	char *only[] = {(char *)addr, NULL};
	struct plan own = {0};
	int r = 0;
	if (!full) {
		struct apply_env env = d->env;
		env.only_pfs = only;
		char *error = NULL;
		if ((r = plan_compute(d->cfg, &env, &own, &error)) < 0) {
			const char *msg = error ? error : strerror(-r);
			log_kv(LOG_LVL_ERROR, "plan-failed", "pf", pf_label(hp), "pci", hp->addr, "error", msg, NULL);
			pf_failed(d, hp, msg, PF_FAILED, now);
			free(error);
			return 1;
		}
	}
	const struct plan *p = full ? full : &own;
	size_t drift = 0;
	if (drift_logged) {
		for (size_t i = 0; i < p->n; i++)
			drift += strcmp(p->changes[i].pf, addr) == 0;
	} else
		drift = pf_drift(d, hp, p, repair);
	plan_done(&own);
	if (drift == 0) {
		if (hp->error)
			log_kv(LOG_LVL_INFO, "in-sync", "pf", pf_label(hp), "pci", hp->addr, "note", "no longer stuck", NULL);
		heal_pf_ok(hp);
		return 0;
	}

	struct apply_report rep;
	int ra = 0;
	uint64_t took = 0;
	pid_t holder = 0;
	_cleanup_free_ char *lock_error = NULL;
	r = apply_locked(d, only, &rep, &ra, &took, &holder, &lock_error);
	if (r == -EAGAIN) {
		host_busy(d, hp, holder, lock_error, reason, repair);
		return drift;
	}
	if (r < 0) {
		const char *msg = lock_error ? lock_error : strerror(-r);
		log_kv(LOG_LVL_ERROR, "lock-failed", "pf", pf_label(hp), "pci", hp->addr, "error", msg, NULL);
		pf_failed(d, hp, msg, PF_FAILED, now);
		return drift;
	}
	const char *msg = ra < 0 ? rep.error ? rep.error : strerror(-ra) : NULL;
	count_apply(d, repair, msg);
	if (ra < 0) {
		api_event(d->api, "apply-error", addr, msg);
		/* A refusal (-EBUSY, lifecycle/'s rules) waits for the operator:
		 * say what gets past it. */
		bool refused = ra == -EBUSY;
		char writes[16], n[24];
		snprintf(writes, sizeof(writes), "%u", rep.writes);
		snprintf(n, sizeof(n), "%zu", rep.done.n);
		log_kv(refused ? LOG_LVL_WARN : LOG_LVL_ERROR, refused ? "apply-refused" : "apply-failed", "pf",
		       pf_label(hp), "pci", hp->addr, "reason", reason, "changes", n, "writes", writes, "error", msg,
		       refused ? "hint" : NULL, d->force_hint ? d->force_hint : "sriovctl apply --force", NULL);
		pf_failed(d, hp, msg, refused ? PF_REFUSED : PF_FAILED, now);
		drift = rep.not_done.n ? rep.not_done.n : drift;
		apply_report_done(&rep);
		return drift;
	}
	pf_applied(d, hp, &rep, reason, repair, now, took, 1);
	apply_report_done(&rep);
	return 0;
}

/* The PFs of pfs[0..n) that are not stuck, are due and have drift in full
 * (the plan of every PF), applied in one apply: it writes all their VF
 * counts before it waits for any, and binds all their VFs before its one
 * settle window (apply.h), so that they share one wait instead of one each.
 * Each PF applied so gets done[i], each whose drift it logged logged[i].
 * An apply that fails stops there (and puts back what apply puts back,
 * apply.h): the PFs are then left to heal_one, each on its own, which plans
 * afresh, so that a failure is one PF's alone. Fewer
 * than two such PFs are left to heal_one too. Returns the changes still
 * wanted of the PFs it took. */
static size_t heal_together(struct daemon *d, char **pfs, size_t n, const struct plan *full, const char *reason,
			    bool repair, uint64_t now, bool *done, bool *logged)
{
	_cleanup_free_ struct heal_pf **hps = calloc(n + 1, sizeof(*hps));
	_cleanup_free_ char **addrs = calloc(n + 1, sizeof(*addrs));
	_cleanup_free_ size_t *at = calloc(n + 1, sizeof(*at));
	if (!hps || !addrs || !at)
		return 0;
	/* Every PF's entry first: a new one may move the others. */
	for (size_t i = 0; i < n; i++)
		if (!heal_pf(&d->heal, pfs[i]))
			return 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct heal_pf *hp = heal_pf_find(&d->heal, pfs[i]);
		if (!hp || hp->error || !heal_pf_due(hp, now))
			continue;
		bool any = false;
		for (size_t j = 0; j < full->n && !any; j++)
			any = strcmp(full->changes[j].pf, pfs[i]) == 0;
		if (any) {
			hps[k] = hp;
			at[k] = i;
			addrs[k++] = pfs[i];
		}
	}
	if (k < 2)
		return 0;
	size_t drift = 0;
	for (size_t i = 0; i < k; i++) {
		drift += pf_drift(d, hps[i], full, repair);
		logged[at[i]] = true;
	}
	struct apply_report rep;
	int ra = 0;
	uint64_t took = 0;
	pid_t holder = 0;
	_cleanup_free_ char *lock_error = NULL;
	int r = apply_locked(d, addrs, &rep, &ra, &took, &holder, &lock_error);
	if (r == -EAGAIN)
		host_busy(d, hps[0], holder, lock_error, reason, repair);
	for (size_t i = 0; r < 0 && r != -EAGAIN && i < k; i++) {
		const char *msg = lock_error ? lock_error : strerror(-r);
		log_kv(LOG_LVL_ERROR, "lock-failed", "pf", pf_label(hps[i]), "pci", hps[i]->addr, "error", msg, NULL);
		pf_failed(d, hps[i], msg, PF_FAILED, now);
	}
	if (r < 0) {
		for (size_t i = 0; i < k; i++)
			done[at[i]] = true;
		return drift;
	}
	if (ra < 0) {
		char npfs[24];
		snprintf(npfs, sizeof(npfs), "%zu", k);
		log_kv(LOG_LVL_INFO, "apply-split", "pfs", npfs, "reason", reason, "error",
		       rep.error ? rep.error : strerror(-ra), "note", "applying PF by PF", NULL);
		apply_report_done(&rep);
		return 0;
	}
	count_apply(d, repair, NULL);
	for (size_t i = 0; i < k; i++) {
		pf_applied(d, hps[i], &rep, reason, repair, now, took, k);
		done[at[i]] = true;
	}
	apply_report_done(&rep);
	return 0;
}

/* The PFs to look at one by one: those with drift when the whole config
 * can be planned at once (the others are in sync), else every SR-IOV PF
 * (each plan then says which PF the config cannot be met on). */
static int pfs_to_heal(struct daemon *d, uint64_t now, char ***ret, struct plan *ret_plan, bool *ret_planned)
{
	*ret_planned = false;
	char **pfs = NULL;
	struct plan p;
	char *error = NULL;
	struct apply_env env = d->env;
	env.only_pfs = NULL;
	int r = plan_compute(d->cfg, &env, &p, &error);
	free(error);
	d->n_missing = 0;
	if (r == 0) {
		/* A PF the config names that is not here is drift no write
		 * repairs: reported, and healed by the uevent that brings it back. */
		for (size_t i = 0; p.missing && p.missing[i]; i++)
			log_kv(LOG_LVL_WARN, "pf-missing", "error", p.missing[i], NULL);
		d->n_missing = strv_length(p.missing);
		for (size_t i = 0; i < p.n && r == 0; i++)
			if (!strv_contains(pfs, p.changes[i].pf))
				r = strv_pushf(&pfs, "%s", p.changes[i].pf);
		/* A PF in sync is no longer stuck once its retry time has come;
		 * one whose repairs kept being undone only when that stopped. */
		for (size_t i = 0; i < d->heal.n_pfs && r == 0; i++) {
			struct heal_pf *hp = &d->heal.pfs[i];
			if (strv_contains(pfs, hp->addr) || !heal_pf_due(hp, now))
				continue;
			if (hp->flapping && !heal_flap_over(&d->heal, hp->addr, now))
				heal_pf_quiet(hp);
			else
				heal_pf_ok(hp);
		}
		if (r < 0)
			plan_done(&p);
		else {
			*ret_plan = p;
			*ret_planned = true;
		}
	} else {
		struct pci_tree *t;
		struct inventory_opts o = {.sysfs_root = d->env.lifecycle.sysfs_root};
		if ((r = inventory_load(&o, &t)) < 0) {
			strv_free(pfs);
			return r;
		}
		for (size_t i = 0; i < t->n_devs && r == 0; i++)
			if (t->devs[i]->is_pf)
				r = strv_pushf(&pfs, "%s", t->devs[i]->addr);
		pci_tree_free(t);
	}
	if (r < 0) {
		strv_free(pfs);
		return r;
	}
	*ret = pfs;
	return 0;
}

static void update_status(struct daemon *d, uint64_t now)
{
	time_t wall = time(NULL);
	status_clear_stuck(&d->status);
	for (size_t i = 0; i < d->heal.n_pfs; i++) {
		const struct heal_pf *hp = &d->heal.pfs[i];
		if (!hp->error)
			continue;
		struct status_pf sp = {
			.pf = (char *)hp->addr,
			.netdev = hp->netdev[0] ? (char *)hp->netdev : NULL,
			.error = hp->error,
			.hint = hp->refused ? d->force_hint : NULL,
			.since = wall - (time_t)((now - hp->since_ms) / 1000),
			.next_retry = !hp->retry_at_ms ? 0 : wall + (time_t)((hp->retry_at_ms > now ? hp->retry_at_ms - now + 999 : 0) / 1000),
		};
		(void)status_add_stuck(&d->status, &sp);
	}
	daemon_claims_status(&d->claims, &d->status);
	status_write(&d->status, d->status_path);
}

/* The config's relays on the running sriov-relay, after every reconcile
 * (relayctl-sync.h): a relay that starts late or restarts gets them at the
 * next one, which comes soon while any is missing. */
#define RELAY_RETRY_MS 5000
static void sync_relays(struct daemon *d)
{
	if (!relayctl_config_has_relays(d->cfg))
		return;
	struct pci_tree *t;
	if (pci_tree_scan(d->env.lifecycle.sysfs_root, &t) < 0)
		return; /* the reconcile said so already */
	struct relayctl_sync_report rep;
	_cleanup_free_ char *err = NULL;
	const char *sock = relayctl_socket();
	int r = relayctl_sync(d->cfg, t, sock, &rep, &err);
	pci_tree_free(t);
	for (size_t i = 0; rep.added && rep.added[i]; i++)
		log_kv(LOG_LVL_INFO, "relay-added", "relay", rep.added[i], NULL);
	for (size_t i = 0; rep.errors && rep.errors[i]; i++)
		log_kv(LOG_LVL_WARN, "relay-refused", "error", rep.errors[i], NULL);
	bool unreachable = r < 0 && r != -EINVAL;
	if (unreachable && !d->relay_unreachable)
		log_kv(LOG_LVL_WARN, "relay-unreachable", "socket", sock, "error", err ? err : strerror(-r), NULL);
	d->relay_unreachable = unreachable;
	relayctl_sync_report_done(&rep);
	if (r < 0)
		schedule(d, RELAY_RETRY_MS, "relays");
}

static void reconcile(struct daemon *d, const char *reason)
{
	uint64_t now = mono_now_ms();
	/* The start apply and a reload apply a config; they repair nothing. */
	bool repair = strcmp(reason, "start") != 0 && strcmp(reason, "reload") != 0;
	refresh_claims(d);
	char **pfs = NULL;
	struct plan full;
	bool planned;
	int r = pfs_to_heal(d, now, &pfs, &full, &planned);
	size_t drift = 0;
	if (r < 0) {
		char *msg = NULL;
		error_set(&msg, r, "cannot read PCI devices under %s/bus/pci/devices: %s",
			  d->env.lifecycle.sysfs_root ? d->env.lifecycle.sysfs_root : SYSFS_DEFAULT_ROOT, strerror(-r));
		log_kv(LOG_LVL_ERROR, "plan-failed", "error", msg ? msg : strerror(-r), NULL);
		unsigned delay = heal_pf_failed(&d->global, msg ? msg : strerror(-r), false, now);
		status_add_error(&d->status, msg ? msg : strerror(-r));
		free(msg);
		char ms[16];
		snprintf(ms, sizeof(ms), "%u", delay);
		log_kv(LOG_LVL_WARN, "retry-later", "delay_ms", ms, NULL);
		drift = 1;
	} else {
		heal_pf_ok(&d->global);
		/* PFs that are fine first: a stuck PF's retry (a refused apply
		 * takes seconds) never delays the others' healing. */
		size_t n = strv_length(pfs), k = 0;
		for (size_t i = 0; i < n; i++) {
			const struct heal_pf *hp = heal_pf_find(&d->heal, pfs[i]);
			if (!hp || !hp->error) {
				char *fine = pfs[i];
				memmove(pfs + k + 1, pfs + k, (i - k) * sizeof(*pfs));
				pfs[k++] = fine;
			}
		}
		/* The PFs that are fine in one apply, the rest (and those, when
		 * it fails) one by one. */
		_cleanup_free_ bool *done = calloc(n + 1, sizeof(*done)), *logged = calloc(n + 1, sizeof(*logged));
		if (planned && done && logged)
			drift += heal_together(d, pfs, k, &full, reason, repair, now, done, logged);
		for (size_t i = 0; i < n; i++) {
			if (done && done[i])
				continue;
			/* The first apply may take a while: the API answers 503 meanwhile. */
			if (!d->ready && d->api)
				api_run(d->api);
			drift += heal_one(d, pfs[i], planned ? &full : NULL, reason, repair, now, logged && logged[i]);
		}
		if (planned)
			plan_done(&full);
		drift += d->n_missing;
		if (!pfs)
			log_kv(LOG_LVL_DEBUG, "in-sync", "reason", reason, NULL);
	}
	strv_free(pfs);
	sync_relays(d);
	reconcile_claims(d, DAEMON_CLAIMS_REAPPLY);
	/* What the apply changed on the host: the API's model is read again. */
	api_model_changed(d->api);
	d->status.last_drift = (unsigned)drift;
	d->stats.drift = (unsigned)drift;
	update_status(d, now);
	arm_timer(d);
	/* The start or a reload is over once its config has been applied
	 * (whatever reason the reconcile that did it had). */
	notify(d, d->notify_ready ? "READY=1\n" : "", NULL);
	d->notify_ready = false;
}

static void on_link_event(const struct rtnl_link_event *ev, void *data)
{
	struct daemon *d = data;
	char idx[16];
	snprintf(idx, sizeof(idx), "%u", ev->ifindex);
	log_kv(LOG_LVL_DEBUG, ev->removed ? "link-removed" : "link-changed", "netdev", ev->ifname, "ifindex", idx,
	       NULL);
	schedule(d, d->settle_ms, "link-event");
}

static json_t *api_status(void *data)
{
	struct daemon *d = data;
	return status_json(&d->status);
}

/* The kernel's uevents that are pending: logged, device events for the
 * API's stream, a reconcile scheduled. 1 when there was one. */
static int on_uevents(struct daemon *d)
{
	struct uevent ev;
	int any = 0;
	while (uevent_read(d->uev_fd, &ev) == 0) {
		any = 1;
		if (strcmp(ev.subsystem, "pci") != 0 && strcmp(ev.subsystem, "net") != 0)
			continue;
		log_kv(LOG_LVL_DEBUG, "uevent", "action", ev.action, "subsystem", ev.subsystem, "device",
		       ev.pci_slot[0] ? ev.pci_slot : ev.interface, "driver", ev.driver, NULL);
		if (strcmp(ev.subsystem, "pci") == 0 && ev.pci_slot[0] &&
		    (strcmp(ev.action, "add") == 0 || strcmp(ev.action, "remove") == 0))
			api_event(d->api, ev.action[0] == 'a' ? "device-added" : "device-removed", ev.pci_slot, NULL);
		schedule(d, d->settle_ms, "uevent");
	}
	return any;
}

/* Serves the API from one of lifecycle's waits (its events hook), so that
 * sriovd keeps answering while an apply waits for the kernel: until a
 * uevent arrives (1) or deadline_ns on CLOCK_MONOTONIC (0). Requests that
 * would write answer 503 meanwhile; inside an API request of its own (a
 * claim binding a VF) the API is left alone and only uevents wake it. */
static int pump_wait(void *userdata, uint64_t deadline_ns)
{
	struct daemon *d = userdata;
	/* Without events to wake it (a tree from elsewhere, or lost ones), the
	 * wait looks again after this long anyway. */
	uint64_t slice_ms = inventory_root_is_live(d->env.lifecycle.sysfs_root) ? 1000 : 50;
	uint64_t end = mono_now_ns() + slice_ms * 1000000ULL;
	if (end < deadline_ns)
		deadline_ns = end;
	for (;;) {
		uint64_t now = mono_now_ns();
		if (now >= deadline_ns)
			return 0;
		uint64_t ms = (deadline_ns - now + 999999ULL) / 1000000ULL;
		struct pollfd pfd[2] = {{.fd = d->uev_fd, .events = POLLIN}, {.fd = -1}};
		if (d->api && !d->in_api)
			pfd[1] = (struct pollfd){.fd = api_fd(d->api), .events = POLLIN};
		int n = poll(pfd, 2, (int)ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && pfd[1].fd >= 0 && (pfd[1].revents & POLLIN)) {
			d->busy = d->in_api = true;
			api_run(d->api);
			d->busy = d->in_api = false;
		}
		if (n > 0 && (pfd[0].revents & POLLIN) && on_uevents(d))
			return 1;
	}
}

/* POST /v1/apply: a reconcile of every PF, now. */
static json_t *api_apply(void *data)
{
	struct daemon *d = data;
	d->pending_at_ms = 0;
	reconcile(d, "api");
	return status_json(&d->status);
}

/* The ledger of this tree (the one sriovctl claim uses), kept open. */
static struct ledger *api_ledger(void *data, char **ret_error)
{
	struct daemon *d = data;
	if (!d->ledger && ledger_open(d->env.lifecycle.sysfs_root, d->ledger_dir, &d->ledger, ret_error) < 0)
		d->ledger = NULL;
	return d->ledger;
}

static void daemon_done(struct daemon *d)
{
	api_free(d->api);
	ledger_close(d->ledger);
	free(d->stats.last_apply_error);
	free(d->stats.last_heal_error);
	config_free(d->cfg);
	lifecycle_rtnl_done(&d->rt);
	status_done(&d->status);
	heal_done(&d->heal);
	heal_pf_ok(&d->global);
	daemon_claims_done(&d->claims);
	free(d->force_hint);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sriovd [OPTIONS]\n"
		   "Keeps SR-IOV devices as the config describes; reapplies it when the host drifts.\n\n"
		   "  -c, --config FILE      config file (default %s)\n"
		   "      --config-dir DIR   drop-in folder: its *.conf files, in name order, after FILE\n"
		   "                         (default FILE.d, i.e. %s; \"\" for none)\n"
		   "      --sysfs-root DIR   sysfs to manage (default /sys)\n"
		   "      --status-file FILE where the last outcome goes (default %s; for a --sysfs-root\n"
		   "                         other than /sys, DIR/" LIFECYCLE_TREE_STATE "/" STATUS_FILE_NAME ")\n"
		   "      --settle-ms N      wait N ms after an event before reconciling (default %d)\n"
		   "      --resync-s N       also look every N s, for changes the kernel does not announce\n"
		   "                         (VF settings of a PF that is down); 0: never (default %d)\n"
		   "      --once             apply once and exit (status 0 when the host matches)\n"
		   "      --socket PATH      the API's Unix socket (default %s; for a --sysfs-root other\n"
		   "                         than /sys, DIR/" LIFECYCLE_TREE_STATE "/" API_SOCKET_NAME "); systemd's when LISTEN_FDS\n"
		   "      --group NAME       who may claim, release and apply through it besides root\n"
		   "                         (default %s; mode 0660 root:NAME)\n"
		   "      --api-max-connections N  clients at once (default %u)\n"
		   "      --api-timeout-s N  a request must arrive whole within N s; idle clients are\n"
		   "                         cut off after as long (default %u)\n"
		   "      --api-rate N       requests per second per connection (default %u; 429 above)\n"
		   "      --state-dir DIR    the claim ledger's folder, as sriovctl --state-dir (default\n"
		   "                         " LEDGER_STATE_DIR " for /sys, DIR/" LEDGER_TREE_STATE " for another --sysfs-root)\n"
		   "  -v, --verbose          log every event, not only changes\n"
		   "  -h, --help             this text\n"
		   "  -V, --version          version\n\n"
		   "State: bind records in $SRIOV_STATE_DIR, else %s for /sys and\n"
		   "DIR/" LIFECYCLE_TREE_STATE "/bind for any other --sysfs-root DIR (never the host's).\n\n"
		   "Exit status: 0 stopped by SIGTERM/SIGINT (--once: the host matches the config);\n"
		   "%d the config cannot be used (syntax, values, unreadable): fix it and start again;\n"
		   "2 bad options; 1 anything else (--once: the host does not match).\n"
		   "See sriovd(8), sriovd.conf(5).\n",
		CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_DROPIN_DIR, STATUS_DEFAULT_PATH, SETTLE_MS_DEFAULT, RESYNC_S_DEFAULT,
		API_DEFAULT_SOCKET, API_DEFAULT_GROUP, API_MAX_CONNECTIONS_DEFAULT, API_TIMEOUT_S_DEFAULT, API_RATE_DEFAULT,
		LIFECYCLE_STATE_DIR, SRIOVD_EXIT_CONFIG);
}

int main(int argc, char **argv)
{
	enum { OPT_CONFIG_DIR = 0x100, OPT_SYSFS_ROOT, OPT_STATUS, OPT_SETTLE, OPT_RESYNC, OPT_ONCE, OPT_SOCKET, OPT_GROUP,
	       OPT_API_CONNS, OPT_API_TIMEOUT, OPT_API_RATE, OPT_STATE_DIR };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
		{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
		{"status-file", required_argument, NULL, OPT_STATUS},
		{"settle-ms", required_argument, NULL, OPT_SETTLE},
		{"resync-s", required_argument, NULL, OPT_RESYNC},
		{"once", no_argument, NULL, OPT_ONCE},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"group", required_argument, NULL, OPT_GROUP},
		{"api-max-connections", required_argument, NULL, OPT_API_CONNS},
		{"api-timeout-s", required_argument, NULL, OPT_API_TIMEOUT},
		{"api-rate", required_argument, NULL, OPT_API_RATE},
		{"state-dir", required_argument, NULL, OPT_STATE_DIR},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {
		.config_path = CONFIG_DEFAULT_PATH,
		.settle_ms = SETTLE_MS_DEFAULT,
		.resync_s = RESYNC_S_DEFAULT,
		.timer_fd = -1,
	};
	bool once = false;
	struct api_opts ao = {0};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case OPT_CONFIG_DIR:
			d.config_dir = optarg;
			break;
		case OPT_SYSFS_ROOT:
			d.env.lifecycle.sysfs_root = optarg;
			break;
		case OPT_STATUS:
			d.status_path = optarg;
			break;
		case OPT_SETTLE: {
			uint32_t v;
			if (parse_u32(optarg, 10, &v) < 0 || v > 600000) {
				fprintf(stderr, "sriovd: --settle-ms: '%s' is not a number of milliseconds (0-600000)\n",
					optarg);
				return 2;
			}
			d.settle_ms = v;
			break;
		}
		case OPT_RESYNC: {
			uint32_t v;
			if (parse_u32(optarg, 10, &v) < 0 || v > 86400) {
				fprintf(stderr, "sriovd: --resync-s: '%s' is not a number of seconds (0-86400)\n", optarg);
				return 2;
			}
			d.resync_s = v;
			break;
		}
		case OPT_ONCE:
			once = true;
			break;
		case OPT_SOCKET:
			if (str_empty(optarg)) {
				fprintf(stderr, "sriovd: --socket: a path is needed\n");
				return 2;
			}
			ao.socket_path = optarg;
			break;
		case OPT_GROUP:
			if (str_empty(optarg)) {
				fprintf(stderr, "sriovd: --group: a group name is needed\n");
				return 2;
			}
			ao.group = optarg;
			break;
		case OPT_STATE_DIR:
			if (str_empty(optarg)) {
				fprintf(stderr, "sriovd: --state-dir: a folder is needed\n");
				return 2;
			}
			d.ledger_dir = optarg;
			break;
		case OPT_API_CONNS:
		case OPT_API_TIMEOUT:
		case OPT_API_RATE: {
			static const char *const names[] = {"--api-max-connections", "--api-timeout-s", "--api-rate"};
			static const uint32_t max[] = {65536, 3600, 1000000};
			unsigned k = (unsigned)(opt - OPT_API_CONNS);
			uint32_t v;
			if (parse_u32(optarg, 10, &v) < 0 || v < 1 || v > max[k]) {
				fprintf(stderr, "sriovd: %s: '%s' is not a number from 1 to %u\n", names[k], optarg, max[k]);
				return 2;
			}
			*(k == 0 ? &ao.max_connections : k == 1 ? &ao.timeout_s : &ao.rate) = v;
			break;
		}
		case 'v':
			log_set_min_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sriovd %s\n", SRIOVD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sriovd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	d.env.allow_missing = true; /* a missing PF never keeps the others from being healed */
	d.env.lifecycle.state_dir = getenv("SRIOV_STATE_DIR");
	if (str_empty(d.env.lifecycle.state_dir))
		d.env.lifecycle.state_dir = NULL;
	_cleanup_free_ char *state_dir = NULL;
	int sr = lifecycle_state_dir_make(&d.env.lifecycle, &state_dir);
	if (sr < 0) {
		_cleanup_free_ char *want = lifecycle_state_dir(&d.env.lifecycle);
		log_kv(LOG_LVL_ERROR, "state-folder-failed", "folder", want ? want : "", "error", fs_strerror(sr), NULL);
		return 1;
	}
	d.state_dir = state_dir;
	/* One sriovd per state folder (per sysfs root), for its whole life. */
	pid_t holder;
	_cleanup_free_ char *lock_error = NULL;
	_cleanup_close_ int instance_fd = -1;
	int lr = lock_take(d.state_dir, LOCK_INSTANCE_NAME, NULL, &instance_fd, &holder, &lock_error);
	if (lr < 0) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)holder);
		log_kv(LOG_LVL_ERROR, lr == -EAGAIN ? "already-running" : "lock-failed", "holder_pid", pid, "error",
		       lock_error ? lock_error : strerror(-lr), "note",
		       lr == -EAGAIN ? "another sriovd manages these devices; this one exits" : "", NULL);
		return 1;
	}
	d.force_hint = make_force_hint(&d);
	/* The status file belongs to the tree it describes, as bind records do. */
	_cleanup_free_ char *default_status = NULL;
	if (!d.status_path) {
		_cleanup_free_ char *base = NULL;
		if (lifecycle_state_base(d.env.lifecycle.sysfs_root, &base) < 0 ||
		    !(default_status = path_join(base, STATUS_FILE_NAME))) {
			fprintf(stderr, "sriovd: out of memory\n");
			return 1;
		}
		d.status_path = default_status;
	}
	if (inventory_root_is_live(d.env.lifecycle.sysfs_root)) {
		d.env.lifecycle.link_usage = lifecycle_rtnl_link_usage;
		d.env.lifecycle.link_usage_data = &d.rt;
		d.env.lifecycle.netns = lifecycle_rtnl_netns;
	}
	/* A VF count change that would destroy a VF a consumer holds is
	 * refused, as sriovctl's is. */
	daemon_claims_init(&d.claims, d.env.lifecycle.sysfs_root, d.ledger_dir);
	d.env.lifecycle.consumer = claim_consumer_fn;
	d.env.lifecycle.consumer_data = &d.claims.cons;
	status_init(&d.status, d.config_path);
	log_kv(LOG_LVL_INFO, "start", "version", SRIOVD_VERSION, "config", d.config_path, NULL);
	int cr = load_config(&d, &d.cfg);
	if (cr < 0) {
		status_write(&d.status, d.status_path);
		notify(&d, "", "config rejected, not started");
		daemon_done(&d);
		/* Out of memory is no reason to give up on the file. */
		return cr == -ENOMEM ? 1 : SRIOVD_EXIT_CONFIG;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	_cleanup_close_ int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	_cleanup_close_ int uev_fd = uevent_open();
	struct rtnl_monitor *mon = NULL;
	int r = rtnl_monitor_open(&mon);
	d.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	if (sig_fd < 0 || uev_fd < 0 || r < 0 || d.timer_fd < 0 || ep < 0) {
		log_kv(LOG_LVL_ERROR, "cannot-watch", "error",
		       strerror(uev_fd < 0 ? -uev_fd : r < 0 ? -r : errno), NULL);
		return 1;
	}
	/* lifecycle's waits wake on these uevents and serve the API meanwhile. */
	d.uev_fd = uev_fd;
	d.env.lifecycle.events = (struct lifecycle_events){.wait = pump_wait, .userdata = &d};
	/* Subscribe before the first apply: a change that lands during it
	 * is then seen, not lost. */
	int fds[] = {sig_fd, uev_fd, rtnl_monitor_fd(mon), d.timer_fd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}

	d.notify_ready = !once;
	notify(&d, "", "applying the config");
	/* The API listens before the first apply (503 until it is done). */
	_cleanup_free_ char *default_socket = NULL;
	if (!once) {
		if (!ao.socket_path) {
			if (api_socket_default(d.env.lifecycle.sysfs_root, &default_socket) < 0) {
				fprintf(stderr, "sriovd: out of memory\n");
				return 1;
			}
			ao.socket_path = default_socket;
		}
		struct api_source src = {
			.cfg = &d.cfg,
			.env = &d.env,
			.ready = &d.ready,
			.busy = &d.busy,
			.stats = &d.stats,
			.status = api_status,
			.apply = api_apply,
			.ledger = api_ledger,
			.data = &d,
		};
		_cleanup_free_ char *api_error = NULL, *api_warning = NULL;
		if ((r = api_new(&ao, &src, &d.api)) < 0 || (r = api_listen(d.api, &api_error, &api_warning)) < 0) {
			log_kv(LOG_LVL_ERROR, "api-failed", "error", api_error ? api_error : strerror(-r), NULL);
			rtnl_monitor_close(mon);
			daemon_done(&d);
			return 1;
		}
		if (api_warning)
			log_kv(LOG_LVL_WARN, "api-group", "warning", api_warning, NULL);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = api_fd(d.api)};
		epoll_ctl(ep, EPOLL_CTL_ADD, api_fd(d.api), &ev);
		log_kv(LOG_LVL_INFO, "api-listening", "socket", api_where(d.api), NULL);
	}

	reconcile_claims(&d, DAEMON_CLAIMS_START);
	reconcile(&d, "start");
	d.ready = true;
	if (once) {
		int rc = d.status.last_drift == 0 && !any_stuck(&d) ? 0 : 1;
		rtnl_monitor_close(mon);
		daemon_done(&d);
		return rc;
	}

	bool running = true;
	uint64_t next_resync = mono_now_ms() + (uint64_t)d.resync_s * 1000;
	while (running) {
		struct epoll_event evs[8];
		int wait_ms = -1;
		if (d.resync_s) {
			uint64_t now = mono_now_ms();
			wait_ms = next_resync > now ? (int)(next_resync - now) : 0;
		}
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_kv(LOG_LVL_ERROR, "epoll-failed", "error", strerror(errno), NULL);
			break;
		}
		if (d.resync_s && mono_now_ms() >= next_resync) {
			next_resync = mono_now_ms() + (uint64_t)d.resync_s * 1000;
			schedule(&d, 0, "resync");
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == sig_fd) {
				struct signalfd_siginfo si;
				while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo != SIGHUP) {
						log_kv(LOG_LVL_INFO, "stop", "signal", strsignal((int)si.ssi_signo), NULL);
						running = false;
						continue;
					}
					sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
						   (unsigned long long)(mono_now_ns() / 1000u), d.config_path);
					struct config *c;
					if (load_config(&d, &c) < 0) {
						log_kv(LOG_LVL_WARN, "reload-rejected", "note", "keeping the previous config", NULL);
						status_write(&d.status, d.status_path);
						notify(&d, "READY=1\n", "reload rejected, the previous config kept");
						continue;
					}
					config_free(d.cfg);
					d.cfg = c;
					/* A new config: every PF gets a fresh start. */
					for (size_t k = 0; k < d.heal.n_pfs; k++)
						heal_pf_ok(&d.heal.pfs[k]);
					heal_forget_repairs(&d.heal, NULL);
					log_kv(LOG_LVL_INFO, "reloaded", "config", d.config_path, NULL);
					d.notify_ready = true;
					schedule(&d, 0, "reload");
				}
			} else if (fd == uev_fd) {
				(void)on_uevents(&d);
			} else if (fd == rtnl_monitor_fd(mon)) {
				r = rtnl_monitor_read(mon, on_link_event, &d);
				if (r == -ENOBUFS) {
					/* Events were lost: assume anything changed. */
					log_kv(LOG_LVL_WARN, "events-lost", "source", "rtnetlink", NULL);
					schedule(&d, d.settle_ms, "events-lost");
				}
			} else if (d.api && fd == api_fd(d.api)) {
				d.in_api = true;
				api_run(d.api);
				d.in_api = false;
			} else if (fd == d.timer_fd) {
				uint64_t expirations;
				if (read(d.timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
					continue;
				const char *why = "retry";
				if (d.pending_at_ms && mono_now_ms() >= d.pending_at_ms) {
					why = d.pending_reason;
					d.pending_at_ms = 0;
				}
				reconcile(&d, why);
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	rtnl_monitor_close(mon);
	daemon_done(&d);
	return 0;
}

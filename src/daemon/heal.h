/* daemon/heal: what sriovd remembers between reconciles, per PF.
 *
 * Owns the retry state of each PF (a PF whose apply failed or was refused
 * is backed off and retried alone, 1 s doubling to 60 s, while every other
 * PF is healed at once; its last error and whether it was a refusal) and
 * the drift detector: every repair is noted by (PF, VF, field), and only
 * the same field of the same VF repaired again and again within a window
 * means something on the host reverts sriovd's work. Edits of different
 * VFs or fields, the start apply and reloads are not repairs of that kind.
 * No I/O and no clock of its own: every call is given the time (ms of
 * CLOCK_MONOTONIC), so a unit test plays it. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sysfs/sysfs.h"

#define HEAL_BACKOFF_MIN_MS 1000
#define HEAL_BACKOFF_MAX_MS 60000
/* This many repairs of one field of one VF within HEAL_FLAP_WINDOW_MS:
 * something reverts it as soon as it is set. */
#define HEAL_FLAP_REPAIRS 5
#define HEAL_FLAP_WINDOW_MS 60000
#define HEAL_FIELD_MAX 24

struct heal_pf {
	char addr[PCI_ADDR_STRLEN];
	char netdev[IF_NAMESIZE]; /* "" when not known */
	unsigned backoff_ms;      /* 0: not backing off */
	uint64_t retry_at_ms;     /* when backing off: the next try */
	char *error;              /* why it is stuck; NULL when it is not */
	bool refused;             /* the error is a refusal (an operator can force it) */
	bool flapping;            /* backed off because its repairs keep being undone */
	uint64_t since_ms;        /* when it got stuck */
};

struct heal_repair {
	char pf[PCI_ADDR_STRLEN];
	int32_t vf; /* -1: the PF itself */
	char field[HEAL_FIELD_MAX];
	uint64_t at_ms[HEAL_FLAP_REPAIRS]; /* newest first */
	unsigned n;
};

struct heal {
	struct heal_pf *pfs;
	size_t n_pfs;
	struct heal_repair *repairs;
	size_t n_repairs;
};

void heal_done(struct heal *h);

/* The state of PF addr, made on first use (NULL on ENOMEM). */
struct heal_pf *heal_pf(struct heal *h, const char *addr);
/* The state of PF addr if there is one. */
struct heal_pf *heal_pf_find(const struct heal *h, const char *addr);

/* Whether to try PF p now: not backing off, or its retry time has come. */
bool heal_pf_due(const struct heal_pf *p, uint64_t now_ms);

/* The PF's apply failed (refused: it was a refusal) with error: it is
 * stuck, backed off (the delay doubles each time), and retried at the
 * returned delay from now. -ENOMEM keeps the previous error. */
unsigned heal_pf_failed(struct heal_pf *p, const char *error, bool refused, uint64_t now_ms);

/* The PF was repaired, but the same field keeps being undone: backed off
 * like a failure (the delay doubling at each such repair), and it stays so
 * until heal_flap_over(). Returns the delay. */
unsigned heal_pf_flapping(struct heal_pf *p, const char *error, uint64_t now_ms);

/* A flapping PF found in sync at its retry time: nothing to retry, so no
 * timer; the next repair is made when drift shows, and counted. */
void heal_pf_quiet(struct heal_pf *p);

/* No field of PF pf has been repaired HEAL_FLAP_REPAIRS times within the
 * window ending now: whatever reverted it stopped. */
bool heal_flap_over(const struct heal *h, const char *pf, uint64_t now_ms);

/* The PF matches the config (or was just healed): no longer stuck. */
void heal_pf_ok(struct heal_pf *p);

/* The earliest retry time among the PFs backing off (not the quiet ones);
 * 0 when none is. */
uint64_t heal_next_retry(const struct heal *h);

/* Notes one repair of field (vf_field_name(), "numvfs", ...) of VF vf of
 * PF pf. Returns how many repairs of that same field of that same VF fall
 * within the window ending now (1 the first time), so a caller compares it
 * with HEAL_FLAP_REPAIRS; 0 on ENOMEM. Forgets repairs older than the
 * window. */
unsigned heal_note_repair(struct heal *h, const char *pf, int32_t vf, const char *field, uint64_t now_ms);

/* Forgets the repairs noted for PF pf (NULL: every PF; after a reload). */
void heal_forget_repairs(struct heal *h, const char *pf);

#include "heal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void heal_done(struct heal *h)
{
	for (size_t i = 0; i < h->n_pfs; i++)
		free(h->pfs[i].error);
	free(h->pfs);
	free(h->repairs);
	*h = (struct heal){0};
}

struct heal_pf *heal_pf_find(const struct heal *h, const char *addr)
{
	for (size_t i = 0; i < h->n_pfs; i++)
		if (strcmp(h->pfs[i].addr, addr) == 0)
			return &h->pfs[i];
	return NULL;
}

struct heal_pf *heal_pf(struct heal *h, const char *addr)
{
	struct heal_pf *p = heal_pf_find(h, addr);
	if (p)
		return p;
	p = realloc(h->pfs, (h->n_pfs + 1) * sizeof(*p));
	if (!p)
		return NULL;
	h->pfs = p;
	p = &h->pfs[h->n_pfs++];
	*p = (struct heal_pf){0};
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	return p;
}

bool heal_pf_due(const struct heal_pf *p, uint64_t now_ms)
{
	return !p || p->backoff_ms == 0 || now_ms >= p->retry_at_ms;
}

unsigned heal_pf_failed(struct heal_pf *p, const char *error, bool refused, uint64_t now_ms)
{
	if (!p->backoff_ms)
		p->since_ms = now_ms;
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : HEAL_BACKOFF_MIN_MS;
	if (p->backoff_ms > HEAL_BACKOFF_MAX_MS)
		p->backoff_ms = HEAL_BACKOFF_MAX_MS;
	p->retry_at_ms = now_ms + p->backoff_ms;
	char *e = strdup(error ? error : "");
	if (e) {
		free(p->error);
		p->error = e;
	}
	p->refused = refused;
	p->flapping = false;
	return p->backoff_ms;
}

unsigned heal_pf_flapping(struct heal_pf *p, const char *error, uint64_t now_ms)
{
	unsigned delay = heal_pf_failed(p, error, false, now_ms);
	p->flapping = true;
	return delay;
}

void heal_pf_quiet(struct heal_pf *p)
{
	p->retry_at_ms = 0;
}

void heal_pf_ok(struct heal_pf *p)
{
	free(p->error);
	p->error = NULL;
	p->refused = false;
	p->flapping = false;
	p->backoff_ms = 0;
	p->retry_at_ms = 0;
	p->since_ms = 0;
}

uint64_t heal_next_retry(const struct heal *h)
{
	uint64_t next = 0;
	for (size_t i = 0; i < h->n_pfs; i++)
		if (h->pfs[i].backoff_ms && h->pfs[i].retry_at_ms && (!next || h->pfs[i].retry_at_ms < next))
			next = h->pfs[i].retry_at_ms;
	return next;
}

static bool in_window(uint64_t at, uint64_t now_ms)
{
	return at + HEAL_FLAP_WINDOW_MS > now_ms;
}

/* Drops the repairs that left the window, and entries with none left. */
static void prune(struct heal *h, uint64_t now_ms)
{
	size_t w = 0;
	for (size_t i = 0; i < h->n_repairs; i++) {
		struct heal_repair *r = &h->repairs[i];
		while (r->n && !in_window(r->at_ms[r->n - 1], now_ms))
			r->n--;
		if (r->n)
			h->repairs[w++] = *r;
	}
	h->n_repairs = w;
}

unsigned heal_note_repair(struct heal *h, const char *pf, int32_t vf, const char *field, uint64_t now_ms)
{
	prune(h, now_ms);
	struct heal_repair *r = NULL;
	for (size_t i = 0; i < h->n_repairs && !r; i++)
		if (h->repairs[i].vf == vf && strcmp(h->repairs[i].pf, pf) == 0 &&
		    strcmp(h->repairs[i].field, field) == 0)
			r = &h->repairs[i];
	if (!r) {
		struct heal_repair *n = realloc(h->repairs, (h->n_repairs + 1) * sizeof(*n));
		if (!n)
			return 0;
		h->repairs = n;
		r = &h->repairs[h->n_repairs++];
		*r = (struct heal_repair){.vf = vf};
		snprintf(r->pf, sizeof(r->pf), "%s", pf);
		snprintf(r->field, sizeof(r->field), "%s", field);
	}
	memmove(r->at_ms + 1, r->at_ms, (HEAL_FLAP_REPAIRS - 1) * sizeof(r->at_ms[0]));
	r->at_ms[0] = now_ms;
	if (r->n < HEAL_FLAP_REPAIRS)
		r->n++;
	return r->n;
}

bool heal_flap_over(const struct heal *h, const char *pf, uint64_t now_ms)
{
	for (size_t i = 0; i < h->n_repairs; i++) {
		const struct heal_repair *r = &h->repairs[i];
		if (strcmp(r->pf, pf) != 0 || r->n < HEAL_FLAP_REPAIRS)
			continue;
		if (in_window(r->at_ms[HEAL_FLAP_REPAIRS - 1], now_ms))
			return false;
	}
	return true;
}

void heal_forget_repairs(struct heal *h, const char *pf)
{
	size_t w = 0;
	for (size_t i = 0; i < h->n_repairs; i++)
		if (pf && strcmp(h->repairs[i].pf, pf) != 0)
			h->repairs[w++] = h->repairs[i];
	h->n_repairs = w;
}

#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"
#include "util/fs.h"
#include "util/util.h"

void status_init(struct daemon_status *s, const char *config_path)
{
	*s = (struct daemon_status){.config_path = strdup(config_path), .started = time(NULL)};
}

int status_set_config(struct daemon_status *s, char *const *files, const char *dropin_dir)
{
	char **copy = NULL;
	for (size_t i = 0; files && files[i]; i++)
		if (strv_pushf(&copy, "%s", files[i]) < 0) {
			strv_free(copy);
			return -ENOMEM;
		}
	char *dir = NULL;
	if (dropin_dir && !(dir = strdup(dropin_dir))) {
		strv_free(copy);
		return -ENOMEM;
	}
	strv_free(s->config_files);
	s->config_files = copy;
	free(s->config_dir);
	s->config_dir = dir;
	return 0;
}

void status_add_error(struct daemon_status *s, const char *message)
{
	if (s->n_errors == STATUS_MAX_ERRORS)
		free(s->errors[--s->n_errors].message);
	memmove(&s->errors[1], &s->errors[0], s->n_errors * sizeof(s->errors[0]));
	s->errors[0].when = time(NULL);
	s->errors[0].message = strdup(message);
	s->n_errors++;
}

void status_clear_stuck(struct daemon_status *s)
{
	for (size_t i = 0; i < s->n_stuck; i++) {
		free(s->stuck[i].pf);
		free(s->stuck[i].netdev);
		free(s->stuck[i].error);
		free(s->stuck[i].hint);
	}
	free(s->stuck);
	s->stuck = NULL;
	s->n_stuck = 0;
}

int status_add_stuck(struct daemon_status *s, const struct status_pf *pf)
{
	struct status_pf *n = realloc(s->stuck, (s->n_stuck + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->stuck = n;
	n[s->n_stuck++] = (struct status_pf){
		.pf = strdup(pf->pf),
		.netdev = pf->netdev ? strdup(pf->netdev) : NULL,
		.error = strdup(pf->error ? pf->error : ""),
		.hint = pf->hint ? strdup(pf->hint) : NULL,
		.since = pf->since,
		.next_retry = pf->next_retry,
	};
	return 0;
}

void status_clear_lost(struct daemon_status *s)
{
	for (size_t i = 0; i < s->n_lost; i++) {
		free(s->lost[i].consumer);
		free(s->lost[i].reason);
		strv_free(s->lost[i].devices);
	}
	free(s->lost);
	s->lost = NULL;
	s->n_lost = 0;
}

int status_add_lost(struct daemon_status *s, const struct status_claim *c)
{
	struct status_claim *n = realloc(s->lost, (s->n_lost + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->lost = n;
	struct status_claim sc = {.id = c->id, .since = c->since, .consumer = strdup(c->consumer ? c->consumer : ""),
				  .reason = strdup(c->reason ? c->reason : "")};
	for (size_t i = 0; c->devices && c->devices[i]; i++)
		(void)strv_pushf(&sc.devices, "%s", c->devices[i]);
	n[s->n_lost++] = sc;
	return 0;
}

/* [{"claim": 3, "consumer": UUID, "reason": ..., "devices": [...], "since": time}] */
static json_t *lost_claims_json(const struct daemon_status *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->n_lost; i++) {
		const struct status_claim *c = &s->lost[i];
		json_t *e = json_object();
		json_object_set_new(e, "claim", json_integer(c->id));
		json_object_set_new(e, "consumer", json_string(c->consumer ? c->consumer : ""));
		json_object_set_new(e, "reason", json_string(c->reason ? c->reason : ""));
		json_object_set_new(e, "devices", json_strv(c->devices));
		json_object_set_new(e, "since", json_time_utc(c->since));
		json_array_append_new(a, e);
	}
	return a;
}

json_t *status_json(const struct daemon_status *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "config", json_string(s->config_path ? s->config_path : ""));
	json_object_set_new(o, "config_dir", s->config_dir ? json_string(s->config_dir) : json_null());
	json_t *files = json_array();
	for (size_t i = 0; s->config_files && s->config_files[i]; i++)
		json_array_append_new(files, json_string(s->config_files[i]));
	json_object_set_new(o, "config_files", files);
	json_object_set_new(o, "started", json_time_utc(s->started));
	json_object_set_new(o, "last_reconcile", json_time_utc(s->last_reconcile));
	json_object_set_new(o, "applies", json_integer(s->applies));
	json_object_set_new(o, "last_writes", json_integer(s->last_writes));
	json_object_set_new(o, "last_drift", json_integer(s->last_drift));
	json_t *errs = json_array();
	for (unsigned i = 0; i < s->n_errors; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "time", json_time_utc(s->errors[i].when));
		json_object_set_new(e, "message", json_string(s->errors[i].message ? s->errors[i].message : ""));
		json_array_append_new(errs, e);
	}
	json_object_set_new(o, "errors", errs);
	json_t *stuck = json_array();
	for (size_t i = 0; i < s->n_stuck; i++) {
		const struct status_pf *p = &s->stuck[i];
		json_t *e = json_object();
		json_object_set_new(e, "pf", json_str_or_null(p->pf));
		json_object_set_new(e, "netdev", json_str_or_null(p->netdev));
		json_object_set_new(e, "error", json_str_or_null(p->error));
		json_object_set_new(e, "hint", json_str_or_null(p->hint));
		json_object_set_new(e, "since", json_time_utc(p->since));
		json_object_set_new(e, "next_retry", json_time_utc(p->next_retry));
		json_array_append_new(stuck, e);
	}
	json_object_set_new(o, "stuck", stuck);
	json_object_set_new(o, "lost_claims", lost_claims_json(s));
	return o;
}

int status_write(struct daemon_status *s, const char *path)
{
	s->last_reconcile = time(NULL);
	json_t *o = status_json(s);
	_cleanup_free_ char *text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!text)
		return -ENOMEM;
	return write_file_atomic(path, text, strlen(text), 0644);
}

void status_done(struct daemon_status *s)
{
	free(s->config_path);
	free(s->config_dir);
	strv_free(s->config_files);
	for (unsigned i = 0; i < s->n_errors; i++)
		free(s->errors[i].message);
	status_clear_stuck(s);
	status_clear_lost(s);
	*s = (struct daemon_status){0};
}

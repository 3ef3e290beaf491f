/* daemon/status: what sriovd last did, in a small JSON file that
 * `sriovctl status` reads (written to a temporary file and renamed, so a
 * reader never sees half of it). */
#pragma once

#include <time.h>

#define STATUS_DEFAULT_PATH "/run/sriovd/status.json"
#define STATUS_MAX_ERRORS 10

struct daemon_status {
	char *config_path;
	time_t started, last_reconcile;
	unsigned applies;     /* apply runs since start */
	unsigned last_writes; /* writes of the last apply */
	unsigned last_drift;  /* changes still wanted after the last reconcile */
	struct {
		time_t when;
		char *message;
	} errors[STATUS_MAX_ERRORS]; /* newest first */
	unsigned n_errors;
	/* The PFs sriovd cannot heal right now, each retried on its own. */
	struct status_pf {
		char *pf, *netdev; /* netdev: NULL when none */
		char *error;
		char *hint;        /* what an operator runs to get past it; NULL: none */
		time_t since, next_retry;
	} *stuck;
	size_t n_stuck;
};

void status_init(struct daemon_status *s, const char *config_path);
void status_add_error(struct daemon_status *s, const char *message);
/* Forgets the stuck PFs, then lists them again one by one (-ENOMEM). */
void status_clear_stuck(struct daemon_status *s);
int status_add_stuck(struct daemon_status *s, const struct status_pf *pf);
/* Stamps last_reconcile and writes the file; -errno on failure. */
int status_write(struct daemon_status *s, const char *path);
void status_done(struct daemon_status *s);

/* daemon/status: what sriovd last did, in a small JSON file that
 * `sriovctl status` reads: pid, the config (main file, drop-in folder, and
 * every file of the config in use: status computes its drift from exactly
 * those), times, counts, the last drift (missing PFs included), the lost
 * claims, errors
 * (replaced with write_file_atomic(), so a reader never sees half of it).
 * Its default place is status.json in the tree's state folder
 * (lifecycle_state_base(): /run/sriovd for the live /sys). */
#pragma once

#include <jansson.h>
#include <time.h>

#define STATUS_DEFAULT_PATH "/run/sriovd/status.json" /* for the live /sys */
#define STATUS_FILE_NAME "status.json"
#define STATUS_MAX_ERRORS 10

struct daemon_status {
	char *config_path;    /* the main file */
	char *config_dir;     /* its drop-in folder; NULL: none */
	char **config_files;  /* the files of the config in use, in order (NULL-terminated) */
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
	/* The claims whose devices vanished from the host (marked lost in the
	 * ledger), until they are released. */
	struct status_claim {
		long long id;
		char *consumer;
		char *reason;
		char **devices; /* NULL-terminated */
		time_t since;   /* marked lost then */
	} *lost;
	size_t n_lost;
};

void status_init(struct daemon_status *s, const char *config_path);
/* Records which files make the config in use (after each successful load);
 * -ENOMEM leaves the previous record. */
int status_set_config(struct daemon_status *s, char *const *files, const char *dropin_dir);
void status_add_error(struct daemon_status *s, const char *message);
/* Forgets the stuck PFs, then lists them again one by one (-ENOMEM). */
void status_clear_stuck(struct daemon_status *s);
int status_add_stuck(struct daemon_status *s, const struct status_pf *pf);
/* The record as the file holds it (the API's GET /v1/status "daemon"). */
json_t *status_json(const struct daemon_status *s);
/* Forgets the lost claims, then lists them again one by one (-ENOMEM). */
void status_clear_lost(struct daemon_status *s);
int status_add_lost(struct daemon_status *s, const struct status_claim *c);
/* Stamps last_reconcile and writes the file; -errno on failure. */
int status_write(struct daemon_status *s, const char *path);
void status_done(struct daemon_status *s);

/* daemon/log: one line per event, "key=value" fields, for journald and
 * for grep. Values with spaces, quotes or control bytes are quoted, and a
 * control byte is written as \xHH (util/input), so a value never ends a line.
 * The last event logged is kept for the daemon's status to systemd. */
#pragma once

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_set_min_level(enum log_level l);
/* log_kv(LOG_LVL_INFO, "apply", "writes", "3", "pf", "eth0", NULL): the
 * varargs are key, value pairs ending with NULL. */
void log_kv(enum log_level level, const char *event, ...) __attribute__((sentinel));
/* The last line logged at LOG_LVL_INFO or above, without its time stamp
 * and level ("event=applied pf=eth0 ..."), for sriovd's STATUS= to systemd;
 * NULL before the first. Valid until the next log_kv(); one thread logs. */
const char *log_last_event(void);

/* sriovd: keeps the host in the state the config file describes.
 *
 * Applies the config at start, then watches the kernel (device uevents:
 * PCI add/remove/bind/unbind; rtnetlink link events, which include every VF
 * setting change on a PF) and reconciles when the host drifts: a PF driver
 * reload that wiped its VFs, a VF MAC changed behind its back. Events are
 * coalesced (a settle delay), failures retried with exponential back-off,
 * and a host that keeps drifting right after each repair is backed off too,
 * so sriovd never loops. SIGHUP reloads the config (a bad file is rejected
 * and the old state kept); SIGTERM/SIGINT stop it. One log line per event,
 * key=value. The last outcome is written to a status file for
 * `sriovctl status`. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "apply/apply.h"
#include "config.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "daemon/uevent.h"
#include "inventory/inventory.h"
#include "netlink/rtnl.h"
#include "util/util.h"

#define SETTLE_MS_DEFAULT 300
/* Not every change is announced: the kernel sends RTM_NEWLINK for a VF
 * setting only while the PF is up. A periodic look bounds the delay then. */
#define RESYNC_S_DEFAULT 60
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
/* More repairs than this within FLAP_WINDOW_MS means something undoes our
 * work as soon as it is done: stop chasing it at full speed. */
#define FLAP_REPAIRS 5
#define FLAP_WINDOW_MS 60000

struct daemon {
	const char *config_path, *config_dir;
	struct config *cfg;
	struct apply_env env;
	struct lifecycle_rtnl rt;
	const char *status_path;
	unsigned settle_ms;
	unsigned resync_s; /* 0: only events */
	int timer_fd;
	bool scheduled;
	unsigned backoff_ms;       /* 0: not backing off */
	uint64_t repairs_ms[FLAP_REPAIRS];
	unsigned n_repairs;
	struct daemon_status status;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void schedule(struct daemon *d, unsigned delay_ms, const char *why)
{
	/* An earlier deadline already pending covers this event too. */
	if (d->scheduled && delay_ms >= d->settle_ms)
		return;
	struct itimerspec its = {.it_value = {.tv_sec = delay_ms / 1000, .tv_nsec = (long)(delay_ms % 1000) * 1000000L}};
	if (delay_ms == 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm the timer */
	timerfd_settime(d->timer_fd, 0, &its, NULL);
	d->scheduled = true;
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", delay_ms);
	log_kv(LOG_LVL_DEBUG, "reconcile-scheduled", "reason", why, "delay_ms", ms, NULL);
}

static int load_config(struct daemon *d, struct config **ret)
{
	char *error = NULL;
	int r = config_load(d->config_path, d->config_dir, ret, &error);
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "config-rejected", "file", d->config_path, "error", error ? error : strerror(-r), NULL);
		status_add_error(&d->status, error ? error : strerror(-r));
	}
	free(error);
	return r;
}

/* Notes a repair; true when repairs come too fast (something reverts us). */
static bool flapping(struct daemon *d)
{
	uint64_t now = now_ms();
	memmove(d->repairs_ms + 1, d->repairs_ms, (FLAP_REPAIRS - 1) * sizeof(d->repairs_ms[0]));
	d->repairs_ms[0] = now;
	if (d->n_repairs < FLAP_REPAIRS)
		d->n_repairs++;
	return d->n_repairs == FLAP_REPAIRS && now - d->repairs_ms[FLAP_REPAIRS - 1] < FLAP_WINDOW_MS;
}

static void reconcile(struct daemon *d, const char *reason)
{
	d->scheduled = false;
	uint64_t start = now_ms();
	struct plan p;
	char *error = NULL;
	int r = plan_compute(d->cfg, &d->env, &p, &error);
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "plan-failed", "error", error ? error : strerror(-r), NULL);
		status_add_error(&d->status, error ? error : strerror(-r));
		free(error);
		goto backoff;
	}
	for (size_t i = 0; i < p.n; i++) {
		const struct plan_change *c = &p.changes[i];
		char vf[16] = "-";
		if (c->vf >= 0)
			snprintf(vf, sizeof(vf), "%d", c->vf);
		log_kv(LOG_LVL_INFO, "drift", "pf", c->pf, "netdev", c->pf_netdev, "vf", vf, "field",
		       c->kind == CHANGE_VF_FIELD ? vf_field_name(c->field) : change_kind_to_string(c->kind), "now",
		       c->now, "want", c->want, NULL);
	}
	size_t drift = p.n;
	plan_done(&p);
	d->status.last_drift = (unsigned)drift;
	if (drift == 0) {
		d->backoff_ms = 0;
		log_kv(LOG_LVL_DEBUG, "in-sync", "reason", reason, NULL);
		status_write(&d->status, d->status_path);
		return;
	}

	struct apply_report rep;
	r = apply_run(d->cfg, &d->env, &rep);
	char writes[16], took[16], n[16];
	snprintf(writes, sizeof(writes), "%u", rep.writes);
	snprintf(took, sizeof(took), "%llu", (unsigned long long)(now_ms() - start));
	snprintf(n, sizeof(n), "%zu", rep.done.n);
	d->status.last_writes = rep.writes;
	d->status.applies++;
	if (r < 0) {
		log_kv(LOG_LVL_ERROR, "apply-failed", "reason", reason, "changes", n, "writes", writes, "error",
		       rep.error ? rep.error : strerror(-r), NULL);
		status_add_error(&d->status, rep.error ? rep.error : strerror(-r));
		apply_report_done(&rep);
		goto backoff;
	}
	log_kv(LOG_LVL_INFO, "applied", "reason", reason, "changes", n, "writes", writes, "took_ms", took, NULL);
	apply_report_done(&rep);
	d->status.last_drift = 0;
	status_write(&d->status, d->status_path);
	if (flapping(d)) {
		char nrep[16];
		snprintf(nrep, sizeof(nrep), "%d", FLAP_REPAIRS);
		log_kv(LOG_LVL_WARN, "host-keeps-drifting", "repairs", nrep, "window_ms", "60000",
		       "note", "something reverts these settings; slowing down", NULL);
		goto backoff;
	}
	d->backoff_ms = 0;
	return;

backoff:
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (d->backoff_ms > BACKOFF_MAX_MS)
		d->backoff_ms = BACKOFF_MAX_MS;
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", d->backoff_ms);
	log_kv(LOG_LVL_WARN, "retry-later", "delay_ms", ms, NULL);
	status_write(&d->status, d->status_path);
	d->scheduled = false;
	struct itimerspec its = {.it_value = {.tv_sec = d->backoff_ms / 1000,
					      .tv_nsec = (long)(d->backoff_ms % 1000) * 1000000L}};
	timerfd_settime(d->timer_fd, 0, &its, NULL);
	d->scheduled = true;
}

static void on_link_event(const struct rtnl_link_event *ev, void *data)
{
	struct daemon *d = data;
	char idx[16];
	snprintf(idx, sizeof(idx), "%u", ev->ifindex);
	log_kv(LOG_LVL_DEBUG, ev->removed ? "link-removed" : "link-changed", "netdev", ev->ifname, "ifindex", idx,
	       NULL);
	if (!d->backoff_ms)
		schedule(d, d->settle_ms, "link-event");
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sriovd [OPTIONS]\n"
		   "Keeps SR-IOV devices as the config describes; reapplies it when the host drifts.\n\n"
		   "  -c, --config FILE      config file (default %s)\n"
		   "      --config-dir DIR   drop-in folder (default %s; \"\" for none)\n"
		   "      --sysfs-root DIR   sysfs to manage (default /sys)\n"
		   "      --status-file FILE where the last outcome goes (default %s)\n"
		   "      --settle-ms N      wait N ms after an event before reconciling (default %d)\n"
		   "      --resync-s N       also look every N s, for changes the kernel does not announce\n"
		   "                         (VF settings of a PF that is down); 0: never (default %d)\n"
		   "      --once             apply once and exit (status 0 when the host matches)\n"
		   "  -v, --verbose          log every event, not only changes\n"
		   "  -h, --help\n",
		CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_DROPIN_DIR, STATUS_DEFAULT_PATH, SETTLE_MS_DEFAULT, RESYNC_S_DEFAULT);
}

int main(int argc, char **argv)
{
	enum { OPT_CONFIG_DIR = 0x100, OPT_SYSFS_ROOT, OPT_STATUS, OPT_SETTLE, OPT_RESYNC, OPT_ONCE };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
		{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
		{"status-file", required_argument, NULL, OPT_STATUS},
		{"settle-ms", required_argument, NULL, OPT_SETTLE},
		{"resync-s", required_argument, NULL, OPT_RESYNC},
		{"once", no_argument, NULL, OPT_ONCE},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {
		.config_path = CONFIG_DEFAULT_PATH,
		.config_dir = CONFIG_DEFAULT_DROPIN_DIR,
		.status_path = STATUS_DEFAULT_PATH,
		.settle_ms = SETTLE_MS_DEFAULT,
		.resync_s = RESYNC_S_DEFAULT,
		.timer_fd = -1,
	};
	bool once = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case OPT_CONFIG_DIR:
			d.config_dir = str_empty(optarg) ? NULL : optarg;
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
		case 'v':
			log_set_min_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			usage(stdout);
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

	d.env.lifecycle.state_dir = getenv("SRIOV_STATE_DIR");
	if (inventory_root_is_live(d.env.lifecycle.sysfs_root)) {
		d.env.lifecycle.link_usage = lifecycle_rtnl_link_usage;
		d.env.lifecycle.link_usage_data = &d.rt;
	}
	status_init(&d.status, d.config_path);
	log_kv(LOG_LVL_INFO, "start", "version", SRIOVD_VERSION, "config", d.config_path, NULL);
	if (load_config(&d, &d.cfg) < 0) {
		status_write(&d.status, d.status_path);
		return 1;
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
	/* Subscribe before the first apply: a change that lands during it
	 * is then seen, not lost. */
	int fds[] = {sig_fd, uev_fd, rtnl_monitor_fd(mon), d.timer_fd};
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}

	reconcile(&d, "start");
	if (once) {
		int rc = d.status.last_drift == 0 && d.backoff_ms == 0 ? 0 : 1;
		rtnl_monitor_close(mon);
		config_free(d.cfg);
		lifecycle_rtnl_done(&d.rt);
		status_done(&d.status);
		close(d.timer_fd);
		return rc;
	}
	sd_notify(0, "READY=1\nSTATUS=watching");

	bool running = true;
	uint64_t next_resync = now_ms() + (uint64_t)d.resync_s * 1000;
	while (running) {
		struct epoll_event evs[8];
		int wait_ms = -1;
		if (d.resync_s) {
			uint64_t now = now_ms();
			wait_ms = next_resync > now ? (int)(next_resync - now) : 0;
		}
		int n = epoll_wait(ep, evs, ARRAY_SIZE(evs), wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_kv(LOG_LVL_ERROR, "epoll-failed", "error", strerror(errno), NULL);
			break;
		}
		if (d.resync_s && now_ms() >= next_resync) {
			next_resync = now_ms() + (uint64_t)d.resync_s * 1000;
			if (!d.backoff_ms && !d.scheduled)
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
					struct config *c;
					if (load_config(&d, &c) < 0) {
						log_kv(LOG_LVL_WARN, "reload-rejected", "note", "keeping the previous config", NULL);
						status_write(&d.status, d.status_path);
						continue;
					}
					config_free(d.cfg);
					d.cfg = c;
					d.backoff_ms = 0;
					log_kv(LOG_LVL_INFO, "reloaded", "config", d.config_path, NULL);
					schedule(&d, 0, "reload");
				}
			} else if (fd == uev_fd) {
				struct uevent ev;
				while (uevent_read(uev_fd, &ev) == 0) {
					if (strcmp(ev.subsystem, "pci") != 0 && strcmp(ev.subsystem, "net") != 0)
						continue;
					log_kv(LOG_LVL_DEBUG, "uevent", "action", ev.action, "subsystem", ev.subsystem, "device",
					       ev.pci_slot[0] ? ev.pci_slot : ev.interface, "driver", ev.driver, NULL);
					if (!d.backoff_ms)
						schedule(&d, d.settle_ms, "uevent");
				}
			} else if (fd == rtnl_monitor_fd(mon)) {
				r = rtnl_monitor_read(mon, on_link_event, &d);
				if (r == -ENOBUFS) {
					/* Events were lost: assume anything changed. */
					log_kv(LOG_LVL_WARN, "events-lost", "source", "rtnetlink", NULL);
					schedule(&d, d.settle_ms, "events-lost");
				}
			} else if (fd == d.timer_fd) {
				uint64_t expirations;
				if (read(d.timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
					reconcile(&d, d.backoff_ms ? "retry" : "event");
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	rtnl_monitor_close(mon);
	config_free(d.cfg);
	lifecycle_rtnl_done(&d.rt);
	status_done(&d.status);
	close(d.timer_fd);
	return 0;
}

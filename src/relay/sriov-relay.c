/* sriov-relay: forwards between VFs and VMs' vhost-user sockets
 * (docs/relay.md). The main lcore serves the control socket; the worker
 * lcores forward.
 *
 *   sriov-relay [EAL options] -- [--socket PATH] [--group NAME] [--relay JSON]...
 */
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include "api/api.h"
#include "config.h"
#include "daemon/log.h"
#include "relay-dpdk.h"
#include "util/util.h"

static const char usage[] =
	"Usage: sriov-relay [EAL options] -- [OPTIONS]\n"
	"Forwards every frame between a VF (a DPDK ethdev) and a VM's vhost-user socket, both ways.\n"
	"\n"
	"EAL options are DPDK's: -l/--lcores (the main lcore serves the control socket, the others\n"
	"forward), -a (the VFs to take at start), --vdev, --in-memory, --file-prefix, --huge-dir, ...\n"
	"\n"
	"Options:\n"
	"  --socket PATH   the control socket (HTTP/1.1 + JSON; default " RELAY_DEFAULT_SOCKET ")\n"
	"  --group NAME    the group that may add and remove relays (default " API_DEFAULT_GROUP ")\n"
	"  --relay JSON    a relay to start with, as the body of POST /v1/relays:\n"
	"                  '{\"vf\": \"0000:03:10.0\", \"socket\": \"/run/vm1.sock\", \"lcores\": [1]}'\n"
	"  --sysfs-root DIR  where a PCI VF's driver is read (default /sys; tests)\n"
	"  -v, --verbose   debug lines in the log\n"
	"  -h, --help      this text\n"
	"  --version       the version\n";

/* Why EAL would not start, in words: no hugepages is the common case. */
static void eal_failed(void)
{
	int e = rte_errno;
	uint64_t free_pages = 0;
	const char *sizes[] = {"hugepages-2048kB", "hugepages-1048576kB"};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		_cleanup_free_ char *path = NULL, *text = NULL;
		uint32_t n;
		if (asprintf(&path, "/sys/kernel/mm/hugepages/%s/free_hugepages", sizes[i]) >= 0 &&
		    read_text_file(path, 64, &text) == 0 && parse_u32(text, 10, &n) == 0)
			free_pages += n;
	}
	if (!free_pages && (e == EACCES || e == ENOMEM || e == ENOENT))
		fprintf(stderr, "sriov-relay: hugepages: none free (reserve some: echo 256 > "
				"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages), or give EAL --no-huge\n");
	else
		fprintf(stderr, "sriov-relay: EAL: cannot start: %s (DPDK's lines above say more)\n", rte_strerror(e));
}

static int add_initial(struct relay_engine *e, const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		fprintf(stderr, "sriov-relay: --relay: not JSON: %s\n", jerr.text);
		return -EINVAL;
	}
	_cleanup_free_ char *def = e->next_name(e->data);
	_cleanup_free_ char *err = NULL;
	const char *field = NULL;
	struct relay_spec spec;
	int r = relay_spec_from_json(j, def, &spec, &field, &err);
	json_decref(j);
	if (r >= 0) {
		r = e->add(e->data, &spec, &field, &err);
		relay_spec_done(&spec);
	}
	if (r < 0)
		fprintf(stderr, "sriov-relay: --relay: %s\n", err ? err : strerror(-r));
	return r;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("sriov-relay %s (DPDK %s)\n", SRIOVD_VERSION, rte_version());
			return 0;
		}
	}
	/* SIGINT and SIGTERM arrive on a signalfd, on the main lcore only:
	 * blocked before EAL makes its threads, which inherit the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int n = rte_eal_init(argc, argv);
	if (n < 0) {
		eal_failed();
		return 1;
	}
	argc -= n;
	argv += n;
	/* argv[0] is now what was before "--"; getopt starts after it. */
	enum { OPT_SOCKET = 0x100, OPT_GROUP, OPT_RELAY, OPT_VERSION, OPT_SYSFS_ROOT };
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"group", required_argument, NULL, OPT_GROUP},
		{"relay", required_argument, NULL, OPT_RELAY},
		{"sysfs-root", required_argument, NULL, OPT_SYSFS_ROOT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{0},
	};
	const char *socket_path = RELAY_DEFAULT_SOCKET, *group = NULL, *sysfs_root = NULL;
	_cleanup_free_ const char **initial = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_initial = 0;
	int rc = 1, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			socket_path = optarg;
			break;
		case OPT_GROUP:
			group = optarg;
			break;
		case OPT_SYSFS_ROOT:
			sysfs_root = optarg;
			break;
		case OPT_RELAY:
			if (initial)
				initial[n_initial++] = optarg;
			break;
		case 'v':
			log_set_min_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			fputs(usage, stdout);
			rte_eal_cleanup();
			return 0;
		case OPT_VERSION:
			printf("sriov-relay %s\n", SRIOVD_VERSION);
			rte_eal_cleanup();
			return 0;
		default:
			fputs(usage, stderr);
			rte_eal_cleanup();
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sriov-relay: unexpected argument %s\n", argv[optind]);
		rte_eal_cleanup();
		return 2;
	}
	if (!initial) {
		rte_eal_cleanup();
		return 1;
	}

	struct relay_engine engine;
	_cleanup_free_ char *err = NULL, *warn = NULL;
	struct relay_dpdk_opts dopts = {.sysfs_root = sysfs_root};
	struct api *api = NULL;
	int sfd = -1, tfd = -1, ep = -1;
	if (relay_dpdk_start(&dopts, &engine, &err) < 0) {
		fprintf(stderr, "sriov-relay: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < n_initial; i++)
		if (add_initial(&engine, initial[i]) < 0)
			goto out;
	struct api_opts ao = {
		.socket_path = socket_path,
		.group = group,
		.handle = relay_handle,
		.handle_data = &engine,
	};
	struct api_source src = {0};
	if (api_new(&ao, &src, &api) < 0 || api_listen(api, &err, &warn) < 0) {
		fprintf(stderr, "sriov-relay: %s\n", err ? err : "cannot start the control socket");
		goto out;
	}
	if (warn)
		log_kv(LOG_LVL_WARN, "control-socket", "warning", warn, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct itimerspec its = {.it_interval = {0, RELAY_TICK_MS * 1000000L}, .it_value = {0, RELAY_TICK_MS * 1000000L}};
	struct epoll_event ev_api = {.events = EPOLLIN, .data.fd = api_fd(api)};
	struct epoll_event ev_sig = {.events = EPOLLIN, .data.fd = sfd};
	struct epoll_event ev_tick = {.events = EPOLLIN, .data.fd = tfd};
	if (sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, api_fd(api), &ev_api) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev_sig) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev_tick) < 0) {
		fprintf(stderr, "sriov-relay: cannot set up the main loop: %s\n", strerror(errno));
		goto out;
	}
	char lcores[16];
	snprintf(lcores, sizeof(lcores), "%u", rte_lcore_count());
	log_kv(LOG_LVL_INFO, "started", "socket", api_where(api), "lcores", lcores, NULL);
	/* The tests wait for this line on stdout. */
	printf("sriov-relay: ready on %s\n", api_where(api));
	fflush(stdout);
	relay_dpdk_tick(mono_now_ms());
	for (;;) {
		struct epoll_event evs[4];
		int k = epoll_wait(ep, evs, 4, -1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		bool stop = false;
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			if (fd == sfd) {
				stop = true;
			} else if (fd == tfd) {
				uint64_t x;
				if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
					break;
				relay_dpdk_tick(mono_now_ms());
			} else {
				api_run(api);
			}
		}
		if (stop)
			break;
	}
	log_kv(LOG_LVL_INFO, "stopping", NULL);
	rc = 0;
out:
	api_free(api);
	relay_dpdk_stop();
	if (ep >= 0)
		close(ep);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	rte_eal_cleanup();
	return rc;
}

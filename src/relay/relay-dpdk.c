/* The engine of sriov-relay on DPDK.
 *
 * Threads: the main lcore runs the control socket and relay_dpdk_tick();
 * every worker lcore runs forward_loop() over its table of (relay, queue)
 * units; DPDK's vhost thread calls the vhost callbacks (a VM connecting or
 * going); its interrupt thread the device events (a VF going away).
 *
 * Who touches what: a unit's counters are written by the one lcore that
 * polls it. The lcore tables are swapped by the main lcore, and what the
 * lcores may still use (an old table, a relay's vid or port) is let go only
 * after each lcore concerned finished one more pass (quiesce(): its epoch
 * moved). The relay list is under `lock` for the callbacks; they only set a
 * relay's vid or its flags, never free anything. */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include <rte_bus.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#include "daemon/log.h"
#include "relay-dpdk.h"
#include "util/fs.h"
#include "util/util.h"

#define RELAY_MAX 64u
#define BURST 32u
#define RING_SIZE 1024u
#define MBUF_CACHE 256u
/* Ethernet header + two VLAN tags around the MTU's payload. */
#define FRAME_OVERHEAD (RTE_ETHER_HDR_LEN + 2 * 4u)
#define RETRY_MS 1000u

/* The guest's queue pair q: its receive ring (we enqueue) and its transmit
 * ring (we dequeue). */
#define GUEST_RXQ(q) ((uint16_t)(2 * (q)))
#define GUEST_TXQ(q) ((uint16_t)(2 * (q) + 1))

/* Offloads the relay cannot carry between a virtio-net header and the VF
 * (it does not translate them into the VF's descriptors): never offered. */
#define DISABLED_FEATURES                                                                                  \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) | \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_ECN) |                                \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |                                 \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN) | (1ULL << VIRTIO_NET_F_HOST_UFO))

static const struct {
	unsigned bit;
	const char *name;
} feature_names[] = {
	{VIRTIO_NET_F_CSUM, "csum"},
	{VIRTIO_NET_F_GUEST_CSUM, "guest_csum"},
	{VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, "ctrl_guest_offloads"},
	{VIRTIO_NET_F_MTU, "mtu"},
	{VIRTIO_NET_F_MAC, "mac"},
	{VIRTIO_NET_F_GUEST_TSO4, "guest_tso4"},
	{VIRTIO_NET_F_GUEST_TSO6, "guest_tso6"},
	{VIRTIO_NET_F_GUEST_ECN, "guest_ecn"},
	{VIRTIO_NET_F_GUEST_UFO, "guest_ufo"},
	{VIRTIO_NET_F_HOST_TSO4, "host_tso4"},
	{VIRTIO_NET_F_HOST_TSO6, "host_tso6"},
	{VIRTIO_NET_F_HOST_ECN, "host_ecn"},
	{VIRTIO_NET_F_HOST_UFO, "host_ufo"},
	{VIRTIO_NET_F_MRG_RXBUF, "mrg_rxbuf"},
	{VIRTIO_NET_F_STATUS, "status"},
	{VIRTIO_NET_F_CTRL_VQ, "ctrl_vq"},
	{VIRTIO_NET_F_CTRL_RX, "ctrl_rx"},
	{VIRTIO_NET_F_CTRL_VLAN, "ctrl_vlan"},
	{VIRTIO_NET_F_GUEST_ANNOUNCE, "guest_announce"},
	{VIRTIO_NET_F_MQ, "mq"},
	{VIRTIO_NET_F_CTRL_MAC_ADDR, "ctrl_mac_addr"},
	{VIRTIO_F_NOTIFY_ON_EMPTY, "notify_on_empty"},
	{VIRTIO_F_ANY_LAYOUT, "any_layout"},
	{VIRTIO_RING_F_INDIRECT_DESC, "indirect_desc"},
	{VIRTIO_RING_F_EVENT_IDX, "event_idx"},
	{30, "log_all"}, /* VHOST_F_LOG_ALL: live migration's dirty log */
	{VIRTIO_F_VERSION_1, "version_1"},
	{VIRTIO_F_ACCESS_PLATFORM, "iommu_platform"},
	{VIRTIO_F_RING_PACKED, "ring_packed"},
	{VIRTIO_F_IN_ORDER, "in_order"},
	{VHOST_USER_F_PROTOCOL_FEATURES, "protocol_features"},
};

enum relay_state { STATE_WAITING_VM, STATE_RUNNING, STATE_VF_GONE };
static const char *const state_names[] = {"waiting-vm", "running", "vf-gone"};

struct dir_count {
	uint64_t packets, bytes, drops;
};

/* One queue pair of one relay, polled by one lcore. */
struct unit {
	struct relay *r;
	uint16_t q;
	struct dir_count to_vm, to_vf; /* written by that lcore only */
} __rte_cache_aligned;

struct relay {
	struct relay_spec spec;
	char *vf_name;             /* DPDK's device name */
	bool pci;
	atomic_int vid;            /* -1: no VM */
	atomic_bool port_ok;       /* the port is started */
	atomic_bool gone_event;    /* a callback saw the VF go */
	uint16_t port;
	bool vhost_registered;
	struct rte_mempool *pool;
	unsigned mtu, max_frame, data_room;
	bool scatter;              /* frames above one mbuf as chained segments */
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint64_t offered, negotiated;
	unsigned vm_connects, vf_losses;
	uint64_t retry_at_ms;
	char *vf_error;            /* why the VF is not there (vf-gone) */
	struct unit *units[RELAY_MAX_QUEUES];
	struct relay_rate rate_to_vm, rate_to_vf;
};

/* What one lcore polls. */
struct lcore_tab {
	size_t n;
	struct unit *u[];
};

static struct {
	struct relay_dpdk_opts o;
	pthread_mutex_t lock;
	struct relay *relays[RELAY_MAX];
	_Atomic(struct lcore_tab *) tabs[RTE_MAX_LCORE];
	struct {
		atomic_uint_fast64_t v;
	} __rte_cache_aligned epochs[RTE_MAX_LCORE];
	atomic_bool quit;
	bool started;
	uint64_t now_ms;
} E = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- the forwarding lcores --------------------------------------------- */

static bool forward(struct unit *u)
{
	struct relay *r = u->r;
	int vid = atomic_load_explicit(&r->vid, memory_order_acquire);
	if (vid < 0)
		return false;
	bool port_ok = atomic_load_explicit(&r->port_ok, memory_order_acquire);
	struct rte_mbuf *pkts[BURST];
	uint16_t n, sent, i;
	uint64_t bytes;
	bool moved = false;

	if (port_ok) {
		n = rte_eth_rx_burst(r->port, u->q, pkts, BURST);
		if (n) {
			sent = rte_vhost_enqueue_burst(vid, GUEST_RXQ(u->q), pkts, n);
			bytes = 0;
			for (i = 0; i < sent; i++)
				bytes += rte_pktmbuf_pkt_len(pkts[i]);
			/* The vhost library copied what it took: every mbuf is ours. */
			rte_pktmbuf_free_bulk(pkts, n);
			__atomic_store_n(&u->to_vm.packets, u->to_vm.packets + sent, __ATOMIC_RELAXED);
			__atomic_store_n(&u->to_vm.bytes, u->to_vm.bytes + bytes, __ATOMIC_RELAXED);
			if (n != sent)
				__atomic_store_n(&u->to_vm.drops, u->to_vm.drops + (n - sent), __ATOMIC_RELAXED);
			moved = true;
		}
	}
	n = rte_vhost_dequeue_burst(vid, GUEST_TXQ(u->q), r->pool, pkts, BURST);
	if (n) {
		/* A frame above what the VF takes (larger than its MTU, or in
		 * segments it cannot chain) is dropped here. */
		uint16_t kept = 0, big = 0;
		bytes = 0;
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = pkts[i];
			if (rte_pktmbuf_pkt_len(m) > r->max_frame || (m->nb_segs > 1 && !r->scatter)) {
				rte_pktmbuf_free(m);
				big++;
				continue;
			}
			bytes += rte_pktmbuf_pkt_len(m);
			pkts[kept++] = m;
		}
		n = kept;
		if (big)
			__atomic_store_n(&u->to_vf.drops, u->to_vf.drops + big, __ATOMIC_RELAXED);
		/* No VF (it went away): the guest's frames are dropped, counted,
		 * and its ring keeps moving. */
		sent = port_ok ? rte_eth_tx_burst(r->port, u->q, pkts, n) : 0;
		for (i = sent; i < n; i++)
			bytes -= rte_pktmbuf_pkt_len(pkts[i]);
		if (sent < n)
			rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		__atomic_store_n(&u->to_vf.packets, u->to_vf.packets + sent, __ATOMIC_RELAXED);
		__atomic_store_n(&u->to_vf.bytes, u->to_vf.bytes + bytes, __ATOMIC_RELAXED);
		if (n != sent)
			__atomic_store_n(&u->to_vf.drops, u->to_vf.drops + (n - sent), __ATOMIC_RELAXED);
		moved = true;
	}
	return moved || port_ok;
}

static int forward_loop(void *arg)
{
	(void)arg;
	unsigned id = rte_lcore_id();
	uint64_t epoch = 0;
	while (!atomic_load_explicit(&E.quit, memory_order_relaxed)) {
		struct lcore_tab *t = atomic_load_explicit(&E.tabs[id], memory_order_acquire);
		bool busy = false;
		if (t)
			for (size_t i = 0; i < t->n; i++)
				busy |= forward(t->u[i]);
		atomic_store(&E.epochs[id].v, ++epoch);
		/* Nothing to poll (no relay here, or no VM on them): no spinning. */
		if (!busy)
			rte_delay_us_sleep(1000);
	}
	return 0;
}

/* Waits until each lcore of r (every lcore: r NULL) finished a pass that
 * began after the caller's last store. */
static void quiesce(const struct relay *r)
{
	uint64_t seen[RTE_MAX_LCORE];
	bool want[RTE_MAX_LCORE] = {false};
	unsigned id;
	RTE_LCORE_FOREACH_WORKER(id) {
		bool mine = !r;
		for (size_t k = 0; r && k < r->spec.n_lcores; k++)
			mine |= r->spec.lcores[k] == id;
		if (!mine)
			continue;
		want[id] = true;
		seen[id] = atomic_load(&E.epochs[id].v);
	}
	RTE_LCORE_FOREACH_WORKER(id) {
		if (!want[id])
			continue;
		while (atomic_load(&E.epochs[id].v) == seen[id] &&
		       rte_eal_get_lcore_state(id) == RUNNING)
			rte_delay_us_sleep(50);
	}
}

/* The lcore tables from the relay list (the caller holds nothing the
 * lcores wait for); the old tables are freed once unused. */
static int rebuild_tabs(void)
{
	struct lcore_tab *fresh[RTE_MAX_LCORE] = {NULL};
	unsigned id;
	RTE_LCORE_FOREACH_WORKER(id) {
		size_t n = 0;
		for (size_t i = 0; i < RELAY_MAX; i++) {
			struct relay *r = E.relays[i];
			for (unsigned q = 0; r && q < r->spec.queues; q++)
				n += r->spec.lcores[q % r->spec.n_lcores] == id;
		}
		if (!n)
			continue;
		struct lcore_tab *t = calloc(1, sizeof(*t) + n * sizeof(t->u[0]));
		if (!t) {
			for (unsigned k = 0; k < RTE_MAX_LCORE; k++)
				free(fresh[k]);
			return -ENOMEM;
		}
		for (size_t i = 0; i < RELAY_MAX; i++) {
			struct relay *r = E.relays[i];
			for (unsigned q = 0; r && q < r->spec.queues; q++)
				if (r->spec.lcores[q % r->spec.n_lcores] == id)
					t->u[t->n++] = r->units[q];
		}
		fresh[id] = t;
	}
	struct lcore_tab *old[RTE_MAX_LCORE] = {NULL};
	RTE_LCORE_FOREACH_WORKER(id)
		old[id] = atomic_exchange(&E.tabs[id], fresh[id]);
	quiesce(NULL);
	for (unsigned k = 0; k < RTE_MAX_LCORE; k++)
		free(old[k]);
	return 0;
}

/* ---- the relay list (under E.lock for the callbacks) --------------------- */

static struct relay *find_locked(const char *name, const char *socket, int vid, const char *vf_name)
{
	for (size_t i = 0; i < RELAY_MAX; i++) {
		struct relay *r = E.relays[i];
		if (!r)
			continue;
		if ((name && strcmp(r->spec.name, name) == 0) || (socket && strcmp(r->spec.socket, socket) == 0) ||
		    (vid >= 0 && atomic_load(&r->vid) == vid) || (vf_name && strcmp(r->vf_name, vf_name) == 0))
			return r;
	}
	return NULL;
}

static struct relay *find(const char *name)
{
	pthread_mutex_lock(&E.lock);
	struct relay *r = find_locked(name, NULL, -1, NULL);
	pthread_mutex_unlock(&E.lock);
	return r;
}

static enum relay_state state_of(const struct relay *r)
{
	if (!atomic_load(&r->port_ok))
		return STATE_VF_GONE;
	return atomic_load(&r->vid) < 0 ? STATE_WAITING_VM : STATE_RUNNING;
}

/* ---- vhost-user ------------------------------------------------------- */

static int on_new_device(int vid)
{
	char path[PATH_MAX];
	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return -1;
	pthread_mutex_lock(&E.lock);
	struct relay *r = find_locked(NULL, path, -1, NULL);
	if (r) {
		uint64_t f = 0;
		rte_vhost_get_negotiated_features(vid, &f);
		r->negotiated = f;
		r->vm_connects++;
		atomic_store(&r->vid, vid);
		char v[16];
		snprintf(v, sizeof(v), "%d", vid);
		log_kv(LOG_LVL_INFO, "vm-connected", "relay", r->spec.name, "socket", path, "vid", v, NULL);
	}
	pthread_mutex_unlock(&E.lock);
	return r ? 0 : -1;
}

static void on_destroy_device(int vid)
{
	pthread_mutex_lock(&E.lock);
	struct relay *r = find_locked(NULL, NULL, vid, NULL);
	if (r) {
		atomic_store(&r->vid, -1);
		/* The vhost library frees the device when we return. */
		quiesce(r);
		r->negotiated = 0;
		log_kv(LOG_LVL_INFO, "vm-disconnected", "relay", r->spec.name, "socket", r->spec.socket, NULL);
	}
	pthread_mutex_unlock(&E.lock);
}

static const struct rte_vhost_device_ops vhost_ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
};

static int vhost_open(struct relay *r, const char **ret_field, char **ret_error)
{
	const char *path = r->spec.socket;
	uint64_t flags = 0;
	if (r->spec.mode == RELAY_MODE_CLIENT) {
		flags |= RTE_VHOST_USER_CLIENT; /* reconnects every second while QEMU is away */
	} else {
		int k = unix_socket_reclaim(path);
		if (k == -EADDRINUSE) {
			*ret_field = "socket";
			return error_set(ret_error, k, "socket: %s: another process serves it", path);
		}
		if (k == -EEXIST) {
			*ret_field = "socket";
			return error_set(ret_error, k, "socket: %s: exists and is not a socket", path);
		}
	}
	/* Frames above one mbuf's data room come out of the guest as chained
	 * segments, which the VF must then take (scatter). */
	if (rte_vhost_driver_register(path, flags) < 0) {
		*ret_field = "socket";
		return error_set(ret_error, -EINVAL, "socket: %s: the vhost library refuses it (see its log above)", path);
	}
	r->vhost_registered = true;
	uint64_t f = 0;
	if (rte_vhost_driver_disable_features(path, DISABLED_FEATURES) < 0 ||
	    rte_vhost_driver_callback_register(path, &vhost_ops) < 0 || rte_vhost_driver_get_features(path, &f) < 0) {
		*ret_field = "socket";
		return error_set(ret_error, -EIO, "socket: %s: cannot set up its virtio-net features", path);
	}
	r->offered = f;
	if (rte_vhost_driver_start(path) < 0) {
		*ret_field = "socket";
		return error_set(ret_error, -EADDRINUSE, "socket: %s: cannot %s it (see the vhost library's log above)",
				 path, r->spec.mode == RELAY_MODE_CLIENT ? "connect to" : "listen on");
	}
	return 0;
}

/* ---- the VF ----------------------------------------------------------- */

/* A PCI VF must be on vfio-pci before DPDK can take it. */
static int vf_ready(const struct relay *r, const char **ret_field, char **ret_error)
{
	if (!r->pci)
		return 0;
	const char *root = E.o.sysfs_root ? E.o.sysfs_root : "/sys";
	_cleanup_free_ char *dev = NULL, *link = NULL, *drv = NULL;
	if (asprintf(&dev, "%s/bus/pci/devices/%s", root, r->vf_name) < 0 || asprintf(&link, "%s/driver", dev) < 0)
		return -ENOMEM;
	*ret_field = "vf";
	struct stat st;
	if (stat(dev, &st) < 0)
		return error_set(ret_error, -ENODEV, "vf: no PCI device %s", r->vf_name);
	int k = read_link_basename_at(AT_FDCWD, link, &drv);
	if (k < 0)
		return error_set(ret_error, -ENODEV, "vf: %s has no driver; bind it to vfio-pci first (sriovctl bind %s vfio-pci)",
				 r->vf_name, r->vf_name);
	if (strcmp(drv, "vfio-pci") != 0)
		return error_set(ret_error, -ENODEV, "vf: %s is bound to %s, not vfio-pci (sriovctl bind %s vfio-pci)",
				 r->vf_name, drv, r->vf_name);
	*ret_field = NULL;
	return 0;
}

static void port_close(struct relay *r)
{
	if (r->port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(r->port))
		return;
	struct rte_eth_dev_info info;
	struct rte_device *dev = rte_eth_dev_info_get(r->port, &info) == 0 ? info.device : NULL;
	rte_eth_dev_stop(r->port);
	rte_eth_dev_close(r->port);
	/* A closed port cannot start again: the device goes too, and comes
	 * back by a new probe (a vdev given to EAL at start as well). */
	if (dev)
		rte_dev_remove(dev);
	r->port = RTE_MAX_ETHPORTS;
}

/* Probes (or finds) the VF, configures it and starts it: port_ok. */
static int port_open(struct relay *r, const char **ret_field, char **ret_error)
{
	int k = vf_ready(r, ret_field, ret_error);
	if (k < 0)
		return k;
	*ret_field = "vf";
	uint16_t port;
	if (rte_eth_dev_get_port_by_name(r->vf_name, &port) != 0) {
		k = rte_dev_probe(r->spec.vf);
		if (k < 0)
			return error_set(ret_error, k, "vf: DPDK cannot probe %s: %s", r->spec.vf, rte_strerror(-k));
		if (rte_eth_dev_get_port_by_name(r->vf_name, &port) != 0)
			return error_set(ret_error, -ENODEV, "vf: %s was probed but gives no ethdev named %s", r->spec.vf,
					 r->vf_name);
	}
	r->port = port;
	struct rte_eth_dev_info info;
	k = rte_eth_dev_info_get(port, &info);
	if (k < 0)
		goto fail_msg;
	if (r->spec.queues > info.max_rx_queues || r->spec.queues > info.max_tx_queues) {
		*ret_field = "queues";
		k = error_set(ret_error, -EINVAL, "queues: %s has at most %u queue pairs, not %u", r->vf_name,
			      RTE_MIN(info.max_rx_queues, info.max_tx_queues), r->spec.queues);
		goto fail;
	}
	uint16_t mtu = RTE_ETHER_MTU;
	if (r->spec.mtu)
		mtu = (uint16_t)r->spec.mtu;
	else if (rte_eth_dev_get_mtu(port, &mtu) < 0 || !mtu)
		mtu = RTE_ETHER_MTU;
	/* As ethdev counts it: the overhead above the MTU is what its largest
	 * frame and its largest MTU differ by, else an Ethernet header + CRC. */
	uint32_t overhead = info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu
				    ? info.max_rx_pktlen - info.max_mtu
				    : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t max_mtu = RTE_MIN((uint32_t)info.max_mtu, info.max_rx_pktlen - overhead);
	if (mtu > max_mtu || mtu < info.min_mtu) {
		*ret_field = "mtu";
		k = error_set(ret_error, -EINVAL, "mtu: %s takes an MTU of %u..%u (frames up to %u bytes), not %u",
			      r->vf_name, info.min_mtu, max_mtu, info.max_rx_pktlen, mtu);
		goto fail;
	}
	r->mtu = mtu;
	r->max_frame = mtu + FRAME_OVERHEAD;
	/* One mbuf per frame when it fits the default data room or the VF
	 * cannot chain; else chained segments both ways. */
	unsigned room = RTE_MBUF_DEFAULT_DATAROOM;
	r->scatter = false;
	if (r->max_frame > room) {
		if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) &&
		    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS))
			r->scatter = true;
		else
			room = r->max_frame;
	}
	if (r->pool && r->data_room != room) {
		rte_mempool_free(r->pool); /* nothing holds its mbufs: the port is closed, no lcore polls it */
		r->pool = NULL;
	}
	if (!r->pool) {
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "relay-%s", r->spec.name);
		unsigned n = r->spec.queues * (2 * RING_SIZE + 2 * BURST) + r->spec.n_lcores * MBUF_CACHE + 1024;
		r->pool = rte_pktmbuf_pool_create(name, n, MBUF_CACHE, 0, (uint16_t)(room + RTE_PKTMBUF_HEADROOM),
						  (int)rte_lcore_to_socket_id(r->spec.lcores[0]));
		if (!r->pool) {
			*ret_field = NULL;
			k = error_set(ret_error, -ENOMEM, "cannot allocate %u mbufs of %u bytes for %s: %s (hugepages?)",
				      n, room, r->spec.name, rte_strerror(rte_errno));
			goto fail;
		}
		r->data_room = room;
	}
	struct rte_eth_conf conf = {0};
	conf.rxmode.mtu = mtu;
	if (r->scatter) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	if (r->spec.queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP |
										 RTE_ETH_RSS_UDP);
	}
	k = rte_eth_dev_configure(port, (uint16_t)r->spec.queues, (uint16_t)r->spec.queues, &conf);
	if (k < 0)
		goto fail_msg;
	uint16_t nrx = RING_SIZE, ntx = RING_SIZE;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	int socket = rte_eth_dev_socket_id(port);
	for (uint16_t q = 0; q < r->spec.queues; q++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		rxc.offloads = conf.rxmode.offloads;
		struct rte_eth_txconf txc = info.default_txconf;
		txc.offloads = conf.txmode.offloads;
		if ((k = rte_eth_rx_queue_setup(port, q, nrx, (unsigned)socket, &rxc, r->pool)) < 0) {
			k = error_set(ret_error, k, "vf: %s: its receive queue %u refuses mbufs of %u bytes: %s (DPDK's "
				      "line above says why)", r->vf_name, q, room, rte_strerror(-k));
			goto fail;
		}
		if ((k = rte_eth_tx_queue_setup(port, q, ntx, (unsigned)socket, &txc)) < 0)
			goto fail_msg;
	}
	k = rte_eth_dev_start(port);
	if (k < 0)
		goto fail_msg;
	/* The guest's MAC is its own (QEMU's): the VF takes every frame. */
	rte_eth_promiscuous_enable(port);
	rte_eth_allmulticast_enable(port);
	struct rte_ether_addr mac;
	if (rte_eth_macaddr_get(port, &mac) == 0)
		rte_ether_format_addr(r->mac, sizeof(r->mac), &mac);
	free(r->vf_error);
	r->vf_error = NULL;
	atomic_store(&r->gone_event, false);
	atomic_store(&r->port_ok, true);
	*ret_field = NULL;
	return 0;

fail_msg:
	*ret_field = "vf";
	k = error_set(ret_error, k, "vf: %s: %s", r->vf_name, rte_strerror(-k));
fail:
	port_close(r);
	return k;
}

/* The VF went away (a callback said so, or its port answers no more):
 * closed and released so that the kernel can finish removing it. */
static void vf_lost(struct relay *r, const char *why)
{
	atomic_store(&r->port_ok, false);
	quiesce(r);
	port_close(r);
	r->vf_losses++;
	r->retry_at_ms = E.now_ms + RETRY_MS;
	free(r->vf_error);
	r->vf_error = strdup(why);
	log_kv(LOG_LVL_WARN, "vf-gone", "relay", r->spec.name, "vf", r->spec.vf, "reason", why,
	       "action", "waiting for it to come back", NULL);
}

static int on_eth_event(uint16_t port, enum rte_eth_event_type ev, void *arg, void *ret_param)
{
	(void)arg;
	(void)ret_param;
	if (ev != RTE_ETH_EVENT_INTR_RMV)
		return 0;
	pthread_mutex_lock(&E.lock);
	for (size_t i = 0; i < RELAY_MAX; i++) {
		struct relay *r = E.relays[i];
		if (r && atomic_load(&r->port_ok) && r->port == port)
			atomic_store(&r->gone_event, true);
	}
	pthread_mutex_unlock(&E.lock);
	return 0;
}

static void on_dev_event(const char *name, enum rte_dev_event_type ev, void *arg)
{
	(void)arg;
	if (ev != RTE_DEV_EVENT_REMOVE || !name)
		return;
	pthread_mutex_lock(&E.lock);
	struct relay *r = find_locked(NULL, NULL, -1, name);
	if (r)
		atomic_store(&r->gone_event, true);
	pthread_mutex_unlock(&E.lock);
}

/* ---- the engine's operations (struct relay_engine) ------------------------ */

/* All but the spec (which a failed add leaves with its caller). */
static void relay_teardown(struct relay *r)
{
	if (r->vhost_registered)
		rte_vhost_driver_unregister(r->spec.socket);
	port_close(r);
	if (r->pool)
		rte_mempool_free(r->pool);
	for (unsigned q = 0; q < RELAY_MAX_QUEUES; q++)
		rte_free(r->units[q]);
	free(r->vf_name);
	free(r->vf_error);
}

static void relay_free(struct relay *r)
{
	if (!r)
		return;
	relay_teardown(r);
	relay_spec_done(&r->spec);
	free(r);
}

static void relay_abandon(struct relay *r)
{
	relay_teardown(r);
	free(r);
}

static int e_add(void *data, struct relay_spec *spec, const char **ret_field, char **ret_error)
{
	(void)data;
	*ret_field = NULL;
	for (size_t k = 0; k < spec->n_lcores; k++) {
		unsigned id = spec->lcores[k];
		if (id >= RTE_MAX_LCORE || !rte_lcore_is_enabled(id) || id == rte_get_main_lcore()) {
			*ret_field = "lcores";
			return error_set(ret_error, -EINVAL,
					 "lcores: %u is not a worker lcore of this process (EAL's -l/--lcores; lcore %u is "
					 "the main one, it serves the control socket)", id, rte_get_main_lcore());
		}
	}
	_cleanup_free_ char *vf_name = relay_vf_name(spec->vf);
	if (!vf_name)
		return -ENOMEM;
	bool pci = relay_vf_is_pci(spec->vf);
	if (pci && strlen(vf_name) == 7) { /* BB:DD.F: DPDK names it with its domain */
		char *full = NULL;
		if (asprintf(&full, "0000:%s", vf_name) < 0)
			return -ENOMEM;
		free(vf_name);
		vf_name = full;
	}
	pthread_mutex_lock(&E.lock);
	size_t slot = RELAY_MAX;
	for (size_t i = 0; i < RELAY_MAX; i++) {
		struct relay *o = E.relays[i];
		if (!o) {
			if (slot == RELAY_MAX)
				slot = i;
			continue;
		}
		const char *f = strcmp(o->spec.name, spec->name) == 0   ? "name"
				: strcmp(o->spec.socket, spec->socket) == 0 ? "socket"
				: strcmp(o->vf_name, vf_name) == 0          ? "vf"
									    : NULL;
		if (f) {
			pthread_mutex_unlock(&E.lock);
			*ret_field = f;
			return error_set(ret_error, -EEXIST, "%s: relay %s has it already", f, o->spec.name);
		}
	}
	pthread_mutex_unlock(&E.lock);
	if (slot == RELAY_MAX)
		return error_set(ret_error, -EBUSY, "this process runs %u relays already", RELAY_MAX);

	struct relay *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->spec = *spec;
	r->vf_name = TAKE_PTR(vf_name);
	r->pci = pci;
	r->port = RTE_MAX_ETHPORTS;
	atomic_init(&r->vid, -1);
	for (unsigned q = 0; q < spec->queues; q++) {
		r->units[q] = rte_zmalloc("relay-unit", sizeof(struct unit), RTE_CACHE_LINE_SIZE);
		if (!r->units[q]) {
			relay_abandon(r);
			return error_set(ret_error, -ENOMEM, "cannot allocate the relay's queues (hugepages?)");
		}
		r->units[q]->r = r;
		r->units[q]->q = (uint16_t)q;
	}
	int k = port_open(r, ret_field, ret_error);
	if (k >= 0)
		k = vhost_open(r, ret_field, ret_error);
	if (k < 0) {
		relay_abandon(r); /* the caller keeps spec */
		return k;
	}
	pthread_mutex_lock(&E.lock);
	E.relays[slot] = r;
	pthread_mutex_unlock(&E.lock);
	k = rebuild_tabs();
	if (k < 0) {
		pthread_mutex_lock(&E.lock);
		E.relays[slot] = NULL;
		pthread_mutex_unlock(&E.lock);
		relay_abandon(r);
		return error_set(ret_error, k, "cannot give the relay its lcores: %s", strerror(-k));
	}
	*spec = (struct relay_spec){0};
	char q[16];
	snprintf(q, sizeof(q), "%u", r->spec.queues);
	log_kv(LOG_LVL_INFO, "relay-added", "relay", r->spec.name, "vf", r->spec.vf, "socket", r->spec.socket,
	       "mode", relay_mode_name(r->spec.mode), "queues", q, NULL);
	return 0;
}

static int e_del(void *data, const char *name, char **ret_error)
{
	(void)data;
	(void)ret_error;
	pthread_mutex_lock(&E.lock);
	struct relay *r = NULL;
	for (size_t i = 0; i < RELAY_MAX; i++)
		if (E.relays[i] && strcmp(E.relays[i]->spec.name, name) == 0) {
			r = E.relays[i];
			E.relays[i] = NULL;
		}
	pthread_mutex_unlock(&E.lock);
	if (!r)
		return -ENOENT;
	/* No lcore polls it once the tables are swapped; the vhost callbacks
	 * no longer find it. */
	int k = rebuild_tabs();
	if (k < 0)
		quiesce(NULL); /* the old tables stay; they no longer matter once nothing runs r */
	atomic_store(&r->port_ok, false);
	atomic_store(&r->vid, -1);
	quiesce(r);
	log_kv(LOG_LVL_INFO, "relay-removed", "relay", r->spec.name, NULL);
	relay_free(r);
	return 0;
}

static json_t *features_json(uint64_t f)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(feature_names); i++)
		if (f & (1ULL << feature_names[i].bit))
			json_array_append_new(a, json_string(feature_names[i].name));
	return a;
}

static json_t *relay_json(const struct relay *r)
{
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(r->spec.name));
	json_object_set_new(j, "state", json_string(state_names[state_of(r)]));
	json_object_set_new(j, "vf", json_string(r->spec.vf));
	json_object_set_new(j, "socket", json_string(r->spec.socket));
	json_object_set_new(j, "mode", json_string(relay_mode_name(r->spec.mode)));
	json_object_set_new(j, "queues", json_integer(r->spec.queues));
	json_t *l = json_array();
	for (size_t k = 0; k < r->spec.n_lcores; k++)
		json_array_append_new(l, json_integer(r->spec.lcores[k]));
	json_object_set_new(j, "lcores", l);
	json_object_set_new(j, "mtu", json_integer(r->mtu));
	json_object_set_new(j, "max_frame", json_integer(r->max_frame));
	json_object_set_new(j, "segments", json_string(r->scatter ? "chained" : "one"));
	json_object_set_new(j, "vf_mac", r->mac[0] ? json_string(r->mac) : json_null());
	json_object_set_new(j, "vf_error", r->vf_error ? json_string(r->vf_error) : json_null());
	json_object_set_new(j, "vm_connected", json_boolean(atomic_load(&r->vid) >= 0));
	json_object_set_new(j, "vm_connects", json_integer(r->vm_connects));
	json_object_set_new(j, "vf_losses", json_integer(r->vf_losses));
	json_t *f = json_object();
	json_object_set_new(f, "offered", features_json(r->offered));
	json_object_set_new(f, "disabled", features_json(DISABLED_FEATURES));
	json_object_set_new(f, "negotiated", atomic_load(&r->vid) >= 0 ? features_json(r->negotiated) : json_null());
	json_object_set_new(j, "features", f);
	return j;
}

static void sum(const struct relay *r, struct relay_count *to_vm, struct relay_count *to_vf)
{
	*to_vm = *to_vf = (struct relay_count){0};
	for (unsigned q = 0; q < r->spec.queues; q++) {
		const struct unit *u = r->units[q];
		to_vm->packets += __atomic_load_n(&u->to_vm.packets, __ATOMIC_RELAXED);
		to_vm->bytes += __atomic_load_n(&u->to_vm.bytes, __ATOMIC_RELAXED);
		to_vm->drops += __atomic_load_n(&u->to_vm.drops, __ATOMIC_RELAXED);
		to_vf->packets += __atomic_load_n(&u->to_vf.packets, __ATOMIC_RELAXED);
		to_vf->bytes += __atomic_load_n(&u->to_vf.bytes, __ATOMIC_RELAXED);
		to_vf->drops += __atomic_load_n(&u->to_vf.drops, __ATOMIC_RELAXED);
	}
}

static json_t *stats_json(const struct relay *r)
{
	struct relay_count to_vm, to_vf;
	sum(r, &to_vm, &to_vf);
	json_t *j = json_object();
	json_object_set_new(j, "name", json_string(r->spec.name));
	json_object_set_new(j, "state", json_string(state_names[state_of(r)]));
	json_object_set_new(j, "vf_to_vm", relay_count_json(&to_vm, &r->rate_to_vm));
	json_object_set_new(j, "vm_to_vf", relay_count_json(&to_vf, &r->rate_to_vf));
	/* The VF's own counters: frames it missed (no free descriptor) are
	 * drops too, before the relay saw them. */
	struct rte_eth_stats es;
	if (atomic_load(&r->port_ok) && rte_eth_stats_get(r->port, &es) == 0) {
		json_t *v = json_object();
		json_object_set_new(v, "rx_packets", json_integer((json_int_t)es.ipackets));
		json_object_set_new(v, "tx_packets", json_integer((json_int_t)es.opackets));
		json_object_set_new(v, "rx_missed", json_integer((json_int_t)es.imissed));
		json_object_set_new(v, "rx_errors", json_integer((json_int_t)es.ierrors));
		json_object_set_new(v, "tx_errors", json_integer((json_int_t)es.oerrors));
		json_object_set_new(v, "rx_no_mbuf", json_integer((json_int_t)es.rx_nombuf));
		json_object_set_new(j, "vf", v);
	} else {
		json_object_set_new(j, "vf", json_null());
	}
	return j;
}

static json_t *e_list(void *data)
{
	(void)data;
	json_t *a = json_array();
	pthread_mutex_lock(&E.lock);
	for (size_t i = 0; i < RELAY_MAX; i++)
		if (E.relays[i])
			json_array_append_new(a, relay_json(E.relays[i]));
	pthread_mutex_unlock(&E.lock);
	json_t *j = json_object();
	json_object_set_new(j, "relays", a);
	return j;
}

static json_t *e_show(void *data, const char *name)
{
	(void)data;
	struct relay *r = find(name); /* only the main lcore frees relays: safe to read here */
	return r ? relay_json(r) : NULL;
}

static json_t *e_stats(void *data, const char *name)
{
	(void)data;
	struct relay *r = find(name);
	return r ? stats_json(r) : NULL;
}

static char *e_next_name(void *data)
{
	(void)data;
	for (unsigned i = 0;; i++) {
		char *n = NULL;
		if (asprintf(&n, "relay%u", i) < 0)
			return NULL;
		if (!find(n))
			return n;
		free(n);
	}
}

/* ---- start, tick, stop -------------------------------------------------- */

int relay_dpdk_start(const struct relay_dpdk_opts *o, struct relay_engine *ret, char **ret_error)
{
	E.o = *o;
	unsigned id;
	RTE_LCORE_FOREACH_WORKER(id) {
		int k = rte_eal_remote_launch(forward_loop, NULL, id);
		if (k < 0)
			return error_set(ret_error, k, "cannot start lcore %u: %s", id, rte_strerror(-k));
	}
	E.started = true;
	rte_eth_dev_callback_register(RTE_ETH_ALL, RTE_ETH_EVENT_INTR_RMV, on_eth_event, NULL);
	/* A VF whose PF driver goes: vfio-pci's request to let it go, or the
	 * kernel's uevent, arrives as a removal of the device. */
	rte_dev_event_callback_register(NULL, on_dev_event, NULL);
	if (rte_dev_event_monitor_start() == 0)
		rte_dev_hotplug_handle_enable();
	*ret = (struct relay_engine){
		.add = e_add,
		.del = e_del,
		.list = e_list,
		.show = e_show,
		.stats = e_stats,
		.next_name = e_next_name,
	};
	return 0;
}

void relay_dpdk_tick(uint64_t now_ms)
{
	E.now_ms = now_ms;
	for (size_t i = 0; i < RELAY_MAX; i++) {
		struct relay *r = E.relays[i]; /* only this lcore changes the list */
		if (!r)
			continue;
		struct relay_count to_vm, to_vf;
		sum(r, &to_vm, &to_vf);
		relay_rate_sample(&r->rate_to_vm, &to_vm, now_ms);
		relay_rate_sample(&r->rate_to_vf, &to_vf, now_ms);
		if (atomic_load(&r->port_ok)) {
			if (atomic_load(&r->gone_event))
				vf_lost(r, "the device was removed");
			else if (rte_eth_dev_is_removed(r->port))
				vf_lost(r, "the port answers no more");
			continue;
		}
		if (now_ms < r->retry_at_ms)
			continue;
		r->retry_at_ms = now_ms + RETRY_MS;
		const char *field;
		_cleanup_free_ char *err = NULL;
		if (port_open(r, &field, &err) < 0) {
			if (!streq_ptr(err, r->vf_error)) {
				free(r->vf_error);
				r->vf_error = TAKE_PTR(err);
			}
			continue;
		}
		log_kv(LOG_LVL_INFO, "vf-back", "relay", r->spec.name, "vf", r->spec.vf, NULL);
	}
}

void relay_dpdk_stop(void)
{
	for (size_t i = 0; i < RELAY_MAX; i++)
		if (E.relays[i])
			e_del(NULL, E.relays[i]->spec.name, NULL);
	if (!E.started)
		return;
	rte_dev_event_monitor_stop();
	atomic_store(&E.quit, true);
	rte_eal_mp_wait_lcore();
	E.started = false;
}

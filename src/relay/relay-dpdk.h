/* relay-dpdk: the engine of sriov-relay, one per process (DPDK's EAL is):
 * the ports, the vhost-user sockets, the forwarding lcores, the faults.
 * Only this file and sriov-relay.c include DPDK. Call after rte_eal_init(). */
#pragma once

#include "relay.h"

struct relay_dpdk_opts {
	const char *sysfs_root; /* NULL: /sys (where a PCI VF's driver is read) */
};

/* Launches a forwarding loop on every worker lcore, registers the device
 * event callbacks; *ret is the engine the control routes use. */
int relay_dpdk_start(const struct relay_dpdk_opts *o, struct relay_engine *ret, char **ret_error);
/* From the main loop, every RELAY_TICK_MS: the rates' samples, a VF that
 * went away (closed and released) or came back (probed and started). */
#define RELAY_TICK_MS 100u
void relay_dpdk_tick(uint64_t now_ms);
/* Removes every relay, stops the lcores. */
void relay_dpdk_stop(void);

/* netlink/uevent: the kernel's device events (NETLINK_KOBJECT_UEVENT), read
 * straight from the kernel so that no udev is needed: a PF driver reload
 * shows as unbind/remove of the VFs and bind/add of the PF, new VFs as add
 * and change, a driver taking or letting go of a device as bind and
 * unbind. sriovd watches them; lifecycle/'s waits wake on them instead of
 * looking again every few milliseconds. Plain socket code (no libmnl). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct uevent {
	char action[16];     /* add, remove, bind, unbind, change, move, ... */
	char subsystem[32];  /* pci, net, ... */
	char devpath[256];   /* /devices/pci0000:00/... */
	char pci_slot[16];   /* PCI_SLOT_NAME, when the event is about a PCI function */
	char interface[32];  /* INTERFACE, for net events */
	char driver[64];     /* DRIVER, on bind */
};

/* Opens a non-blocking socket on the kernel's uevent group. */
int uevent_open(void);
/* Parses one datagram ("ACTION@DEVPATH\0KEY=VALUE\0..."); -EINVAL when it is
 * not a kernel uevent (e.g. udev's own "libudev" messages). */
int uevent_parse(const char *buf, size_t len, struct uevent *ret);
/* Reads and parses one pending event: 0, -EAGAIN when none, -errno. */
int uevent_read(int fd, struct uevent *ret);

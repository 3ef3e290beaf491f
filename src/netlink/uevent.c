#include "uevent.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

int uevent_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	/* Group 1 is the kernel's own broadcast (udev re-broadcasts on group 2). */
	struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int size = 1024 * 1024;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void copy_value(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

int uevent_parse(const char *buf, size_t len, struct uevent *ret)
{
	struct uevent ev = {0};
	const char *end = buf + len;
	size_t first = strnlen(buf, len);
	const char *at = memchr(buf, '@', first);
	if (first == len || !at)
		return -EINVAL;
	size_t alen = (size_t)(at - buf);
	if (alen == 0 || alen >= sizeof(ev.action))
		return -EINVAL;
	memcpy(ev.action, buf, alen);
	copy_value(ev.devpath, sizeof(ev.devpath), at + 1);
	for (const char *p = buf + first + 1; p < end;) {
		size_t n = strnlen(p, (size_t)(end - p));
		if (p + n == end)
			break; /* unterminated tail: ignore it */
		if (strncmp(p, "SUBSYSTEM=", 10) == 0)
			copy_value(ev.subsystem, sizeof(ev.subsystem), p + 10);
		else if (strncmp(p, "PCI_SLOT_NAME=", 14) == 0)
			copy_value(ev.pci_slot, sizeof(ev.pci_slot), p + 14);
		else if (strncmp(p, "INTERFACE=", 10) == 0)
			copy_value(ev.interface, sizeof(ev.interface), p + 10);
		else if (strncmp(p, "DRIVER=", 7) == 0)
			copy_value(ev.driver, sizeof(ev.driver), p + 7);
		p += n + 1;
	}
	*ret = ev;
	return 0;
}

int uevent_read(int fd, struct uevent *ret)
{
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (uevent_parse(buf, (size_t)n, ret) == 0)
			return 0;
		/* not a kernel uevent: read the next */
	}
}

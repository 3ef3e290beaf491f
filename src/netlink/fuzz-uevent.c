/* libFuzzer target for uevent_parse(), which reads the kernel's device
 * events off a netlink socket anyone on the host can send to when the
 * socket is misconfigured: any datagram either fails or fills every field
 * with a NUL-terminated string within its array. Run by tests/fuzz. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "netlink/uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) assert(memchr((f), '\0', sizeof(f)))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uevent u;
	memset(&u, 0xa5, sizeof(u));
	if (uevent_parse((const char *)data, size, &u) == 0) {
		TERMINATED(u.action);
		TERMINATED(u.subsystem);
		TERMINATED(u.devpath);
		TERMINATED(u.pci_slot);
		TERMINATED(u.interface);
		TERMINATED(u.driver);
		assert(u.action[0] != '\0');
	}
	return 0;
}

/* Unit tests for daemon/uevent: parsing kernel uevent datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "netlink/uevent.h"

static void test_bind(void **state)
{
	(void)state;
	static const char msg[] = "bind@/devices/pci0000:00/0000:00:02.0/0000:01:00.0\0"
				  "ACTION=bind\0DEVPATH=/devices/pci0000:00/0000:00:02.0/0000:01:00.0\0"
				  "SUBSYSTEM=pci\0DRIVER=igb\0PCI_SLOT_NAME=0000:01:00.0\0SEQNUM=1234\0";
	struct uevent ev;
	assert_int_equal(uevent_parse(msg, sizeof(msg) - 1, &ev), 0);
	assert_string_equal(ev.action, "bind");
	assert_string_equal(ev.subsystem, "pci");
	assert_string_equal(ev.driver, "igb");
	assert_string_equal(ev.pci_slot, "0000:01:00.0");
	assert_string_equal(ev.devpath, "/devices/pci0000:00/0000:00:02.0/0000:01:00.0");
}

static void test_net(void **state)
{
	(void)state;
	static const char msg[] = "add@/devices/virtual/net/eth9\0SUBSYSTEM=net\0INTERFACE=eth9\0IFINDEX=9";
	struct uevent ev;
	/* the last field lacks its NUL: ignored, the rest kept */
	assert_int_equal(uevent_parse(msg, sizeof(msg) - 1, &ev), 0);
	assert_string_equal(ev.action, "add");
	assert_string_equal(ev.interface, "eth9");
}

static void test_not_kernel(void **state)
{
	(void)state;
	struct uevent ev;
	/* udev's re-broadcast starts with "libudev\0" and a binary header */
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
	assert_int_equal(uevent_parse(udev, sizeof(udev) - 1, &ev), -EINVAL);
	assert_int_equal(uevent_parse("", 0, &ev), -EINVAL);
	assert_int_equal(uevent_parse("@/devices", 9, &ev), -EINVAL);
	assert_int_equal(uevent_parse("add@/x", 6, &ev), -EINVAL); /* no NUL at all */
	static const char long_action[] = "averyveryverylongaction@/x\0";
	assert_int_equal(uevent_parse(long_action, sizeof(long_action) - 1, &ev), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_not_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

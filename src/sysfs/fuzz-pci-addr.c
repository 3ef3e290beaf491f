/* libFuzzer target for pci_addr_parse(), the one parser of PCI addresses:
 * whatever it accepts is within the bounds of each part (domain 16 bits,
 * bus 8, slot 5, function 3), names exactly the numbers the text holds
 * (no part silently wrapped or cut), and formats to a text that parses back
 * to the same address. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs/sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The numbers of "a:b:c.d" or "b:c.d", read independently with overflow
 * detection; -1 for a part that does not fit 64 bits. */
static int parts_of(const char *s, long long v[4])
{
	int n = 0;
	const char *p = s;
	while (n < 4) {
		char *end;
		errno = 0;
		unsigned long long x = strtoull(p, &end, 16);
		if (end == p)
			return -1;
		v[n++] = errno == ERANGE || x > (unsigned long long)INT64_MAX ? -1 : (long long)x;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct pci_addr a;
	if (pci_addr_parse(s, &a) == 0) {
		assert(a.slot <= 0x1f && a.function <= 7);
		long long v[4];
		int n = parts_of(s, v);
		assert(n == 3 || n == 4);
		const long long *q = n == 4 ? v + 1 : v;
		assert(n == 3 || v[0] == a.domain);
		assert(q[0] == a.bus && q[1] == a.slot && q[2] == a.function);

		char buf[PCI_ADDR_STRLEN];
		pci_addr_format(&a, buf);
		struct pci_addr b;
		assert(pci_addr_parse(buf, &b) == 0);
		assert(a.domain == b.domain && a.bus == b.bus && a.slot == b.slot && a.function == b.function);
	}
	free(s);
	return 0;
}

/* libFuzzer target for rtnl_parse_pf_link(), the parser of RTM_NEWLINK
 * messages with IFLA_VFINFO_LIST: the input is one netlink message (its
 * nlmsg_len set to what arrived, as a datagram socket guarantees); whatever
 * is accepted has a NUL-terminated name, addresses within their arrays, VF
 * indexes as listed, and a truncation flag that agrees with IFLA_NUM_VF.
 * Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < sizeof(struct nlmsghdr) || size > (1u << 20))
		return 0;
	/* Messages arrive in a buffer aligned for the header. */
	struct nlmsghdr *nlh = aligned_alloc(NLMSG_ALIGNTO * 2, (size + 7) & ~(size_t)7);
	if (!nlh)
		return 0;
	memcpy(nlh, data, size);
	nlh->nlmsg_len = (uint32_t)size;

	struct pf_link l;
	if (rtnl_parse_pf_link(nlh, &l) == 0) {
		assert(memchr(l.ifname, '\0', sizeof(l.ifname)));
		assert(l.addr_len <= VF_MAC_MAX && l.perm_addr_len <= VF_MAC_MAX);
		assert(l.n_vfs == 0 || l.vfs);
		if (l.truncated)
			assert(l.has_num_vf && l.n_vfs < l.num_vf);
		for (size_t i = 0; i < l.n_vfs; i++) {
			assert(l.vfs[i].mac_len <= VF_MAC_MAX);
			assert(pf_link_vf(&l, l.vfs[i].index));
		}
		pf_link_done(&l);
	}
	free(nlh);
	return 0;
}

/* The baseline of the inventory benchmark: a minimal walker that reads the
 * same facts as `sriovctl list` the straightforward way, one
 * open/read/close per attribute on its full path, opendir/readdir for
 * folders, readlink for links, and prints one line per function.
 *   bench-walker SYSFS_ROOT
 * Plain C, no libraries: what a careful script author would write in C. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The text of ROOT/bus/pci/devices/DEV/ATTR, trailing newline cut; "" when unreadable. */
static const char *attr(const char *dev, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	buf[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev, name) >= sizeof(path))
		return buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return buf;
}

/* The last component of the link DEV/NAME; "" when none. */
static const char *link_base(const char *dev, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	buf[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev, name) >= sizeof(path))
		return buf;
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	const char *slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench-walker SYSFS_ROOT\n");
		return 2;
	}
	char devices[PATH_MAX];
	snprintf(devices, sizeof(devices), "%s/bus/pci/devices", argv[1]);
	DIR *d = opendir(devices);
	if (!d) {
		perror(devices);
		return 1;
	}
	/* sorted by address, as sriovctl prints them */
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap && !(names = realloc(names, (cap = cap ? 2 * cap : 256) * sizeof(*names))))
			return 1;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);

	size_t pfs = 0, vfs = 0;
	for (size_t i = 0; i < n; i++) {
		char dev[PATH_MAX + 300], v[64], dv[64], sv[64], sd[64], cls[64], numa[64], ovr[256], drv[PATH_MAX],
			grp[PATH_MAX], phys[PATH_MAX];
		snprintf(dev, sizeof(dev), "%s/%s", devices, names[i]);
		printf("%s %s:%s %s:%s class %s driver %s override %s numa %s group %s", names[i],
		       attr(dev, "vendor", v, sizeof(v)), attr(dev, "device", dv, sizeof(dv)),
		       attr(dev, "subsystem_vendor", sv, sizeof(sv)), attr(dev, "subsystem_device", sd, sizeof(sd)),
		       attr(dev, "class", cls, sizeof(cls)), link_base(dev, "driver", drv, sizeof(drv)),
		       attr(dev, "driver_override", ovr, sizeof(ovr)), attr(dev, "numa_node", numa, sizeof(numa)),
		       link_base(dev, "iommu_group", grp, sizeof(grp)));
		const char *pf = link_base(dev, "physfn", phys, sizeof(phys));
		if (*pf) {
			printf(" pf %s", pf);
			vfs++;
		}
		char net[sizeof(dev) + 8];
		snprintf(net, sizeof(net), "%s/net", dev);
		DIR *nd = opendir(net);
		while (nd && (de = readdir(nd))) {
			if (de->d_name[0] == '.')
				continue;
			char sub[PATH_MAX], mac[64], mtu[64], flags[64], nat[64];
			snprintf(sub, sizeof(sub), "net/%s/address", de->d_name);
			attr(dev, sub, mac, sizeof(mac));
			snprintf(sub, sizeof(sub), "net/%s/mtu", de->d_name);
			attr(dev, sub, mtu, sizeof(mtu));
			snprintf(sub, sizeof(sub), "net/%s/flags", de->d_name);
			attr(dev, sub, flags, sizeof(flags));
			snprintf(sub, sizeof(sub), "net/%s/name_assign_type", de->d_name);
			attr(dev, sub, nat, sizeof(nat));
			printf(" net %s %s mtu %s flags %s nat %s", de->d_name, mac, mtu, flags, nat);
		}
		if (nd)
			closedir(nd);
		char total[64];
		if (*attr(dev, "sriov_totalvfs", total, sizeof(total))) {
			char num[64], off[64], str[64], vfd[64], ap[64];
			pfs++;
			printf(" sriov %s/%s offset %s stride %s vf_device %s autoprobe %s", attr(dev, "sriov_numvfs", num, sizeof(num)),
			       total, attr(dev, "sriov_offset", off, sizeof(off)), attr(dev, "sriov_stride", str, sizeof(str)),
			       attr(dev, "sriov_vf_device", vfd, sizeof(vfd)),
			       attr(dev, "sriov_drivers_autoprobe", ap, sizeof(ap)));
			DIR *pd = opendir(dev);
			while (pd && (de = readdir(pd))) {
				if (strncmp(de->d_name, "virtfn", 6) != 0)
					continue;
				char target[PATH_MAX];
				printf(" %s=%s", de->d_name, link_base(dev, de->d_name, target, sizeof(target)));
			}
			if (pd)
				closedir(pd);
		}
		putchar('\n');
		free(names[i]);
	}
	free(names);
	printf("%zu PFs, %zu VFs\n", pfs, vfs);
	return 0;
}

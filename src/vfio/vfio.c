/* vfio: the pre-flight a hypervisor would make (see vfio.h). */
#include "vfio/vfio.h"

#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/vfio.h>

#include "sysfs/sysfs.h"
#include "util/fs.h"
#include "util/util.h"

static const char *const step_names[VFIO_STEP_MAX] = {
	[VFIO_STEP_DRIVER] = "driver",
	[VFIO_STEP_IOMMU_GROUP] = "iommu_group",
	[VFIO_STEP_OPEN_CONTAINER] = "open_container",
	[VFIO_STEP_API_VERSION] = "VFIO_GET_API_VERSION",
	[VFIO_STEP_CHECK_EXTENSION] = "VFIO_CHECK_EXTENSION",
	[VFIO_STEP_OPEN_GROUP] = "open_group",
	[VFIO_STEP_GROUP_STATUS] = "VFIO_GROUP_GET_STATUS",
	[VFIO_STEP_SET_CONTAINER] = "VFIO_GROUP_SET_CONTAINER",
	[VFIO_STEP_SET_IOMMU] = "VFIO_SET_IOMMU",
	[VFIO_STEP_GET_DEVICE_FD] = "VFIO_GROUP_GET_DEVICE_FD",
	[VFIO_STEP_DEVICE_INFO] = "VFIO_DEVICE_GET_INFO",
	[VFIO_STEP_REGION_INFO] = "VFIO_DEVICE_GET_REGION_INFO",
	[VFIO_STEP_READ_CONFIG] = "read_config",
};

const char *vfio_step_name(enum vfio_step step)
{
	return (unsigned)step < VFIO_STEP_MAX ? step_names[step] : NULL;
}

/* --- the real kernel ------------------------------------------------------------- */

static int sys_open(void *userdata, int rootfd, const char *path, int flags)
{
	(void)userdata;
	return fs_open_beneath(rootfd, path, flags, 0);
}

static int sys_ioctl(void *userdata, int fd, unsigned long request, void *arg)
{
	(void)userdata;
	int r = ioctl(fd, request, arg);
	return r < 0 ? -errno : r;
}

static ssize_t sys_pread(void *userdata, int fd, void *buf, size_t len, off_t offset)
{
	(void)userdata;
	ssize_t n = pread(fd, buf, len, offset);
	return n < 0 ? -errno : n;
}

static int sys_close(void *userdata, int fd)
{
	(void)userdata;
	return close(fd) < 0 ? -errno : 0;
}

static const struct vfio_ops sys_ops = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.pread = sys_pread,
	.close = sys_close,
};

/* --- one run ------------------------------------------------------------------------ */

struct run {
	const struct vfio_env *env;
	const struct vfio_ops *ops;
	const char *sysfs;
	const char *dev;
	struct vfio_preflight_result *res;
	enum vfio_step step; /* the one under way */
	uint64_t started;
	int container, group, device; /* -1 when not open */
};

static uint64_t run_now(const struct run *run)
{
	return run->env->now_ns ? run->env->now_ns(run->env->clock_data) : mono_now_ns();
}

static void step_begin(struct run *run, enum vfio_step step)
{
	run->step = step;
	run->res->steps[step].done = true;
	run->started = run_now(run);
}

static void step_end(struct run *run, int r)
{
	uint64_t now = run_now(run);
	struct vfio_step_result *s = &run->res->steps[run->step];
	s->ns = now >= run->started ? now - run->started : 0;
	s->r = r < 0 ? r : 0;
	if (r < 0)
		run->res->failed = run->step;
}

/* Ends the step with r and sets the sentence "vfio: STEP: ...". */
static int step_fail(struct run *run, char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int step_fail(struct run *run, char **ret_error, int r, const char *fmt, ...)
{
	step_end(run, r);
	va_list ap;
	_cleanup_free_ char *what = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&what, fmt, ap);
	va_end(ap);
	return error_set(ret_error, r, "vfio: %s: %s", step_names[run->step], n < 0 ? "(out of memory)" : what);
}

static void close_fd(struct run *run, int *fd)
{
	if (*fd >= 0)
		(void)run->ops->close(run->env->ops_data, *fd);
	*fd = -1;
}

static int dev_ioctl(struct run *run, int fd, unsigned long request, void *arg)
{
	return run->ops->ioctl(run->env->ops_data, fd, request, arg);
}

/* The driver a function is bound to (NULL: none), from sysfs. */
static int sysfs_driver(const char *sysfs, const char *addr, char **ret)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "bus/pci/devices/%s/driver", addr) < 0)
		return -ENOMEM;
	*ret = NULL;
	int r = read_link_basename_beneath(sysfs, path, ret);
	return r == -ENOENT ? 0 : r;
}

static int sysfs_id(const char *sysfs, const char *addr, const char *name, uint16_t *ret)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "bus/pci/devices/%s/%s", addr, name) < 0)
		return -ENOMEM;
	uint32_t v;
	int r = read_u32_beneath(sysfs, path, 16, &v);
	if (r < 0)
		return r;
	if (v > 0xffff)
		return -ERANGE;
	*ret = (uint16_t)v;
	return 0;
}

static int step_driver(struct run *run, char **ret_error)
{
	const char *addr = run->res->addr;
	step_begin(run, VFIO_STEP_DRIVER);
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "bus/pci/devices/%s", addr) < 0)
		return step_fail(run, ret_error, -ENOMEM, "out of memory");
	if (!dir_exists_beneath(run->sysfs, dir))
		return step_fail(run, ret_error, -ENODEV, "%s: no such PCI function under %s/bus/pci/devices", addr,
				 run->sysfs);
	_cleanup_free_ char *driver = NULL;
	int r = sysfs_driver(run->sysfs, addr, &driver);
	if (r < 0)
		return step_fail(run, ret_error, r, "%s: cannot read its driver link: %s", addr, fs_strerror(r));
	if (!driver)
		return step_fail(run, ret_error, -ENODEV, "%s is bound to no driver, not " VFIO_DRIVER, addr);
	if (!streq_ptr(driver, VFIO_DRIVER))
		return step_fail(run, ret_error, -ENODEV, "%s is bound to %s, not " VFIO_DRIVER, addr, driver);
	if ((r = sysfs_id(run->sysfs, addr, "vendor", &run->res->sysfs_vendor_id)) < 0 ||
	    (r = sysfs_id(run->sysfs, addr, "device", &run->res->sysfs_device_id)) < 0)
		return step_fail(run, ret_error, r, "%s: cannot read its vendor and device IDs from sysfs: %s", addr,
				 fs_strerror(r));
	step_end(run, 0);
	return 0;
}

static int step_iommu_group(struct run *run, char **ret_error)
{
	const char *addr = run->res->addr;
	step_begin(run, VFIO_STEP_IOMMU_GROUP);
	_cleanup_free_ char *path = NULL, *name = NULL;
	if (asprintf(&path, "bus/pci/devices/%s/iommu_group", addr) < 0)
		return step_fail(run, ret_error, -ENOMEM, "out of memory");
	int r = read_link_basename_beneath(run->sysfs, path, &name);
	if (r == -ENOENT)
		return step_fail(run, ret_error, r, "%s is in no IOMMU group (is the IOMMU on? intel_iommu=on or "
				 "amd_iommu=on)", addr);
	if (r < 0)
		return step_fail(run, ret_error, r, "%s: cannot read its iommu_group link: %s", addr, fs_strerror(r));
	int32_t g;
	if (parse_i32(name, 10, &g) < 0 || g < 0)
		return step_fail(run, ret_error, -EBADMSG, "%s: its iommu_group link names '%s', not a group number",
				 addr, name);
	run->res->iommu_group = g;
	step_end(run, 0);
	return 0;
}

/* The members of the group bound to a driver that makes it not viable:
 * "device 0000:00:03.0 is bound to igb, ...", or NULL when none is seen. */
static char *group_blockers(struct run *run)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "kernel/iommu_groups/%d/devices", run->res->iommu_group) < 0)
		return NULL;
	_cleanup_close_ int rootfd = fs_open_root(run->sysfs);
	if (rootfd < 0)
		return NULL;
	int fd = fs_open_beneath(rootfd, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	_cleanup_(strv_freep) char **list = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct pci_addr a;
		if (pci_addr_parse(e->d_name, &a) < 0)
			continue;
		_cleanup_free_ char *driver = NULL;
		if (sysfs_driver(run->sysfs, e->d_name, &driver) < 0 || !driver || streq_ptr(driver, VFIO_DRIVER) ||
		    streq_ptr(driver, "pci-stub"))
			continue;
		if (strv_pushf(&list, "device %s is bound to %s", e->d_name, driver) < 0)
			break;
	}
	closedir(d);
	if (!list)
		return NULL;
	strv_sort(list);
	return strv_join(list, ", ");
}

static int step_container(struct run *run, char **ret_error)
{
	step_begin(run, VFIO_STEP_OPEN_CONTAINER);
	_cleanup_close_ int rootfd = fs_open_root(run->dev);
	if (rootfd < 0)
		return step_fail(run, ret_error, rootfd, "%s: %s", run->dev, fs_strerror(rootfd));
	int fd = run->ops->open(run->env->ops_data, rootfd, "vfio/vfio", O_RDWR);
	if (fd < 0)
		return step_fail(run, ret_error, fd, "%s/vfio/vfio: %s%s", run->dev, fs_strerror(fd),
				 fd == -ENOENT ? " (is the vfio module loaded?)" : "");
	run->container = fd;
	step_end(run, 0);

	step_begin(run, VFIO_STEP_API_VERSION);
	int v = dev_ioctl(run, run->container, VFIO_GET_API_VERSION, NULL);
	if (v < 0)
		return step_fail(run, ret_error, v, "%s/vfio/vfio: %s", run->dev, strerror(-v));
	run->res->api_version = v;
	if (v != VFIO_API_VERSION)
		return step_fail(run, ret_error, -EPROTO, "the kernel speaks VFIO API version %d, not %d", v,
				 VFIO_API_VERSION);
	step_end(run, 0);

	step_begin(run, VFIO_STEP_CHECK_EXTENSION);
	/* QEMU's order: type1v2 when the kernel has it, else type1. */
	static const unsigned long types[] = {VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU};
	for (size_t i = 0; i < ARRAY_SIZE(types) && !run->res->iommu_type; i++) {
		int r = dev_ioctl(run, run->container, VFIO_CHECK_EXTENSION, (void *)types[i]);
		if (r < 0)
			return step_fail(run, ret_error, r, "%s/vfio/vfio: %s", run->dev, strerror(-r));
		if (r > 0)
			run->res->iommu_type = types[i];
	}
	if (!run->res->iommu_type)
		return step_fail(run, ret_error, -EOPNOTSUPP, "the type1 IOMMU backend is not available "
				 "(modprobe vfio_iommu_type1)");
	step_end(run, 0);
	return 0;
}

static int step_group(struct run *run, char **ret_error)
{
	int g = run->res->iommu_group;
	step_begin(run, VFIO_STEP_OPEN_GROUP);
	_cleanup_close_ int rootfd = fs_open_root(run->dev);
	if (rootfd < 0)
		return step_fail(run, ret_error, rootfd, "%s: %s", run->dev, fs_strerror(rootfd));
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "vfio/%d", g) < 0)
		return step_fail(run, ret_error, -ENOMEM, "out of memory");
	int fd = run->ops->open(run->env->ops_data, rootfd, path, O_RDWR);
	if (fd < 0)
		return step_fail(run, ret_error, fd, "%s/%s: %s%s", run->dev, path, fs_strerror(fd),
				 fd == -EBUSY ? " (another process, a running VM say, has the group open)" : "");
	run->group = fd;
	step_end(run, 0);

	step_begin(run, VFIO_STEP_GROUP_STATUS);
	struct vfio_group_status status = {.argsz = sizeof(status)};
	int r = dev_ioctl(run, run->group, VFIO_GROUP_GET_STATUS, &status);
	if (r < 0)
		return step_fail(run, ret_error, r, "group %d: %s", g, strerror(-r));
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		_cleanup_free_ char *who = group_blockers(run);
		return step_fail(run, ret_error, -EPERM, "group %d not viable (%s)", g,
				 who ? who : "a member is bound to a host driver");
	}
	step_end(run, 0);

	step_begin(run, VFIO_STEP_SET_CONTAINER);
	int container = run->container;
	if ((r = dev_ioctl(run, run->group, VFIO_GROUP_SET_CONTAINER, &container)) < 0)
		return step_fail(run, ret_error, r, "group %d: %s", g, strerror(-r));
	step_end(run, 0);

	step_begin(run, VFIO_STEP_SET_IOMMU);
	if ((r = dev_ioctl(run, run->container, VFIO_SET_IOMMU, (void *)run->res->iommu_type)) < 0)
		return step_fail(run, ret_error, r, "group %d, %s: %s", g,
				 run->res->iommu_type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1", strerror(-r));
	step_end(run, 0);
	return 0;
}

static int step_device(struct run *run, char **ret_error)
{
	const char *addr = run->res->addr;
	int g = run->res->iommu_group;
	step_begin(run, VFIO_STEP_GET_DEVICE_FD);
	int fd = dev_ioctl(run, run->group, VFIO_GROUP_GET_DEVICE_FD, run->res->addr);
	if (fd < 0)
		return step_fail(run, ret_error, fd, "group %d, device %s: %s", g, addr, strerror(-fd));
	run->device = fd;
	step_end(run, 0);

	step_begin(run, VFIO_STEP_DEVICE_INFO);
	struct vfio_device_info info = {.argsz = sizeof(info)};
	int r = dev_ioctl(run, run->device, VFIO_DEVICE_GET_INFO, &info);
	if (r < 0)
		return step_fail(run, ret_error, r, "device %s: %s", addr, strerror(-r));
	run->res->num_regions = info.num_regions;
	run->res->num_irqs = info.num_irqs;
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return step_fail(run, ret_error, -ENOTTY, "device %s is not a PCI device to VFIO (flags 0x%x)", addr,
				 info.flags);
	if (info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return step_fail(run, ret_error, -ENXIO, "device %s has %u regions, none for config space", addr,
				 info.num_regions);
	step_end(run, 0);

	step_begin(run, VFIO_STEP_REGION_INFO);
	struct vfio_region_info region = {.argsz = sizeof(region), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	if ((r = dev_ioctl(run, run->device, VFIO_DEVICE_GET_REGION_INFO, &region)) < 0)
		return step_fail(run, ret_error, r, "device %s, config region: %s", addr, strerror(-r));
	run->res->config_size = region.size;
	if (!(region.flags & VFIO_REGION_INFO_FLAG_READ) || region.size < 4)
		return step_fail(run, ret_error, -ENXIO, "device %s: the config region cannot be read (size %llu, "
				 "flags 0x%x)", addr, (unsigned long long)region.size, region.flags);
	step_end(run, 0);

	step_begin(run, VFIO_STEP_READ_CONFIG);
	uint8_t cfg[4];
	ssize_t n = run->ops->pread(run->env->ops_data, run->device, cfg, sizeof(cfg), (off_t)region.offset);
	if (n < 0)
		return step_fail(run, ret_error, (int)n, "device %s: %s", addr, strerror((int)-n));
	if (n != (ssize_t)sizeof(cfg))
		return step_fail(run, ret_error, -EIO, "device %s: %zd of 4 bytes of config space", addr, n);
	/* Config space is little-endian. */
	run->res->vendor_id = (uint16_t)(cfg[0] | cfg[1] << 8);
	run->res->device_id = (uint16_t)(cfg[2] | cfg[3] << 8);
	if (run->res->vendor_id != run->res->sysfs_vendor_id || run->res->device_id != run->res->sysfs_device_id)
		return step_fail(run, ret_error, -EIO, "device %s: config space says %04x:%04x, sysfs %04x:%04x",
				 addr, run->res->vendor_id, run->res->device_id, run->res->sysfs_vendor_id,
				 run->res->sysfs_device_id);
	step_end(run, 0);
	return 0;
}

int vfio_preflight(const struct vfio_env *env, const char *addr, struct vfio_preflight_result *ret,
		   char **ret_error)
{
	*ret = (struct vfio_preflight_result){.iommu_group = -1, .api_version = -1, .failed = VFIO_STEP_MAX};
	struct pci_addr a;
	if (!addr || pci_addr_parse(addr, &a) < 0)
		return error_set(ret_error, -EINVAL, "vfio: '%s' is not a PCI address", addr ? addr : "");
	pci_addr_format(&a, ret->addr);

	struct run run = {
		.env = env,
		.ops = env->ops ? env->ops : &sys_ops,
		.sysfs = env->sysfs_root ? env->sysfs_root : SYSFS_DEFAULT_ROOT,
		.dev = env->dev_root ? env->dev_root : VFIO_DEV_ROOT_DEFAULT,
		.res = ret,
		.container = -1,
		.group = -1,
		.device = -1,
	};
	uint64_t t0 = run_now(&run);
	int r;
	if ((r = step_driver(&run, ret_error)) >= 0 && (r = step_iommu_group(&run, ret_error)) >= 0 &&
	    (r = step_container(&run, ret_error)) >= 0 && (r = step_group(&run, ret_error)) >= 0)
		r = step_device(&run, ret_error);
	/* The device first, then the group (which leaves the container), then
	 * the container: what a hypervisor does when the VM goes. */
	close_fd(&run, &run.device);
	close_fd(&run, &run.group);
	close_fd(&run, &run.container);
	uint64_t t1 = run_now(&run);
	ret->total_ns = t1 >= t0 ? t1 - t0 : 0;
	return r < 0 ? r : 0;
}

/* Unit tests for vfio/: the pre-flight against a fake kernel. The sysfs side
 * is a fake tree (fakesysfs, the testbed's layout with VF 0 of the first igb
 * PF on vfio-pci); the /dev side is a folder with plain files where the
 * nodes would be, opened for real beneath it (so a link out of it is
 * refused as on the host); the ioctls and the config-space read are played
 * by the ops hook, which hands out fake fds and checks each is closed. The
 * clock is the test's: every reading advances it 1 us, so step times are
 * exact. One row per step failing, each with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <linux/vfio.h>

#include "fakesysfs.h"
#include "util/fs.h"
#include "util/util.h"
#include "vfio/vfio.h"
#include "test-helpers.h"

#define VF0 "0000:01:10.0"
#define VF1 "0000:01:10.2"
#define E1000E "0000:00:02.0"

enum { FD_CONTAINER = 1000, FD_GROUP, FD_DEVICE };

struct kernel {
	/* what the fake kernel answers */
	int api_version;
	bool type1, type1v2;
	bool not_viable;
	uint32_t device_flags;
	uint32_t num_regions;
	uint32_t region_flags;
	uint64_t region_size;
	uint8_t config[4];
	ssize_t pread_len;          /* 0: the whole read */
	unsigned long fail_request; /* this ioctl answers -fail_errno */
	int fail_errno;
	int open_errno;             /* every open answers this (0: open for real) */
	int pread_errno;
	/* what it saw */
	bool open_fds[3];
	int n_open, n_close;
	unsigned long iommu_set;
	int container_given;
	char device_asked[32];
	uint64_t now_ns;
};

static int k_open(void *userdata, int rootfd, const char *path, int flags)
{
	struct kernel *k = userdata;
	if (k->open_errno)
		return -k->open_errno;
	int fd = fs_open_beneath(rootfd, path, flags, 0);
	if (fd < 0)
		return fd;
	close(fd);
	int fake = streq_ptr(path, "vfio/vfio") ? FD_CONTAINER : FD_GROUP;
	assert_false(k->open_fds[fake - FD_CONTAINER]);
	k->open_fds[fake - FD_CONTAINER] = true;
	k->n_open++;
	return fake;
}

static int k_close(void *userdata, int fd)
{
	struct kernel *k = userdata;
	assert_in_range(fd, FD_CONTAINER, FD_DEVICE);
	assert_true(k->open_fds[fd - FD_CONTAINER]);
	k->open_fds[fd - FD_CONTAINER] = false;
	k->n_close++;
	return 0;
}

static int k_ioctl(void *userdata, int fd, unsigned long request, void *arg)
{
	struct kernel *k = userdata;
	assert_true(k->open_fds[fd - FD_CONTAINER]);
	if (request == k->fail_request)
		return -k->fail_errno;
	switch (request) {
	case VFIO_GET_API_VERSION:
		assert_int_equal(fd, FD_CONTAINER);
		return k->api_version;
	case VFIO_CHECK_EXTENSION:
		assert_int_equal(fd, FD_CONTAINER);
		if ((unsigned long)arg == VFIO_TYPE1v2_IOMMU)
			return k->type1v2;
		if ((unsigned long)arg == VFIO_TYPE1_IOMMU)
			return k->type1;
		return 0;
	case VFIO_GROUP_GET_STATUS: {
		assert_int_equal(fd, FD_GROUP);
		struct vfio_group_status *s = arg;
		assert_int_equal(s->argsz, sizeof(*s));
		s->flags = k->not_viable ? 0 : VFIO_GROUP_FLAGS_VIABLE;
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER:
		assert_int_equal(fd, FD_GROUP);
		k->container_given = *(int *)arg;
		return 0;
	case VFIO_SET_IOMMU:
		assert_int_equal(fd, FD_CONTAINER);
		assert_int_equal(k->container_given, FD_CONTAINER); /* the group joined first */
		k->iommu_set = (unsigned long)arg;
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		assert_int_equal(fd, FD_GROUP);
		assert_true(k->iommu_set != 0);
		snprintf(k->device_asked, sizeof(k->device_asked), "%s", (const char *)arg);
		k->open_fds[FD_DEVICE - FD_CONTAINER] = true;
		k->n_open++;
		return FD_DEVICE;
	case VFIO_DEVICE_GET_INFO: {
		assert_int_equal(fd, FD_DEVICE);
		struct vfio_device_info *i = arg;
		assert_int_equal(i->argsz, sizeof(*i));
		i->flags = k->device_flags;
		i->num_regions = k->num_regions;
		i->num_irqs = 5;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		assert_int_equal(fd, FD_DEVICE);
		struct vfio_region_info *r = arg;
		assert_int_equal(r->index, VFIO_PCI_CONFIG_REGION_INDEX);
		r->flags = k->region_flags;
		r->size = k->region_size;
		r->offset = 7ULL << 40; /* as vfio-pci lays regions out */
		return 0;
	}
	}
	fail_msg("unexpected ioctl 0x%lx", request);
	return -ENOTTY;
}

static ssize_t k_pread(void *userdata, int fd, void *buf, size_t len, off_t offset)
{
	struct kernel *k = userdata;
	assert_int_equal(fd, FD_DEVICE);
	assert_true(k->open_fds[FD_DEVICE - FD_CONTAINER]);
	assert_int_equal(offset, (off_t)(7ULL << 40));
	if (k->pread_errno)
		return -k->pread_errno;
	size_t n = k->pread_len ? (size_t)k->pread_len : len;
	memcpy(buf, k->config, n < sizeof(k->config) ? n : sizeof(k->config));
	return (ssize_t)n;
}

static const struct vfio_ops k_ops = {.open = k_open, .ioctl = k_ioctl, .pread = k_pread, .close = k_close};

static uint64_t k_now(void *userdata)
{
	struct kernel *k = userdata;
	k->now_ns += 1000;
	return k->now_ns;
}

struct fixture {
	char dir[256];
	char sys[300], dev[300];
	int group; /* VF0's */
	struct kernel k;
	struct vfio_env env;
};

static void mkfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static int group_of(const char *sys, const char *addr)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sys, addr);
	_cleanup_free_ char *g = NULL;
	assert_int_equal(read_link_basename_at(AT_FDCWD, p, &g), 0);
	int32_t n;
	assert_int_equal(parse_i32(g, 10, &n), 0);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/test-vfio-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->dir);
	if (fakesysfs_build_testbed(f->sys, true) < 0 || fakesysfs_unbind(f->sys, VF0) < 0 ||
	    fakesysfs_add_driver(f->sys, "vfio-pci") < 0 || fakesysfs_bind(f->sys, VF0, "vfio-pci") < 0)
		return -1;
	f->group = group_of(f->sys, VF0);
	char p[400];
	snprintf(p, sizeof(p), "%s/vfio", f->dev);
	if (mkdir(f->dev, 0755) < 0 || mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/vfio/vfio", f->dev);
	mkfile(p);
	snprintf(p, sizeof(p), "%s/vfio/%d", f->dev, f->group);
	mkfile(p);
	f->k = (struct kernel){
		.api_version = VFIO_API_VERSION,
		.type1 = true,
		.type1v2 = true,
		.device_flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = 9,
		.region_flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		.region_size = 4096,
		.config = {0x86, 0x80, 0xca, 0x10},
		.now_ns = 5000000,
	};
	f->env = (struct vfio_env){
		.sysfs_root = f->sys,
		.dev_root = f->dev,
		.ops = &k_ops,
		.ops_data = &f->k,
		.now_ns = k_now,
		.clock_data = &f->k,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fakesysfs_rmtree(f->dir);
	free(f);
	return 0;
}

/* Every fd the pre-flight got is closed again, whatever happened. */
static void assert_all_closed(const struct kernel *k)
{
	assert_false(k->open_fds[0] || k->open_fds[1] || k->open_fds[2]);
	assert_int_equal(k->n_open, k->n_close);
}

/* "@G" in want stands for VF0's group, "@D" for the /dev root, "@S" for the sysfs root. */
static void expand(const struct fixture *f, const char *want, char *buf, size_t len)
{
	size_t o = 0;
	for (const char *p = want; *p && o + 1 < len; p++) {
		if (p[0] == '@' && (p[1] == 'G' || p[1] == 'D' || p[1] == 'S')) {
			int n = p[1] == 'G' ? snprintf(buf + o, len - o, "%d", f->group)
					    : snprintf(buf + o, len - o, "%s", p[1] == 'D' ? f->dev : f->sys);
			o += (size_t)n;
			p++;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o < len ? o : len - 1] = 0;
}

static void run_fail(struct fixture *f, const char *addr, int want_r, enum vfio_step want_step, const char *want)
{
	struct vfio_preflight_result res;
	_cleanup_free_ char *error = NULL;
	int r = vfio_preflight(&f->env, addr, &res, &error);
	char exp[1024];
	expand(f, want, exp, sizeof(exp));
	assert_int_equal(r, want_r);
	assert_non_null(error);
	assert_string_equal(error, exp);
	assert_int_equal(res.failed, want_step);
	/* the failed step is the last one attempted, and it holds r */
	if (want_step < VFIO_STEP_MAX) {
		assert_true(res.steps[want_step].done);
		assert_int_equal(res.steps[want_step].r, want_r);
		for (int s = 0; s < (int)want_step; s++) {
			assert_true(res.steps[s].done);
			assert_int_equal(res.steps[s].r, 0);
		}
		for (int s = want_step + 1; s < VFIO_STEP_MAX; s++)
			assert_false(res.steps[s].done);
	}
	assert_all_closed(&f->k);
}

static void test_all_steps_pass(void **state)
{
	struct fixture *f = *state;
	struct vfio_preflight_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(vfio_preflight(&f->env, VF0, &res, &error), 0);
	assert_null(error);
	assert_int_equal(res.failed, VFIO_STEP_MAX);
	for (int s = 0; s < VFIO_STEP_MAX; s++) {
		assert_true(res.steps[s].done);
		assert_int_equal(res.steps[s].r, 0);
		/* one clock reading at the start and one at the end of each step */
		assert_int_equal(res.steps[s].ns, 1000);
	}
	/* the start, two readings per step, the end */
	assert_int_equal(res.total_ns, (2 * VFIO_STEP_MAX + 1) * 1000);
	assert_string_equal(res.addr, VF0);
	assert_int_equal(res.iommu_group, f->group);
	assert_int_equal(res.api_version, VFIO_API_VERSION);
	assert_int_equal(res.iommu_type, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(f->k.iommu_set, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(res.num_regions, 9);
	assert_int_equal(res.num_irqs, 5);
	assert_int_equal(res.config_size, 4096);
	assert_int_equal(res.vendor_id, 0x8086);
	assert_int_equal(res.device_id, 0x10ca);
	assert_int_equal(res.sysfs_vendor_id, 0x8086);
	assert_int_equal(res.sysfs_device_id, 0x10ca);
	assert_string_equal(f->k.device_asked, VF0);
	assert_int_equal(f->k.n_open, 3);
	assert_all_closed(&f->k);
	for (int s = 0; s < VFIO_STEP_MAX; s++)
		assert_non_null(vfio_step_name(s));
	assert_null(vfio_step_name(VFIO_STEP_MAX));
	assert_string_equal(vfio_step_name(VFIO_STEP_GROUP_STATUS), "VFIO_GROUP_GET_STATUS");
}

/* The short address form is the same function; the device is asked for by its full address. */
static void test_short_address(void **state)
{
	struct fixture *f = *state;
	struct vfio_preflight_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(vfio_preflight(&f->env, "01:10.0", &res, &error), 0);
	assert_string_equal(f->k.device_asked, VF0);
}

static void test_type1_only(void **state)
{
	struct fixture *f = *state;
	f->k.type1v2 = false;
	struct vfio_preflight_result res;
	_cleanup_free_ char *error = NULL;
	assert_int_equal(vfio_preflight(&f->env, VF0, &res, &error), 0);
	assert_int_equal(res.iommu_type, VFIO_TYPE1_IOMMU);
	assert_int_equal(f->k.iommu_set, VFIO_TYPE1_IOMMU);
}

static void test_bad_address(void **state)
{
	struct fixture *f = *state;
	run_fail(f, "01:10", -EINVAL, VFIO_STEP_MAX, "vfio: '01:10' is not a PCI address");
	assert_int_equal(f->k.n_open, 0);
}

static void test_driver_step(void **state)
{
	struct fixture *f = *state;
	run_fail(f, VF1, -ENODEV, VFIO_STEP_DRIVER, "vfio: driver: " VF1 " is bound to igbvf, not vfio-pci");
	assert_int_equal(f->k.n_open, 0);
	assert_int_equal(fakesysfs_unbind(f->sys, VF1), 0);
	run_fail(f, VF1, -ENODEV, VFIO_STEP_DRIVER, "vfio: driver: " VF1 " is bound to no driver, not vfio-pci");
	run_fail(f, "0000:0f:00.0", -ENODEV, VFIO_STEP_DRIVER,
		 "vfio: driver: 0000:0f:00.0: no such PCI function under @S/bus/pci/devices");
}

static void test_iommu_group_step(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_remove(f->sys, "bus/pci/devices/" VF0 "/iommu_group"), 0);
	run_fail(f, VF0, -ENOENT, VFIO_STEP_IOMMU_GROUP,
		 "vfio: iommu_group: " VF0 " is in no IOMMU group (is the IOMMU on? intel_iommu=on or amd_iommu=on)");
	assert_int_equal(fakesysfs_symlink(f->sys, "bus/pci/devices/" VF0 "/iommu_group", "../../groups/x1"), 0);
	run_fail(f, VF0, -EBADMSG, VFIO_STEP_IOMMU_GROUP,
		 "vfio: iommu_group: " VF0 ": its iommu_group link names 'x1', not a group number");
}

static void test_container_steps(void **state)
{
	struct fixture *f = *state;
	char p[400];
	snprintf(p, sizeof(p), "%s/vfio/vfio", f->dev);
	assert_int_equal(unlink(p), 0);
	run_fail(f, VF0, -ENOENT, VFIO_STEP_OPEN_CONTAINER,
		 "vfio: open_container: @D/vfio/vfio: No such file or directory (is the vfio module loaded?)");
	mkfile(p);
	f->k.open_errno = EACCES;
	run_fail(f, VF0, -EACCES, VFIO_STEP_OPEN_CONTAINER, "vfio: open_container: @D/vfio/vfio: Permission denied");
	f->k.open_errno = 0;

	f->k.api_version = 1;
	run_fail(f, VF0, -EPROTO, VFIO_STEP_API_VERSION,
		 "vfio: VFIO_GET_API_VERSION: the kernel speaks VFIO API version 1, not 0");
	f->k.api_version = VFIO_API_VERSION;
	f->k.fail_request = VFIO_GET_API_VERSION;
	f->k.fail_errno = ENOTTY;
	run_fail(f, VF0, -ENOTTY, VFIO_STEP_API_VERSION,
		 "vfio: VFIO_GET_API_VERSION: @D/vfio/vfio: Inappropriate ioctl for device");
	f->k.fail_request = 0;

	f->k.type1 = f->k.type1v2 = false;
	run_fail(f, VF0, -EOPNOTSUPP, VFIO_STEP_CHECK_EXTENSION,
		 "vfio: VFIO_CHECK_EXTENSION: the type1 IOMMU backend is not available (modprobe vfio_iommu_type1)");
}

static void test_group_open_step(void **state)
{
	struct fixture *f = *state;
	char p[400];
	snprintf(p, sizeof(p), "%s/vfio/%d", f->dev, f->group);
	assert_int_equal(unlink(p), 0);
	run_fail(f, VF0, -ENOENT, VFIO_STEP_OPEN_GROUP, "vfio: open_group: @D/vfio/@G: No such file or directory");
	/* a node that is a link out of the /dev root is refused, not followed */
	assert_int_equal(symlink("../../../../../../../../etc/passwd", p), 0);
	run_fail(f, VF0, -EXDEV, VFIO_STEP_OPEN_GROUP,
		 "vfio: open_group: @D/vfio/@G: outside the tree (a link or '..' leads out of it)");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	run_fail(f, VF0, -EXDEV, VFIO_STEP_OPEN_GROUP,
		 "vfio: open_group: @D/vfio/@G: outside the tree (a link or '..' leads out of it)");
}

static int open_busy_group(void *userdata, int rootfd, const char *path, int flags)
{
	if (!streq_ptr(path, "vfio/vfio"))
		return -EBUSY;
	return k_open(userdata, rootfd, path, flags);
}

static void test_group_busy(void **state)
{
	struct fixture *f = *state;
	struct vfio_ops ops = k_ops;
	ops.open = open_busy_group;
	f->env.ops = &ops;
	run_fail(f, VF0, -EBUSY, VFIO_STEP_OPEN_GROUP,
		 "vfio: open_group: @D/vfio/@G: Device or resource busy (another process, a running VM say, has "
		 "the group open)");
}

static void test_not_viable(void **state)
{
	struct fixture *f = *state;
	/* the e1000e in VF0's group (no ACS), still on its host driver */
	char rel[200], target[200];
	snprintf(rel, sizeof(rel), "kernel/iommu_groups/%d/devices/" E1000E, f->group);
	snprintf(target, sizeof(target), "../../../../bus/pci/devices/" E1000E);
	assert_int_equal(fakesysfs_symlink(f->sys, rel, target), 0);
	f->k.not_viable = true;
	run_fail(f, VF0, -EPERM, VFIO_STEP_GROUP_STATUS,
		 "vfio: VFIO_GROUP_GET_STATUS: group @G not viable (device " E1000E " is bound to e1000e)");
	/* the kernel said no, sysfs shows nobody: still not viable */
	assert_int_equal(fakesysfs_remove(f->sys, rel), 0);
	run_fail(f, VF0, -EPERM, VFIO_STEP_GROUP_STATUS,
		 "vfio: VFIO_GROUP_GET_STATUS: group @G not viable (a member is bound to a host driver)");
	f->k.not_viable = false;
	f->k.fail_request = VFIO_GROUP_GET_STATUS;
	f->k.fail_errno = EFAULT;
	run_fail(f, VF0, -EFAULT, VFIO_STEP_GROUP_STATUS, "vfio: VFIO_GROUP_GET_STATUS: group @G: Bad address");
}

static void test_ioctl_steps(void **state)
{
	struct fixture *f = *state;
	static const struct {
		unsigned long request;
		int err;
		enum vfio_step step;
		const char *want;
	} rows[] = {
		{VFIO_GROUP_SET_CONTAINER, EBUSY, VFIO_STEP_SET_CONTAINER,
		 "vfio: VFIO_GROUP_SET_CONTAINER: group @G: Device or resource busy"},
		{VFIO_SET_IOMMU, ENODEV, VFIO_STEP_SET_IOMMU, "vfio: VFIO_SET_IOMMU: group @G, type1v2: No such device"},
		{VFIO_GROUP_GET_DEVICE_FD, EBUSY, VFIO_STEP_GET_DEVICE_FD,
		 "vfio: VFIO_GROUP_GET_DEVICE_FD: group @G, device " VF0 ": Device or resource busy"},
		{VFIO_DEVICE_GET_INFO, EINVAL, VFIO_STEP_DEVICE_INFO,
		 "vfio: VFIO_DEVICE_GET_INFO: device " VF0 ": Invalid argument"},
		{VFIO_DEVICE_GET_REGION_INFO, EINVAL, VFIO_STEP_REGION_INFO,
		 "vfio: VFIO_DEVICE_GET_REGION_INFO: device " VF0 ", config region: Invalid argument"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		f->k.fail_request = rows[i].request;
		f->k.fail_errno = rows[i].err;
		run_fail(f, VF0, -rows[i].err, rows[i].step, rows[i].want);
	}
}

static void test_device_steps(void **state)
{
	struct fixture *f = *state;
	f->k.device_flags = VFIO_DEVICE_FLAGS_PLATFORM;
	run_fail(f, VF0, -ENOTTY, VFIO_STEP_DEVICE_INFO,
		 "vfio: VFIO_DEVICE_GET_INFO: device " VF0 " is not a PCI device to VFIO (flags 0x4)");
	f->k.device_flags = VFIO_DEVICE_FLAGS_PCI;
	f->k.num_regions = 7;
	run_fail(f, VF0, -ENXIO, VFIO_STEP_DEVICE_INFO,
		 "vfio: VFIO_DEVICE_GET_INFO: device " VF0 " has 7 regions, none for config space");
	f->k.num_regions = 9;
	f->k.region_flags = VFIO_REGION_INFO_FLAG_WRITE;
	run_fail(f, VF0, -ENXIO, VFIO_STEP_REGION_INFO,
		 "vfio: VFIO_DEVICE_GET_REGION_INFO: device " VF0 ": the config region cannot be read (size 4096, "
		 "flags 0x2)");
	f->k.region_flags = VFIO_REGION_INFO_FLAG_READ;
	f->k.region_size = 2;
	run_fail(f, VF0, -ENXIO, VFIO_STEP_REGION_INFO,
		 "vfio: VFIO_DEVICE_GET_REGION_INFO: device " VF0 ": the config region cannot be read (size 2, "
		 "flags 0x1)");
	f->k.region_size = 256;
	f->k.pread_errno = EIO;
	run_fail(f, VF0, -EIO, VFIO_STEP_READ_CONFIG, "vfio: read_config: device " VF0 ": Input/output error");
	f->k.pread_errno = 0;
	f->k.pread_len = 2;
	run_fail(f, VF0, -EIO, VFIO_STEP_READ_CONFIG, "vfio: read_config: device " VF0 ": 2 of 4 bytes of config space");
	f->k.pread_len = 0;
	f->k.config[2] = 0xcb;
	run_fail(f, VF0, -EIO, VFIO_STEP_READ_CONFIG,
		 "vfio: read_config: device " VF0 ": config space says 8086:10cb, sysfs 8086:10ca");
	f->k.config[2] = 0xca;
	/* sysfs unreadable IDs fail the first step, before anything is opened */
	assert_int_equal(fakesysfs_write(f->sys, "bus/pci/devices/" VF0 "/device", "garbage\n"), 0);
	run_fail(f, VF0, -EINVAL, VFIO_STEP_DRIVER,
		 "vfio: driver: " VF0 ": cannot read its vendor and device IDs from sysfs: Invalid argument");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_steps_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type1_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_group_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_open_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_viable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioctl_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_steps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

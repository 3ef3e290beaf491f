/* vfio: proving that a PCI function is ready to be handed to a hypervisor.
 *
 * Owns: the VFIO pre-flight, the same sequence of opens and ioctls a
 * hypervisor (QEMU, cloud-hypervisor, crosvm) makes before a VM may use a
 * function bound to vfio-pci, done and undone with no VM at all:
 *   driver                      sysfs: the function is bound to vfio-pci
 *   iommu_group                 sysfs: its IOMMU group, from the iommu_group link
 *   open_container              open DEV/vfio/vfio
 *   VFIO_GET_API_VERSION        the container speaks VFIO_API_VERSION
 *   VFIO_CHECK_EXTENSION        the type1 IOMMU backend is there (v2 preferred)
 *   open_group                  open DEV/vfio/GROUP
 *   VFIO_GROUP_GET_STATUS       the group is viable (every member on vfio-pci or unbound)
 *   VFIO_GROUP_SET_CONTAINER    the group joins the container
 *   VFIO_SET_IOMMU              the container gets the type1 IOMMU
 *   VFIO_GROUP_GET_DEVICE_FD    the device fd, asked for by PCI address
 *   VFIO_DEVICE_GET_INFO        a PCI device, with its regions and IRQs
 *   VFIO_DEVICE_GET_REGION_INFO the config-space region
 *   read_config                 config space read through the device fd: vendor
 *                               and device IDs equal to what sysfs says
 * Every fd it opened is closed before it returns, so the function is left as
 * it was found. DEV (the /dev root) and the sysfs root are parameters; every
 * open beneath DEV goes through util/fs.h, so no link leads out of it. The
 * kernel calls go through an ops table (open, ioctl, pread, close) so that a
 * unit test can play the kernel, and each step is timed on a clock hook.
 *
 * A layer beside sysfs/ and netlink/: it leans on util/ and on sysfs/ for the
 * one PCI address parser, and on nothing above. Returns 0 or -errno (the
 * kernel's errno as it came), never prints; on failure *ret_error is one
 * sentence "vfio: STEP: ..." naming the step, the group, the device. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VFIO_DEV_ROOT_DEFAULT "/dev"
#define VFIO_DRIVER "vfio-pci"

enum vfio_step {
	VFIO_STEP_DRIVER,
	VFIO_STEP_IOMMU_GROUP,
	VFIO_STEP_OPEN_CONTAINER,
	VFIO_STEP_API_VERSION,
	VFIO_STEP_CHECK_EXTENSION,
	VFIO_STEP_OPEN_GROUP,
	VFIO_STEP_GROUP_STATUS,
	VFIO_STEP_SET_CONTAINER,
	VFIO_STEP_SET_IOMMU,
	VFIO_STEP_GET_DEVICE_FD,
	VFIO_STEP_DEVICE_INFO,
	VFIO_STEP_REGION_INFO,
	VFIO_STEP_READ_CONFIG,
	VFIO_STEP_MAX,
};

/* "driver", "VFIO_GROUP_GET_STATUS", ...: the names above, also the keys
 * of `sriovctl -j bind --preflight`. NULL out of range. */
const char *vfio_step_name(enum vfio_step step);

/* The kernel, as the pre-flight sees it. Each returns what the syscall
 * returns on success (an fd, the ioctl's value, the bytes read) or -errno.
 * open opens path (relative) beneath rootfd, the DEV root. */
struct vfio_ops {
	int (*open)(void *userdata, int rootfd, const char *path, int flags);
	int (*ioctl)(void *userdata, int fd, unsigned long request, void *arg);
	ssize_t (*pread)(void *userdata, int fd, void *buf, size_t len, off_t offset);
	int (*close)(void *userdata, int fd);
};

struct vfio_env {
	const char *sysfs_root;     /* NULL: /sys */
	const char *dev_root;       /* NULL: VFIO_DEV_ROOT_DEFAULT */
	const struct vfio_ops *ops; /* NULL: the real syscalls (open beneath the DEV root) */
	void *ops_data;
	/* A monotonic clock in nanoseconds for the step times; NULL:
	 * CLOCK_MONOTONIC. */
	uint64_t (*now_ns)(void *userdata);
	void *clock_data;
};

struct vfio_step_result {
	bool done;   /* the step was attempted */
	int r;       /* 0, or the -errno it failed with */
	uint64_t ns; /* how long it took */
};

struct vfio_preflight_result {
	char addr[16];               /* the function, "dddd:bb:ss.f" */
	int32_t iommu_group;         /* -1 until known */
	int api_version;             /* VFIO_GET_API_VERSION's answer, -1 until known */
	unsigned long iommu_type;    /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU, 0 until chosen */
	uint32_t num_regions, num_irqs;
	uint64_t config_size;        /* the config region's size */
	uint16_t vendor_id, device_id; /* read from config space */
	uint16_t sysfs_vendor_id, sysfs_device_id;
	struct vfio_step_result steps[VFIO_STEP_MAX];
	enum vfio_step failed;       /* the step that failed; VFIO_STEP_MAX when none */
	uint64_t total_ns;
};

/* Runs the pre-flight on the function at PCI address addr. *ret is filled
 * in either case (the steps attempted, their times, what was learnt), so a
 * caller can report a failure step by step. Returns 0 when every step
 * passed; else the step's -errno (-ENODEV for a function that is not on
 * vfio-pci, -EPERM for a group that is not viable, -EIO for IDs that
 * differ, otherwise the kernel's) with *ret_error set. */
int vfio_preflight(const struct vfio_env *env, const char *addr, struct vfio_preflight_result *ret,
		   char **ret_error);

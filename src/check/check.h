/* check: is this host ready for SR-IOV passthrough?
 *
 * Owns: the readiness rules. Each rule looks at the inventory and at a few
 * kernel files (command line, kernel log, interrupts, hugepages, vfio-pci)
 * and yields findings: a status, the evidence it saw and the fix to apply.
 * A change to the kernel command line is one fix, on the "cmdline" finding,
 * given as the step for the boot loader the host is found to use (GRUB with
 * update-grub, grub-mkconfig or grubby; systemd-boot with /etc/kernel/cmdline
 * and kernel-install); other findings that need it point there. Where the
 * files live is a parameter, so rules run on fixtures and on snapshots.
 * What the drivers answered EOPNOTSUPP to (the capability table, caps/) is
 * a warning per device. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sysfs/sysfs.h"

enum check_status {
	CHECK_OK,
	CHECK_WARN,
	CHECK_FAIL,
	_CHECK_STATUS_MAX,
};
const char *check_status_to_string(enum check_status s); /* "ok", "warn", "fail" */

struct check_finding {
	const char *check;  /* rule name: "iommu", "cmdline", "sriov", ... (static) */
	char *subject;      /* the device it is about, or NULL for the host */
	enum check_status status;
	char *summary;
	char *evidence;
	char *fix;          /* NULL when there is nothing to do */
};

struct check_report {
	struct check_finding *findings;
	size_t n;
};

struct caps;

struct check_env {
	const char *proc_root;   /* NULL: /proc (cmdline, cpuinfo, interrupts) */
	const char *kmsg_path;   /* NULL: /dev/kmsg; a file of dmesg lines works too */
	size_t kmsg_max_bytes;   /* 0: CHECK_KMSG_MAX_BYTES */
	const char *modules_dir; /* NULL: /lib/modules/$(uname -r); "" skips the module lookup */
	/* Where the boot loader's files are looked for (/etc/default/grub,
	 * /boot/grub/grub.cfg, /etc/kernel/cmdline, loader entries, update-grub,
	 * grubby, grub-mkconfig, kernel-install): NULL is /, "" means unknown
	 * (a tree from another host), and a command-line fix then names no tool. */
	const char *boot_root;
	const char *kernel_release; /* NULL: uname -r (for kernel-install's arguments) */
	/* The driver capability table (caps/) and where it is, for the
	 * "capabilities" findings: one per device whose driver refused a
	 * setting with EOPNOTSUPP. NULL: none learned. */
	const struct caps *caps;
	const char *caps_path;
};

/* At most this much of a kernel log is read: the ring buffer is at most
 * 32 MiB (CONFIG_LOG_BUF_SHIFT <= 25); a saved log beyond it is cut, with a
 * warning. */
#define CHECK_KMSG_MAX_BYTES (32u << 20)

/* Opens the kernel log at path for reading: a regular file (a saved dmesg)
 * or the kmsg character device, which is read non-blocking until EAGAIN
 * (*ret_is_kmsg). A folder (-EISDIR), a FIFO or any other device (-EBADFD)
 * is refused with *ret_error saying what it is. Returns the fd or -errno. */
int check_kmsg_open(const char *path, bool *ret_is_kmsg, char **ret_error);

/* Runs every rule against the inventory t. Fails only on ENOMEM. */
int check_run(const struct check_env *env, const struct pci_tree *t, struct check_report *ret);
void check_report_done(struct check_report *r);
/* The worst status among the findings. */
enum check_status check_report_worst(const struct check_report *r);

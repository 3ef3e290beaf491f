/* Unit tests for check/: each rule on fake sysfs, procfs and kernel logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "check/check.h"
#include "fakesysfs.h"
#include "util/util.h"
#include "test-helpers.h"

struct fixture {
	char dir[256];
	char sys[300], proc[300], kmsg[300], modules[300], boot[300];
	const char *boot_root; /* the env's: f->boot unless a test says otherwise */
};

#define SEE_CMDLINE "change the kernel command line: see the cmdline finding"

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/sriovd-check-XXXXXX", test_tmpdir());
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
	snprintf(f->kmsg, sizeof(f->kmsg), "%s/kmsg", f->dir);
	snprintf(f->modules, sizeof(f->modules), "%s/modules", f->dir);
	snprintf(f->boot, sizeof(f->boot), "%s/root", f->dir);
	f->boot_root = f->boot;
	mkdir(f->proc, 0755);
	mkdir(f->modules, 0755);
	mkdir(f->boot, 0755); /* a root with no boot loader files, until a test adds some */
	char p[400];
	snprintf(p, sizeof(p), "%s/cmdline", f->proc);
	write_file(p, "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt quiet\n");
	snprintf(p, sizeof(p), "%s/cpuinfo", f->proc);
	write_file(p, "processor\t: 0\nvendor_id\t: GenuineIntel\n");
	/* interrupts through the IOMMU's remapping chips, as on the testbed */
	snprintf(p, sizeof(p), "%s/interrupts", f->proc);
	write_file(p, "           CPU0       CPU1\n"
		      "  0:         45          0   IO-APIC   2-edge      timer\n"
		      " 24:          0        812  IR-PCI-MSIX-0000:01:00.0    0-edge      eth0\n"
		      "NMI:          0          0   Non-maskable interrupts\n");
	/* /dev/kmsg record format: prio,seq,usec,flags;text */
	write_file(f->kmsg, "6,1,0,-;Linux version 6.1.0\n6,2,10,-;igb 0000:01:00.0: Intel(R) Gigabit Ethernet\n");
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

static void set_cmdline(struct fixture *f, const char *cmdline)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/cmdline", f->proc);
	write_file(p, cmdline);
}

struct run {
	struct check_report rep;
	struct pci_tree *t;
};

/* Every fix is given once: no two findings carry the same text, and no
 * command-line word to add or remove appears in two of them (the others
 * point to the cmdline finding). */
static void assert_fixes_once(const struct check_report *rep)
{
	static const char *const words[] = {"intel_iommu=on", "iommu=pt", "intremap=off", "intel_iommu=off",
					    "amd_iommu=off"};
	for (size_t w = 0; w < ARRAY_SIZE(words); w++) {
		size_t n = 0;
		for (size_t i = 0; i < rep->n; i++)
			n += rep->findings[i].fix && strstr(rep->findings[i].fix, words[w]) != NULL;
		if (n > 1)
			fail_msg("%s is in %zu fixes", words[w], n);
	}
	for (size_t i = 0; i < rep->n; i++)
		for (size_t k = i + 1; k < rep->n; k++)
			if (rep->findings[i].fix && rep->findings[k].fix &&
			    strcmp(rep->findings[i].fix, SEE_CMDLINE) != 0 &&
			    strcmp(rep->findings[i].fix, rep->findings[k].fix) == 0)
				fail_msg("%s and %s give the same fix: %s", rep->findings[i].check,
					 rep->findings[k].check, rep->findings[i].fix);
}

static void run_checks(struct fixture *f, struct run *run)
{
	assert_int_equal(pci_tree_scan(f->sys, &run->t), 0);
	struct check_env env = {.proc_root = f->proc, .kmsg_path = f->kmsg, .modules_dir = f->modules,
				.boot_root = f->boot_root, .kernel_release = "6.1.0-test"};
	assert_int_equal(check_run(&env, run->t, &run->rep), 0);
	assert_fixes_once(&run->rep);
}

static void run_done(struct run *run)
{
	check_report_done(&run->rep);
	pci_tree_free(run->t);
}

static const struct check_finding *find(const struct run *run, const char *check, const char *subject)
{
	for (size_t i = 0; i < run->rep.n; i++) {
		const struct check_finding *c = &run->rep.findings[i];
		if (strcmp(c->check, check) == 0 && streq_ptr(c->subject, subject))
			return c;
	}
	fail_msg("no finding %s/%s", check, subject ? subject : "host");
	return NULL;
}

static void assert_contains(const char *s, const char *needle)
{
	if (!s || !strstr(s, needle))
		fail_msg("'%s' lacks '%s'", s ? s : "(null)", needle);
}

/* A healthy testbed: IOMMU on, vfio-pci loaded, hugepages reserved. */
static void make_ready_host(struct fixture *f)
{
	assert_int_equal(fakesysfs_build_testbed(f->sys, true), 0);
	assert_int_equal(fakesysfs_add_driver(f->sys, "vfio-pci"), 0);
	assert_int_equal(fakesysfs_set_hugepages(f->sys, 2048, 512, 512), 0);
}

static void test_ready(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	struct run run;
	run_checks(f, &run);
	for (size_t i = 0; i < run.rep.n; i++)
		if (run.rep.findings[i].status != CHECK_OK)
			fail_msg("not ok: %s %s", run.rep.findings[i].check, run.rep.findings[i].summary);
	assert_int_equal(check_report_worst(&run.rep), CHECK_OK);
	assert_contains(find(&run, "iommu", NULL)->summary, "active");
	assert_contains(find(&run, "sriov", "0000:01:00.0")->summary, "3 of 7 VFs");
	assert_contains(find(&run, "sriov", "0000:00:03.0")->summary, "0 of 4 VFs");
	assert_contains(find(&run, "isolation", "0000:01:00.0")->summary, "each of the 3 VFs");
	assert_contains(find(&run, "kernel-log", NULL)->evidence, "2 lines");
	assert_contains(find(&run, "hugepages", NULL)->summary, "1024 MiB");
	run_done(&run);
}

static void test_iommu_off(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	set_cmdline(f, "root=/dev/sda1 quiet\n");
	struct run run;
	run_checks(f, &run);
	assert_int_equal(check_report_worst(&run.rep), CHECK_FAIL);
	const struct check_finding *c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	/* the command-line change is given once, on the cmdline line */
	assert_string_equal(c->fix, SEE_CMDLINE);
	c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->evidence, "root=/dev/sda1 quiet");
	assert_contains(c->fix, "(add intel_iommu=on iommu=pt)");
	run_done(&run);
}

static void test_iommu_asked_but_no_firmware(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	struct run run;
	run_checks(f, &run); /* cmdline has intel_iommu=on */
	const struct check_finding *c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "BIOS");
	run_done(&run);
}

static void test_amd_and_off(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	char p[400];
	snprintf(p, sizeof(p), "%s/cpuinfo", f->proc);
	write_file(p, "vendor_id\t: AuthenticAMD\n");
	set_cmdline(f, "root=/dev/sda1 amd_iommu=off\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "turns the IOMMU off");
	assert_contains(c->fix, "add iommu=pt");
	assert_null(strstr(c->fix, "amd_iommu=on")); /* not a kernel option */
	run_done(&run);

	/* AMD CPU, no IOMMU asked for: AMD-Vi is on by default, so the fix is
	 * the firmware setting, not a command-line switch */
	set_cmdline(f, "root=/dev/sda1\n");
	run_checks(f, &run);
	c = find(&run, "iommu", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "AMD-Vi");
	assert_contains(c->fix, "BIOS");
	run_done(&run);

	/* An AMD CPU with Intel's IOMMU tables (a VM): the firmware wins */
	assert_int_equal(fakesysfs_write(f->sys, "firmware/acpi/tables/DMAR", "x"), 0);
	run_checks(f, &run);
	assert_contains(find(&run, "iommu", NULL)->evidence, "ACPI DMAR table: present");
	assert_contains(find(&run, "cmdline", NULL)->fix, "intel_iommu=on iommu=pt");
	run_done(&run);
}

static void test_no_passthrough_mode(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	/* "amd_iommu=pt" must not count as iommu=pt */
	set_cmdline(f, "intel_iommu=on amd_iommu=pt\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->fix, "iommu=pt");
	assert_int_equal(check_report_worst(&run.rep), CHECK_WARN);
	run_done(&run);
}

static void kmsg_case(struct fixture *f, const char *line, const char *subject, const char *fix)
{
	write_file(f->kmsg, line);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "kernel-log", subject);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, fix);
	assert_contains(c->evidence, "kernel log:");
	run_done(&run);
	fakesysfs_rmtree(f->sys);
	make_ready_host(f);
}

static void test_kernel_log(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	kmsg_case(f, "3,100,5,-;igb 0000:01:00.0: not enough MMIO resources for SR-IOV\n", "0000:01:00.0",
		  "pci=realloc");
	kmsg_case(f, "pci 0000:02:00.0: SR-IOV: bus number out of range\n", "0000:02:00.0", "pci=assign-busses");
	kmsg_case(f, "6,1,0,-;boot\n3,7,9,-;ixgbe 0000:03:00.1: Failed to enable PCI sriov: -12", "0000:03:00.1",
		  "BIOS");
	/* unreadable log: a warning that says why, not a failure */
	snprintf(f->kmsg, sizeof(f->kmsg), "%s/no-such-log", f->dir);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "kernel-log", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->evidence, "No such file");
	run_done(&run);
}

static void test_shared_group(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_grid_ex(f->sys, 1, 2, FAKESYSFS_SHARED_GROUPS), 0);
	char pf[16];
	assert_int_equal(fakesysfs_grid_pf_address(0, 2, pf, sizeof(pf)), 0);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "isolation", pf);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "2 of 2 VFs share an IOMMU group");
	assert_contains(c->fix, "ACS");
	run_done(&run);
}

static void test_pf_unbound_and_vfio_module(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, true), 0);
	assert_int_equal(fakesysfs_unbind(f->sys, "0000:00:03.0"), 0);
	char p[400];
	snprintf(p, sizeof(p), "%s/modules.dep", f->modules);
	write_file(p, "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "sriov", "0000:00:03.0");
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->summary, "no driver bound");
	c = find(&run, "vfio", NULL);
	assert_int_equal(c->status, CHECK_OK);
	assert_contains(c->summary, "module");
	c = find(&run, "hugepages", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	run_done(&run);

	unlink(p);
	run_checks(f, &run);
	c = find(&run, "vfio", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->fix, "vfio-pci");
	run_done(&run);
}

/* --- the command-line fix, per boot loader ----------------------------- */

struct boot_case {
	const char *name;
	const char *files[6]; /* created under the fake root */
	const char *fix;      /* "%s" is the fake root, where a fix names it */
	const char *loader;   /* in the evidence */
};

static const struct boot_case boot_cases[] = {
	{"Debian GRUB", {"etc/default/grub", "boot/grub/grub.cfg", "usr/sbin/update-grub"},
	 "edit GRUB_CMDLINE_LINUX in /etc/default/grub (add intel_iommu=on iommu=pt), run update-grub, reboot",
	 "boot loader: GRUB (%s/boot/grub/grub.cfg, %s/etc/default/grub, %s/usr/sbin/update-grub)"},
	{"GRUB defaults, update-grub, no grub.cfg yet", {"etc/default/grub", "sbin/update-grub"},
	 "edit GRUB_CMDLINE_LINUX in /etc/default/grub (add intel_iommu=on iommu=pt), run update-grub, reboot",
	 "boot loader: GRUB"},
	{"Arch GRUB", {"etc/default/grub", "boot/grub/grub.cfg", "usr/bin/grub-mkconfig"},
	 "edit GRUB_CMDLINE_LINUX in /etc/default/grub (add intel_iommu=on iommu=pt), run grub-mkconfig -o "
	 "/boot/grub/grub.cfg, reboot",
	 "boot loader: GRUB"},
	{"openSUSE GRUB 2", {"etc/default/grub", "boot/grub2/grub.cfg", "usr/sbin/grub2-mkconfig"},
	 "edit GRUB_CMDLINE_LINUX in /etc/default/grub (add intel_iommu=on iommu=pt), run grub2-mkconfig -o "
	 "/boot/grub2/grub.cfg, reboot",
	 "boot loader: GRUB"},
	{"Fedora grubby",
	 {"etc/default/grub", "boot/grub2/grub.cfg", "boot/loader/entries/x.conf", "usr/sbin/grubby",
	  "usr/sbin/grub2-mkconfig"},
	 "run grubby --update-kernel=ALL --args=\"intel_iommu=on iommu=pt\", reboot",
	 "boot loader: GRUB/BLS with grubby (%s/usr/sbin/grubby, %s/boot/grub2/grub.cfg)"},
	{"systemd-boot, Debian", {"etc/kernel/cmdline", "boot/efi/loader/entries/x.conf", "usr/bin/kernel-install"},
	 "edit /etc/kernel/cmdline (add intel_iommu=on iommu=pt), run kernel-install add 6.1.0-test "
	 "/boot/vmlinuz-6.1.0-test, reboot",
	 "boot loader: systemd-boot (kernel-install) (%s/etc/kernel/cmdline, %s/boot/efi/loader/entries)"},
	{"systemd-boot, image beside the modules", {"etc/kernel/cmdline", "efi/loader/entries/x.conf",
	 "lib/modules/6.1.0-test/vmlinuz"},
	 "edit /etc/kernel/cmdline (add intel_iommu=on iommu=pt), run kernel-install add 6.1.0-test "
	 "/lib/modules/6.1.0-test/vmlinuz, reboot",
	 "boot loader: systemd-boot"},
	{"systemd-boot without /etc/kernel/cmdline", {"boot/loader/entries/x.conf"},
	 "write the current command line (/proc/cmdline without BOOT_IMAGE= and initrd=) to /etc/kernel/cmdline "
	 "(add intel_iommu=on iommu=pt), run kernel-install add 6.1.0-test /boot/vmlinuz-6.1.0-test, reboot",
	 "boot loader: systemd-boot"},
	{"nothing found", {NULL},
	 "change the kernel command line in the boot loader's configuration (add intel_iommu=on iommu=pt), reboot "
	 "(no GRUB, grubby or systemd-boot files found under %s)",
	 "boot loader: not found"},
};

/* snprintf with the fake root for every %s (at most three). */
static void with_root(char *buf, size_t len, const char *fmt, const char *root)
{
	snprintf(buf, len, fmt, root, root, root);
}

static void test_cmdline_fix_per_boot_loader(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	set_cmdline(f, "root=/dev/sda1 quiet\n");
	for (size_t i = 0; i < ARRAY_SIZE(boot_cases); i++) {
		const struct boot_case *bc = &boot_cases[i];
		print_message("      %s\n", bc->name);
		fakesysfs_rmtree(f->boot);
		mkdir(f->boot, 0755);
		for (size_t k = 0; k < ARRAY_SIZE(bc->files) && bc->files[k]; k++)
			assert_int_equal(fakesysfs_write(f->boot, bc->files[k], "x\n"), 0);
		struct run run;
		run_checks(f, &run);
		const struct check_finding *c = find(&run, "cmdline", NULL);
		char want[1024];
		with_root(want, sizeof(want), bc->fix, f->boot);
		assert_string_equal(c->fix, want);
		with_root(want, sizeof(want), bc->loader, f->boot);
		assert_contains(c->evidence, want);
		assert_string_equal(find(&run, "iommu", NULL)->fix, SEE_CMDLINE);
		run_done(&run);
	}

	/* a tree from another host: its boot loader is not known here */
	f->boot_root = "";
	struct run run;
	run_checks(f, &run);
	assert_string_equal(find(&run, "cmdline", NULL)->fix,
			    "change the kernel command line in that host's boot loader configuration (add "
			    "intel_iommu=on iommu=pt), reboot");
	run_done(&run);
}

static void test_cmdline_fix_removes_and_adds(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	assert_int_equal(fakesysfs_write(f->boot, "boot/grub2/grub.cfg", "x\n"), 0);
	assert_int_equal(fakesysfs_write(f->boot, "boot/loader/entries/x.conf", "x\n"), 0);
	assert_int_equal(fakesysfs_write(f->boot, "usr/bin/grubby", "x\n"), 0);
	/* one change for every rule that needs one */
	set_cmdline(f, "root=/dev/sda1 intel_iommu=sm_on,off intremap=off quiet\n");
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_string_equal(c->summary, "the kernel command line turns the IOMMU off; the kernel command line turns "
					"interrupt remapping off, and VFIO refuses devices without it");
	assert_string_equal(c->fix, "run grubby --update-kernel=ALL --args=\"intel_iommu=on iommu=pt\" "
				    "--remove-args=\"intel_iommu=sm_on,off intremap=off\", reboot");
	run_done(&run);

	/* the same with GRUB's defaults file */
	fakesysfs_rmtree(f->boot);
	assert_int_equal(fakesysfs_write(f->boot, "etc/default/grub", "x\n"), 0);
	assert_int_equal(fakesysfs_write(f->boot, "boot/grub/grub.cfg", "x\n"), 0);
	assert_int_equal(fakesysfs_write(f->boot, "usr/sbin/update-grub", "x\n"), 0);
	set_cmdline(f, "root=/dev/sda1 intel_iommu=on iommu=pt nointremap\n");
	run_checks(f, &run);
	c = find(&run, "cmdline", NULL);
	assert_string_equal(c->fix, "edit GRUB_CMDLINE_LINUX in /etc/default/grub (remove nointremap), run "
				    "update-grub, reboot");
	run_done(&run);
}

/* --- interrupt remapping ------------------------------------------------ */

static void set_interrupts(struct fixture *f, const char *text)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/interrupts", f->proc);
	if (text)
		write_file(p, text);
	else
		unlink(p);
}

#define PLAIN_IRQS "           CPU0\n  0:   45   IO-APIC   2-edge   timer\n 24:   0   PCI-MSI-0000:01:00.0   0-edge   eth0\n"

static void test_intremap(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_OK);
	assert_contains(c->evidence, "/interrupts: 1 interrupts on remapping (IR-/ITS-) chips");
	assert_null(c->fix);
	run_done(&run);

	/* the kernel log alone is enough (Intel, then AMD) */
	set_interrupts(f, PLAIN_IRQS);
	write_file(f->kmsg, "6,1,0,-;DMAR-IR: Queued invalidation will be enabled to support x2apic and Intr-remapping.\n"
			    "6,2,0,-;DMAR-IR: Enabled IRQ remapping in x2apic mode\n");
	run_checks(f, &run);
	c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_OK);
	assert_contains(c->evidence, "kernel log: DMAR-IR: Enabled IRQ remapping in x2apic mode;");
	run_done(&run);
	write_file(f->kmsg, "[    0.5] AMD-Vi: Interrupt remapping enabled\n");
	run_checks(f, &run);
	assert_int_equal(find(&run, "intremap", NULL)->status, CHECK_OK);
	run_done(&run);

	/* off with the IOMMU on: VFIO refuses, and the override's risk is said */
	write_file(f->kmsg, "6,1,0,-;Linux version 6.1.0\n");
	run_checks(f, &run);
	c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_string_equal(c->summary, "interrupt remapping is off: VFIO refuses to give devices to VMs");
	assert_contains(c->evidence, "kernel log: nothing on it");
	assert_contains(c->evidence, "0 interrupts on remapping");
	assert_contains(c->fix, "BIOS/UEFI");
	assert_contains(c->fix, "vfio_iommu_type1.allow_unsafe_interrupts=1 makes VFIO take devices anyway");
	assert_contains(c->fix, "inject interrupts into the host and other VMs");
	assert_int_equal(check_report_worst(&run.rep), CHECK_FAIL);
	run_done(&run);

	/* the override set: VFIO works, at that risk */
	assert_int_equal(fakesysfs_write(f->sys, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n"), 0);
	run_checks(f, &run);
	c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_contains(c->summary, "only because allow_unsafe_interrupts is set");
	assert_contains(c->evidence, "vfio_iommu_type1.allow_unsafe_interrupts: Y");
	assert_contains(c->fix, "inject interrupts");
	run_done(&run);
	assert_int_equal(fakesysfs_write(f->sys, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n"), 0);
	set_cmdline(f, "intel_iommu=on iommu=pt vfio_iommu_type1.allow_unsafe_interrupts=1\n");
	run_checks(f, &run);
	assert_int_equal(find(&run, "intremap", NULL)->status, CHECK_WARN);
	assert_contains(find(&run, "intremap", NULL)->evidence, "=1 on the kernel command line");
	run_done(&run);

	/* turned off on the command line: that one fix, on the cmdline line */
	set_cmdline(f, "intel_iommu=on iommu=pt intremap=off\n");
	run_checks(f, &run);
	c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_string_equal(c->fix, SEE_CMDLINE);
	c = find(&run, "cmdline", NULL);
	assert_int_equal(c->status, CHECK_FAIL);
	assert_contains(c->fix, "(remove intremap=off)");
	run_done(&run);

	/* unknowable */
	set_cmdline(f, "intel_iommu=on iommu=pt\n");
	set_interrupts(f, NULL);
	run_checks(f, &run);
	assert_int_equal(find(&run, "intremap", NULL)->status, CHECK_WARN);
	assert_string_equal(find(&run, "intremap", NULL)->summary, "cannot tell whether interrupt remapping is enabled");
	assert_contains(find(&run, "intremap", NULL)->evidence, "/interrupts: unreadable");
	run_done(&run);
}

static void test_intremap_without_iommu(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fakesysfs_build_testbed(f->sys, false), 0);
	set_cmdline(f, "root=/dev/sda1\n");
	set_interrupts(f, PLAIN_IRQS);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "intremap", NULL);
	assert_int_equal(c->status, CHECK_WARN);
	assert_string_equal(c->summary, "interrupt remapping is off, as the IOMMU is: VFIO needs both");
	assert_contains(c->fix, "see the iommu finding");
	run_done(&run);
}

static void test_vfio_names(void **state)
{
	struct fixture *f = *state;
	make_ready_host(f);
	assert_int_equal(fakesysfs_write(f->sys, "module/vfio_pci/refcnt", "0\n"), 0);
	struct run run;
	run_checks(f, &run);
	const struct check_finding *c = find(&run, "vfio", NULL);
	assert_string_equal(c->summary, "the vfio-pci driver is loaded");
	assert_contains(c->evidence, "/bus/pci/drivers/vfio-pci exists (from the module vfio_pci)");
	run_done(&run);

	/* a module file named with '_' is the same module */
	assert_int_equal(fakesysfs_remove(f->sys, "bus/pci/drivers/vfio-pci"), 0);
	char p[400];
	snprintf(p, sizeof(p), "%s/modules.dep", f->modules);
	write_file(p, "kernel/drivers/vfio/pci/vfio_pci.ko.xz: kernel/drivers/vfio/vfio.ko.xz\n");
	run_checks(f, &run);
	c = find(&run, "vfio", NULL);
	assert_int_equal(c->status, CHECK_OK);
	assert_string_equal(c->summary, "the vfio-pci driver is available (module vfio_pci, loaded on first bind)");
	run_done(&run);
	/* but not a module whose name merely starts alike */
	write_file(p, "kernel/drivers/vfio/pci/vfio-pci-core.ko: kernel/drivers/vfio/vfio.ko\n");
	run_checks(f, &run);
	assert_int_equal(find(&run, "vfio", NULL)->status, CHECK_WARN);
	run_done(&run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_asked_but_no_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_amd_and_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_passthrough_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pf_unbound_and_vfio_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_fix_per_boot_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_fix_removes_and_adds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intremap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intremap_without_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vfio_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
